"""Raw landing: every response body as received, gzip JSON lines, and reading them back.

Each batch is appended as its own gzip member, so a run killed mid-write leaves every earlier
batch readable; the reader stops quietly at a torn last member.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from pipeline.client import Response
from pipeline.errors import UnparseableBody, UsageError

QUARANTINE = "quarantine"


def one_line(body: bytes) -> bytes:
    """Return a JSON body on one line; a raw newline in valid JSON is only ever whitespace."""
    return body.replace(b"\r", b" ").replace(b"\n", b" ")


@dataclass
class RawChunk:
    lines: list[bytes]
    quarantined: list[bytes]


class RawWriter:
    def __init__(self, raw_dir: Path, run_id: str, started: datetime) -> None:
        day = started.strftime("%Y-%m-%d")
        self.path = raw_dir / day / f"{run_id}.jsonl.gz"
        self.quarantine_path = raw_dir / QUARANTINE / day / f"{run_id}.jsonl.gz"
        self._pending: list[bytes] = []
        self._quarantined: list[bytes] = []

    def add(self, body: bytes) -> None:
        self._pending.append(one_line(body))

    def quarantine(self, key: str, error: str, body: bytes) -> None:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = body.decode("utf-8", "replace")
        received = datetime.now(UTC)
        record = {"session_id": key, "error": error, "received_at": received, "body": payload}
        self._quarantined.append(orjson.dumps(record))

    def take(self) -> RawChunk:
        """Hand over what was added since the last take, for write() on another thread."""
        chunk = RawChunk(self._pending, self._quarantined)
        self._pending, self._quarantined = [], []
        return chunk

    def write(self, chunk: RawChunk) -> None:
        """Append a chunk as one gzip member per file."""
        for path, lines in ((self.path, chunk.lines), (self.quarantine_path, chunk.quarantined)):
            if lines:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as f:
                    f.write(gzip.compress(b"\n".join(lines) + b"\n", compresslevel=1, mtime=0))

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
    """Yield each saved line of files (as raw_files lists them) unparsed, data None: most are
    sessions, validated from JSON."""
    for path in files:
        extracted = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        for number, line in enumerate(_lines(path), 1):
            line = line.strip()
            if line:
                yield Response(f"{path.name}:{number}", body=line, received_at=extracted)


def parse_saved(resp: Response) -> Response:
    """Return a saved line parsed and keyed like the client's answers: a page or a session."""
    try:
        data = orjson.loads(resp.body)
    except orjson.JSONDecodeError as err:
        error = UnparseableBody(f"{resp.key} is not JSON ({err})", resp.body)
        return Response(resp.key, body=resp.body, error=error, received_at=resp.received_at)
    key = resp.key
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        key = f"page:{resp.key}"
    elif isinstance(data, dict) and isinstance(data.get("session_id"), str):
        key = data["session_id"]
    return Response(key, data=data, body=resp.body, received_at=resp.received_at)
