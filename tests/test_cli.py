"""The command line end to end, as a user runs it: real HTTP, a real DuckDB file, real Parquet."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.fake_api import FakeDevin
from pipeline.schema import ENTERPRISE_TABLES, TABLES
from tests.helpers import KEY, NO_BILL, query, query_each, run_cli, scalar

ROOT = Path(__file__).resolve().parent.parent
ALL = ("--all", *NO_BILL, "--quiet")  # the sessions (the bill: tests/test_billing.py)
DATA_TABLE_COUNTS = {
    "sessions": lambda s: 1,
    "session_tags": lambda s: len(s["tags"]),
    "pull_requests": lambda s: len(s["pull_requests"]),
    "issues": lambda s: len((s["session_analysis"] or {}).get("issues", [])),
    "action_items": lambda s: len((s["session_analysis"] or {}).get("action_items", [])),
    "timeline_events": lambda s: len((s["session_analysis"] or {}).get("timeline", [])),
    "feedback_items": lambda s: len(
        ((s["session_analysis"] or {}).get("suggested_prompt") or {}).get("feedback_items", [])
    ),
}


def expected_counts(sessions: list[dict]) -> dict[str, int]:
    return {t: sum(count(s) for s in sessions) for t, count in DATA_TABLE_COUNTS.items()}


def table_counts(db: Path) -> dict[str, int]:
    counts = query_each(db, {t: f"select count(*) from {t}" for t in DATA_TABLE_COUNTS})
    return {t: rows[0][0] for t, rows in counts.items()}


def data_rows(db: Path, table: str) -> list[tuple]:
    """Rows without the lineage columns, which change on every run by design."""
    cols = [c.name for c in next(t for t in TABLES if t.name == table).columns]
    keep = ", ".join(c for c in cols if c not in ("_run_id", "_extracted_at"))
    return query(db, f"select {keep} from {table} order by all")


def assert_matches_api(db: Path, sessions: list[dict]) -> None:
    """Check the warehouse against the API's JSON directly, not through flatten."""
    by_id = {s["session_id"]: s for s in sessions}
    rows = query(
        db,
        "select session_id, url, status, title, org_id, user_id, acus_consumed,"
        " initial_user_message, has_session_analysis, extra from sessions",
    )
    assert {r[0] for r in rows} == set(by_id)
    for sid, url, status, title, org, user, acus, message, has_analysis, extra in rows:
        s = by_id[sid]
        assert (url, status, title, org, user) == (
            s["url"],
            s["status"],
            s.get("title"),
            s["org_id"],
            s.get("user_id"),
        )
        assert acus == float(s["acus_consumed"])
        assert message == s["initial_user_message"]
        assert has_analysis == (s["session_analysis"] is not None)
        known = {
            "session_id", "url", "status", "title", "tags", "user_id", "org_id", "created_at",
            "updated_at", "acus_consumed", "pull_requests", "session_analysis",
            "initial_user_message",
        }  # fmt: skip
        unknown = {k: v for k, v in s.items() if k not in known}
        assert (json.loads(extra) if extra else {}) == unknown
    prs = query(db, "select session_id, ordinal, url, state from pull_requests")
    for sid, ordinal, url, state in prs:
        pr = by_id[sid]["pull_requests"][ordinal]
        assert url == (pr.get("url") or pr.get("pr_url"))
        assert state == (pr.get("state") if pr.get("state") is not None else pr.get("pr_state"))
    assert table_counts(db) == expected_counts(sessions)


def test_demo_exports_everything_and_prints_how_to_open_it(out):
    result = run_cli("--demo", "40", "--out", str(out), "--quiet", key=None)
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    assert "40 exported, 0 failed" in result.stdout
    assert f"duckdb.connect('{db}', read_only=True)" in result.stdout

    fake = FakeDevin(sessions=40, seed=0)
    assert_matches_api(db, [fake.session(i) for i in fake.ids()])
    for table in TABLES:
        assert f"  {table.name} " in result.stdout
        # The files themselves, without created_month (Hive-partitioned: it is in the path).
        parquet = pq.read_table(out / "parquet" / table.name, partitioning=None)
        assert parquet.schema == table.arrow_schema
        assert parquet.num_rows == scalar(db, f"select count(*) from {table.name}")
    # the enterprise around the sessions too, as much of it as v2 has (v3: test_enterprise.py)
    for table in ENTERPRISE_TABLES:
        count = scalar(db, f"select count(*) from {table.name}")
        assert (count > 0) == (table.name != "knowledge_notes"), table.name
    assert "parts exported: people (" in result.stdout
    assert result.stderr == ""


def test_every_view_answers_on_demo_data(out):
    assert run_cli("--demo", "200", "--out", str(out), "--quiet", key=None).code == 0
    db = out / "devin.duckdb"
    views = [r[0] for r in query(db, "select view_name from duckdb_views() where not internal")]
    assert sorted(views) == sorted(
        p.stem for layer in ("staging", "views") for p in (ROOT / "sql" / layer).glob("*.sql")
    )
    for view in views:
        if view in ("v_note_usage", "v_active_users"):
            continue  # Knowledge notes and DAU/WAU/MAU are v3's alone; the demo speaks v2
        assert scalar(db, f"select count(*) from {view}") > 0, view
    assert scalar(db, "select sum(acus) from v_user_usage") == scalar(
        db, "select sum(acus_consumed::decimal(18, 6)) from sessions"
    )
    assert scalar(db, "select count(*) from v_sessions") == 200


def test_ids_as_arguments_export_exactly_those(server, out):
    ids = server.devin.ids()[:3]
    result = run_cli(*ids, "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    assert_matches_api(out / "devin.duckdb", [server.devin.session(i) for i in ids])
    assert {r["session_id"] for r in server.requests} == set(ids)


def test_ids_file_with_comments_and_blank_lines(server, out, tmp_path):
    ids = server.devin.ids()[5:9]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# nightly list\n\n{ids[0]}\n  {ids[1]}  # trailing comment\n{ids[2]}\n")
    result = run_cli("--ids-file", str(ids_file), ids[3], ids[0], "--out", str(out),
                     "--api-url", server.url)  # fmt: skip
    assert result.code == 0, result.stderr
    assert_matches_api(out / "devin.duckdb", [server.devin.session(i) for i in ids])
    assert len(server.requests) == 4  # the repeated id was fetched once


def test_ids_from_stdin(server, out, monkeypatch):
    ids = server.devin.ids()[:2]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ids) + "\n"))
    result = run_cli("--ids-file", "-", "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 2


def test_all_pages_through_every_session(server, out):
    result = run_cli(*ALL, "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    sessions = [server.devin.session(i) for i in server.devin.ids()]
    assert_matches_api(out / "devin.duckdb", sessions)
    # the sessions' listing, then the enterprise around them (tests/test_enterprise.py)
    listing = [r for r in server.requests if r["path"].startswith("/v2/enterprise/sessions")]
    assert listing and all(r["path"].endswith("/insights") for r in listing)
    assert {r["path"] for r in server.requests} - {r["path"] for r in listing} >= {
        "/v2/enterprise/members", "/v2/enterprise/organizations", "/v2/enterprise/playbooks"
    }  # fmt: skip


def test_api_url_from_environment(server, out):
    env = {"DEVIN_API_URL": server.url}
    result = run_cli(server.devin.ids()[0], "--out", str(out), env=env)
    assert result.code == 0, result.stderr
    assert scalar(out / "devin.duckdb", "select api_url from export_runs") == server.url


def test_the_same_export_twice_changes_only_runs_and_lineage(server, out):
    args = ("--full", *NO_BILL, "--out", str(out), "--api-url", server.url, "--quiet")
    assert run_cli(*args).code == 0
    db = out / "devin.duckdb"
    first = {
        t.name: data_rows(db, t.name)
        for t in TABLES
        if t.name.startswith(("s", "p", "i", "a", "t", "f"))
    }
    assert run_cli(*args).code == 0
    second = {t: data_rows(db, t) for t in first}
    assert first == second
    assert scalar(db, "select count(*) from export_runs") == 2
    last_run = scalar(db, "select run_id from export_runs order by started_at desc limit 1")
    assert query(db, "select distinct _run_id from sessions") == [(last_run,)]


def test_a_session_whose_lists_shrank_leaves_no_stale_rows(server, out):
    sid = next(i for i in server.devin.ids() if len(server.devin.session(i)["tags"]) >= 2)
    args = (sid, "--out", str(out), "--api-url", server.url)
    assert run_cli(*args).code == 0
    server.devin.update(sid, tags=["only"], pull_requests=[], session_analysis=None)
    assert run_cli(*args).code == 0
    db = out / "devin.duckdb"
    assert query(db, "select ordinal, tag from session_tags") == [(0, "only")]
    for table in ("pull_requests", "issues", "action_items", "timeline_events", "feedback_items"):
        assert scalar(db, f"select count(*) from {table}") == 0


def test_refresh_open_refetches_sessions_still_moving(server, out):
    assert run_cli(*ALL, "--out", str(out), "--api-url", server.url).code == 0
    db = out / "devin.duckdb"
    open_ids = {
        r[0]
        for r in query(db, "select session_id from sessions where status not in ('exit', 'error')")
    }
    assert open_ids
    server.clear_requests()
    result = run_cli("--refresh-open", "--out", str(out), "--api-url", server.url, "--quiet")
    assert result.code == 0, result.stderr
    fetched = {r["session_id"] for r in server.requests}
    assert open_ids <= fetched


def test_from_raw_rebuilds_the_same_warehouse_without_network(server, out, tmp_path):
    huge = server.devin.ids()[3]
    server.devin.update(huge, ledger_seq=2**70, nested={"deep": [-(2**80)]})  # wider than 64 bits
    assert run_cli(*ALL, "--out", str(out), "--api-url", server.url).code == 0
    raw_files = list((out / "raw").rglob("*.jsonl.gz"))
    assert raw_files
    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), key=None)
    assert result.code == 0, result.stderr
    for table in DATA_TABLE_COUNTS:
        assert data_rows(rebuilt / "devin.duckdb", table) == data_rows(out / "devin.duckdb", table)
    extra = scalar(
        rebuilt / "devin.duckdb", f"select extra from sessions where session_id = '{huge}'"
    )
    assert json.loads(extra)["ledger_seq"] == 2**70


def test_summary_json_for_machines(server, out, tmp_path):
    summary = tmp_path / "summary.json"
    ids = server.devin.ids()[:2]
    result = run_cli(
        *ids, "--out", str(out), "--api-url", server.url, "--summary-json", str(summary)
    )
    assert result.code == 0
    record = json.loads(summary.read_text())
    assert record["status"] == "ok"
    assert record["sessions_exported"] == 2
    assert record["rows"]["sessions"] == 2
    assert 0 < record["fetch_seconds"] <= record["duration_seconds"]
    steps = record["step_seconds"]
    assert set(steps) == {"views", "checks", "parquet", "publish", "report"}  # no mirror asked
    assert all(s > 0 for s in steps.values())
    assert record["fetch_seconds"] + sum(steps.values()) <= record["duration_seconds"]
    assert str(out / "devin.duckdb") in record["paths"]


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (["abc"], None, "DEVIN_API_KEY is not set"),
        ([], KEY, "nothing to export"),
        (["--ids-file", "/nonexistent/ids.txt"], KEY, "cannot read ids file /nonexistent/ids.txt"),
        (["--from-raw", "/nonexistent", "--all"], KEY, "--from-raw rebuilds without the network"),
        (["--from-raw", "/nonexistent"], None, "no such file or directory"),
        (["--all", "--api-url", "api.devin.ai"], KEY, "is not http(s)://HOST"),
        (["--all", "--api-url", "ftp://api.devin.ai"], KEY, "is not http(s)://HOST"),
        (["--all", "--api-url", "https://"], KEY, "is not http(s)://HOST"),
        (["--all", "--api-url", "http://api.devin.ai"], KEY, "would send the key unencrypted"),
        (["--all", "--api-url", "https://me:pw123456@api.devin.ai"], KEY, "user name or password"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(args, key, message, out):
    result = run_cli(*args, "--out", str(out), key=key)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "pw123456" not in result.stderr
    assert not (out / "devin.duckdb").exists()
    assert not (out / ".devin-export" / "work.duckdb").exists()  # no run recorded either


def test_an_api_that_refuses_connections_is_named_so(out):
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{placeholder.getsockname()[1]}"
    result = run_cli("--all", "--out", str(out), "--api-url", url, "--retries", "0", key=KEY)
    assert result.code == 1
    assert "Connection refused" in result.stderr and "timed out" not in result.stderr


@pytest.mark.parametrize(
    "args", [["--concurrency", "0"], ["--bogus"], ["--timeout", "-1"], ["--log-format", "xml"]]
)
def test_bad_flags_exit_2(args, out):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*args, "--out", str(out))
    assert exit_info.value.code == 2


def test_run_export_py_and_console_script_as_subprocesses(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "run_export.py"), "--demo", "15", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "15 exported, 0 failed" in done.stdout
    assert "exporting to" in done.stderr  # progress goes to stderr, the summary to stdout
    script = Path(sys.executable).parent / "devin-export"
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0
    assert "DEVIN_API_KEY" in helped.stdout


def test_ids_file_with_a_byte_order_mark_loses_no_id(server, out, tmp_path):
    ids = server.devin.ids()[:2]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8-sig")  # as Notepad saves it
    result = run_cli("--ids-file", str(ids_file), "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    assert {
        sid for (sid,) in query(out / "devin.duckdb", "select session_id from sessions")
    } == set(ids)


@pytest.mark.parametrize("where", ["a-folder", "a-file/summary.json"])
def test_summary_json_that_cannot_be_written_is_a_usage_error_before_anything_runs(
    server, out, tmp_path, where
):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("")
    result = run_cli(server.devin.ids()[0], "--out", str(out), "--api-url", server.url,
                     "--summary-json", str(tmp_path / where))  # fmt: skip
    assert result.code == 2
    assert "--summary-json" in result.stderr and "Traceback" not in result.stderr
    assert server.requests == [] and not out.exists()


def test_summary_json_in_a_folder_not_made_yet_is_written(server, out):
    summary = out / "reports" / "last-run.json"
    result = run_cli(server.devin.ids()[0], "--out", str(out), "--api-url", server.url,
                     "--summary-json", str(summary))  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(summary.read_text())["status"] == "ok"


def test_the_demo_never_mixes_into_the_real_warehouse(server, tmp_path, monkeypatch):
    # The README's order: make demo, then the real export with the default --out.
    monkeypatch.chdir(tmp_path)
    demo = run_cli("--demo", "30", "--quiet", key=None)
    assert demo.code == 0, demo.stderr
    assert (
        scalar(tmp_path / "data" / "demo" / "devin.duckdb", "select count(*) from sessions") == 30
    )
    real = run_cli(*ALL, "--api-url", server.url)
    assert real.code == 0, real.stderr
    db = tmp_path / "data" / "devin.duckdb"
    stored = {sid for (sid,) in query(db, "select session_id from sessions")}
    assert stored == set(server.devin.ids())  # every real session, and nothing else
    real_raw = list((tmp_path / "data" / "raw").rglob("*.jsonl.gz"))
    assert [p.name.removesuffix(".jsonl.gz") for p in real_raw] == [
        scalar(db, "select run_id from export_runs")
    ]  # a rebuild from data/raw brings back no demo session
    assert scalar(db, "select watermark from export_runs") is None  # a full first pass


def test_the_watermark_comes_only_from_runs_against_the_same_api(server, out, tmp_path):
    from pipeline.fake_api import FakeApiServer, FakeDevin, Faults

    nightly = (*ALL, "--out", str(out))
    assert run_cli(*nightly, "--api-url", server.url).code == 0
    other = FakeDevin(sessions=20, seed=99)
    with FakeApiServer(other, key=KEY, faults=Faults()) as second:
        result = run_cli(*nightly, "--api-url", second.url)
        assert result.code == 0, result.stderr
        assert all("updated_date_from" not in r["query"] for r in second.requests)
    server.clear_requests()
    assert run_cli(*nightly, "--api-url", server.url).code == 0
    listing = [r for r in server.requests if r["path"] == "/v2/enterprise/sessions/insights"]
    assert listing and all("updated_date_from" in r["query"] for r in listing)


def test_quality_checks_run_after_every_load_and_can_fail_the_run_on_request(server, out, tmp_path):
    ids = server.devin.ids()[:5]
    server.devin.update(ids[0], acus_consumed=-3.5)  # a planted problem: negative ACUs
    summary = tmp_path / "summary.json"
    args = (*ids, "--out", str(out), "--api-url", server.url, "--summary-json", str(summary))
    result = run_cli(*args)
    assert result.code == 0, result.stderr  # checks never change the exit code by default
    assert "error acus_consumed_not_negative: 1 rows" in result.stdout
    db = out / "devin.duckdb"
    run_id = scalar(db, "select run_id from export_runs")
    flagged = query(db, "select check_name, severity, failing_rows, sample from quality_checks "
                        f"where run_id = '{run_id}' and failing_rows > 0")  # fmt: skip
    assert ("acus_consumed_not_negative", "error", 1, f"sessions({ids[0]})") in flagged
    record = json.loads(summary.read_text())
    by_name = {c["name"]: c for c in record["quality_checks"]}
    assert by_name["acus_consumed_not_negative"]["failing_rows"] == 1
    assert scalar(db, "select count(*) from sessions where acus_consumed < 0") == 1  # kept as sent
    strict = run_cli(*args, "--fail-on-check-errors")
    assert strict.code == 1
    assert json.loads(summary.read_text())["exit_code"] == 1
