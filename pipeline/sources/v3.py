"""The Devin API v3 (service-user keys cog_...): session insights by id, the list by cursor,
and asking for the analysis of a session that has none."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pipeline.flatten import Rows
from pipeline.flatten_v3 import flatten_v3
from pipeline.models_v3 import SessionInsights
from pipeline.paging import Pager, cursor_pages
from pipeline.responses import Response

SESSION_PATH = "/v3/enterprise/sessions/{}/insights"
GENERATE_PATH = "/v3/enterprise/sessions/{}/insights/generate"
LIST_PATH = "/v3/enterprise/sessions/insights"
PAGE_LIMIT = 200
PREFIX = "devin-"


def devin_id(session_id: str) -> str:
    """Return the path id: the session id with its devin- prefix, added where it is missing."""
    return session_id if session_id.startswith(PREFIX) else PREFIX + session_id


class V3Source:
    version = "v3"

    def session_path(self, session_id: str) -> str:
        return SESSION_PATH.format(quote(devin_id(session_id), safe=""))

    def generate_path(self, session_id: str) -> str:
        return GENERATE_PATH.format(quote(devin_id(session_id), safe=""))

    # An opaque cursor may be an offset: nothing tells a page that the list moved before it.
    detects_moves = False

    def list_filters(
        self, updated_since: datetime | None, created_before: datetime
    ) -> dict[str, Any]:
        # Whole epoch seconds, rounded so the window never shrinks: down for the start.
        filters = {"created_before": math.ceil(created_before.timestamp())}
        if updated_since is not None:
            filters["updated_after"] = math.floor(updated_since.timestamp())
        return filters

    def pages(self, client: Pager, filters: dict[str, Any], concurrency: int) -> Iterator[Response]:
        def params(cursor: str | None) -> dict[str, Any]:
            return {"first": PAGE_LIMIT, **filters, **({"after": cursor} if cursor else {})}

        return cursor_pages(client, LIST_PATH, params, PAGE_LIMIT)

    def validate(self, payload: Any) -> SessionInsights:
        return SessionInsights.model_validate(payload)

    def validate_json(self, body: bytes) -> SessionInsights:
        return SessionInsights.model_validate_json(body)

    def rows(self, session: SessionInsights, run_id: str, extracted_at: datetime) -> Rows:
        return flatten_v3(session, run_id, extracted_at)
