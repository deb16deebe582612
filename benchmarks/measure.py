"""Run one measured job in its own process: wall time, CPU time and peak RSS of that process."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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

    os.wait4 reaps the child with its own rusage, so CPU and ru_maxrss are the job's alone
    (ru_maxrss is in KiB on Linux).
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=cwd
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        tail = log.read_text(errors="replace")[-2000:]
        raise JobFailed(f"{' '.join(map(str, cmd))} exited {code}; log {log}:\n{tail}")
    return JobResult(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss * 1024 / MIB, code)


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
