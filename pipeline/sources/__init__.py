"""The API versions the exporter speaks, each a Source: where sessions are, how a listing is
paged, and how a payload is validated and flattened into the one warehouse schema.

A new API version is a new module here and a line in SOURCES; nothing else in the pipeline
branches on the version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from pipeline.flatten import Rows
from pipeline.paging import Pager
from pipeline.responses import Response


class Source(Protocol):
    version: str

    def session_path(self, session_id: str) -> str:
        """Return the request path of one session (session_id already checked)."""
        ...

    def list_filters(self, updated_since: datetime | None) -> dict[str, Any]:
        """Return the query filters of an --all listing of sessions updated since then."""
        ...

    def pages(self, client: Pager, filters: dict[str, Any], concurrency: int) -> Iterator[Response]:
        """Yield every page of the listing, following what the server says of the next one."""
        ...

    def validate(self, payload: Any) -> Any:
        """Return the validated session; raises pydantic.ValidationError."""
        ...

    def validate_json(self, body: bytes) -> Any:
        """validate() straight from a JSON body: the fast path for saved lines."""
        ...

    def rows(self, session: Any, run_id: str, extracted_at: datetime) -> Rows:
        """Return {table: rows} of a validated session."""
        ...


def _sources() -> dict[str, Source]:
    from pipeline.sources.v2 import V2Source

    return {"v2": V2Source()}


SOURCES = _sources()


def source_for(version: str) -> Source:
    return SOURCES[version]


def source_of_saved(body: bytes) -> Source:
    """Return the Source a saved body came from, told by its shape."""
    return SOURCES["v2"]


def source_of_payload(payload: Any) -> Source:
    """Return the Source a parsed session payload (or page) came from, told by its shape."""
    return SOURCES["v2"]
