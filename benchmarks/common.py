"""Paths and settings shared by the benchmark modules."""

from __future__ import annotations

import shutil
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
