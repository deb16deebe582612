"""Synthetic JSONL data sets: one session object a line, from FakeDevin with a fixed seed.

Session i depends only on (seed, i), so the small set is the large set's first sessions: the
large file is generated once, and the small one filtered out of it. Both are cached under
benchmarks/work/data/ and reused across runs (the file names carry the size and the seed).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import orjson

from pipeline.fake_api import FakeDevin

SEED = 0
DATA_DIR = Path(__file__).resolve().parent / "work" / "data"


def dataset_path(sessions: int, seed: int = SEED) -> Path:
    return DATA_DIR / f"sessions-{sessions}-seed{seed}.jsonl"


def ensure_datasets(sizes: list[int], seed: int = SEED) -> dict[int, Path]:
    """Return {size: path} for each size, generating the files that are missing."""
    missing = [n for n in sizes if not dataset_path(n, seed).exists()]
    if missing:
        largest = max(missing)
        source = _write_dataset(largest, seed)
        for size in missing:
            if size != largest:
                _filter_prefix(source, size, seed)
    return {n: dataset_path(n, seed) for n in sizes}


def _write_dataset(sessions: int, seed: int) -> Path:
    path = dataset_path(sessions, seed)
    print(f"generating {path.name} ...", file=sys.stderr, flush=True)
    devin = FakeDevin(sessions=sessions, seed=seed)
    _write_lines(path, (orjson.dumps(devin.session(sid)) for sid in devin.ids()))
    return path


def _filter_prefix(source: Path, sessions: int, seed: int) -> Path:
    """Write the first `sessions` sessions (by index) of a larger set, in list order."""
    wanted = set(FakeDevin(sessions=sessions, seed=seed).ids())
    path = dataset_path(sessions, seed)
    with open(source, "rb") as lines:
        _write_lines(
            path, (line.rstrip(b"\n") for line in lines if line_session_id(line) in wanted)
        )
    return path


def line_session_id(line: bytes) -> str:
    # Each line starts with {"session_id":"...": no need to parse the whole object.
    start = line.index(b'"session_id":"') + len(b'"session_id":"')
    return line[start : line.index(b'"', start)].decode()


def _write_lines(path: Path, lines: Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        for line in lines:
            f.write(line + b"\n")
    tmp.replace(path)
