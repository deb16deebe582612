"""The SQL layer analysts read: sql/staging (stg_*) and sql/views (v_*).

Exact rows on a small hand-made warehouse, the schema.yml-style invariants (unique, not-null
keys; totals in views equal totals in tables; rates between 0 and 1), and the layout rules:
each view reads only base tables and stg_* relations, no CTE is named like a relation, every
relation carries a comment, and no ACU figure carries binary floating-point noise."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from hashlib import md5
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.report.queries import issue_pairs
from pipeline.schema import BY_NAME, SESSIONS, TABLES
from tests.helpers import pasted_log

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
STAGING_FILES = sorted((SQL_DIR / "staging").glob("*.sql"))
VIEW_FILES = sorted((SQL_DIR / "views").glob("*.sql"))
CHECK_FILES = sorted((SQL_DIR / "checks").glob("*.sql"))
AGGREGATE_FILES = sorted((SQL_DIR / "aggregates").glob("*.sql"))
# The order pipeline.warehouse creates them in: staging first, then the aggregate tables made
# whole (pipeline.aggregates), then views, each sorted.
RELATION_FILES = [*STAGING_FILES, *VIEW_FILES]
SQL_FILES = [*STAGING_FILES, *AGGREGATE_FILES, *VIEW_FILES]
AGGREGATE_NAMES = {p.stem for p in AGGREGATE_FILES}
TABLE_NAMES = {t.name for t in TABLES}
STAGING_NAMES = {p.stem for p in STAGING_FILES}
VIEW_NAMES = {p.stem for p in VIEW_FILES}

EST = timezone(timedelta(hours=-5))
ACUS = "DECIMAL(18,6)"  # one session's ACUs (stg_sessions casts acus_consumed once)
ACU_SUM = "DECIMAL(38,6)"  # DuckDB's sum() of DECIMAL(18,6)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        con.execute(table.ddl())


def statement(path: Path) -> str:
    """The file's text, or for an aggregate the statement that makes its table whole."""
    if path.parent.name == "aggregates":
        return f"create or replace table {path.stem} as\n{path.read_text()}"
    return path.read_text()


def load_sql(con: duckdb.DuckDBPyConnection, files: list[Path] = SQL_FILES) -> None:
    """Create the relations the way the pipeline does: staging, aggregates, then views."""
    for path in files:
        con.execute(statement(path))


def relation_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where not internal"
        ).fetchall()
    }


def select_of(path: Path) -> str:
    """Return the query of the file's create view statement (or the file, for a check)."""
    statements = duckdb.extract_statements(path.read_text())
    text = statements[0].query
    return re.sub(r"^\s*create or replace view \w+ as", "", text, flags=re.IGNORECASE)


def parse(sql: str) -> dict[str, Any]:
    with duckdb.connect() as con:
        row = con.execute("select json_serialize_sql(?)", [sql]).fetchone()
    assert row is not None
    tree: dict[str, Any] = json.loads(row[0])
    assert not tree["error"], tree
    return tree


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def cte_names(sql: str) -> set[str]:
    return {
        entry["key"]
        for node in walk(parse(sql))
        if isinstance(node.get("cte_map"), dict)
        for entry in node["cte_map"]["map"]
    }


def relations_read(sql: str) -> set[str]:
    """Return the tables and views a query reads (names in FROM that are not its CTEs)."""
    tables = {node["table_name"] for node in walk(parse(sql)) if node.get("type") == "BASE_TABLE"}
    return tables - cte_names(sql)


# --- the hand-made warehouse ----------------------------------------------------------------
# s1: org_a, u1, 03-01, ended 10:30; a late analysis moved updated_at to 12:00. 2 PRs in
#     acme/api (merged, open). 3 issues, 3 action items, 3 timeline events, 2 feedback items.
# s2: org_a, u1, 03-01, running, stored before ended_at existed (api_version NULL); 3 PRs:
#     group/web merged (as MERGED) and open, acme/api closed. 1.0 ACU: 2/3 to group/web.
# s3: org_b, NULL user, created 23:30 at UTC-5 on 03-01 = 04:30 UTC on 03-02; exit without
#     ended_at (an old row): its duration runs to updated_at, two days later. No PRs.
# s4: org_b, u2, 03-02, error; 2 PRs with an unparsed URL (NULL repo), one with NULL state.
# s5: org_a, u2, 03-02, 0.2 ACUs; one merged PR in acme/api.
# s6: org_a, u2, 03-02, a v3 session, finished (status running, status_detail finished) and
#     deleted later; 0.1 ACUs (with s5: 0.1 + 0.2, the classic float sum); one closed PR.
SESSION_COLUMNS = (
    "session_id",
    "org_id",
    "user_id",
    "status",
    "status_detail",
    "created_at",
    "updated_at",
    "ended_at",
    "deleted_at",
    "acus_consumed",
    "has_session_analysis",
    "original_prompt",
    "suggested_prompt",
    "api_version",
    "origin",
    "category",
    "session_size",
)
# fmt: off
SESSION_ROWS: list[tuple[object, ...]] = [
    ("s1", "org_a", "u1", "exit", None, utc(2024, 3, 1, 10), utc(2024, 3, 1, 12), utc(2024, 3, 1, 10, 30), None, 2.0, True, "p1", "sp1", "v2", None, None, None),
    ("s2", "org_a", "u1", "running", None, utc(2024, 3, 1, 12), utc(2024, 3, 1, 13), None, None, 1.0, True, "p2", None, None, None, None, None),
    ("s3", "org_b", None, "exit", None, datetime(2024, 3, 1, 23, 30, tzinfo=EST), utc(2024, 3, 4, 4, 30), None, None, 5.0, False, None, None, "v2", None, None, None),
    ("s4", "org_b", "u2", "error", None, utc(2024, 3, 2, 9), utc(2024, 3, 2, 9, 15), utc(2024, 3, 2, 9, 15), None, 1.5, False, None, None, "v2", None, None, None),
    ("s5", "org_a", "u2", "exit", None, utc(2024, 3, 2, 8), utc(2024, 3, 2, 8, 6), utc(2024, 3, 2, 8, 6), None, 0.2, False, None, None, "v2", None, None, None),
    ("s6", "org_a", "u2", "running", "finished", utc(2024, 3, 2, 10), utc(2024, 3, 2, 11), utc(2024, 3, 2, 10, 45), utc(2024, 3, 5), 0.1, True, "p6", "sp6", "v3", "slack", "bug_fixing", "m"),
]
# fmt: on
DATA: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = {
    "sessions": (SESSION_COLUMNS, SESSION_ROWS),
    "pull_requests": (
        ("session_id", "ordinal", "url", "state", "repo", "pr_number"),
        [
            ("s1", 0, "https://github.com/acme/api/pull/1", "merged", "acme/api", 1),
            ("s1", 1, "https://github.com/acme/api/pull/2", "open", "acme/api", 2),
            ("s2", 0, "https://gitlab.com/group/web/-/merge_requests/7", "MERGED", "group/web", 7),
            ("s2", 1, "https://github.com/acme/api/pull/3", "closed", "acme/api", 3),
            ("s2", 2, "https://gitlab.com/group/web/-/merge_requests/8", "open", "group/web", 8),
            ("s4", 0, "https://example.com/not-a-pr", "open", None, None),
            ("s4", 1, "https://example.com/another", None, None, None),
            ("s5", 0, "https://github.com/acme/api/pull/4", "merged", "acme/api", 4),
            ("s6", 0, "https://github.com/acme/api/pull/5", "closed", "acme/api", 5),
        ],
    ),
    "issues": (
        ("session_id", "ordinal", "issue", "impact", "label", "issue_id"),
        [
            ("s1", 0, "tests flaky", "high", "bug", None),
            ("s1", 1, "crash on start", "high", "bug", None),
            ("s1", 2, "readme stale", "low", "docs", None),
            ("s2", 0, "wrong output", "high", "bug", None),
            ("s6", 0, "empty db", "high", "bug", "iss-1"),
        ],
    ),
    "action_items": (
        ("session_id", "ordinal", "issue_id", "type", "action_item"),
        [
            ("s1", 0, "issue_1", "fix", "fix the tests"),
            ("s1", 1, "issue_2", "fix", "fix the crash"),
            ("s1", 2, None, "test", "add a test"),
            ("s2", 0, "issue_1", "fix", "fix the output"),
            ("s6", 0, "iss-1", "fix", "seed the db"),
        ],
    ),
    "timeline_events": (
        ("session_id", "ordinal", "title", "description"),
        [("s1", i, f"step {i}", "") for i in range(3)],
    ),
    "feedback_items": (
        ("session_id", "ordinal", "issue_id", "summary", "excerpt", "details"),
        [
            ("s1", 0, "issue_1", "be specific", "do it", "say which tests"),
            ("s1", 1, None, "give context", "", None),
            ("s2", 0, "issue_1", "name the file", "fix it", "which file?"),
        ],
    ),
    # People: u1 in org_a (named Alpha) and org_b (no organizations row: its id stands in);
    # u2 removed, without a name; u3 through an IdP group only, no sessions.
    "users": (
        (
            "user_id",
            "name",
            "email",
            "enterprise_role",
            "membership",
            "last_login",
            "removed_at",
            "api_version",
        ),
        [
            (
                "u1",
                "Ada Lovelace",
                "ada@example.com",
                "Enterprise Admin",
                "direct",
                utc(2024, 3, 4),
                None,
                "v3",
            ),
            ("u2", None, "grace@example.com", "Member", "direct", None, utc(2024, 3, 5), "v3"),
            ("u3", "Alan Turing", None, "Member", "idp", None, None, "v3"),
        ],
    ),
    "user_roles": (
        (
            "user_id",
            "ordinal",
            "role_id",
            "role_name",
            "role_type",
            "org_id",
            "via",
            "idp_group_name",
        ),
        [
            ("u1", 0, "role-ent-admin", "Enterprise Admin", "enterprise", None, "direct", None),
            ("u1", 1, "role-org-member", "Org Member", "org", "org_a", "direct", None),
            ("u3", 0, "role-org-member", "Org Member", "org", "org_a", "idp", "okta-eng"),
        ],
    ),
    "organizations": (
        ("org_id", "name", "created_at", "max_cycle_acu_limit", "api_version"),
        [
            ("org_a", "Alpha", utc(2023, 1, 1), 50, "v3"),
            ("org_c", "Gamma", utc(2023, 1, 1), None, "v3"),
        ],
    ),  # fmt: skip
    "org_members": (
        ("org_id", "user_id", "org_role", "org_role_name"),
        [
            ("org_a", "u1", "role-org-member", "Org Member"),
            ("org_b", "u1", "role-org-admin", "Org Admin"),
            ("org_a", "u3", "role-org-member", "Org Member"),
        ],
    ),
    # pb2 and n2 were removed; n3 is named by an analysis only; a plain-string use names none
    "playbooks": (
        ("playbook_id", "title", "access_type", "removed_at", "api_version"),
        [
            ("pb1", "Fix flaky tests", "enterprise", None, "v3"),
            ("pb2", "Write docs", "org", utc(2024, 3, 5), "v3"),
        ],
    ),
    "knowledge_notes": (
        ("note_id", "name", "folder_path", "is_enabled", "removed_at"),
        [
            ("n1", "Repo layout", "/", True, None),
            ("n2", "Old note", "/old", False, utc(2024, 3, 5)),
        ],
    ),
    "note_usages": (
        ("session_id", "kind", "ordinal", "note_id", "message", "reason"),
        [
            ("s6", "good", 0, "n1", "used it", "right"),
            ("s6", "good", 1, None, "a plain string", None),
            ("s6", "bad", 0, "n3", "misread it", "stale"),
            ("s6", "bad", 1, "n1", "too late", "slow"),
        ],
    ),
    # The bill: February's cycle (29 days) and March's, the current one, billed for 2 days so
    # far. Billing days start at 08:00 UTC: s3 (03-02 04:30 UTC) is on 03-01, s5 (03-02 08:00)
    # on 03-02. org_a has a cycle limit of 50 and is on course for 4.8 / 2 * 31 = 74.4.
    "consumption_cycles": (
        ("cycle_start", "cycle_end", "api_version"),
        [
            (utc(2024, 2, 1, 8), utc(2024, 3, 1, 8), "v3"),
            (utc(2024, 3, 1, 8), utc(2024, 4, 1, 8), "v3"),
        ],
    ),
    "consumption_daily": (
        ("billing_date", "scope", "scope_id", "product", "acus"),
        [
            (date(2024, 2, 1), "enterprise", "", "all", Decimal("4")),
            (date(2024, 2, 1), "enterprise", "", "devin", Decimal("3")),
            (date(2024, 2, 1), "enterprise", "", "cascade", Decimal("1")),
            (date(2024, 2, 2), "enterprise", "", "all", Decimal("6")),
            (date(2024, 2, 2), "enterprise", "", "devin", Decimal("6")),
            (date(2024, 2, 3), "enterprise", "", "all", Decimal("100")),
            (date(2024, 3, 1), "enterprise", "", "all", Decimal("9.5")),
            (date(2024, 3, 1), "enterprise", "", "devin", Decimal("8.2")),
            (date(2024, 3, 1), "enterprise", "", "cascade", Decimal("1.0")),
            (date(2024, 3, 1), "enterprise", "", "terminal", Decimal("0.3")),
            (date(2024, 3, 2), "enterprise", "", "all", Decimal("2.0")),
            (date(2024, 3, 2), "enterprise", "", "devin", Decimal("1.8")),
            (date(2024, 3, 2), "enterprise", "", "review", Decimal("0.2")),
            (date(2024, 3, 1), "organization", "org_a", "all", Decimal("3.0")),
            (date(2024, 3, 1), "organization", "org_b", "all", Decimal("5.2")),
            (date(2024, 3, 2), "organization", "org_a", "all", Decimal("1.8")),
            (date(2024, 2, 2), "user", "u1", "all", Decimal("6")),
            (date(2024, 3, 1), "user", "u1", "all", Decimal("3.5")),
            (date(2024, 3, 2), "user", "u2", "all", Decimal("1.5")),
        ],
    ),
    "active_users": (
        ("period", "start_time", "end_time", "active_users"),
        [
            ("day", utc(2024, 3, 1), datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC), 2),
            ("week", utc(2024, 2, 26), datetime(2024, 3, 3, 23, 59, 59, tzinfo=UTC), 2),
            ("month", utc(2024, 3, 1), datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC), 3),
        ],
    ),
    "quality_checks": (
        ("run_id", "check_name", "severity", "failing_rows", "sample", "checked_at"),
        [
            ("r1", "unique_keys", "error", 0, None, utc(2024, 3, 5, 1)),
            ("r2", "unique_keys", "error", 2, "sessions(a); sessions(b)", utc(2024, 3, 6, 1)),
            (
                "r2",
                "known_statuses",
                "error",
                None,
                "BinderException: no such column",
                utc(2024, 3, 6, 1),
            ),
        ],
    ),
}


def insert(con: duckdb.DuckDBPyConnection, data: dict[str, Any] = DATA) -> None:
    for table, (columns, values) in data.items():
        placeholders = ", ".join("?" for _ in columns)
        con.executemany(
            f"insert into {table} ({', '.join(columns)}) values ({placeholders})", values
        )


def build(path: Path, time_zone: str = "UTC", rows: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB file holding every table (with DATA unless rows=False) and every relation."""
    con = duckdb.connect(str(path))
    con.execute(f"set TimeZone = '{time_zone}'")
    create_tables(con)
    if rows:
        insert(con)
    load_sql(con)
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
    "v_people",
    "v_playbook_outcomes",
    "v_note_usage",
}


def test_every_relation_exists_after_loading(con: duckdb.DuckDBPyConnection) -> None:
    assert relation_names(con) == STAGING_NAMES | VIEW_NAMES
    assert REQUIRED_VIEWS <= VIEW_NAMES
    assert all(name.startswith("stg_") for name in STAGING_NAMES)
    assert all(name.startswith("v_") for name in VIEW_NAMES)


@pytest.mark.parametrize("path", RELATION_FILES, ids=lambda p: p.name)
def test_file_creates_exactly_the_relation_named_by_its_stem(path: Path) -> None:
    text = path.read_text()
    assert path.stem == path.stem.lower()
    assert re.findall(r"create or replace view (\w+) as", text) == [path.stem]
    # A staging file loads on the tables and the staging files before it (the pipeline's
    # order); a view file on the tables and the staging layer, without any other view.
    staging = path in STAGING_FILES
    before = STAGING_FILES[: STAGING_FILES.index(path)] if staging else STAGING_FILES
    con = duckdb.connect()
    create_tables(con)
    load_sql(con, before if staging else [*before, *AGGREGATE_FILES])
    con.execute(text)
    assert relation_names(con) == {p.stem for p in before} | {path.stem}
    con.execute(text)  # and loads again, as on every run


@pytest.mark.parametrize("path", VIEW_FILES, ids=lambda p: p.name)
def test_views_read_only_tables_and_staging(path: Path) -> None:
    read = relations_read(select_of(path))
    assert read, "the parser found no relation: the test would pass vacuously"
    allowed = TABLE_NAMES | STAGING_NAMES | AGGREGATE_NAMES
    assert read <= allowed, read - allowed


@pytest.mark.parametrize("path", STAGING_FILES, ids=lambda p: p.name)
def test_staging_reads_only_tables_and_earlier_staging(path: Path) -> None:
    earlier = {p.stem for p in STAGING_FILES[: STAGING_FILES.index(path)]}
    read = relations_read(select_of(path))
    assert read and read <= TABLE_NAMES | earlier, read - TABLE_NAMES - earlier


@pytest.mark.parametrize("path", [*SQL_FILES, *CHECK_FILES], ids=lambda p: p.name)
def test_no_cte_is_named_like_a_relation(path: Path) -> None:
    # DuckDB 1.1 rejects `with sessions as (select * from sessions)`: Circular reference to CTE
    names = cte_names(select_of(path))
    assert not names & (TABLE_NAMES | STAGING_NAMES | VIEW_NAMES)


def test_the_parser_sees_ctes_and_relations() -> None:
    sql = "with sessions as (select * from sessions) select * from sessions, stg_issues"
    assert cte_names(sql) == {"sessions"}
    assert relations_read(sql) == {"stg_issues"}


def test_views_work_on_empty_tables(tmp_path: Path) -> None:
    con = build(tmp_path / "empty.duckdb", rows=False)
    for name in STAGING_NAMES | VIEW_NAMES:
        assert rows(con, f"select * from {name}") == [], name


# --- comments -------------------------------------------------------------------------------


def test_every_relation_has_a_comment(con: duckdb.DuckDBPyConnection) -> None:
    comments = dict(rows(con, "select view_name, comment from duckdb_views() where not internal"))
    assert {name for name, comment in comments.items() if not comment} == set()


@pytest.mark.parametrize("view", sorted(VIEW_NAMES))
def test_every_view_column_has_a_comment(con: duckdb.DuckDBPyConnection, view: str) -> None:
    missing = rows(
        con,
        f"select column_name from duckdb_columns() where table_name = '{view}' "
        "and coalesce(comment, '') = ''",
    )
    assert missing == []


def test_comments_survive_reloading(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with build(tmp_path / "twice.duckdb") as again:
        load_sql(again)
        assert rows(again, "select view_name, comment from duckdb_views() order by 1") == rows(
            con, "select view_name, comment from duckdb_views() order by 1"
        )


# --- columns and types ----------------------------------------------------------------------

COUNT, RATE = "BIGINT", "DOUBLE"
TSTZ = "TIMESTAMP WITH TIME ZONE"
SESSION_TYPES = {c.name: c.duckdb_type for c in SESSIONS.columns} | {"acus_consumed": ACUS}

VIEW_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "v_sessions": [
        *SESSION_TYPES.items(),
        ("created_date", "DATE"),
        ("duration_minutes", "DOUBLE"),
        ("is_ended", "BOOLEAN"),
        ("is_deleted", "BOOLEAN"),
        ("pr_count", COUNT),
        ("merged_pr_count", COUNT),
        ("closed_pr_count", COUNT),
        ("issue_count", COUNT),
        ("action_item_count", COUNT),
        ("timeline_event_count", COUNT),
        ("feedback_item_count", COUNT),
        ("user_name", "VARCHAR"),
        ("user_email", "VARCHAR"),
        ("org_name", "VARCHAR"),
    ],
    "v_daily_usage": [
        ("created_date", "DATE"),
        ("org_id", "VARCHAR"),
        ("sessions", COUNT),
        ("acus", ACU_SUM),
        ("sessions_with_merged_pr", COUNT),
        ("prs_opened", COUNT),
        ("prs_merged", COUNT),
    ],
    "v_user_usage": [
        ("user_id", "VARCHAR"),
        ("sessions", COUNT),
        ("acus", ACU_SUM),
        ("prs_opened", COUNT),
        ("prs_merged", COUNT),
        ("prs_closed", COUNT),
        ("merge_rate", RATE),
        ("acus_per_merged_pr", ACUS),
        ("name", "VARCHAR"),
        ("email", "VARCHAR"),
    ],
    "v_people": [
        ("user_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("enterprise_role", "VARCHAR"),
        ("membership", "VARCHAR"),
        ("orgs", "VARCHAR"),
        ("org_count", COUNT),
        ("sessions", COUNT),
        ("session_acus", ACU_SUM),
        ("billed_acus_current_cycle", ACU_SUM),
        ("last_session_at", TSTZ),
        ("last_login", TSTZ),
        ("removed_at", TSTZ),
        ("is_removed", "BOOLEAN"),
        ("api_version", "VARCHAR"),
    ],
    "v_playbook_outcomes": [
        ("playbook_id", "VARCHAR"),
        ("title", "VARCHAR"),
        ("access_type", "VARCHAR"),
        ("org_id", "VARCHAR"),
        ("removed_at", TSTZ),
        ("sessions", COUNT),
        ("acus", ACU_SUM),
        ("prs_opened", COUNT),
        ("prs_merged", COUNT),
        ("prs_closed", COUNT),
        ("merge_rate", RATE),
    ],
    "v_note_usage": [
        ("note_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("folder_path", "VARCHAR"),
        ("is_enabled", "BOOLEAN"),
        ("removed_at", TSTZ),
        ("good_uses", COUNT),
        ("bad_uses", COUNT),
        ("sessions", COUNT),
    ],
    "v_pull_requests": [
        *((c.name, c.type) for c in BY_NAME["pull_requests"].columns),
        ("is_merged", "BOOLEAN"),
        ("is_closed", "BOOLEAN"),
        ("org_id", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("session_created_at", TSTZ),
        ("acus_consumed", ACUS),
        ("session_status", "VARCHAR"),
    ],
    "v_repo_outcomes": [
        ("repo", "VARCHAR"),
        ("prs", COUNT),
        ("merged", COUNT),
        ("closed", COUNT),
        ("merge_rate", RATE),
        ("sessions", COUNT),
        ("acus_spent", ACU_SUM),
        ("acus_attributed", ACU_SUM),
    ],
    "v_issue_labels": [
        ("label", "VARCHAR"),
        ("impact", "VARCHAR"),
        ("issues", COUNT),
        ("sessions_affected", COUNT),
        ("acus_in_sessions", ACU_SUM),
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
    "v_consumption_daily": [
        ("billing_date", "DATE"),
        ("cycle_start_date", "DATE"),
        ("billed_acus", ACU_SUM),
        ("devin_acus", ACU_SUM),
        ("cascade_acus", ACU_SUM),
        ("terminal_acus", ACU_SUM),
        ("review_acus", ACU_SUM),
        ("sessions", COUNT),
        ("session_acus", ACU_SUM),
    ],
    "v_billing_cycles": [
        ("cycle_start", TSTZ),
        ("cycle_end", TSTZ),
        ("start_date", "DATE"),
        ("end_date", "DATE"),
        ("is_current", "BOOLEAN"),
        ("days_in_cycle", COUNT),
        ("days_elapsed", COUNT),
        ("billed_acus", ACU_SUM),
        ("forecast_acus", ACU_SUM),
        ("previous_cycle_acus_same_day", ACU_SUM),
        ("sessions", COUNT),
        ("session_acus", ACU_SUM),
        ("orgs_with_limit", COUNT),
        ("org_cycle_limits", COUNT),
        ("orgs_forecast_over_limit", COUNT),
    ],
    "v_active_users": [
        ("period", "VARCHAR"),
        ("period_start_date", "DATE"),
        ("start_time", TSTZ),
        ("end_time", TSTZ),
        ("active_users", COUNT),
    ],
    "v_quality_checks": [
        *((c.name, c.duckdb_type) for c in BY_NAME["quality_checks"].columns),
        ("outcome", "VARCHAR"),
        ("is_latest_run", "BOOLEAN"),
    ],
}


def test_every_view_has_its_columns_checked() -> None:
    assert set(VIEW_COLUMNS) == VIEW_NAMES


@pytest.mark.parametrize("view", sorted(VIEW_COLUMNS))
def test_view_columns_and_types(con: duckdb.DuckDBPyConnection, view: str) -> None:
    described = rows(con, f"select column_name, column_type from (describe {view})")
    assert described == VIEW_COLUMNS[view]


def test_stg_sessions_keeps_every_session_column(con: duckdb.DuckDBPyConnection) -> None:
    described = [name for (name,) in rows(con, "select column_name from (describe stg_sessions)")]
    assert described[: len(SESSIONS.columns)] == SESSIONS.column_names


# --- exact ACUs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "column"),
    [(v, c) for v, columns in VIEW_COLUMNS.items() for c, _ in columns if "acu" in c],
)
def test_acu_figures_are_decimals(view: str, column: str) -> None:
    # DECIMAL sums are exact: no 15.870000000000001 in a figure an admin reads
    assert dict(VIEW_COLUMNS[view])[column].startswith("DECIMAL("), (view, column)


def test_every_acu_column_is_known(con: duckdb.DuckDBPyConnection) -> None:
    found = rows(
        con,
        "select table_name, column_name from duckdb_columns() "
        "where table_name like 'v\\_%' escape '\\' and column_name like '%acu%' order by all",
    )
    expected = sorted((v, c) for v, cs in VIEW_COLUMNS.items() for c, _ in cs if "acu" in c)
    assert found == expected


def test_a_float_sum_comes_out_exact(con: duckdb.DuckDBPyConnection) -> None:
    # s5 and s6: 0.2 + 0.1 is 0.30000000000000004 in binary floating point
    assert (
        scalar(con, "select sum(acus_consumed) from sessions where session_id in ('s5', 's6')")
        != 0.3
    )
    acus = scalar(
        con, "select acus from v_daily_usage where created_date = '2024-03-02' and org_id = 'org_a'"
    )
    assert acus == Decimal("0.3")
    assert str(acus) == "0.300000"


def test_acus_that_a_decimal_cannot_hold_become_null(tmp_path: Path) -> None:
    con = build(tmp_path / "odd.duckdb", rows=False)
    con.execute(
        "insert into sessions (session_id, acus_consumed) values "
        "('nan', 'nan'), ('inf', 'inf'), ('huge', 1e300), ('fine', 1.25)"
    )
    assert rows(con, "select session_id, acus_consumed from stg_sessions order by 1") == [
        ("fine", Decimal("1.25")),
        ("huge", None),
        ("inf", None),
        ("nan", None),
    ]
    for name in VIEW_NAMES:
        rows(con, f"select * from {name}")  # no view fails on them


# --- invariants (jaffle_shop's schema.yml tests, in pytest) --------------------------------

# relation -> (key, columns that are never NULL)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stg_sessions": (
        ("session_id",),
        ("session_id", "created_date", "is_ended", "is_deleted", "duration_minutes"),
    ),
    "stg_pull_requests": (
        ("session_id", "ordinal"),
        ("session_id", "ordinal", "is_merged", "is_closed", "is_resolved"),
    ),
    "stg_issues": (("session_id", "ordinal"), ("session_id", "ordinal", "issue_ref")),
    "stg_pull_requests_by_session": (
        ("session_id",),
        ("session_id", "pr_count", "merged_pr_count", "closed_pr_count", "resolved_pr_count"),
    ),
    "stg_sessions_with_prs": (
        ("session_id",),
        ("session_id", "created_date", "prs_opened", "prs_merged", "prs_closed", "prs_resolved"),
    ),
    "stg_session_counts": (
        ("session_id",),
        (
            "session_id",
            "pr_count",
            "merged_pr_count",
            "closed_pr_count",
            "resolved_pr_count",
            "has_merged_pr",
            "issue_count",
            "action_item_count",
            "timeline_event_count",
            "feedback_item_count",
        ),
    ),
    "v_sessions": (
        ("session_id",),
        (
            "session_id",
            "created_date",
            "is_ended",
            "is_deleted",
            "pr_count",
            "merged_pr_count",
            "closed_pr_count",
            "issue_count",
            "action_item_count",
            "timeline_event_count",
            "feedback_item_count",
        ),
    ),
    "v_daily_usage": (
        ("created_date", "org_id"),
        ("created_date", "org_id", "sessions", "sessions_with_merged_pr", "prs_opened"),
    ),
    # NULL user_id, repo and type are rows of their own, so those keys may be NULL.
    "v_user_usage": (("user_id",), ("sessions", "prs_opened", "prs_merged", "prs_closed")),
    "v_pull_requests": (
        ("session_id", "ordinal"),
        ("session_id", "ordinal", "is_merged", "is_closed"),
    ),
    "v_repo_outcomes": (("repo",), ("prs", "merged", "closed", "sessions")),
    "v_issue_labels": (("label", "impact"), ("label", "impact", "issues", "sessions_affected")),
    "v_action_items": (("type",), ("items", "sessions")),
    "v_prompt_feedback": (("session_id", "ordinal"), ("session_id", "ordinal")),
    "v_people": (
        ("user_id",),
        (
            "user_id",
            "org_count",
            "sessions",
            "session_acus",
            "is_removed",
            "billed_acus_current_cycle",
        ),
    ),
    "v_consumption_daily": (("billing_date",), ("billing_date", "sessions")),
    "v_billing_cycles": (
        ("cycle_start",),
        ("cycle_start", "is_current", "days_in_cycle", "days_elapsed", "sessions"),
    ),
    "v_active_users": (("period", "start_time"), ("period", "start_time", "period_start_date")),
    "v_playbook_outcomes": (
        ("playbook_id",),
        ("playbook_id", "sessions", "acus", "prs_opened", "prs_merged", "prs_closed"),
    ),
    "v_note_usage": (("note_id",), ("note_id", "good_uses", "bad_uses", "sessions")),
    "v_quality_checks": (
        ("run_id", "check_name"),
        ("run_id", "check_name", "outcome", "is_latest_run"),
    ),
}


def test_every_relation_has_its_key_checked() -> None:
    assert set(KEYS) == STAGING_NAMES | VIEW_NAMES


@pytest.mark.parametrize("relation", sorted(KEYS))
def test_key_is_unique(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    key = ", ".join(KEYS[relation][0])
    # group by treats NULLs as equal, so a duplicated NULL key is caught too
    duplicates = rows(
        con, f"select {key}, count(*) from {relation} group by {key} having count(*) > 1"
    )
    assert duplicates == []
    assert scalar(con, f"select count(*) from {relation}") > 0


@pytest.mark.parametrize("relation", sorted(KEYS))
def test_not_null(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    for column in KEYS[relation][1]:
        assert scalar(con, f"select count(*) from {relation} where {column} is null") == 0, column


@pytest.mark.parametrize(
    ("view", "column"),
    [("v_user_usage", "merge_rate"), ("v_repo_outcomes", "merge_rate")],
)
def test_rates_are_between_0_and_1(con: duckdb.DuckDBPyConnection, view: str, column: str) -> None:
    assert scalar(con, f"select count(*) from {view} where not ({column} between 0 and 1)") == 0
    assert scalar(con, f"select count(*) from {view} where {column} is not null") > 0


EXACT_ACUS = "select sum(acus_consumed::decimal(18, 6)) from sessions"


@pytest.mark.parametrize(
    ("view_sql", "table_sql"),
    [
        ("select count(*) from v_sessions", "select count(*) from sessions"),
        ("select sum(sessions) from v_daily_usage", "select count(*) from sessions"),
        ("select sum(sessions) from v_user_usage", "select count(*) from sessions"),
        ("select sum(acus_consumed) from v_sessions", EXACT_ACUS),
        ("select sum(acus) from v_daily_usage", EXACT_ACUS),
        ("select sum(acus) from v_user_usage", EXACT_ACUS),
        # attributed ACUs count each session with PRs once, whatever its repos
        (
            "select sum(acus_attributed) from v_repo_outcomes",
            f"{EXACT_ACUS} where session_id in (select session_id from pull_requests)",
        ),
        ("select sum(pr_count) from v_sessions", "select count(*) from pull_requests"),
        ("select sum(prs_opened) from v_daily_usage", "select count(*) from pull_requests"),
        ("select count(*) from v_pull_requests", "select count(*) from pull_requests"),
        ("select sum(prs) from v_repo_outcomes", "select count(*) from pull_requests"),
        ("select sum(prs_opened) from v_user_usage", "select count(*) from pull_requests"),
        (
            "select sum(merged_pr_count) from v_sessions",
            "select count(*) from pull_requests where lower(state) = 'merged'",
        ),
        (
            "select sum(prs_merged) from v_user_usage",
            "select count(*) from pull_requests where lower(state) = 'merged'",
        ),
        (
            "select sum(closed) from v_repo_outcomes",
            "select count(*) from pull_requests where lower(state) = 'closed'",
        ),
        ("select sum(issue_count) from v_sessions", "select count(*) from issues"),
        ("select sum(issues) from v_issue_labels", "select count(*) from issues"),
        ("select sum(items) from v_action_items", "select count(*) from action_items"),
        ("select sum(feedback_item_count) from v_sessions", "select count(*) from feedback_items"),
        ("select count(*) from v_prompt_feedback", "select count(*) from feedback_items"),
        ("select count(*) from v_quality_checks", "select count(*) from quality_checks"),
    ],
)
def test_totals_in_views_equal_totals_in_tables(
    con: duckdb.DuckDBPyConnection, view_sql: str, table_sql: str
) -> None:
    in_view, in_table = scalar(con, view_sql), scalar(con, table_sql)
    assert in_view == in_table
    assert type(in_view) is type(in_table)  # Decimal ACUs stay Decimal


# --- exact rows -----------------------------------------------------------------------------

D = Decimal


def test_v_sessions(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        con,
        """
        select
            session_id,
            created_date,
            duration_minutes,
            is_ended,
            is_deleted,
            pr_count,
            merged_pr_count,
            closed_pr_count,
            issue_count,
            action_item_count,
            timeline_event_count,
            feedback_item_count
        from v_sessions
        order by session_id
        """,
    )
    assert got == [
        # ended at 10:30: the late analysis that moved updated_at to 12:00 does not count
        ("s1", date(2024, 3, 1), 30.0, True, False, 2, 1, 0, 3, 3, 3, 2),
        # running: up to updated_at
        ("s2", date(2024, 3, 1), 60.0, False, False, 3, 1, 1, 1, 1, 0, 1),
        # 23:30 at UTC-5 is the next day in UTC; no ended_at stored: up to updated_at
        ("s3", date(2024, 3, 2), 2 * 24 * 60.0, True, False, 0, 0, 0, 0, 0, 0, 0),
        ("s4", date(2024, 3, 2), 15.0, True, False, 2, 0, 0, 0, 0, 0, 0),
        ("s5", date(2024, 3, 2), 6.0, True, False, 1, 1, 0, 0, 0, 0, 0),
        # v3 status_detail finished ends it; deleted sessions stay, flagged
        ("s6", date(2024, 3, 2), 45.0, True, True, 1, 0, 1, 1, 1, 0, 0),
    ]


def test_v_sessions_keeps_every_session_column(con: duckdb.DuckDBPyConnection) -> None:
    columns = ", ".join(SESSIONS.column_names)
    # the same values, acus_consumed as the decimal the table's double stands for
    stored = columns.replace("acus_consumed", "acus_consumed::decimal(18, 6)")
    assert rows(con, f"select {columns} from v_sessions order by session_id") == rows(
        con, f"select {stored} from sessions order by session_id"
    )


def test_v_daily_usage(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_daily_usage order by created_date, org_id")
    assert got == [
        (date(2024, 3, 1), "org_a", 2, D("3"), 2, 5, 2),
        # s6 is deleted and still counted: its ACUs were spent
        (date(2024, 3, 2), "org_a", 2, D("0.3"), 1, 2, 1),
        (date(2024, 3, 2), "org_b", 2, D("6.5"), 0, 2, 0),
    ]


def test_v_user_usage(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_user_usage order by user_id nulls last")
    assert got == [
        # each session's ACUs once, however many PRs it opened; s1's and s2's open PRs are
        # not failures yet: merge rate 2 merged / (2 merged + 1 closed)
        (
            "u1",
            2,
            D("3"),
            5,
            2,
            1,
            pytest.approx(2 / 3),
            D("1.5"),
            "Ada Lovelace",
            "ada@example.com",
        ),
        # removed from the enterprise, and without a name: still their sessions and email
        ("u2", 3, D("1.8"), 4, 1, 1, 0.5, D("1.8"), None, "grace@example.com"),
        # no PRs: rates are NULL, not a division error
        (None, 1, D("5"), 0, 0, 0, None, None, None, None),
    ]


def test_v_people(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_people order by user_id")
    assert got == [
        # orgs by name, an org organizations do not name by its id
        # billed in the current cycle (March): 3.5, February's 6 left out
        ("u1", "Ada Lovelace", "ada@example.com", "Enterprise Admin", "direct", "Alpha, org_b", 2,
         2, D("3"), D("3.5"), utc(2024, 3, 1, 12), utc(2024, 3, 4), None, False, "v3"),
        # removed: kept, with the sessions they created (s6 deleted, still counted)
        ("u2", None, "grace@example.com", "Member", "direct", None, 0, 3, D("1.8"), D("1.5"),
         utc(2024, 3, 2, 10), None, utc(2024, 3, 5), True, "v3"),
        # no session, not on the bill: zeros, not NULLs
        ("u3", "Alan Turing", None, "Member", "idp", "Alpha", 1, 0, D("0"), D("0"), None, None,
         None, False, "v3"),
    ]  # fmt: skip


def test_v_people_without_the_bill_says_null(tmp_path: Path) -> None:
    with build(tmp_path / "nobill.duckdb") as con:
        con.execute("delete from consumption_cycles")
        got = rows(con, "select billed_acus_current_cycle from v_people")
    assert got == [(None,)] * 3  # not exported: unknown, not zero


def test_v_consumption_daily(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_consumption_daily order by billing_date")
    assert got == [
        (date(2024, 2, 1), date(2024, 2, 1), D("4"), D("3"), D("1"), None, None, 0, None),
        (date(2024, 2, 2), date(2024, 2, 1), D("6"), D("6"), None, None, None, 0, None),
        (date(2024, 2, 3), date(2024, 2, 1), D("100"), None, None, None, None, 0, None),
        # s1, s2 and s3 (created 03-02 04:30 UTC: before 08:00, still 03-01's billing day)
        (date(2024, 3, 1), date(2024, 3, 1), D("9.5"), D("8.2"), D("1.0"), D("0.3"), None, 3,
         D("8")),
        # s5 created at 08:00 UTC sharp: the new billing day
        (date(2024, 3, 2), date(2024, 3, 1), D("2.0"), D("1.8"), None, None, D("0.2"), 3,
         D("1.8")),
    ]  # fmt: skip


def test_v_billing_cycles(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_billing_cycles order by cycle_start")
    assert got == [
        (utc(2024, 2, 1, 8), utc(2024, 3, 1, 8), date(2024, 2, 1), date(2024, 3, 1), False, 29,
         3, D("110"), D("1063.333333"), None, 0, None, 1, 50, 0),
        # so far 2 of 31 days: 11.5, on course for 178.25; February had 10 after 2 days; org_a
        # is on course for 74.4 against its limit of 50
        (utc(2024, 3, 1, 8), utc(2024, 4, 1, 8), date(2024, 3, 1), date(2024, 4, 1), True, 31,
         2, D("11.5"), D("178.25"), D("10"), 6, D("9.8"), 1, 50, 1),
    ]  # fmt: skip


def test_v_active_users(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select period, period_start_date, active_users from v_active_users "
                    "order by start_time, period")  # fmt: skip
    assert got == [("week", date(2024, 2, 26), 2), ("day", date(2024, 3, 1), 2),
                   ("month", date(2024, 3, 1), 3)]  # fmt: skip


def test_v_playbook_outcomes(tmp_path: Path) -> None:
    with build(tmp_path / "books.duckdb") as con:
        # s1 and s5 ran pb1; s6 a playbook the listing does not hold
        con.execute("update sessions set playbook_id = 'pb1' where session_id in ('s1', 's5')")
        con.execute("update sessions set playbook_id = 'pb9' where session_id = 's6'")
        # a hand edit: its aggregate made again, as a run keeps it
        load_sql(con, [p for p in SQL_FILES if p.stem == "agg_playbooks"])
        got = rows(con, "select * from v_playbook_outcomes order by playbook_id")
    assert got == [
        # s1: 2 PRs (merged, open), s5: 1 merged; 2.0 + 0.2 ACUs
        ("pb1", "Fix flaky tests", "enterprise", None, None, 2, D("2.2"), 3, 2, 0, 1.0),
        # removed, never run: zeros, no rate
        ("pb2", "Write docs", "org", None, utc(2024, 3, 5), 0, D("0"), 0, 0, 0, None),
        # named by a session only: no title; its one PR closed
        ("pb9", None, None, None, None, 1, D("0.1"), 1, 0, 1, 0.0),
    ]


def test_v_note_usage(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_note_usage order by note_id")
    assert got == [
        ("n1", "Repo layout", "/", True, None, 1, 1, 1),
        ("n2", "Old note", "/old", False, utc(2024, 3, 5), 0, 0, 0),
        ("n3", None, None, None, None, 0, 1, 1),  # an analysis names it, the listing does not
    ]
    # the plain-string use names no note: counted nowhere
    assert scalar(con, "select sum(good_uses + bad_uses) from v_note_usage") == 3


def test_v_sessions_names_users_and_orgs(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select session_id, user_name, user_email, org_name from v_sessions order by 1")
    assert got == [
        ("s1", "Ada Lovelace", "ada@example.com", "Alpha"),
        ("s2", "Ada Lovelace", "ada@example.com", "Alpha"),
        ("s3", None, None, None),  # no user; org_b is no organization known
        ("s4", None, "grace@example.com", None),
        ("s5", None, "grace@example.com", "Alpha"),
        ("s6", None, "grace@example.com", "Alpha"),
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
            is_closed,
            org_id,
            user_id,
            session_created_at,
            acus_consumed,
            session_status
        from v_pull_requests
        order by session_id, ordinal
        """,
    )
    s1, s2, s4, s5, s6 = (
        utc(2024, 3, 1, 10),
        utc(2024, 3, 1, 12),
        utc(2024, 3, 2, 9),
        utc(2024, 3, 2, 8),
        utc(2024, 3, 2, 10),
    )
    assert got == [
        ("s1", 0, "merged", "acme/api", 1, True, False, "org_a", "u1", s1, D("2"), "exit"),
        ("s1", 1, "open", "acme/api", 2, False, False, "org_a", "u1", s1, D("2"), "exit"),
        ("s2", 0, "MERGED", "group/web", 7, True, False, "org_a", "u1", s2, D("1"), "running"),
        ("s2", 1, "closed", "acme/api", 3, False, True, "org_a", "u1", s2, D("1"), "running"),
        ("s2", 2, "open", "group/web", 8, False, False, "org_a", "u1", s2, D("1"), "running"),
        ("s4", 0, "open", None, None, False, False, "org_b", "u2", s4, D("1.5"), "error"),
        ("s4", 1, None, None, None, False, False, "org_b", "u2", s4, D("1.5"), "error"),
        ("s5", 0, "merged", "acme/api", 4, True, False, "org_a", "u2", s5, D("0.2"), "exit"),
        ("s6", 0, "closed", "acme/api", 5, False, True, "org_a", "u2", s6, D("0.1"), "running"),
    ]


def test_v_repo_outcomes(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_repo_outcomes order by repo nulls last")
    assert got == [
        # s1 opened 2 PRs here: its 2.0 ACUs count once (2.0 + 1.0 + 0.2 + 0.1); of s2's
        # 1.0, a third is attributed here (one of its 3 PRs), rounded down to 6 decimals
        ("acme/api", 5, 2, 2, 0.5, 4, D("3.3"), D("2.633333")),
        # ...and two thirds here, with the millionth left over: its repo with the most PRs
        ("group/web", 2, 1, 0, 1.0, 1, D("1"), D("0.666667")),
        # unparsed URLs are one row, with s4's ACUs once; nothing merged or closed: no rate
        (None, 2, 0, 0, None, 1, D("1.5"), D("1.5")),
    ]


def test_v_issue_labels(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_issue_labels order by label, impact")
    assert got == [
        # 2 issues in s1, 1 in s2, 1 in s6: ACUs of s1, s2 and s6 once each
        ("bug", "high", 4, 3, D("3.1")),
        ("docs", "low", 1, 1, D("2")),
    ]


def test_v_action_items(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_action_items order by type")
    assert got == [("fix", 4, 3), ("test", 1, 1)]


def text_key(con: duckdb.DuckDBPyConnection, text: str) -> str:
    return str(con.execute("select text_key(?)", [text]).fetchall()[0][0])


# Texts text_key's fast path must tell apart: words with every kind of space, the punctuation
# it strips, combining marks, CJK and Arabic stops and Hangul jamo between them and at either end.
KEY_WORDS = ["ab", "Zc", "Err", " ", "  ", ";", "\t", "\n", "\r", "\x0b", "\f", "\x85", "\xa0",
             "\u2003", "\u3000", "e\u0301", "\u212b", "、", "\u1100\u1161", "İ"]  # fmt: skip
KEY_ENDS = [
    "",
    "",
    "",
    " ",
    "  ",
    "\t",
    "\r",
    ".",
    "...",
    "?",
    "!",
    ":",
    "…",
    "。",
    "؟",
    "\xa0",
    "\u3000",
]
KEY_TEXTS = st.builds(
    lambda start, words, end: start + "".join(words) + end,
    st.sampled_from(KEY_ENDS),
    st.lists(st.sampled_from(KEY_WORDS), max_size=4),
    st.sampled_from(KEY_ENDS),
)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(KEY_TEXTS, min_size=1, max_size=40))
@example(texts=[" ab", "ab  Zc", "Zc?", "a\rb", "ab,", "a\x0bb", "\tab", "ab;"])
def test_text_keys_fast_path_gives_every_step_s_key(texts: list[str]) -> None:
    """text_key takes plain ASCII texts by lower() alone: for any text, what it gives must be
    what every step (NFC, spaces, end punctuation, ltrim, lower) would have given."""
    con = duckdb.connect()
    con.execute("create table issues (session_id varchar, ordinal int, issue varchar, "
                "impact varchar, label varchar, issue_id varchar)")  # fmt: skip
    con.execute((SQL_DIR / "staging" / "stg_issues.sql").read_text())
    got = con.execute(
        "select t, text_key_unbounded(t), "
        "lower(ltrim(text_key_end(text_key_spaces(text_key_nfc(t))))) from unnest(?) u(t)",
        [texts],
    ).fetchall()
    assert [(t, slow) for t, _, slow in got] == [(t, fast) for t, fast, _ in got]


def test_a_label_of_a_pasted_log_groups_by_a_bounded_key_and_shows_cut(tmp_path: Path) -> None:
    """A label may be a whole pasted log (35 kB): text_key keeps the first 300 characters of
    its key and the md5 of the whole, so two logs alike in their first 300 characters (or in
    all but their end) stay two groups, the same log in another case and spacing is one, and
    no key nor spelling the aggregate tables hold is longer than that."""
    log = pasted_log()
    first, second = log + " exit 1", log + " exit 2"
    shouting = " " + "".join(c.upper() if c.isascii() else c for c in first)
    shouting = shouting.replace("\n", " \t ") + " ..."  # the same words to text_key
    with build(tmp_path / "long.duckdb") as con:
        keys = [text_key(con, text) for text in (first, shouting, second)]
        assert keys[0] == keys[1] != keys[2] and keys[0][:300] == keys[2][:300]
        assert [len(k) for k in keys] == [333, 333, 333]  # 300, '…' and 32 hex digits
        # up to 300 characters a key is the text's own
        assert text_key(con, "Ab" * 150) == "ab" * 150
        longer = "ab" * 150 + "c"
        assert (
            text_key(con, "Ab" * 150 + "C") == longer[:300] + "…" + md5(longer.encode()).hexdigest()
        )
        spelled = [first, shouting, shouting, second]
        con.executemany("insert into issues values ('s1', ?, 'pasted', ?, ?, null)",
                        [[10 + i, text, text] for i, text in enumerate(spelled)])  # fmt: skip
        con.executemany("insert into action_items values ('s1', ?, null, ?, 'x')",
                        [[10 + i, text] for i, text in enumerate(spelled)])  # fmt: skip
        load_sql(con, AGGREGATE_FILES)  # a hand edit: the aggregates made again, as a run would

        def cut(text: str) -> str:
            return text[:300] + "…"

        # each group in its most common spelling, cut to 300 characters
        labels = rows(con, "select label, impact, issues, sessions_affected from v_issue_labels "
                           "where length(label) > 300 order by issues desc")  # fmt: skip
        assert labels == [(cut(shouting), cut(shouting), 3, 1), (cut(second), cut(second), 1, 1)]
        types = rows(con, "select type, items from v_action_items where length(type) > 300 "
                          "order by items desc")  # fmt: skip
        assert types == [(cut(shouting), 3), (cut(second), 1)]
        # the report ranks the groups by key and names them as the views do
        pairs = [(r["label"], r["issues"]) for r in issue_pairs(con).rows if len(r["label"]) > 300]
        assert pairs == [(cut(shouting), 3), (cut(second), 1)]
        assert scalar(con, "select max(length(text)) from agg_spellings") == 301
        assert scalar(con, "select max(greatest(length(label_key), length(impact_key))) "
                           "from agg_issue_labels") == 333  # fmt: skip
        assert scalar(con, "select max(length(type_key)) from agg_action_types") == 333


def test_v_prompt_feedback(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select * from v_prompt_feedback order by session_id, ordinal")
    s1, s2 = utc(2024, 3, 1, 10), utc(2024, 3, 1, 12)
    assert got == [
        (
            "s1",
            0,
            "issue_1",
            "be specific",
            "do it",
            "say which tests",
            "p1",
            "sp1",
            "org_a",
            "u1",
            s1,
        ),
        ("s1", 1, None, "give context", "", None, "p1", "sp1", "org_a", "u1", s1),
        (
            "s2",
            0,
            "issue_1",
            "name the file",
            "fix it",
            "which file?",
            "p2",
            None,
            "org_a",
            "u1",
            s2,
        ),
    ]


def test_v_quality_checks(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(
        con,
        "select run_id, check_name, outcome, is_latest_run from v_quality_checks order by all",
    )
    assert got == [
        ("r1", "unique_keys", "passed", False),
        ("r2", "known_statuses", "broken", True),
        ("r2", "unique_keys", "failed", True),
    ]


def test_stg_issues_numbers_v2_issues_from_1(con: duckdb.DuckDBPyConnection) -> None:
    got = rows(con, "select session_id, ordinal, issue_ref from stg_issues order by all")
    assert got == [
        ("s1", 0, "issue_1"),
        ("s1", 1, "issue_2"),
        ("s1", 2, "issue_3"),
        ("s2", 0, "issue_1"),
        ("s6", 0, "iss-1"),  # v3: the issue's own id
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
        (date(2024, 3, 2), "org_b", 2, D("6.5"), 0, 2, 0),
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
