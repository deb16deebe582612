"""Raw landing: every response body as received, gzip JSON lines, and reading them back.

Each batch is appended as its own gzip member, so a run killed mid-write leaves every earlier
batch readable; the reader stops quietly at a torn last member.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import UsageError
from pipeline.responses import Kind, Response

QUARANTINE = "quarantine"


class RawWriter:
    def __init__(self, raw_dir: Path, run_id: str, started: datetime) -> None:
        day = started.strftime("%Y-%m-%d")
        self.path = raw_dir / day / f"{run_id}.jsonl.gz"
        self.quarantine_path = raw_dir / QUARANTINE / day / f"{run_id}.jsonl.gz"

    def write(self, lines: list[bytes], quarantined: list[bytes]) -> None:
        """Append a batch's bodies as one gzip member per file."""
        for path, chunk in ((self.path, lines), (self.quarantine_path, quarantined)):
            if chunk:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as f:
                    f.write(gzip.compress(b"\n".join(chunk) + b"\n", compresslevel=1, mtime=0))

    def written(self) -> list[Path]:
        return [p for p in (self.path, self.quarantine_path) if p.exists()]


def raw_files(paths: Iterable[Path]) -> list[Path]:
    """Return the raw files named or found under paths, oldest run first, quarantine left out."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.name.endswith((".jsonl", ".jsonl.gz"))
                and QUARANTINE not in p.relative_to(path).parts
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"--from-raw: no such file or directory: {path}")
    # Run ids begin with their start time, so name order is time order and the newest wins.
    return sorted(dict.fromkeys(found), key=lambda p: (p.name, str(p)))


def _lines(path: Path) -> Iterator[bytes]:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            try:
                yield from f
            except (EOFError, zlib.error, gzip.BadGzipFile):
                return  # a torn last member from a killed run: keep what came before
    else:
        with open(path, "rb") as f:
            yield from f


def read_raw(files: Iterable[Path]) -> Iterator[Response]:
    """Yield each saved line of files (as raw_files lists them), unparsed."""
    for path in files:
        extracted = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        for number, line in enumerate(_lines(path), 1):
            line = line.strip()
            if line:
                yield Response(
                    Kind.SAVED, f"{path.name}:{number}", body=line, received_at=extracted
                )
