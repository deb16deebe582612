"""--from-raw with the reading in a process of its own.

Reading, validating, flattening and converting to Arrow is Python work that holds the GIL; the
DuckDB writes need it back after every task. On two threads of one process they took nearly as
long as one after the other (benchmarks/PROFILE.md), so a rebuild reads in a child process and
hands each prepared batch over a pipe to this process, which only writes. The child touches no
file but the raw files it reads: the lock, the warehouse and every write stay here.

The child is started before this process imports the export and opens the warehouse, and makes
its own imports (pydantic's models are most of them) meanwhile: its job, the files to read, comes
once the lock is held. Nothing heavy is imported here at module level, for the same reason.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import FatalError

if TYPE_CHECKING:
    from pipeline.batch import Batch
    from pipeline.consume import Progress, RunInfo
    from pipeline.part_lines import PartLines


@dataclass(frozen=True)
class ReadJob:
    files: list[Path]
    run: RunInfo


class _ToParent:
    """The child's sink and progress: everything goes over the pipe to the parent."""

    def __init__(self, conn: Connection, run_id: str) -> None:
        self.conn = conn
        self.run_id = run_id
        self.parts: PartLines | None = None

    def write(self, batch: Batch) -> None:
        if batch.part_lines:  # the sessions' messages are read here too (part_lines)
            batch.part_items = self._read_messages(batch.part_lines)
        self.conn.send(("batch", batch))
        gc.collect()  # the batch is gone: what is left to scan is little (see _serve)

    def _read_messages(self, lines: list[bytes]) -> list[Any]:
        """Read the messages lines, taken out of lines; return what they built."""
        from pipeline.part_lines import PartLines, take_messages  # a folder without parts: none

        mine = take_messages(lines)
        if not mine:
            return []
        if self.parts is None:
            self.parts = PartLines(self.run_id)
        return self.parts.read(mine)

    def session_error(self, session_id: str, kind: str, message: str, status: int | None) -> None:
        self.conn.send(("session_error", session_id, kind, message, status))

    def progress(self, done: int, failed: int, *, force: bool = False) -> None:
        pass  # the parent counts what it writes


def _serve(conn: Connection) -> None:
    """The child: import, wait for the job, then consume every saved line, sending each batch
    to the parent. A parent that goes before sending a job (the output was locked) is EOF."""
    from pipeline.consume import Consumer
    from pipeline.raw import read_raw

    # Validating and flattening make millions of small objects and no cycles: the collector's
    # automatic passes cost a fifth of the reading. It runs once a batch instead, over what the
    # batch left, the imported modules frozen out of its way.
    gc.freeze()
    gc.disable()
    try:
        job: ReadJob = conn.recv()
    except (EOFError, OSError):
        return
    parent = _ToParent(conn, job.run.run_id)
    consumer = Consumer(job.run, parent, parent)
    try:
        consumer.consume(read_raw(job.files))
        consumer.flush()
        conn.send(("done",))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which decides
        try:
            conn.send(("error", f"{type(err).__name__}: {err}"))
        except OSError:
            pass  # the parent is gone (killed, or stopped on an error of its own): just stop
    finally:
        conn.close()


class Reader:
    """A reading process, started ahead of the one job it reads (see the module's doc)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process holding DuckDB
        self._conn, child_end = context.Pipe()
        self._child = context.Process(target=_serve, args=(child_end,), name="devin-export-reader")
        self._child.start()
        child_end.close()  # so a child that dies shows as EOF here

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self, job: ReadJob) -> None:
        """Give the child its job: it starts reading."""
        try:
            self._conn.send(job)
        except OSError:
            raise FatalError("the reading process stopped before its job") from None

    def collect(self, write: Callable[[Batch], None], progress: Progress) -> None:
        """Pass each batch the child sends to write here, until the job is done."""
        written = failed = 0
        while True:
            try:
                message = self._conn.recv()
            except EOFError:
                raise FatalError("the reading process stopped without finishing") from None
            kind = message[0]
            if kind == "batch":
                batch: Batch = message[1]
                write(batch)
                written, failed = written + len(batch.sessions), failed + len(batch.errors)
                progress.progress(written, failed)
            elif kind == "session_error":
                progress.session_error(*message[1:])
            elif kind == "done":
                return
            else:
                raise FatalError(f"reading the raw files failed: {message[1]}")

    def close(self) -> None:
        self._conn.close()
        self._child.join(timeout=5)
        if self._child.is_alive():
            self._child.kill()
            self._child.join()


def read_in_child(job: ReadJob, write: Callable[[Batch], None], progress: Progress) -> None:
    """Read job's raw files in a child process started now."""
    with Reader() as reader:
        reader.begin(job)
        reader.collect(write, progress)
