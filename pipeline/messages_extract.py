"""Extract: the messages of one v3 session, GET /v3/enterprise/sessions/{devin_id}/messages,
followed by cursor (after/first, end_cursor/has_next_page) until the server says there is no
more; a bare array is the whole conversation at once (api/enterprise.md: how the endpoint
pages is not confirmed, Airbyte reads one page).

A session's messages are whole or not at all: a page that fails after retries fails that
session's messages only (MessageFetch.error); a 403 is the part's (MessageFetch.denied), and
stops every other request of the part's client; a 401 stops the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pipeline.client import DevinClient
from pipeline.consume import error_message
from pipeline.enterprise_extract import PartError
from pipeline.errors import AuthError
from pipeline.responses import Kind, Response
from pipeline.sources.v3 import devin_id

MESSAGES_PATH = "/v3/enterprise/sessions/{}/messages"
PAGE_LIMIT = 200
MAX_PAGES = 1000  # a cursor that never ends: 200,000 messages is no conversation


@dataclass
class MessagePage:
    received_at: datetime
    body: bytes
    data: Any

    @property
    def items(self) -> list[Any]:
        if isinstance(self.data, list):
            return self.data
        items = self.data.get("items") if isinstance(self.data, dict) else None
        return items if isinstance(items, list) else []


@dataclass
class MessageFetch:
    """What one session's messages brought: every page, or the error that stopped them."""

    session_id: str
    pages: list[MessagePage] = field(default_factory=list)
    error: PartError | None = None
    denied: bool = False

    @property
    def requests(self) -> int:
        return len(self.pages) + (1 if self.error or self.denied else 0)


def messages_path(session_id: str) -> str:
    return MESSAGES_PATH.format(quote(devin_id(session_id), safe=""))


def fetch_messages(client: DevinClient, session_id: str) -> MessageFetch:
    """Return every page of a session's messages; raises AuthError for a 401, never a 403."""
    fetch = MessageFetch(session_id)
    path, cursor, seen = messages_path(session_id), None, set()
    try:
        while True:
            params: dict[str, Any] = {"first": PAGE_LIMIT, **({"after": cursor} if cursor else {})}
            resp = client.answer(Kind.PAGE, session_id, path, params)
            if resp.error is not None:
                message = f"messages: {error_message(resp.error)}"
                fetch.error = PartError(resp.error.kind, message, resp.error.status)
                return fetch
            data = resp.data
            page = MessagePage(resp.received_at or datetime.now(UTC), resp.body, data)
            if isinstance(data, list):
                fetch.pages.append(page)
                return fetch
            if not (isinstance(data, dict) and isinstance(data.get("items"), list)):
                fetch.error = PartError("invalid_response", "messages: not a page: no items list")
                return fetch
            fetch.pages.append(page)
            cursor = data.get("end_cursor")
            if not data.get("has_next_page") or not isinstance(cursor, str) or not cursor:
                return fetch
            if cursor in seen or len(fetch.pages) >= MAX_PAGES:
                message = "messages: the cursor went round in circles; none of them stored"
                fetch.error = PartError("incomplete_listing", message)
                return fetch
            seen.add(cursor)
    except AuthError as err:
        if err.status != 403:
            raise
        fetch.denied = True
        fetch.error = PartError("permission_denied", f"HTTP 403 from {err.url}", 403)
        return fetch


def fetch_response(client: DevinClient, session_id: str) -> Response:
    """fetch_messages as the client's parallel() runs it: the fetch is the answer's data."""
    return Response(Kind.SESSION, session_id, data=fetch_messages(client, session_id))
