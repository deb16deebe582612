"""The SQL layer in DuckDB 1.1, the oldest release analysts' tools may read devin.duckdb with.

DuckDB 1.1.3 is installed beside the venv (make .venv/.installed puts it in .venv/duckdb-1.1)
and run in a subprocess, since one process can import only one DuckDB. Every staging relation
and view must be created by 1.1 from its SQL file, and answer there as it does in the current
DuckDB; and a file the pipeline's DuckDB writes in 1.1's storage format must open in 1.1 with
every view answering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.schema import TABLES
from tests.test_views import (
    SQL_FILES,
    STAGING_NAMES,
    VIEW_NAMES,
    create_tables,
    insert,
    load_sql,
    statement,
)

ROOT = Path(__file__).resolve().parent.parent
OLDEST = ROOT / ".venv" / "duckdb-1.1"
OLDEST_VERSION = "1.1.3"
STORAGE_VERSION = "v1.1.0"  # as pipeline.warehouse writes it
RELATIONS = sorted(STAGING_NAMES | VIEW_NAMES)

# Runs in DuckDB 1.1: reads a JSON job on stdin, prints a JSON answer on stdout. A failing
# step is reported, not raised, so the test can say which file or relation failed.
SCRIPT = r"""
import json, sys
import duckdb

job = json.load(sys.stdin)
answer = {"version": duckdb.__version__, "errors": {}, "rows": {}, "types": {}, "comments": {}}
con = duckdb.connect(job.get("database") or ":memory:", read_only=bool(job.get("database")))
con.execute("set TimeZone = 'UTC'")
for statement in job.get("ddl", []):
    con.execute(statement)
for table, path in job.get("parquet", {}).items():
    con.execute(f"insert into {table} select * from read_parquet('{path}')")
for name, text in job.get("files", []):
    try:
        con.execute(text)
    except duckdb.Error as err:
        answer["errors"][name] = f"{type(err).__name__}: {err}"
for name in job["relations"]:
    try:
        answer["types"][name] = con.execute(
            f"select column_name, column_type from (describe {name})"
        ).fetchall()
        answer["rows"][name] = con.execute(
            f"select * from (select columns(*)::varchar from {name}) order by all"
        ).fetchall()
    except duckdb.Error as err:
        answer["errors"][name] = f"{type(err).__name__}: {err}"
answer["comments"] = dict(
    con.execute("select view_name, comment from duckdb_views() where not internal").fetchall()
)
print(json.dumps(answer))
"""


def in_oldest_duckdb(job: dict[str, Any]) -> dict[str, Any]:
    """Run the job in DuckDB 1.1 and return its answer."""
    if not (OLDEST / "duckdb").is_dir():
        pytest.fail(f"DuckDB {OLDEST_VERSION} is not installed in {OLDEST}: make .venv/.installed")
    env = {**os.environ, "PYTHONPATH": str(OLDEST)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=OLDEST,  # never this checkout: its pipeline package must not shadow anything
        check=True,
        timeout=300,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    assert answer["version"] == OLDEST_VERSION
    return answer


def sql_files() -> list[tuple[str, str]]:
    return [(path.stem, statement(path)) for path in SQL_FILES]


def as_text(con: duckdb.DuckDBPyConnection, name: str) -> list[list[str | None]]:
    rows = con.execute(
        f"select * from (select columns(*)::varchar from {name}) order by all"
    ).fetchall()
    return [list(row) for row in rows]


def hand_made_parquet(directory: Path) -> dict[str, str]:
    """Write the hand-made warehouse of test_views as one Parquet file per table."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    create_tables(con)
    insert(con)
    paths = {}
    for table in TABLES:
        path = directory / f"{table.name}.parquet"
        con.execute(f"copy {table.name} to '{path}' (format parquet)")
        paths[table.name] = str(path)
    return paths


def test_every_relation_is_created_and_answers_as_in_the_current_duckdb(tmp_path: Path) -> None:
    answer = in_oldest_duckdb(
        {
            "ddl": [table.ddl() for table in TABLES],
            "parquet": hand_made_parquet(tmp_path),
            "files": sql_files(),
            "relations": RELATIONS,
        }
    )
    assert answer["errors"] == {}
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    create_tables(con)
    insert(con)
    load_sql(con)
    for name in RELATIONS:
        assert answer["rows"][name] == as_text(con, name), name
        assert answer["rows"][name], f"{name} has no rows: the comparison proves little"
        types = con.execute(f"select column_name, column_type from (describe {name})").fetchall()
        assert [tuple(t) for t in answer["types"][name]] == types, name
    assert set(answer["comments"]) == set(RELATIONS)
    assert all(answer["comments"].values())


def test_a_file_written_in_1_1_storage_opens_in_1_1_with_every_view(tmp_path: Path) -> None:
    path = tmp_path / "devin.duckdb"
    con = duckdb.connect()
    con.execute(f"attach '{path}' as warehouse (storage_version '{STORAGE_VERSION}')")
    con.execute("use warehouse")
    create_tables(con)
    insert(con)
    load_sql(con)
    con.execute("checkpoint")
    con.close()
    answer = in_oldest_duckdb({"database": str(path), "relations": RELATIONS})
    assert answer["errors"] == {}
    assert all(answer["rows"][name] for name in RELATIONS)
    assert set(answer["comments"]) == set(RELATIONS)


def test_the_check_fails_when_a_cte_shadows_a_table() -> None:
    # what the current DuckDB accepts and 1.1 rejects: the test above would name the file
    shadowing = "create or replace view v_bad as with sessions as (select * from sessions) select * from sessions"
    duckdb.connect().execute(TABLES[0].ddl()).execute(shadowing)
    answer = in_oldest_duckdb(
        {"ddl": [t.ddl() for t in TABLES], "files": [("v_bad", shadowing)], "relations": []}
    )
    assert "Circular reference to CTE" in answer["errors"]["v_bad"]
