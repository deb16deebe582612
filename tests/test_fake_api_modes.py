"""The fake API's adversarial modes (Quirks), hostile values and new faults, over real HTTP."""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults, Quirks
from tests.helpers import KEY, get

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DETAIL = "/v2/enterprise/sessions/"
LIST = "/v2/enterprise/sessions/insights"


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(300, seed=3, now=NOW)


@pytest.fixture
def server(devin: FakeDevin):
    with FakeApiServer(devin, key=KEY) as srv:
        yield srv


def pages(http, srv, max_pages: int = 100, **params) -> list[dict]:
    """Follows next_cursor from skip 0; returns the pages."""
    result, skip = [], 0
    while skip is not None and len(result) < max_pages:
        result.append(get(http, srv, LIST, params={**params, "skip": skip}).json())
        skip = result[-1]["next_cursor"]
    return result


def ids_of(page_list: list[dict]) -> list[str]:
    return [item["session_id"] for page in page_list for item in page["items"]]


# Page-size cap


def test_page_cap_serves_fewer_items_and_says_so(server, http, devin):
    server.quirks.page_cap = 40
    served = pages(http, server, limit=200)
    assert [len(p["items"]) for p in served] == [40] * 7 + [20]
    assert {p["limit"] for p in served} == {40}
    assert [p["next_cursor"] for p in served] == [40, 80, 120, 160, 200, 240, 280, None]
    assert [p["has_more"] for p in served] == [True] * 7 + [False]
    assert ids_of(served) == devin.ids()
    assert get(http, server, LIST, params={"limit": 10}).json()["limit"] == 10  # under the cap


# Newest first


def test_newest_first(server, http, devin):
    server.quirks.newest_first = True
    served = pages(http, server, limit=70)
    assert ids_of(served) == devin.ids()[::-1]
    assert served[0]["total"] == 300 and served[-1]["next_cursor"] is None
    created = [datetime.fromisoformat(i["created_at"]) for p in served for i in p["items"]]
    assert created == sorted(created, reverse=True)


# Churn while a listing is paged


def test_churn_shifts_offset_paging_and_deleted_sessions_are_gone(server, http, devin):
    before = set(devin.ids())
    server.quirks.churn_insert, server.quirks.churn_delete = 2, 3
    served = pages(http, server, limit=50)
    seen = ids_of(served)
    assert len(devin) == 300 + (len(served) - 1) * (2 - 3)
    assert [p["total"] for p in served] == [300 - i for i in range(len(served))]
    gone = before - set(devin.ids())
    assert 0 < len(gone) <= 3 * (len(served) - 1)  # some deleted were inserted meanwhile
    assert before - set(seen) - gone  # offset paging skipped sessions that still exist
    for session_id in gone:
        assert get(http, server, DETAIL + session_id).status_code == 404
    server.quirks.reset()
    assert not gone & set(ids_of(pages(http, server, limit=200)))


def test_churn_is_deterministic_and_new_sessions_come_first_newest_first(http):
    runs = []
    for _ in range(2):
        devin = FakeDevin(200, seed=4, now=NOW)
        quirks = Quirks(churn_insert=3, newest_first=True)
        with FakeApiServer(devin, key=KEY, quirks=quirks) as srv:
            seen = ids_of(pages(http, srv, limit=60))
        runs.append((seen, devin.ids()))
    assert runs[0] == runs[1]
    seen, now_listed = runs[0]
    assert len(seen) != len(set(seen))  # inserts at the top pushed items onto the next page
    assert len(now_listed) == 200 + 3 * 3


def test_churn_update_moves_updated_at_to_the_clock(server, http, devin):
    server.quirks.churn_update = 5
    pages(http, server, limit=100)
    assert sum(devin.session(i)["updated_at"] == "2025-06-01T00:00:00Z" for i in devin.ids()) >= 10


# Total


def test_total_drifts_from_page_to_page(server, http):
    server.quirks.total_drift = 7
    # by the page's place, not the request's arrival: a first page asked again says the same
    assert [p["total"] for p in pages(http, server, limit=50, max_pages=1)] == [300]
    assert [p["total"] for p in pages(http, server, limit=50)] == [300, 307, 293, 300, 307, 293]


def test_total_follows_the_real_count_under_churn(server, http, devin):
    server.quirks.churn_insert = 4
    served = pages(http, server, limit=100, max_pages=3)
    assert [p["total"] for p in served] == [300, 304, 308] and len(devin) == 308


def test_total_may_be_null(server, http):
    server.quirks.total_null = True
    assert get(http, server, LIST).json()["total"] is None


# Key echo


def echoed(response: requests.Response) -> bool:
    return f"Bearer {KEY}" in response.text


@pytest.mark.parametrize("fault", ["404", "422", "429", "500", "502", "503", "520", "524"])
def test_error_bodies_echo_the_key(server, http, devin, fault):
    server.quirks.echo_key = True
    server.faults.script(devin.ids()[0], [fault])
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.status_code == int(fault) and echoed(response)
    if response.headers["Content-Type"] == "application/json":
        assert response.json()["request_headers"] == {"authorization": f"Bearer {KEY}"}


def test_auth_and_not_found_bodies_echo_the_key(server, http):
    server.quirks.echo_key = True
    wrong = requests.get(server.url + LIST, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["request_headers"] == {"authorization": "Bearer nope"}
    assert echoed(get(http, server, DETAIL + "devin-unknown"))
    assert echoed(get(http, server, LIST, params={"limit": 0}))
    assert not echoed(get(http, server, LIST))  # a 200 only with echo_key_in_ok


def test_ok_bodies_echo_the_key_in_an_unknown_field(server, http, devin):
    devin.preload()  # preloaded bodies too
    server.quirks.echo_key_in_ok = True
    session = get(http, server, DETAIL + devin.ids()[0]).json()
    assert session["debug"] == {"request_headers": {"authorization": f"Bearer {KEY}"}}
    page = get(http, server, LIST, params={"limit": 3}).json()
    assert all(item["debug"]["request_headers"]["authorization"] == f"Bearer {KEY}"
               for item in page["items"])  # fmt: skip


def test_without_the_quirk_no_body_echoes_the_key(server, http, devin):
    server.faults.script(devin.ids()[0], ["500"])
    assert not echoed(get(http, server, DETAIL + devin.ids()[0]))
    assert not echoed(get(http, server, DETAIL + "devin-unknown"))


def test_the_request_log_never_holds_the_key(server, http, devin):
    server.quirks.echo_key = server.quirks.echo_key_in_ok = True
    server.faults.script(devin.ids()[0], ["500", "502", "522", "login", "truncated", "drop"])
    for _ in range(6):
        try:
            get(http, server, DETAIL + devin.ids()[0])
        except requests.RequestException:
            pass
    get(http, server, LIST, params={"limit": 2, "updated_date_from": "2025-05-01T00:00:00Z"})
    get(http, server, DETAIL + "devin-unknown")
    requests.get(server.url + LIST, headers={"Authorization": "Bearer apk_user_other-key-55"})
    log = json.dumps(server.requests)
    assert len(server.requests) == 9
    for key in (KEY, "apk_user_other-key-55"):
        assert not any(key[i : i + 8] in log for i in range(len(key) - 7)), key


# CDN errors and other fault kinds


@pytest.mark.parametrize("status", [520, 521, 522, 523, 524])
def test_cdn_errors_are_cloudflare_html(server, http, devin, status):
    server.faults.script(devin.ids()[0], [str(status)])
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Server"] == "cloudflare" and "CF-RAY" in response.headers
    assert f"Error code {status}" in response.text


def test_cdn_errors_as_random_faults(server, http):
    server.faults.fail_rate, server.faults.fail_kinds = 1.0, ["522", "524"]
    statuses = {get(http, server, LIST, params={"skip": n}).status_code for n in range(20)}
    assert statuses == {522, 524}


def test_login_page_with_200(server, http, devin):
    server.faults.script(devin.ids()[0], ["login"])
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_redirect_to_another_host_sheds_the_key(server, http, devin):
    sid = devin.ids()[0]
    server.faults.script(sid, ["redirect", "redirect"])
    response = get(http, server, DETAIL + sid, params={"x": "1"}, allow_redirects=False)
    assert response.status_code == 307
    port = server.url.rsplit(":", 1)[1]
    assert response.headers["Location"] == f"http://localhost:{port}{DETAIL}{sid}?x=1"
    followed = get(http, server, DETAIL + sid)  # requests drops the key for another host
    assert followed.status_code == 401 and followed.history[0].status_code == 307
    with FakeApiServer(devin, key=KEY) as other:
        server.quirks.redirect_to = other.url
        server.faults.script(sid, ["redirect"])
        assert get(http, server, DETAIL + sid).status_code == 401
        assert [r["status"] for r in other.requests] == [401]  # the key never got there


# Other hostile listings


def test_stuck_cursor_repeats_the_same_page(server, http):
    server.quirks.stuck_cursor = True
    first = get(http, server, LIST, params={"limit": 10, "skip": 20}).json()
    assert first["next_cursor"] == 20 and first["has_more"]
    last = get(http, server, LIST, params={"limit": 10, "skip": 290}).json()
    assert last["next_cursor"] is None and not last["has_more"]


def test_duplicate_items_shadow_one_session_a_page(server, http, devin):
    server.quirks.duplicate_items = True
    served = pages(http, server, limit=100)
    seen = ids_of(served)
    assert len(seen) == 300 and len(set(seen)) == 297
    assert all(p["items"][0] == p["items"][-1] for p in served)


def test_empty_pages_that_say_there_is_more(server, http, devin):
    server.quirks.empty_page_every = 2
    served = pages(http, server, limit=100)
    assert [len(p["items"]) for p in served] == [100, 0, 100, 0, 100]
    assert served[1]["has_more"] and served[1]["next_cursor"] == 100
    assert ids_of(served) == devin.ids()


def test_gzip_when_the_client_accepts_it(server, http, devin):
    server.quirks.gzip = True
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.json() == devin.session(devin.ids()[0])
    with get(http, server, DETAIL + devin.ids()[0], stream=True) as raw:
        sent = raw.raw.read(decode_content=False)
    assert int(raw.headers["Content-Length"]) == len(sent)
    assert json.loads(gzip.decompress(sent)) == devin.session(devin.ids()[0])
    plain = get(http, server, LIST, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.json()["items"]


def test_quirks_reset():
    quirks = Quirks(page_cap=3, newest_first=True, redirect_to="http://x")
    quirks.next_list_request()
    quirks.reset()
    assert quirks == Quirks() and quirks.next_list_request() == 1


# Hostile values


def test_out_of_range_timestamps_are_kept_as_given(server, http, devin):
    late, early = devin.ids()[5], devin.ids()[6]
    devin.update(late, created_at="9999-12-31T23:00:00-05:00")
    devin.update(early, created_at="0001-01-01T00:00:00+05:00", updated_at="2025-01-01T00:00:00Z")
    assert devin.session(late)["created_at"] == "9999-12-31T23:00:00-05:00"
    body = get(http, server, DETAIL + early).json()
    assert (body["created_at"], body["updated_at"]) == (
        "0001-01-01T00:00:00+05:00",
        "2025-01-01T00:00:00Z",
    )
    ids = ids_of(pages(http, server, limit=200))
    assert ids[0] == early and ids[-1] == late  # ordered by their instants
    assert len(ids) == 300


def test_plant_out_of_range_timestamps(server, http, devin):
    planted = devin.plant("out-of-range-time", 4)
    assert len(planted) == 4
    values = [get(http, server, DETAIL + sid).json() for sid in planted]
    stamps = {v["created_at"] for v in values} | {v["updated_at"] for v in values}
    assert {"9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"} <= stamps


def test_integers_wider_than_64_bits_are_exact(server, http, devin):
    sid = devin.ids()[0]
    devin.update(sid, ledger_seq=2**70, nested={"deep": [2**64 + 1]})
    text = get(http, server, DETAIL + sid).text
    assert '"ledger_seq":1180591620717411303424' in text and "18446744073709551617" in text
    updated = {i: devin.session(i)["updated_at"] for i in devin.ids()}
    planted = devin.plant("wide-int", 3)
    bodies = [get(http, server, DETAIL + s).json() for s in planted]
    assert [b["ledger_seq"] for b in bodies] == [2**70, 2**70 + 1, 2**70 + 2]
    assert bodies[0]["usage"]["history"] == [2**63, -(2**63) - 1, 10**30]
    assert all(devin.session(i)["updated_at"] == updated[i] for i in planted)


def test_timestamps_as_epoch_numbers(devin):
    sid = devin.ids()[0]
    devin.update(sid, created_at=1767258000, updated_at=1767258000123)
    session = devin.session(sid)
    assert (session["created_at"], session["updated_at"]) == (
        "2026-01-01T09:00:00Z",
        "2026-01-01T09:00:00.123000Z",
    )
    with pytest.raises(ValueError):
        devin.plant("teapot", 1)


def test_plant_is_deterministic():
    first, again = FakeDevin(100, seed=9, now=NOW), FakeDevin(100, seed=9, now=NOW)
    assert first.plant("wide-int", 5) == again.plant("wide-int", 5)
    assert first.plant("ms-time", 5) == again.plant("ms-time", 5)


# Deleted sessions


def test_delete(server, http, devin):
    sid = devin.ids()[10]
    devin.delete(sid)
    assert sid not in devin and len(devin) == 299 and devin.session(sid) is None
    assert get(http, server, DETAIL + sid).status_code == 404
    assert sid not in ids_of(pages(http, server, limit=200))
    assert get(http, server, LIST).json()["total"] == 299
    with pytest.raises(KeyError):
        devin.delete(sid)
    with pytest.raises(KeyError):
        devin.update(sid, status="exit")
    assert devin.add_sessions(1)[0] not in (sid, *devin.ids()[:-1])


# Command line


def test_command_line_modes():
    command = [
        sys.executable, "-m", "pipeline.fake_api", "--port", "0", "--sessions", "30",
        "--page-cap", "7", "--newest-first", "--total-null", "--hostile", "2",
        "--fail-kinds", "522",
    ]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(30, process.kill)
        watchdog.start()
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline()).group(0)
            headers = {"Authorization": "Bearer x"}
            page = requests.get(url + LIST, params={"limit": 50}, headers=headers, timeout=5).json()
            everything = []
            for skip in range(0, 30, 7):
                more = requests.get(url + LIST, params={"skip": skip}, headers=headers, timeout=5)
                everything += more.json()["items"]
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate()
            watchdog.cancel()
    assert (page["limit"], len(page["items"]), page["total"]) == (7, 7, None)
    assert page["items"][0]["created_at"] >= page["items"][-1]["created_at"]
    assert sum("ledger_seq" in item for item in everything) == 2
    assert process.returncode == 0 and "Traceback" not in stderr


def test_faults_know_the_new_kinds():
    Faults(fail_kinds=["520", "521", "522", "523", "524", "login", "redirect"])
