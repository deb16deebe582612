"""Night benchmark: what a nightly run costs on a large warehouse, against an empty one.

A night exports 100 sessions by id (50 created in the last days and updated since, 50 new)
from the fake API, in its own process as the extraction benchmark has it. The same night runs
into an empty folder and into warehouses of 10k, 50k and 100k sessions spread over 24 months,
built beforehand by --from-raw (not measured) and copied afresh for each run. Each measured
job is the exporter's whole process: wall time and peak memory of its process tree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from benchmarks.common import JOBS, PYTHON, ROOT, RUN_EXPORT, WORK, api_process, fresh_dir
from benchmarks.datasets import SEED, ensure_datasets, line_session_id
from benchmarks.measure import JobResult, Stat, run_job, stat
from pipeline.fake_api import FakeDevin

NIGHT_DIR = WORK / "night"
API_KEY = "bench-key"
# Mid-month, so a night touches one month; the 50 updated sessions are the newest still open.
NOW = datetime(2026, 6, 15, tzinfo=UTC)
HISTORY = timedelta(days=730)  # 24 months
NEW, UPDATED = 50, 50
LATENCY_MS = 20.0
CONCURRENCY = 16
EMPTY = 0  # the size of the empty warehouse


@dataclass
class NightResult:
    sessions: int  # in the warehouse before the night
    jobs: list[JobResult] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # parquet_seconds, publish_seconds...
    work_bytes: int = 0

    @property
    def seconds(self) -> Stat:
        return stat([j.wall_s for j in self.jobs])

    @property
    def peak_rss(self) -> Stat:
        return stat([j.peak_rss_mib for j in self.jobs])


def night_sizes(quick: bool) -> list[int]:
    return [2_000, 10_000] if quick else [10_000, 50_000, 100_000]


def _spread(line: bytes, position: float) -> tuple[str, bytes, datetime]:
    """Move a session to its position (0 oldest, 1 newest) in the last 24 months, as a warehouse
    filled night after night holds them: in the order they were created."""
    session = orjson.loads(line)
    created = datetime.fromisoformat(session["created_at"])
    updated = datetime.fromisoformat(session["updated_at"])
    moved = NOW - HISTORY * (1 - position)
    session["created_at"] = _iso(moved)
    session["updated_at"] = _iso(moved + max(updated - created, timedelta(0)))
    return session["session_id"], orjson.dumps(session), moved


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def base_dataset(sessions: int, source: Path) -> tuple[Path, Path]:
    """The warehouse's sessions before the night, as raw lines spread evenly over 24 months (the
    load benchmark's sessions of index < N, in its order), and the night's updated sessions:
    the newest 50, created in the last hours."""
    path = NIGHT_DIR / "data" / f"base-{sessions}-seed{SEED}-{NOW:%Y%m%d}.jsonl"
    updated = path.with_suffix(".updated.json")
    if path.exists() and updated.exists():
        return path, updated
    wanted = set(FakeDevin(sessions, seed=SEED).ids())  # ids depend on (seed, index) only
    newest: list[tuple[datetime, str]] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(source, "rb") as lines, open(tmp, "wb") as out:
        kept = (line for line in lines if line_session_id(line) in wanted)
        for number, line in enumerate(kept):
            session_id, spread, created = _spread(line, (number + 0.5) / sessions)
            out.write(spread + b"\n")
            newest = sorted([*newest, (created, session_id)])[-UPDATED:]
    updated.write_bytes(orjson.dumps({sid: _iso(created) for created, sid in newest}))
    tmp.replace(path)
    return path, updated


def build_base(data: Path, sessions: int) -> Path:
    """A warehouse of the base sessions, built by --from-raw (every night starts from a copy)."""
    out = fresh_dir(NIGHT_DIR / f"base-{sessions}")
    cmd: list[str | Path] = [PYTHON, RUN_EXPORT, "--from-raw", data, "--out", out, "--quiet"]
    run_job(cmd, NIGHT_DIR / f"base-{sessions}.log", cwd=ROOT)
    return out


@dataclass
class NightApi:
    url: str
    ids_file: Path


@contextmanager
def night_api(sessions: int, updated: Path, work: Path) -> Iterator[NightApi]:
    """Serve the night's sessions from jobs/night_api.py; stop it (by its pid) on the way out."""
    ids_file = work / f"ids-{sessions}.txt"
    cmd: list[str | Path] = [
        PYTHON, JOBS / "night_api.py", str(sessions), str(SEED), NOW.isoformat(),
        str(LATENCY_MS), updated, str(NEW), ids_file,
    ]  # fmt: skip
    with api_process(cmd, work / f"api-{sessions}.log") as (_, url):
        yield NightApi(url, ids_file)


def _night(api: NightApi, out: Path, log: Path, run_export: Path = RUN_EXPORT) -> JobResult:
    summary = out.parent / f"{out.name}.summary.json"
    cmd: list[str | Path] = [
        PYTHON, run_export, "--ids-file", api.ids_file, "--out", out, "--api-url", api.url,
        "--quiet", "--concurrency", str(CONCURRENCY), "--summary-json", summary,
    ]  # fmt: skip
    job = run_job(cmd, log, env={"DEVIN_API_KEY": API_KEY}, cwd=ROOT)
    record = orjson.loads(summary.read_bytes())
    if record["sessions_exported"] != NEW + UPDATED or record["sessions_failed"]:
        raise RuntimeError(f"the night into {out} did not export every session: {summary}")
    return job


def _copy(base: Path | None, out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    if base is None:
        out.mkdir(parents=True)
    else:
        shutil.copytree(base, out)
    os.sync()  # the copy's dirty pages written now, not while the night's are measured
    return out


def run_night(quick: bool, reps: int) -> dict[int, NightResult]:
    """Each size's nights, paired with a night into an empty folder in the same repetition."""
    work = NIGHT_DIR / "runs"
    fresh_dir(work)
    results: dict[int, NightResult] = {}
    largest = night_sizes(quick)[-1]
    sessions_file = ensure_datasets([largest])[largest]
    for sessions in night_sizes(quick):
        print(f"night: building a warehouse of {sessions:,} sessions", flush=True)
        data, updated = base_dataset(sessions, sessions_file)
        base = build_base(data, sessions)
        with night_api(sessions, updated, work) as api:
            for rep in range(reps):
                pairs: list[tuple[int, Path | None]] = [(EMPTY, None), (sessions, base)]
                for size, start in pairs:
                    if size == EMPTY and sessions != largest:
                        continue  # the empty night is paired with the largest warehouse
                    print(f"night: 100 sessions into {size:,} (run {rep + 1} of {reps})",
                          flush=True)  # fmt: skip
                    out = _copy(start, work / f"out-{size}")
                    job = _night(api, out, work / f"night-{size}-rep{rep}.log")
                    results.setdefault(size, NightResult(size)).jobs.append(job)
            results[sessions].steps = _finish_steps(work / f"out-{sessions}", work)
            results[sessions].work_bytes = (base / ".devin-export" / "work.duckdb").stat().st_size
        shutil.rmtree(base)
    shutil.rmtree(work / f"out-{EMPTY}", ignore_errors=True)
    return results


def _finish_steps(out: Path, work: Path) -> dict[str, float]:
    """Parquet and publishing alone, on the warehouse a night left (jobs/finish_steps.py)."""
    result = work / "steps.json"
    run_job([PYTHON, JOBS / "finish_steps.py", out, result], work / "steps.log", cwd=ROOT)
    record = orjson.loads(result.read_bytes())
    shutil.rmtree(out)
    return {k: float(v) for k, v in record.items() if k != "months"}


def fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least squares a + b x through the points: (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b
