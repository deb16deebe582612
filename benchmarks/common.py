"""Paths and settings shared by the benchmark modules."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / "work"
JOBS = BENCH_DIR / "jobs"
PYTHON = ROOT / ".venv" / "bin" / "python"
RUN_EXPORT = ROOT / "run_export.py"


def fresh_dir(path: Path) -> Path:
    """Return path as a new empty folder, whatever was there before."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextmanager
def api_process(
    cmd: Sequence[str | Path], log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start an API server whose first line on stdout names its URL; yield (process, URL); stop
    it (by its pid) on the way out."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    try:
        first = proc.stdout.readline().decode() if proc.stdout else ""
        found = re.search(r"http://[\d.]+:\d+", first)
        if not found:
            raise RuntimeError(f"the API did not start: {first!r}; see {log}")
        yield proc, found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
