"""The report: DIR/report.html, one self-contained page built from the warehouse alone.

    queries.py  every query (the only module that names views and columns) -> ReportData
    charts.py   static SVG charts, drawn in Python
    html.py     ReportData -> the HTML document (escaping, headline data- attributes)
    style.py    the inline stylesheet (screen and print)
    command.py  `devin-export report [--out DIR]`

build_report() reads DIR/devin.duckdb; report_after_run() is what an export calls on its working
copy just before publishing it, and turns any failure into a warning.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from pipeline.errors import FatalError, UsageError
from pipeline.files import replace_atomically
from pipeline.report.billing import gather_billing
from pipeline.report.html import render
from pipeline.report.queries import ReportData, gather

if TYPE_CHECKING:
    from pipeline.progress import Reporter

REPORT_NAME = "report.html"
WAREHOUSE_NAME = "devin.duckdb"
# A bound on DuckDB's memory while the report is read: its queries need a few MB (100,000
# sessions of free text: under 100 MB of RSS in all), but a value it ranks may be any length
# (ids, statuses, repositories as the API sent them; issue labels and action item types are
# ranked by text_key, at most 333 characters)
MEMORY_LIMIT = "256MB"

__all__ = ["REPORT_NAME", "MissingWarehouse", "ReportError", "build_report", "report_after_run"]


class MissingWarehouse(UsageError):
    """There is no warehouse to build the report from: exit 2."""


class ReportError(FatalError):
    """The warehouse could not be read (locked, damaged, too old): exit 3."""


def build_report(db_path: Path, out_path: Path, *, now: datetime | None = None) -> Path:
    """Write the report of the warehouse at db_path to out_path, atomically; return out_path."""
    if not db_path.is_file():
        raise MissingWarehouse(
            f"{db_path} does not exist: run an export into {db_path.parent} first "
            "(devin-export --all, or --demo to try it)"
        )
    try:
        # A bounded cache, and room on disk for what does not fit in it
        with (
            tempfile.TemporaryDirectory(prefix="devin-export-report-") as spill,
            duckdb.connect(
                str(db_path),
                read_only=True,
                config={"memory_limit": MEMORY_LIMIT, "temp_directory": spill},
            ) as con,
        ):
            con.execute("set TimeZone = 'UTC'")
            data = _gather(con)
    except duckdb.Error as err:
        hint = ""
        if "lock" in str(err).lower():  # DuckDB lets no one read a file a process holds read-write
            hint = " (another process holds it open read-write: close it, or open it read-only)"
        raise ReportError(f"cannot read {db_path}: {err}{hint}") from None
    return _write(data, out_path, db_path, now)


def _gather(con: duckdb.DuckDBPyConnection) -> ReportData:
    """Everything the report shows: queries.gather's and the billing section's (billing.py)."""
    data = gather(con)
    data.billing = gather_billing(con)
    return data


def _write(data: ReportData, out_path: Path, source: Path, now: datetime | None) -> Path:
    text = render(data, generated_at=now or datetime.now(UTC), source=str(source))
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        replace_atomically(tmp, out_path)  # a browser never shows half a report
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {out_path}: {err.strerror or err}") from None
    return out_path


def report_after_run(
    out_dir: Path, reporter: Reporter, con: duckdb.DuckDBPyConnection
) -> Path | None:
    """Rebuild DIR/report.html after an export, from its working copy (con, about to be
    published as DIR/devin.duckdb: the same data, and opening the published file anew would
    hold its metadata in memory a second time); return its path, or None after a warning."""
    try:
        try:
            data = _gather(con)  # within the export's cache, as small as its queries need
        except duckdb.OutOfMemoryException:
            # free text longer than the cache holds (labels of many kB): with the room that
            # `devin-export report` has
            limit = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
            try:
                data = _gather(con)
            finally:
                con.execute(f"set memory_limit = '{limit}'")
        return _write(data, out_dir / REPORT_NAME, out_dir / WAREHOUSE_NAME, None)
    # A report that cannot be built, whatever the reason, must not turn a good export into a
    # failed one. Say so, and how to try again.
    except Exception as err:
        reporter.event(
            "report_failed",
            f"the report could not be built ({type(err).__name__}: {err}); the export is "
            f"complete: devin-export report --out {out_dir} tries again",
            level="warning",
        )
        return None
