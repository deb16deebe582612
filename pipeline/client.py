"""HTTP client for the Devin API: auth, retries, rate limit, concurrency.

It knows requests and answers, not API versions: a Source (pipeline.sources) says which paths
to ask and how a listing is paged. Workers only fetch and parse; everything downstream
(validation, flattening, loading) runs on the consumer's thread. Every body is redacted as it
arrives, so a server that echoes the key back cannot carry it any further.
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
from urllib.parse import urlencode

import pydantic_core
import urllib3
from urllib3.connectionpool import HTTPConnectionPool

from pipeline import __version__
from pipeline.errors import (
    AnswerTooLarge,
    ApiConnectionError,
    ApiError,
    ApiStatusError,
    ApiTimeout,
    AuthError,
    NotFound,
    UnparseableBody,
)
from pipeline.handoff import hand_over
from pipeline.redact import Redactor
from pipeline.responses import Kind, Response

MAX_RETRY_AFTER = 300.0
# A page of 200 sessions is about 1.2 MB; a runaway body (a proxy streaming without end, a
# decompression bomb) is cut here, so 16 workers can never hold more than 16 times this.
MAX_ANSWER_BYTES = 32 * 2**20

T = TypeVar("T")


def is_retried(status: int) -> bool:
    """429 and every 5xx, CDN answers 520-524 included, are worth another try."""
    return status == 429 or 500 <= status <= 599


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


class Stopped(Exception):
    """The run is stopping (a rejected key, Ctrl-C): waiting workers give up at once."""


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
    def __init__(
        self,
        config: ClientConfig,
        redactor: Redactor | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.redactor = redactor or Redactor([config.api_key])
        self.stopping = threading.Event()
        self._sleep = sleep or self._wait
        self._bucket = TokenBucket(config.max_rps, sleep=self._sleep)
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

    def _wait(self, seconds: float) -> None:
        """Sleep, unless the run stops meanwhile: then give up at once."""
        if self.stopping.wait(seconds):
            raise Stopped

    def stop(self) -> None:
        self.stopping.set()

    # -- one request -------------------------------------------------------------------------

    def _send_once(self, method: str, target: str) -> tuple[bytes, Any]:
        url = self.base_url + target  # for messages
        deadline = time.monotonic() + self.config.timeout
        try:
            resp = self._http.urlopen(
                method, self._prefix + target, headers=self._headers, timeout=self._timeout,
                retries=False, redirect=False, preload_content=False,
            )  # fmt: skip
            try:
                chunks = self._read_bounded(resp, url, deadline)
            finally:
                resp.release_conn()
        except urllib3.exceptions.NameResolutionError:
            message = f"connection failed: {url}: the host name does not resolve"
            raise _Retryable(ApiConnectionError(message)) from None
        except urllib3.exceptions.NewConnectionError as err:  # a TimeoutError too, in urllib3
            reason = str(err).rpartition("] ")[2] or "cannot connect"
            message = f"connection failed: {url}: {reason}"
            raise _Retryable(ApiConnectionError(message)) from None
        except urllib3.exceptions.TimeoutError:
            message = f"timed out after {self.config.timeout:g}s: {url}"
            raise _Retryable(ApiTimeout(message)) from None
        except urllib3.exceptions.HTTPError as err:  # refused, reset, dropped, cut short
            message = f"connection failed: {url}: {type(err).__name__}"
            raise _Retryable(ApiConnectionError(message)) from None
        body = self.redactor.bytes(b"".join(chunks))
        status = resp.status
        if status >= 300:
            raise self._status_error(status, url, body, resp.headers)
        try:
            # pydantic's parser, not orjson's: integers wider than 64 bits stay exact.
            return body, pydantic_core.from_json(body)
        except ValueError as err:
            error = UnparseableBody(f"body is not JSON ({err}): {url}", body)
            raise _Retryable(error) from None

    def _read_bounded(self, resp: Any, url: str, deadline: float) -> list[bytes]:
        """Return the body's chunks; the read timeout bounds each read, the deadline the whole
        answer, MAX_ANSWER_BYTES its size (counted decoded, so a gzip bomb stops there too)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.stream(65536):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                resp.close()  # the rest is never read: the connection cannot be reused
                head = self.redactor.bytes(b"".join(chunks)[:65536])
                message = (
                    f"answer larger than {MAX_ANSWER_BYTES >> 20} MiB, not read further: {url}"
                )
                raise AnswerTooLarge(message, head)
            if time.monotonic() > deadline:
                resp.close()
                raise _Retryable(ApiTimeout(f"no complete answer from {url} in time"))
        return chunks

    def _status_error(
        self, status: int, url: str, body: bytes, headers: Any
    ) -> ApiStatusError | _Retryable:
        text = body[:500].decode("utf-8", "replace")
        if status in (401, 403):
            return AuthError(status, url, text)
        if status == 404:
            return NotFound(status, url, text)
        if status < 400:  # a redirect: never followed, as it would carry the key elsewhere
            where = self.redactor.text(str(headers.get("Location", "")))[:200]
            return ApiStatusError(status, url, f"redirected to {where}: check --api-url")
        error = ApiStatusError(status, url, text)
        if is_retried(status):
            return _Retryable(error, parse_retry_after(headers.get("Retry-After")))
        return error

    def request(
        self, path: str, params: dict[str, Any] | None = None, method: str = "GET"
    ) -> tuple[bytes, Any]:
        """Return (body, parsed JSON) of a request, retrying transient failures."""
        target = path + (f"?{urlencode(params, doseq=True)}" if params else "")
        attempt = 0
        while True:
            if self.stopping.is_set():
                raise Stopped
            self._bucket.acquire()
            try:
                return self._send_once(method, target)
            except _Retryable as retry:
                if attempt >= self.config.retries:
                    raise retry.error from None
                self._sleep(self._backoff(attempt, retry.retry_after))
                attempt += 1
            except AuthError:
                self.stop()  # every other worker gives up too: the whole run stops
                raise

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        # Full jitter spreads retries of many workers; Retry-After is a floor, never shortened.
        ceiling = min(self.config.max_backoff, self.config.backoff_base * 2**attempt)
        jitter = random.uniform(0, ceiling)
        if retry_after is not None:
            return max(min(retry_after, MAX_RETRY_AFTER), jitter)
        return jitter

    def answer(
        self,
        kind: Kind,
        key: str,
        path: str,
        params: dict[str, Any] | None = None,
        method: str = "GET",
    ) -> Response:
        """Return the answer as a Response, or a Response carrying its error (401/403 raise)."""
        try:
            body, data = self.request(path, params, method)
        except AuthError:
            raise
        except ApiError as err:
            return Response(kind, key, error=err, body=getattr(err, "body", b"") or b"")
        return Response(kind, key, data=data, body=body, received_at=datetime.now(UTC))

    def page(self, path: str, params: dict[str, Any], key: str) -> Response:
        return self.answer(Kind.PAGE, key, path, params)

    # -- concurrency -------------------------------------------------------------------------

    def parallel(self, fetch: Callable[[T], Response], items: Iterable[T]) -> Iterator[Response]:
        """Run fetch over items on a bounded pool; results stream through a bounded queue."""
        source = iter(items)
        source_lock = threading.Lock()
        results: queue.Queue[Response | BaseException | None] = queue.Queue(
            maxsize=self.config.concurrency * 4
        )
        done = threading.Event()

        def put(item: Response | BaseException | None) -> None:
            hand_over(results, item, done)

        def work() -> None:
            try:
                while not done.is_set():
                    with source_lock:
                        item = next(source, None)
                    if item is None:
                        break
                    put(fetch(item))
            except Stopped:
                pass
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
        except BaseException:
            self.stop()  # Ctrl-C or an error: workers sleeping on a backoff wake and leave
            raise
        finally:
            done.set()
            for w in workers:
                w.join(timeout=self.config.timeout + 1)

    def close(self) -> None:
        if isinstance(self._http, urllib3.ProxyManager):
            self._http.clear()
        else:
            self._http.close()
