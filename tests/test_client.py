"""The HTTP client against the fake API over real HTTP: retries, backoff, rate, stops."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline.client import ClientConfig, DevinClient, TokenBucket
from pipeline.errors import AuthError
from pipeline.responses import Kind, Response
from pipeline.sources.v2 import V2Source
from tests.helpers import KEY, wait_for


def fetch(client: DevinClient, session_id: str) -> Response:
    return client.answer(Kind.SESSION, session_id, V2Source().session_path(session_id))


def test_ids_are_url_encoded_even_when_valid(server):
    # Valid ids contain nothing to encode; the client still quotes every segment.
    client = DevinClient(ClientConfig(server.url, KEY, retries=0))
    resp = fetch(client, "../../v2/enterprise/sessions/insights")
    assert resp.error is not None and resp.error.status in (404, 422)
    assert server.requests[-1]["path"].startswith("/v2/enterprise/sessions/..%2F")


def test_retry_after_is_honoured_in_seconds_and_as_a_date(server):
    sid = server.devin.ids()[0]
    slept: list[float] = []
    client = DevinClient(ClientConfig(server.url, KEY, retries=3), sleep=slept.append)
    server.faults.retry_after = 7
    server.faults.script(sid, ["429", "503", "429-date", "ok"])
    assert fetch(client, sid).error is None
    assert slept[0] >= 7 and slept[1] >= 7
    assert 5 <= slept[2] <= 7.5  # an HTTP date has whole seconds


def test_backoff_grows_with_full_jitter_and_is_capped(server):
    sid = server.devin.ids()[0]
    slept: list[float] = []
    config = ClientConfig(server.url, KEY, retries=6, backoff_base=1.0, max_backoff=4.0)
    client = DevinClient(config, sleep=slept.append)
    server.faults.script(sid, ["500"] * 7)
    resp = fetch(client, sid)
    assert resp.error is not None and resp.error.status == 500
    assert len(slept) == 6
    assert all(0 <= s <= 4.0 for s in slept)


def test_auth_error_is_raised_not_recorded(server):
    server.faults.auth_status = 401
    client = DevinClient(ClientConfig(server.url, KEY))
    with pytest.raises(AuthError) as err:
        list(client.parallel(lambda sid: fetch(client, sid), server.devin.ids()[:5]))
    assert KEY not in str(err.value)


def test_token_bucket_spaces_requests_at_the_rate():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(rate=10, clock=lambda: now[0], sleep=sleep)
    for _ in range(21):
        bucket.acquire()
    assert now[0] == pytest.approx(2.0)  # 20 tokens after the first, at 10 a second


def test_a_rejected_key_wakes_a_worker_sleeping_on_retry_after(server):
    first, slow, third = server.devin.ids()[:3]
    server.faults.retry_after = 60  # the first worker would sleep a minute
    server.faults.script(first, ["503", "ok"])
    server.faults.slow_seconds = 0.5
    server.faults.script(slow, ["slow"])
    client = DevinClient(ClientConfig(server.url, KEY, concurrency=2, retries=3))

    def reject_the_rest() -> None:
        wait_for(lambda: any(r["fault"] == "503" for r in server.requests), timeout=10)
        server.faults.auth_status = 401  # the third id, asked after the slow one, is refused

    started = time.monotonic()
    rejecter = threading.Thread(target=reject_the_rest)
    rejecter.start()
    with pytest.raises(AuthError):
        list(client.parallel(lambda sid: fetch(client, sid), [first, slow, third]))
    rejecter.join()
    assert time.monotonic() - started < 10  # not the 60 s Retry-After


def test_every_5xx_is_retried_but_4xx_is_not(server):
    sid = server.devin.ids()[0]
    client = DevinClient(ClientConfig(server.url, KEY, retries=2), sleep=lambda s: None)
    server.faults.script(sid, ["500", "503", "ok"])
    assert fetch(client, sid).error is None
    server.faults.script(sid, ["422"])
    resp = fetch(client, sid)
    assert resp.error is not None and resp.error.status == 422
    assert [r["status"] for r in server.requests if r["session_id"] == sid][-1] == 422


def test_a_redirect_is_not_followed_with_the_key(server):
    # The fake has no redirecting route; a base URL on another port's path stands in for a
    # proxy answering 3xx: urllib3 is told never to follow, so no request leaves with the key
    # for the Location. Checked here on the status path the client takes.
    client = DevinClient(ClientConfig(server.url, KEY, retries=0))
    error = client._status_error(301, server.url, b"", {"Location": "https://elsewhere/" + KEY})
    assert error.status == 301 and "check --api-url" in str(error)
    assert KEY not in str(error)
