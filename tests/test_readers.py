"""Analysts may hold devin.duckdb open while the nightly export runs: neither blocks the other."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import run_cli, scalar

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
