"""The bill of the fake enterprise (api/enterprise.md): billing cycles, daily consumption for
the enterprise, an organization or a person, and the usage metrics, in v2 and v3.

Consistent with the sessions: a session's ACUs land on the billing days it ran (08:00 UTC to
08:00 UTC), split in proportion to the time it spent in each; a person's day is their
sessions' Devin ACUs plus Cascade, Terminal and review use that no session shows (drawn per
person and day); an organization's day is its sessions' Devin ACUs only (the org filter drops
the other products); the enterprise's is everyone's. A person or an org with nothing on a day
is not listed that day. Amounts are whole millionths of an ACU, sent as JSON numbers.

    cycles      monthly, from the one holding the oldest session's billing day to the one in
                progress; each starts on the same day of the month at 08:00 UTC, chosen so the
                cycle in progress began 12 days before the fake's clock (advance() past that
                starts a new one)
    revise()    changes the last two complete billing days (more Cascade for everyone active
                then): a later run must pick the new values up
    requests    every consumption and metrics query received, for tests of the 08:00 bounds
    v2 / v3     dates as "YYYY-MM-DD" keys / epoch seconds of the day's 08:00 UTC start

The metrics count sessions created in the window asked for (UTC), their pull requests by state,
searches drawn per UTC day, and active users (a session created in the period) per day, ISO
week and calendar month.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .clock import to_micros
from .dialect import Answer, Request

if TYPE_CHECKING:
    from .enterprise import Enterprise
    from .state import Spent

DAY = 86_400_000_000  # microseconds
SHIFT = 8 * 3_600_000_000  # a billing day starts at 08:00 UTC
MICRO = 1_000_000  # millionths of an ACU in one ACU
PRODUCTS = ("devin", "cascade", "terminal", "review")
REVISION = 500_000  # Cascade each person active on a revised day gains, per revision
CYCLE_AGE = 12  # days from the start of the cycle in progress to the fake's clock


def day_start(day: date) -> int:
    """The epoch microseconds at which a billing day starts (08:00 UTC)."""
    return to_micros(datetime(day.year, day.month, day.day, tzinfo=UTC)) + SHIFT


def billing_date(micros: int) -> date:
    return datetime.fromtimestamp((micros - SHIFT) / MICRO, UTC).date()


def _add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, day.day)


def _acus(micro: int) -> float:
    return micro / MICRO  # shortest repr: exactly the millionths


class Ledger:
    """Millionths of an ACU by day: per person and product, per org (Devin), the enterprise."""

    def __init__(self) -> None:
        self.users: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.user_orgs: dict[tuple[str, date, str], int] = defaultdict(int)
        self.orgs: dict[tuple[str, date], int] = defaultdict(int)
        self.enterprise: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        self.created: dict[date, list[Spent]] = defaultdict(list)  # sessions by UTC day made


class Billing:
    def __init__(self, enterprise: Enterprise) -> None:
        self.enterprise = enterprise
        self.devin = enterprise.devin
        self.anchor = min((self.today() - timedelta(days=CYCLE_AGE)).day, 28)
        self.revisions: dict[date, int] = {}
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self._lock = threading.Lock()
        self._cached: tuple[Any, Ledger] | None = None

    # -- what tests change -----------------------------------------------------------------

    def revise(self, days: int = 2) -> list[date]:
        """Change the last complete billing days; returns them."""
        revised = [self.today() - timedelta(days=n) for n in range(1, days + 1)]
        with self._lock:
            for day in revised:
                self.revisions[day] = self.revisions.get(day, 0) + 1
        return revised

    # -- the bill ---------------------------------------------------------------------------

    def today(self) -> date:
        """The billing day in progress on the fake's clock."""
        return billing_date(to_micros(self.devin.now))

    def cycles(self) -> list[tuple[date, date]]:
        """(start, end) billing dates of every cycle, oldest first, up to the one in progress."""
        spent = self.devin.spending()
        first = min((billing_date(s.created) for s in spent), default=self.today())
        start = date(first.year, first.month, self.anchor)
        if start > first:
            start = date(start.year - (start.month == 1), (start.month - 2) % 12 + 1, self.anchor)
        cycles = []
        while start <= self.today():
            end = _add_month(start)
            cycles.append((start, end))
            start = end
        return cycles

    def ledger(self) -> Ledger:
        with self._lock:
            key = (self.devin.changes, self.devin.now, tuple(sorted(self.revisions.items())))
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            revisions = dict(self.revisions)
        ledger = Ledger()
        for spent in self.devin.spending():
            self._spread(ledger, spent)
            ledger.created[datetime.fromtimestamp(spent.created / MICRO, UTC).date()].append(spent)
        first, today = self.cycles()[0][0], self.today()
        seed = self.devin.seed
        for person in self.enterprise.people:
            day = first
            while day <= today:
                rng = random.Random(f"{seed}:bill:{person.user_id}:{day.isoformat()}")
                other = [
                    rng.randint(1, 4 * MICRO) if rng.random() < 0.3 else 0,
                    rng.randint(1, 3 * MICRO // 2) if rng.random() < 0.1 else 0,
                    rng.randint(1, 2 * MICRO) if rng.random() < 0.05 else 0,
                ]
                key_day = (person.user_id, day)
                active = any(other) or key_day in ledger.users
                if active and revisions.get(day):
                    other[0] += REVISION * revisions[day]
                if any(other):
                    row, total = ledger.users[key_day], ledger.enterprise[day]
                    for n, micro in enumerate(other, start=1):
                        row[n] += micro
                        total[n] += micro
                day += timedelta(days=1)
        with self._lock:
            self._cached = (key, ledger)
        return ledger

    def _spread(self, ledger: Ledger, spent: Spent) -> None:
        """A session's ACUs over the billing days it ran, in proportion to its time in each."""
        total = round(spent.acus * MICRO)
        if total <= 0:
            return
        start, end = spent.created, max(spent.updated, spent.created + 1)
        span, left = end - start, total
        day = billing_date(start)
        while left > 0:
            begin = day_start(day)
            overlap = min(end, begin + DAY) - max(start, begin)
            share = left if begin + DAY >= end else total * overlap // span
            left -= share
            if share:
                ledger.enterprise[day][0] += share
                if spent.org_id is not None:
                    ledger.orgs[(spent.org_id, day)] += share
                if spent.user_id is not None:
                    ledger.users[(spent.user_id, day)][0] += share
                    if spent.org_id is not None:
                        ledger.user_orgs[(spent.user_id, day, spent.org_id)] += share
            day += timedelta(days=1)

    def days(self, scope: str, scope_id: str | None) -> dict[date, list[int]]:
        """Each day served of one scope, by product: only days with something on them, up to
        the day in progress (as far as it went)."""
        ledger, today = self.ledger(), self.today()
        if scope == "enterprise":
            found = dict(ledger.enterprise)
        elif scope == "organization":
            found = {d: [m, 0, 0, 0] for (o, d), m in ledger.orgs.items() if o == scope_id}
        else:
            found = {d: list(v) for (u, d), v in ledger.users.items() if u == scope_id}
        return {d: v for d, v in sorted(found.items()) if d <= today and any(v)}

    # -- metrics ------------------------------------------------------------------------------

    def usage(self, after: int, before: int) -> dict[str, int]:
        """Counts over the sessions created in [after, before) (epoch microseconds)."""
        made = [s for s in self._made(after, before) if after <= s.created < before]
        states = [state for s in made for state in s.pr_states]
        day, searches = datetime.fromtimestamp(after / MICRO, UTC).date(), 0
        while to_micros(datetime(day.year, day.month, day.day, tzinfo=UTC)) < before:
            searches += random.Random(f"{self.devin.seed}:searches:{day}").randint(0, 40)
            day += timedelta(days=1)
        return {
            "sessions": len(made),
            "searches": searches,
            "prs_created": len(states),
            "prs_open": states.count("open"),
            "prs_merged": states.count("merged"),
            "prs_closed": states.count("closed"),
        }

    def _made(self, after: int, before: int) -> list[Spent]:
        """The sessions created on the UTC days [after, before) touches (whole days)."""
        created, found = self.ledger().created, []
        day = datetime.fromtimestamp(after / MICRO, UTC).date()
        while to_micros(datetime(day.year, day.month, day.day, tzinfo=UTC)) < before:
            found += created.get(day, [])
            day += timedelta(days=1)
        return found

    def active(self, period: str, after: int, before: int) -> list[dict[str, int]]:
        """Active users (a session created in the period) per UTC day, ISO week or month
        overlapping [after, before), ascending."""
        start = datetime.fromtimestamp(after / MICRO, UTC).date()
        if period == "week":
            start -= timedelta(days=start.weekday())
        elif period == "month":
            start = start.replace(day=1)
        periods = []
        while (
            begin := to_micros(datetime(start.year, start.month, start.day, tzinfo=UTC))
        ) < before:
            step = {"day": start + timedelta(days=1), "week": start + timedelta(days=7)}
            following = step.get(period) or _add_month(start.replace(day=1))
            end = to_micros(datetime(following.year, following.month, following.day, tzinfo=UTC))
            users = {s.user_id for s in self._made(begin, end) if s.user_id}
            periods.append({"active_users": len(users), "start_time": begin // MICRO,
                            "end_time": end // MICRO - 1})  # fmt: skip
            start = following
        return periods


# -- the wire ----------------------------------------------------------------------------------


def part_of(rest: str) -> str | None:
    """consumption or metrics for a path this module serves, else None."""
    head = rest.split("/", 1)[0]
    return head if head in ("consumption", "metrics") else None


def _moment(value: str | None) -> int | None:
    """v2 bounds: an ISO date-time (a bare date is UTC midnight), in epoch microseconds."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return to_micros(moment)


def _epoch(value: str | None) -> int | None:
    return None if value in (None, "") else int(value) * MICRO


def answer(version: str, rest: str, request: Request, billing: Billing) -> Answer:
    with billing._lock:
        billing.requests.append((f"/{version}/enterprise/{rest}", dict(request.query)))
    try:
        if version == "v3":
            after = _epoch(request.last("time_after"))
            before = _epoch(request.last("time_before"))
        else:
            after = _moment(request.last("start") or request.last("start_date"))
            before = _moment(request.last("end") or request.last("end_date"))
    except ValueError:
        return Answer(422, {"detail": [{"loc": ["query"], "msg": "Invalid bound",
                                        "type": "value_error"}]})  # fmt: skip
    cycles = billing.cycles()
    if after is None:
        after = day_start(cycles[-1][0])
    if before is None:
        before = to_micros(billing.devin.now)
    if rest == "consumption/cycles":
        return Answer(200, _cycles(version, cycles))
    if rest.startswith("consumption/daily"):
        return _daily(version, rest, request, billing, after, before)
    return _metrics(version, rest, billing, after, before)


def _cycles(version: str, cycles: list[tuple[date, date]]) -> Any:
    if version == "v2":
        return [{"start": _iso(day_start(s)), "end": _iso(day_start(e))} for s, e in cycles]
    items = [{"after": day_start(s) // MICRO, "before": day_start(e) // MICRO} for s, e in cycles]
    return {"items": items, "end_cursor": None, "has_next_page": False, "total": len(items)}


def _iso(micros: int) -> str:
    return datetime.fromtimestamp(micros / MICRO, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _daily(version: str, rest: str, request: Request, billing: Billing, after: int, before: int
           ) -> Answer:  # fmt: skip
    tail = rest.removeprefix("consumption/daily").strip("/").split("/")
    ledger = billing.ledger()
    org_ids = request.query.get("org_ids") or request.query.get("org_ids[]") or []
    if version == "v2":
        scope, scope_id = ("user", unquote(tail[0])) if tail[0] else ("enterprise", None)
    elif tail == [""]:
        scope, scope_id = "enterprise", None
    elif len(tail) == 2 and tail[0] in ("organizations", "users"):
        scope = "organization" if tail[0] == "organizations" else "user"
        scope_id = unquote(tail[1])
    else:
        return Answer(404, {"detail": "Not Found"})
    if scope == "enterprise" and org_ids:
        days: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for org in org_ids:
            for day, value in billing.days("organization", org).items():
                days[day][0] += value[0]
    else:
        days = billing.days(scope, scope_id)
    picked = {d: v for d, v in sorted(days.items()) if after <= day_start(d) < before}
    total = sum(sum(v) for v in picked.values())
    if version == "v3":
        return Answer(200, {"total_acus": _acus(total), "consumption_by_date": [
            {"date": day_start(d) // MICRO, "acus": _acus(sum(v)),
             "acus_by_product": _products(v)} for d, v in picked.items()
        ]})  # fmt: skip
    body: dict[str, Any] = {
        "total_acus": _acus(total),
        "consumption_by_date": {d.isoformat(): _acus(sum(v)) for d, v in picked.items()},
    }
    window = {d for d in picked}
    by_org: dict[str, int] = defaultdict(int)
    if scope == "user":
        for (user, day, org), micro in ledger.user_orgs.items():
            if user == scope_id and day in window:
                by_org[org] += micro
    else:
        for (org, day), micro in ledger.orgs.items():
            if day in window and (not org_ids or org in org_ids):
                by_org[org] += micro
    body["consumption_by_org_id"] = {o: _acus(m) for o, m in sorted(by_org.items())}
    if scope == "enterprise" and not org_ids:
        by_user: dict[str, int] = defaultdict(int)
        for (user, day), value in ledger.users.items():
            if day in window:
                by_user[user] += sum(value)
        body["consumption_by_user"] = {u: _acus(m) for u, m in sorted(by_user.items()) if m}
    return Answer(200, body)


def _products(value: list[int]) -> dict[str, float]:
    products = {name: _acus(micro) for name, micro in zip(PRODUCTS, value, strict=True)}
    if not value[3]:
        del products["review"]  # optional and newer: absent where there was none
    return products


def _metrics(version: str, rest: str, billing: Billing, after: int, before: int) -> Answer:
    name = rest.removeprefix("metrics/")
    if version == "v3" and name in ("dau", "wau", "mau"):
        period = {"dau": "day", "wau": "week", "mau": "month"}[name]
        return Answer(200, billing.active(period, after, before))
    counts = billing.usage(after, before)
    if version == "v2" and name == "usage":
        return Answer(200, {"prs_opened": counts["prs_created"],
                            "prs_closed": counts["prs_closed"],
                            "prs_merged": counts["prs_merged"],
                            "sessions_count": counts["sessions"],
                            "searches_count": counts["searches"]})  # fmt: skip
    if version == "v3" and name == "usage":
        return Answer(200, {"sessions_count": counts["sessions"],
                            "searches_count": counts["searches"],
                            "prs_created_count": counts["prs_created"],
                            "prs_merged_count": counts["prs_merged"]})  # fmt: skip
    if version == "v3" and name == "prs":
        return Answer(200, {"prs_created_count": counts["prs_created"],
                            "prs_opened_count": counts["prs_open"],
                            "prs_merged_count": counts["prs_merged"],
                            "prs_closed_count": counts["prs_closed"]})  # fmt: skip
    return Answer(404, {"detail": "Not Found"})
