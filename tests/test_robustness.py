"""A nightly job must not lose data, hang, hammer the API or leak the key (SPEC 2 and 7)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from pipeline.warehouse import STATE_DIR
from tests.helpers import (
    KEY,
    ROOT,
    all_text_in,
    assert_no_duplicate_keys,
    run_cli,
    scalar,
    start_export,
    wait_for,
)

# The header every raw batch starts with (gzip, mtime 0, fastest level): one per batch written.
GZIP_MEMBER = bytes.fromhex("1f8b08000000000004")
CHILD_LISTS = {
    "session_tags": lambda s: s["tags"],
    "pull_requests": lambda s: s["pull_requests"],
    "timeline_events": lambda s: (s["session_analysis"] or {}).get("timeline", []),
}


def start_ids_export(server, out: Path, ids: list[str], *extra: str) -> subprocess.Popen:
    ids_file = out.parent / "ids.txt"
    ids_file.write_text("\n".join(ids))
    return start_export(server.url, out, "--ids-file", str(ids_file), *extra)


def test_thousand_sessions_through_twenty_percent_transient_faults(tmp_path):
    devin = FakeDevin(sessions=1000, seed=3)
    faults = Faults(fail_rate=0.2, fail_kinds=("429", "500", "502", "503", "truncated"), seed=3)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(devin.ids()))
    out = tmp_path / "out"
    with FakeApiServer(devin, key=KEY, faults=faults) as server:
        result = run_cli("--ids-file", str(ids_file), "--out", str(out), "--api-url", server.url,
                         "--retries", "10", "--quiet")  # fmt: skip
        failed_requests = sum(1 for r in server.requests if r["fault"])
    assert result.code == 0, result.stderr
    assert failed_requests > 150  # the faults really happened
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from sessions") == 1000
    assert scalar(db, "select count(*) from export_errors") == 0
    assert_no_duplicate_keys(db)


def test_a_second_run_on_the_same_out_exits_3_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    devin = FakeDevin(sessions=200, seed=1)
    with FakeApiServer(devin, key=KEY, faults=Faults(latency_ms=50)) as server:
        first = start_ids_export(server, out, devin.ids(), "--concurrency", "1")
        try:
            wait_for(lambda: len(server.requests) >= 2)
            result = run_cli(devin.ids()[0], "--out", str(out), "--api-url", server.url)
        finally:
            first.kill()
            first.wait()
    assert result.code == 3
    assert f"another export (pid {first.pid})" in result.stderr
    assert "Traceback" not in result.stderr


def test_sigkill_mid_export_keeps_every_committed_batch_and_the_next_run_completes(tmp_path):
    out = tmp_path / "out"
    devin = FakeDevin(sessions=300, seed=2)
    ids = devin.ids()
    with FakeApiServer(devin, key=KEY, faults=Faults(latency_ms=10)) as server:
        assert run_cli(*ids[:5], "--out", str(out), "--api-url", server.url).code == 0
        published_before = (out / "devin.duckdb").read_bytes()
        victim = start_ids_export(server, out, ids, "--batch-size", "10", "--concurrency", "2")
        first_raw = set((out / "raw").rglob("*.jsonl.gz"))

        def batches_written() -> int:
            # Raw lands just before its batch is committed: 3 members, 2 batches committed.
            files = set((out / "raw").rglob("*.jsonl.gz")) - first_raw
            return max((f.read_bytes().count(GZIP_MEMBER) for f in files), default=0)

        wait_for(lambda: batches_written() >= 3)
        victim.send_signal(signal.SIGKILL)
        victim.wait()

        # Readers still have the last published warehouse, whole.
        assert (out / "devin.duckdb").read_bytes() == published_before
        assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 5
        # The working copy holds whole batches only: every stored session with all its rows.
        work = out / STATE_DIR / "work.duckdb"
        with duckdb.connect(str(work), read_only=True) as con:
            stored = [r[0] for r in con.execute("select session_id from sessions").fetchall()]
            assert len(stored) > 5
            for table, items in CHILD_LISTS.items():
                counts = dict(
                    con.execute(f"select session_id, count(*) from {table} group by 1").fetchall()
                )
                for sid in stored:
                    assert counts.get(sid, 0) == len(items(devin.session(sid))), (table, sid)
            status = con.execute(
                "select status, finished_at from export_runs order by started_at"
            ).fetchall()
        assert status[-1] == ("failed", None)  # the killed run says so

        result = run_cli(
            "--ids-file", str(out.parent / "ids.txt"), "--out", str(out), "--api-url", server.url
        )
    assert result.code == 0, result.stderr
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 300
    assert_no_duplicate_keys(out / "devin.duckdb")


def test_the_key_is_never_written_anywhere(tmp_path):
    secret = "apk_user_SUPER-SECRET-do-not-leak-4242"
    out = tmp_path / "out"
    devin = FakeDevin(sessions=60, seed=4)
    faults = Faults(
        fail_rate=0.3, fail_kinds=("429", "500", "malformed", "truncated", "wrong-type", "404")
    )
    outputs = []
    with FakeApiServer(devin, key=secret, faults=faults) as server:
        common = ("--out", str(out), "--api-url", server.url, "--retries", "1")
        for args in [
            ("--all",),
            ("--refresh-open", *devin.ids()[:30]),
            ("--all", "--log-format", "json"),
        ]:
            result = run_cli(
                *args, *common, "--summary-json", str(out / "summary.json"), key=secret
            )
            outputs += [result.stdout, result.stderr]
        server.faults.auth_status = 401
        result = run_cli("--all", *common, key=secret)
        assert result.code == 3
        outputs += [result.stdout, result.stderr]
    assert any("invalid_response" in o for o in outputs)  # faults did reach the output
    written = all_text_in(out)
    assert b"do-not-leak" not in written
    assert not any("do-not-leak" in o for o in outputs)


def test_json_logs_are_one_object_a_line(server, out):
    import json

    server.faults.script(server.devin.ids()[1], ["404"])
    result = run_cli(
        *server.devin.ids()[:3], "--out", str(out), "--api-url", server.url, "--log-format", "json"
    )
    assert result.code == 1
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"time", "level", "event"} <= set(records[0])
    failed = [r for r in records if r["event"] == "session_failed"]
    assert [(r["kind"], r["http_status"]) for r in failed] == [("not_found", 404)]
    finished = records[-1]
    assert finished["event"] == "run_finished"
    assert (finished["status"], finished["exported"], finished["failed"]) == ("partial", 2, 1)
    assert finished["errors_by_kind"] == {"not_found": 1}


def test_sessions_stream_through_in_batches(server, out, tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(server.devin.ids()))
    result = run_cli("--ids-file", str(ids_file), "--out", str(out), "--api-url", server.url,
                     "--batch-size", "25")  # fmt: skip
    assert result.code == 0
    (raw,) = list((out / "raw").rglob("*.jsonl.gz"))
    # One gzip member per batch written: the run never held every response at once.
    assert raw.read_bytes().count(GZIP_MEMBER) == math.ceil(len(server.devin) / 25)
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == len(server.devin)


def test_max_rps_is_shared_by_all_workers(server, out):
    ids = server.devin.ids()[:12]
    result = run_cli(
        *ids, "--out", str(out), "--api-url", server.url, "--max-rps", "20", "--concurrency", "6"
    )
    assert result.code == 0
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 12
    # As the server saw them: 11 gaps of 1/20 s at least between the first request and the
    # last, whatever the concurrency (six workers unbounded take a few milliseconds). A lower
    # bound, so a slow machine cannot make it fail.
    arrivals = sorted(r["received"] for r in server.requests)
    assert len(arrivals) == 12
    assert arrivals[-1] - arrivals[0] >= 11 / 20 * 0.98


def test_storage_error_exits_3(server, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    result = run_cli(server.devin.ids()[0], "--out", str(blocked), "--api-url", server.url)
    assert result.code == 3
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_stop_with_a_message_and_keep_what_was_written(tmp_path, sent, code):
    """cron's timeout and a container stopping send SIGTERM: the run unwinds as on Ctrl-C."""
    out = tmp_path / "out"
    devin = FakeDevin(sessions=300, seed=2)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(devin.ids()))
    with FakeApiServer(devin, key=KEY, faults=Faults(latency_ms=10)) as server:
        victim = subprocess.Popen(
            [sys.executable, str(ROOT / "run_export.py"), "--out", str(out), "--api-url",
             server.url, "--ids-file", str(ids_file), "--batch-size", "10", "--concurrency", "2"],
            env={**os.environ, "DEVIN_API_KEY": KEY}, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        work = out / STATE_DIR / "work.duckdb"
        wait_for(lambda: len(server.requests) >= 40)
        victim.send_signal(sent)
        _, stderr = victim.communicate(timeout=60)
        assert victim.returncode == code
        assert "interrupted" in stderr and "Traceback" not in stderr
        with duckdb.connect(str(work), read_only=True) as con:
            kept = con.execute("select count(*) from sessions").fetchall()[0][0]
            assert 0 < kept < 300
        result = run_cli("--ids-file", str(ids_file), "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 300
