"""HTTP client for the Devin Enterprise API: auth, retries, rate limit, paging, concurrency.

Workers only fetch and parse; everything downstream (validation, flattening, loading) runs on
the consumer's thread, so a slow load never holds a connection idle.
"""

from __future__ import annotations

import email.utils
import queue
import random
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import orjson
import urllib3
from urllib3.connectionpool import HTTPConnectionPool

from pipeline import __version__
from pipeline.errors import (
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeout,
    AuthError,
    NotFound,
    UnparseableBody,
)

SESSION_PATH = "/v2/enterprise/sessions/{}"
INSIGHTS_PATH = "/v2/enterprise/sessions/insights"
PAGE_LIMIT = 200
MAX_RETRY_AFTER = 300.0
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    api_key: str
    timeout: float = 30.0
    retries: int = 5
    concurrency: int = 8
    max_rps: float = 0.0  # 0: no limit
    backoff_base: float = 0.5
    max_backoff: float = 30.0


@dataclass
class Response:
    """One answer: a session detail, or a page of the insights list (key "page:<skip>")."""

    key: str
    data: Any = None
    body: bytes = b""
    error: ApiError | None = None
    received_at: datetime | None = None

    @property
    def is_page(self) -> bool:
        return self.key.startswith("page:")


class TokenBucket:
    """Shared by all workers, so --max-rps bounds the whole run, not each thread."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = max(burst, 1.0)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1 - 1e-9:  # float drift must not leave a sliver to wait for
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            self.sleep(wait)


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Retryable(Exception):
    def __init__(self, error: ApiError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


def _pool(base_url: str, size: int) -> tuple[urllib3.ProxyManager | HTTPConnectionPool, str]:
    """Return a thread-safe connection pool for base_url and the prefix of every request target.

    Straight to the host, a pool of its own (no URL routing per request); through the proxy
    the environment names for it, if any, with absolute URLs.
    """
    parts = urllib3.util.parse_url(base_url)
    host = parts.host or ""
    proxy = urllib.request.getproxies().get(parts.scheme or "http")
    local = host in ("localhost", "::1") or host.startswith("127.")
    if proxy and not local and not urllib.request.proxy_bypass(host):
        return urllib3.ProxyManager(proxy, num_pools=2, maxsize=size), base_url
    pool = urllib3.connection_from_url(base_url, maxsize=size)
    return pool, (parts.path or "").rstrip("/")


class DevinClient:
    def __init__(self, config: ClientConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._sleep = sleep
        self._bucket = TokenBucket(config.max_rps)
        # urllib3, the engine under requests, used directly: a third of the CPU per request,
        # which is what decides the rate on a small machine. The pool is thread-safe.
        self._http, self._prefix = _pool(self.base_url, config.concurrency)
        self._headers = {
            "Authorization": f"Bearer {config.api_key}",
            "User-Agent": f"devin-export/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        }
        self._timeout = urllib3.Timeout(connect=config.timeout, read=config.timeout)

    # -- one request -------------------------------------------------------------------------

    def _get_once(self, path: str, params: dict[str, Any] | None) -> tuple[bytes, Any]:
        target = path + (f"?{urlencode(params)}" if params else "")
        url = self.base_url + target  # for messages
        deadline = time.monotonic() + self.config.timeout
        try:
            resp = self._http.urlopen(
                "GET", self._prefix + target, headers=self._headers, timeout=self._timeout,
                retries=False, redirect=False, preload_content=False,
            )  # fmt: skip
            try:
                chunks = []
                # The read timeout bounds each read; the deadline bounds the whole answer.
                for chunk in resp.stream(65536):
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _Retryable(ApiTimeout(f"no complete answer from {url} in time"))
            finally:
                resp.release_conn()
        except urllib3.exceptions.TimeoutError:
            message = f"timed out after {self.config.timeout:g}s: {url}"
            raise _Retryable(ApiTimeout(message)) from None
        except urllib3.exceptions.HTTPError as err:  # refused, reset, dropped, cut short
            message = f"connection failed: {url}: {type(err).__name__}"
            raise _Retryable(ApiConnectionError(message)) from None
        body = b"".join(chunks)
        status = resp.status
        if status >= 400:
            text = body[:500].decode("utf-8", "replace")
            if status in (401, 403):
                raise AuthError(status, url, text)
            if status == 404:
                raise NotFound(status, url, text)
            error = ApiStatusError(status, url, text)
            if status in _RETRY_STATUSES:
                raise _Retryable(error, parse_retry_after(resp.headers.get("Retry-After")))
            raise error
        try:
            return body, orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise _Retryable(UnparseableBody(f"body is not JSON ({err}): {url}", body)) from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[bytes, Any]:
        """Return (body, parsed JSON) of a GET, retrying transient failures."""
        attempt = 0
        while True:
            self._bucket.acquire()
            try:
                return self._get_once(path, params)
            except _Retryable as retry:
                if attempt >= self.config.retries:
                    raise retry.error from None
                self._sleep(self._backoff(attempt, retry.retry_after))
                attempt += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        # Full jitter spreads retries of many workers; Retry-After is a floor, never shortened.
        ceiling = min(self.config.max_backoff, self.config.backoff_base * 2**attempt)
        jitter = random.uniform(0, ceiling)
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER), jitter)
        return jitter

    # -- endpoints ---------------------------------------------------------------------------

    def session(self, session_id: str) -> Response:
        """Return the detail of one session, or a Response carrying its error."""
        return self._respond(session_id, SESSION_PATH.format(quote(session_id, safe="")), None)

    def page(self, skip: int, filters: dict[str, str], limit: int = PAGE_LIMIT) -> Response:
        """Return one page of the insights list."""
        params = {"limit": limit, "skip": skip, **filters}
        return self._respond(f"page:{skip}", INSIGHTS_PATH, params)

    def _respond(self, key: str, path: str, params: dict[str, Any] | None) -> Response:
        try:
            body, data = self.get(path, params)
        except AuthError:
            raise
        except ApiError as err:
            return Response(key, error=err, body=getattr(err, "body", b"") or b"")
        return Response(key, data=data, body=body, received_at=datetime.now(UTC))

    def sessions(self, session_ids: Iterable[str]) -> Iterator[Response]:
        """Fetch many sessions concurrently; yield each answer as it arrives."""
        return self._parallel(self.session, session_ids)

    def pages(self, filters: dict[str, str]) -> Iterator[Response]:
        """Yield every page of the insights list matching filters.

        The first page tells the total, so the rest are fetched concurrently; without a total
        the pages are followed one by one through next_cursor.
        """
        first = self.page(0, filters)
        yield first
        data = first.data if isinstance(first.data, dict) else {}
        total = data.get("total")
        if first.error or not data.get("has_more"):
            return
        if isinstance(total, int):
            skips = range(PAGE_LIMIT, total, PAGE_LIMIT)
            yield from self._parallel(lambda skip: self.page(skip, filters), skips)
            return
        cursor = data.get("next_cursor")
        while isinstance(cursor, int):
            resp = self.page(cursor, filters)
            yield resp
            data = resp.data if isinstance(resp.data, dict) else {}
            cursor = data.get("next_cursor") if data.get("has_more") else None

    # -- concurrency -------------------------------------------------------------------------

    def _parallel(self, fetch: Callable[[T], Response], items: Iterable[T]) -> Iterator[Response]:
        """Run fetch over items on a bounded pool; results stream through a bounded queue."""
        source = iter(items)
        source_lock = threading.Lock()
        results: queue.Queue[Response | BaseException | None] = queue.Queue(
            maxsize=self.config.concurrency * 4
        )
        stop = threading.Event()

        def put(item: Response | BaseException | None) -> None:
            while not stop.is_set():
                try:
                    results.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                while not stop.is_set():
                    with source_lock:
                        item = next(source, None)
                    if item is None:
                        break
                    put(fetch(item))
            except BaseException as err:  # noqa: BLE001 - handed to the consumer to re-raise
                put(err)
            finally:
                put(None)

        workers = [
            threading.Thread(target=work, daemon=True, name=f"fetch-{i}")
            for i in range(self.config.concurrency)
        ]
        for w in workers:
            w.start()
        running = len(workers)
        try:
            while running:
                got = results.get()
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    yield got
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=self.config.timeout + 1)

    def close(self) -> None:
        if isinstance(self._http, urllib3.ProxyManager):
            self._http.clear()
        else:
            self._http.close()
