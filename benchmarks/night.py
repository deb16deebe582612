"""Night benchmark: what a nightly run costs on a large warehouse, against an empty one.

A night exports 100 sessions by id (50 created in the last hours and updated since, 50 new, all
in one month) from the fake API, in its own process as the extraction benchmark has it, with
the analyses' free text as a language model writes it (text="llm"). The same night runs into an
empty folder and into warehouses of 10k, 50k and 100k sessions spread over 24 months, each built
twice beforehand by --from-raw from the same sessions: stored in the order they were created (as
nights fill a warehouse: each month's rows together) and in random order (as ids files,
backfills and late refreshes store them: each month's rows in every block). The targets are
judged on the random order. Every base is copied afresh for each night; in each repetition the
night into an empty folder runs beside the nights into the largest warehouses, and ratios pair
them. Each measured job is the exporter's whole process: wall time and peak memory of its
process tree.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from benchmarks.common import JOBS, PYTHON, ROOT, RUN_EXPORT, WORK, api_process, fresh_dir
from benchmarks.datasets import SEED, TEXT, ensure_datasets, line_session_id
from benchmarks.measure import JobResult, Stat, run_job, stat
from pipeline.fake_api import FakeDevin
from pipeline.publish import SPARE
from pipeline.warehouse import STATE_DIR

NIGHT_DIR = WORK / "night"
API_KEY = "bench-key"
# Mid-month, so a night touches one month; the 50 updated sessions are the newest still open.
NOW = datetime(2026, 6, 15, tzinfo=UTC)
HISTORY = timedelta(days=730)  # 24 months
NEW, UPDATED = 50, 50
LATENCY_MS = 20.0
CONCURRENCY = 16
EMPTY = 0  # the size of the empty warehouse
# The orders a base warehouse is stored in; random first, as the targets are judged on it.
RANDOM, CREATION = "random", "creation"
ORDERS = (RANDOM, CREATION)
NONE = ""  # the empty folder's order
REPORT = "report.html"


@dataclass
class NightResult:
    sessions: int  # in the warehouse before the night
    order: str = NONE  # how the base warehouse stored its sessions (ORDERS), NONE if empty
    jobs: list[JobResult] = field(default_factory=list)
    step_runs: list[dict[str, float]] = field(default_factory=list)  # each night's step_seconds
    steps: dict[str, float] = field(default_factory=dict)  # db_bytes of the published file
    work_bytes: int = 0
    report_bytes: list[int] = field(default_factory=list)  # report.html after each night
    check_scopes: dict[str, int] = field(default_factory=dict)  # the last night's checks
    build: JobResult | None = None  # the base's --from-raw build
    build_report_bytes: int = 0  # its report.html
    report_jobs: list[JobResult] = field(default_factory=list)  # `run_export.py report` alone

    @property
    def seconds(self) -> Stat:
        return stat([j.wall_s for j in self.jobs])

    @property
    def peak_rss(self) -> Stat:
        return stat([j.peak_rss_mib for j in self.jobs])

    @property
    def report_seconds(self) -> Stat:
        return stat([j.wall_s for j in self.report_jobs])

    def step(self, name: str) -> float:
        """The median seconds of a finishing step (the nights' summaries' step_seconds)."""
        values = [run.get(name, 0.0) for run in self.step_runs]
        return stat(values).median if values else 0.0


Nights = dict[tuple[int, str], NightResult]  # (sessions, order) -> its nights; (EMPTY, NONE)


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


def base_dataset(sessions: int, source: Path, order: str = RANDOM) -> tuple[Path, Path]:
    """The warehouse's sessions before the night, as raw lines spread evenly over 24 months (the
    load benchmark's sessions of index < N, in its order), stored in order (ORDERS), and the
    night's updated sessions: the newest 50, created in the last hours."""
    path, updated = _creation_order(sessions, source)
    if order == CREATION:
        return path, updated
    shuffled = path.with_name(path.name.replace(f"-{CREATION}.", f"-{order}."))
    if not shuffled.exists():
        _shuffle(path, shuffled)
    return shuffled, updated


def _shuffle(source: Path, path: Path) -> None:
    """Write source's lines in an order drawn with a fixed seed (by offsets: the lines of a
    100k set, 700 MB, are never all in memory)."""
    offsets, position = [], 0
    with open(source, "rb") as lines:
        for line in lines:
            offsets.append((position, len(line)))
            position += len(line)
    random.Random(f"{SEED}:{RANDOM}").shuffle(offsets)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(source, "rb") as lines, open(tmp, "wb") as out:
        for start, length in offsets:
            lines.seek(start)
            out.write(lines.read(length))
    tmp.replace(path)


def _creation_order(sessions: int, source: Path) -> tuple[Path, Path]:
    name = f"base-{sessions}-seed{SEED}-{TEXT}-{NOW:%Y%m%d}-{CREATION}.jsonl"
    path = NIGHT_DIR / "data" / name
    updated = path.with_name(name.replace(f"-{CREATION}.jsonl", ".updated.json"))
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


def build_base(data: Path, sessions: int, order: str) -> tuple[Path, JobResult]:
    """A warehouse of the base sessions, built by --from-raw (every night starts from a copy).

    A warehouse that has had nights keeps the file published the night before last as the spare
    that publishing patches (pipeline.publish); the base gets a copy of its own published file
    as that spare, so a night patches it as its next night would (the real spare differs by one
    more night's blocks).
    """
    out = fresh_dir(NIGHT_DIR / f"base-{sessions}-{order}")
    cmd: list[str | Path] = [PYTHON, RUN_EXPORT, "--from-raw", data, "--out", out, "--quiet"]
    job = run_job(cmd, NIGHT_DIR / f"base-{sessions}-{order}.log", cwd=ROOT)
    shutil.copyfile(out / "devin.duckdb", out / STATE_DIR / SPARE)
    return out, job


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
        str(LATENCY_MS), updated, str(NEW), ids_file, TEXT,
    ]  # fmt: skip
    with api_process(cmd, work / f"api-{sessions}.log") as (_, url):
        yield NightApi(url, ids_file)


def _night(api: NightApi, out: Path, log: Path, run_export: Path = RUN_EXPORT) -> JobResult:
    job, _ = _night_summary(api, out, log, run_export)
    return job


def _night_summary(
    api: NightApi, out: Path, log: Path, run_export: Path = RUN_EXPORT
) -> tuple[JobResult, dict]:
    """Run the night; return its measurements and its summary JSON."""
    summary = out.parent / f"{out.name}.summary.json"
    cmd: list[str | Path] = [
        PYTHON, run_export, "--ids-file", api.ids_file, "--out", out, "--api-url", api.url,
        "--quiet", "--concurrency", str(CONCURRENCY), "--summary-json", summary,
    ]  # fmt: skip
    job = run_job(cmd, log, env={"DEVIN_API_KEY": API_KEY}, cwd=ROOT)
    record = orjson.loads(summary.read_bytes())
    if record["sessions_exported"] != NEW + UPDATED or record["sessions_failed"]:
        raise RuntimeError(f"the night into {out} did not export every session: {summary}")
    return job, record


def _copy(base: Path | None, out: Path) -> Path:
    shutil.rmtree(out, ignore_errors=True)
    if base is None:
        out.mkdir(parents=True)
    else:
        shutil.copytree(base, out)
    os.sync()  # the copy's dirty pages written now, not while the night's are measured
    return out


def run_night(quick: bool, reps: int) -> Nights:
    """Each size's nights into both orders, paired with a night into an empty folder in the
    same repetition (at the largest size)."""
    work = NIGHT_DIR / "runs"
    fresh_dir(work)
    results: Nights = {}
    largest = night_sizes(quick)[-1]
    sessions_file = ensure_datasets([largest])[largest]
    for sessions in night_sizes(quick):
        bases: dict[str, Path] = {}
        for order in ORDERS:
            print(f"night: building a warehouse of {sessions:,} sessions in {order} order",
                  flush=True)  # fmt: skip
            data, updated = base_dataset(sessions, sessions_file, order)
            bases[order], build = build_base(data, sessions, order)
            result = results[(sessions, order)] = NightResult(sessions, order, build=build)
            result.build_report_bytes = (bases[order] / REPORT).stat().st_size
            result.work_bytes = (bases[order] / ".devin-export" / "work.duckdb").stat().st_size
        with night_api(sessions, updated, work) as api:
            for rep in range(reps):
                starts: list[tuple[int, str, Path | None]] = [
                    (sessions, order, bases[order]) for order in ORDERS
                ]
                if sessions == largest:  # the empty night is paired with the largest warehouse
                    starts.insert(0, (EMPTY, NONE, None))
                for size, order, start in starts:
                    into = f"{size:,} sessions in {order} order" if size else "an empty folder"
                    print(f"night: 100 sessions into {into} (run {rep + 1} of {reps})", flush=True)
                    result = results.setdefault((size, order), NightResult(size, order))
                    _one_night(api, start, work / f"out-{size}-{order}", result, rep)
        for order in ORDERS:
            out, result = work / f"out-{sessions}-{order}", results[(sessions, order)]
            result.report_jobs = _report_alone(out, work, reps)
            result.steps["db_bytes"] = (out / "devin.duckdb").stat().st_size
            shutil.rmtree(bases[order])
            shutil.rmtree(out)  # a warehouse copy each: 7 GB at the end of a run, kept for nothing
    shutil.rmtree(work / f"out-{EMPTY}-{NONE}", ignore_errors=True)
    return results


def _one_night(api: NightApi, base: Path | None, out: Path, result: NightResult, rep: int) -> None:
    _copy(base, out)
    job, record = _night_summary(api, out, out.parent / f"{out.name}-rep{rep}.log")
    result.jobs.append(job)
    result.step_runs.append(record.get("step_seconds", {}))
    result.report_bytes.append((out / REPORT).stat().st_size)
    scopes: dict[str, int] = {}
    for check in record.get("quality_checks", []):
        scopes[check.get("scope", "?")] = scopes.get(check.get("scope", "?"), 0) + 1
    result.check_scopes = scopes


def _report_alone(out: Path, work: Path, reps: int) -> list[JobResult]:
    """`run_export.py report` on the warehouse a night left, reps times."""
    cmd: list[str | Path] = [PYTHON, RUN_EXPORT, "report", "--out", out]
    return [run_job(cmd, work / f"report-{out.name}-{n}.log", cwd=ROOT) for n in range(reps)]


def fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least squares a + b x through the points: (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b
