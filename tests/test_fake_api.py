"""The embedded fake Devin API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from statistics import mean

import pytest
import requests

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from tests.helpers import KEY, get

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DETAIL = "/v2/enterprise/sessions/"
LIST = "/v2/enterprise/sessions/insights"
REQUIRED = [
    "session_id", "url", "status", "title", "tags", "user_id", "org_id", "created_at",
    "updated_at", "acus_consumed", "pull_requests", "session_analysis", "initial_user_message",
]  # fmt: skip


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def devin() -> FakeDevin:
    return FakeDevin(1000, seed=0, now=NOW)


@pytest.fixture(scope="module")
def sessions(devin: FakeDevin) -> list[dict]:
    return [devin.session(session_id) for session_id in devin.ids()]


@pytest.fixture
def server(devin: FakeDevin):
    with FakeApiServer(devin) as srv:
        yield srv


def list_all(http, srv, **params) -> tuple[list[str], list[dict]]:
    """Pages through the list endpoint; returns the ids and the pages."""
    ids, pages, skip = [], [], 0
    while skip is not None:
        page = get(http, srv, LIST, params={**params, "skip": skip}).json()
        pages.append(page)
        ids += [item["session_id"] for item in page["items"]]
        skip = page["next_cursor"]
    return ids, pages


# Detail endpoint


def test_detail_returns_the_session(server, http, devin):
    session_id = devin.ids()[3]
    response = get(http, server, DETAIL + session_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == devin.session(session_id)
    assert list(response.json())[: len(REQUIRED)] == REQUIRED


def test_unknown_session_is_404(server, http):
    response = get(http, server, DETAIL + "devin-doesnotexist")
    assert response.status_code == 404
    assert response.json() == {"detail": "Session not found"}


@pytest.mark.parametrize(
    "segment", ["..%2Fx", "a%3Fq%3D1", "a%20b", "a.b", "%E2%9C%93", "x" * 129, ""]
)
def test_malformed_session_id_is_422(server, http, segment):
    response = get(http, server, DETAIL + segment)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "session_id"]
    assert server.requests[-1]["session_id"] == requests.utils.unquote(segment)


@pytest.mark.parametrize("path", ["/", "/v2/other", DETAIL + "a/b", LIST + "/x"])
def test_other_paths_are_404(server, http, path):
    assert get(http, server, path).status_code == 404


# Authentication


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Basic dXNlcjpwdw==", "apk_user_x"])
def test_requests_without_a_bearer_key_are_401(server, header):
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(server.url + LIST, headers=headers, timeout=5)
    assert response.status_code == 401
    assert isinstance(response.json()["detail"], str)


def test_only_the_configured_key_is_accepted(devin):
    with FakeApiServer(devin, key="apk_user_right") as srv:
        wrong = requests.get(srv.url + LIST, headers={"Authorization": "Bearer nope"}, timeout=5)
        right = requests.get(
            srv.url + LIST, headers={"Authorization": "Bearer apk_user_right"}, timeout=5
        )
    assert (wrong.status_code, right.status_code) == (401, 200)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_status_rejects_every_request(server, http, devin, status):
    server.faults.auth_status = status
    assert get(http, server, DETAIL + devin.ids()[0]).status_code == status
    assert get(http, server, LIST).status_code == status


# List endpoint


def test_paging_yields_every_session_once_in_order(server, http, devin):
    ids, pages = list_all(http, server, limit=37)
    assert ids == devin.ids()
    assert len(set(ids)) == len(devin) == 1000
    assert {page["total"] for page in pages} == {1000}
    assert [page["has_more"] for page in pages] == [True] * (len(pages) - 1) + [False]
    assert pages[1]["skip"] == 37 and pages[0]["next_cursor"] == 37
    created = [(item["created_at"], item["session_id"]) for p in pages for item in p["items"]]
    assert [ts(c) for c, _ in created] == sorted(ts(c) for c, _ in created)


def test_list_defaults_and_the_end(server, http):
    page = get(http, server, LIST).json()
    assert (page["limit"], page["skip"], len(page["items"])) == (100, 0, 100)
    past_the_end = get(http, server, LIST, params={"skip": 5000}).json()
    assert past_the_end["items"] == [] and past_the_end["next_cursor"] is None


@pytest.mark.parametrize(
    "params, bad",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"skip": -1}, "skip"),
        ({"skip": "x"}, "skip"),
        ({"updated_date_from": "yesterday"}, "updated_date_from"),
        ({"created_date_to": "2025-13-01T00:00:00Z"}, "created_date_to"),
    ],
)
def test_bad_list_parameters_are_422(server, http, params, bad):
    response = get(http, server, LIST, params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", bad]


@pytest.mark.parametrize(
    "name, field, keep",
    [
        ("created_date_from", "created_at", lambda value, bound: value >= bound),
        ("created_date_to", "created_at", lambda value, bound: value <= bound),
        ("updated_date_from", "updated_at", lambda value, bound: value >= bound),
        ("updated_date_to", "updated_at", lambda value, bound: value <= bound),
    ],
)
def test_each_date_filter_is_an_inclusive_bound(server, http, sessions, name, field, keep):
    bound = ts(sessions[400][field])
    offset = bound.astimezone(timezone(timedelta(hours=2))).isoformat()  # same instant, +02:00
    expected = [s["session_id"] for s in sessions if keep(ts(s[field]), bound)]
    ids, pages = list_all(http, server, limit=200, **{name: offset})
    assert ids == expected
    assert sessions[400]["session_id"] in ids
    assert pages[0]["total"] == len(expected)


def test_filters_combine_and_may_be_ignored(server, http, sessions):
    window = {"created_date_from": "2025-05-01T00:00:00Z", "created_date_to": "2025-05-10T00:00Z"}
    low, high = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 10, tzinfo=UTC)
    expected = [s["session_id"] for s in sessions if low <= ts(s["created_at"]) <= high]
    assert list_all(http, server, limit=200, **window)[0] == expected
    server.faults.ignore_filters = True
    response = get(http, server, LIST, params=window)
    assert response.status_code == 200
    assert response.json()["total"] == 1000


# The synthetic data


def test_same_seed_same_data_other_seed_other_data():
    first, again = FakeDevin(300, seed=5, now=NOW), FakeDevin(300, seed=5, now=NOW)
    other = FakeDevin(300, seed=6, now=NOW)
    assert first.ids() == again.ids()
    assert [first.session(i) for i in first.ids()] == [again.session(i) for i in again.ids()]
    assert not set(first.ids()) & set(other.ids())


def test_a_session_depends_on_seed_and_index_only():
    small, large = FakeDevin(10, now=NOW), FakeDevin(2000, now=NOW)
    assert all(small.session(i) == large.session(i) for i in small.ids())


def test_session_returns_a_fresh_dict(devin):
    session_id = devin.ids()[0]
    devin.session(session_id)["tags"].append("changed")
    assert "changed" not in devin.session(session_id)["tags"]


def test_data_is_realistic_and_plausible(sessions):
    assert all(list(s)[: len(REQUIRED)] == REQUIRED for s in sessions)
    assert {s["status"] for s in sessions} == {
        "new", "claimed", "running", "exit", "error", "suspended", "resuming",
    }  # fmt: skip
    assert len({s["org_id"] for s in sessions}) == 4
    assert 30 <= len({s["user_id"] for s in sessions}) <= 41
    for s in sessions:
        created, updated = ts(s["created_at"]), ts(s["updated_at"])
        assert NOW - timedelta(days=90) <= created <= updated <= NOW
        assert re.fullmatch(r"devin-[0-9a-f]{32}", s["session_id"])
        if s["status"] in ("new", "claimed", "running"):
            assert s["session_analysis"] is None
    no_analysis = sum(s["session_analysis"] is None for s in sessions)
    assert 100 <= no_analysis <= 200
    sizes = [
        len(json.dumps(s, separators=(",", ":"), ensure_ascii=False).encode()) for s in sessions
    ]
    assert 5000 <= mean(sizes) <= 8000


def test_every_nullable_field_is_null_somewhere_and_strings_can_be_empty(sessions):
    values: dict[str, list] = {}

    def collect(path: str, obj: object) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                collect(f"{path}.{key}" if path else key, value)
        elif isinstance(obj, list):
            for item in obj:
                collect(path + "[]", item)
        values.setdefault(path, []).append(obj)

    for session in sessions:
        collect("", session)
    nullable = [
        "title", "user_id", "initial_user_message", "session_analysis",
        "session_analysis.suggested_prompt", "pull_requests[].state", "pull_requests[].pr_state",
        "session_analysis.action_items[].issue_id",
        "session_analysis.suggested_prompt.feedback_items[].issue_id",
        "session_analysis.suggested_prompt.feedback_items[].summary",
        "session_analysis.suggested_prompt.feedback_items[].excerpt",
        "session_analysis.suggested_prompt.feedback_items[].details",
    ]  # fmt: skip
    for path in nullable:
        assert None in values[path], path
    for path in ["title", "initial_user_message", "session_analysis.timeline[].description"]:
        assert "" in values[path], path
    acus = values["acus_consumed"]
    assert any(type(a) is int for a in acus) and any(type(a) is float for a in acus)


def test_schema_drift_and_unknown_fields(sessions):
    pr_forms = {tuple(sorted(pr)) for s in sessions for pr in s["pull_requests"]}
    assert {("state", "url"), ("pr_state", "pr_url", "state"), ("pr_state", "pr_url")} <= {
        tuple(k for k in form if k != "head_branch") for form in pr_forms
    }
    urls = [pr.get("url") or pr["pr_url"] for s in sessions for pr in s["pull_requests"]]
    assert any(re.fullmatch(r"https://github\.com/[\w-]+/[\w-]+/pull/\d+", u) for u in urls)
    assert any(
        re.fullmatch(r"https://gitlab\.com/[\w-]+/[\w-]+/-/merge_requests/\d+", u) for u in urls
    )
    assert any("github.com" not in u and "gitlab.com" not in u for u in urls)
    with_extra = [s for s in sessions if set(s) - set(REQUIRED)]
    assert 50 <= len(with_extra) <= 150
    assert any("snapshot" in s for s in with_extra)
    assert any("head_branch" in pr for s in sessions for pr in s["pull_requests"])
    assert any(s["session_analysis"] and "model_version" in s["session_analysis"] for s in sessions)
    with_prs = [s for s in sessions if s["pull_requests"]]
    drifted = [s for s in with_prs if "pr_url" in s["pull_requests"][0]]
    assert 0.1 <= len(drifted) / len(with_prs) <= 0.3


def test_100k_sessions_start_quickly():
    started = time.perf_counter()
    devin = FakeDevin(100_000)
    page = devin.page(0, 100, {"updated_date_from": devin.now - timedelta(days=2)})
    assert len(devin) == 100_000 and page["items"]
    assert time.perf_counter() - started < 3  # 2 s is the target; CI machines are slower


# Faults


@pytest.mark.parametrize(
    "fault, status",
    [("429", 429), ("500", 500), ("502", 502), ("503", 503), ("404", 404), ("ok", 200)],
)
def test_status_faults(server, http, devin, fault, status):
    server.faults.retry_after = 3
    session_id = devin.ids()[0]
    server.faults.script(session_id, [fault])
    response = get(http, server, DETAIL + session_id)
    assert response.status_code == status
    if fault in ("429", "503"):
        assert response.headers["Retry-After"] == "3"
    if fault == "502":
        assert response.headers["Content-Type"] == "text/html"
    assert server.requests[-1]["fault"] == (None if fault == "ok" else fault)


def test_429_with_an_http_date(server, http, devin):
    server.faults.retry_after = 30
    server.faults.script(devin.ids()[0], ["429-date"])
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.status_code == 429
    when = parsedate_to_datetime(response.headers["Retry-After"])
    assert abs((when - datetime.now(UTC)).total_seconds() - 30) < 3


def test_malformed_body(server, http, devin):
    server.faults.script(devin.ids()[0], ["malformed"])
    response = get(http, server, DETAIL + devin.ids()[0])
    assert response.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_truncated_body(server, http, devin):
    server.faults.script(devin.ids()[0], ["truncated", "truncated"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(http, server, DETAIL + devin.ids()[0])
    with get(http, server, DETAIL + devin.ids()[0], stream=True) as response:
        promised = int(response.headers["Content-Length"])
        received = response.raw.read(promised + 10, decode_content=False)
    assert 0 < len(received) < promised


@pytest.mark.parametrize("fault", ["missing-field", "wrong-type"])
def test_invalid_session(server, http, devin, fault):
    server.faults.script(devin.ids()[0], [fault])
    session = get(http, server, DETAIL + devin.ids()[0]).json()
    if fault == "missing-field":
        assert "created_at" not in session and "session_id" in session
    else:
        assert session["acus_consumed"] == "lots"


@pytest.mark.parametrize("fault", ["missing-field", "wrong-type"])
def test_invalid_item_in_a_page(server, http, fault):
    server.faults.script("page:50", [fault])
    items = get(http, server, LIST, params={"skip": 50, "limit": 10}).json()["items"]
    broken = [i for i in items if "created_at" not in i or i["acus_consumed"] == "lots"]
    assert len(broken) == 1 and len(items) == 10


def test_slow_answers_time_out(server, http, devin):
    server.faults.slow_seconds = 0.4
    server.faults.script(devin.ids()[0], ["slow", "slow"])
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(http, server, DETAIL + devin.ids()[0], timeout=0.1)
    started = time.perf_counter()
    assert get(http, server, DETAIL + devin.ids()[0], timeout=3).status_code == 200
    assert time.perf_counter() - started >= 0.35


def test_dropped_connection(server, http, devin):
    server.faults.script(devin.ids()[0], ["drop"])
    with pytest.raises(requests.ConnectionError):
        get(http, server, DETAIL + devin.ids()[0])
    assert server.requests[-1]["fault"] == "drop"
    assert get(http, server, DETAIL + devin.ids()[0]).status_code == 200


def test_latency_delays_every_answer(server, http):
    server.faults.latency_ms = 150
    started = time.perf_counter()
    get(http, server, LIST, params={"limit": 1})
    assert time.perf_counter() - started >= 0.14


def test_scripted_faults_come_in_order_then_normal_service(server, http, devin):
    session_id = devin.ids()[0]
    server.faults.script(session_id, ["429", "500", "ok"])
    server.faults.fail_rate = 1.0  # scripted keys never get random faults
    statuses = [get(http, server, DETAIL + session_id).status_code for _ in range(4)]
    assert statuses == [429, 500, 200, 200]
    assert [r["fault"] for r in server.requests] == ["429", "500", None, None]


def test_random_faults_follow_fail_rate_and_seed(server, http, devin):
    server.faults.fail_rate, server.faults.fail_kinds = 1.0, ("503",)
    assert get(http, server, DETAIL + devin.ids()[1]).status_code == 503

    def statuses() -> list[int]:
        server.faults.seed = 7
        return [get(http, server, DETAIL + i).status_code for i in devin.ids()[:30]]

    server.faults.fail_rate, server.faults.fail_kinds = 0.5, ("429", "500")
    first = statuses()
    assert {200, 429, 500} == set(first)
    assert statuses() == first


def test_unknown_fault_kinds_are_refused():
    with pytest.raises(ValueError):
        Faults(fail_kinds=["teapot"])
    with pytest.raises(ValueError):
        Faults().script("x", ["500", "418"])


def test_request_log(server, http, devin):
    session_id = devin.ids()[0]
    get(http, server, DETAIL + session_id)
    get(http, server, LIST, params={"limit": 5, "updated_date_from": "2025-05-01T00:00:00Z"})
    entries = server.requests
    assert entries[0]["received"] <= entries[1]["received"]  # monotonic arrival times
    assert [{k: v for k, v in r.items() if k != "received"} for r in entries] == [
        {"method": "GET", "path": DETAIL + session_id, "query": {}, "session_id": session_id,
         "status": 200, "fault": None, "api_version": "v2"},
        {"method": "GET", "path": LIST,
         "query": {"limit": "5", "updated_date_from": "2025-05-01T00:00:00Z"},
         "session_id": None, "status": 200, "fault": None, "api_version": "v2"},
    ]  # fmt: skip
    assert KEY not in repr(server.requests)
    server.clear_requests()
    assert server.requests == []


def test_concurrent_clients_on_keep_alive_connections(server, devin):
    failures: list[object] = []

    def client(offset: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer k"
            for session_id in devin.ids()[offset : offset + 20]:
                response = session.get(server.url + DETAIL + session_id, timeout=10)
                if response.status_code != 200 or response.raw.version != 11:
                    failures.append(response.status_code)

    threads = [threading.Thread(target=client, args=(20 * n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(server.requests) == 320


def test_stop_does_not_wait_for_a_slow_answer(devin):
    srv = FakeApiServer(devin, faults=Faults(fail_rate=1.0, fail_kinds=["slow"], slow_seconds=30))
    srv.start()
    outcome: list[object] = []

    def client() -> None:
        try:
            requests.get(srv.url + LIST, headers={"Authorization": "Bearer k"}, timeout=10)
        except requests.RequestException as error:
            outcome.append(error)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.3)
    started = time.perf_counter()
    srv.stop()
    thread.join(5)
    assert time.perf_counter() - started < 2
    assert not thread.is_alive()


# Mutations: nights passing


def test_add_sessions_and_update():
    devin = FakeDevin(50, now=NOW)
    new = devin.add_sessions(3)
    assert len(devin) == 53 and set(devin.ids()[-3:]) == set(new)
    assert {devin.session(i)["created_at"] for i in new} == {"2025-06-01T00:00:00Z"}
    old = devin.ids()[0]
    devin.update(old, status="exit", acus_consumed=99.5, playbook_id="p-1")
    session = devin.session(old)
    assert (session["status"], session["acus_consumed"], session["updated_at"]) == (
        "exit", 99.5, "2025-06-01T00:00:00Z",
    )  # fmt: skip
    assert list(session)[-1] == "playbook_id"
    devin.update(old, updated_at="2025-05-02T03:04:05Z")
    assert devin.session(old)["updated_at"] == "2025-05-02T03:04:05Z"
    with pytest.raises(KeyError):
        devin.update("devin-unknown", status="exit")


def test_set_analysis_may_leave_updated_at_alone():
    devin = FakeDevin(50, now=NOW)
    session_id = devin.ids()[0]
    before = devin.session(session_id)["updated_at"]
    devin.set_analysis(session_id, None, bump_updated_at=False)
    assert devin.session(session_id)["session_analysis"] is None
    assert devin.session(session_id)["updated_at"] == before
    analysis = {"issues": [], "timeline": [], "action_items": [], "suggested_prompt": None}
    devin.set_analysis(session_id, analysis)
    assert devin.session(session_id)["session_analysis"] == analysis
    assert devin.session(session_id)["updated_at"] == "2025-06-01T00:00:00Z"


def test_advance_simulates_a_night():
    night = FakeDevin(300, now=NOW)
    before = {i: night.session(i) for i in night.ids()}
    touched = night.advance(days=1, new_sessions=5, updated_sessions=4, late_analyses=3)
    assert night.now == NOW + timedelta(days=1)
    assert [len(touched[k]) for k in ("new_sessions", "updated_sessions", "late_analyses")] == [
        5, 4, 3,
    ]  # fmt: skip
    for session_id in touched["new_sessions"]:
        assert NOW <= ts(night.session(session_id)["created_at"]) <= night.now
    for session_id in touched["updated_sessions"]:
        session = night.session(session_id)
        assert session["status"] in ("exit", "error")
        assert session["acus_consumed"] > before[session_id]["acus_consumed"]
        assert NOW <= ts(session["updated_at"]) <= night.now
    for session_id in touched["late_analyses"]:
        assert before[session_id]["session_analysis"] is None
        assert night.session(session_id)["session_analysis"] is not None
        if session_id not in touched["updated_sessions"]:
            assert night.session(session_id)["updated_at"] == before[session_id]["updated_at"]
    bumped = night.advance(late_analyses=2, bump_updated_at_on_analysis=True)["late_analyses"]
    assert {night.session(i)["updated_at"] for i in bumped} == {"2025-06-03T00:00:00Z"}


def test_advance_is_deterministic_and_seen_through_the_filters(http):
    nights = [FakeDevin(200, now=NOW), FakeDevin(200, now=NOW)]
    touched = [
        n.advance(days=1, new_sessions=3, updated_sessions=3, late_analyses=2) for n in nights
    ]
    assert touched[0] == touched[1]
    assert [nights[0].session(i) for i in nights[0].ids()] == [
        nights[1].session(i) for i in nights[1].ids()
    ]
    with FakeApiServer(nights[0]) as srv:
        ids, _ = list_all(http, srv, updated_date_from="2025-06-01T00:00:00Z")
    assert set(touched[0]["new_sessions"] + touched[0]["updated_sessions"]) <= set(ids)


# Command line


def test_command_line_serves_until_interrupted():
    command = [sys.executable, "-m", "pipeline.fake_api", "--port", "0", "--sessions", "20"]
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(30, process.kill)  # a stuck server fails the test, not hangs it
        watchdog.start()
        try:
            line = process.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
            response = requests.get(url + LIST, headers={"Authorization": "Bearer x"}, timeout=5)
            assert response.json()["total"] == 20
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate()
            watchdog.cancel()
    assert "any Bearer key" in line
    assert process.returncode == 0 and "Traceback" not in stderr


def test_preloaded_bodies_are_served_as_generated_and_dropped_on_change():
    devin = FakeDevin(sessions=20, seed=5)
    devin.preload()
    sid = devin.ids()[3]
    with FakeApiServer(devin) as server:
        got = requests.get(
            f"{server.url}/v2/enterprise/sessions/{sid}",
            headers={"Authorization": "Bearer k"},
            timeout=5,
        )
        assert got.json() == devin.session(sid)
        devin.update(sid, title="changed")
        assert devin.body(sid) is None
        got = requests.get(
            f"{server.url}/v2/enterprise/sessions/{sid}",
            headers={"Authorization": "Bearer k"},
            timeout=5,
        )
        assert got.json()["title"] == "changed"
