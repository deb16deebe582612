"""--from-raw with the reading in a process of its own.

Reading, validating, flattening and converting to Arrow is Python work that holds the GIL; the
DuckDB writes need it back after every task. On two threads of one process they took nearly as
long as one after the other (benchmarks/PROFILE.md), so a rebuild reads in a child process and
hands each prepared batch over a pipe to this process, which only writes. The child touches no
file but the raw files it reads: the lock, the warehouse and every write stay here.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

from pipeline.errors import FatalError
from pipeline.load import Batch, Warehouse
from pipeline.progress import Reporter


@dataclass(frozen=True)
class ReadJob:
    files: list[Path]
    run_id: str
    started: datetime
    batch_size: int


class _Inline:
    """The child's writer: hands each batch over at once; the pipe is the queue."""

    def submit(self, job: Callable[[], None]) -> None:
        job()

    def close(self) -> None:
        pass


class _ToParent:
    """Stands in for the warehouse and the reporter in the child: everything goes to the parent."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.counts = (0, 0)  # exported, failed: reported with each batch

    def write_batch(self, batch: Batch) -> None:
        if len(batch):
            errors = list(batch.errors.values())
            self.conn.send(("batch", list(batch.sessions), errors, batch.arrow, self.counts))

    def session_error(self, session_id: str, kind: str, message: str, status: int | None) -> None:
        self.conn.send(("session_error", session_id, kind, message, status))

    def progress(self, done: int, failed: int, *, force: bool = False) -> None:
        self.counts = (done, failed)


def _read(conn: Connection, job: ReadJob) -> None:
    """The child: what _Run.consume does in one process, with the writes sent to the parent."""
    from pipeline.export import Settings, _Run  # the child imports what only it needs
    from pipeline.raw import read_raw

    parent = _ToParent(conn)
    settings = Settings(out_dir=Path(), from_raw=tuple(job.files), batch_size=job.batch_size)
    run = _Run(settings, parent, parent, None, job.run_id, job.started, writer=_Inline())  # type: ignore[arg-type]
    try:
        run.consume(read_raw(job.files))
        run.flush()
        conn.send(("done", run.exported, run.failed))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which decides
        try:
            conn.send(("error", f"{type(err).__name__}: {err}"))
        except OSError:
            pass  # the parent is gone (killed, or stopped on an error of its own): just stop
    finally:
        conn.close()


def read_in_child(
    job: ReadJob, warehouse: Warehouse, reporter: Reporter
) -> tuple[set[str], dict[str, str]]:
    """Read job's raw files in a child process, writing each batch here; return the ids the
    child exported and the sessions that failed, with their kind of failure."""
    context = multiprocessing.get_context("spawn")  # never fork a process holding DuckDB
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_read, args=(send, job), name="devin-export-reader")
    child.start()
    send.close()  # so a child that dies shows as EOF here
    try:
        while True:
            try:
                message = receive.recv()
            except EOFError:
                raise FatalError("the reading process stopped without finishing") from None
            kind = message[0]
            if kind == "batch":
                _, ids, errors, arrow, (exported, failed) = message
                batch = Batch({sid: {} for sid in ids}, {row[1]: row for row in errors}, arrow)
                warehouse.write_batch(batch)
                reporter.progress(exported, failed)
            elif kind == "session_error":
                reporter.session_error(*message[1:])
            elif kind == "done":
                return message[1], message[2]
            else:
                raise FatalError(f"reading the raw files failed: {message[1]}")
    finally:
        receive.close()
        child.join(timeout=5)
        if child.is_alive():
            child.kill()
            child.join()
