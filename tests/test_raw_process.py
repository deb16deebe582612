"""--from-raw: saved lines of every kind, and the reading process beside the writer."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from pipeline.batch import Batch
from pipeline.consume import RunInfo
from pipeline.errors import FatalError
from pipeline.export import new_run_id
from pipeline.fake_api import FakeDevin
from pipeline.lock import OutputLock
from pipeline.progress import Reporter
from pipeline.raw import event_lines, raw_files
from pipeline.raw_process import ReadJob, read_in_child
from pipeline.schema import SESSIONS
from tests.helpers import ROOT, processes_marked, query, run_cli, scalar, wait_for


def test_from_raw_keeps_the_good_lines_and_reports_the_bad(out, tmp_path):
    devin = FakeDevin(sessions=6, seed=3)
    s = [devin.session(sid) for sid in devin.ids()]
    invalid = {**s[5], "acus_consumed": "lots"}
    renamed = {**s[0], "title": "renamed later"}
    page = {"items": [s[3], s[4]], "total": 2, "has_more": False}
    lines = [orjson.dumps(x) for x in (s[0], s[1], page, invalid, renamed)]
    lines.insert(3, b'{"session_id": "devin-cut", "status": ')  # cut short
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"\n".join(lines) + b"\n")

    result = run_cli("--from-raw", str(raw), "--out", str(out), "--batch-size", "2", key=None)

    assert result.code == 1, result.stderr  # partial: the good lines are in, the bad reported
    db = out / "devin.duckdb"
    stored = {sid for (sid,) in query(db, "select session_id from sessions")}
    assert stored == {
        s[0]["session_id"],
        s[1]["session_id"],
        s[3]["session_id"],
        s[4]["session_id"],
    }
    assert (
        scalar(db, f"select title from sessions where session_id = '{s[0]['session_id']}'")
        == "renamed later"
    )
    kinds = sorted(kind for (kind,) in query(db, "select kind from export_errors"))
    assert kinds == ["invalid_response", "invalid_response"]
    assert s[5]["session_id"] in result.stderr and "acus_consumed" in result.stderr
    assert "raw.jsonl:4" in result.stderr  # the line cut short, by file and line


def test_a_reading_process_that_fails_stops_the_run_with_its_error(tmp_path):
    gone = tmp_path / "gone.jsonl"  # removed between the parent's look and the child's read
    job = ReadJob([gone], RunInfo("run-1", datetime.now(UTC), 10))
    written: list[Batch] = []
    with pytest.raises(FatalError, match="reading the raw files failed: .*gone.jsonl"):
        read_in_child(job, written.append, Reporter(io.StringIO()))
    assert written == []


def test_a_killed_rebuild_leaves_no_reading_process_behind(tmp_path):
    devin = FakeDevin(sessions=3000, seed=4)
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"\n".join(orjson.dumps(devin.session(sid)) for sid in devin.ids()) + b"\n")
    mark = f"devin-export-test-{os.getpid()}-{time.monotonic_ns()}".encode()
    env = {**os.environ, "DEVIN_EXPORT_TEST_MARK": mark.decode()}
    command = [sys.executable, str(ROOT / "run_export.py"), "--from-raw", str(raw),
               "--out", str(tmp_path / "out"), "--batch-size", "100", "--quiet"]  # fmt: skip
    victim = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Killed once its reading process runs: the reader must notice and stop by itself.
    wait_for(lambda: any(b"multiprocessing" in c for c in processes_marked(mark)))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    wait_for(lambda: not processes_marked(mark), timeout=10)


def test_a_rebuild_into_a_locked_folder_leaves_its_early_reader_behind_no_more(tmp_path):
    # The reading process starts before the lock is taken (it imports meanwhile): when the
    # lock is refused, it must go with the run, having read nothing.
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(
        orjson.dumps((devin := FakeDevin(sessions=1, seed=4)).session(devin.ids()[0])) + b"\n"
    )
    out = tmp_path / "out"
    mark = f"devin-export-test-{os.getpid()}-{time.monotonic_ns()}".encode()
    env = {**os.environ, "DEVIN_EXPORT_TEST_MARK": mark.decode()}
    holder = OutputLock(out / ".devin-export" / "lock")
    with holder:
        result = subprocess.run(
            [sys.executable, str(ROOT / "run_export.py"), "--from-raw", str(raw), "--out",
             str(out), "--quiet"], env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert f"another export (pid {os.getpid()})" in result.stderr
    assert "Traceback" not in result.stderr
    assert not processes_marked(mark)  # the reader went with the run
    assert not (out / "devin.duckdb").exists()


def test_hostile_values_fail_their_session_only_and_huge_integers_stay_exact(out, tmp_path):
    devin = FakeDevin(sessions=4, seed=5)
    s = [devin.session(sid) for sid in devin.ids()]
    future = {**s[0], "created_at": "9999-12-31T23:00:00-05:00"}  # year 10000 in UTC
    ancient = {**s[1], "updated_at": "0001-01-01T00:00:00+05:00"}  # year 0 in UTC
    huge = {**s[2], "ledger_seq": 2**70, "nested": {"deep": [-(2**80), 1.5]}}
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b"\n".join(json.dumps(x).encode() for x in (future, ancient, huge, s[3])))

    result = run_cli("--from-raw", str(raw), "--out", str(out), key=None)

    assert result.code == 1, result.stderr  # two sessions failed, the run went on
    db = out / "devin.duckdb"
    failed = dict(query(db, "select session_id, message from export_errors"))
    assert failed[s[0]["session_id"]].startswith("created_at:")
    assert "cannot be represented in UTC" in failed[s[0]["session_id"]]
    assert failed[s[1]["session_id"]].startswith("updated_at:")
    extra = scalar(db, f"select extra from sessions where session_id = '{s[2]['session_id']}'")
    assert json.loads(extra)["ledger_seq"] == 2**70  # exact, not a float
    assert json.loads(extra)["nested"] == {"deep": [-(2**80), 1.5]}
    assert scalar(db, "select count(*) from sessions") == 2


def test_the_committed_samples_make_a_warehouse_without_a_key(out):
    result = run_cli("--from-raw", str(ROOT / "data" / "samples"), "--out", str(out), key=None)
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from sessions") == 9  # seven bodies, two more in a page
    assert query(db, "select api_version, count(*) from sessions group by 1 order by 1") == [
        ("v2", 6),
        ("v3", 3),
    ]


def _ended(session: dict, updated_at: str, **fields: object) -> bytes:
    return orjson.dumps({**session, "status": "exit", "updated_at": updated_at, **fields})


def test_written_batches_sharing_a_session_give_the_rows_they_gave_one_after_the_other(
    out, tmp_path
):
    # A batch wrote the session ended, a later one the same session changed again (its title
    # edited). Each gzip member is a batch its run wrote in one transaction; the rebuild writes
    # the two together, the session once, and ended_at stays the updated_at first seen ended.
    devin = FakeDevin(sessions=3, seed=8)
    s = [devin.session(sid) for sid in devin.ids()]
    first, later = "2026-01-01T10:00:00Z", "2026-01-03T10:00:00Z"
    runs = tmp_path / "raw" / "2026-01-01"
    runs.mkdir(parents=True)
    (runs / "20260101T100000.000Z-aaaaaa.jsonl.gz").write_bytes(
        gzip.compress(_ended(s[0], first) + b"\n" + orjson.dumps(s[1]) + b"\n")
        + gzip.compress(_ended(s[0], later, title="edited") + b"\n")
        + gzip.compress(orjson.dumps(s[2]) + b"\n")[:-9]  # torn: the run was killed writing it
    )

    result = run_cli("--from-raw", str(tmp_path / "raw"), "--out", str(out), key=None)

    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    sid = s[0]["session_id"]
    row = query(db, f"select title, updated_at, ended_at from sessions where session_id = '{sid}'")
    assert row == [
        ("edited", datetime(2026, 1, 3, 10, tzinfo=UTC), datetime(2026, 1, 1, 10, tzinfo=UTC))
    ]
    # The torn member's batch never reached the warehouse of its run: not rebuilt either.
    assert {r for (r,) in query(db, "select session_id from sessions")} == {sid, s[1]["session_id"]}


def _members(*members: list[bytes]) -> bytes:
    """A raw file's bytes: each list of lines one gzip member, as a run writes its batches."""
    return b"".join(gzip.compress(b"\n".join(lines) + b"\n") for lines in members)


def test_small_written_batches_are_written_together_when_that_changes_nothing(out, tmp_path):
    # A year of nightly runs is hundreds of small batches, each night refetching sessions of
    # the night before and listing the enterprise's parts: they are written in one
    # transaction, up to the batch size (7 here), unless a session both name could not be
    # written once (s0 running, then ended: ended_at is the later updated_at) or the held
    # batches' messages lines name a session the next batch writes and they do not hold (s11:
    # its messages would set the prompt of that version, not of the one stored before).
    devin = FakeDevin(sessions=12, seed=10)
    s = [devin.session(sid) for sid in devin.ids()]
    ids = [x["session_id"] for x in s]
    line = [orjson.dumps(x) for x in s]
    running = orjson.dumps({**s[0], "status": "running"})
    ended = _ended(s[0], "2026-03-01T10:00:00Z")
    again = _ended(s[0], "2026-03-02T10:00:00Z", title="edited")  # ended before: joins
    gone = event_lines({ids[1]: datetime(2026, 3, 2, tzinfo=UTC)}, {})
    people = (
        b'{"devin_export_part":{"run_id":"r0","part":"organizations","api_version":"v2",'
        b'"end":true,"complete":true,"listed_at":"2026-03-01T00:00:00+00:00"}}'
    )
    messages = (b'{"devin_export_part":{"run_id":"r0","part":"messages","session_id":"%s",'
                b'"api_version":"v3","page":0,"last":true,'
                b'"received_at":"2026-03-01T00:00:00+00:00"},"body":{"items":[]}}'
                % ids[11].encode())  # fmt: skip
    members = [[running, line[1]], line[2:4], [people], [ended], line[4:7], [again],
               line[7:11], [messages], [line[11]], gone]  # fmt: skip
    raw = tmp_path / "20260301T000000.000Z-cccccc.jsonl.gz"
    raw.write_bytes(_members(*members))
    job = ReadJob([raw], RunInfo("run-1", datetime.now(UTC), 7, land_raw=False))
    written: list[Batch] = []
    read_in_child(job, written.append, Reporter(io.StringIO()))
    assert (
        [b.keys() for b in written]
        == [
            set(ids[0:4]),  # two batches and a part joined
            {ids[0], *ids[4:7]},  # s0 ended: after the batch that held it running; then again
            set(ids[7:11]),  # would pass 7 with the one before; s11's messages joined
            {ids[11]},  # after its messages
            {ids[1]},  # the last batch: written as it came
        ]
    )
    # The messages lines were read in the reading process: what they built comes instead.
    assert [len(b.part_lines) for b in written] == [1, 0, 0, 0, 0]
    assert [[type(i).__name__ for i in b.part_items] for b in written] == [
        [], [], ["MessageRows"], [], []]  # fmt: skip
    assert written[2].part_items[0].sessions == [ids[11]]
    sessions = written[1].table(SESSIONS).to_pylist()
    assert [(r["session_id"], r["title"], r["ended_at"]) for r in sessions if r["session_id"] ==
            ids[0]] == [(ids[0], "edited", datetime(2026, 3, 1, 10, tzinfo=UTC))]  # fmt: skip
    # (written once: its later version, with the ended_at first seen)
    # Written as the CLI does, the joined batches give what one batch each gave.
    raw.write_bytes(_members(*(m for m in members if people not in m and messages not in m)))
    result = run_cli("--from-raw", str(raw), "--out", str(out), "--batch-size", "7", key=None)
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from sessions") == 12
    assert query(db, f"select status, title, ended_at from sessions where session_id = "
                     f"'{ids[0]}'") == [("exit", "edited", datetime(2026, 3, 1, 10, tzinfo=UTC))]  # fmt: skip
    assert scalar(db, f"select deleted_at from sessions where session_id = '{ids[1]}'") == (
        datetime(2026, 3, 2, tzinfo=UTC)
    )


def test_what_a_run_learnt_without_a_body_is_replayed_from_its_event_lines(out, tmp_path):
    devin = FakeDevin(sessions=2, seed=9)
    s = [devin.session(sid) for sid in devin.ids()]
    gone_at, asked_at = datetime(2026, 2, 1, 8, tzinfo=UTC), datetime(2026, 2, 2, 9, tzinfo=UTC)
    raw = tmp_path / "20260201T080000.000Z-bbbbbb.jsonl.gz"
    raw.write_bytes(
        gzip.compress(b"\n".join(orjson.dumps(x) for x in s) + b"\n")
        + gzip.compress(b"\n".join(event_lines({s[0]["session_id"]: gone_at}, {})) + b"\n")
        + gzip.compress(b"\n".join(event_lines({}, {s[1]["session_id"]: asked_at})) + b"\n")
    )

    result = run_cli("--from-raw", str(raw), "--out", str(out), key=None)

    assert result.code == 0, result.stderr
    marks = query(out / "devin.duckdb", "select session_id, deleted_at, analysis_requested_at "
                                        "from sessions order by session_id")  # fmt: skip
    assert sorted(marks) == sorted(
        [
            (s[0]["session_id"], gone_at, None),
            (s[1]["session_id"], None, asked_at),
        ]
    )


def test_runs_started_within_one_second_are_replayed_in_the_order_they_started(tmp_path):
    # Runs go one at a time, but a short one and the next can start within one second: the
    # run id (the raw file's name) carries the milliseconds, so its random part never decides.
    start = datetime(2026, 3, 1, 23, 59, 59, 900_000, tzinfo=UTC)
    ids = [new_run_id(start + timedelta(milliseconds=n * 7)) for n in range(40)]
    for run_id in ids:
        day = tmp_path / run_id[:8]
        day.mkdir(exist_ok=True)
        (day / f"{run_id}.jsonl.gz").write_bytes(b"")
    assert [p.name for p in raw_files([tmp_path])] == [f"{run_id}.jsonl.gz" for run_id in ids]
