"""The benchmark run: set up (dlt venv, data sets), extract, load, write RESULTS.md."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from benchmarks import dlt_env
from benchmarks.common import BENCH_DIR, WORK
from benchmarks.datasets import dataset_path, ensure_datasets
from benchmarks.extract import run_extract, startup_cost
from benchmarks.load import LoadPlan, load_plan, run_load
from benchmarks.mirror import run_mirror
from benchmarks.night import run_night
from benchmarks.report import RunInfo, render

T = TypeVar("T")
RESULTS = BENCH_DIR / "RESULTS.md"
QUICK_RESULTS = WORK / "RESULTS-quick.md"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark extraction and loading; write RESULTS.md.",
    )
    p.add_argument("--quick", action="store_true", help="small sizes, one run each (smoke test)")
    p.add_argument(
        "--only", choices=("extract", "load", "night", "mirror"), help="run one benchmark only"
    )
    p.add_argument("--skip-dlt", action="store_true", help="leave out the dlt comparisons")
    p.add_argument(
        "--output",
        type=Path,
        help=f"where to write the report (default: {RESULTS.relative_to(BENCH_DIR.parent)}; "
        f"with --quick: {QUICK_RESULTS.relative_to(BENCH_DIR.parent)})",
    )
    return p.parse_args(argv)


def _setup(plan: LoadPlan | None) -> tuple[dlt_env.Setup | None, float | None]:
    """Start the dlt venv in the background, generate missing data sets meanwhile."""
    setup = None
    if plan is not None and plan.dlt:
        setup = dlt_env.Setup(WORK / "logs" / "dlt-venv.log")
        setup.start()
    data_seconds = None
    if plan is not None and not all(dataset_path(n).exists() for n in plan.reps):
        start = time.perf_counter()
        ensure_datasets(list(plan.reps))
        data_seconds = time.perf_counter() - start
    return setup, data_seconds


def _reps_note(quick: bool) -> str:
    if quick:
        return "A --quick smoke test: small sizes, one run of each job; not for the targets."
    return (
        "Fast jobs run 3 times; the 100k loads twice and each dlt job once; each night 3 times "
        "into each warehouse, in both orders, and the report alone 3 times on each: the sizes "
        "and repetitions of the runs on the fake's `kind` text, none dropped. The `llm` text "
        "(bigger sessions) and a second order of every base warehouse about double the work; "
        "the whole run (dlt venv and data sets included) is meant to stay under 25 minutes on "
        "this 2-core machine when nothing else runs on it (the load average under *Machine* "
        "says how busy it was)."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started, clock, load_before = datetime.now(UTC), time.perf_counter(), os.getloadavg()
    plan = load_plan(args.quick, args.skip_dlt) if args.only in (None, "load") else None
    setup, data_seconds = _setup(plan)
    venv_seconds = setup.wait() if setup else None
    reps = 1 if args.quick else 3
    failures: list[str] = []
    extract, startup = None, None
    if args.only in (None, "extract"):
        startup = _attempt(failures, "extraction", startup_cost)
        extract = _attempt(failures, "extraction", lambda: run_extract(args.quick, reps))
    load = None
    if plan is not None:
        datasets = {n: dataset_path(n) for n in plan.reps}
        load = _attempt(failures, "load", lambda: run_load(plan, datasets))
    night = None
    if args.only in (None, "night"):
        night = _attempt(failures, "night", lambda: run_night(args.quick, reps))
    mirror = None
    if args.only in (None, "mirror"):
        sessions = 10_000 if args.quick else 100_000
        mirror = _attempt(failures, "object storage", lambda: run_mirror(sessions))
    info = RunInfo(
        started=started,
        argv=sys.argv[1:] if argv is None else argv,
        total_seconds=time.perf_counter() - clock,
        dlt_venv_seconds=venv_seconds,
        dlt_version=dlt_env.dlt_version() if setup else None,
        data_seconds=data_seconds,
        load_before=load_before,
        load_after=os.getloadavg(),
    )
    output = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    output.parent.mkdir(parents=True, exist_ok=True)
    text = render(info, extract, load, _reps_note(args.quick), startup, night, failures=failures)
    output.write_text(
        text + ("\n## 5. Object storage (--parquet-url)\n\n" + mirror if mirror else "")
    )
    print(f"wrote {output} ({info.total_seconds:.0f} s in all)")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _attempt(failures: list[str], name: str, benchmark: Callable[[], T]) -> T | None:
    """Run one benchmark; if it fails, note why and go on, so the others' figures (half an hour
    of them in a full run) still reach the report."""
    try:
        return benchmark()
    except (Exception, SystemExit) as error:  # SystemExit: benchmarks/mirror.py's failures
        message = f"{name}: {type(error).__name__}: {str(error).strip()[-1500:]}"
        print(f"FAILED {message}", file=sys.stderr, flush=True)
        failures.append(message)
        return None
