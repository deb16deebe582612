"""Data-quality checks: the SQL files of sql/checks/, run against the warehouse after a load.

Each check file holds one query that returns the offending rows, its first column a key for the
sample; its first line declares the severity (`-- severity: error` or `-- severity: warn`) and
its second line says what it checks. A check reads base tables and stg_* relations, so it runs
after the views are created. The query is run wrapped in a SELECT that counts its rows, so a
check can never change stored data.

A check whose SQL fails (or whose file has no valid severity line) does not stop the export: it
is recorded as broken, with severity error, failing_rows NULL and the error text in sample.

A night checks only its own sessions: each session table is shadowed, for the checks' queries, by
a temporary view of the rows of the sessions that no finished check has seen (those the run
wrote, and those of runs that died before their checks), so the checks' SQL is the same for a
night and for a sweep of the whole warehouse. A check whose comment header says
`-- scope: warehouse` (one that depends on the clock, not on what a run wrote) always sees every
row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.schema import DATA_TABLES, MESSAGE_TABLES, QUALITY_CHECKS
from pipeline.shadow import shadowed, stored

PACKAGE_DIR = Path(__file__).resolve().parent
# sql/checks of a checkout (editable install), or the copy a wheel carries inside the package,
# found the way pipeline.warehouse finds sql/staging and sql/views.
CHECK_DIRS = (PACKAGE_DIR.parent / "sql" / "checks", PACKAGE_DIR / "sql" / "checks")
SEVERITIES = ("error", "warn")
SAMPLE_SIZE = 5
SAMPLE_SEPARATOR = "; "
ERROR_CHARS = 1000  # of an error message kept in sample: DuckDB's may quote the whole query
_SEVERITY_LINE = re.compile(r"--\s*severity:\s*(\w+)\s*$")
_WHOLE_WAREHOUSE_LINE = re.compile(r"--\s*scope:\s*warehouse\b")
RUN, WAREHOUSE = "run", "warehouse"  # quality_checks.scope


@dataclass(frozen=True)
class Check:
    """One file of sql/checks: its name (the file stem), severity, description and query."""

    name: str
    severity: str
    description: str
    sql: str
    problem: str | None = None  # why the file cannot be run: it is then reported broken
    whole_warehouse: bool = False  # `-- scope: warehouse`: never limited to a run's sessions

    @property
    def sha(self) -> str:
        """Names this version of the check: a changed check is a new one, checked everywhere."""
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CheckResult:
    """What one check found: failing_rows is None when its SQL failed (error says why)."""

    name: str
    severity: str
    failing_rows: int | None
    sample: list[str]
    error: str | None = None
    scope: str = WAREHOUSE  # run: over the run's sessions only
    sha: str | None = None

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0

    def row(self, run_id: str, checked_at: datetime) -> tuple[Any, ...]:
        """Return the result as a quality_checks row."""
        return QUALITY_CHECKS.row(
            run_id=run_id,
            check_name=self.name,
            severity=self.severity,
            failing_rows=self.failing_rows,
            sample=self.error
            if self.error is not None
            else (SAMPLE_SEPARATOR.join(self.sample) or None),
            checked_at=checked_at,
            scope=self.scope,
            check_sha=self.sha,
        )


def check_dir() -> Path | None:
    """Return the sql/checks directory this installation carries, if any."""
    return next((d for d in CHECK_DIRS if d.is_dir()), None)


def parse_check(path: Path) -> Check:
    """Return the check a file defines; an unreadable file or one without a valid severity
    line comes back as a check with a problem, which run_check reports as broken."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return Check(path.stem, "error", "", "", f"{path.name}: cannot be read: {err}")
    lines = text.splitlines()
    match = _SEVERITY_LINE.match(lines[0].strip()) if lines else None
    description = lines[1].removeprefix("--").strip() if len(lines) > 1 else ""
    if match is None or match.group(1) not in SEVERITIES:
        problem = f"{path.name}: the first line must be '-- severity: error' or '-- severity: warn'"
        return Check(path.stem, "error", description, text, problem)
    header = [line.strip() for line in lines if line.strip().startswith("--")]
    whole = any(_WHOLE_WAREHOUSE_LINE.match(line) for line in header)
    return Check(path.stem, match.group(1), description, text, whole_warehouse=whole)


def load_checks(directory: Path | None = None) -> list[Check]:
    """Return every check of directory (default: the installed sql/checks), by name."""
    directory = directory if directory is not None else check_dir()
    if directory is None:
        return []
    return [parse_check(path) for path in sorted(directory.glob("*.sql"))]


def run_check(con: duckdb.DuckDBPyConnection, check: Check, scope: str = WAREHOUSE) -> CheckResult:
    """Run one check; a failure of its SQL is returned as a broken result, never raised."""
    if check.problem is not None:
        return CheckResult(check.name, "error", None, [], check.problem, scope, check.sha)
    query = check.sql.strip().rstrip(";")
    # The newline ends a trailing -- comment; the alias names the first column, whatever it is
    # called; count(*) over () is taken before the limit, so one pass gives count and sample.
    wrapped = (
        f"select key::varchar, count(*) over () from (\n{query}\n) as failing(key) "
        f"order by 1 nulls first limit {SAMPLE_SIZE}"
    )
    try:
        rows = con.execute(wrapped).fetchall()
    except duckdb.Error as err:
        message = f"{type(err).__name__}: {err}"[:ERROR_CHARS]
        return CheckResult(check.name, "error", None, [], message, scope, check.sha)
    failing_rows = int(rows[0][1]) if rows else 0
    sample = ["NULL" if key is None else str(key) for key, _ in rows]
    return CheckResult(check.name, check.severity, failing_rows, sample, None, scope, check.sha)


def evaluate(
    con: duckdb.DuckDBPyConnection, checks: Iterable[Check] | None = None
) -> list[CheckResult]:
    """Return the result of every check (default: the installed ones) over the whole
    warehouse, in name order."""
    return [run_check(con, check) for check in (load_checks() if checks is None else checks)]


def run_checks(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    checked_at: datetime,
    checks: Iterable[Check] | None = None,
) -> list[tuple[Any, ...]]:
    """Run every check and return its quality_checks rows, for Warehouse.upsert.

    Call it outside an explicit transaction, after the staging relations are created: in
    DuckDB a failed statement aborts the transaction it runs in.
    """
    return [result.row(run_id, checked_at) for result in evaluate(con, checks)]


def failed(results: Sequence[CheckResult], severity: str = "error") -> list[CheckResult]:
    """Return the results of that severity that flagged rows or could not run."""
    return [r for r in results if r.severity == severity and not r.passed]


@dataclass
class Checked:
    """What a run's checks found, and over what: sessions is None for the whole warehouse."""

    results: list[CheckResult]
    sessions: int | None


def check_run(
    con: duckdb.DuckDBPyConnection, whole: bool, checks: Sequence[Check] | None = None
) -> Checked:
    """Run the checks over the sessions no finished check has seen, or over everything when
    whole is set or when the checks are not those the last run ran (a new or changed check
    has not looked at the warehouse yet)."""
    checks = load_checks() if checks is None else checks
    if whole or _changed(con, checks):
        return Checked(evaluate(con, checks), None)
    results: dict[str, CheckResult] = {}
    with _run_scope(con) as sessions:
        for check in checks:
            if not check.whole_warehouse:
                results[check.name] = run_check(con, check, RUN)
    for check in checks:
        if check.whole_warehouse:
            results[check.name] = run_check(con, check)
    return Checked([results[c.name] for c in checks], sessions)


def _changed(con: duckdb.DuckDBPyConnection, checks: Sequence[Check]) -> bool:
    last = con.execute(
        "SELECT check_name, check_sha FROM quality_checks WHERE run_id = "
        "(SELECT run_id FROM quality_checks ORDER BY checked_at DESC, run_id DESC LIMIT 1)"
    ).fetchall()
    return set(last) != {(c.name, c.sha) for c in checks}


@contextmanager
def _run_scope(con: duckdb.DuckDBPyConnection) -> Iterator[int]:
    """Shadow every session table with the rows of the sessions that no finished check has
    seen; yield how many sessions that is. Both spellings of an id (with and without devin-)
    are kept, so a check comparing the two still finds its pair."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE check_scope AS "
        "WITH unchecked AS (SELECT session_id FROM sessions WHERE _run_id IS NULL "
        "OR _run_id NOT IN (SELECT DISTINCT run_id FROM quality_checks)) "
        "SELECT session_id FROM unchecked UNION "
        "SELECT 'devin-' || session_id FROM unchecked UNION "
        "SELECT substr(session_id, 7) FROM unchecked WHERE starts_with(session_id, 'devin-')"
    )
    ((sessions,),) = con.execute(
        "SELECT count(*) FROM sessions WHERE session_id IN (SELECT session_id FROM check_scope)"
    ).fetchall()
    scoped = {
        t.name: f"SELECT * FROM {stored(con, t.name)} "
        "WHERE session_id IN (SELECT session_id FROM temp.main.check_scope)"
        for t in (*DATA_TABLES, *MESSAGE_TABLES)
    }
    try:
        with shadowed(con, scoped):
            yield int(sessions)
    finally:
        con.execute("DROP TABLE IF EXISTS temp.main.check_scope")
