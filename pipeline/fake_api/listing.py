"""Cutting a page out of the list, the way every dialect does, quirks included.

Dialects turn their query into an offset, a page size and a selection, and a Cut back into
their page shape: v2's skip/limit/next_cursor, v3's opaque cursors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .quirks import Quirks
    from .state import FakeDevin


@dataclass(frozen=True)
class Cut:
    """One page: the sessions' positions, where it starts, its size, and where the next starts."""

    positions: list[int]
    offset: int
    size: int  # what the server served at most: v2 reports it as "limit"
    total: int | None
    next_offset: int | None  # None: the last page


def cut(
    devin: FakeDevin,
    quirks: Quirks,
    offset: int,
    asked: int,
    first_page: bool,
    select: Callable[[], list[int]],
) -> Cut:
    """Returns the page at offset of asked items, of the sessions select() returns."""
    if not first_page and (quirks.churn_insert or quirks.churn_delete or quirks.churn_update):
        devin.churn(quirks.churn_insert, quirks.churn_delete, quirks.churn_update)
    order = select()
    count = len(order)
    size = min(asked, quirks.page_cap) if quirks.page_cap else asked
    if quirks.newest_first:
        positions = order[max(count - offset - size, 0) : max(count - offset, 0)][::-1]
    else:
        positions = order[offset : offset + size]
    nth = quirks.next_list_request()
    # 0, +drift, -drift, 0, ... by the page's place in the list, not by the request's arrival:
    # a retried or concurrently fetched page gets the same total again
    page_index = offset // size if size else 0
    drift = quirks.total_drift * (((page_index + 1) % 3) - 1)
    total = None if quirks.total_null else max(0, count + drift)
    next_offset = offset + size if offset + size < count else None
    if quirks.wrap_around and count:  # a list without end: more is always said
        positions = [order[(offset + i) % count] for i in range(size)]
        next_offset = offset + size
    if quirks.empty_page_every and nth % quirks.empty_page_every == 0 and positions:
        return Cut([], offset, size, total, offset)
    if quirks.stuck_cursor and next_offset is not None:
        next_offset = offset
    # pages 2, 3, 2, 3, ... for ever: a cycle, never the same cursor twice in a row
    if quirks.cursor_rewind and next_offset is not None and offset >= 2 * size:
        next_offset = size
    if quirks.duplicate_items and len(positions) > 1:
        positions = positions[:-1] + positions[:1]
    return Cut(positions, offset, size, total, next_offset)
