"""The aggregate tables a night keeps by each batch's change equal the same tables made whole
from every row, after any sequence of runs against a server whose sessions move between groups
(status, ACUs, PR states, labels), grow, end and disappear."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipeline.aggregates import INPUTS, Aggregates, load_aggregates, staging_sql
from pipeline.fake_api import FakeApiServer, FakeDevin, with_text
from pipeline.memory import MEMORY_LIMIT, MORE_MEMORY_LIMIT
from tests.helpers import KEY, NO_BILL, ROOT, edited, pasted_log, query, run_cli, scalar
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


def test_a_night_keeps_the_aggregates_of_pasted_logs_within_the_memory_limit(
    tmp_path: Path,
) -> None:
    """A warehouse whose issues have 600 distinct labels of 35 kB (the same pasted log, each
    with its own last line): a night still exits 0 within the export's 64 MB of DuckDB cache
    (merging keys of 35 kB ran out of it from about 450 such labels: exit 3), and its
    aggregates equal a whole rebuild. The night replaces sessions that hold such issues, so
    their change is subtracted too."""
    devin = FakeDevin(sessions=20, seed=3)
    out = tmp_path / "out"
    ids = devin.ids()
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, *ids)
        with edited(out / WORK) as con:
            # 30 issues on each session, each label its own; impacts are short here: as many
            # 35 kB impacts as well would fill the scan of the issues table itself
            con.execute(
                "insert into issues select session_id, 100 + k, 'pasted', 'High', "
                "$log || ' #' || k, null from "
                "(select session_id, row_number() over (order by session_id) - 1 as s "
                "from sessions), range(600) as t(k) where k % 20 = s",
                {"log": pasted_log()},
            )
        export(server, out, *ids[:3])
        db = out / "devin.duckdb"
        # the three sessions' pasted issues are gone (the API's versions hold none)
        assert query(db, "select count(*) from issues where ordinal >= 100") == [(510,)]
        assert contents(db) == made_whole(db, tmp_path)


def test_aggregates_keyed_by_whole_texts_are_made_again_within_bounds(tmp_path: Path) -> None:
    """A warehouse whose aggregates the release before the bound on text_key made, keyed and
    spelled by whole texts of 35 kB: the first night of this one makes them whole again, keyed
    within bounds (text_key is staging SQL, part of each aggregate's version), and they equal
    a whole rebuild."""
    devin = FakeDevin(sessions=20, seed=3)
    out = tmp_path / "out"
    ids = devin.ids()
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, *ids)
        with duckdb.connect(str(out / WORK)) as con:
            con.execute(
                "insert into issues select session_id, 100, 'pasted', $log || session_id, "
                "$log || session_id, null from sessions",
                {"log": pasted_log()},
            )
            con.execute("create or replace macro text_key(text) as "
                        "lower(ltrim(text_key_end(text_key_spaces(text_key_nfc(text)))))")  # fmt: skip
            con.execute("create or replace macro text_cut(text) as text")
            older = Aggregates(con)
            for agg in older.all:  # made with those macros: rebuild() would make this version's
                older.make(agg)
            con.execute("update aggregate_versions set sha = 'older'")
        db = out / "devin.duckdb"
        assert scalar(out / WORK, "select max(length(text_key)) from agg_spellings") > 30_000
        export(server, out, *ids[:2])
        assert query(db, "select max(length(text)), max(length(text_key)) from agg_spellings"
                     ) == [(301, 333)]  # fmt: skip
        assert scalar(db, "select max(length(label_key)) from agg_issue_labels") == 333
        assert contents(db) == made_whole(db, tmp_path)


def test_a_change_of_the_staging_layer_alone_remakes_every_aggregate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """text_key is a macro of sql/staging: a release that changes only the staging layer (as
    the bound on long keys did) has every aggregate made whole again with it."""
    con = duckdb.connect()
    current = Aggregates(con)
    current.stale()  # makes the table of versions
    con.executemany("insert into aggregate_versions values (?, ?)",
                    [[a.name, a.sha] for a in current.all])  # fmt: skip
    assert Aggregates(con).stale() == []
    changed = staging_sql() + "\n-- a macro changed\n"
    monkeypatch.setattr("pipeline.aggregates.staging_sql", lambda: changed)
    assert [a.name for a in Aggregates(con).stale()] == [a.name for a in current.all]


def test_pasted_logs_in_labels_and_impacts_get_more_memory_for_their_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 issues with a pasted log of 35 kB in both their label and their impact, each its
    own: the first night makes agg_spellings and agg_issue_labels whole over them (and stages
    the issues' Parquet), the second re-writes them (the batch's DELETE ... RETURNING hands them
    to the live aggregates), and a rebuild from raw commits them and makes the aggregates whole.
    Each of those steps runs out of the export's 64 MB of DuckDB cache (all three runs exited 3
    with 'Out of Memory'): tried once more with MORE_MEMORY_LIMIT, each run exits 0, and the
    aggregates the night kept equal those the rebuild made whole. With no more memory than the
    cache, the rebuild exits 3 with DuckDB's error, not a failed ROLLBACK's."""
    devin = FakeDevin(sessions=20, seed=3)
    out = tmp_path / "out"
    ids = devin.ids()
    log = pasted_log()
    for s, session_id in enumerate(ids):
        issues = [{"issue": "pasted", "label": f"{log} #{k}", "impact": f"{log} impact #{k}"}
                  for k in range(30 * s, 30 * s + 30)]  # fmt: skip
        analysis = {"issues": issues, "action_items": [], "timeline": [], "suggested_prompt": None}
        devin.set_analysis(session_id, analysis)
    with FakeApiServer(devin, key=KEY) as server:
        export(server, out, *ids)
        export(server, out, *ids)
    db = out / "devin.duckdb"
    assert query(db, "select count(*), min(length(label)), min(length(impact)) from issues"
                 ) == [(600, 35_003, 35_010)]  # fmt: skip
    rebuild = ("--from-raw", str(out / "raw"), "--quiet")
    with monkeypatch.context() as patched:  # no more than the cache: as before the retry
        patched.setattr("pipeline.memory.MORE_MEMORY_LIMIT", MEMORY_LIMIT)
        failed = run_cli(*rebuild, "--out", str(tmp_path / "failed"))
    assert failed.code == 3
    assert "MiB used)" in failed.stderr and "no transaction is active" not in failed.stderr
    result = run_cli(*rebuild, "--out", str(tmp_path / "rebuilt"))
    assert result.code == 0, result.stderr
    # said, since the run peaked above the cache's limit
    assert "warning: a batch's write; making agg_" in result.stderr, result.stderr
    assert f"done again with {MORE_MEMORY_LIMIT}" in result.stderr
    # made whole in one pass at the end of the rebuild; kept by each batch's change in the night
    assert contents(tmp_path / "rebuilt" / "devin.duckdb") == contents(db)


def test_the_readmes_hand_rebuild_works_on_a_warehouse_without_this_releases_macros(
    tmp_path: Path,
) -> None:
    """README's command to make the aggregates whole after a hand edit, run as it is written,
    on a working copy that no run of this release opened: it lacks text_cut (and an older
    text_key), which the aggregates' SQL calls; rebuild() creates the staging layer first."""
    out = tmp_path / "out"
    with FakeApiServer(FakeDevin(sessions=10, seed=4), key=KEY) as server:
        export(server, out, "--all", *NO_BILL)
    with duckdb.connect(str(out / WORK)) as con:  # as the release before the bound left it
        con.execute("drop macro text_cut")
        con.execute("create or replace macro text_key(text) as lower(text)")
        con.execute("update agg_session_values set sessions = sessions + 1000")  # a hand edit
    readme = (ROOT / "README.md").read_text()
    (command,) = re.findall(
        r'`(python -c "import duckdb; from pipeline\.aggregates [^`]*)`', readme
    )
    argv = [sys.executable, *shlex.split(command.replace("DIR", str(out)))[1:]]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert scalar(out / WORK, "select text_cut(repeat('x', 400))") == "x" * 300 + "…"
    assert contents(out / WORK) == made_whole(out / WORK, tmp_path)
    assert scalar(out / WORK, "select max(sessions) from agg_session_values") <= 10
