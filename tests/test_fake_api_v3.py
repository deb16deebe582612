"""The fake API's v3 dialect (shared/api/v3.md), beside v2 on the same server, over real HTTP."""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults, Quirks
from tests.helpers import get

NOW = datetime(2025, 6, 1, tzinfo=UTC)
V3 = "/v3/enterprise/sessions/"
LIST = V3 + "insights"
V2_DETAIL = "/v2/enterprise/sessions/"
V2_LIST = V2_DETAIL + "insights"
KEY = "cog_service-user-7b1d2e3f4a5c"
FIXTURES = Path(__file__).parent / "fixtures"

# v3.md section 2: field -> (required, types). bool is never an int here.
NULL = type(None)
SESSION = {
    "session_id": (True, str), "url": (True, str), "status": (True, str), "tags": (True, list),
    "org_id": (True, str), "created_at": (True, int), "updated_at": (True, int),
    "acus_consumed": (True, (int, float)), "pull_requests": (True, list),
    "num_user_messages": (True, int), "num_devin_messages": (True, int),
    "session_size": (True, str), "analysis": (False, (dict, NULL)),
    "status_detail": (False, (str, NULL)), "title": (False, (str, NULL)),
    "user_id": (False, (str, NULL)), "service_user_id": (False, (str, NULL)),
    "playbook_id": (False, (str, NULL)), "parent_session_id": (False, (str, NULL)),
    "child_session_ids": (False, (list, NULL)), "is_archived": (False, bool),
    "is_advanced": (False, bool), "structured_output": (False, (dict, NULL)),
    "category": (False, (str, NULL)), "subcategory": (False, (str, NULL)),
    "origin": (False, (str, NULL)),
}  # fmt: skip
PULL_REQUEST = {"pr_url": (True, str), "pr_state": (False, (str, NULL))}
ANALYSIS = {
    "action_items": (False, list), "classification": (False, (dict, NULL)),
    "issues": (False, list), "note_usage": (False, (dict, NULL)),
    "suggested_prompt": (False, (dict, NULL)), "timeline": (False, list),
}  # fmt: skip
CLASSIFICATION = {
    "category": (True, str), "confidence": (True, (int, float)),
    "programming_languages": (False, list), "tools_and_frameworks": (False, list),
}  # fmt: skip
ISSUE = {"id": (False, str), "issue": (True, str), "impact": (True, str), "label": (True, str)}
ACTION_ITEM = {"action_item": (True, str), "type": (False, str), "issue_id": (False, (str, NULL))}
TIMELINE = {
    "title": (True, str), "description": (True, str), "color": (False, str),
    "issue_id": (False, (str, NULL)),
}  # fmt: skip
SUGGESTED = {
    "original_prompt": (True, str), "suggested_prompt": (True, str),
    "feedback_items": (False, list),
}  # fmt: skip
FEEDBACK = {
    "summary": (True, str), "excerpt": (True, str), "details": (True, str),
    "issue_id": (False, (str, NULL)),
}  # fmt: skip
NOTE = {"note_id": (True, str), "message": (True, str), "reason": (True, str)}
STATUSES = {"new", "claimed", "running", "exit", "error", "suspended", "resuming"}
ORIGINS = {"webapp", "slack", "teams", "api", "linear", "jira", "automation", "cli", "desktop",
           "code_scan", "scheduled", "other"}  # fmt: skip
SIZES = {"xs", "s", "m", "l", "xl"}
ACTION_TYPES = {"machine_setup", "repo_config", "knowledge", "prompt_improvement", "other"}


def fields_errors(obj: object, schema: dict, where: str) -> list[str]:
    """Returns what in obj breaks schema: a missing required field, a value of a wrong type."""
    if not isinstance(obj, dict):
        return [f"{where}: not an object"]
    errors = []
    for name, (required, types) in schema.items():
        if name not in obj:
            errors += [f"{where}.{name}: missing"] if required else []
            continue
        value = obj[name]
        wrong_bool = isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        )
        if wrong_bool or not isinstance(value, types):
            errors.append(f"{where}.{name}: {type(value).__name__}")
    return errors


def schema_errors(session: dict) -> list[str]:
    """Returns how a SessionInsightsResponse breaks v3.md section 2 (empty: it does not)."""
    errors = fields_errors(session, SESSION, "")
    errors += [
        e for pr in session.get("pull_requests", []) for e in fields_errors(pr, PULL_REQUEST, "pr")
    ]
    analysis = session.get("analysis")
    if not isinstance(analysis, dict):
        return errors
    errors += fields_errors(analysis, ANALYSIS, "analysis")
    if analysis.get("classification") is not None:
        errors += fields_errors(analysis["classification"], CLASSIFICATION, "classification")
        assert 0 <= analysis["classification"]["confidence"] <= 1
    for name, schema in (("issues", ISSUE), ("action_items", ACTION_ITEM), ("timeline", TIMELINE)):
        errors += [e for item in analysis.get(name, []) for e in fields_errors(item, schema, name)]
    prompt = analysis.get("suggested_prompt")
    if prompt is not None:
        errors += fields_errors(prompt, SUGGESTED, "suggested_prompt")
        errors += [
            e
            for f in prompt.get("feedback_items", [])
            for e in fields_errors(f, FEEDBACK, "feedback")
        ]
    usage = analysis.get("note_usage") or {}
    for kind in ("good_usages", "bad_usages"):
        for item in usage.get(kind, []):
            errors += [] if isinstance(item, str) else fields_errors(item, NOTE, kind)
    return errors


@pytest.fixture(scope="module")
def devin() -> FakeDevin:
    return FakeDevin(600, seed=2, now=NOW)


@pytest.fixture(scope="module")
def sessions(devin: FakeDevin) -> list[dict]:
    return [devin.session(sid, "v3") for sid in devin.ids()]


@pytest.fixture
def server(devin: FakeDevin):
    with FakeApiServer(devin) as srv:
        yield srv


@pytest.fixture
def fresh() -> FakeDevin:
    """A small state of its own, for tests that change it."""
    return FakeDevin(120, seed=8, now=NOW, analysis_delay=0)


@pytest.fixture
def own(fresh: FakeDevin):
    with FakeApiServer(fresh) as srv:
        yield srv


@pytest.fixture
def cog_http():
    """Like conftest's http, with a service user's key: v3 takes no other."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEY}"
        yield session


def post(cog_http, srv, path: str) -> requests.Response:
    return cog_http.post(srv.url + path, timeout=5)


def detail(session_id: str) -> str:
    return f"{V3}{session_id}/insights"


def generate(session_id: str) -> str:
    return f"{V3}{session_id}/insights/generate"


def list_all(cog_http, srv, max_pages: int = 200, **params) -> list[dict]:
    """Follows end_cursor while has_next_page; returns the pages."""
    pages, after = [], None
    while len(pages) < max_pages:
        query = {**params, **({"after": after} if after else {})}
        pages.append(get(cog_http, srv, LIST, params=query).json())
        if not pages[-1]["has_next_page"]:
            break
        after = pages[-1]["end_cursor"]
    return pages


def ids_of(pages: list[dict]) -> list[str]:
    return [item["session_id"] for page in pages for item in page["items"]]


def ended_without_analysis(devin: FakeDevin) -> list[str]:
    found = []
    for sid in devin.ids():
        session = devin.session(sid, "v3")
        ended = session["status"] in ("exit", "error") or session.get("status_detail") == "finished"
        if ended and session.get("analysis") is None:
            found.append(sid)
    return found


# The payload


@pytest.mark.parametrize(
    "name",
    ["v3-session-insights.documented-example.json", "v3-analysis-pending.documented-example.json"],
)
def test_the_schema_check_accepts_the_documented_examples(name):
    assert schema_errors(json.loads((FIXTURES / name).read_text())) == []


def test_every_generated_session_fits_the_documented_schema(sessions):
    assert [e for s in sessions for e in schema_errors(s)] == []
    for session in sessions:
        assert "initial_user_message" not in session and "session_analysis" not in session
        assert re.fullmatch(r"devin-[0-9a-f]{32}", session["session_id"])
        assert session["url"] == "https://app.devin.ai/sessions/" + session["session_id"][6:]
        assert session["session_size"] in SIZES
        assert session["num_devin_messages"] >= session["num_user_messages"] >= 0
        assert session["created_at"] <= session["updated_at"] < 2 * 10**9


def test_the_page_shape_fits_the_documented_examples(server, cog_http):
    documented = json.loads((FIXTURES / "v3-page-first.json").read_text())
    page = get(cog_http, server, LIST, params={"first": 2}).json()
    assert list(page) == list(documented)
    assert [type(page[k]) for k in page][1:] == [type(documented[k]) for k in documented][1:]
    last = json.loads((FIXTURES / "v3-page-last.json").read_text())
    assert set(list_all(cog_http, server, first=200)[-1]) == set(last)


def test_realistic_variety_nulls_absent_keys_and_undocumented_values(sessions):
    def seen(name: str) -> set:
        return {json.dumps(s.get(name, "<absent>")) for s in sessions}

    for name in ("status_detail", "title", "service_user_id", "playbook_id", "parent_session_id",
                 "category", "subcategory", "origin", "structured_output", "is_archived",
                 "child_session_ids", "analysis"):  # fmt: skip
        assert '"<absent>"' in seen(name), name
    for name in ("status_detail", "title", "user_id", "service_user_id", "playbook_id",
                 "parent_session_id", "category", "origin", "structured_output", "analysis"):  # fmt: skip
        assert "null" in seen(name), name
    statuses = {s["status"] for s in sessions}
    assert STATUSES <= statuses | {"new"} and "creating" in statuses
    assert {s.get("origin") for s in sessions} - ORIGINS - {None}  # e.g. vscode
    assert "code_scan" in {s.get("origin") for s in sessions}
    assert any(isinstance(s.get("structured_output"), dict) for s in sessions)
    assert any(s.get("status_detail") == "finished" for s in sessions)
    assert {s["session_size"] for s in sessions} == SIZES
    family = [s for s in sessions if s.get("parent_session_id")]
    by_id = {s["session_id"]: s for s in sessions}
    assert family and all(
        s["session_id"] in by_id[s["parent_session_id"]].get("child_session_ids", [s["session_id"]])
        for s in family
    )


def test_analysis_variety(sessions):
    analyses = [s["analysis"] for s in sessions if s.get("analysis")]
    issues = [i for a in analyses for i in a["issues"]]
    assert any("id" in i for i in issues) and any("id" not in i for i in issues)
    types = {item.get("type") for a in analyses for item in a["action_items"]}
    assert ACTION_TYPES & types and types - ACTION_TYPES - {None}  # "playbook": undocumented
    assert None in types  # type is optional
    events = [e for a in analyses for e in a["timeline"]]
    assert {e.get("color") for e in events} >= {"green", "red", None}
    assert any(e["issue_id"] for e in events) and any(e["issue_id"] is None for e in events)
    usages = [a.get("note_usage", "<absent>") for a in analyses]
    items = [i for u in usages if isinstance(u, dict) for i in u["good_usages"] + u["bad_usages"]]
    assert None in usages and "<absent>" in usages
    assert any(isinstance(i, dict) for i in items) and any(isinstance(i, str) for i in items)
    assert None in [a["classification"] for a in analyses]
    assert any("model_version" in a for a in analyses)  # unknown nested fields travel on
    assert any(a["suggested_prompt"] and a["suggested_prompt"]["feedback_items"] for a in analyses)


def test_same_sessions_in_both_versions(devin):
    for sid in devin.ids()[:200]:
        v2, v3 = devin.session(sid), devin.session(sid, "v3")
        for name in ("session_id", "url", "tags", "org_id", "user_id", "acus_consumed"):
            assert v2[name] == v3[name], name
        assert v3["status"] == v2["status"] or (v2["status"], v3["status"]) == ("new", "creating")
        assert v3.get("title", v2["title"]) == v2["title"]
        created = datetime.fromisoformat(v2["created_at"]).timestamp()
        assert v3["created_at"] == int(created // 1)
        assert [(p["pr_url"], p["pr_state"]) for p in v3["pull_requests"]] == [
            (p.get("url", p.get("pr_url")), p.get("state", p.get("pr_state")))
            for p in v2["pull_requests"]
        ]
        if v2["session_analysis"] is None:
            assert v3.get("analysis") is None
        else:
            assert [i["issue"] for i in v3["analysis"]["issues"]] == [
                i["issue"] for i in v2["session_analysis"]["issues"]
            ]
        assert ("snapshot" in v2) == ("snapshot" in v3)


def test_v2_bodies_did_not_change(devin):
    v2 = devin.session(devin.ids()[0])
    assert "analysis" not in v2 and "num_user_messages" not in v2


# Endpoints and paging


def test_detail_by_devin_id(server, cog_http, devin):
    sid = devin.ids()[7]
    response = get(cog_http, server, detail(sid))
    assert response.status_code == 200 and response.json() == devin.session(sid, "v3")
    assert get(cog_http, server, detail(sid.removeprefix("devin-"))).status_code == 404
    assert get(cog_http, server, detail("devin-" + sid)).status_code == 404
    bad = get(cog_http, server, V3 + "a.b/insights")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "devin_id"]


@pytest.mark.parametrize("path", [V3 + "x/other", V3 + "x/insights/more", "/v3/other", V3[:-1]])
def test_other_v3_paths_are_404(server, cog_http, path):
    assert get(cog_http, server, path).status_code == 404


def test_cursor_paging_yields_every_session_once_in_order(server, cog_http, devin):
    pages = list_all(cog_http, server, first=37)
    assert ids_of(pages) == devin.ids()
    assert [p["has_next_page"] for p in pages] == [True] * (len(pages) - 1) + [False]
    assert pages[-1]["end_cursor"] is None and {p["total"] for p in pages} == {600}
    assert all(re.search(r"[+/]", p["end_cursor"]) for p in pages[:-1])
    first = get(cog_http, server, LIST).json()
    assert len(first["items"]) == 100  # the default


def test_a_cursor_sent_without_url_encoding_is_refused(server, cog_http):
    cursor = get(cog_http, server, LIST, params={"first": 5}).json()["end_cursor"]
    assert "+" in cursor
    raw = get(cog_http, server, f"{LIST}?first=5&after={cursor}")  # '+' arrives as a space
    assert raw.status_code == 422 and raw.json()["detail"][0]["loc"] == ["query", "after"]
    encoded = get(cog_http, server, f"{LIST}?first=5&after={quote(cursor, safe='')}")
    assert encoded.status_code == 200


@pytest.mark.parametrize(
    "params, bad",
    [
        ({"first": 0}, "first"), ({"first": 201}, "first"), ({"first": "x"}, "first"),
        ({"after": "nope"}, "after"), ({"after": ""}, "after"),
        ({"after": base64.b64encode(b'{"o":-1}').decode()}, "after"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"updated_before": "1.5"}, "updated_before"),
    ],
)  # fmt: skip
def test_bad_list_parameters_are_422(server, cog_http, params, bad):
    response = get(cog_http, server, LIST, params=params)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", bad] and set(error) == {"loc", "msg", "type"}


@pytest.mark.parametrize(
    "name, field, keep",
    [
        ("created_after", "created_at", lambda value, bound: value >= bound),
        ("created_before", "created_at", lambda value, bound: value < bound),
        ("updated_after", "updated_at", lambda value, bound: value >= bound),
        ("updated_before", "updated_at", lambda value, bound: value < bound),
    ],
)
def test_time_filters_in_epoch_seconds_or_milliseconds(
    server, cog_http, sessions, name, field, keep
):
    bound = sessions[300][field]
    expected = [s["session_id"] for s in sessions if keep(s[field], bound)]
    for value in (bound, bound * 1000):
        pages = list_all(cog_http, server, first=200, **{name: value})
        assert ids_of(pages) == expected and pages[0]["total"] == len(expected)


def test_session_ids_filter_and_ignored_filters(server, cog_http, devin):
    wanted = devin.ids()[10:13]
    params = {"session_ids": [wanted[0], wanted[1].removeprefix("devin-"), wanted[2]]}
    assert ids_of(list_all(cog_http, server, **params)) == wanted
    assert get(cog_http, server, LIST, params={**params, "tags": "x"}).json()["total"] == 3
    server.faults.ignore_filters = True
    assert (
        get(cog_http, server, LIST, params={**params, "created_after": 2**31}).json()["total"]
        == 600
    )


def test_wrong_methods_are_405_in_both_versions(server, devin):
    sid = devin.ids()[0]
    v2 = {"Authorization": "Bearer apk_user_k"}
    v3 = {"Authorization": f"Bearer {KEY}"}
    assert requests.post(server.url + V2_LIST, headers=v2, timeout=5).status_code == 405
    assert requests.post(server.url + V2_DETAIL + sid, headers=v2, timeout=5).status_code == 405
    assert requests.post(server.url + LIST, headers=v3, timeout=5).status_code == 405
    assert requests.post(server.url + V2_DETAIL + "a.b", headers=v2, timeout=5).status_code == 405


# Keys and versions


@pytest.mark.parametrize(
    "key, path, status",
    [
        ("cog_any", LIST, 200), ("apk_user_any", LIST, 401), ("other", LIST, 401),
        ("apk_user_any", V2_LIST, 200), ("cog_any", V2_LIST, 401), ("other", V2_LIST, 200),
    ],
)  # fmt: skip
def test_without_a_configured_key_v3_takes_cog_keys_only(server, key, path, status):
    response = requests.get(
        server.url + path, headers={"Authorization": f"Bearer {key}"}, timeout=5
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    "configured, key, path, status",
    [
        ("cog_right", "cog_right", LIST, 200), ("cog_right", "cog_wrong", LIST, 401),
        ("cog_right", "cog_right", V2_LIST, 401), ("apk_user_right", "apk_user_right", LIST, 401),
        ("apk_user_right", "apk_user_right", V2_LIST, 200),
    ],
)  # fmt: skip
def test_a_configured_key_works_only_on_its_version(devin, configured, key, path, status):
    with FakeApiServer(devin, key=configured) as srv:
        headers = {"Authorization": f"Bearer {key}"}
        assert requests.get(srv.url + path, headers=headers, timeout=5).status_code == status


@pytest.mark.parametrize("versions, open_path, closed_path", [
    (("v2",), V2_LIST, LIST), (("v3",), LIST, V2_LIST),
])  # fmt: skip
def test_api_versions_restrict_the_dialects(devin, versions, open_path, closed_path):
    key = "cog_k" if versions == ("v3",) else "apk_user_k"
    with FakeApiServer(devin, api_versions=versions) as srv:
        headers = {"Authorization": f"Bearer {key}"}
        assert requests.get(srv.url + open_path, headers=headers, timeout=5).status_code == 200
        closed = requests.get(srv.url + closed_path, headers=headers, timeout=5)
        assert closed.status_code == 404
        assert srv.requests[-1]["api_version"] is None
    with pytest.raises(ValueError):
        FakeApiServer(devin, api_versions=("v4",))


# Generating analyses


def test_generate_starts_then_already_exists_and_the_analysis_arrives(own, cog_http, fresh):
    sid = ended_without_analysis(fresh)[0]
    v2_before = fresh.session(sid)
    assert post(cog_http, own, generate(sid)).json() == {"session_id": sid, "status": "started"}
    assert post(cog_http, own, generate(sid)).json()["status"] == "already_exists"
    session = get(cog_http, own, detail(sid)).json()
    assert session["analysis"] is not None and schema_errors(session) == []
    assert fresh.session(sid)["session_analysis"] is not None  # v2 sees it too
    assert fresh.session(sid)["updated_at"] == v2_before["updated_at"]
    assert [(r["method"], r["api_version"], r["status"]) for r in own.requests] == [
        ("POST", "v3", 200), ("POST", "v3", 200), ("GET", "v3", 200),
    ]  # fmt: skip
    has_one = next(s for s in fresh.ids() if fresh.session(s, "v3").get("analysis"))
    assert post(cog_http, own, generate(has_one)).json()["status"] == "already_exists"


def test_the_analysis_takes_its_delay(own, cog_http, fresh):
    fresh.analysis_delay = 0.3
    sid = ended_without_analysis(fresh)[0]
    assert post(cog_http, own, generate(sid)).json()["status"] == "started"
    assert get(cog_http, own, detail(sid)).json().get("analysis") is None
    assert post(cog_http, own, generate(sid)).json()["status"] == "already_exists"  # in progress
    time.sleep(0.35)
    assert get(cog_http, own, detail(sid)).json()["analysis"] is not None


def test_generate_errors(own, cog_http, fresh):
    sid = fresh.ids()[0]
    assert post(cog_http, own, generate("devin-unknown")).status_code == 404
    assert post(cog_http, own, generate(sid.removeprefix("devin-"))).status_code == 404
    assert get(cog_http, own, generate(sid)).status_code == 405
    assert post(cog_http, own, detail(sid)).status_code == 405
    own.faults.forbid_generate = True
    forbidden = post(cog_http, own, generate(sid))
    assert forbidden.status_code == 403 and "ManageAccountSessions" in forbidden.json()["detail"]
    assert get(cog_http, own, detail(sid)).status_code == 200
    own.faults.forbid_generate = False
    own.faults.script(f"generate:{sid}", ["500"])
    assert post(cog_http, own, generate(sid)).status_code == 500
    fresh.delete(sid)
    assert post(cog_http, own, generate(sid)).status_code == 404
    assert get(cog_http, own, detail(sid)).status_code == 404


# Mutations, alike for both versions


def test_mutations_show_in_v3(own, cog_http, fresh):
    sid = fresh.ids()[3]
    fresh.update(sid, title="Renamed", status="exit", status_detail="finished", origin="code_scan",
                 child_session_ids=["devin-x"], analysis=None)  # fmt: skip
    v3 = get(cog_http, own, detail(sid)).json()
    assert (v3["title"], v3["status"], v3["status_detail"], v3["origin"]) == (
        "Renamed", "exit", "finished", "code_scan",
    )  # fmt: skip
    assert v3["child_session_ids"] == ["devin-x"] and v3["analysis"] is None
    assert v3["updated_at"] == int(NOW.timestamp())
    v2 = fresh.session(sid)
    assert v2["title"] == "Renamed" and "status_detail" not in v2 and "origin" not in v2
    fresh.set_analysis(sid, {"issues": [{"issue": "x", "impact": "Low", "label": "L"}],
                             "timeline": [], "action_items": [], "suggested_prompt": None})  # fmt: skip
    assert get(cog_http, own, detail(sid)).json()["analysis"]["issues"][0]["issue"] == "x"


def test_advance_and_hostile_values_show_in_v3(own, cog_http, fresh):
    touched = fresh.advance(days=1, new_sessions=3, updated_sessions=2)
    listed = ids_of(list_all(cog_http, own, updated_after=int(NOW.timestamp())))
    assert set(touched["new_sessions"] + touched["updated_sessions"]) <= set(listed)
    late = fresh.plant("out-of-range-time", 2)
    millis = fresh.plant("ms-time", 2)
    wide = fresh.plant("wide-int", 1)
    stamps = [get(cog_http, own, detail(s)).json() for s in late]
    assert {s["created_at"] for s in stamps} | {s["updated_at"] for s in stamps} >= {
        253402315200, -62135614800,  # past 9999-12-31T23:59:59Z, before 0001-01-01T00:00:00Z
    }  # fmt: skip
    assert all(get(cog_http, own, detail(s)).json()["created_at"] > 10**12 for s in millis)
    assert f'"ledger_seq":{2**70}' in get(cog_http, own, detail(wide[0])).text


# Adversarial modes, with cursors


def test_page_cap_newest_first_and_total_drift(own, cog_http, fresh):
    own.quirks = Quirks(page_cap=25, newest_first=True, total_drift=4)
    pages = list_all(cog_http, own, first=200)
    assert [len(p["items"]) for p in pages] == [25, 25, 25, 25, 20]
    assert ids_of(pages) == fresh.ids()[::-1]
    assert [p["total"] for p in pages] == [120, 124, 116, 120, 124]


def test_churn_under_cursors(own, cog_http, fresh):
    own.quirks.churn_insert, own.quirks.churn_delete = 2, 3
    pages = list_all(cog_http, own, first=30)
    assert [p["total"] for p in pages] == [120 - i for i in range(len(pages))]
    gone = [s for s in ids_of(pages) if s not in fresh]
    assert gone and all(get(cog_http, own, detail(s)).status_code == 404 for s in gone)


@pytest.mark.parametrize("fault", ["520", "521", "522", "523", "524", "502", "login", "truncated"])
def test_faults_on_v3_pages(own, cog_http, fault):
    cursor = get(cog_http, own, LIST, params={"first": 10}).json()["end_cursor"]
    own.faults.script("page:10", [fault])
    try:
        response = get(cog_http, own, LIST, params={"first": 10, "after": cursor})
    except requests.RequestException:
        assert fault == "truncated"
    else:
        assert response.headers["Content-Type"].startswith("text/html")
    assert own.requests[-1]["fault"] == fault and own.requests[0]["fault"] is None


def test_key_echo_total_null_stuck_cursor_duplicates_on_v3(own, cog_http, fresh):
    own.quirks = Quirks(echo_key=True, echo_key_in_ok=True, total_null=True, stuck_cursor=True)
    wrong = requests.get(own.url + LIST, headers={"Authorization": "Bearer apk_user_k"}, timeout=5)
    assert wrong.status_code == 401 and "Bearer apk_user_k" in wrong.text
    assert KEY in get(cog_http, own, detail("devin-unknown")).text
    page = get(cog_http, own, LIST, params={"first": 10}).json()
    assert page["total"] is None and page["items"][0]["debug"]["request_headers"]
    again = get(cog_http, own, LIST, params={"first": 10, "after": page["end_cursor"]}).json()
    assert again["end_cursor"] == page["end_cursor"] and again["has_next_page"]
    own.quirks = Quirks(duplicate_items=True)
    items = get(cog_http, own, LIST, params={"first": 10}).json()["items"]
    assert items[0] == items[-1]
    log = json.dumps(own.requests)
    assert not any(KEY[i : i + 8] in log for i in range(len(KEY) - 7))


def test_v3_preloaded_bodies(own, cog_http, fresh):
    fresh.preload(("v2", "v3"))
    sid = fresh.ids()[0]
    assert fresh.body(sid, "v3") is not None and fresh.body(sid) is not None
    assert get(cog_http, own, detail(sid)).json() == fresh.session(sid, "v3")
    fresh.update(sid, title="changed")
    assert fresh.body(sid, "v3") is None
    assert get(cog_http, own, detail(sid)).json()["title"] == "changed"


# Command line


def test_command_line_v3_only():
    command = [sys.executable, "-m", "pipeline.fake_api", "--port", "0", "--sessions", "20",
               "--api-version", "v3", "--forbid-generate", "--analysis-delay", "0"]  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    with subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(30, process.kill)
        watchdog.start()
        try:
            line = process.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
            headers = {"Authorization": "Bearer cog_x"}
            page = requests.get(url + LIST, headers=headers, timeout=5).json()
            v2 = requests.get(url + V2_LIST, headers=headers, timeout=5).status_code
            sid = page["items"][0]["session_id"]
            forbidden = requests.post(url + generate(sid), headers=headers, timeout=5).status_code
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate()
            watchdog.cancel()
    assert (page["total"], v2, forbidden) == (20, 404, 403)
    assert process.returncode == 0 and "Traceback" not in stderr


def test_faults_take_forbid_generate():
    assert Faults(forbid_generate=True).forbid_generate
