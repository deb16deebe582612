"""FakeDevin: one enterprise's sessions, their ids and timestamps, what tests changed, caches."""

from __future__ import annotations

import copy
import random
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .clock import from_micros, iso, parse_time, to_micros
from .dialect import json_bytes
from .generator import (
    OPEN_STATUSES,
    UNANALYSED_STATUSES,
    Generator,
    analysis,
    hashed_meta,
    pull_request_url,
)

FILTERS = ("created_date_from", "created_date_to", "updated_date_from", "updated_date_to")


class FakeDevin:
    """One enterprise's sessions: deterministic given (sessions, seed, now), mutable by tests."""

    def __init__(self, sessions: int = 1000, seed: int = 0, now: datetime | None = None) -> None:
        self.seed = seed
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.now = parse_time(now) if now else midnight
        self._generator = Generator(seed, self.now)
        self._lock = threading.RLock()
        # Per session, by index: only what filtering and ordering need, timestamps as epoch us.
        self._ids: list[str] = []
        self._created: list[int] = []
        self._updated: list[int] = []
        self._index: dict[str, int] = {}
        self._overrides: dict[int, dict[str, Any]] = {}
        self._advances = 0
        self._version = 0  # bumped by every mutation: invalidates the order and filter caches
        self._order_version = -1
        self._order: list[int] = []
        self._order_created: list[int] = []
        self._filtered: dict[tuple[Any, ...], list[int]] = {}
        self._bodies: dict[str, bytes] = {}  # filled by preload(), emptied by any change
        now_us = to_micros(self.now)
        for index in range(sessions):
            session_id, age, duration = hashed_meta(seed, index)
            created = now_us - age
            self._append(session_id, created, min(created + duration, now_us))

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._index

    def ids(self) -> list[str]:
        """Returns every session id in list order: by (created_at, session_id)."""
        return [self._ids[i] for i in self._sorted()]

    def session(self, session_id: str) -> dict[str, Any] | None:
        """Returns the session as the API sends it (a fresh dict), or None if unknown."""
        index = self._index.get(session_id)
        return None if index is None else self._at(index)

    def preload(self) -> None:
        """Encode every session's detail body now, so serving one costs only the HTTP work.

        For benchmarks: a real API's CPU is not on the exporter's machine, this fake's is.
        """
        bodies = {session_id: json_bytes(self._at(i)) for i, session_id in enumerate(self._ids)}
        with self._lock:
            self._bodies = bodies

    def body(self, session_id: str) -> bytes | None:
        """Return the encoded detail body of a preloaded session, else None."""
        return self._bodies.get(session_id)

    def _at(self, index: int) -> dict[str, Any]:
        with self._lock:
            overrides = dict(self._overrides.get(index, {}))
            created, updated = self._created[index], self._updated[index]
        session = self._generator.session(index, self._ids[index], created)
        session.update(copy.deepcopy(overrides))
        session["created_at"], session["updated_at"] = iso(created), iso(updated)
        return session

    def page(
        self, skip: int, limit: int, filters: dict[str, datetime] | None = None
    ) -> dict[str, Any]:
        """Returns one page of the list endpoint; filters named as in FILTERS, bounds inclusive."""
        matching = self._matching(filters or {})
        more = skip + limit < len(matching)
        return {
            "items": [self._at(index) for index in matching[skip : skip + limit]],
            "total": len(matching),
            "skip": skip,
            "limit": limit,
            "has_more": more,
            "next_cursor": skip + limit if more else None,
        }

    def add_sessions(self, n: int) -> list[str]:
        """Adds n sessions created at the current clock; returns their ids."""
        return self._add([to_micros(self.now)] * n)

    def update(self, session_id: str, **fields: Any) -> None:
        """Overrides top-level fields; updated_at moves to the clock unless given."""
        if "session_id" in fields:
            raise ValueError("session_id is the key and cannot change")
        with self._lock:
            index = self._index[session_id]
            self._updated[index] = to_micros(parse_time(fields.pop("updated_at", self.now)))
            if "created_at" in fields:
                self._created[index] = to_micros(parse_time(fields.pop("created_at")))
            self._overrides.setdefault(index, {}).update(fields)
            self._version += 1
            self._bodies.clear()

    def set_analysis(
        self, session_id: str, analysis: dict[str, Any] | None, bump_updated_at: bool = True
    ) -> None:
        """Replaces session_analysis; real analyses often arrive without touching updated_at."""
        with self._lock:
            index = self._index[session_id]
            updated_at = self.now if bump_updated_at else from_micros(self._updated[index])
            self.update(session_id, session_analysis=analysis, updated_at=updated_at)

    def advance(
        self,
        days: float = 1.0,
        new_sessions: int = 0,
        updated_sessions: int = 0,
        late_analyses: int = 0,
        bump_updated_at_on_analysis: bool = False,
    ) -> dict[str, list[str]]:
        """Moves the clock on as a night passes; returns the ids touched, per argument name."""
        with self._lock:
            self._advances += 1
            rng = random.Random(f"{self.seed}:advance:{self._advances}")
            start = to_micros(self.now)
            self.now += timedelta(days=days)
            end = to_micros(self.now)
            new_ids = self._add(sorted(rng.randint(start, end) for _ in range(new_sessions)))
            updated = self._pick(rng, updated_sessions, _is_open, exclude=set(new_ids))
            for session_id in updated:
                self._progress(rng, session_id, start)
            analysed = self._pick(rng, late_analyses, _awaits_analysis, exclude=set(), fill=False)
            for session_id in analysed:
                late = analysis(random.Random(f"{self.seed}:late:{session_id}"))
                self.set_analysis(session_id, late, bump_updated_at_on_analysis)
        return {"new_sessions": new_ids, "updated_sessions": updated, "late_analyses": analysed}

    def _append(self, session_id: str, created: int, updated: int) -> None:
        self._index[session_id] = len(self._ids)
        self._ids.append(session_id)
        self._created.append(created)
        self._updated.append(updated)

    def _add(self, created: list[int]) -> list[str]:
        with self._lock:
            now, ids = to_micros(self.now), []
            for moment in created:
                session_id, _, duration = hashed_meta(self.seed, len(self._ids))
                self._append(session_id, moment, min(moment + duration, max(now, moment)))
                ids.append(session_id)
            self._version += 1
            self._bodies.clear()
        return ids

    def _pick(
        self,
        rng: random.Random,
        count: int,
        wanted: Callable[[dict[str, Any]], bool],
        exclude: set[str],
        fill: bool = True,
    ) -> list[str]:
        """Returns up to count ids: the newest wanted sessions, then (if fill) random others."""
        picked: list[str] = []
        for index in reversed(self._sorted()):
            if len(picked) == count:
                return picked
            session_id = self._ids[index]
            if session_id not in exclude and wanted(self._at(index)):
                picked.append(session_id)
        rest = [s for s in self._ids if s not in exclude and s not in picked] if fill else []
        return picked + rng.sample(rest, min(count - len(picked), len(rest)))

    def _progress(self, rng: random.Random, session_id: str, since: int) -> None:
        """Moves a session on: it finishes, spends more ACUs, maybe opens a pull request."""
        index = self._index[session_id]
        session, start = self._at(index), max(since, self._created[index])
        fields: dict[str, Any] = {
            "status": "exit" if rng.random() < 0.9 else "error",
            "acus_consumed": round(float(session["acus_consumed"]) + rng.uniform(0.5, 20), 2),
            "updated_at": from_micros(rng.randint(start, max(start, to_micros(self.now)))),
        }
        if rng.random() < 0.4:
            new_pr = {"url": pull_request_url(rng), "state": "open"}
            fields["pull_requests"] = session["pull_requests"] + [new_pr]
        self.update(session_id, **fields)

    def _sorted(self) -> list[int]:
        with self._lock:
            if self._order_version != self._version:
                # By id, then stably by created_at: twice as fast as sorting (created, id) tuples.
                self._order = sorted(range(len(self._ids)), key=self._ids.__getitem__)
                self._order.sort(key=self._created.__getitem__)
                self._order_created = [self._created[index] for index in self._order]
                self._order_version = self._version
                self._filtered.clear()
            return self._order

    def _matching(self, filters: dict[str, datetime]) -> list[int]:
        """Returns the indexes of the sessions within the filters, in list order (cached)."""
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise ValueError(f"unknown filters: {sorted(unknown)}")
        bounds = {name: to_micros(parse_time(v)) for name, v in filters.items() if v is not None}
        with self._lock:
            order = self._sorted()
            if not bounds:
                return order
            key = (self._order_version, *(bounds.get(name) for name in FILTERS))
            if key not in self._filtered:
                if len(self._filtered) >= 8:  # a few filter sets at a time, never unbounded
                    self._filtered.clear()
                self._filtered[key] = self._filter(order, bounds)
            return self._filtered[key]

    def _filter(self, order: list[int], bounds: dict[str, int]) -> list[int]:
        created_from, created_to = bounds.get("created_date_from"), bounds.get("created_date_to")
        low = 0 if created_from is None else bisect_left(self._order_created, created_from)
        high = len(order) if created_to is None else bisect_right(self._order_created, created_to)
        lowest, highest = bounds.get("updated_date_from"), bounds.get("updated_date_to")
        if lowest is None and highest is None:
            return order[low:high]
        lowest = -(2**63) if lowest is None else lowest
        highest = 2**63 if highest is None else highest
        return [i for i in order[low:high] if lowest <= self._updated[i] <= highest]


def _is_open(session: dict[str, Any]) -> bool:
    return session["status"] in OPEN_STATUSES


def _awaits_analysis(session: dict[str, Any]) -> bool:
    return session["session_analysis"] is None and session["status"] not in UNANALYSED_STATUSES
