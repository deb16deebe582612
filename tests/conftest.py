"""Shared fixtures: a real fake Devin API on 127.0.0.1 and a way to run the CLI as a user would."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.fake_api import FakeApiServer, FakeDevin, Faults

KEY = "apk_user_TEST-SECRET-7c1e9d"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, key: str | None = KEY, env: dict[str, str] | None = None) -> CliResult:
    """Run main() in-process with its own stdout/stderr and environment."""
    environ = dict(env or {})
    if key is not None:
        environ["DEVIN_API_KEY"] = key
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args), environ)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(sessions=120, seed=7)


@pytest.fixture
def server(devin: FakeDevin):
    """A fresh fake API for each test, so faults and request logs never leak between tests."""
    with FakeApiServer(devin, key=KEY, faults=Faults(retry_after=0)) as srv:
        yield srv


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def scalar(db: Path, sql: str) -> object:
    return query(db, sql)[0][0]
