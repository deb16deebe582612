"""The v3 dialect (v3.md): enterprise session insights for service-user keys (cog_...).

    GET  /v3/enterprise/sessions/insights?first=F&after=C&...   a page
    GET  /v3/enterprise/sessions/{devin_id}/insights             one session
    POST /v3/enterprise/sessions/{devin_id}/insights/generate    {"session_id", "status"}
    GET  /v3/enterprise/sessions/{devin_id}/messages?first=F&after=C   its messages (messages.py)

devin_id is the session id as the payload writes it ('devin-<hex>'): a bare '<hex>' is 404,
so a client given a bare id must add the prefix. Pages are {"items", "end_cursor",
"has_next_page", "total"}; end_cursor is null on the last page. A cursor is the standard
base64 (with '+', '/' and '=') of {"s":"?>?>?>","o":<offset>}: an offset, so sessions
inserted or deleted while a client pages shift it, as for v2; the salt puts '+' and '/' in
every cursor, so one a client forgets to URL-encode comes back broken (422). Time filters
created_after, updated_after (inclusive) and created_before, updated_before (exclusive) are
integer epoch seconds, milliseconds when above 10**12; session_ids is repeated, with or
without the prefix; other filters are ignored, as the real API was seen to do. The fault key
of a page is "page:<offset>" ("page:0" for the first), of a generate call
"generate:<session id>". Generate answers for any live session (FakeDevin.generate_analysis),
403 with Faults.forbid_generate, 404 for an unknown one.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote

from . import enterprise, messages
from .catalog import Bounds
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

SESSIONS_PATH = "/v3/enterprise/sessions/"
LIST_PATH = SESSIONS_PATH + "insights"
SALT = "?>?>?>"
TIME_FILTERS = {  # name: (bound, exclusive)
    "created_after": ("created_from", False),
    "created_before": ("created_to", True),
    "updated_after": ("updated_from", False),
    "updated_before": ("updated_to", True),
}


def encode_cursor(offset: int) -> str:
    """Returns the opaque cursor of a list offset."""
    raw = json.dumps({"s": SALT, "o": offset}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode()


def decode_cursor(cursor: str) -> int | None:
    """Returns the offset of a cursor, or None if it is not one of ours."""
    try:
        decoded = json.loads(base64.b64decode(cursor, validate=True))
    except (binascii.Error, ValueError):
        return None
    offset = decoded.get("o") if isinstance(decoded, dict) else None
    valid = type(offset) is int and offset >= 0 and decoded.get("s") == SALT
    return offset if valid else None


def epoch_micros(value: int) -> int:
    """Returns the epoch microseconds of a filter's epoch seconds (milliseconds above 10**12)."""
    return value * 1_000 if abs(value) > 10**12 else value * 1_000_000


def _invalid(name: str, msg: str, kind: str) -> dict[str, Any]:
    return validation_error("query", name, msg, kind)


def parse_page(request: Request) -> tuple[int, int, Bounds, set[str] | None, list[dict[str, Any]]]:
    """Returns offset, first, time bounds, wanted ids and the validation errors of a query."""
    first, first_error = parse_bounded_int(request, "first", 100, 1, 200)
    errors = [first_error] if first_error else []
    after, offset = request.last("after"), 0
    if after is not None:
        decoded = decode_cursor(after)
        if decoded is None:
            errors.append(_invalid("after", "Invalid cursor", "value_error"))
        offset = decoded or 0
    bounds: dict[str, int] = {}
    for name, (bound, exclusive) in TIME_FILTERS.items():
        value = request.last(name)
        if value is None:
            continue
        try:
            bounds[bound] = epoch_micros(int(value)) - (1 if exclusive else 0)
        except ValueError:
            errors.append(_invalid(name, "Input should be a valid integer", "int_parsing"))
    ids = request.query.get("session_ids")
    return offset, first, Bounds(**bounds), set(ids) if ids else None, errors


class V3(Dialect):
    """The v3 Enterprise API: service-user keys (cog_...) only."""

    name = "v3"
    prefix = "/v3/"
    id_name = "devin_id"

    def accepts_key(self, token: str) -> bool:
        return token.startswith("cog_")

    def route(self, request: Request) -> Route | None:
        path = request.path
        if (members_and_more := enterprise.route(self.name, request)) is not None:
            return members_and_more
        if path == LIST_PATH:
            if request.method != "GET":
                return Route("not-allowed")
            after = request.last("after")
            offset = 0 if after is None else decode_cursor(after)
            return Route("list", None, f"page:{'?' if offset is None else offset}")
        rest = path[len(SESSIONS_PATH) :] if path.startswith(SESSIONS_PATH) else ""
        devin_id, _, tail = rest.partition("/")
        kind = {
            "insights": ("detail", "GET"),
            "insights/generate": ("generate", "POST"),
            "messages": ("messages", "GET"),
        }
        if not devin_id or tail not in kind:
            return None
        session_id = unquote(devin_id)
        if request.method != kind[tail][1]:
            return Route("not-allowed", session_id)
        key = session_id if tail == "insights" else f"{kind[tail][0]}:{session_id}"
        return Route(kind[tail][0], session_id, key)

    def answer(self, route: Route, request: Request, context: Context) -> Answer:
        devin = context.devin
        if route.kind.startswith(enterprise.KIND):
            return enterprise.answer(self.name, route, request, context)
        if route.kind == "list":
            return self._list(request, context)
        session_id = route.session_id or ""
        if not ID_PATTERN.fullmatch(session_id):
            return Answer(422, self.bad_id())
        if route.kind == "messages":
            return _messages(session_id, request, context)
        if route.kind == "generate" and context.faults.forbid_generate:
            return Answer(403, {"detail": "Missing permission: ManageAccountSessions"})
        if session_id not in devin:
            return Answer(404, SESSION_NOT_FOUND)
        if route.kind == "generate":
            try:
                status = devin.generate_analysis(session_id)
            except KeyError:  # deleted meanwhile
                return Answer(404, SESSION_NOT_FOUND)
            return Answer(200, {"session_id": _named(session_id, context), "status": status})
        session = devin.session(session_id, "v3")
        if not session:
            return Answer(404, SESSION_NOT_FOUND)
        return Answer(200, {**session, "session_id": _named(session_id, context)})

    def _list(self, request: Request, context: Context) -> Answer:
        devin = context.devin
        offset, first, bounds, wanted, errors = parse_page(request)
        if errors:
            return Answer(422, {"detail": errors})
        if context.faults.ignore_filters:
            bounds, wanted = Bounds(), None

        def select() -> list[int]:
            order = devin.select(bounds)
            if wanted is None:
                return order
            return [p for p in order if devin.id_at(p) in wanted or
                    devin.id_at(p).removeprefix("devin-") in wanted]  # fmt: skip

        page = cut(devin, context.quirks, offset, first, request.last("after") is None, select)
        following = page.next_offset
        return Answer(
            200,
            {
                "items": [
                    {**item, "session_id": _named(item["session_id"], context)}
                    for item in (devin.at(position, "v3") for position in page.positions)
                ],
                "end_cursor": None if following is None else encode_cursor(following),
                "has_next_page": following is not None,
                "total": page.total,
            },
        )

    def preloaded(self, route: Route, context: Context) -> bytes | None:
        if route.kind != "detail" or context.quirks.bare_ids:
            return None
        return context.devin.body(route.session_id or "", "v3")


def _messages(session_id: str, request: Request, context: Context) -> Answer:
    """A page of a session's messages (fake_api.messages), by the sessions' cursor."""
    around = context.devin.enterprise
    if "messages" in around.forbidden:
        if around.forbidden_status == 401:
            return Answer(401, {"detail": "Invalid API key"})
        permission = enterprise.PERMISSIONS["messages"]
        return Answer(403, {"detail": f"Missing permission: {permission}"})
    items = messages.messages(context.devin, session_id)
    if items is None:
        return Answer(404, SESSION_NOT_FOUND)
    first, first_error = parse_bounded_int(request, "first", 100, 1, 200)
    after = request.last("after")
    offset = 0 if after is None else decode_cursor(after)
    if first_error or offset is None:
        error = first_error or _invalid("after", "Invalid cursor", "value_error")
        return Answer(422, {"detail": [error]})
    size = min(first, around.page_cap)
    following = offset + size if offset + size < len(items) else None
    return Answer(
        200,
        {
            "items": items[offset : offset + size],
            "end_cursor": None if following is None else encode_cursor(following),
            "has_next_page": following is not None,
            "total": len(items),
        },
    )


def _named(session_id: str, context: Context) -> str:
    """The id as this server names it: without devin- under the bare_ids quirk."""
    return session_id.removeprefix("devin-") if context.quirks.bare_ids else session_id
