"""The analyst views in sql/views/: exact rows on a small hand-made warehouse, plus the
schema.yml-style invariants (unique, not-null keys; totals in views equal totals in tables)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.schema import BY_NAME, SESSIONS, TABLES

VIEWS_DIR = Path(__file__).resolve().parent.parent / "sql" / "views"
VIEW_FILES = sorted(VIEWS_DIR.glob("*.sql"))

EST = timezone(timedelta(hours=-5))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(table.ddl())


def load_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create every view the way the pipeline does: each file's text, in sorted order."""
    for path in VIEW_FILES:
        con.execute(path.read_text())


def view_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where not internal"
        ).fetchall()
    }


# --- the hand-made warehouse ----------------------------------------------------------------
# s1, s2: org_a, user u1, 2024-03-01 UTC; s1 has 2 PRs in acme/api, one merged.
# s3: org_b, NULL user, created 23:30 at UTC-5 on 03-01 = 04:30 UTC on 03-02; no PRs at all.
# s4: org_b, user u2, 03-02; 2 PRs with an unparsed URL (NULL repo), one with NULL state.
# s5: org_a, user u2, 03-02; one merged PR in acme/api.
DATA: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = {
    "sessions": (
        (
            "session_id",
            "org_id",
            "user_id",
            "status",
            "created_at",
            "updated_at",
            "acus_consumed",
            "has_session_analysis",
            "original_prompt",
            "suggested_prompt",
        ),
        [
            (
                "s1",
                "org_a",
                "u1",
                "exit",
                utc(2024, 3, 1, 10),
                utc(2024, 3, 1, 10, 30),
                2.0,
                True,
                "p1",
                "sp1",
            ),
            (
                "s2",
                "org_a",
                "u1",
                "running",
                utc(2024, 3, 1, 12),
                utc(2024, 3, 1, 13),
                3.0,
                True,
                "p2",
                None,
            ),
            (
                "s3",
                "org_b",
                None,
                "exit",
                datetime(2024, 3, 1, 23, 30, tzinfo=EST),
                utc(2024, 3, 4, 4, 30),
                5.0,
                False,
                None,
                None,
            ),
            (
                "s4",
                "org_b",
                "u2",
                "error",
                utc(2024, 3, 2, 9),
                utc(2024, 3, 2, 9, 15),
                1.5,
                False,
                None,
                None,
            ),
            (
                "s5",
                "org_a",
                "u2",
                "exit",
                utc(2024, 3, 2, 8),
                utc(2024, 3, 2, 8, 6),
                0.5,
                False,
                None,
                None,
            ),
        ],
    ),
    "pull_requests": (
        ("session_id", "ordinal", "url", "state", "repo", "pr_number"),
        [
            ("s1", 0, "https://github.com/acme/api/pull/1", "merged", "acme/api", 1),
            ("s1", 1, "https://github.com/acme/api/pull/2", "open", "acme/api", 2),
            ("s2", 0, "https://gitlab.com/group/web/-/merge_requests/7", "MERGED", "group/web", 7),
            ("s2", 1, "https://github.com/acme/api/pull/3", "closed", "acme/api", 3),
            ("s4", 0, "https://example.com/not-a-pr", "open", None, None),
            ("s4", 1, "https://example.com/another", None, None, None),
            ("s5", 0, "https://github.com/acme/api/pull/4", "merged", "acme/api", 4),
        ],
    ),
    "issues": (
        ("session_id", "ordinal", "issue", "impact", "label"),
        [
            ("s1", 0, "tests flaky", "high", "bug"),
            ("s1", 1, "crash on start", "high", "bug"),
            ("s1", 2, "readme stale", "low", "docs"),
            ("s2", 0, "wrong output", "high", "bug"),
        ],
    ),
    "action_items": (
        ("session_id", "ordinal", "issue_id", "type", "action_item"),
        [
            ("s1", 0, "i0", "fix", "fix the tests"),
            ("s1", 1, "i1", "fix", "fix the crash"),
            ("s1", 2, None, "test", "add a test"),
            ("s2", 0, "i0", "fix", "fix the output"),
        ],
    ),
    "timeline_events": (
        ("session_id", "ordinal", "title", "description"),
        [("s1", i, f"step {i}", "") for i in range(3)],
    ),
    "feedback_items": (
        ("session_id", "ordinal", "issue_id", "summary", "excerpt", "details"),
        [
            ("s1", 0, "i0", "be specific", "do it", "say which tests"),
            ("s1", 1, None, "give context", "", None),
            ("s2", 0, "i0", "name the file", "fix it", "which file?"),
        ],
    ),
}


def build(path: Path, time_zone: str = "UTC", rows: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB file holding every table (with DATA unless rows=False) and every view."""
    con = duckdb.connect(str(path))
    con.execute(f"set TimeZone = '{time_zone}'")
    create_tables(con)
    if rows:
        for table, (columns, values) in DATA.items():
            placeholders = ", ".join("?" for _ in columns)
            con.executemany(
                f"insert into {table} ({', '.join(columns)}) values ({placeholders})", values
            )
    load_views(con)
    return con


# Built once: every test that uses it only reads.
@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    con = build(tmp_path_factory.mktemp("views") / "devin.duckdb")
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return con.execute(sql).fetchall()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


# --- files and loading --------------------------------------------------------------------


REQUIRED_VIEWS = {
    "v_sessions",
    "v_daily_usage",
    "v_user_usage",
    "v_pull_requests",
    "v_repo_outcomes",
    "v_issue_labels",
    "v_action_items",
    "v_prompt_feedback",
}


def test_every_view_exists_after_loading(con: duckdb.DuckDBPyConnection) -> None:
    assert view_names(con) == {p.stem for p in VIEW_FILES}
    assert REQUIRED_VIEWS <= view_names(con)


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_file_creates_exactly_the_view_named_by_its_stem(path: Path) -> None:
    text = path.read_text()
    assert path.stem == path.stem.lower()
    assert re.findall(r"create or replace view (\w+) as", text) == [path.stem]
    # Views read base tables only, so each file loads alone on a warehouse without other views.
    con = duckdb.connect()
    create_tables(con)
    con.execute(text)
    assert view_names(con) == {path.stem}
    con.execute(text)  # and loads again, as on every run


def test_views_work_on_empty_tables(tmp_path: Path) -> None:
    con = build(tmp_path / "empty.duckdb", rows=False)
    for view in REQUIRED_VIEWS:
        assert rows(con, f"select * from {view}") == []


# --- columns and types ----------------------------------------------------------------------

COUNT, RATE = "BIGINT", "DOUBLE"
SESSION_TYPES = {
    c.name: c.type.replace("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE") for c in SESSIONS.columns
}
TSTZ = "TIMESTAMP WITH TIME ZONE"

VIEW_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "v_sessions": [
        *SESSION_TYPES.items(),
        ("created_date", "DATE"),
        ("duration_minutes", "DOUBLE"),
        ("pr_count", COUNT),
        ("merged_pr_count", COUNT),
        ("issue_count", COUNT),
        ("action_item_count", COUNT),
        ("timeline_event_count", COUNT),
    ],
    "v_daily_usage": [
        ("created_date", "DATE"),
        ("org_id", "VARCHAR"),
        ("sessions", COUNT),
        ("acus", "DOUBLE"),
        ("sessions_with_merged_pr", COUNT),
    ],
    "v_user_usage": [
        ("user_id", "VARCHAR"),
        ("sessions", COUNT),
        ("acus", "DOUBLE"),
        ("prs_opened", COUNT),
        ("prs_merged", COUNT),
        ("merge_rate", RATE),
        ("acus_per_merged_pr", "DOUBLE"),
    ],
    "v_pull_requests": [
        *((c.name, c.type) for c in BY_NAME["pull_requests"].columns),
        ("is_merged", "BOOLEAN"),
        ("org_id", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("session_created_at", TSTZ),
        ("acus_consumed", "DOUBLE"),
        ("session_status", "VARCHAR"),
    ],
    "v_repo_outcomes": [
        ("repo", "VARCHAR"),
        ("prs", COUNT),
        ("merged", COUNT),
        ("merge_rate", RATE),
        ("acus_spent", "DOUBLE"),
        ("sessions", COUNT),
    ],
    "v_issue_labels": [
        ("label", "VARCHAR"),
        ("impact", "VARCHAR"),
        ("issues", COUNT),
        ("sessions_affected", COUNT),
        ("acus_in_sessions", "DOUBLE"),
    ],
    "v_action_items": [
        ("type", "VARCHAR"),
        ("items", COUNT),
        ("sessions", COUNT),
    ],
    "v_prompt_feedback": [
        *((c.name, c.type) for c in BY_NAME["feedback_items"].columns),
        ("original_prompt", "VARCHAR"),
        ("suggested_prompt", "VARCHAR"),
        ("org_id", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("session_created_at", TSTZ),
    ],
}


def test_every_view_has_its_columns_checked() -> None:
    assert set(VIEW_COLUMNS) == {p.stem for p in VIEW_FILES}


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
def test_view_columns_and_types(con: duckdb.DuckDBPyConnection, view: str) -> None:
    described = rows(con, f"select column_name, column_type from (describe {view})")
    assert described == VIEW_COLUMNS[view]


# --- invariants (jaffle_shop's schema.yml tests, in pytest) --------------------------------

# view -> (key, columns that are never NULL)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "v_sessions": (
        ("session_id",),
        (
            "session_id",
            "created_date",
            "pr_count",
            "merged_pr_count",
            "issue_count",
            "action_item_count",
            "timeline_event_count",
        ),
    ),
    "v_daily_usage": (
        ("created_date", "org_id"),
        ("created_date", "org_id", "sessions", "sessions_with_merged_pr"),
    ),
    # NULL user_id and NULL repo are rows of their own, so those keys may be NULL.
    "v_user_usage": (("user_id",), ("sessions", "prs_opened", "prs_merged")),
    "v_pull_requests": (("session_id", "ordinal"), ("session_id", "ordinal", "is_merged")),
    "v_repo_outcomes": (("repo",), ("prs", "merged", "merge_rate", "sessions")),
    "v_issue_labels": (("label", "impact"), ("label", "impact", "issues", "sessions_affected")),
    "v_action_items": (("type",), ("type", "items", "sessions")),
    "v_prompt_feedback": (("session_id", "ordinal"), ("session_id", "ordinal")),
}


def test_every_view_has_its_key_checked() -> None:
    assert set(KEYS) == {p.stem for p in VIEW_FILES}


@pytest.mark.parametrize("view", sorted(KEYS))
def test_key_is_unique(con: duckdb.DuckDBPyConnection, view: str) -> None:
    key = ", ".join(KEYS[view][0])
    # group by treats NULLs as equal, so a duplicated NULL key is caught too
    duplicates = rows(con, f"select {key}, count(*) from {view} group by {key} having count(*) > 1")
    assert duplicates == []
    assert scalar(con, f"select count(*) from {view}") > 0


@pytest.mark.parametrize("view", sorted(KEYS))
def test_not_null(con: duckdb.DuckDBPyConnection, view: str) -> None:
    for column in KEYS[view][1]:
        assert scalar(con, f"select count(*) from {view} where {column} is null") == 0, column


@pytest.mark.parametrize(
    ("view", "column"),
    [("v_user_usage", "merge_rate"), ("v_repo_outcomes", "merge_rate")],
)
def test_rates_are_between_0_and_1(con: duckdb.DuckDBPyConnection, view: str, column: str) -> None:
    assert scalar(con, f"select count(*) from {view} where not ({column} between 0 and 1)") == 0


@pytest.mark.parametrize(
    ("view_sql", "table_sql"),
    [
        ("select count(*) from v_sessions", "select count(*) from sessions"),
        ("select sum(sessions) from v_daily_usage", "select count(*) from sessions"),
        ("select sum(sessions) from v_user_usage", "select count(*) from sessions"),
        ("select sum(acus) from v_daily_usage", "select sum(acus_consumed) from sessions"),
        ("select sum(acus) from v_user_usage", "select sum(acus_consumed) from sessions"),
        ("select sum(pr_count) from v_sessions", "select count(*) from pull_requests"),
        ("select count(*) from v_pull_requests", "select count(*) from pull_requests"),
        ("select sum(prs) from v_repo_outcomes", "select count(*) from pull_requests"),
        ("select sum(prs_opened) from v_user_usage", "select count(*) from pull_requests"),
        ("select sum(issue_count) from v_sessions", "select count(*) from issues"),
        ("select sum(issues) from v_issue_labels", "select count(*) from issues"),
        ("select sum(items) from v_action_items", "select count(*) from action_items"),
        ("select count(*) from v_prompt_feedback", "select count(*) from feedback_items"),
    ],
)
def test_totals_in_views_equal_totals_in_tables(
    con: duckdb.DuckDBPyConnection, view_sql: str, table_sql: str
) -> None:
    assert scalar(con, view_sql) == scalar(con, table_sql)


# --- exact rows -----------------------------------------------------------------------------


def test_v_sessions(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        con,
        """
        select
            session_id,
            created_date,
            duration_minutes,
            pr_count,
            merged_pr_count,
            issue_count,
            action_item_count,
            timeline_event_count
        from v_sessions
        order by session_id
        """,
    )
    assert got == [
        ("s1", date(2024, 3, 1), 30.0, 2, 1, 3, 3, 3),
        ("s2", date(2024, 3, 1), 60.0, 2, 1, 1, 1, 0),
        # 23:30 at UTC-5 is the next day in UTC; a 2-day span counts its days
        ("s3", date(2024, 3, 2), 2 * 24 * 60.0, 0, 0, 0, 0, 0),
        ("s4", date(2024, 3, 2), 15.0, 2, 0, 0, 0, 0),
        ("s5", date(2024, 3, 2), 6.0, 1, 1, 0, 0, 0),
    ]


def test_v_sessions_keeps_every_session_column(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(SESSIONS.column_names)
    assert rows(con, f"select {columns} from v_sessions order by session_id") == rows(
        con, f"select {columns} from sessions order by session_id"
    )


def test_v_daily_usage(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_daily_usage order by created_date, org_id")
    assert got == [
        (date(2024, 3, 1), "org_a", 2, 5.0, 2),
        (date(2024, 3, 2), "org_a", 1, 0.5, 1),
        (date(2024, 3, 2), "org_b", 2, 6.5, 0),
    ]


def test_v_user_usage(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_user_usage order by user_id nulls last")
    assert got == [
        # each session's ACUs once, however many PRs it opened
        ("u1", 2, 5.0, 4, 2, 0.5, 2.5),
        ("u2", 2, 2.0, 3, 1, pytest.approx(1 / 3), 2.0),
        # no PRs: rates are NULL, not a division error
        (None, 1, 5.0, 0, 0, None, None),
    ]


def test_v_pull_requests(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        con,
        """
        select
            session_id,
            ordinal,
            state,
            repo,
            pr_number,
            is_merged,
            org_id,
            user_id,
            session_created_at,
            acus_consumed,
            session_status
        from v_pull_requests
        order by session_id, ordinal
        """,
    )
    s1, s2, s4, s5 = (
        utc(2024, 3, 1, 10),
        utc(2024, 3, 1, 12),
        utc(2024, 3, 2, 9),
        utc(2024, 3, 2, 8),
    )
    assert got == [
        ("s1", 0, "merged", "acme/api", 1, True, "org_a", "u1", s1, 2.0, "exit"),
        ("s1", 1, "open", "acme/api", 2, False, "org_a", "u1", s1, 2.0, "exit"),
        ("s2", 0, "MERGED", "group/web", 7, True, "org_a", "u1", s2, 3.0, "running"),
        ("s2", 1, "closed", "acme/api", 3, False, "org_a", "u1", s2, 3.0, "running"),
        ("s4", 0, "open", None, None, False, "org_b", "u2", s4, 1.5, "error"),
        ("s4", 1, None, None, None, False, "org_b", "u2", s4, 1.5, "error"),
        ("s5", 0, "merged", "acme/api", 4, True, "org_a", "u2", s5, 0.5, "exit"),
    ]


def test_v_repo_outcomes(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_repo_outcomes order by repo nulls last")
    assert got == [
        # s1 opened 2 PRs here: its 2.0 ACUs count once (2.0 + 3.0 + 0.5)
        ("acme/api", 4, 2, 0.5, 5.5, 3),
        ("group/web", 1, 1, 1.0, 3.0, 1),
        # unparsed URLs are one row, with s4's ACUs once
        (None, 2, 0, 0.0, 1.5, 1),
    ]


def test_v_issue_labels(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_issue_labels order by label, impact")
    assert got == [
        # 2 issues in s1, 1 in s2: ACUs of s1 and s2 once each
        ("bug", "high", 3, 2, 5.0),
        ("docs", "low", 1, 1, 2.0),
    ]


def test_v_action_items(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_action_items order by type")
    assert got == [("fix", 3, 2), ("test", 1, 1)]


def test_v_prompt_feedback(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_prompt_feedback order by session_id, ordinal")
    s1, s2 = utc(2024, 3, 1, 10), utc(2024, 3, 1, 12)
    assert got == [
        ("s1", 0, "i0", "be specific", "do it", "say which tests", "p1", "sp1", "org_a", "u1", s1),
        ("s1", 1, None, "give context", "", None, "p1", "sp1", "org_a", "u1", s1),
        ("s2", 0, "i0", "name the file", "fix it", "which file?", "p2", None, "org_a", "u1", s2),
    ]


# --- dates do not depend on the reader's TimeZone -----------------------------------------

# view -> (query, a row that holds only if s3's date is taken in UTC)
DATED = {
    "v_sessions": (
        "select session_id, created_date from v_sessions order by all",
        ("s3", date(2024, 3, 2)),
    ),
    "v_daily_usage": (
        "select * from v_daily_usage order by all",
        (date(2024, 3, 2), "org_b", 2, 6.5, 0),
    ),
}


@pytest.mark.parametrize("view", sorted(DATED))
def test_dates_are_utc_whatever_the_time_zone(tmp_path: Path, view: str) -> None:
    query, utc_row = DATED[view]
    with build(tmp_path / "utc.duckdb", "UTC") as con:
        in_utc = rows(con, query)
    # views created and read under New York time, where s3 was created on 03-01
    with build(tmp_path / "ny.duckdb", "America/New_York") as con:
        local_date = scalar(con, "select created_at::date from sessions where session_id = 's3'")
        assert local_date == date(2024, 3, 1)
        in_new_york = rows(con, query)
    assert in_new_york == in_utc
    assert utc_row in in_new_york
