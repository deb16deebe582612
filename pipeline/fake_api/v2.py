"""The v2 dialect: /v2/enterprise/sessions/{session_id} and /v2/enterprise/sessions/insights.

Pages are {"items", "total", "skip", "limit", "has_more", "next_cursor"}, next_cursor the
next skip or null; "limit" is the page size served (a page cap shows there); time filters are
ISO 8601 date-times, bounds inclusive; session ids are used exactly as given. The fault key of
a page is "page:<skip>" as sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import unquote

from . import enterprise
from .clock import parse_time
from .dialect import (
    ID_PATTERN,
    SESSION_NOT_FOUND,
    Answer,
    Context,
    Dialect,
    Request,
    Route,
    parse_bounded_int,
    validation_error,
)
from .listing import cut
from .state import FILTERS, bounds_of

SESSIONS_PATH = "/v2/enterprise/sessions/"
LIST_PATH = SESSIONS_PATH + "insights"


def parse_page(request: Request) -> tuple[int, int, dict[str, datetime], list[dict[str, Any]]]:
    """Returns skip, limit, filters and the validation errors of a list request's query."""
    skip, skip_error = parse_bounded_int(request, "skip", 0, 0, None)
    limit, limit_error = parse_bounded_int(request, "limit", 100, 1, 200)
    errors = [error for error in (skip_error, limit_error) if error]
    filters = {}
    for name in FILTERS:
        value = request.last(name)
        if value is not None:
            try:
                filters[name] = parse_time(value)
            except ValueError:
                msg = "Input should be a valid datetime"
                errors.append(validation_error("query", name, msg, "datetime_parsing"))
    return skip, limit, filters, errors


class V2(Dialect):
    """The v2 Enterprise API, for personal keys (any key but a service user's cog_ key)."""

    name = "v2"
    prefix = "/v2/"
    id_name = "session_id"

    def accepts_key(self, token: str) -> bool:
        return not token.startswith("cog_")  # a service user's key is for v3 only

    def route(self, request: Request) -> Route | None:
        path, method = request.path, request.method
        if (members_and_more := enterprise.route(self.name, request)) is not None:
            return members_and_more
        if path == LIST_PATH:
            kind = "list" if method == "GET" else "not-allowed"
            return Route(kind, None, f"page:{request.last('skip', '0')}")
        if path.startswith(SESSIONS_PATH) and "/" not in path[len(SESSIONS_PATH) :]:
            session_id = unquote(path[len(SESSIONS_PATH) :])
            return Route("detail" if method == "GET" else "not-allowed", session_id, session_id)
        return None

    def answer(self, route: Route, request: Request, context: Context) -> Answer:
        devin = context.devin
        if route.kind.startswith(enterprise.KIND):
            return enterprise.answer(self.name, route, request, context)
        if route.kind == "detail":
            if not ID_PATTERN.fullmatch(route.session_id or ""):
                return Answer(422, self.bad_id())
            session = devin.session(route.session_id or "")
            return Answer(200, session) if session else Answer(404, SESSION_NOT_FOUND)
        skip, limit, filters, errors = parse_page(request)
        if errors:
            return Answer(422, {"detail": errors})
        bounds = bounds_of({} if context.faults.ignore_filters else filters)
        page = cut(devin, context.quirks, skip, limit, skip == 0, lambda: devin.select(bounds))
        return Answer(
            200,
            {
                "items": [devin.at(position) for position in page.positions],
                "total": page.total,
                "skip": skip,
                "limit": page.size,
                "has_more": page.next_offset is not None,
                "next_cursor": page.next_offset,
            },
        )

    def preloaded(self, route: Route, context: Context) -> bytes | None:
        return context.devin.body(route.session_id or "") if route.kind == "detail" else None
