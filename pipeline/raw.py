"""Raw landing: every response body as received, gzip JSON lines, and reading them back.

Each batch is appended as its own gzip member, so a run killed mid-write leaves every earlier
batch readable; the reader stops quietly at a torn last member. A member is also the unit of
replay: --from-raw writes each member's sessions in one transaction, as the run that wrote the
member did, so what the warehouse derives from the order of answers (when a session was first
seen ended) comes out the same.

Besides the bodies, a member ends with a line for each thing the run learnt without a body to
keep: sessions found gone (a 404 on --refresh-open) and sessions whose analysis was asked for
(--generate-insights), each with its time: {"devin_export_event": "gone" | "analysis_requested",
"sessions": {session_id: ISO time}}.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pydantic_core

from pipeline.errors import UsageError
from pipeline.responses import Kind, Response

QUARANTINE = "quarantine"
EVENT = "devin_export_event"
GONE = "gone"  # --refresh-open found the session gone: sessions.deleted_at
ANALYSIS_REQUESTED = "analysis_requested"  # sessions.analysis_requested_at
READ_SIZE = 1 << 20
# A member's lines are held until the member proves whole, so a torn one (the batch of a run
# killed while writing it, which never reached the warehouse) is left out entirely. The
# exporter's members are one batch each; a bigger one (a file gzipped whole) is passed on as it
# comes, and only its complete lines are kept if it turns out torn.
HOLD_BYTES = 64 << 20


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


def event_lines(
    gone: Mapping[str, datetime], analysis_requested: Mapping[str, datetime]
) -> list[bytes]:
    """Return the raw lines recording a batch's events (none when it has none)."""
    return [
        pydantic_core.to_json(
            {EVENT: name, "sessions": {s: at.isoformat() for s, at in ats.items()}}
        )
        for name, ats in ((GONE, gone), (ANALYSIS_REQUESTED, analysis_requested))
        if ats
    ]


def parse_event(data: Any) -> tuple[str, dict[str, datetime]] | None:
    """Return (event, {session_id: time}) of a parsed event line; None for anything else."""
    if not isinstance(data, dict) or data.get(EVENT) not in (GONE, ANALYSIS_REQUESTED):
        return None
    sessions = data.get("sessions")
    if not isinstance(sessions, dict):
        return None
    try:
        ats = {str(s): datetime.fromisoformat(at).astimezone(UTC) for s, at in sessions.items()}
    except (TypeError, ValueError):
        return None
    return data[EVENT], ats


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
    # Run ids begin with their start time (to the millisecond since run ids carry it; to the
    # second before), so name order is the order the runs wrote in, and the newest wins.
    return sorted(dict.fromkeys(found), key=lambda p: (p.name, str(p)))


def _members(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield (member number, line) for the lines of a gzip file, member by member."""
    with open(path, "rb") as f:
        member, held, held_bytes, rest = 0, [], 0, b""
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # one gzip member
        while chunk := f.read(READ_SIZE):
            while chunk:
                try:
                    data = inflate.decompress(chunk)
                except zlib.error:
                    return  # corrupt: keep what came before, as for a torn member
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                held += lines
                held_bytes += len(data)
                if inflate.eof:  # whole, its checksum checked
                    held += [rest] if rest else []
                    yield from ((member, line) for line in held)
                    member, held, held_bytes, rest = member + 1, [], 0, b""
                    chunk = inflate.unused_data
                    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                else:
                    chunk = b""
                    if held_bytes > HOLD_BYTES:
                        yield from ((member, line) for line in held)
                        held, held_bytes = [], 0
        # Here a member begun and not finished is torn: a run killed mid-write. Left out.


def _lines(path: Path) -> Iterator[tuple[int | None, bytes]]:
    if path.name.endswith(".gz"):
        yield from _members(path)
    else:
        with open(path, "rb") as f:
            for line in f:
                yield None, line


def read_raw(files: Iterable[Path]) -> Iterator[Response]:
    """Yield each saved line of files (as raw_files lists them), unparsed, each line of a gzip
    file marked with the member (the batch of its run) it was written in."""
    for path in files:
        extracted = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        for number, (member, line) in enumerate(_lines(path), 1):
            line = line.strip()
            if line:
                yield Response(
                    Kind.SAVED, f"{path.name}:{number}", body=line, received_at=extracted,
                    written_in=None if member is None else f"{path}#{member}",
                )  # fmt: skip
