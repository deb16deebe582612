"""Every query of the report, and nothing else: the only module that knows table, view and
column names.

Figures come from the small aggregate tables every run keeps (sql/aggregates: agg_daily,
agg_session_values, agg_issue_labels, agg_action_types, agg_spellings) and the analyst views
over them (v_repo_outcomes, v_user_usage), so the report says what an analyst querying the
warehouse would find and reads no session's rows: its time does not grow with the warehouse.
Free text (issue labels and impacts, action item types) is ranked by its text_key group (as
v_issue_labels and v_action_items group it) and only the groups shown are named, each by its
most common spelling, as those views name them: naming every group costs as much as the groups.
Data health reads the run log (export_runs, export_errors, quality_checks) directly: those are
records of runs, not figures.

Rows are read by column name (fetch_dicts), so a view that gains a column or changes its order
does not move anything here; a renamed column is one edit in this file.

Nothing here grows with the data: every ranking returns its first rows and the rest summed as
one "other" row (top()), in SQL, so the report reads a few dozen rows whatever the warehouse
holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from pipeline.report.names import Names

# Numbers as DuckDB returns them: counts are int, sums of ACUs Decimal (exact) or float.
Number = int | float | Decimal
Params = list[Any] | dict[str, Any] | None

PERIOD_DAYS = 30  # the headline period, compared with the one before it
DAILY_DAYS = 90  # the daily charts
# How many categories each chart or table names; the rest are summed as one "other" row.
TOP_N = 10  # repositories, users, label and impact pairs
TOP_LABELS = 15  # the issue label chart
TOP_IMPACTS = 4  # impacts stacked in its bars (high, medium, low, ...)
TOP_TYPES = 15  # action item types
TOP_VALUES = 12  # each v3 breakdown
TOP_ORGS = 6  # orgs named in the daily ACU chart
TOP_STATUSES = 8  # statuses named in the daily sessions chart
TOP_CHECKS = 20  # quality checks listed
TOP_KINDS = 5  # error kinds named for one run
RECENT_RUNS = 10
# v_issue_labels with each group's key in place of its name (label, impact): label_chart and
# issue_pairs rank the groups, then name the ones they show
ISSUE_LABELS = """(
    select
        label_key as label,
        impact_key as impact,
        issues,
        sessions_affected,
        case when acus_known > 0 then acus_in_sessions end as acus_in_sessions
    from agg_issue_labels
)"""
OTHER_ORGS = "other orgs"
OTHER_STATUSES = "other statuses"
# Known statuses first, in the order a session goes through them; any other value follows.
STATUS_ORDER = ("exit", "error", "running", "suspended", "resuming", "claimed", "new", "creating")
SIZE_ORDER = ("xs", "s", "m", "l", "xl")


@dataclass(frozen=True)
class Period:
    """An inclusive range of UTC days."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Headline:
    """The headline figures of one period."""

    sessions: int
    acus: Number
    prs_opened: int
    prs_merged: int
    prs_closed: int  # closed without merging

    @property
    def merge_rate(self) -> float | None:
        """Merged / (merged + closed): an open PR has not failed yet (SPEC section 5)."""
        resolved = self.prs_merged + self.prs_closed
        return self.prs_merged / resolved if resolved else None

    @property
    def acus_per_merged_pr(self) -> float | None:
        return float(self.acus) / self.prs_merged if self.prs_merged else None


@dataclass(frozen=True)
class Top:
    """The first rows of a ranking, and the rest summed as one row."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    # The rest: "members" (how many rows) and the figures that add up, summed (top()); None
    # when nothing is left over (one row more than the top is shown instead).
    other: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.rows)


@dataclass(frozen=True)
class LabelChart:
    """Issues by label (the first labels, then the rest as one) and impact within each."""

    labels: list[str | None]  # the labels named, most issues first
    impacts: list[str | None]  # the impacts named, most issues first
    # issues by (label, impact), each an index in labels and impacts: len() for the rest
    issues: dict[tuple[int, int], int]
    other_labels: int  # labels in the rest (0: none)
    other_impacts: int  # impacts in the rest (0: none)


@dataclass(frozen=True)
class DailySeries:
    """Values per day for each named series (an org, a status), days without data at 0."""

    days: list[date]
    series: dict[str, list[float]]


@dataclass
class ReportData:
    """Everything the report shows, read in one read-only transaction."""

    sessions_total: int
    newest: datetime | None  # the newest session's created_at
    newest_update: datetime | None  # the newest updated_at of any session
    current: Period | None = None
    previous: Period | None = None
    headline: Headline | None = None
    headline_previous: Headline | None = None
    acus_by_org: DailySeries | None = None
    sessions_by_status: DailySeries | None = None
    top_repos: Top = field(default_factory=Top)
    top_users: Top = field(default_factory=Top)
    label_chart: LabelChart | None = None
    issue_pairs: Top = field(default_factory=Top)
    action_items: Top = field(default_factory=Top)
    # v3 breakdowns: "value" (None: not set) and "sessions"; empty when NULL everywhere
    origins: Top = field(default_factory=Top)
    categories: Top = field(default_factory=Top)
    sizes: Top = field(default_factory=Top)
    runs: list[dict[str, Any]] = field(default_factory=list)
    billing: Any = None  # the billing section's data (report/billing.py), read apart
    checks: Top = field(default_factory=Top)
    last_ok_run: datetime | None = None
    names: Names | None = None  # playbooks and Knowledge notes (pipeline.report.names)


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: Params = None
) -> list[dict[str, Any]]:
    """Return the rows of a query as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def top(
    con: duckdb.DuckDBPyConnection,
    source: str,
    order: str,
    n: int,
    sums: tuple[str, ...],
    params: Params = None,
) -> Top:
    """Return the first n rows of the query source in order, and the rest as one row: how
    many rows it holds ("members") and, for each column in sums, the total less the rows
    shown. Figures that do not add up over rows (a count of distinct sessions) are not in
    it. With n + 1 rows or fewer, every row is shown and there is no rest.

    DuckDB keeps the first n + 1 rows as it reads (no sort of the whole) and sums the whole
    in the same pass: n + 2 rows leave it, whatever the size of source.
    """
    assert n > 0
    totals = ", ".join(f"sum({column}) as {column}" for column in sums)
    rows = fetch_dicts(
        con,
        f"""
        with source as materialized (
            {source}
        ),
        shown as (
            select * from source order by {order} limit {int(n) + 1}
        ),
        total as (
            select count(*) as members{", " + totals if totals else ""} from source
        )
        select shown.*, null as members from shown
        union all by name
        select * from total
        """,
        params,
    )
    total, shown = rows[-1], rows[:-1]
    for row in shown:
        del row["members"]
    if total["members"] <= n + 1:
        return Top(shown)
    shown = shown[:n]
    other = {"members": total["members"] - n}
    for column in sums:
        other[column] = (total[column] or 0) - sum(row[column] or 0 for row in shown)
    return Top(shown, other)


def periods(newest: date) -> tuple[Period, Period]:
    """Return the headline period (PERIOD_DAYS ending at newest) and the one before it."""
    current = Period(newest - timedelta(days=PERIOD_DAYS - 1), newest)
    previous = Period(current.first - timedelta(days=PERIOD_DAYS), current.first - timedelta(1))
    return current, previous


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> Headline:
    """Return sessions and ACUs of the sessions created in the period, and their PRs."""
    row = fetch_dicts(
        con,
        """
        select
            coalesce(sum(sessions), 0) as sessions,
            coalesce(sum(acus), 0) as acus,
            coalesce(sum(prs_opened), 0) as opened,
            coalesce(sum(prs_merged), 0) as merged,
            coalesce(sum(prs_closed), 0) as closed
        from agg_daily
        where created_date between ? and ?
        """,
        [period.first, period.last],
    )[0]
    return Headline(
        sessions=int(row["sessions"]),
        acus=row["acus"],
        prs_opened=int(row["opened"]),
        prs_merged=int(row["merged"]),
        prs_closed=int(row["closed"]),
    )


def _daily(days: list[date], rows: list[dict[str, Any]], key: str, value: str) -> DailySeries:
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, list[float]] = {}
    for row in rows:
        values = series.setdefault(row[key], [0.0] * len(days))
        values[index[row["created_date"]]] += float(row[value] or 0)
    return DailySeries(days, series)


def _window(newest: date) -> tuple[list[date], date]:
    first = newest - timedelta(days=DAILY_DAYS - 1)
    return [first + timedelta(days=i) for i in range(DAILY_DAYS)], first


def acus_by_org(con: duckdb.DuckDBPyConnection, newest: date) -> DailySeries:
    """Return ACUs per day and org over DAILY_DAYS; orgs beyond TOP_ORGS summed as one."""
    days, first = _window(newest)
    rows = fetch_dicts(
        con,
        """
        with daily as (
            select created_date, org_id, acus
            from v_daily_usage
            where created_date between ? and ?
        ),
        ranked as (
            select org_id, row_number() over (order by sum(acus) desc nulls last, org_id) as rank
            from daily
            group by org_id
        ),
        -- the org's name where organizations were exported; the id where none is known, or
        -- beside the name where two orgs share it
        named as (
            select
                org_id,
                case
                    when count(*) over (partition by name) > 1 then name || ' (' || org_id || ')'
                    else name
                end as org_name
            from organizations
            where nullif(trim(name), '') is not null
        )
        select
            daily.created_date,
            case
                when ranked.rank <= ? then coalesce(named.org_name, daily.org_id, '(no org)')
                else ?
            end as org,
            sum(daily.acus) as acus
        from daily
        join ranked on daily.org_id is not distinct from ranked.org_id
        left join named on daily.org_id = named.org_id
        group by all
        order by min(ranked.rank)
        """,
        [first, newest, TOP_ORGS, OTHER_ORGS],
    )
    return _daily(days, rows, "org", "acus")


def sessions_by_status(con: duckdb.DuckDBPyConnection, newest: date) -> DailySeries:
    """Return sessions created per day over DAILY_DAYS, by their status now; statuses beyond
    TOP_STATUSES (the API may add any) summed as one."""
    days, first = _window(newest)
    rows = fetch_dicts(
        con,
        """
        with daily as (
            select created_date, coalesce(status, '(no status)') as status, sessions
            from agg_daily
            where created_date between ? and ?
        ),
        ranked as (
            select status, row_number() over (order by sum(sessions) desc, status) as rank
            from daily
            group by status
        )
        select
            daily.created_date,
            case when ranked.rank <= ? then daily.status else ? end as status,
            sum(daily.sessions) as sessions
        from daily
        join ranked on daily.status = ranked.status
        group by all
        """,
        [first, newest, TOP_STATUSES, OTHER_STATUSES],
    )
    data = _daily(days, rows, "status", "sessions")
    known = {s: i for i, s in enumerate(STATUS_ORDER)}
    order = sorted(data.series, key=lambda s: (s == OTHER_STATUSES, known.get(s, len(known)), s))
    return DailySeries(days, {s: data.series[s] for s in order})


def ratio(part: Number | None, whole: Number | None) -> float | None:
    """Return part / whole, None when whole is 0 or unknown (a rest row's rates)."""
    return float(part) / float(whole) if part is not None and whole else None


def top_repos(con: duckdb.DuckDBPyConnection) -> Top:
    found = top(
        con,
        """
        select repo, prs, merged, closed, merge_rate, acus_spent
        from v_repo_outcomes
        where repo is not null
        """,
        "merged desc, prs desc, repo",
        TOP_N,
        # acus_spent counts a session with PRs in several repos in each: it does not add up
        ("prs", "merged", "closed"),
    )
    if found.other:
        rest = found.other
        rest["merge_rate"] = ratio(rest["merged"], rest["merged"] + rest["closed"])
    return found


def top_users(con: duckdb.DuckDBPyConnection) -> Top:
    found = top(
        con,
        """
        select user_id, name, email, sessions, acus, prs_opened, prs_merged, prs_closed,
            merge_rate, acus_per_merged_pr
        from v_user_usage
        """,
        "acus desc nulls last, user_id nulls last",
        TOP_N,
        ("sessions", "acus", "prs_opened", "prs_merged", "prs_closed"),
    )
    if found.other:
        rest = found.other
        rest["merge_rate"] = ratio(rest["prs_merged"], rest["prs_merged"] + rest["prs_closed"])
        rest["acus_per_merged_pr"] = ratio(rest["acus"], rest["prs_merged"])
    return found


def label_chart(con: duckdb.DuckDBPyConnection) -> LabelChart | None:
    """Return issues by label and impact: the TOP_LABELS labels with the most issues and the
    rest as one, each split into the TOP_IMPACTS impacts with the most issues and the rest
    (ranked by group, ISSUE_LABELS: their names come after)."""
    rows = fetch_dicts(
        con,
        f"""
        with issue_rows as (
            select label, impact, issues
            from {ISSUE_LABELS}
        ),
        labels as (
            select label, sum(issues) as issues
            from issue_rows
            group by label
        ),
        impacts as (
            select impact, sum(issues) as issues
            from issue_rows
            group by impact
        ),
        top_labels as (
            select label, row_number() over (order by issues desc, label nulls last) as place
            from (select * from labels order by issues desc, label nulls last limit ?)
        ),
        top_impacts as (
            select impact, row_number() over (order by issues desc, impact nulls last) as place
            from (select * from impacts order by issues desc, impact nulls last limit ?)
        ),
        cells as (
            select
                top_labels.place as label_place,
                top_impacts.place as impact_place,
                sum(issue_rows.issues) as issues
            from issue_rows
            left join top_labels on issue_rows.label is not distinct from top_labels.label
            left join top_impacts on issue_rows.impact is not distinct from top_impacts.impact
            group by all
        )
        select
            cells.label_place,
            top_labels.label,
            cells.impact_place,
            top_impacts.impact,
            cells.issues,
            (select count(*) from labels) as labels,
            (select count(*) from impacts) as impacts
        from cells
        left join top_labels on cells.label_place = top_labels.place
        left join top_impacts on cells.impact_place = top_impacts.place
        """,
        [TOP_LABELS + 1, TOP_IMPACTS + 1],
    )
    if not rows:
        return None
    label_count, impact_count = rows[0]["labels"], rows[0]["impacts"]
    # with one more than the top, it is shown; with more, it joins the rest (place None)
    shown_labels = label_count if label_count <= TOP_LABELS + 1 else TOP_LABELS
    shown_impacts = impact_count if impact_count <= TOP_IMPACTS + 1 else TOP_IMPACTS
    labels: dict[int, str | None] = {}
    impacts: dict[int, str | None] = {}
    issues: dict[tuple[int, int], int] = {}
    for r in rows:
        i = r["label_place"] - 1 if r["label_place"] and r["label_place"] <= shown_labels else -1
        j = (
            r["impact_place"] - 1
            if r["impact_place"] and r["impact_place"] <= shown_impacts
            else -1
        )
        if i >= 0:
            labels[i] = r["label"]
        if j >= 0:
            impacts[j] = r["impact"]
        key = (shown_labels if i < 0 else i, shown_impacts if j < 0 else j)
        issues[key] = issues.get(key, 0) + int(r["issues"])
    label_names = names(con, "label", list(labels.values()))
    impact_names = names(con, "impact", list(impacts.values()))
    return LabelChart(
        labels=[label_names.get(labels[i]) for i in range(shown_labels)],
        impacts=[impact_names.get(impacts[j]) for j in range(shown_impacts)],
        issues=issues,
        other_labels=label_count - shown_labels,
        other_impacts=impact_count - shown_impacts,
    )


def names(
    con: duckdb.DuckDBPyConnection, field: str, keys: list[str | None]
) -> dict[str | None, str | None]:
    """Name text_key groups of a field (label, impact, type) as v_issue_labels and
    v_action_items do: by the most common spelling, then the shortest, then byte order."""
    found = con.execute(
        """
        select text_key, first(text order by uses desc, length(text), text)
        from agg_spellings
        where field = ? and text_key in (select unnest(?::varchar[]))
        group by text_key
        """,
        [field, [k for k in keys if k is not None]],
    ).fetchall()
    return {None: None, **dict(found)}


def _named(con: duckdb.DuckDBPyConnection, found: Top, columns: dict[str, str]) -> Top:
    """found with its text_key columns (column -> field) replaced by the groups' names."""
    for column, of in columns.items():
        named = names(con, of, [row[column] for row in found.rows])
        for row in found.rows:
            row[column] = named.get(row[column])
    return found


def issue_pairs(con: duckdb.DuckDBPyConnection) -> Top:
    """Return the label and impact pairs with the most issues, and the rest as one row."""
    found = top(
        con,
        f"""
        select label, impact, issues, sessions_affected, acus_in_sessions
        from {ISSUE_LABELS}
        """,
        "issues desc, label nulls last, impact nulls last",
        TOP_N,
        # a session with issues of several kinds counts in each row: only issues add up
        ("issues",),
    )
    return _named(con, found, {"label": "label", "impact": "impact"})


def action_items(con: duckdb.DuckDBPyConnection) -> Top:
    found = top(
        con,
        "select type_key as type, items, sessions from agg_action_types",
        "items desc, type nulls last",
        TOP_TYPES,
        ("items",),  # a session with items of several types counts in each: not sessions
    )
    return _named(con, found, {"type": "type"})


def breakdown(con: duckdb.DuckDBPyConnection, column: str) -> Top:
    """Return sessions by a v3 column of sessions; empty when it is NULL everywhere."""
    assert column in ("origin", "category", "session_size")  # never text from outside
    found = top(
        con,
        """
        select value, sessions::bigint as sessions
        from agg_session_values
        where field = $field
            and exists (
                select 1 from agg_session_values where field = $field and value is not null
            )
        """,
        "sessions desc, value nulls last",
        TOP_VALUES,
        ("sessions",),
        {"field": column},
    )
    if column == "session_size":
        known = {s: i for i, s in enumerate(SIZE_ORDER)}
        found.rows.sort(
            key=lambda r: (
                r["value"] is None,
                known.get(r["value"] or "", len(known)),
                r["value"] or "",
            )
        )
    return found


def recent_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the last runs, newest first, each with its errors by kind ("kind n, ...", the
    TOP_KINDS kinds with the most errors, then how many more kinds)."""
    return fetch_dicts(
        con,
        """
        with runs as (
            select *
            from export_runs
            order by started_at desc, run_id desc
            limit ?
        ),
        kinds as (
            select
                run_id,
                kind,
                count(*) as errors,
                row_number() over (partition by run_id order by count(*) desc, kind) as rank
            from export_errors
            where run_id in (select run_id from runs)
            group by run_id, kind
        ),
        errors as (
            select
                run_id,
                string_agg(coalesce(kind, '?') || ' ' || errors, ', ' order by rank)
                    filter (where rank <= ?)
                    || case when max(rank) > ? then ', +' || (max(rank) - ?) || ' more kinds'
                    else '' end as errors_by_kind
            from kinds
            group by run_id
        )
        select
            runs.run_id,
            runs.started_at,
            runs.finished_at,
            runs.mode,
            runs.status,
            runs.duration_seconds,
            runs.sessions_exported,
            runs.sessions_failed,
            errors.errors_by_kind
        from runs
        left join errors on runs.run_id = errors.run_id
        order by runs.started_at desc, runs.run_id desc
        """,
        [RECENT_RUNS, TOP_KINDS, TOP_KINDS, TOP_KINDS],
    )


def latest_checks(con: duckdb.DuckDBPyConnection) -> Top:
    """Return the quality checks of the run that checked last, broken and failed ones first;
    beyond TOP_CHECKS, how many more, and how many of those failed or broke."""
    return top(
        con,
        """
        with latest as (
            select run_id
            from quality_checks
            order by checked_at desc, run_id desc
            limit 1
        )
        select
            quality_checks.run_id,
            check_name,
            severity,
            failing_rows,
            sample,
            checked_at,
            (failing_rows > 0)::int as failed,
            (failing_rows is null)::int as broken
        from quality_checks
        join latest on quality_checks.run_id = latest.run_id
        """,
        "failing_rows is null desc, failing_rows > 0 desc, severity = 'error' desc, check_name",
        TOP_CHECKS,
        ("failing_rows", "failed", "broken"),
    )


def gather(con: duckdb.DuckDBPyConnection) -> ReportData:
    """Return everything the report shows; sections without data stay empty."""
    con.execute("begin transaction")  # one snapshot, even if the file is replaced meanwhile
    try:
        facts = fetch_dicts(
            con,
            """
            select
                count(*) as sessions,
                (max(created_at) at time zone 'UTC')::date as newest_day,
                max(created_at) as newest,
                max(updated_at) as newest_update
            from sessions
            """,
        )[0]
        data = ReportData(
            sessions_total=facts["sessions"],
            newest=facts["newest"],
            newest_update=facts["newest_update"],
        )
        data.runs = recent_runs(con)
        data.checks = latest_checks(con)
        data.last_ok_run = con.execute(
            "select max(finished_at) from export_runs where status = 'ok'"
        ).fetchall()[0][0]
        newest: date | None = facts["newest_day"]
        if newest is None:
            return data
        data.current, data.previous = periods(newest)
        data.headline = headline(con, data.current)
        data.headline_previous = headline(con, data.previous)
        data.acus_by_org = acus_by_org(con, newest)
        data.sessions_by_status = sessions_by_status(con, newest)
        data.top_repos = top_repos(con)
        data.top_users = top_users(con)
        data.label_chart = label_chart(con)
        data.issue_pairs = issue_pairs(con)
        data.action_items = action_items(con)
        data.origins = breakdown(con, "origin")
        data.categories = breakdown(con, "category")
        data.sizes = breakdown(con, "session_size")
        from pipeline.report.names import gather_names  # it reads this module's top()

        data.names = gather_names(con)
        return data
    finally:
        con.execute("rollback")
