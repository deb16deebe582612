"""Load benchmark: --from-raw end to end, against a bare baseline and against dlt.

Every measured job is its own process, so its peak RSS is its own. Ours and the baseline run
back to back in each repetition, so their time ratio is taken on the same machine state.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from benchmarks import dlt_env
from benchmarks.common import JOBS, PYTHON, ROOT, RUN_EXPORT, WORK, fresh_dir
from benchmarks.datasets import nightly_folder, v3_nightly_folder
from benchmarks.measure import JobResult, Stat, run_job, stat

LOAD_DIR = WORK / "load"
OURS, BASELINE, DLT_DUCKDB, DLT_PARQUET = "ours", "baseline", "dlt-duckdb", "dlt-parquet"
OURS_NIGHTLY = "ours-nightly"  # --from-raw of the same sessions as a raw folder of nightly runs
OURS_NIGHTLY_V3 = "ours-nightly-v3"  # the same, as v3 bodies with their messages
OURS_TOOLS = (OURS, OURS_NIGHTLY, OURS_NIGHTLY_V3)
DLT_APPEND_FALLBACK = b"Falling back to `append`"


@dataclass
class LoadResult:
    tool: str
    sessions: int
    jobs: list[JobResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report_bytes: list[int] = field(default_factory=list)  # ours: report.html of each rebuild

    @property
    def seconds(self) -> Stat:
        return stat([j.wall_s for j in self.jobs])

    @property
    def rate(self) -> Stat:
        return stat([self.sessions / j.wall_s for j in self.jobs])

    @property
    def cpu_per_1000(self) -> Stat:
        return stat([j.cpu_s * 1000 / self.sessions for j in self.jobs])

    @property
    def peak_rss(self) -> Stat:
        return stat([j.peak_rss_mib for j in self.jobs])


@dataclass(frozen=True)
class LoadPlan:
    """Which sizes to load, how often, and which dlt destination goes with which size."""

    reps: dict[int, int]  # sessions -> repetitions of ours and the baseline
    dlt: dict[int, str]  # sessions -> dlt job run once at that size
    nightly: frozenset[int] = frozenset()  # sizes also loaded from a folder of nightly runs


def load_plan(quick: bool, skip_dlt: bool) -> LoadPlan:
    small, large = (2_000, 10_000) if quick else (20_000, 100_000)
    reps = {small: 1, large: 1} if quick else {small: 3, large: 2}
    dlt = {} if skip_dlt else {small: DLT_DUCKDB, large: DLT_PARQUET}
    return LoadPlan(reps, dlt, frozenset({small}))


def _command(tool: str, data: Path, out: Path) -> list:
    if tool in OURS_TOOLS:
        summary = out / "summary.json"
        return [PYTHON, RUN_EXPORT, "--from-raw", data, "--out", out / "warehouse", "--quiet",
                "--summary-json", summary]  # fmt: skip
    if tool == BASELINE:
        return [PYTHON, JOBS / "baseline_load.py", data, out]
    kind = "duckdb" if tool == DLT_DUCKDB else "parquet"
    return [dlt_env.dlt_python(), JOBS / "dlt_load.py", data, out, kind]


def run_one(tool: str, sessions: int, data: Path, tag: str) -> tuple[JobResult, list[str], int]:
    """Run one load job in a fresh folder; return its measurements, any notes on it, and the
    size of the report.html it wrote (ours; 0 for the others)."""
    out = fresh_dir(LOAD_DIR / f"{tool}-{sessions}-{tag}")
    log = LOAD_DIR / f"{tool}-{sessions}-{tag}.log"
    job = run_job(_command(tool, data, out), log, cwd=ROOT)
    notes, report_bytes = [], 0
    if tool in OURS_TOOLS:
        record = orjson.loads((out / "summary.json").read_bytes())
        if record["sessions_exported"] != sessions or record["sessions_failed"]:
            raise RuntimeError(f"ours at {sessions}: not every session loaded, see {log}")
        report_bytes = (out / "warehouse" / "report.html").stat().st_size
    if tool == DLT_PARQUET and DLT_APPEND_FALLBACK in log.read_bytes():
        notes.append("dlt fell back from merge to append (filesystem needs delta or iceberg)")
    shutil.rmtree(out)  # measured: a whole run's outputs filled 10 GB of a small disk
    return job, notes, report_bytes


def run_load(plan: LoadPlan, datasets: dict[int, Path]) -> dict[tuple[str, int], LoadResult]:
    results: dict[tuple[str, int], LoadResult] = {}
    for sessions, reps in plan.reps.items():
        data = {OURS: datasets[sessions], BASELINE: datasets[sessions]}
        if sessions in plan.nightly:
            data[OURS_NIGHTLY] = nightly_folder(datasets[sessions])
            data[OURS_NIGHTLY_V3] = v3_nightly_folder(sessions)
        for rep in range(reps):
            for tool, source in data.items():
                _record(results, tool, sessions, source, f"rep{rep}", reps)
        if sessions in plan.dlt:
            _record(results, plan.dlt[sessions], sessions, datasets[sessions], "rep0", 1)
    return results


def _record(results: dict, tool: str, sessions: int, data: Path, tag: str, reps: int) -> None:
    print(f"load: {tool} {sessions:,} sessions ({tag} of {reps})", flush=True)
    job, notes, report_bytes = run_one(tool, sessions, data, tag)
    result = results.setdefault((tool, sessions), LoadResult(tool, sessions))
    result.jobs.append(job)
    if report_bytes:
        result.report_bytes.append(report_bytes)
    result.notes += [n for n in notes if n not in result.notes]


def time_ratio(results: dict, sessions: int, tool: str = OURS) -> Stat:
    """Ours (or tool) / baseline wall time, pairing the runs of the same repetition."""
    ours, base = results[(tool, sessions)].jobs, results[(BASELINE, sessions)].jobs
    return stat([o.wall_s / b.wall_s for o, b in zip(ours, base, strict=True)])
