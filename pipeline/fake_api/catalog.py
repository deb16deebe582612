"""Catalog: the sessions' ids and timestamps by index, in list order, with filtered views.

Only what ordering and filtering need, timestamps as epoch microseconds, so 100,000 sessions
cost little. Not thread-safe by itself: FakeDevin holds its lock around every use.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Any, NamedTuple


class Bounds(NamedTuple):
    """Inclusive bounds on created_at and updated_at, in epoch microseconds; None: unbounded."""

    created_from: int | None = None
    created_to: int | None = None
    updated_from: int | None = None
    updated_to: int | None = None


UNBOUNDED = Bounds()


class Catalog:
    """Session ids and timestamps by index; deleted sessions keep their index, unlisted."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.created: list[int] = []
        self.updated: list[int] = []
        self._index: dict[str, int] = {}
        self._deleted: set[int] = set()
        self.version = 0  # bumped by every change: invalidates the order and filter caches
        self._order_version = -1
        self._order: list[int] = []
        self._order_created: list[int] = []
        self._filtered: dict[tuple[Any, ...], list[int]] = {}

    def __len__(self) -> int:
        return len(self.ids) - len(self._deleted)

    def append(self, session_id: str, created: int, updated: int) -> int:
        """Adds a session; returns its index."""
        self._index[session_id] = len(self.ids)
        self.ids.append(session_id)
        self.created.append(created)
        self.updated.append(updated)
        self.version += 1
        return len(self.ids) - 1

    def find(self, session_id: object) -> int | None:
        """Returns the index of a live session, else None."""
        index = self._index.get(session_id) if isinstance(session_id, str) else None
        return None if index is None or index in self._deleted else index

    def live(self, session_id: str) -> int:
        """Returns the index of a live session; KeyError if unknown or deleted."""
        index = self.find(session_id)
        if index is None:
            raise KeyError(session_id)
        return index

    def delete(self, index: int) -> None:
        """Takes a session off the list; its index stays taken."""
        self._deleted.add(index)
        self.version += 1

    def order(self) -> list[int]:
        """Returns the live indexes in list order, by (created_at, session_id) (cached)."""
        if self._order_version != self.version:
            # By id, then stably by created_at: twice as fast as sorting (created, id) tuples.
            live = (i for i in range(len(self.ids)) if i not in self._deleted)
            self._order = sorted(live, key=self.ids.__getitem__)
            self._order.sort(key=self.created.__getitem__)
            self._order_created = [self.created[index] for index in self._order]
            self._order_version = self.version
            self._filtered.clear()
        return self._order

    def select(self, bounds: Bounds) -> list[int]:
        """Returns the live indexes within bounds, in list order (cached: do not change it)."""
        order = self.order()
        if bounds == UNBOUNDED:
            return order
        key = (self._order_version, *bounds)
        if key not in self._filtered:
            if len(self._filtered) >= 8:  # a few filter sets at a time, never unbounded
                self._filtered.clear()
            self._filtered[key] = self._filter(order, bounds)
        return self._filtered[key]

    def _filter(self, order: list[int], bounds: Bounds) -> list[int]:
        created_from, created_to, lowest, highest = bounds
        low = 0 if created_from is None else bisect_left(self._order_created, created_from)
        high = len(order) if created_to is None else bisect_right(self._order_created, created_to)
        if lowest is None and highest is None:
            return order[low:high]
        low_bound = -math.inf if lowest is None else lowest
        high_bound = math.inf if highest is None else highest
        return [i for i in order[low:high] if low_bound <= self.updated[i] <= high_bound]
