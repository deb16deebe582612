"""SPEC section 7: every fault injected through the fake API over real HTTP, and what it leaves."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from tests.helpers import KEY, NO_BILL, query, run_cli, scalar


def export(server, out: Path, *args: str, key: str = KEY):
    return run_cli(*args, "--out", str(out), "--api-url", server.url, "--retries", "3", key=key)


def errors(out: Path) -> list[tuple]:
    return query(out / "devin.duckdb", "select session_id, kind, http_status from export_errors")


def requests_for(server, sid: str) -> list[dict]:
    return [r for r in server.requests if r["session_id"] == sid]


@pytest.mark.parametrize(
    "script",
    [
        ["429", "429", "ok"],
        ["429-date", "ok"],
        ["500", "502", "503", "ok"],
        ["malformed", "ok"],
        ["truncated", "ok"],
        ["drop", "ok"],
    ],
)
def test_transient_faults_are_retried_until_the_session_arrives(server, out, script):
    sid = server.devin.ids()[0]
    server.faults.script(sid, script)
    result = export(server, out, sid)
    assert result.code == 0, result.stderr
    assert len(requests_for(server, sid)) == len(script)
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 1


def test_a_slow_answer_times_out_and_is_retried(server, out):
    sid = server.devin.ids()[0]
    server.faults.script(sid, ["slow", "ok"])
    server.faults.slow_seconds = 30
    result = export(server, out, sid, "--timeout", "0.5")
    assert result.code == 0, result.stderr
    server.stop()  # wakes the slow handler, which logs its request as it finishes
    woken = time.monotonic() + 10  # on a loaded machine, a moment after stop() returns
    while len(requests_for(server, sid)) < 2 and time.monotonic() < woken:
        time.sleep(0.01)
    assert [r["fault"] for r in requests_for(server, sid)] == [None, "slow"]


@pytest.mark.parametrize(
    ("script", "kind", "status"),
    [
        (["500"] * 4, "http_error", 500),
        (["slow"] * 4, "timeout", None),
        (["drop"] * 4, "connection", None),
        (["malformed"] * 4, "invalid_response", None),
    ],
)
def test_retries_are_bounded_then_recorded(server, out, script, kind, status):
    good, bad = server.devin.ids()[:2]
    server.faults.slow_seconds = 30
    server.faults.script(bad, script)
    result = export(server, out, good, bad, "--timeout", "0.3")
    assert result.code == 1
    server.stop()  # slow handlers log their request as stop() wakes them
    woken = time.monotonic() + 10  # on a loaded machine, a moment after stop() returns
    while len(requests_for(server, bad)) < 4 and time.monotonic() < woken:
        time.sleep(0.01)
    assert len(requests_for(server, bad)) == 4  # the first try and --retries 3
    assert errors(out) == [(bad, kind, status)]
    assert f"{bad}: {kind}" in result.stderr
    assert scalar(out / "devin.duckdb", "select session_id from sessions") == good


@pytest.mark.parametrize(
    ("fault", "kind", "status"), [("404", "not_found", 404), ("422", "http_error", 422)]
)
def test_404_and_422_are_recorded_without_retry(server, out, fault, kind, status):
    good, bad = server.devin.ids()[:2]
    server.faults.script(bad, [fault])
    result = export(server, out, good, bad)
    assert result.code == 1
    assert len(requests_for(server, bad)) == 1
    assert errors(out) == [(bad, kind, status)]


def test_unknown_session_is_not_found(server, out):
    result = export(server, out, "devin-doesnotexist")
    assert result.code == 1
    assert errors(out) == [("devin-doesnotexist", "not_found", 404)]
    assert scalar(out / "devin.duckdb", "select status from export_runs") == "failed"


@pytest.mark.parametrize(
    ("fault", "path"), [("missing-field", "created_at"), ("wrong-type", "acus_consumed")]
)
def test_invalid_body_is_recorded_with_its_field_path_and_quarantined(server, out, fault, path):
    good, bad = server.devin.ids()[:2]
    server.faults.script(bad, [fault])
    result = export(server, out, good, bad)
    assert result.code == 1
    assert len(requests_for(server, bad)) == 1  # a schema error is not transient
    (message,) = query(
        out / "devin.duckdb", "select message from export_errors where kind = 'invalid_response'"
    )[0]
    assert message.startswith(f"{path}:")
    (kept,) = list((out / "raw" / "quarantine").rglob("*.jsonl.gz"))
    record = json.loads(gzip.decompress(kept.read_bytes()))
    assert record["session_id"] == bad
    assert record["body"]["session_id"] == bad
    assert scalar(out / "devin.duckdb", "select run_id from export_runs") in kept.name


def test_invalid_item_in_a_page_loses_only_that_item(server, out):
    server.faults.script("page:0", ["wrong-type"])
    result = export(server, out, "--all", *NO_BILL)
    assert result.code == 1
    (failed,) = errors(out)
    assert failed[1] == "invalid_response"
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == len(server.devin) - 1


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_stops_at_once_with_exit_3_and_leaves_the_warehouse_untouched(
    server, out, status
):
    ids = server.devin.ids()[:20]
    assert export(server, out, *ids[:2]).code == 0
    before = (out / "devin.duckdb").read_bytes()
    server.faults.auth_status = status
    server.clear_requests()
    result = export(server, out, *ids, "--concurrency", "2")
    assert result.code == 3
    assert "DEVIN_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(server.requests) <= 4  # it stopped, it did not go through all 20
    assert (out / "devin.duckdb").read_bytes() == before


def test_wrong_key_stops_on_the_first_page_of_all(server, out):
    result = export(server, out, "--all", key="apk_user_wrong")
    assert result.code == 3
    assert "DEVIN_API_KEY" in result.stderr
    assert not (out / "devin.duckdb").exists()
    assert not (out / "parquet").exists()


BAD_IDS = ["../x", "a/b", "x?y", "", "z" * 10_000, "sessión", "a b", "%2e%2e"]


def test_invalid_ids_are_recorded_and_never_requested_while_valid_ones_export(
    server, out, tmp_path
):
    good = server.devin.ids()[:2]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(BAD_IDS[1:]) + "\n")
    result = export(server, out, good[0], BAD_IDS[0], "", good[1], "--ids-file", str(ids_file))
    assert result.code == 1
    assert {r["session_id"] for r in server.requests} == set(good)
    kinds = query(out / "devin.duckdb", "select kind, count(*) from export_errors group by kind")
    # The blank line of the file is skipped, and "" from the command line is invalid.
    assert kinds == [("invalid_id", len(BAD_IDS))]
    longest = scalar(out / "devin.duckdb", "select max(length(session_id)) from export_errors")
    assert longest < 200  # a huge id is cut for the key column and the log line
    assert "Traceback" not in result.stderr
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == 2


def test_a_listed_session_that_failed_then_came_through_by_id_leaves_no_error(server, out):
    server.faults.script("page:0", ["wrong-type"])  # the page's first session is broken
    first = server.devin.ids()[0]
    result = export(server, out, "--all", *NO_BILL, first, "--batch-size", "10")
    assert result.code == 0, result.stderr  # it came through whole in the same run
    db = out / "devin.duckdb"
    assert errors(out) == []
    assert scalar(db, "select count(*) from sessions") == len(server.devin)
    assert scalar(db, "select status from export_runs") == "ok"
