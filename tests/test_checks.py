"""The data-quality checks of sql/checks, run by pipeline.checks.

A clean warehouse where no check flags anything; for each check, the same warehouse with its
problems planted, where that check flags exactly the planted rows and every other check stays
quiet; checks never change stored data; a check whose SQL fails is recorded, not raised."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.checks import (
    SAMPLE_SEPARATOR,
    SAMPLE_SIZE,
    Check,
    CheckResult,
    evaluate,
    failed,
    load_checks,
    parse_check,
    run_checks,
)
from pipeline.schema import BY_NAME, QUALITY_CHECKS, TABLES
from tests.test_views import CHECK_FILES, STAGING_FILES, relations_read, select_of

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
CHECK_NAMES = sorted(p.stem for p in CHECK_FILES)

Rows = dict[str, list[dict[str, Any]]]


def session(session_id: str, **values: Any) -> dict[str, Any]:
    """A valid v2 session that ended a month ago and has its analysis; values override."""
    return {
        "session_id": session_id,
        "url": f"https://app.devin.ai/sessions/{session_id}",
        "status": "exit",
        "org_id": "org_a",
        "user_id": "u1",
        "created_at": NOW - 30 * DAY,
        "ended_at": NOW - 30 * DAY + HOUR,
        "updated_at": NOW - 20 * DAY,  # a late analysis moved it
        "acus_consumed": 2.5,
        "has_session_analysis": True,
        "api_version": "v2",
    } | values


V3 = {"api_version": "v3", "num_user_messages": 3, "num_devin_messages": 4, "session_size": "s"}


def clean_rows() -> Rows:
    """Valid rows in every table, including the edge cases no check may flag."""
    return {
        "sessions": [
            session("c1"),
            # v3, still running, no analysis yet
            session(
                "c2",
                status="running",
                status_detail="working",
                ended_at=None,
                updated_at=NOW - HOUR,
                has_session_analysis=False,
                acus_consumed=0.1,
                user_id=None,
                **V3,
            ),
            # ended 6 days ago without analysis: not overdue yet
            session(
                "c3",
                status="error",
                created_at=NOW - 6 * DAY - HOUR,
                ended_at=NOW - 6 * DAY,
                updated_at=NOW - 6 * DAY,
                has_session_analysis=False,
                acus_consumed=0.0,
            ),
            # ended long ago without analysis, but deleted: it will never get one
            session("c4", has_session_analysis=False, deleted_at=NOW - 2 * DAY, **V3),
            # suspended for days, without analysis: not ended
            session(
                "c5",
                status="suspended",
                ended_at=None,
                has_session_analysis=False,
                acus_consumed=12.25,
            ),
        ],
        "session_tags": [{"session_id": "c1", "ordinal": 0, "tag": "billing"}],
        "pull_requests": [
            {"session_id": "c1", "ordinal": 0, "url": "https://github.com/a/b/pull/1", "state": "merged", "repo": "a/b", "pr_number": 1},
            {"session_id": "c1", "ordinal": 1, "url": "https://github.com/a/b/pull/2", "state": "open", "repo": "a/b", "pr_number": 2},
            {"session_id": "c2", "ordinal": 0, "url": "https://example.com/x", "state": None},
            {"session_id": "c2", "ordinal": 1, "url": "https://github.com/a/c/pull/3", "state": "closed", "repo": "a/c", "pr_number": 3},
        ],
        "issues": [
            {"session_id": "c1", "ordinal": 0, "issue": "flaky", "impact": "High", "label": "tests"},
            {"session_id": "c1", "ordinal": 1, "issue": "slow", "impact": "Low", "label": "env"},
            {"session_id": "c2", "ordinal": 0, "issue": "no db", "impact": "High", "label": "env", "issue_id": "iss-1"},
        ],
        "action_items": [
            # v2 numbers issues from 1
            {"session_id": "c1", "ordinal": 0, "issue_id": "issue_1", "type": "fix", "action_item": "a"},
            {"session_id": "c1", "ordinal": 1, "issue_id": "issue_2", "type": "fix", "action_item": "b"},
            {"session_id": "c1", "ordinal": 2, "issue_id": None, "type": None, "action_item": "c"},
            {"session_id": "c2", "ordinal": 0, "issue_id": "iss-1", "type": "repo_config", "action_item": "d"},
        ],
        "timeline_events": [
            {"session_id": "c1", "ordinal": 0, "title": "t", "description": ""},
            {"session_id": "c2", "ordinal": 0, "title": "t", "description": "d", "color": "red", "issue_id": "iss-1"},
        ],
        "feedback_items": [
            {"session_id": "c1", "ordinal": 0, "issue_id": "issue_2", "summary": "s"},
            {"session_id": "c1", "ordinal": 1},  # v2: every field may be null
            {"session_id": "c2", "ordinal": 0, "issue_id": "iss-1", "summary": "s", "excerpt": "e", "details": "d"},
        ],
        "session_languages": [{"session_id": "c2", "ordinal": 0, "language": "Python"}],
        "session_tools": [{"session_id": "c2", "ordinal": 0, "tool": "pytest"}],
        "child_sessions": [{"session_id": "c2", "ordinal": 0, "child_session_id": "c5"}],
        "note_usages": [
            {"session_id": "c2", "kind": "good", "ordinal": 0, "note_id": "n1", "message": "m", "reason": "r"},
            {"session_id": "c2", "kind": "bad", "ordinal": 0, "message": "a plain string"},
        ],
        "session_messages": [
            {"session_id": "c2", "ordinal": 0, "event_id": "e1", "source": "user", "message": "Fix it", "created_at": NOW - DAY},
            {"session_id": "c2", "ordinal": 1, "event_id": "e2", "source": "devin", "message": "", "created_at": NOW - DAY},
        ],
        "export_runs": [
            {"run_id": "r1", "started_at": NOW - HOUR, "finished_at": NOW, "mode": "all", "status": "ok", "version": "0.1.0"},
        ],
        "export_errors": [
            {"run_id": "r1", "part": "sessions", "session_id": "x9", "kind": "not_found", "http_status": 404, "occurred_at": NOW},
            # a part of the enterprise the key may not read: an error of the whole part
            {"run_id": "r1", "part": "playbooks", "session_id": "", "kind": "permission_denied", "http_status": 403, "occurred_at": NOW},
        ],
        # The enterprise: u1 and org_a, which the sessions name; u9 removed, named by none.
        "users": [
            {"user_id": "u1", "name": "Ada", "email": "ada@example.com", "api_version": "v3"},
            {"user_id": "u9", "name": None, "email": None, "removed_at": NOW - DAY, "api_version": "v3"},
        ],
        "user_roles": [
            {"user_id": "u1", "ordinal": 0, "role_id": "r", "role_name": "Admin", "role_type": "enterprise", "via": "direct"},
        ],
        "organizations": [{"org_id": "org_a", "name": "Alpha", "api_version": "v3"}],
        "org_members": [{"org_id": "org_a", "user_id": "u1", "org_role": "r2"}],
        "playbooks": [{"playbook_id": "pb1", "title": "Fix", "body": "Fix it.", "api_version": "v3"}],
        "knowledge_notes": [
            {"note_id": "n1", "name": "n", "body": "b", "trigger": "t", "is_enabled": True, "created_at": NOW - DAY, "updated_at": NOW - DAY},
        ],
        "quality_checks": [
            {"run_id": "r0", "check_name": "unique_keys", "severity": "error", "failing_rows": 0, "checked_at": NOW - DAY},
        ],
        # The bill: a person's day only (no Devin figure of the enterprise to reconcile).
        "consumption_cycles": [{"cycle_start": NOW - 40 * DAY, "cycle_end": NOW - 10 * DAY, "api_version": "v3"}],
        "consumption_daily": [
            {"billing_date": (NOW - 30 * DAY).date(), "scope": "user", "scope_id": "u1", "product": "all", "acus": Decimal("2.5")},
        ],
        "active_users": [{"period": "day", "start_time": NOW - 2 * DAY, "end_time": NOW - DAY, "active_users": 1}],
        "usage_daily": [{"metric_date": (NOW - 2 * DAY).date(), "sessions_count": 1}],
    }  # fmt: skip


def key_text(table: str, row: dict[str, Any]) -> str:
    """The key as the checks write it: table(key values), NULL as empty."""
    values = ("" if row.get(k) is None else _text(row[k]) for k in BY_NAME[table].key)
    return f"{table}({', '.join(values)})"


def _text(value: Any) -> str:
    """A key value as DuckDB's concat() writes it (timestamps in UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00")
    return str(value)


def insert(con: duckdb.DuckDBPyConnection, rows: Rows) -> None:
    for table, items in rows.items():
        for item in items:
            columns = ", ".join(item)
            marks = ", ".join("?" for _ in item)
            con.execute(f"insert into {table} ({columns}) values ({marks})", list(item.values()))


def warehouse(*plants: Rows) -> duckdb.DuckDBPyConnection:
    """The clean rows plus the planted ones, in tables without NOT NULL (as a warehouse whose
    columns were added by ALTER TABLE has them), with the staging relations the checks read."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in TABLES:
        con.execute(table.ddl().replace(" NOT NULL", ""))
    insert(con, clean_rows())
    for plant in plants:
        insert(con, plant)
    for path in STAGING_FILES:
        con.execute(path.read_text())
    return con


def flagged(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    """Return every key the check flags (not only the sample)."""
    (path,) = (p for p in CHECK_FILES if p.stem == name)
    return {key for (key, *_) in con.execute(select_of(path)).fetchall()}


# --- the planted problems: check -> (rows to add, the keys the check must flag) ------------


def duplicate_keys() -> tuple[Rows, set[str]]:
    # the first clean row of every table, once more
    clean = clean_rows()
    first = {t.name: [clean[t.name][0]] for t in TABLES}
    return first, {key_text(t, rows[0]) for t, rows in first.items()}


# Beyond schema.py's NOT NULL columns: the fields the API always sends (for v3 only: the last).
API_REQUIRED = {
    "sessions": ["url", "status", "org_id", "created_at", "updated_at", "acus_consumed", "has_session_analysis"],
    "session_tags": ["tag"],
    "pull_requests": ["url"],
    "issues": ["issue", "impact", "label"],
    "action_items": ["action_item"],
    "timeline_events": ["title", "description"],
    "session_languages": ["language"],
    "session_tools": ["tool"],
    "child_sessions": ["child_session_id"],
    "note_usages": ["kind", "message"],
    "session_messages": ["event_id", "source", "message", "created_at"],
    "user_roles": ["role_type"],
    "organizations": ["name"],
    "playbooks": ["title", "body"],
    "knowledge_notes": ["name", "body", "trigger", "is_enabled", "created_at", "updated_at"],
    "export_runs": ["started_at", "status"],
    "export_errors": ["kind", "occurred_at"],
    "quality_checks": ["severity", "checked_at"],
}  # fmt: skip
V3_REQUIRED = ["num_user_messages", "num_devin_messages", "session_size"]


def required_columns() -> list[tuple[str, str]]:
    not_null = [(t.name, c.name) for t in TABLES for c in t.columns if not c.nullable]
    api = [(t, c) for t, columns in API_REQUIRED.items() for c in columns]
    # a child row without session_id is an orphan as well: child_rows_have_session's case
    return [
        (t, c)
        for t, c in dict.fromkeys(not_null + api)
        if not (c == "session_id" and BY_NAME[t].per_session and t != "sessions")
    ]


def nulls_in_required_columns() -> tuple[Rows, set[str]]:
    clean = clean_rows()
    plant: Rows = {}
    for i, (table, column) in enumerate(required_columns()):
        row = dict(clean[table][0])
        # a key of its own, so that only the NULL is wrong with the row
        if "ordinal" in BY_NAME[table].key:
            row["ordinal"] = 100 + i
        else:
            for k in BY_NAME[table].key:
                value = row[k]  # dates and times (the bill's keys) move, text gets a suffix
                row[k] = (
                    value + (1000 + i) * DAY if isinstance(value, date) else f"{value}-{column}"
                )
        row[column] = None
        plant.setdefault(table, []).append(row)
    for column in V3_REQUIRED:
        plant["sessions"].append(session(f"v3-{column}", **(V3 | {column: None})))
    keys = {key_text(t, row) for t, rows in plant.items() for row in rows}
    return plant, keys


def negative_acus() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("minus", acus_consumed=-1.0),
            session("nan", acus_consumed=float("nan")),
            session("inf", acus_consumed=float("inf")),
        ]
    }
    return plant, {"sessions(minus)", "sessions(nan)", "sessions(inf)"}


def inexact_acus() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("seven-places", acus_consumed=0.1234567),
            session("too-large", acus_consumed=1e13),
            session("six-places", acus_consumed=0.123456),  # exact: not flagged
        ]
    }
    return plant, {"sessions(seven-places)", "sessions(too-large)"}


def times_out_of_order() -> tuple[Rows, set[str]]:
    created = NOW - 30 * DAY
    plant = {
        "sessions": [
            session("updated-first", created_at=created, ended_at=None, updated_at=created - HOUR),
            session("ended-first", created_at=created, ended_at=created - HOUR),
            session("ended-late", created_at=created, ended_at=created + 2 * HOUR, updated_at=created + HOUR),
            session("same-time", created_at=created, ended_at=created, updated_at=created),
        ]
    }  # fmt: skip
    return plant, {"sessions(updated-first)", "sessions(ended-first)", "sessions(ended-late)"}


def dangling_issue_ids(table: str, **columns: Any) -> tuple[Rows, set[str]]:
    plant: Rows = {
        "sessions": [session("v3-s", **V3), session("bare")],
        "issues": [
            {"session_id": "v3-s", "ordinal": 0, "issue": "i", "impact": "i", "label": "l", "issue_id": "iss-1"},
        ],
        table: [
            {"session_id": "c1", "ordinal": 10, "issue_id": "issue_3", **columns},  # c1 has 2
            {"session_id": "c1", "ordinal": 11, "issue_id": "issue_0", **columns},  # 1-based
            {"session_id": "v3-s", "ordinal": 0, "issue_id": "iss-2", **columns},
            {"session_id": "v3-s", "ordinal": 1, "issue_id": "iss-1", **columns},  # fine
            {"session_id": "bare", "ordinal": 0, "issue_id": "iss-1", **columns},  # not its own
        ],
    }  # fmt: skip
    bad = [row for row in plant[table] if row["ordinal"] != 1]
    return plant, {key_text(table, row) for row in bad}


def unknown_statuses() -> tuple[Rows, set[str]]:
    plant = {"sessions": [session("creating", status="creating"), session("upper", status="EXIT")]}
    return plant, {"sessions(creating)", "sessions(upper)"}


def unknown_pr_states() -> tuple[Rows, set[str]]:
    plant = {
        "pull_requests": [
            {"session_id": "c1", "ordinal": 10, "url": "u", "state": "draft"},
            {"session_id": "c1", "ordinal": 11, "url": "u", "state": "MERGED"},
        ]
    }
    return plant, {"pull_requests(c1, 10)", "pull_requests(c1, 11)"}


def overdue_analyses() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("waiting", has_session_analysis=False),
            session(
                "v3-finished",
                status="running",
                status_detail="finished",
                has_session_analysis=False,
                **V3,
            ),
            # ended 8 days ago, stored before ended_at existed: updated_at stands for it
            session(
                "old-row",
                ended_at=None,
                updated_at=NOW - 8 * DAY,
                has_session_analysis=False,
            ),
        ]
    }
    return plant, {"sessions(waiting)", "sessions(v3-finished)", "sessions(old-row)"}


def orphans() -> tuple[Rows, set[str]]:
    clean = clean_rows()
    plant: Rows = {}
    for table in TABLES:
        if table.per_session and table.name != "sessions":
            row = dict(clean[table.name][0]) | {"session_id": "ghost"}
            if "issue_id" in row:
                row["issue_id"] = None
            plant[table.name] = [row]
    return plant, {key_text(t, rows[0]) for t, rows in plant.items()}


def one_session_under_two_ids() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("devin-5f1e", api_version="v2"),
            session("5f1e", **V3),  # the same session as v3 may name it
            session("devin-devin-7", api_version="v2"),  # only a prefix apart: flagged too
            session("devin-7", **V3),
            session("devin-9", api_version="v2"),  # alone: fine
        ]
    }
    return plant, {"sessions(5f1e)", "sessions(devin-7)"}


def unknown_people() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("stranger", user_id="u-gone"),  # no such user
            session("removed-user", user_id="u9"),  # removed, but known: fine
            session("no-user", user_id=None),  # a service user's: fine
        ]
    }
    return plant, {"sessions(stranger)"}


def unknown_orgs() -> tuple[Rows, set[str]]:
    plant = {"sessions": [session("elsewhere", org_id="org_z"), session("home", org_id="org_a")]}
    return plant, {"sessions(elsewhere)"}


def unknown_playbooks() -> tuple[Rows, set[str]]:
    plant = {
        "sessions": [
            session("v3-ghost-book", playbook_id="pb-gone", **V3),
            session("v3-book", playbook_id="pb1", **V3),
            session("v3-no-book", playbook_id=None, **V3),
        ]
    }
    return plant, {"sessions(v3-ghost-book)"}


def unknown_notes() -> tuple[Rows, set[str]]:
    plant = {
        "note_usages": [
            {"session_id": "c2", "kind": "bad", "ordinal": 5, "note_id": "n-gone", "message": "m"},
            {"session_id": "c2", "kind": "good", "ordinal": 5, "note_id": "n1", "message": "m"},
        ]
    }
    return plant, {"note_usages(c2, bad, 5)"}


def bill_unlike_sessions() -> tuple[Rows, set[str]]:
    # January's bill shows 100 Devin ACUs no session has; February's (v2: the organizations'
    # days) 2.6 against a session's 2.5: within the tolerance (1 ACU).
    jan, feb = datetime(2020, 1, 1, 8, tzinfo=UTC), datetime(2020, 2, 1, 8, tzinfo=UTC)
    made = datetime(2020, 2, 3, 12, tzinfo=UTC)
    plant = {
        "consumption_cycles": [
            {"cycle_start": jan, "cycle_end": feb, "api_version": "v3"},
            {"cycle_start": feb, "cycle_end": datetime(2020, 3, 1, 8, tzinfo=UTC), "api_version": "v2"},
        ],
        "consumption_daily": [
            {"billing_date": date(2020, 1, 5), "scope": "enterprise", "scope_id": "", "product": "devin", "acus": Decimal("100")},
            {"billing_date": date(2020, 1, 5), "scope": "enterprise", "scope_id": "", "product": "all", "acus": Decimal("130")},
            {"billing_date": date(2020, 2, 3), "scope": "organization", "scope_id": "org_a", "product": "all", "acus": Decimal("2.6")},
        ],
        "sessions": [session("rec-1", created_at=made, ended_at=made + HOUR, updated_at=made + 2 * HOUR)],
    }  # fmt: skip
    return plant, {"consumption_cycles(2020-01-01 08:00:00+00)"}


PLANTS: dict[str, Callable[[], tuple[Rows, set[str]]]] = {
    "unique_keys": duplicate_keys,
    "required_columns": nulls_in_required_columns,
    "acus_consumed_not_negative": negative_acus,
    "acus_consumed_exact": inexact_acus,
    "timestamps_in_order": times_out_of_order,
    "action_items_issue_exists": lambda: dangling_issue_ids(
        "action_items", type="fix", action_item="a"
    ),
    "feedback_items_issue_exists": lambda: dangling_issue_ids("feedback_items"),
    "known_statuses": unknown_statuses,
    "known_pr_states": unknown_pr_states,
    "analysis_overdue": overdue_analyses,
    "child_rows_have_session": orphans,
    "one_id_per_session": one_session_under_two_ids,
    "sessions_user_exists": unknown_people,
    "sessions_org_exists": unknown_orgs,
    "sessions_playbook_exists": unknown_playbooks,
    "note_usages_note_exists": unknown_notes,
    "billing_matches_sessions": bill_unlike_sessions,
}
SEVERITY = {
    "unique_keys": "error",
    "required_columns": "error",
    "acus_consumed_not_negative": "error",
    "acus_consumed_exact": "warn",
    "timestamps_in_order": "error",
    "action_items_issue_exists": "warn",
    "feedback_items_issue_exists": "warn",
    "known_statuses": "warn",
    "known_pr_states": "warn",
    "analysis_overdue": "warn",
    "child_rows_have_session": "error",
    "one_id_per_session": "warn",
    "sessions_user_exists": "warn",
    "sessions_org_exists": "warn",
    "sessions_playbook_exists": "warn",
    "note_usages_note_exists": "warn",
    "billing_matches_sessions": "warn",
}


def test_every_check_has_a_planted_problem() -> None:
    assert sorted(PLANTS) == CHECK_NAMES
    assert sorted(SEVERITY) == CHECK_NAMES


def test_clean_data_passes_every_check() -> None:
    con = warehouse()
    for name in CHECK_NAMES:
        assert flagged(con, name) == set(), name
    results = evaluate(con)
    assert [r.name for r in results] == CHECK_NAMES
    assert all(r.passed and r.error is None for r in results)
    # every table has rows, so no check passes only for lack of data
    for table in TABLES:
        assert con.execute(f"select count(*) from {table.name}").fetchall()[0][0] > 0


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_each_check_flags_exactly_its_planted_rows(name: str) -> None:
    plant, expected = PLANTS[name]()
    assert expected
    con = warehouse(plant)
    assert flagged(con, name) == expected
    others = {other: flagged(con, other) for other in CHECK_NAMES if other != name}
    assert others == {other: set() for other in others}


@pytest.mark.parametrize("name", sorted(PLANTS))
def test_run_checks_counts_and_samples(name: str) -> None:
    plant, expected = PLANTS[name]()
    con = warehouse(plant)
    checked_at = datetime(2024, 5, 1, tzinfo=UTC)
    rows = {row[1]: row for row in run_checks(con, "run-1", checked_at)}
    assert sorted(rows) == CHECK_NAMES
    row = dict(zip(QUALITY_CHECKS.column_names, rows[name], strict=True))
    assert row == {
        "run_id": "run-1",
        "check_name": name,
        "severity": SEVERITY[name],
        "failing_rows": len(expected),
        "sample": SAMPLE_SEPARATOR.join(sorted(expected)[:SAMPLE_SIZE]),
        "checked_at": checked_at,
        "scope": "warehouse",
        "check_sha": next(c.sha for c in load_checks() if c.name == name),
    }
    for other, other_row in rows.items():
        if other != name:
            assert other_row[3:5] == (0, None), other


def table_contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    # as text: NaN, planted in sessions, is not equal to itself
    return {
        t.name: con.execute(
            f"select * from (select columns(*)::varchar from {t.name}) order by all"
        ).fetchall()
        for t in TABLES
    }


def test_checks_never_change_stored_data() -> None:
    con = warehouse(*(plant()[0] for plant in PLANTS.values()))
    before = table_contents(con)
    results = evaluate(con)
    assert all(not r.passed for r in results)  # every check had something to find
    assert table_contents(con) == before


# --- check files ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda p: p.name)
def test_check_file_shape(path: Path) -> None:
    lines = path.read_text().splitlines()
    assert re.fullmatch(r"-- severity: (error|warn)", lines[0])
    assert re.fullmatch(r"-- \S.*", lines[1]), "a one-line comment of what it checks"
    check = parse_check(path)
    assert check.severity == SEVERITY[path.stem]
    assert check.description == lines[1][3:]
    con = warehouse()
    description = con.execute(f"describe {select_of(path)}").fetchall()
    assert description[0][:2] == ("key", "VARCHAR")


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda p: p.name)
def test_checks_read_tables_and_staging_only(path: Path) -> None:
    allowed = {t.name for t in TABLES} | {p.stem for p in STAGING_FILES}
    assert relations_read(select_of(path)) <= allowed


def test_the_installed_checks_are_found() -> None:
    assert [c.name for c in load_checks()] == CHECK_NAMES


# --- checks that cannot run -----------------------------------------------------------------


def test_a_failing_check_is_recorded_and_the_others_still_run(tmp_path: Path) -> None:
    (tmp_path / "a_missing_table.sql").write_text(
        "-- severity: warn\n-- reads a table that is not there\nselect x from nowhere\n"
    )
    (tmp_path / "b_no_severity.sql").write_text("-- checks something\nselect 1 as key\n")
    (tmp_path / "c_deletes.sql").write_text(
        "-- severity: error\n-- tries to change data\ndelete from sessions\n"
    )
    (tmp_path / "d_fine.sql").write_text(
        "-- severity: warn\n-- flags two rows\n"
        "select session_id from sessions where session_id in ('c1', 'c2');\n"
    )
    (tmp_path / "e_not_utf8.sql").write_bytes(b"-- severity: warn\n\xff\xfe\n")
    con = warehouse()
    before = table_contents(con)
    checks = load_checks(tmp_path)
    results = {r.name: r for r in evaluate(con, checks)}
    missing = results["a_missing_table"]
    assert (missing.severity, missing.failing_rows, missing.passed) == ("error", None, False)
    assert missing.error is not None and "nowhere" in missing.error
    assert results["b_no_severity"].error is not None
    assert "severity" in results["b_no_severity"].error
    assert results["c_deletes"].failing_rows is None
    assert results["e_not_utf8"].error is not None
    assert "cannot be read" in results["e_not_utf8"].error
    assert table_contents(con) == before
    fine = next(c for c in checks if c.name == "d_fine")
    assert results["d_fine"] == CheckResult("d_fine", "warn", 2, ["c1", "c2"], sha=fine.sha)
    rows = run_checks(con, "run-2", NOW, checks)
    broken = dict(zip(QUALITY_CHECKS.column_names, rows[0], strict=True))
    assert broken["severity"] == "error"
    assert broken["failing_rows"] is None
    assert "nowhere" in broken["sample"]
    assert [r.name for r in failed(list(results.values()))] == [
        "a_missing_table",
        "b_no_severity",
        "c_deletes",
        "e_not_utf8",
    ]
    assert [r.name for r in failed(list(results.values()), "warn")] == ["d_fine"]


def test_no_check_directory_means_no_checks(tmp_path: Path) -> None:
    assert load_checks(tmp_path / "nowhere") == []


def test_results_land_in_v_quality_checks(tmp_path: Path) -> None:
    con = warehouse(PLANTS["known_statuses"]()[0])
    con.execute((STAGING_FILES[0].parent.parent / "views" / "v_quality_checks.sql").read_text())
    con.execute("delete from quality_checks")
    broken = Check("z_broken", "warn", "", "select nothing from nowhere")
    rows = run_checks(con, "run-3", NOW, [*load_checks(), broken])
    columns = len(QUALITY_CHECKS.column_names)
    con.executemany(f"insert into quality_checks values ({', '.join('?' * columns)})", rows)
    outcomes = dict(
        con.execute(
            "select check_name, outcome from v_quality_checks where is_latest_run"
        ).fetchall()
    )
    assert outcomes["known_statuses"] == "failed"
    assert outcomes["unique_keys"] == "passed"
    assert outcomes["z_broken"] == "broken"


def test_every_check_runs_within_a_small_cache(tmp_path: Path) -> None:
    # The exporter's DuckDB cache is small (warehouse.MEMORY_LIMIT) and a check that needs more
    # comes out broken. Ten anti-joins in one query once did, at 20,000 sessions under 64 MB;
    # this is the same squeeze, scaled down.
    from tests.helpers import run_cli

    out = tmp_path / "out"
    assert run_cli("--demo", "3000", "--out", str(out), "--quiet", key=None).code == 0
    con = duckdb.connect(str(out / "devin.duckdb"), read_only=True)
    con.execute("SET memory_limit = '16MB'")
    broken = [r for r in evaluate(con) if r.error is not None]
    assert broken == []


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("sessions_user_exists", "users"),
        ("sessions_org_exists", "organizations"),
        ("sessions_playbook_exists", "playbooks"),
        ("note_usages_note_exists", "knowledge_notes"),
    ],
)
def test_unknown_ids_are_flagged_only_where_their_part_was_exported(name: str, table: str) -> None:
    # Without a row of people (organizations, ...), every id is unknown: nothing to compare with.
    plant, expected = PLANTS[name]()
    con = warehouse(plant)
    assert flagged(con, name) == expected
    con.execute(f"delete from {table}")
    assert flagged(con, name) == set()
