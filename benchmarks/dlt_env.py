"""The benchmark's own venv for dlt: never a dependency of the project.

Created by the benchmark run when missing, from the same Python that runs the benchmarks; a
stamp file holds the lock it was installed from, so a half-made or outdated venv is made again.
Every version comes from locks/dlt.txt (pinned and hashed; make lock refreshes it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.common import ROOT, WORK

DLT_VENV = WORK / ".venv-dlt"
DLT_LOCK = ROOT / "locks" / "dlt.txt"
STAMP = DLT_VENV / ".bench-installed"


def dlt_python() -> Path:
    return DLT_VENV / "bin" / "python"


def is_ready() -> bool:
    return STAMP.exists() and STAMP.read_text() == DLT_LOCK.read_text()


def create(log: Path) -> float:
    """Make the venv and install dlt into it; return the seconds it took."""
    start = time.perf_counter()
    shutil.rmtree(DLT_VENV, ignore_errors=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    lock = str(DLT_LOCK)
    with open(log, "wb") as out:
        for cmd in (
            [sys.executable, "-m", "venv", str(DLT_VENV)],
            [str(dlt_python()), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", lock],
        ):
            subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=True)
    STAMP.write_text(DLT_LOCK.read_text())
    return time.perf_counter() - start


class Setup(threading.Thread):
    """Creates the venv in the background (pip waits on the network and disk)."""

    def __init__(self, log: Path) -> None:
        super().__init__(daemon=True, name="dlt-venv")
        self.log = log
        self.seconds: float | None = None  # None: the venv was already there
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            if not is_ready():
                self.seconds = create(self.log)
        except Exception as err:  # re-raised by wait()
            self.error = err

    def wait(self) -> float | None:
        self.join()
        if self.error is not None:
            raise RuntimeError(f"could not install {DLT_LOCK}; see {self.log}") from None
        return self.seconds


def dlt_version() -> str:
    code = "import importlib.metadata as m; print(m.version('dlt'))"
    return subprocess.run(
        [str(dlt_python()), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
