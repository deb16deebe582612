"""Quirks: how a real server, or a proxy before it, misbehaves consistently (not per request,
as Faults do). Held by FakeApiServer as .quirks; tests change it between runs; every dialect
honours it; `python -m pipeline.fake_api` has a flag for each (--page-cap N, --newest-first...).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields
from typing import Any


def _mode(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass
class Quirks:
    """Adversarial modes; the defaults are a well-behaved server."""

    page_cap: int | None = _mode(
        None, "serve at most N items a page whatever the client asks (v2 says so in 'limit')"
    )
    newest_first: bool = _mode(False, "list newest first, by (created_at, session_id) descending")
    churn_insert: int = _mode(0, "before each page after the first, add K sessions at the clock")
    churn_delete: int = _mode(0, "before each page after the first, delete K sessions")
    churn_update: int = _mode(0, "before each page after the first, move K updated_at to the clock")
    total_drift: int = _mode(
        0, "report total off by 0, +D, -D, 0, ... by the page's place in the list"
    )
    total_null: bool = _mode(False, "report total as null")
    echo_key: bool = _mode(False, "error bodies repeat the Authorization header")
    echo_key_in_ok: bool = _mode(False, "200 bodies repeat it too, in an unknown 'debug' field")
    stuck_cursor: bool = _mode(False, "the next cursor repeats the one asked for")
    cursor_rewind: bool = _mode(
        False, "from the third page on, the next cursor leads to the second"
    )
    wrap_around: bool = _mode(False, "past the end, pages start over from the first session")
    duplicate_items: bool = _mode(False, "a page's last item is a copy of its first")
    empty_page_every: int = _mode(
        0, "every Nth list request answers no items, more to come, the cursor unchanged"
    )
    gzip: bool = _mode(False, "gzip bodies when the client accepts gzip")
    bare_ids: bool = _mode(False, "v3 names sessions without devin-, as its documentation shows")
    redirect_to: str | None = _mode(
        None, "where the 'redirect' fault sends clients (default http://localhost:PORT)"
    )
    _lists: int = field(default=0, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def next_list_request(self) -> int:
        """Counts a list request; returns its number, from 1."""
        with self._lock:
            self._lists += 1
            return self._lists

    def reset(self) -> None:
        """Back to a well-behaved server, counters included."""
        for mode in fields(self):
            if mode.init:
                setattr(self, mode.name, mode.default)
        with self._lock:
            self._lists = 0
