"""The report's billing section: what it cost (SPEC 9 and 10), its queries and its HTML.

    this cycle against the last   v_billing_cycles: billed so far, the forecast to the cycle's
                                  end, the previous cycle at the same day, and its total
    billed ACUs per day           v_consumption_daily, by product, over the current and the
                                  previous cycle (at most DAILY_DAYS days)
    forecast against the limit    the organizations with a max_cycle_acu_limit, their Devin
                                  ACUs so far and forecast (top TOP_ORGS, the rest as one row)
    top people by billed ACUs     this cycle, with their names (the id where none), top TOP_N
    active users                  v_active_users: daily over DAILY_DAYS, the last weeks, months

Every query reads the small tables of the bill (a row a day and person at most) or the views
over them, never every session: the people ranking reads consumption_daily and users rather
than v_people (whose session totals scan the sessions); its figures are v_people's
billed_acus_current_cycle. Kept apart from queries.py and html.py so the section is one module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb

from pipeline.report.charts import Rest, esc, hbars, legend, stacked_columns
from pipeline.report.format import acus, attr_number, count, empty, name, others, table
from pipeline.report.queries import DAILY_DAYS, TOP_N, Top, fetch_dicts, top

PRODUCTS = ("devin", "cascade", "terminal", "review")
PRODUCT_COLORS = {"devin": "#4e79a7", "cascade": "#f28e2b", "terminal": "#59a14f",
                  "review": "#b07aa1", "all products": "#4e79a7"}  # fmt: skip
TOP_ORGS = 20
WEEKS = 12
MONTHS = 6


@dataclass
class BillingData:
    cycles: list[dict[str, Any]] = field(default_factory=list)  # newest first, at most 2
    days: list[date] = field(default_factory=list)
    by_product: dict[str, list[float]] = field(default_factory=dict)
    limits: Top = field(default_factory=Top)
    people: Top = field(default_factory=Top)
    daily_active: dict[date, int] = field(default_factory=dict)
    weeks: list[dict[str, Any]] = field(default_factory=list)
    months: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cycles or self.daily_active or self.weeks)


def gather_billing(con: duckdb.DuckDBPyConnection) -> BillingData:
    """The section's data; empty for a warehouse an older release made (no such views yet:
    the next export creates them)."""
    data = BillingData()
    try:
        data.cycles = fetch_dicts(
            con, "select * from v_billing_cycles order by cycle_start desc limit 2"
        )
    except duckdb.CatalogException:
        return data
    if data.cycles:
        _daily(con, data)
        current = data.cycles[0]
        data.limits = top(
            con,
            """
            select
                organizations.org_id,
                organizations.name,
                organizations.max_cycle_acu_limit as cycle_limit,
                coalesce(sum(consumption_daily.acus), 0) as billed,
                coalesce(sum(consumption_daily.acus), 0) * ? / greatest(?, 1) as forecast
            from organizations
            left join consumption_daily
                on consumption_daily.scope = 'organization'
                and consumption_daily.scope_id = organizations.org_id
                and consumption_daily.product = 'all'
                and consumption_daily.billing_date >= ? and consumption_daily.billing_date < ?
            where organizations.max_cycle_acu_limit is not null
                and organizations.removed_at is null
            group by all
            """,
            "forecast / cycle_limit desc, org_id",
            TOP_ORGS,
            ("cycle_limit", "billed", "forecast"),
            [
                current["days_in_cycle"],
                current["days_elapsed"],
                current["start_date"],
                current["end_date"],
            ],  # fmt: skip
        )
        data.people = top(
            con,
            """
            select
                consumption_daily.scope_id as user_id,
                any_value(users.name) as name,
                sum(consumption_daily.acus) as billed
            from consumption_daily
            left join users on users.user_id = consumption_daily.scope_id
            where consumption_daily.scope = 'user' and consumption_daily.product = 'all'
                and consumption_daily.billing_date >= ? and consumption_daily.billing_date < ?
            group by consumption_daily.scope_id
            """,
            "billed desc, user_id",
            TOP_N,
            ("billed",),
            [current["start_date"], current["end_date"]],
        )
    _active(con, data)
    return data


def _daily(con: duckdb.DuckDBPyConnection, data: BillingData) -> None:
    first = data.cycles[-1]["start_date"]
    rows = fetch_dicts(
        con,
        "select billing_date, billed_acus, devin_acus, cascade_acus, terminal_acus, review_acus "
        "from v_consumption_daily where billing_date >= ? and billed_acus is not null "
        "order by billing_date desc limit ?",
        [first, DAILY_DAYS],
    )
    if not rows:
        return
    last, first = rows[0]["billing_date"], rows[-1]["billing_date"]
    data.days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    index = {day: n for n, day in enumerate(data.days)}
    split = any(r["devin_acus"] is not None for r in rows)  # v3 names the products, v2 not
    names = [p for p in PRODUCTS if any(r[f"{p}_acus"] for r in rows)] if split else []
    series = {p: [0.0] * len(data.days) for p in names or ["all products"]}
    for r in rows:
        if not names:
            series["all products"][index[r["billing_date"]]] = float(r["billed_acus"])
        for p in names:
            series[p][index[r["billing_date"]]] = float(r[f"{p}_acus"] or 0)
    data.by_product = series


def _active(con: duckdb.DuckDBPyConnection, data: BillingData) -> None:
    days = fetch_dicts(
        con,
        "select period_start_date, active_users from v_active_users where period = 'day' "
        "order by start_time desc limit ?",
        [DAILY_DAYS],
    )
    data.daily_active = {r["period_start_date"]: r["active_users"] for r in reversed(days)}
    data.weeks = fetch_dicts(
        con,
        "select period_start_date, active_users from v_active_users where period = 'week' "
        "order by start_time desc limit ?",
        [WEEKS],
    )
    data.months = fetch_dicts(
        con,
        "select period_start_date, active_users from v_active_users where period = 'month' "
        "order by start_time desc limit ?",
        [MONTHS],
    )


# -- HTML --------------------------------------------------------------------------------------


def _card(key: str, label: str, value: Any, text: str, note: str = "") -> str:
    return (
        f'<div class="figure" data-billing="{key}" data-value="{attr_number(value)}">'
        f'<div class="name">{esc(label)}</div><div class="value">{esc(text)}</div>'
        f'<div class="change muted">{esc(note)}</div></div>'
    )


def _cycle(data: BillingData) -> str:
    cur = data.cycles[0]
    prev = data.cycles[1] if len(data.cycles) > 1 else None
    same = cur["previous_cycle_acus_same_day"]
    change = ""
    if same and cur["billed_acus"] is not None:
        change = f"{(float(cur['billed_acus']) / float(same) - 1) * 100:+.0f}% vs last cycle"
    cards = [
        _card("billed", "Billed this cycle so far", cur["billed_acus"], acus(cur["billed_acus"]),
              f"{cur['days_elapsed']} of {cur['days_in_cycle']} days"),
        _card("forecast", "Forecast to the cycle's end", cur["forecast_acus"],
              acus(cur["forecast_acus"]), "at the pace so far"),
        _card("previous_same_day", "Last cycle at the same day", same, acus(same), change),
        _card("previous_total", "Last cycle in all", prev and prev["billed_acus"],
              acus(prev and prev["billed_acus"]), ""),
    ]  # fmt: skip
    end = cur["end_date"] - timedelta(days=1)
    return (
        f"<h2>This billing cycle: {cur['start_date']:%Y-%m-%d} to {end:%Y-%m-%d}</h2>"
        f'<div class="figures">{"".join(cards)}</div>'
    )


def _chart(data: BillingData) -> str:
    if not data.days:
        return empty("No billed day yet.")
    colors = {p: PRODUCT_COLORS[p] for p in data.by_product}
    span = f"{data.days[0]:%Y-%m-%d} to {data.days[-1]:%Y-%m-%d}"
    chart = stacked_columns(data.days, data.by_product, colors,
                            label=f"Billed ACUs per billing day by product, {span}",
                            unit="ACUs", fmt=acus)  # fmt: skip
    return (
        f"<figure><h2>Billed ACUs per day, by product</h2>{chart}{legend(colors)}"
        f"<figcaption>This cycle and the last, {span}: billing days start at 08:00 UTC "
        "(midnight PST); from v_consumption_daily.</figcaption></figure>"
    )


def _limits(data: BillingData) -> str:
    top_ = data.limits
    if not top_:
        return (
            "<div><h2>Forecast against the limit</h2>"
            + empty("No organization has a cycle limit (max_cycle_acu_limit).")
            + "</div>"
        )

    def cells(r: dict[str, Any], who: str) -> list[str]:
        return [esc(who), count(r["cycle_limit"]), acus(r["billed"]), acus(r["forecast"])]

    rest = top_.other
    body = table(
        [("organization", False), ("cycle limit", True), ("billed so far", True),
         ("forecast", True)],
        [cells(r, name(r["name"] or r["org_id"])) for r in top_.rows],
        classes="limits",
        rest=cells(rest, others(rest["members"], "organizations")) if rest else None,
    )  # fmt: skip
    return (
        f'<div><h2>Forecast against the limit</h2>{body}<p class="note">Each organization\'s '
        "Devin ACUs this cycle, on a straight line to its end, against its max_cycle_acu_limit "
        "(organizations; from consumption_daily).</p></div>"
    )


def _people(data: BillingData) -> str:
    top_ = data.people
    if not top_:
        return "<div><h2>Top people by billed ACUs</h2>" + empty("No one billed yet.") + "</div>"
    rest = top_.other
    chart = hbars(
        [(name(r["name"] or r["user_id"]), {"ACUs": float(r["billed"] or 0)}) for r in top_.rows],
        {"ACUs": "#4e79a7"},
        label="Top people by billed ACUs this cycle",
        unit="ACUs",
        fmt=acus,
        rest=Rest(others(rest["members"], "people"), float(rest["billed"] or 0)) if rest else None,
    )
    return (
        f'<div><h2>Top people by billed ACUs</h2><figure>{chart}</figure><p class="note">This '
        "cycle, every product (v_people.billed_acus_current_cycle); the id where the person has "
        "no name.</p></div>"
    )


def _active_html(data: BillingData) -> str:
    if not (data.daily_active or data.weeks):
        return ""
    parts = ['<section id="active-users"><h2>Active users</h2>']
    if data.daily_active:
        days = list(data.daily_active)
        series = {"active users": [float(v) for v in data.daily_active.values()]}
        colors = {"active users": "#4e79a7"}
        parts.append(
            "<figure>"
            + stacked_columns(
                days, series, colors, label="Daily active users", unit="users", fmt=count
            )  # fmt: skip
            + "<figcaption>Daily active users (UTC days), from v_active_users.</figcaption>"
            "</figure>"
        )
    rows = [[f"week of {r['period_start_date']:%Y-%m-%d}", count(r["active_users"])]
            for r in data.weeks] + [[f"{r['period_start_date']:%B %Y}", count(r["active_users"])]
                                    for r in data.months]  # fmt: skip
    if rows:
        parts.append(table([("period", False), ("active users", True)], rows, classes="active"))
    parts.append("</section>")
    return "".join(parts)


def billing_section(data: BillingData | None) -> str:
    """The section, or nothing when neither the bill nor the metrics were exported."""
    if not data:
        return ""
    html = ['<section id="billing">']
    if data.cycles:
        html.append(_cycle(data) + _chart(data))
        html.append(f'<div class="grid2">{_limits(data)}{_people(data)}</div>')
    html.append("</section>")
    return "".join(html) + _active_html(data)
