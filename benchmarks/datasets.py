"""Synthetic JSONL data sets: one session object a line, from FakeDevin with a fixed seed.

Session i depends only on (seed, i), so the small set is the large set's first sessions: the
large file is generated once, and the small one filtered out of it. Both are cached under
benchmarks/work/data/ and reused across runs (the file names carry the size, the seed and the
text mode).

The load and night benchmarks use text="llm" (pipeline/fake_api/llm.py): the analyses' free
text as Devin's language model writes it, nearly every issue label its own, long texts in every
script, a few pasted logs of 10-50 kB and timelines of hundreds of events. "kind" (a few fixed
labels) is the fake's default, and flattered every per-label cost.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common import PYTHON, RUN_EXPORT
from pipeline.fake_api import FakeDevin, with_text
from pipeline.fake_api.messages import messages
from pipeline.parts import LINE_PREFIX

SEED = 0
NIGHTLY_RUN = 200  # sessions a nightly run writes, in the raw folder made from a data set
NIGHTLY_AGAIN = 20  # of them, sessions of the night before still moving, fetched again
TEXT = "llm"  # the text mode of the load and night benchmarks' data
DATA_DIR = Path(__file__).resolve().parent / "work" / "data"


def dataset_path(sessions: int, seed: int = SEED, text: str = TEXT) -> Path:
    return DATA_DIR / f"sessions-{sessions}-seed{seed}-{text}.jsonl"


def ensure_datasets(sizes: list[int], seed: int = SEED, text: str = TEXT) -> dict[int, Path]:
    """Return {size: path} for each size, generating the files that are missing."""
    missing = [n for n in sizes if not dataset_path(n, seed, text).exists()]
    if missing:
        largest = max(missing)
        cached = [n for n in _cached_sizes(seed, text) if n > largest]
        if cached:  # a larger set already generated: filter the missing ones out of it
            source = dataset_path(min(cached), seed, text)
        else:
            source = _write_dataset(largest, seed, text)
        for size in missing:
            if dataset_path(size, seed, text) != source:
                _filter_prefix(source, size, seed, text)
    return {n: dataset_path(n, seed, text) for n in sizes}


def _cached_sizes(seed: int, text: str) -> list[int]:
    sizes = []
    for path in DATA_DIR.glob(f"sessions-*-seed{seed}-{text}.jsonl"):
        size = path.name.split("-")[1]
        if size.isdigit():
            sizes.append(int(size))
    return sizes


def _write_dataset(sessions: int, seed: int, text: str) -> Path:
    path = dataset_path(sessions, seed, text)
    print(f"generating {path.name} ...", file=sys.stderr, flush=True)
    devin = with_text(FakeDevin(sessions=sessions, seed=seed), text)
    _write_lines(path, (orjson.dumps(devin.session(sid)) for sid in devin.ids()))
    return path


def _filter_prefix(source: Path, sessions: int, seed: int, text: str) -> Path:
    """Write the first `sessions` sessions (by index) of a larger set, in list order."""
    wanted = set(FakeDevin(sessions=sessions, seed=seed).ids())
    path = dataset_path(sessions, seed, text)
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


def nightly_folder(source: Path, per_run: int = NIGHTLY_RUN, again: int = NIGHTLY_AGAIN) -> Path:
    """The data set as --from-raw really meets it: a raw folder (DIR/raw) of nightly runs.

    Each night writes per_run new sessions and, first, the last `again` sessions of the night
    before once more (still running then, refreshed since), as a night that refreshes what is
    still moving does: a session in two nights' batches, as in a real raw folder. Then, as every
    night does, the enterprise's parts: people, organizations, playbooks, consumption, metrics
    (enterprise_parts: those of a demo run, the same enterprise every night). Each night is one
    file, DAY/RUN_ID.jsonl.gz, each batch and part one gzip member, as pipeline.raw writes
    them. Cached beside the data set.
    """
    folder = source.with_name(f"{source.stem}-nightly{per_run}-again{again}-parts")
    if folder.is_dir():
        return folder
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    demo_run, parts = enterprise_parts(tmp / "demo")
    before: list[bytes] = []
    # Streamed: a job's peak RSS counts this process's (see measure.run_job), so it stays small.
    with open(source, "rb") as f:
        for number, lines in enumerate(iter(lambda: list(islice(f, per_run)), [])):
            started, run_id = _night(number)
            body = b"".join(before[len(before) - again :] + lines) if again else b"".join(lines)
            _write_night(tmp, started, run_id, [body], (demo_run, parts))
            before = lines
    shutil.rmtree(tmp / "demo")
    tmp.replace(folder)
    return folder


def v3_nightly_folder(sessions: int, per_run: int = NIGHTLY_RUN, again: int = NIGHTLY_AGAIN,
                      seed: int = SEED, text: str = TEXT) -> Path:  # fmt: skip
    """nightly_folder for the v3 API: the same sessions as v3 bodies, each night's sessions
    followed by their messages (one page each, pipeline.messages_load's lines) and the parts of
    a v3 demo run. Generated from FakeDevin directly (the data sets are v2); cached."""
    folder = dataset_path(sessions, seed, text).with_name(
        f"sessions-{sessions}-seed{seed}-{text}-v3-nightly{per_run}-again{again}-parts"
    )
    if folder.is_dir():
        return folder
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    demo_run, parts = enterprise_parts(tmp / "demo", "v3")
    parts = [p for p in parts if not p.startswith(LINE_PREFIX + b'{"run_id":"' + demo_run +
                                                  b'","part":"messages"')]  # fmt: skip
    devin = with_text(FakeDevin(sessions, seed=seed), text)
    ids = devin.ids()
    for number in range(0, (len(ids) + per_run - 1) // per_run):
        started, run_id = _night(number)
        new = ids[number * per_run : (number + 1) * per_run]
        night = ids[max(0, number * per_run - again) : number * per_run] + new
        bodies = [orjson.dumps(devin.session(sid, "v3")) for sid in night]
        pages = [_messages_line(run_id, sid, messages(devin, sid) or [], started) for sid in night]
        members = [b"\n".join(bodies) + b"\n", b"\n".join(pages) + b"\n"]
        _write_night(tmp, started, run_id, members, (demo_run, parts))
    shutil.rmtree(tmp / "demo")
    tmp.replace(folder)
    return folder


def _night(number: int) -> tuple[datetime, str]:
    """When the number-th night of a nightly folder ran, and its run id."""
    started = datetime(2025, 1, 1, 2, tzinfo=UTC) + timedelta(days=number)
    return started, f"{started:%Y%m%dT%H%M%S}.000Z-{number:06x}"


def _write_night(folder: Path, started: datetime, run_id: str, members: list[bytes],
                 demo: tuple[bytes, list[bytes]]) -> None:  # fmt: skip
    """Write a night's raw file: its members, then the demo run's parts as this run's."""
    demo_run, parts = demo
    members = members + [p.replace(demo_run, run_id.encode()) for p in parts]
    run = folder / f"{started:%Y-%m-%d}" / f"{run_id}.jsonl.gz"
    run.parent.mkdir(parents=True, exist_ok=True)
    run.write_bytes(b"".join(gzip.compress(m, compresslevel=1, mtime=0) for m in members))


def _messages_line(run_id: str, sid: str, items: list[Any], at: datetime) -> bytes:
    meta = {"run_id": run_id, "part": "messages", "api_version": "v3", "session_id": sid,
            "page": 0, "last": True, "received_at": at.isoformat()}  # fmt: skip
    return LINE_PREFIX + orjson.dumps(meta) + b',"body":' + orjson.dumps({"items": items}) + b"}"


def enterprise_parts(work: Path, version: str = "v2") -> tuple[bytes, list[bytes]]:
    """The run id and the parts' gzip members (decompressed) of one demo run's raw file."""
    subprocess.run([PYTHON, RUN_EXPORT, "--demo", "1", "--api-version", version, "--out", work,
                    "--quiet"], check=True, capture_output=True)  # fmt: skip
    (raw,) = (work / "raw").glob("*/*.jsonl.gz")
    data, members = raw.read_bytes(), []
    while data:
        reader = zlib.decompressobj(wbits=31)
        members.append(reader.decompress(data))
        data = reader.unused_data
    parts = [m for m in members if m.startswith(b'{"devin_export_part"')]
    return raw.name.removesuffix(".jsonl.gz").encode(), parts
