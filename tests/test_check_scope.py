"""A night checks its own sessions; a sweep (--full-checks, --full, --from-raw, a new or changed
check) checks them all. Problems are planted in the working copy, where a careless hand or an
older release would leave them, and the CLI is driven against the fake API end to end."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipeline.checks import check_run, load_checks
from pipeline.fake_api import FakeApiServer
from tests.helpers import NO_BILL, query, run_cli

WORK = Path(".devin-export") / "work.duckdb"


def export(server: FakeApiServer, out: Path, *args: str) -> dict[str, object]:
    summary = out.parent / "summary.json"
    result = run_cli(*args, "--out", str(out), "--api-url", server.url, "--quiet",
                     "--summary-json", str(summary))  # fmt: skip
    assert result.code == 0, result.stderr
    record: dict[str, object] = json.loads(summary.read_text())
    return record


def plant(out: Path, sql: str) -> None:
    with duckdb.connect(str(out / WORK)) as con:
        con.execute(sql)


def failing(record: dict[str, object], name: str) -> int:
    checks = record["quality_checks"]
    assert isinstance(checks, list)
    (found,) = [c["failing_rows"] for c in checks if c["name"] == name]
    return int(found)


def test_a_night_checks_its_sessions_and_a_sweep_finds_every_planted_problem(
    server: FakeApiServer, out: Path
) -> None:
    first = export(server, out, "--all")  # with the bill: billing_matches_sessions below
    assert first["checked_sessions"] is None  # the first run checks everything
    ids = [r[0] for r in query(out / "devin.duckdb", "SELECT session_id FROM sessions ORDER BY 1")]
    # Problems in sessions the night will not touch: a negative ACU figure, an orphan child row.
    plant(out, f"UPDATE sessions SET acus_consumed = -1 WHERE session_id = '{ids[0]}'")
    plant(out, "INSERT INTO session_tags (session_id, ordinal, tag) VALUES ('ghost', 0, 'x')")

    night = export(server, out, ids[5], ids[6])
    assert night["checked_sessions"] == 2
    assert failing(night, "acus_consumed_not_negative") == 0
    assert failing(night, "child_rows_have_session") == 0
    scopes = {c["name"]: c["scope"] for c in night["quality_checks"]}  # type: ignore[union-attr]
    assert scopes["analysis_overdue"] == "warehouse"  # the clock's check sees every session
    # and the bill's, which is about cycles, not the run's sessions
    assert scopes["billing_matches_sessions"] == "warehouse"
    whole = ("analysis_overdue", "billing_matches_sessions")
    assert {s for n, s in scopes.items() if n not in whole} == {"run"}

    sweep = export(server, out, ids[5], "--full-checks")
    assert sweep["checked_sessions"] is None
    assert failing(sweep, "acus_consumed_not_negative") == 1
    assert failing(sweep, "child_rows_have_session") == 1
    stored = query(
        out / "devin.duckdb",
        "SELECT DISTINCT scope FROM quality_checks q JOIN export_runs r USING (run_id) "
        "WHERE r.started_at = (SELECT max(started_at) FROM export_runs)",
    )
    assert stored == [("warehouse",)]


def test_sessions_of_a_run_that_died_before_its_checks_are_checked_by_the_next(
    server: FakeApiServer, out: Path
) -> None:
    export(server, out, "--all", *NO_BILL)
    ids = [r[0] for r in query(out / "devin.duckdb", "SELECT session_id FROM sessions ORDER BY 1")]
    # As a run killed after writing this session and before its checks would leave it.
    plant(
        out,
        f"UPDATE sessions SET acus_consumed = -1, _run_id = 'died-early' "
        f"WHERE session_id = '{ids[0]}'",
    )
    night = export(server, out, ids[5])
    assert night["checked_sessions"] == 2
    assert failing(night, "acus_consumed_not_negative") == 1


def test_a_new_or_changed_check_sweeps_the_whole_warehouse(
    server: FakeApiServer, out: Path
) -> None:
    export(server, out, "--all", *NO_BILL)
    ids = [r[0] for r in query(out / "devin.duckdb", "SELECT session_id FROM sessions ORDER BY 1")]
    export(server, out, ids[1])
    checks = load_checks()
    with duckdb.connect(str(out / WORK)) as con:
        assert check_run(con, whole=False, checks=checks).sessions == 0
        changed = [
            c if c.name != "known_statuses" else type(c)(**{**c.__dict__, "sql": c.sql + "\n"})
            for c in checks
        ]
        assert check_run(con, whole=False, checks=changed).sessions is None
        assert check_run(con, whole=False, checks=checks[1:]).sessions is None


def test_a_rebuild_and_a_full_pass_check_everything(server: FakeApiServer, out: Path) -> None:
    export(server, out, "--all", *NO_BILL)
    assert export(server, out, "--full", *NO_BILL)["checked_sessions"] is None
    rebuilt = out.parent / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet")
    assert result.code == 0, result.stderr
    assert "quality checks over the whole warehouse" in result.stdout
