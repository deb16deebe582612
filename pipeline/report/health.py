"""The report's data-health section: freshness, the last runs, the quality checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipeline.report.charts import esc
from pipeline.report.format import age, count, empty, others, seconds, table, when
from pipeline.report.queries import ReportData

STALE_AFTER = timedelta(days=2)  # no successful run for this long: say so at the top


def health(data: ReportData, now: datetime) -> str:
    stale = data.last_ok_run is None or now - data.last_ok_run > STALE_AFTER
    facts = (
        f"<dt>newest session created</dt><dd>{when(data.newest)} ({age(data.newest, now)})</dd>"
        f"<dt>newest session update</dt><dd>{when(data.newest_update)} "
        f"({age(data.newest_update, now)})</dd>"
        f'<dt>last successful run</dt><dd class="{"alert" if stale else ""}" '
        f'data-freshness="{"stale" if stale else "fresh"}">{when(data.last_ok_run)} '
        f"({age(data.last_ok_run, now)})</dd>"
        f"<dt>sessions in the warehouse</dt><dd>{count(data.sessions_total)}</dd>"
    )
    if data.runs:
        runs = table(
            [
                ("run", False),
                ("started", False),
                ("mode", False),
                ("status", False),
                ("duration", True),
                ("exported", True),
                ("failed", True),
                ("errors by kind", False),
            ],
            [
                [
                    esc(r["run_id"]),
                    esc(when(r["started_at"])),
                    esc(r["mode"] or ""),
                    f'<span class="badge {esc(r["status"])}">{esc(r["status"])}</span>',
                    seconds(r["duration_seconds"]),
                    count(r["sessions_exported"]),
                    count(r["sessions_failed"]),
                    esc(r["errors_by_kind"] or ""),
                ]
                for r in data.runs
            ],
            classes="runs",
        )
    else:
        runs = empty("No export run recorded.")
    if data.checks:
        checked, rest = data.checks.rows[0], data.checks.other
        checks = (
            f'<p class="muted">Run {esc(checked["run_id"])}, {esc(when(checked["checked_at"]))}.'
            "</p>"
            + table(
                [
                    ("check", False),
                    ("severity", False),
                    ("outcome", False),
                    ("failing rows", True),
                    ("sample", False),
                ],
                [_check_row(c) for c in data.checks.rows],
                classes="checks",
                rest=[
                    esc(others(rest["members"], "checks")),
                    "",
                    f"{count(rest['broken'])} broken, {count(rest['failed'])} failed",
                    count(rest["failing_rows"]),
                    "",
                ]
                if rest
                else None,
            )
        )
    else:
        checks = empty("No quality check results in the warehouse yet.")
    return (
        '<section id="health"><h2>Data health</h2>'
        f'<dl class="facts">{facts}</dl>'
        f'<div class="keep"><h3>Recent runs</h3>{runs}</div>'
        f'<div class="keep"><h3>Quality checks of the latest checked run</h3>{checks}</div>'
        "</section>"
    )


def _check_row(c: dict[str, Any]) -> list[str]:
    rows = c["failing_rows"]
    outcome = "broken" if rows is None else ("passed" if rows == 0 else "failed")
    badge = outcome if outcome != "failed" else ("error" if c["severity"] == "error" else "warn")
    return [
        esc(c["check_name"]),
        esc(c["severity"] or ""),
        f'<span class="badge {badge}">{outcome}</span>',
        count(rows),
        f'<span class="sample">{esc(c["sample"] or "")}</span>',
    ]
