"""The warehouse writer thread: writes run in order, on a thread of their own."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class SerialWriter:
    """Runs warehouse work one job after another on a thread of its own, in order.

    DuckDB releases the GIL while it inserts and commits, so on a second core the next batch
    is validated and flattened meanwhile. At most one write waits, which bounds memory. After a
    failed job every later one is dropped: a batch is never committed after an earlier failed.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="warehouse-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as err:  # noqa: BLE001 - re-raised on the submitting thread
                    self._error = err

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def call(self, job: Callable[[], T]) -> T:
        """Run job after every write submitted so far; return its result."""
        result: list[T] = []
        done = threading.Event()

        def run() -> None:
            try:
                result.append(job())
            finally:
                done.set()

        self.submit(run)
        while not done.wait(0.1):
            if not self._thread.is_alive():
                break
        self._raise()
        return result[0]

    def close(self) -> None:
        """Wait for every submitted job; raise the first one that failed."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise()
