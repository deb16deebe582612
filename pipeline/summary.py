"""The summary of a run: what export returns, as text for people and as JSON for machines.

Only light imports here: the CLI imports this before it has set the environment that pyarrow
reads when it loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import MirrorError

if TYPE_CHECKING:
    from pipeline.checks import CheckResult
    from pipeline.mirror import MirrorResult
    from pipeline.parts import PartOutcome


@dataclass
class Summary:
    run_id: str
    status: str = "failed"
    exported: int = 0
    failed: int = 0
    duration_seconds: float = 0.0
    fetch_seconds: float = 0.0  # first request to last answer handled; 0 for --from-raw
    # The finishing steps' seconds: views, checks, parquet, publish, report, mirror
    step_seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    watermark: datetime | None = None
    paths: list[Path] = field(default_factory=list)
    # --generate-insights: answers by status (started, already_exists), and what went wrong.
    insights: dict[str, int] | None = None
    checks: list[CheckResult] = field(default_factory=list)
    checked_sessions: int | None = None  # the run's sessions the checks saw; None: all rows
    fail_on_check_errors: bool = False
    mirror: MirrorResult | None = None  # with --parquet-url, once the bucket is up to date
    mirror_error: str | None = None  # with --parquet-url, when it could not be
    # The parts of the enterprise besides sessions (pipeline.parts): exported, or skipped and why
    parts: dict[str, PartOutcome] = field(default_factory=dict)

    @property
    def requested(self) -> int:
        return self.exported + self.failed

    @property
    def check_errors(self) -> list[CheckResult]:
        return [c for c in self.checks if c.severity == "error" and not c.passed]

    @property
    def exit_code(self) -> int:
        if self.mirror_error:
            return MirrorError.exit_code
        if self.status != "ok":
            return 1
        return 1 if self.fail_on_check_errors and self.check_errors else 0

    @property
    def sessions_per_second(self) -> float:
        return self.requested / self.duration_seconds if self.duration_seconds else 0.0


def format_summary(summary: Summary, out_dir: Path) -> str:
    lines = [
        f"devin-export run {summary.run_id}: {summary.status}",
        f"sessions: {summary.exported} exported, {summary.failed} failed "
        f"in {summary.duration_seconds:.1f} s ({summary.sessions_per_second:.0f} sessions/s)",
    ]
    if summary.insights is not None:
        asked = ", ".join(f"{k} {n}" for k, n in sorted(summary.insights.items())) or "none needed"
        lines.append(f"analyses asked for: {asked}")
    if summary.errors_by_kind:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.errors_by_kind.items()))
        lines.append(f"failures: {kinds} (details in export_errors)")
    lines += _parts_lines(summary)
    if summary.checks:
        flagged = [c for c in summary.checks if not c.passed]
        passed = len(summary.checks) - len(flagged)
        over = (
            "the whole warehouse"
            if summary.checked_sessions is None
            else f"this run's {summary.checked_sessions:,} sessions (--full-checks for all)"
        )
        lines.append(f"quality checks over {over}: {passed} passed, {len(flagged)} flagged")
        lines += [
            f"  {c.severity:<5} {c.name}: "
            + (f"{c.failing_rows} rows" if c.error is None else f"broken ({c.error[:80]})")
            for c in flagged
        ]
    lines.append("rows in the warehouse:")
    lines += [f"  {name:<16} {count:>9,}" for name, count in summary.rows.items()]
    lines.append("written:")
    parquet = [p for p in summary.paths if p.suffix == ".parquet"]
    for path in summary.paths:
        if path.suffix != ".parquet":
            lines.append(f"  {path}")
    if parquet:
        lines.append(f"  {out_dir / 'parquet'}/ ({len(parquet)} Parquet files rewritten: only the "
                     "partitions this run changed)")  # fmt: skip
    if summary.mirror_error:
        lines.append(f"not mirrored: {summary.mirror_error}")
    elif summary.mirror is not None:
        lines.append(summary.mirror.describe())
    return "\n".join(lines)


def _parts_lines(summary: Summary) -> list[str]:
    """What the run did with the enterprise around the sessions; nothing when it was not asked
    for any of it."""
    outcomes = summary.parts.values()
    if not any(o.status != "skipped" or o.named or o.reason == "--without" for o in outcomes):
        return []
    by_status: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.status == "skipped" and outcome.reason in ("not asked for", "not reached"):
            continue
        by_status.setdefault(outcome.status, []).append(outcome.describe())
    names = {"exported": "parts exported", "permission_denied": "parts the key may not read",
             "failed": "parts failed", "skipped": "parts skipped"}  # fmt: skip
    return [
        f"{names.get(status, status)}: {', '.join(parts)}"
        for status, parts in sorted(by_status.items(), key=lambda item: list(names).index(item[0]))
    ]


def summary_record(summary: Summary | None, code: int, error: str | None = None) -> dict[str, Any]:
    if summary is None:
        return {"status": "failed", "exit_code": code, "error": error}
    return {
        "run_id": summary.run_id,
        "status": summary.status,
        "exit_code": code,
        "sessions_requested": summary.requested,
        "sessions_exported": summary.exported,
        "sessions_failed": summary.failed,
        "errors_by_kind": summary.errors_by_kind,
        "rows": summary.rows,
        "duration_seconds": round(summary.duration_seconds, 3),
        "sessions_per_second": round(summary.sessions_per_second, 1),
        "fetch_seconds": round(summary.fetch_seconds, 3),
        "step_seconds": summary.step_seconds,
        "insights_generation": summary.insights,
        "quality_checks": [
            {
                "name": c.name,
                "severity": c.severity,
                "failing_rows": c.failing_rows,
                "sample": c.sample,
                "error": c.error,
                "scope": c.scope,
            }
            for c in summary.checks
        ],  # fmt: skip
        "checked_sessions": summary.checked_sessions,
        "watermark": summary.watermark.isoformat() if summary.watermark else None,
        "paths": [str(p) for p in summary.paths],
        "mirror": _mirror_record(summary),
        "parts": {name: outcome.record() for name, outcome in summary.parts.items()},
    }


def _mirror_record(summary: Summary) -> dict[str, Any] | None:
    if summary.mirror_error:
        return {"error": summary.mirror_error}
    return asdict(summary.mirror) if summary.mirror else None
