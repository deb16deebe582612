"""Run one measured job in its own process: wall time, CPU time and peak RSS of that process."""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

MIB = 1024 * 1024


@dataclass(frozen=True)
class JobResult:
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    exit_code: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


class JobFailed(RuntimeError):
    pass


def run_job(
    cmd: Sequence[str | Path],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> JobResult:
    """Run cmd to completion, its output into log; raise JobFailed on an unexpected exit code.

    os.wait4 reaps the child with its own rusage: CPU counts the job and the processes it
    waited for. ru_maxrss (KiB on Linux) is the largest single process, so a job that runs
    processes side by side is also sampled, its tree's PSS summed every 20 ms; peak memory is
    the larger of the two. Linux counts in a job's ru_maxrss the memory of this process at the
    moment it starts the job (vfork, then exec), so the benchmark process must stay smaller than
    any job it measures: it streams the data sets, never holds one.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=cwd
        )
        with TreeRss(proc.pid) as tree:
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        tail = log.read_text(errors="replace")[-2000:]
        raise JobFailed(f"{' '.join(map(str, cmd))} exited {code}; log {log}:\n{tail}")
    peak = max(usage.ru_maxrss * 1024, tree.peak_bytes) / MIB
    return JobResult(wall, usage.ru_utime, usage.ru_stime, peak, code)


class Sampler:
    """Calls sample() every interval seconds on a thread of its own, inside a with block."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class TreeRss(Sampler):
    """The peak memory of a process and all its descendants (Linux /proc), summed as PSS.

    PSS splits a page that several processes map among them, so two processes that each map
    pyarrow's and DuckDB's libraries count those pages once, where summing RSS counted them twice.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(interval)
        self.pid = pid
        self.peak_bytes = 0

    def _tree(self) -> list[int]:
        pids, i = [self.pid], 0
        while i < len(pids):
            for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
                pids += [int(p) for p in task.read_text().split()]
            i += 1
        return pids

    def _pss(self, pid: int) -> int:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
        return 0

    def sample(self) -> None:
        try:
            total = sum(self._pss(pid) for pid in self._tree())
        except (OSError, ValueError):
            return  # a process came or went while read: take the next sample
        self.peak_bytes = max(self.peak_bytes, total)


@dataclass(frozen=True)
class Stat:
    """Median and range of repeated measurements of one quantity."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def __len__(self) -> int:
        return len(self.values)


def stat(values: Sequence[float]) -> Stat:
    return Stat(tuple(values))
