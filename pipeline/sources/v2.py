"""The Devin API v2 (personal keys apk_user_...): sessions by id, the insights list by offset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pipeline.flatten import Rows, flatten
from pipeline.models import SessionDetail
from pipeline.paging import Pager, offset_pages
from pipeline.responses import Response

SESSION_PATH = "/v2/enterprise/sessions/{}"
LIST_PATH = "/v2/enterprise/sessions/insights"
PAGE_LIMIT = 200


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class V2Source:
    version = "v2"

    def session_path(self, session_id: str) -> str:
        return SESSION_PATH.format(quote(session_id, safe=""))  # v2 ids are used as given

    # Offset pages overlap by one session, so a list that moves under us is noticed (paging):
    # sessions created during the listing cost nothing, and no created_date_to is sent, so a
    # server whose clock runs ahead of ours never hides its newest sessions.
    detects_moves = True

    def list_filters(
        self, updated_since: datetime | None, created_before: datetime
    ) -> dict[str, Any]:
        return {} if updated_since is None else {"updated_date_from": iso(updated_since)}

    def pages(self, client: Pager, filters: dict[str, Any], concurrency: int) -> Iterator[Response]:
        def params(skip: int, limit: int) -> dict[str, Any]:
            return {"limit": limit, "skip": skip, **filters}

        return offset_pages(client, LIST_PATH, params, PAGE_LIMIT, concurrency)

    def validate(self, payload: Any) -> SessionDetail:
        return SessionDetail.model_validate(payload)

    def validate_json(self, body: bytes) -> SessionDetail:
        return SessionDetail.model_validate_json(body)

    def rows(self, session: SessionDetail, run_id: str, extracted_at: datetime) -> Rows:
        return flatten(session, run_id, extracted_at)
