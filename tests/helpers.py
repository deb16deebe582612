"""Helpers shared by the tests: running the CLI as a user would, and reading what it wrote."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import requests

from pipeline.aggregates import Aggregates
from pipeline.cli import main
from pipeline.fake_api import FakeApiServer
from pipeline.fake_api.llm import huge
from pipeline.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KEY = "apk_user_TEST-SECRET-7c1e9d"
# An --all run fetches the enterprise's bill by default (SPEC section 10): consumption (the
# billing cycles, then the enterprise's, each org's and each person's days) and metrics (two
# requests a UTC day over those cycles, ~100 days on a first night): ~270 requests in v3. A test
# of something else leaves it out, as a user may. Those that hold the bill keep it: the bill's
# own (test_billing), every table compared (test_model_based's rebuild, a pseudonymized run
# against a clear one), the key or a secret in no output, the report's billing charts, the
# billing check, Parquet by billing month, the permissions of the parts, the demos, an upgrade.
NO_BILL = ("--without", "consumption,metrics")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def get(http: requests.Session, srv: FakeApiServer, path: str, **kwargs: Any) -> requests.Response:
    """GET a path of the fake API straight, without the exporter."""
    return http.get(srv.url + path, timeout=kwargs.pop("timeout", 5), **kwargs)


def run_cli(*args: str, key: str | None = KEY, env: dict[str, str] | None = None) -> CliResult:
    """Run main() in-process with its own stdout/stderr and environment."""
    environ = dict(env or {})
    if key is not None:
        environ["DEVIN_API_KEY"] = key
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args), environ)
    return CliResult(code, out.getvalue(), err.getvalue())


def start_export(api_url: str, out: Path, *args: str, key: str = KEY) -> subprocess.Popen[bytes]:
    """Start run_export.py as a separate process, as cron would."""
    env = {**os.environ, "DEVIN_API_KEY": key}
    command = [sys.executable, str(ROOT / "run_export.py"), "--out", str(out), "--api-url",
               api_url, *args]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def query_each(db: Path, sqls: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    """Each query's rows, by name, read on one connection: opening a warehouse (its catalog of
    tables, views and comments) takes longer than most tables' rows, 30-50 ms each time."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in sqls.items()}


@contextlib.contextmanager
def edited(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Change a warehouse by hand, then make its aggregate tables whole again from its rows, as
    a run would have kept them (the views read them: a hand edit bypasses the pipeline)."""
    with duckdb.connect(str(db)) as con:
        yield con
        Aggregates(con).rebuild()


def pasted_log(characters: int = 35_000) -> str:
    """A log as an analysis pastes it into a label (the fake's pasted logs: lines of every
    script), cut to characters."""
    rng, text = random.Random(1), ""
    while len(text) < characters:
        text += huge(rng) + "\n"
    return text[:characters]


def scalar(db: Path, sql: str) -> Any:
    return query(db, sql)[0][0]


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def assert_no_duplicate_keys(db: Path) -> None:
    counts = query_each(db, {
        table.name: f"select count(*) from (select {', '.join(table.key)} from {table.name} "
                    "group by all having count(*) > 1)"
        for table in TABLES
    })  # fmt: skip
    for table in TABLES:
        assert counts[table.name] == [(0,)], table.name


def all_text_in(out: Path) -> bytes:
    """Every byte written under out, gzip files decompressed, plus every string in the warehouse."""
    chunks = []
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            chunks.append(gzip.decompress(data) if path.name.endswith(".gz") else data)
    for db in out.rglob("*.duckdb"):
        with duckdb.connect(str(db), read_only=True) as con:
            columns = con.execute(
                "select table_name, column_name from information_schema.columns "
                "where data_type = 'VARCHAR' and table_name not like 'v_%'"
            ).fetchall()
            for table, column in columns:
                values = con.execute(f"select string_agg({column}, '|') from {table}").fetchone()
                chunks.append(((values or [None])[0] or "").encode())
    return b"\n".join(chunks)


def processes_marked(mark: bytes) -> list[bytes]:
    """Command lines of the live processes whose environment holds mark."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and mark in (proc / "environ").read_bytes():
                found.append((proc / "cmdline").read_bytes())
        except OSError:
            continue  # gone while looking, or not ours to read
    return found


OLDEST_DUCKDB = ROOT / ".venv" / "duckdb-1.1"  # installed there by the Makefile


def with_oldest_duckdb(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run sql on db, read-only, in DuckDB 1.1 (a subprocess): what analysts' tools may have."""
    answer = with_oldest_duckdb_each(db, {"sql": sql})["sql"]
    assert not isinstance(answer, str), answer
    return answer


def with_oldest_duckdb_each(db: Path, sqls: dict[str, str]) -> dict[str, Any]:
    """Run each query on db, read-only, in one DuckDB 1.1 subprocess (starting one takes longer
    than most queries): each name's rows, or the error it raised as text."""
    script = (
        "import duckdb, json, sys\n"
        "assert duckdb.__version__.startswith('1.1.'), duckdb.__version__\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "found = {}\n"
        "for name, sql in json.loads(sys.stdin.read()).items():\n"
        "    try:\n"
        "        found[name] = con.execute(sql).fetchall()\n"
        "    except duckdb.Error as err:\n"
        "        found[name] = f'{type(err).__name__}: {err}'\n"
        "print(json.dumps(found, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)], input=json.dumps(sqls),
        env={"PYTHONPATH": str(OLDEST_DUCKDB)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {
        name: rows if isinstance(rows, str) else [tuple(row) for row in rows]
        for name, rows in json.loads(done.stdout).items()
    }
