"""The HTTP client against the fake API over real HTTP: retries, backoff, rate, stops."""

from __future__ import annotations

import pytest

from pipeline.client import ClientConfig, DevinClient, TokenBucket
from pipeline.errors import AuthError
from pipeline.responses import Kind, Response
from pipeline.sources.v2 import V2Source
from tests.helpers import KEY


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
