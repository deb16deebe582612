"""Every query of the report, and nothing else: the only module that knows view and column names.

Figures come from the analyst views (v_daily_usage, v_pull_requests, v_repo_outcomes,
v_user_usage, v_issue_labels, v_action_items, and stg_sessions, the staging view v_sessions
adds its counts to: a figure of sessions alone reads it, so as not to count every child table
for nothing), so the report always says what an analyst querying the warehouse would find.
Data health reads the run log (export_runs, export_errors, quality_checks) directly: those are
records of runs, not figures.

Rows are read by column name (fetch_dicts), so a view that gains a column or changes its order
does not move anything here; a renamed column is one edit in this file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

# Numbers as DuckDB returns them: counts are int, sums of ACUs Decimal (exact) or float.
Number = int | float | Decimal

PERIOD_DAYS = 30  # the headline period, compared with the one before it
DAILY_DAYS = 90  # the daily charts
TOP_N = 10
TOP_ORGS = 6  # orgs named in the daily ACU chart; the rest are summed as "other orgs"
RECENT_RUNS = 10
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
    top_repos: list[dict[str, Any]] = field(default_factory=list)
    top_users: list[dict[str, Any]] = field(default_factory=list)
    issue_labels: list[dict[str, Any]] = field(default_factory=list)
    action_items: list[dict[str, Any]] = field(default_factory=list)
    # v3 breakdowns: (value or None, sessions); empty when every session has NULL there
    origins: list[tuple[str | None, int]] = field(default_factory=list)
    categories: list[tuple[str | None, int]] = field(default_factory=list)
    sizes: list[tuple[str | None, int]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    last_ok_run: datetime | None = None


def fetch_dicts(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Return the rows of a query as dicts keyed by column name."""
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def periods(newest: date) -> tuple[Period, Period]:
    """Return the headline period (PERIOD_DAYS ending at newest) and the one before it."""
    current = Period(newest - timedelta(days=PERIOD_DAYS - 1), newest)
    previous = Period(current.first - timedelta(days=PERIOD_DAYS), current.first - timedelta(1))
    return current, previous


def headline(con: duckdb.DuckDBPyConnection, period: Period) -> Headline:
    """Return sessions and ACUs of the sessions created in the period, and their PRs."""
    sessions = fetch_dicts(
        con,
        """
        select
            count(*) as sessions,
            coalesce(sum(acus_consumed), 0) as acus
        from stg_sessions
        where created_date between ? and ?
        """,
        [period.first, period.last],
    )[0]
    prs = fetch_dicts(
        con,
        """
        select
            count(*) as opened,
            count(*) filter (where is_merged) as merged,
            count(*) filter (where is_closed) as closed
        from v_pull_requests
        where (session_created_at at time zone 'UTC')::date between ? and ?
        """,
        [period.first, period.last],
    )[0]
    return Headline(
        sessions=sessions["sessions"],
        acus=sessions["acus"],
        prs_opened=prs["opened"],
        prs_merged=prs["merged"],
        prs_closed=prs["closed"],
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
        )
        select
            daily.created_date,
            case
                when ranked.rank <= ? then coalesce(daily.org_id, '(no org)')
                else 'other orgs'
            end as org,
            sum(daily.acus) as acus
        from daily
        join ranked on daily.org_id is not distinct from ranked.org_id
        group by all
        order by min(ranked.rank)
        """,
        [first, newest, TOP_ORGS],
    )
    return _daily(days, rows, "org", "acus")


def sessions_by_status(con: duckdb.DuckDBPyConnection, newest: date) -> DailySeries:
    """Return sessions created per day over DAILY_DAYS, by their status now."""
    days, first = _window(newest)
    rows = fetch_dicts(
        con,
        """
        select created_date, coalesce(status, '(no status)') as status, count(*) as sessions
        from stg_sessions
        where created_date between ? and ?
        group by all
        """,
        [first, newest],
    )
    data = _daily(days, rows, "status", "sessions")
    known = {s: i for i, s in enumerate(STATUS_ORDER)}
    order = sorted(data.series, key=lambda s: (known.get(s, len(known)), s))
    return DailySeries(days, {s: data.series[s] for s in order})


def top_repos(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        """
        select repo, prs, merged, merge_rate, acus_spent
        from v_repo_outcomes
        where repo is not null
        order by merged desc, prs desc, repo
        limit ?
        """,
        [TOP_N],
    )


def top_users(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        """
        select user_id, sessions, acus, prs_opened, prs_merged, merge_rate, acus_per_merged_pr
        from v_user_usage
        order by acus desc nulls last, user_id nulls last
        limit ?
        """,
        [TOP_N],
    )


def issue_labels(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the labels with the most issues, each with its rows by impact."""
    return fetch_dicts(
        con,
        """
        with rows as (
            select label, impact, issues, sessions_affected, acus_in_sessions
            from v_issue_labels
        ),
        top_labels as (
            select label, sum(issues) as label_issues
            from rows
            group by label
            order by label_issues desc, label nulls last
            limit ?
        )
        select rows.*
        from rows
        join top_labels on rows.label is not distinct from top_labels.label
        order by top_labels.label_issues desc, rows.label nulls last, rows.issues desc,
            rows.impact nulls last
        """,
        [TOP_N],
    )


def action_items(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return fetch_dicts(
        con,
        "select type, items, sessions from v_action_items order by items desc, type nulls last",
    )


def breakdown(con: duckdb.DuckDBPyConnection, column: str) -> list[tuple[str | None, int]]:
    """Return sessions by a v3 column of stg_sessions; empty when it is NULL everywhere."""
    assert column in ("origin", "category", "session_size")  # never text from outside
    rows = fetch_dicts(
        con,
        f"""
        select {column} as value, count(*) as sessions
        from stg_sessions
        group by all
        having (select count({column}) from stg_sessions) > 0
        order by sessions desc, value nulls last
        """,
    )
    found = [(r["value"], r["sessions"]) for r in rows]
    if column == "session_size":
        known = {s: i for i, s in enumerate(SIZE_ORDER)}
        found.sort(key=lambda r: (r[0] is None, known.get(r[0] or "", len(known)), r[0] or ""))
    return found


def recent_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the last runs, newest first, each with its errors by kind ("kind n, ...")."""
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
            select run_id, kind, count(*) as errors
            from export_errors
            where run_id in (select run_id from runs)
            group by all
        ),
        errors as (
            select
                run_id,
                string_agg(coalesce(kind, '?') || ' ' || errors, ', ' order by errors desc, kind)
                    as errors_by_kind
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
        [RECENT_RUNS],
    )


def latest_checks(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the quality checks of the run that checked last, failures first."""
    return fetch_dicts(
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
            checked_at
        from quality_checks
        join latest on quality_checks.run_id = latest.run_id
        order by
            failing_rows is null desc,
            failing_rows > 0 desc,
            severity = 'error' desc,
            check_name
        """,
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
                max(created_date) as newest_day,
                max(created_at) as newest,
                max(updated_at) as newest_update
            from stg_sessions
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
        data.issue_labels = issue_labels(con)
        data.action_items = action_items(con)
        data.origins = breakdown(con, "origin")
        data.categories = breakdown(con, "category")
        data.sizes = breakdown(con, "session_size")
        return data
    finally:
        con.execute("rollback")
