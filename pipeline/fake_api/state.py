"""FakeDevin: one enterprise's sessions, what tests changed in them, and their mutations."""

from __future__ import annotations

import copy
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .catalog import UNBOUNDED, Bounds, Catalog
from .clock import Raw, from_micros, parse_time, stamp_epoch, stamp_iso, to_micros, to_stamp
from .dialect import json_bytes
from .enterprise import Enterprise
from .generator import (
    OPEN_STATUSES,
    UNANALYSED_STATUSES,
    Generator,
    analysis,
    hashed_meta,
    pull_request_url,
)
from .hostile import hostile_fields
from .v3_payload import V3_ONLY, parent_index, render

FILTERS = ("created_date_from", "created_date_to", "updated_date_from", "updated_date_to")


class FakeDevin:
    """One enterprise's sessions: deterministic given (sessions, seed, now), mutable by tests.

    One state, rendered by each API version: session(id) as v2 sends it, session(id, "v3")
    as v3 does. analysis_delay: seconds from a generate_analysis() call to the analysis.
    """

    def __init__(
        self,
        sessions: int = 1000,
        seed: int = 0,
        now: datetime | None = None,
        *,
        analysis_delay: float = 0.5,
    ) -> None:
        self.seed = seed
        self.analysis_delay = analysis_delay
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.now = parse_time(now) if now else midnight
        self._generator = Generator(seed, self.now)
        self._lock = threading.RLock()
        self._catalog = Catalog()
        self._raw: dict[tuple[int, str], Raw] = {}  # timestamps to send as given
        self._overrides: dict[int, dict[str, Any]] = {}
        self._counters = {"advance": 0, "churn": 0, "plant": 0}
        self._bodies: dict[tuple[str, str], bytes] = {}  # by (api_version, id); see preload
        self._generating: dict[int, float] = {}  # analyses on their way: when they arrive
        self._enterprise: Enterprise | None = None  # made when first asked for
        # The playbook each session names, noted as it is rendered: the generator draws them at
        # random, and the enterprise's listing must hold them without rendering 100k again.
        self._playbooks_named: dict[int, str | None] = {}
        # And what each spent, for the bill (billing.py), noted the same way.
        self._spent: dict[int, Spent] = {}
        now_us = to_micros(self.now)
        for index in range(sessions):
            session_id, age, duration = hashed_meta(seed, index)
            created = now_us - age
            self._catalog.append(session_id, created, min(created + duration, now_us))

    @property
    def enterprise(self) -> Enterprise:
        """The members, organizations, playbooks and notes around the sessions (enterprise.py)."""
        with self._lock:
            if self._enterprise is None:
                self._enterprise = Enterprise(self)
            return self._enterprise

    def people(self) -> tuple[list[str], list[str]]:
        """Returns the ids of the organizations and users the sessions are made with."""
        return list(self._generator.orgs), list(self._generator.users)

    def playbooks_named(self) -> list[str]:
        """Returns the playbooks the live sessions name, rendering only those never rendered."""
        with self._lock:
            order = list(self._catalog.order())
        named = []
        for index in order:
            if index not in self._playbooks_named:
                self._render(index, "v2")
            playbook = self._playbooks_named.get(index)
            if playbook is not None:
                named.append(playbook)
        return named

    def spending(self) -> list[Spent]:
        """What every live session spent (user, org, ACUs, created, updated, PR states), rendering
        only those never rendered."""
        with self._lock:
            order = list(self._catalog.order())
        for index in order:
            if index not in self._spent:
                self._render(index, "v2")
        return [self._spent[index] for index in order]

    @property
    def changes(self) -> int:
        """A number that moves whenever a session is added, deleted or changed."""
        return self._catalog.version

    def __len__(self) -> int:
        return len(self._catalog)

    def __contains__(self, session_id: object) -> bool:
        with self._lock:
            return self._catalog.find(session_id) is not None

    def ids(self) -> list[str]:
        """Returns every session id in list order: by (created_at, session_id)."""
        with self._lock:
            return [self._catalog.ids[i] for i in self._catalog.order()]

    def session(self, session_id: str, api_version: str = "v2") -> dict[str, Any] | None:
        """Returns the session as that API version sends it (a fresh dict), or None if
        unknown or deleted."""
        with self._lock:
            index = self._catalog.find(session_id)
        return None if index is None else self._render(index, api_version)

    def preload(self, api_versions: tuple[str, ...] = ("v2",)) -> None:
        """Encode every session's detail body now, so serving one costs only the HTTP work.

        For benchmarks: a real API's CPU is not on the exporter's machine, this fake's is.
        """
        with self._lock:
            order = list(self._catalog.order())
        bodies = {
            (version, self._catalog.ids[i]): json_bytes(self._render(i, version))
            for version in api_versions
            for i in order
        }
        with self._lock:
            self._bodies = bodies

    def body(self, session_id: str, api_version: str = "v2") -> bytes | None:
        """Return the encoded detail body of a preloaded session, else None."""
        return self._bodies.get((api_version, session_id))

    def select(self, bounds: Bounds = UNBOUNDED) -> list[int]:
        """Returns the positions of the live sessions within bounds, oldest first (do not
        change the list). A position names a session for at() and id_at()."""
        with self._lock:
            return self._catalog.select(bounds)

    def at(self, position: int, api_version: str = "v2") -> dict[str, Any]:
        """Returns the session at a position select() gave, as sent (a fresh dict)."""
        return self._render(position, api_version)

    def id_at(self, position: int) -> str:
        """Returns the id of the session at a position select() gave."""
        return self._catalog.ids[position]

    def page(
        self, skip: int, limit: int, filters: dict[str, datetime] | None = None
    ) -> dict[str, Any]:
        """Returns one page of the list endpoint; filters named as in FILTERS, bounds inclusive."""
        matching = self.select(bounds_of(filters or {}))
        more = skip + limit < len(matching)
        return {
            "items": [self._render(index, "v2") for index in matching[skip : skip + limit]],
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
        """Overrides top-level fields; updated_at moves to the clock unless given.

        created_at and updated_at take ISO 8601 text, datetimes or epoch numbers (seconds;
        milliseconds above 10**12). Text whose instant UTC cannot hold, such as
        '9999-12-31T23:00:00-05:00', and integers reach the wire exactly as given.
        KeyError for an unknown or deleted session.
        """
        if "session_id" in fields:
            raise ValueError("session_id is the key and cannot change")
        with self._lock:
            index = self._catalog.live(session_id)
            fields.setdefault("updated_at", self.now)
            self._override(index, fields)

    def set_analysis(
        self, session_id: str, analysis: dict[str, Any] | None, bump_updated_at: bool = True
    ) -> None:
        """Replaces session_analysis; real analyses often arrive without touching updated_at."""
        fields: dict[str, Any] = {"session_analysis": analysis}
        if bump_updated_at:
            fields["updated_at"] = self.now
        with self._lock:
            index = self._catalog.live(session_id)
            self._generating.pop(index, None)
            self._overrides.get(index, {}).pop("analysis", None)  # v3's follows v2's again
            self._override(index, fields)

    def generate_analysis(self, session_id: str) -> str:
        """Starts the analysis of a session that has none, as v3's generate endpoint does:
        returns "started", or "already_exists" when it has one or one is on its way. The
        analysis arrives analysis_delay seconds later (0: on the next read), in v2 and v3
        alike, and updated_at does not move. KeyError if unknown or deleted."""
        with self._lock:
            index = self._catalog.live(session_id)
            self._settle(index)
            overrides = self._overrides.get(index, {})
            if "analysis" in overrides:
                has_one = overrides["analysis"] is not None
            else:
                has_one = self._render(index, "v2")["session_analysis"] is not None
            if has_one or index in self._generating:
                return "already_exists"
            self._generating[index] = time.monotonic() + self.analysis_delay
            self._bodies.clear()  # preloaded bodies would never see it arrive
            return "started"

    def delete(self, session_id: str) -> None:
        """Deletes a session: 404 on its detail, gone from the list. KeyError if unknown."""
        with self._lock:
            self._catalog.delete(self._catalog.live(session_id))
            self._bodies.clear()

    def churn(self, insert: int = 0, delete: int = 0, update: int = 0) -> dict[str, list[str]]:
        """Adds sessions at the clock, deletes others and touches others (updated_at moves to
        the clock), as happens while a client pages; deterministic given the seed and the
        calls before. Returns the ids, by "inserted", "deleted", "updated"."""
        with self._lock:
            rng = self._rng("churn")
            deleted = self._random_live(rng, delete)
            for session_id in deleted:
                self.delete(session_id)
            touched = self._random_live(rng, update)
            for session_id in touched:
                self.update(session_id)
            inserted = self.add_sessions(insert)
        return {"inserted": inserted, "deleted": deleted, "updated": touched}

    def plant(self, kind: str, n: int) -> list[str]:
        """Makes n sessions hostile in one way (see hostile.py); returns their ids, in list
        order. updated_at does not move, unless the kind is about timestamps."""
        with self._lock:
            rng = self._rng("plant")
            picked = self._random_live(rng, n)
            for nth, session_id in enumerate(picked):
                index = self._catalog.live(session_id)
                millis = self._catalog.created[index] // 1000, self._catalog.updated[index] // 1000
                self._override(index, hostile_fields(kind, nth, *millis))
        return picked

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
            rng = self._rng("advance")
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

    def _render(self, index: int, api_version: str) -> dict[str, Any]:
        catalog = self._catalog
        with self._lock:
            self._settle(index)
            overrides = copy.deepcopy(self._overrides.get(index, {}))
            created, updated = catalog.created[index], catalog.updated[index]
            raw = self._raw.get((index, "created_at")), self._raw.get((index, "updated_at"))
        session = self._generator.session(index, catalog.ids[index], created)
        session.update(overrides)
        named = session.get("playbook_id")
        self._playbooks_named[index] = named if isinstance(named, str) else None
        self._spent[index] = _spent(session, created, updated)
        if api_version == "v3":
            times = stamp_epoch(created, raw[0]), stamp_epoch(updated, raw[1])
            return render(session, self.seed, index, times, self._family(index))
        if api_version != "v2":
            raise ValueError(f"unknown API version {api_version!r}")
        for name in V3_ONLY.intersection(overrides):
            del session[name]
        session["created_at"] = stamp_iso(created, raw[0])
        session["updated_at"] = stamp_iso(updated, raw[1])
        return session

    def _family(self, index: int) -> tuple[str | None, list[str]]:
        """Returns the ids of the session that started this one, and of those it started."""
        ids, seed = self._catalog.ids, self.seed
        parent = parent_index(seed, index)
        children = range(index + 1, min(index + 4, len(ids)))
        return (
            None if parent is None else ids[parent],
            [ids[child] for child in children if parent_index(seed, child) == index],
        )

    def _settle(self, index: int) -> None:
        """Lands an analysis on its way, if its time has come (the lock held)."""
        ready = self._generating.get(index)
        if ready is not None and time.monotonic() >= ready:
            del self._generating[index]
            rng = random.Random(f"{self.seed}:generated:{self._catalog.ids[index]}")
            self._overrides.get(index, {}).pop("analysis", None)
            self._override(index, {"session_analysis": analysis(rng)})

    def _override(self, index: int, fields: dict[str, Any]) -> None:
        """Sets fields of a session as given (timestamps kept apart); caches are dropped."""
        catalog = self._catalog
        for name, times in (("created_at", catalog.created), ("updated_at", catalog.updated)):
            if name in fields:
                micros, raw = to_stamp(fields.pop(name))
                times[index] = micros
                if raw is None:
                    self._raw.pop((index, name), None)
                else:
                    self._raw[(index, name)] = raw
        self._overrides.setdefault(index, {}).update(fields)
        self._playbooks_named.pop(index, None)
        catalog.version += 1
        self._bodies.clear()

    def _rng(self, purpose: str) -> random.Random:
        """Returns the random stream of the next call of one kind of mutation."""
        self._counters[purpose] += 1
        return random.Random(f"{self.seed}:{purpose}:{self._counters[purpose]}")

    def _random_live(self, rng: random.Random, count: int) -> list[str]:
        """Returns up to count distinct live ids, in list order."""
        order = self._catalog.order()
        picked = sorted(rng.sample(range(len(order)), min(count, len(order))))
        return [self._catalog.ids[order[position]] for position in picked]

    def _add(self, created: list[int]) -> list[str]:
        with self._lock:
            now, ids = to_micros(self.now), []
            for moment in created:
                session_id, _, duration = hashed_meta(self.seed, len(self._catalog.ids))
                updated = min(moment + duration, max(now, moment))
                self._catalog.append(session_id, moment, updated)
                ids.append(session_id)
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
        order = self._catalog.order()
        for index in reversed(order):
            if len(picked) == count:
                return picked
            session_id = self._catalog.ids[index]
            if session_id not in exclude and wanted(self._render(index, "v2")):
                picked.append(session_id)
        live = (self._catalog.ids[index] for index in order)
        rest = [s for s in live if s not in exclude and s not in picked] if fill else []
        return picked + rng.sample(rest, min(count - len(picked), len(rest)))

    def _progress(self, rng: random.Random, session_id: str, since: int) -> None:
        """Moves a session on: it finishes, spends more ACUs, maybe opens a pull request."""
        index = self._catalog.live(session_id)
        now = to_micros(self.now)
        session, start = (
            self._render(index, "v2"),
            min(max(since, self._catalog.created[index]), now),
        )
        fields: dict[str, Any] = {
            "status": "exit" if rng.random() < 0.9 else "error",
            "acus_consumed": round(float(session["acus_consumed"]) + rng.uniform(0.5, 20), 2),
            "updated_at": from_micros(rng.randint(start, now)),
        }
        if rng.random() < 0.4:
            new_pr = {"url": pull_request_url(rng), "state": "open"}
            fields["pull_requests"] = session["pull_requests"] + [new_pr]
        self.update(session_id, **fields)


@dataclass(frozen=True)
class Spent:
    user_id: str | None
    org_id: str | None
    acus: float
    created: int  # epoch microseconds
    updated: int
    pr_states: tuple[str, ...]


def _spent(session: dict[str, Any], created: int, updated: int) -> Spent:
    acus = session.get("acus_consumed")
    prs = session.get("pull_requests") or []
    states = tuple(
        str(pr.get("state") or pr.get("pr_state") or "") for pr in prs if isinstance(pr, dict)
    )
    user, org = session.get("user_id"), session.get("org_id")
    return Spent(
        user if isinstance(user, str) else None,
        org if isinstance(org, str) else None,
        _acus(acus),
        created,
        updated,
        states,
    )


def _acus(value: Any) -> float:
    """A session's ACUs as the bill counts them: a hostile value (not a number, negative,
    huge) spends nothing."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    try:
        number = float(value)
    except OverflowError:
        return 0.0
    return number if math.isfinite(number) and 0 <= number < 1e6 else 0.0


def bounds_of(filters: dict[str, datetime]) -> Bounds:
    """Returns the bounds of v2 filters (named as in FILTERS)."""
    unknown = set(filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"unknown filters: {sorted(unknown)}")
    values = (filters.get(name) for name in FILTERS)
    return Bounds(*(None if value is None else to_micros(parse_time(value)) for value in values))


def _is_open(session: dict[str, Any]) -> bool:
    return session["status"] in OPEN_STATUSES


def _awaits_analysis(session: dict[str, Any]) -> bool:
    return session["session_analysis"] is None and session["status"] not in UNANALYSED_STATUSES
