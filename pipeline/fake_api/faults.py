"""Faults: what the server does wrong on a request, scripted per key or drawn at random, and
how each fault looks on the wire."""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from .dialect import Answer

FAULT_KINDS = (
    "429", "429-date", "500", "502", "503", "malformed", "truncated",
    "missing-field", "wrong-type", "slow", "drop", "404", "422", "ok",
    "520", "521", "522", "523", "524", "login", "redirect",
)  # fmt: skip
DEFAULT_FAIL_KINDS = ("429", "500", "502", "503", "truncated")
STATUS_FAULTS = ("429", "429-date", "500", "502", "503")
CDN_ERRORS = {  # Cloudflare's own pages, when the origin behind it fails
    "520": "Web server is returning an unknown error",
    "521": "Web server is down",
    "522": "Connection timed out",
    "523": "Origin is unreachable",
    "524": "A timeout occurred",
}

BAD_GATEWAY = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>\n"
)
MALFORMED = b'{"session_id": "devin-0", "status": exit, "tags": [}'
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Devin</title></head><body>"
    b'<form method="post" action="/login"><h1>Sign in to continue</h1>'
    b'<input name="email" type="email"><input name="password" type="password">'
    b'<button type="submit">Sign in</button></form></body></html>\n'
)


def checked_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """Returns the kinds as a tuple; ValueError names any unknown one."""
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    return kinds


class Faults:
    """What the server does wrong, changed by tests between (or during) runs; thread-safe."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        fail_kinds: Iterable[str] = DEFAULT_FAIL_KINDS,
        retry_after: int = 0,
        slow_seconds: float = 5.0,
        auth_status: int | None = None,
        ignore_filters: bool = False,
        forbid_generate: bool = False,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[str]] = {}
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.fail_kinds = fail_kinds
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.auth_status = auth_status
        self.ignore_filters = ignore_filters
        self.forbid_generate = forbid_generate  # v3 generate: 403, reads still work
        self.seed = seed

    @property
    def fail_kinds(self) -> tuple[str, ...]:
        return self._fail_kinds

    @fail_kinds.setter
    def fail_kinds(self, kinds: Iterable[str]) -> None:
        self._fail_kinds = checked_kinds(kinds)

    @property
    def seed(self) -> int:
        return self._seed

    @seed.setter
    def seed(self, seed: int) -> None:
        with self._lock:
            self._seed, self._rng = seed, random.Random(seed)

    def script(self, key: str, kinds: Iterable[str]) -> None:
        """Gives the next requests for key these faults: a session id (its detail, in any
        version), "page:<offset>" (a list page), "generate:<session id>" (v3 generate),
        "messages:<session id>" (v3 messages, every page)."""
        checked = checked_kinds(kinds)
        with self._lock:
            self._scripts[key] = deque(checked)

    def reset(self) -> None:
        """Back to a well-behaved server: no latency, no faults, no scripts."""
        Faults.__init__(self)

    def next_fault(self, key: str | None) -> str | None:
        """Returns the fault for the next request for key: scripted, else random, else None."""
        with self._lock:
            script = self._scripts.get(key) if key is not None else None
            if script is not None:
                fault = script.popleft() if script else None
            elif self.fail_rate and self._rng.random() < self.fail_rate:
                fault = self._rng.choice(self.fail_kinds)
            else:
                fault = None
        return None if fault == "ok" else fault


def fault_answer(fault: str | None, retry_after: int) -> Answer | None:
    """Returns the answer a fault replaces the API's with, else None (the API answers)."""
    if fault is None:
        return None
    if fault in STATUS_FAULTS:
        return _status_answer(fault, retry_after)
    if fault in CDN_ERRORS:
        return _cdn_answer(fault)
    if fault == "malformed":
        return Answer(200, body=MALFORMED)
    if fault == "login":  # a single-sign-on proxy that wants a browser
        return Answer(200, body=LOGIN_PAGE, content_type="text/html; charset=utf-8")
    return None


def _cdn_answer(fault: str) -> Answer:
    ray = "8d2f6c1e9b7a4f30"
    title = f"api.devin.ai | {fault}: {CDN_ERRORS[fault]}"
    html = (
        f'<!DOCTYPE html><html lang="en-US"><head><title>{title}</title></head><body>'
        f'<div id="cf-error-details"><h1>{CDN_ERRORS[fault]}</h1>'
        f"<span>Error code {fault}</span><p>Cloudflare Ray ID: <strong>{ray}</strong></p>"
        "</div></body></html>\n"
    )
    headers = {"Server": "cloudflare", "CF-RAY": f"{ray}-SJC"}
    return Answer(
        int(fault), body=html.encode(), content_type="text/html; charset=UTF-8", headers=headers
    )


def _status_answer(fault: str, retry_after: int) -> Answer:
    status, headers = int(fault[:3]), {}
    if fault == "429-date":
        later = datetime.now(UTC) + timedelta(seconds=retry_after)
        headers["Retry-After"] = format_datetime(later, usegmt=True)
    elif fault in ("429", "503"):
        headers["Retry-After"] = str(retry_after)
    if fault == "502":  # a proxy in front of the API answers, in HTML
        return Answer(502, body=BAD_GATEWAY, content_type="text/html", headers=headers)
    detail = {429: "Too Many Requests", 500: "Internal Server Error"}.get(status)
    return Answer(status, {"detail": detail or "Service Unavailable"}, headers=headers)


def corrupt(payload: dict[str, Any], fault: str) -> None:
    """Breaks the session (or a page's first item) the way a schema change would."""
    target = payload["items"][0] if payload.get("items") else payload
    if "items" in target:  # an empty page: nothing to corrupt
        return
    if fault == "missing-field":
        target.pop("created_at", None)
    else:  # a session's ACUs; a message (which has none) its time
        target["acus_consumed" if "acus_consumed" in target else "created_at"] = "lots"
