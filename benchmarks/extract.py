"""Extraction benchmark: the exporter, as a subprocess, against the fake API in another process.

The fake API runs as its own process (python -m pipeline.fake_api) so it never shares the
exporter's GIL; the exporter's wall time, CPU time and peak RSS are measured by measure.run_job.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from benchmarks.common import JOBS, PYTHON, ROOT, RUN_EXPORT, WORK, api_process, fresh_dir
from benchmarks.datasets import SEED
from benchmarks.measure import JobResult, Sampler, Stat, run_job, stat
from pipeline.fake_api import FakeDevin
from pipeline.sources.v2 import PAGE_LIMIT

API_KEY = "bench-key"
EXTRACT_DIR = WORK / "extract"


@dataclass(frozen=True)
class ExtractCase:
    name: str
    mode: str  # "ids" or "all"
    sessions: int
    concurrency: int = 16
    latency_ms: float = 20.0
    max_rps: float = 0.0

    @property
    def limit(self) -> float | None:
        """Sessions/s that C workers at L seconds a request (and --max-rps) allow; by id only."""
        if self.mode != "ids":
            return None  # a request brings 200 sessions: the server's CPU binds, not C/L
        rate = self.concurrency / (self.latency_ms / 1000)
        return min(rate, self.max_rps) if self.max_rps else rate

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.sessions / PAGE_LIMIT))

    @property
    def measures_ceiling(self) -> bool:
        """By id without --max-rps: also time the client alone against the same server."""
        return self.mode == "ids" and not self.max_rps


@dataclass
class ExtractResult:
    case: ExtractCase
    jobs: list[JobResult] = field(default_factory=list)
    fetch_rates: list[float] = field(default_factory=list)
    client_rates: list[float] = field(default_factory=list)
    server_cpu_s: list[float] = field(default_factory=list)
    peak_connections: list[int] = field(default_factory=list)

    @property
    def rate(self) -> Stat:
        return stat([self.case.sessions / j.wall_s for j in self.jobs])

    @property
    def fetch_rate(self) -> Stat:
        return stat(self.fetch_rates)

    @property
    def client_rate(self) -> Stat:
        return stat(self.client_rates)

    def of_limit(self, rates: Stat) -> Stat | None:
        limit = self.case.limit
        return stat([r / limit for r in rates.values]) if limit else None

    @property
    def fixed_seconds(self) -> Stat:
        """Wall time of the process beyond fetching: start-up, then finishing the warehouse."""
        pairs = zip(self.jobs, self.fetch_rates, strict=True)
        return stat([job.wall_s - self.case.sessions / rate for job, rate in pairs])

    @property
    def of_client(self) -> Stat:
        """Exporter / client alone, while fetching, pairing the runs of one repetition."""
        return stat([e / c for e, c in zip(self.fetch_rates, self.client_rates, strict=True)])

    @property
    def cpu_per_1000(self) -> Stat:
        return stat([j.cpu_s * 1000 / self.case.sessions for j in self.jobs])

    @property
    def server_cpu_per_1000(self) -> Stat:
        return stat([cpu * 1000 / self.case.sessions for cpu in self.server_cpu_s])

    @property
    def peak_rss(self) -> Stat:
        return stat([j.peak_rss_mib for j in self.jobs])


class FakeApi:
    """The fake API in its own process on a free port."""

    def __init__(self, proc: subprocess.Popen, url: str) -> None:
        self.proc = proc
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (from /proc; Linux)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fake_api(sessions: int, latency_ms: float, log: Path) -> Iterator[FakeApi]:
    """Serve the fake API in its own process; stop it (by its pid) on the way out."""
    # --preload: detail bodies are encoded once at start, so the fake's CPU per request is only
    # the HTTP work (a real API's CPU is not on this machine); pages are still built per request.
    cmd: list[str | Path] = [
        PYTHON, "-m", "pipeline.fake_api", "--port", "0", "--seed", str(SEED), "--preload",
        "--sessions", str(sessions), "--latency-ms", str(latency_ms),
    ]  # fmt: skip
    with api_process(cmd, log) as (proc, url):
        yield FakeApi(proc, url)


class ConnectionSampler(Sampler):
    """Counts, every few ms, the connections the API has open: how many workers fetch at once.

    Reads /proc/net/tcp (Linux): rows whose local port is the server's, in state 01
    (ESTABLISHED), are the connections it accepted. The file is read in several chunks that
    may repeat a row while connections come and go, so clients are counted by address.
    """

    def __init__(self, port: int, interval: float = 0.01) -> None:
        super().__init__(interval)
        self.port_hex = f":{port:04X}"
        self.peak = 0

    def _count(self) -> int:
        clients = set()
        for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[1].endswith(self.port_hex) and fields[3] == "01":
                clients.add(fields[2])
        return len(clients)

    def sample(self) -> None:
        self.peak = max(self.peak, self._count())


def export_command(case: ExtractCase, url: str, out: Path, ids_file: Path, summary: Path):
    cmd = [PYTHON, RUN_EXPORT, "--out", out, "--api-url", url, "--quiet",
           "--concurrency", str(case.concurrency), "--summary-json", summary]  # fmt: skip
    cmd += ["--ids-file", ids_file] if case.mode == "ids" else ["--all", "--full"]
    if case.max_rps:
        cmd += ["--max-rps", str(case.max_rps)]
    return cmd


def run_case(case: ExtractCase, reps: int, tag: str) -> ExtractResult:
    work = fresh_dir(EXTRACT_DIR / tag)
    ids_file = work / "ids.txt"
    ids_file.write_text("\n".join(FakeDevin(case.sessions, seed=SEED).ids()) + "\n")
    result = ExtractResult(case)
    env = {"DEVIN_API_KEY": API_KEY}
    with fake_api(case.sessions, case.latency_ms, work / "fake_api.log") as api:
        for rep in range(reps):
            out, summary = fresh_dir(work / f"out{rep}"), work / f"summary{rep}.json"
            cmd = export_command(case, api.url, out, ids_file, summary)
            server_before = api.cpu_seconds()
            with ConnectionSampler(api.port) as connections:
                job = run_job(cmd, work / f"export{rep}.log", env=env, cwd=ROOT)
            result.peak_connections.append(connections.peak)
            result.server_cpu_s.append(api.cpu_seconds() - server_before)
            record = orjson.loads(summary.read_bytes())
            _check_complete(case, record, summary)
            result.jobs.append(job)
            result.fetch_rates.append(case.sessions / record["fetch_seconds"])
            if case.measures_ceiling:
                result.client_rates.append(client_alone(case, api.url, ids_file, work, rep))
    return result


def client_alone(case: ExtractCase, url: str, ids_file: Path, work: Path, rep: int) -> float:
    """Sessions/s of pipeline.client by itself, nothing downstream (jobs/fetch_only.py)."""
    result = work / f"client{rep}.json"
    script = JOBS / "fetch_only.py"
    cmd: list[str | Path] = [PYTHON, script, url, ids_file, str(case.concurrency), result]
    run_job(cmd, work / f"client{rep}.log", env={"DEVIN_API_KEY": API_KEY}, cwd=ROOT)
    record = orjson.loads(result.read_bytes())
    return record["sessions"] / record["fetch_seconds"]


def _check_complete(case: ExtractCase, record: dict, summary: Path) -> None:
    if record.get("sessions_exported") != case.sessions or record.get("sessions_failed"):
        raise RuntimeError(f"{case.name}: not every session exported, see {summary}")


def extract_cases(quick: bool) -> list[ExtractCase]:
    n = 1000 if quick else 4000
    return [
        # Twice the others: ten seconds at the limit, so the process's fixed start and finish
        # (about half a second) weigh less on its whole-process rate.
        ExtractCase("by id", "ids", 2 * n),
        ExtractCase("by id, --max-rps 200", "ids", n // 4, max_rps=200),
        ExtractCase("--all (pages of 200)", "all", n),
    ]


def startup_cost() -> JobResult:
    """The exporter's fixed cost: interpreter start and every import (--version exits then)."""
    return run_job([PYTHON, RUN_EXPORT, "--version"], EXTRACT_DIR / "startup.log", cwd=ROOT)


def run_extract(quick: bool, reps: int) -> list[ExtractResult]:
    results = []
    for number, case in enumerate(extract_cases(quick)):
        print(f"extract: {case.name}, {case.sessions} sessions x{reps}", flush=True)
        results.append(run_case(case, reps, f"case{number}"))
    return results
