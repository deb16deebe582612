"""The v3 source end to end: a cog_ key, cursor listings and incremental nights, ids with or
without their devin- prefix, a warehouse fed by v2 then v3, and --generate-insights."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from tests.helpers import KEY, NO_BILL, CliResult, query, run_cli, scalar
from tests.oracle import LINEAGE, differences, first_prompt, in_duckdb, in_parquet, served

V3_KEY = "cog_TEST-SERVICE-USER-5d2a9e"


@pytest.fixture
def devin() -> FakeDevin:
    # A clock in the past: nights advance it without ever passing ours.
    return FakeDevin(sessions=300, seed=21, now=datetime.now(UTC) - timedelta(days=6),
                     analysis_delay=0)  # fmt: skip


@pytest.fixture
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(retry_after=0)) as srv:
        yield srv


def export(server: FakeApiServer, out: Path, *args: str, key: str = V3_KEY) -> CliResult:
    return run_cli(*args, "--out", str(out), "--api-url", server.url, "--quiet", key=key)


def list_requests(server: FakeApiServer) -> list[dict]:
    return [r for r in server.requests if r["path"] == "/v3/enterprise/sessions/insights"]


def assert_exact(out: Path, devin: FakeDevin) -> None:
    expected, invalid = served(devin, "v3")
    assert not invalid
    stored = in_duckdb(out / "devin.duckdb")
    assert differences(expected, stored) == []
    assert in_parquet(out / "parquet") == stored


def test_a_cog_key_speaks_v3_and_pages_by_cursor(server, devin, out):
    result = export(server, out, "--all", *NO_BILL)
    assert result.code == 0, result.stderr
    assert_exact(out, devin)
    pages = list_requests(server)
    assert len(pages) == math.ceil(len(devin) / 200)
    assert "after" not in pages[0]["query"] and all("after" in p["query"] for p in pages[1:])
    db = out / "devin.duckdb"
    assert query(db, "select distinct api_version from sessions") == [("v3",)]
    assert query(db, "select api_version from export_runs") == [("v3",)]
    # The new fields land: origin, size, messages, classification, languages, note usages.
    assert scalar(db, "select count(*) from sessions where session_size is null") == 0
    for table in ("session_languages", "session_tools", "note_usages"):
        assert scalar(db, f"select count(*) from {table}") > 0, table


def test_incremental_v3_nights_equal_a_fresh_full_export(server, devin, out, tmp_path):
    nightly = ("--all", "--refresh-open", *NO_BILL)
    assert export(server, out, *nightly).code == 0
    for _ in range(2):
        devin.advance(days=1, new_sessions=20, updated_sessions=15, late_analyses=3)
        db = out / "devin.duckdb"
        watermark = scalar(db, "select max_updated_at from export_runs where status = 'ok' "
                               "order by started_at desc limit 1")  # fmt: skip
        server.clear_requests()
        result = export(server, out, *nightly)
        assert result.code == 0, result.stderr
        since = math.floor((watermark - timedelta(days=2)).timestamp())
        assert {p["query"].get("updated_after") for p in list_requests(server)} == {str(since)}
    assert_exact(out, devin)
    fresh = tmp_path / "fresh"
    assert export(server, fresh, "--all", *NO_BILL).code == 0
    assert in_duckdb(fresh / "devin.duckdb") == in_duckdb(out / "devin.duckdb")


def test_a_v3_server_that_ignores_the_filters_still_gives_a_correct_warehouse(server, devin, out):
    assert export(server, out, "--all", *NO_BILL).code == 0
    server.faults.ignore_filters = True
    devin.advance(days=1, new_sessions=10, updated_sessions=10)
    result = export(server, out, "--all", *NO_BILL, "--refresh-open")
    assert result.code == 0, result.stderr
    assert_exact(out, devin)


def test_ids_with_or_without_their_prefix_reach_the_same_session(server, devin, out):
    first, second = devin.ids()[:2]
    result = export(server, out, first, second.removeprefix("devin-"))
    assert result.code == 0, result.stderr
    paths = {r["path"] for r in server.requests}
    assert paths == {f"/v3/enterprise/sessions/{sid}/{what}" for sid in (first, second)
                     for what in ("insights", "messages")}  # fmt: skip
    stored = {sid for (sid,) in query(out / "devin.duckdb", "select session_id from sessions")}
    assert stored == {first, second}  # the key is the session_id the API returns


def test_a_warehouse_fed_by_v2_then_v3_holds_the_v3_rows_and_nothing_stale(server, devin, out):
    assert export(server, out, "--all", *NO_BILL, key=KEY).code == 0
    db = out / "devin.duckdb"
    assert query(db, "select distinct api_version from sessions") == [("v2",)]
    v2_messages = scalar(db, "select count(*) from sessions where initial_user_message is not null")
    assert v2_messages > 0
    result = export(server, out, "--all", *NO_BILL, "--full")
    assert result.code == 0, result.stderr
    assert_exact(out, devin)  # every v2 row replaced by its v3 row, children included
    assert query(db, "select distinct api_version from sessions") == [("v3",)]
    # v3 keeps the prompt in the messages: the first user message, where there is one
    prompts = sum(first_prompt(devin, sid) is not None for sid in devin.ids())
    assert scalar(db, "select count(*) from sessions where initial_user_message is not null") == (
        prompts
    )
    # The views work on a warehouse fed by both.
    assert scalar(db, "select count(*) from v_sessions") == len(devin)


def test_generate_insights_then_refresh_open_brings_the_analyses(server, devin, out, tmp_path):
    waiting = [sid for sid in devin.ids()
               if (s := devin.session(sid, "v3")).get("analysis") is None
               and (s["status"] in ("exit", "error") or s.get("status_detail") == "finished")]  # fmt: skip
    assert waiting, "the fake should have ended sessions without analysis"
    summary = tmp_path / "summary.json"
    result = export(
        server, out, "--all", *NO_BILL, "--generate-insights", "--summary-json", str(summary)
    )
    assert result.code == 0, result.stderr
    generated = [r for r in server.requests if r["method"] == "POST"]
    assert sorted(r["path"] for r in generated) == sorted(
        f"/v3/enterprise/sessions/{sid}/insights/generate" for sid in waiting
    )
    assert json.loads(summary.read_text())["insights_generation"] == {"started": len(waiting)}
    db = out / "devin.duckdb"
    asked = {sid for (sid,) in query(db, "select session_id from sessions "
                                         "where analysis_requested_at is not null")}  # fmt: skip
    assert asked == set(waiting)
    server.clear_requests()
    assert export(server, out, "--refresh-open").code == 0  # whatever their age
    for sid in waiting:
        has = f"select has_session_analysis from sessions where session_id = '{sid}'"
        assert scalar(db, has) is True, sid
    assert_exact(out, devin)
    server.clear_requests()
    assert export(server, out, "--all", *NO_BILL, "--generate-insights").code == 0
    assert [r for r in server.requests if r["method"] == "POST"] == []  # none left to ask for
    # When each analysis was asked for is in the raw files too: a rebuild keeps it.
    rebuilt = tmp_path / "rebuilt"
    assert run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), key=None).code == 0
    assert in_duckdb(rebuilt / "devin.duckdb", LINEAGE) == in_duckdb(db, LINEAGE)
    assert scalar(rebuilt / "devin.duckdb", "select count(analysis_requested_at) from sessions")


def test_a_missing_permission_to_generate_is_a_warning_not_a_failure(server, devin, out):
    server.faults.forbid_generate = True
    result = run_cli("--all", *NO_BILL, "--generate-insights", "--out", str(out), "--api-url",
                     server.url, key=V3_KEY)  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stderr.count("ManageAccountSessions") == 1
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == len(devin)


@pytest.mark.parametrize(
    ("key", "flags", "expected"),
    [
        (V3_KEY, (), "v3"),
        (KEY, (), "v2"),
        (KEY, ("--api-version", "v3"), "rejected"),
        (V3_KEY, ("--api-version", "v2"), "rejected"),
    ],
)
def test_api_version_auto_follows_the_key_and_a_wrong_pair_says_what_to_fix(
    server, devin, out, key, flags, expected
):
    result = export(server, out, devin.ids()[0], *flags, key=key)
    if expected == "rejected":
        assert result.code == 3
        assert "--api-version" in result.stderr and "DEVIN_API_KEY" in result.stderr
        assert "Traceback" not in result.stderr
    else:
        assert result.code == 0, result.stderr
        assert scalar(out / "devin.duckdb", "select api_version from sessions") == expected


def test_generate_insights_needs_v3(out):
    result = run_cli("--all", "--generate-insights", "--out", str(out), key=KEY)
    assert result.code == 2 and "v3" in result.stderr
