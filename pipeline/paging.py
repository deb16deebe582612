"""Following a listing by what the server answers, never by what it promised.

Offset paging (v2) advances by the items each page actually held, with one item of overlap:
the next page must begin with an item already seen, or sessions were deleted ahead of us and
the list moved under our feet, so the pager steps back until the pages join again. Pages are
fetched ahead speculatively (as if each were full) and used only when they join the last one,
so concurrency never changes the result. Cursor paging (v3) follows end_cursor one page at a
time, the next one fetched while the last is consumed. Both stop when the server says there is
no more; a listing the server will not let us finish yields an IncompleteListing error.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from pipeline.errors import IncompleteListing
from pipeline.handoff import hand_over
from pipeline.responses import Kind, Response

MAX_STEP_BACKS = 6  # in a row; a server whose order is not stable cannot be paged at all
MAX_IDLE_PAGES = 3  # in a row, pages that bring nothing new: a server that ignores skip
EMPTY_PAGE_RETRIES = 2  # an empty page that says there is more is asked again, then given up
RECENT_PAGES = 4  # how many pages of ids are kept to check that the next page joins them
# A list that goes on past this many items, against the total its first page announced, never
# ends (a server that starts over past its end); ids are not kept to tell, so memory stays flat.
RUNAWAY_FACTOR, RUNAWAY_SLACK = 2, 1000


def runaway(received: int, announced: int | None) -> Response | None:
    """Return an incomplete listing once a list has brought far more than it announced."""
    if announced is None or received <= max(RUNAWAY_FACTOR * announced, announced + RUNAWAY_SLACK):
        return None
    return incomplete(f"the list endpoint went on past {received} items, {announced} announced")


class Pager(Protocol):
    """What a listing needs of the HTTP client."""

    def page(self, path: str, params: dict[str, Any], key: str) -> Response: ...


@dataclass
class Page:
    ids: list[str]
    more: bool
    total: int | None
    cursor: Any = None

    @classmethod
    def of(
        cls, resp: Response, asked: int, more_key: str, cursor_key: str, id_key: str = "session_id"
    ) -> Page | None:
        """Return the page an answer holds, or None for an error or something else (a bare
        array, which some endpoints send whole); items are told apart by their id_key."""
        data = resp.data
        if resp.error is not None or not isinstance(data, dict):
            return None
        items = data.get("items")
        if not isinstance(items, list):
            return None
        # Items without a string id cannot tell where the page is; the consumer reports them.
        ids = [i[id_key] for i in items if isinstance(i, dict) and isinstance(i.get(id_key), str)]
        more = data.get(more_key)
        cursor = data.get(cursor_key)
        if not isinstance(more, bool):  # not said: a cursor says there is more, else a full page
            more = cursor is not None if cursor_key in data else len(items) >= asked
        total = data.get("total")
        return cls(ids, more, total if isinstance(total, int) else None, cursor)


def incomplete(message: str) -> Response:
    return Response(Kind.PAGE, "listing", error=IncompleteListing(message))


def offset_pages(
    client: Pager,
    path: str,
    params: Callable[[int, int], dict[str, Any]],
    limit: int,
    concurrency: int,
    id_key: str = "session_id",
) -> Iterator[Response]:
    """Yield the pages of an offset listing; params(skip, limit) gives each page's query."""

    def fetch(skip: int) -> Response:
        return client.page(path, params(skip, limit), f"page skip={skip}")

    first, page = _not_empty(partial(fetch, 0), limit, "has_more", "next_cursor", id_key)
    yield first
    if page is None or not page.more:
        return
    if not page.ids:
        yield incomplete("the list endpoint said there was more but kept sending an empty page")
        return
    announced, received = page.total, len(page.ids)
    size = len(page.ids)  # what the server really serves a page, whatever limit asked
    overlap = 1 if size > 1 else 0
    recent: deque[set[str]] = deque([set(page.ids)], maxlen=RECENT_PAGES)
    skip, step_backs, idle = 0, 0, 0
    next_skip = size - overlap
    with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="page") as pool:
        ahead: deque[tuple[int, Future[Response]]] = deque()
        while True:
            while len(ahead) < max(1, concurrency):  # ask ahead as if every page were full
                at = ahead[-1][0] + size - overlap if ahead else next_skip
                ahead.append((at, pool.submit(fetch, at)))
            at, future = ahead.popleft()
            resp = future.result()
            page = Page.of(resp, limit, "has_more", "next_cursor", id_key)
            if page is not None and page.more and not page.ids:  # a glitch: ask again
                _cancel(ahead)
                resp, page = _not_empty(
                    partial(fetch, at), limit, "has_more", "next_cursor", id_key
                )
            if page is None:
                yield resp  # an error or not a page: the consumer records it; the count tells
                _cancel(ahead)
                return
            if overlap and page.ids and not any(page.ids[0] in seen for seen in recent):
                # The page does not join what we have: sessions were deleted before it. Go back.
                step_backs += 1
                if step_backs > MAX_STEP_BACKS:
                    yield incomplete("the list kept moving while it was paged: pages never joined")
                    _cancel(ahead)
                    return
                _cancel(ahead)
                next_skip = max(0, at - size * 2 ** (step_backs - 1))
                continue
            step_backs = 0
            new = [i for i in page.ids if not any(i in seen for seen in recent)]
            idle = 0 if new else idle + 1
            received += len(new)
            yield resp
            if stop := runaway(received, announced):
                yield stop
                _cancel(ahead)
                return
            if not page.more:
                _cancel(ahead)
                return
            if not page.ids or idle >= MAX_IDLE_PAGES:
                yield incomplete(f"the list endpoint sent nothing new from skip={at} on")
                _cancel(ahead)
                return
            recent.append(set(page.ids))
            skip = at
            next_skip = skip + len(page.ids) - (overlap if len(page.ids) > 1 else 0)
            if not ahead or ahead[0][0] != next_skip:  # a short page: what was asked ahead is off
                _cancel(ahead)


def _not_empty(
    fetch: Callable[[], Response],
    limit: int,
    more_key: str,
    cursor_key: str,
    id_key: str = "session_id",
) -> tuple[Response, Page | None]:
    """Fetch a page, asking again while it is empty yet says there is more."""
    for _ in range(EMPTY_PAGE_RETRIES):
        resp = fetch()
        page = Page.of(resp, limit, more_key, cursor_key, id_key)
        if page is None or page.ids or not page.more:
            return resp, page
    resp = fetch()
    return resp, Page.of(resp, limit, more_key, cursor_key, id_key)


def _cancel(ahead: deque[tuple[int, Future[Response]]]) -> None:
    for _, future in ahead:
        future.cancel()
    ahead.clear()


def cursor_pages(
    client: Pager,
    path: str,
    params: Callable[[str | None], dict[str, Any]],
    limit: int,
    id_key: str = "session_id",
) -> Iterator[Response]:
    """Yield the pages of a cursor listing; params(cursor) gives each page's query."""

    def fetch(cursor: str | None) -> Response:
        return client.page(path, params(cursor), f"page after={cursor or '(first)'}")

    def pages() -> Iterator[Response]:
        cursor: str | None = None
        followed: set[str] = set()  # a few thousand short strings at a million sessions
        announced: int | None = None
        received = 0
        while True:
            resp, page = _not_empty(
                partial(fetch, cursor), limit, "has_next_page", "end_cursor", id_key
            )
            yield resp
            if page is None or not page.more:
                return
            if cursor is None:
                announced = page.total
            received += len(page.ids)
            if stop := runaway(received, announced):
                yield stop
                return
            if not isinstance(page.cursor, str) or not page.cursor:
                yield incomplete("the list endpoint said there was more but gave no cursor")
                return
            if page.cursor in followed:  # the cursor just followed is in it too
                yield incomplete("the list endpoint's cursor led back to a page it had given")
                return
            followed.add(page.cursor)
            if not page.ids:
                yield incomplete("the list endpoint said there was more but sent an empty page")
                return
            cursor = page.cursor

    return in_background(pages())


def in_background(pages: Iterator[Response], depth: int = 2) -> Iterator[Response]:
    """Iterate pages on a thread of its own, so the next page is fetched while one is used."""
    results: queue.Queue[Response | BaseException | None] = queue.Queue(maxsize=depth)
    done = threading.Event()

    def put(item: Response | BaseException | None) -> None:
        hand_over(results, item, done)

    def run() -> None:
        try:
            for resp in pages:
                if done.is_set():
                    return
                put(resp)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer to re-raise
            put(err)
        finally:
            put(None)

    thread = threading.Thread(target=run, daemon=True, name="pages")
    thread.start()
    try:
        while (got := results.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        done.set()
