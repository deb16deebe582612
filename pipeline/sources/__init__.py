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
    # Whether paging notices a list that moves under it (v2's overlapping offsets) or not
    # (v3's cursors): without, sessions created during a listing mean it may have skipped some.
    detects_moves: bool

    def session_path(self, session_id: str) -> str:
        """Return the request path of one session (session_id already checked)."""
        ...

    def list_filters(
        self, updated_since: datetime | None, created_before: datetime
    ) -> dict[str, Any]:
        """Return the query filters of an --all listing of the sessions updated since then (all
        of them for None); a source whose pages cannot tell that the list moved also asks for
        those created before the run began: sessions created during the listing would shift
        its pages, and the next run lists them."""
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
    from pipeline.sources.v3 import V3Source

    return {"v2": V2Source(), "v3": V3Source()}


SOURCES = _sources()


def source_for(version: str) -> Source:
    return SOURCES[version]


def source_of_saved(body: bytes) -> Source:
    """Return the Source a saved session body most likely came from, by a fast look at it: a
    wrong guess only costs the slow path, which tells by the parsed shape."""
    return SOURCES["v2"] if b'"session_analysis"' in body else SOURCES["v3"]


def source_of_payload(payload: Any) -> Source:
    """Return the Source a parsed session payload came from, told by its shape: v2 always has
    session_analysis; v3 has epoch timestamps and message counts instead."""
    if (
        isinstance(payload, dict)
        and "session_analysis" not in payload
        and (isinstance(payload.get("created_at"), int) or "num_user_messages" in payload)
    ):
        return SOURCES["v3"]
    return SOURCES["v2"]
