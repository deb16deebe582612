"""What every API dialect shares: the request as parsed, the route it takes, the answer to send.

A dialect (v2.py, v3.py) owns its paths, query parsing, page shape and payload rendering; the
server (server.py) owns the socket, authentication and faults, and asks the dialect for the
answer a healthy API would give.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .faults import Faults
    from .quirks import Quirks
    from .state import FakeDevin

NOT_FOUND = {"detail": "Not Found"}
SESSION_NOT_FOUND = {"detail": "Session not found"}
NOT_ALLOWED = {"detail": "Method Not Allowed"}
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def json_bytes(payload: Any) -> bytes:
    """Returns payload as compact UTF-8 JSON (integers of any size stay exact)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def validation_error(where: str, name: str, msg: str, kind: str) -> dict[str, Any]:
    """Returns one item of an HTTPValidationError's detail list."""
    return {"loc": [where, name], "msg": msg, "type": kind}


def parse_bounded_int(
    request: Request, name: str, default: int, low: int, high: int | None
) -> tuple[int, dict[str, Any] | None]:
    """Returns a query integer within [low, high] (or its default), and its validation error."""
    try:
        number = int(request.last(name, str(default)) or "")
    except ValueError:
        return default, validation_error(
            "query", name, "Input should be a valid integer", "int_parsing"
        )
    if number < low:
        msg = f"Input should be greater than or equal to {low}"
        return number, validation_error("query", name, msg, "greater_than_equal")
    if high is not None and number > high:
        msg = f"Input should be less than or equal to {high}"
        return number, validation_error("query", name, msg, "less_than_equal")
    return number, None


@dataclass(frozen=True)
class Request:
    """One HTTP request, parsed; the Authorization header is kept out of it on purpose."""

    method: str
    path: str  # as received, still percent-encoded
    query: dict[str, list[str]]  # every value of every key, blank values kept

    def last(self, name: str, default: str | None = None) -> str | None:
        """Returns the last value given for name, else default."""
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass(frozen=True)
class Route:
    """Where a request goes: kind ("list", "detail"...; "not-allowed": a known path asked
    with the wrong method, 405), the session it names, its fault key."""

    kind: str
    session_id: str | None = None
    fault_key: str | None = None


@dataclass
class Answer:
    """A status and a JSON payload (or raw bytes), with extra headers."""

    status: int
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """Returns the body to send."""
        return self.body if self.body is not None else json_bytes(self.payload)


@dataclass(frozen=True)
class Context:
    """The state a dialect answers from."""

    devin: FakeDevin
    faults: Faults
    quirks: Quirks


class Dialect(ABC):
    """One API version: its paths under prefix, the keys it takes, its answers."""

    name: ClassVar[str]
    prefix: ClassVar[str]
    id_name: ClassVar[str]  # what the path calls a session id, in 422 bodies

    @abstractmethod
    def accepts_key(self, token: str) -> bool:
        """Returns whether this version takes this kind of key at all."""

    @abstractmethod
    def route(self, request: Request) -> Route | None:
        """Returns the route of a request whose path is under prefix, or None (404)."""

    @abstractmethod
    def answer(self, route: Route, request: Request, context: Context) -> Answer:
        """Returns what a healthy API answers."""

    def bad_id(self) -> dict[str, Any]:
        """Returns the 422 body of a session id that does not match the id pattern."""
        msg = "String should match pattern '^[A-Za-z0-9_-]{1,128}$'"
        kind = "string_pattern_mismatch"
        return {"detail": [validation_error("path", self.id_name, msg, kind)]}

    def preloaded(self, route: Route, context: Context) -> bytes | None:
        """Returns a ready-made body for the route, if the state holds one."""
        return None
