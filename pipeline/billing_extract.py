"""Extract: the bill (consumption) and Devin's usage metrics (metrics), by window.

consumption: the billing cycles (one request), then the daily consumption of the window for
the enterprise (one request), each organization (one each) and each person (one each), on
08:00 UTC bounds (the Devin dashboard's billing day) and up to the start of the billing day in
progress (only complete days). The window is every listed cycle on the first run, then the
current (newest listed) and the previous cycle. v2 names the people who consumed anything in
the window (consumption_by_user): only they are asked; v3 does not: everyone known is.

metrics: Devin's usage counts per UTC day (v2 usage; v3 usage and prs: one request a day each)
and, in v3, active users per day, week and month (three requests). Days: those of the cycles
above; without the cycles (no permission) the days since the oldest stored session on the
first run, the last 62 days afterwards; up to the start of today (UTC).

Requests go out concurrently on the part's client (the run's rate limit, shared out between
the parts). A 403 ends the part as permission_denied; a 401 stops the run; a person or an
organization the API does not know (404) has nothing to bill; any other failure leaves the
part's stored rows as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pipeline.client import DevinClient
from pipeline.consume import error_message
from pipeline.enterprise_extract import LandedPage, PartError, PartFetch, _Failed
from pipeline.errors import AuthError
from pipeline.responses import Response

BILLING_PARTS = ("consumption", "metrics")
DAY_START = time(8, tzinfo=UTC)  # the billing day starts at midnight PST
FALLBACK_DAYS = 62  # metrics without the cycles, after the first run
CYCLES = "consumption/cycles"
DAILY = "consumption/daily"
ACTIVE = {"dau": "day", "wau": "week", "mau": "month"}


@dataclass(frozen=True)
class Known:
    """What the warehouse already holds that decides what to ask for."""

    users: tuple[str, ...]  # people the warehouse knows (users table and sessions)
    orgs: tuple[str, ...]
    first_consumption: bool  # no billing cycle stored yet: every cycle
    first_metrics: bool  # no usage day stored yet
    oldest_session: datetime | None


def decimal_json(body: bytes) -> Any:
    """The body with its numbers as exact decimals (ACUs), integers as integers."""
    return json.loads(body, parse_float=Decimal)


def billing_start(day: date) -> datetime:
    return datetime.combine(day, DAY_START)


def current_billing_day(now: datetime) -> date:
    return (now - timedelta(hours=8)).date()


def _stamp(moment: datetime, version: str) -> str | int:
    if version == "v3":
        return int(moment.timestamp())
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bounds(version: str, start: datetime, end: datetime) -> dict[str, Any]:
    if version == "v3":
        return {"time_after": _stamp(start, version), "time_before": _stamp(end, version)}
    return {"start": _stamp(start, version), "end": _stamp(end, version)}


class _Asker:
    """One part's requests: each answer landed as a page, in the order asked."""

    def __init__(self, client: DevinClient, version: str) -> None:
        self.client = client
        self.version = version
        self.prefix = f"/{version}/enterprise/"

    def one(self, listing: str, path: str, params: dict[str, Any], scope_id: str | None = None,
            missing_ok: bool = False) -> LandedPage | None:  # fmt: skip
        resp = self.client.page(self.prefix + path, params, listing)
        return self._landed(resp, listing, scope_id, params, missing_ok)

    def many(self, asks: list[tuple[str, str, dict[str, Any], str | None]]) -> list[LandedPage]:
        """Ask concurrently; a 404 (a person or org the API does not know) brings no page."""

        def fetch(n: int) -> Response:
            listing, path, params, _ = asks[n]
            return self.client.page(self.prefix + path, params, str(n))

        landed: dict[int, LandedPage] = {}
        for resp in self.client.parallel(fetch, range(len(asks))):
            n = int(resp.key)
            listing, _, params, scope_id = asks[n]
            page = self._landed(resp, listing, scope_id, params, missing_ok=True)
            if page is not None:
                landed[n] = page
        return [landed[n] for n in sorted(landed)]

    def _landed(self, resp: Response, listing: str, scope_id: str | None,
                params: dict[str, Any], missing_ok: bool) -> LandedPage | None:  # fmt: skip
        if resp.error is not None:
            if missing_ok and resp.error.status == 404:
                return None
            message = f"{listing}: {error_message(resp.error)}"
            raise _Failed(PartError(resp.error.kind, message, resp.error.status))
        try:
            data = decimal_json(resp.body)
        except ValueError as err:
            raise _Failed(PartError("invalid_response", f"{listing}: {err}")) from None
        received = resp.received_at or datetime.now(UTC)
        return LandedPage(listing, received, resp.body, data, scope_id=scope_id,
                          params={k: v for k, v in params.items()})  # fmt: skip


def fetch_billing(
    client: DevinClient, part: str, version: str, known: Known,
    cycles: list[tuple[datetime, datetime]] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[PartFetch, list[tuple[datetime, datetime]] | None]:  # fmt: skip
    """Fetch one part; return it and the cycles it read (or was given), None if unreadable."""
    fetch = PartFetch(part, version, datetime.now(UTC))
    asker = _Asker(client, version)
    try:
        if part == "consumption":
            cycles = _consumption(asker, fetch, known, now())
        else:
            cycles = _metrics(asker, fetch, known, cycles, now())
    except _Failed as failed:
        fetch.error = failed.error
    except AuthError as err:
        if err.status != 403:
            raise
        fetch.error = PartError("permission_denied", f"HTTP 403 from {err.url}", 403)
    fetch.listed_at = datetime.now(UTC)
    return fetch, cycles


def _cycles(asker: _Asker, fetch: PartFetch) -> list[tuple[datetime, datetime]]:
    """Every billing cycle listed (v2 a bare array, v3 cursor pages), oldest first."""
    after: str | None = None
    while True:
        params: dict[str, Any] = {} if asker.version == "v2" else {"first": 200}
        if after:
            params["after"] = after
        page = asker.one(CYCLES, CYCLES, params)
        assert page is not None
        fetch.pages.append(page)
        data = page.data
        if asker.version == "v2" or not isinstance(data, dict) or not data.get("has_next_page"):
            break
        after = data.get("end_cursor")
        if not isinstance(after, str) or not after:
            break
    bounds = cycle_bounds(fetch.version, fetch.pages)
    if isinstance(bounds, str):
        raise _Failed(PartError("invalid_response", f"{CYCLES}: {bounds}"))
    return bounds


def _window_start(cycles: list[tuple[datetime, datetime]], first: bool) -> datetime:
    """Every cycle the first time; then the current (newest listed) and the previous one."""
    return cycles[0][0] if first else cycles[max(0, len(cycles) - 2)][0]


def _consumption(asker: _Asker, fetch: PartFetch, known: Known, now: datetime
                 ) -> list[tuple[datetime, datetime]]:  # fmt: skip
    cycles = _cycles(asker, fetch)
    if not cycles:
        return cycles
    start = _window_start(cycles, known.first_consumption)
    end = min(cycles[-1][1], billing_start(current_billing_day(now)))
    if end <= start:
        return cycles
    window = _bounds(asker.version, start, end)
    whole = asker.one(DAILY, DAILY, window, "")
    assert whole is not None
    fetch.pages.append(whole)
    users = list(known.users)
    if asker.version == "v2":  # v2 says who consumed anything in the window: only they
        named = whole.data.get("consumption_by_user") if isinstance(whole.data, dict) else None
        users = sorted(named) if isinstance(named, dict) else users
    asks: list[tuple[str, str, dict[str, Any], str | None]] = []
    for org in known.orgs:
        if asker.version == "v2":
            asks.append((f"{DAILY}/organizations", DAILY, {**window, "org_ids": org}, org))
        else:
            path = f"{DAILY}/organizations/{quote(org, safe='')}"
            asks.append((f"{DAILY}/organizations", path, window, org))
    for user in users:
        path = f"{DAILY}/{quote(user, safe='')}" if asker.version == "v2" else (
            f"{DAILY}/users/{quote(user, safe='')}")  # fmt: skip
        asks.append((f"{DAILY}/users", path, window, user))
    fetch.pages += asker.many(asks)
    return cycles


def _metrics(asker: _Asker, fetch: PartFetch, known: Known,
             cycles: list[tuple[datetime, datetime]] | None, now: datetime,
             ) -> list[tuple[datetime, datetime]] | None:  # fmt: skip
    if cycles is None:
        probe = PartFetch("consumption", asker.version, now)
        try:
            cycles = _cycles(asker, probe)
        except (_Failed, AuthError) as err:
            if isinstance(err, AuthError) and err.status != 403:
                raise
            cycles = None
            asker.client.stopping.clear()  # the 403 stopped the client; metrics go on
    today = now.date()
    if cycles:
        first = _window_start(cycles, known.first_metrics).date()
    elif known.first_metrics and known.oldest_session is not None:
        first = known.oldest_session.astimezone(UTC).date()
    else:
        first = today - timedelta(days=FALLBACK_DAYS)
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    endpoints = ("usage",) if asker.version == "v2" else ("usage", "prs")
    asks: list[tuple[str, str, dict[str, Any], str | None]] = []
    for day in days:
        start = datetime.combine(day, time(0, tzinfo=UTC))
        for name in endpoints:
            bounds = _bounds(asker.version, start, start + timedelta(days=1))
            asks.append((f"metrics/{name}", f"metrics/{name}", bounds, day.isoformat()))
    if asker.version == "v3" and days:
        start = datetime.combine(days[0], time(0, tzinfo=UTC))
        bounds = _bounds("v3", start, datetime.combine(today, time(0, tzinfo=UTC)))
        asks += [(f"metrics/{name}", f"metrics/{name}", bounds, None) for name in ACTIVE]
    fetch.pages += asker.many(asks)
    return cycles


def cycle_bounds(version: str, pages: list[LandedPage]) -> list[tuple[datetime, datetime]] | str:
    """The (start, end) of every cycle the pages list, oldest first; or what is wrong."""
    found = []
    for page in pages:
        if page.listing != CYCLES:
            continue
        items = page.data if version == "v2" else (
            page.data.get("items") if isinstance(page.data, dict) else None)  # fmt: skip
        if not isinstance(items, list):
            return "not a list of cycles"
        for n, item in enumerate(items):
            names = ("start", "end") if version == "v2" else ("after", "before")
            try:
                found.append(tuple(_moment(item[name], version) for name in names))
            except (KeyError, TypeError, ValueError, OverflowError, OSError):
                return f"cycle {n}: {names[0]}/{names[1]} missing or not a time"
    return sorted(set(found))  # type: ignore[arg-type]


def _moment(value: Any, version: str) -> datetime:
    """v2 an ISO 8601 date-time, v3 epoch seconds; in UTC."""
    if version == "v3":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(value)
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise TypeError(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
