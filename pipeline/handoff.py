"""Handing results from worker threads to the consuming thread through a bounded queue."""

from __future__ import annotations

import queue
import threading
from typing import TypeVar

T = TypeVar("T")


def hand_over(results: queue.Queue[T], item: T, done: threading.Event) -> None:
    """Put item on results, waiting while it is full, unless the consumer is done."""
    while not done.is_set():
        try:
            results.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
