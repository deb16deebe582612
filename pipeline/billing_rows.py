"""Flatten: the answers of the consumption and metrics parts into rows of SPEC section 10.

A pure function of the pages (data, received_at, the query asked), so a live run and its
rebuild from the raw files write the same rows. ACUs are exact decimals (the bodies are parsed
with decimal numbers) rounded to DECIMAL(18,6). Only complete days are kept: a billing day
that ended (the next 08:00 UTC) before the answer was received, a UTC day before its midnight.
Each daily-consumption answer also gives the window it covers, for its scope: the load
replaces what is stored of that scope in the window, so a day the API revised or no longer
returns is right the next morning, and a day not returned is absent, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.billing_extract import ACTIVE, CYCLES, DAILY, billing_start, cycle_bounds
from pipeline.enterprise_extract import LandedPage
from pipeline.schema import ACTIVE_USERS, CONSUMPTION_CYCLES, CONSUMPTION_DAILY, USAGE_DAILY, Table

PART_TABLES: dict[str, tuple[Table, ...]] = {
    "consumption": (CONSUMPTION_CYCLES, CONSUMPTION_DAILY),
    "metrics": (USAGE_DAILY, ACTIVE_USERS),
}
PRODUCTS = ("devin", "cascade", "terminal", "review")
SCOPES = {DAILY: "enterprise", f"{DAILY}/organizations": "organization",
          f"{DAILY}/users": "user"}  # fmt: skip
QUANTUM = Decimal("0.000001")
LIMIT = Decimal("1e12")  # DECIMAL(18,6) holds 12 digits before the point


@dataclass
class BuiltBilling:
    rows: dict[str, list[tuple[Any, ...]]]
    # consumption: (scope, scope_id, first billing date, end exclusive) each answer covered
    windows: list[tuple[str, str, date, date]] = field(default_factory=list)
    # v2: the enterprise's answer names everyone who consumed anything in its window
    # (consumption_by_user): (first, end, those named); anyone else billed nothing there
    named: list[tuple[date, date, list[str]]] = field(default_factory=list)
    days: list[date] = field(default_factory=list)  # metrics: the UTC days asked for
    invalid: list[str] = field(default_factory=list)  # what was wrong, by answer


def acus(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value).quantize(QUANTUM)
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite() or abs(number) >= LIMIT:
        raise ValueError(f"out of range: {value!r}")
    return number


def _when(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment


def build(version: str, part: str, pages: list[LandedPage], run_id: str) -> BuiltBilling:
    built = BuiltBilling({t.name: [] for t in PART_TABLES[part]})
    if part == "consumption":
        _consumption(version, pages, run_id, built)
    else:
        _metrics(version, pages, built)
    return built


def _consumption(version: str, pages: list[LandedPage], run_id: str, built: BuiltBilling) -> None:
    cycles = cycle_bounds(version, pages)
    if isinstance(cycles, str):
        built.invalid.append(f"{CYCLES}: {cycles}")
        cycles = []
    for start, end in cycles:
        built.rows[CONSUMPTION_CYCLES.name].append(
            CONSUMPTION_CYCLES.row(cycle_start=start, cycle_end=end, api_version=version)
        )
    for page in pages:
        scope = SCOPES.get(page.listing)
        if scope is None:
            continue
        try:
            window, rows = _daily(version, scope, page, run_id)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
            built.invalid.append(f"{page.listing} {page.scope_id or ''}: {err}".replace(" :", ":"))
            continue
        built.windows.append(window)
        built.rows[CONSUMPTION_DAILY.name] += rows
        by_user = page.data.get("consumption_by_user") if version == "v2" else None
        if scope == "enterprise" and isinstance(by_user, dict):
            built.named.append((window[2], window[3], sorted(by_user)))


def _window_day(value: Any) -> date:
    """A query bound (v2 ISO on 08:00 UTC, v3 epoch seconds) as the billing date it opens."""
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        moment = datetime.fromtimestamp(int(value), UTC)
    return (moment - timedelta(hours=8)).date()


def _daily(version: str, scope: str, page: LandedPage, run_id: str
           ) -> tuple[tuple[str, str, date, date], list[tuple[Any, ...]]]:  # fmt: skip
    params = page.params or {}
    names = ("time_after", "time_before") if version == "v3" else ("start", "end")
    first, end = (_window_day(params[name]) for name in names)
    scope_id = page.scope_id or ""
    received = _when(page.received_at)
    by_date = page.data["consumption_by_date"]
    amounts: list[tuple[date, str, Decimal]] = []
    if version == "v2":
        if not isinstance(by_date, dict):
            raise TypeError("consumption_by_date is not an object")
        for key, value in by_date.items():
            amounts.append((date.fromisoformat(key), "all", acus(value)))
    else:
        if not isinstance(by_date, list):
            raise TypeError("consumption_by_date is not a list")
        for item in by_date:
            stamp = item["date"]
            if isinstance(stamp, bool) or not isinstance(stamp, int):
                raise TypeError(f"date is not epoch seconds: {stamp!r}")
            # the UTC date of the day's start, whether the API means 00:00 or 08:00 UTC
            day = datetime.fromtimestamp(stamp, UTC).date()
            amounts.append((day, "all", acus(item["acus"])))
            products = item.get("acus_by_product") or {}
            for product in PRODUCTS:
                if products.get(product) is not None:  # review may be absent or null
                    amounts.append((day, product, acus(products[product])))
    rows = [
        CONSUMPTION_DAILY.row(
            billing_date=day,
            scope=scope,
            scope_id=scope_id,
            product=product,
            acus=value,
            _run_id=run_id,
            _extracted_at=received,
        )  # fmt: skip
        for day, product, value in amounts
        if first <= day < end and billing_start(day + timedelta(days=1)) <= received
    ]
    return (scope, scope_id, first, end), rows


def _count(data: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _metrics(version: str, pages: list[LandedPage], built: BuiltBilling) -> None:
    usage: dict[date, dict[str, int | None]] = {}
    for page in pages:
        name = page.listing.removeprefix("metrics/")
        data = page.data
        received = _when(page.received_at)
        if name in ACTIVE:
            if not isinstance(data, list):
                built.invalid.append(f"{page.listing}: not a list")
                continue
            for item in data:
                try:
                    start = datetime.fromtimestamp(item["start_time"], UTC)
                    end = datetime.fromtimestamp(item["end_time"], UTC)
                except (KeyError, TypeError, ValueError, OverflowError, OSError) as err:
                    built.invalid.append(f"{page.listing}: {err!r}")
                    continue
                built.rows[ACTIVE_USERS.name].append(ACTIVE_USERS.row(
                    period=ACTIVE[name], start_time=start, end_time=end,
                    active_users=_count(item, "active_users"),
                ))  # fmt: skip
            continue
        if page.scope_id is None or not isinstance(data, dict):
            built.invalid.append(f"{page.listing}: not an object")
            continue
        day = date.fromisoformat(page.scope_id)
        if datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) > received:
            continue  # the day was not over when the API answered
        built.days.append(day)
        counts = usage.setdefault(day, {})
        if name == "usage":
            counts["sessions_count"] = _count(data, "sessions_count")
            counts["searches_count"] = _count(data, "searches_count")
            counts["prs_created_count"] = _count(data, "prs_created_count", "prs_opened")
            counts["prs_merged_count"] = _count(data, "prs_merged_count", "prs_merged")
            if version == "v2":
                counts["prs_closed_count"] = _count(data, "prs_closed")
        elif name == "prs":
            counts["prs_closed_count"] = _count(data, "prs_closed_count")
            for key in ("prs_created_count", "prs_merged_count"):
                if counts.get(key) is None:
                    counts[key] = _count(data, key)
    columns = [c for c in USAGE_DAILY.column_names if c != "metric_date"]
    for day in sorted(usage):
        counts = usage[day]
        built.rows[USAGE_DAILY.name].append(
            USAGE_DAILY.row(metric_date=day, **{c: counts.get(c) for c in columns})
        )
    built.days = sorted(set(built.days))
