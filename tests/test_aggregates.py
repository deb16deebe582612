"""The aggregate tables a night keeps by each batch's change equal the same tables made whole
from every row, after any sequence of runs against a server whose sessions move between groups
(status, ACUs, PR states, labels), grow, end and disappear."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.aggregates import INPUTS, Aggregates, load_aggregates
from pipeline.fake_api import FakeApiServer, FakeDevin, with_text
from tests.helpers import KEY, NO_BILL, query, run_cli
from tests.test_views import STAGING_NAMES, relations_read

WORK = Path(".devin-export") / "work.duckdb"  # the working copy runs write; devin.duckdb a copy


def contents(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            agg.name: con.execute(f"select * from {agg.name} order by all").fetchall()
            for agg in Aggregates(con).all
        }


def made_whole(db: Path, tmp: Path) -> dict[str, list[tuple[object, ...]]]:
    copy = tmp / "whole.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        Aggregates(con).rebuild()
    return contents(copy)


def export(server: FakeApiServer, out: Path, *args: str, key: str = KEY) -> None:
    result = run_cli(*args, "--out", str(out), "--api-url", server.url, "--quiet", key=key)
    assert result.code == 0, result.stderr


@pytest.mark.parametrize("key", [KEY, "cog_TEST-SERVICE-USER-8e4d2a"])  # v3: playbooks, notes
def test_a_night_keeps_the_aggregates_equal_to_a_whole_rebuild(tmp_path: Path, key: str) -> None:
    devin = with_text(FakeDevin(sessions=150, seed=11), "llm")
    out = tmp_path / "out"
    with FakeApiServer(devin, key=key) as server:
        export(server, out, "--all", *NO_BILL, key=key)
        db = out / "devin.duckdb"
        assert contents(db) == made_whole(db, tmp_path)
        ids = [r[0] for r in query(db, "select session_id from sessions order by 1")]
        # Sessions move between groups: another status, other ACUs; some disappear.
        for number, session_id in enumerate(ids[:12]):
            devin.update(session_id, status="exit" if number % 2 else "error",
                         acus_consumed=number * 1.25)  # fmt: skip
        devin.delete(ids[20])
        devin.advance(days=1, new_sessions=15, updated_sessions=20, late_analyses=5)
        export(server, out, "--all", *NO_BILL, key=key)
        export(server, out, *ids[:12], "--refresh-open", key=key)
        whole = made_whole(db, tmp_path)
        assert contents(db) == whole
        v2_has_none = {"agg_playbooks", "agg_note_usages"}  # v2 keeps playbook_id in extra
        assert all(v for a, v in whole.items() if key.startswith("cog_") or a not in v2_has_none)


def test_a_night_changes_the_aggregates_and_does_not_remake_them(tmp_path: Path) -> None:
    devin = FakeDevin(sessions=60, seed=3)
    out = tmp_path / "out"
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, "--all", *NO_BILL)
        db = out / "devin.duckdb"
        with duckdb.connect(str(out / WORK)) as con:  # a mark a remake would wipe out
            con.execute("update agg_session_values set sessions = sessions + 1000")
        devin.advance(days=1, new_sessions=3)
        export(server, out, "--all", *NO_BILL)
        marked = query(db, "select min(sessions) from agg_session_values")[0][0]
        assert marked > 1000  # kept by the night's change, not made again from the rows


def test_a_changed_aggregate_is_made_whole_again(tmp_path: Path) -> None:
    devin = FakeDevin(sessions=40, seed=5)
    out = tmp_path / "out"
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, "--all", *NO_BILL)
        db = out / "devin.duckdb"
        with duckdb.connect(str(out / WORK)) as con:  # as an older release's would be
            con.execute("update agg_session_values set sessions = sessions + 1000")
            con.execute("update aggregate_versions set sha = 'older'")
        export(server, out, "--all", *NO_BILL)
        assert query(db, "select max(sessions) from agg_session_values")[0][0] <= 40


def test_every_aggregate_reads_only_what_a_batch_keeps() -> None:
    for agg in load_aggregates():
        read = relations_read(agg.sql)
        assert read, agg.name
        allowed = set(INPUTS) | (STAGING_NAMES - {"stg_session_counts"})
        assert read <= allowed, (agg.name, read - allowed)
        assert agg.keys and agg.description


def test_rebuild_from_raw_makes_them_whole(tmp_path: Path) -> None:
    devin = FakeDevin(sessions=50, seed=9)
    out = tmp_path / "out"
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, "--all", *NO_BILL)
    rebuilt = tmp_path / "rebuilt"
    assert run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet").code == 0
    assert contents(rebuilt / "devin.duckdb") == contents(out / "devin.duckdb")
