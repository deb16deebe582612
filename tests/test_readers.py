"""Analysts may hold devin.duckdb open while the nightly export runs: neither blocks the other."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.schema import TABLES
from tests.helpers import query, query_each, run_cli, scalar, with_oldest_duckdb_each

READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
query = "select count(*), sum(acus_consumed), count(distinct _run_id) from sessions"
print(con.execute(query).fetchone(), flush=True)
sys.stdin.readline()
print(con.execute(query).fetchone(), flush=True)
"""


@pytest.mark.parametrize("mode", ["rw", "ro"])
def test_an_open_reader_never_blocks_the_export_and_sees_old_or_new_never_a_mix(server, out, mode):
    ids = server.devin.ids()
    args = ("--out", str(out), "--api-url", server.url, "--quiet")
    assert run_cli(*ids[:40], *args).code == 0
    db = out / "devin.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        before = reader.stdout.readline()
        assert before.startswith("(40,"), reader.stderr.read()
        result = run_cli(*ids[:100], *args)  # re-exports the 40 and adds 60
        assert result.code == 0, result.stderr
        reader.stdin.write("\n")
        reader.stdin.flush()
        again = reader.stdout.readline()
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
        reader.stdout.close()
        reader.stderr.close()
    assert again == before  # the open connection keeps reading the old file, consistently
    assert scalar(db, "select count(*) from sessions") == 100  # a fresh connection sees the new


def relations(db) -> list[str]:
    return [
        name
        for (name,) in query(
            db,
            "select table_name from duckdb_tables() union all "
            "select view_name from duckdb_views() where not internal order by 1",
        )
    ]


def test_duckdb_1_1_and_the_current_release_open_the_file_and_run_every_view(out):
    assert run_cli("--demo", "60", "--out", str(out), "--quiet", key=None).code == 0
    db = out / "devin.duckdb"
    names = relations(db)
    assert {t.name for t in TABLES} <= set(names) and any(n.startswith("v_") for n in names)
    sqls = {name: f"select count(*) from (select * from {name})" for name in names}
    oldest, current = with_oldest_duckdb_each(db, sqls), query_each(db, sqls)
    for name in names:
        assert oldest[name] == current[name], name
