"""The exporter against servers that behave like real ones, not like a kind fake.

For every adversarial mode of the fake API, in v2 and v3: the run is exact (exit 0, the
warehouse equals what the API serves, in DuckDB and in Parquet), or it says what it missed
(exit 1 and export_errors rows) while everything it stored is exact. Never exit 0 with a
difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults, Quirks
from tests.helpers import KEY, NO_BILL, CliResult, all_text_in, query, run_cli
from tests.oracle import differences, in_duckdb, in_parquet, served

V3_KEY = "cog_TEST-SERVICE-USER-5d2a9e"
KEYS = {"v2": KEY, "v3": V3_KEY}


@pytest.fixture(params=["v2", "v3"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def devin() -> FakeDevin:
    # The fake's clock a minute ahead of ours: what it creates during a run is created after
    # the run began, as on a real server.
    return FakeDevin(sessions=150, seed=11, now=datetime.now(UTC) + timedelta(minutes=1))


@contextmanager
def serving(
    devin: FakeDevin, quirks: Quirks | None = None, **faults: object
) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(**faults), quirks=quirks or Quirks()) as server:  # type: ignore[arg-type]
        yield server


def export(server: FakeApiServer, out: Path, version: str, *args: str) -> CliResult:
    """An --all run without the bill (the oracle holds the sessions; the quirks cut only their
    listing, and the other parts still come through gzip): the key's echo keeps every part."""
    return run_cli("--all", *NO_BILL, "--out", str(out), "--api-url", server.url, "--retries",
                   "4", "--quiet", *args, key=KEYS[version])  # fmt: skip


def assert_exact_or_reported(
    result: CliResult, out: Path, devin: FakeDevin, version: str, before: set[str] | None = None
) -> list[tuple[str, str]]:
    """The oracle: exact on exit 0; on exit 1 what this run stored is exact and what it missed
    is reported. Sessions created or deleted while the run listed may go either way."""
    expected, invalid = served(devin, version)
    db = out / "devin.duckdb"
    stored = in_duckdb(db)
    assert in_parquet(out / "parquet") == stored, "Parquet differs from DuckDB"
    run_id = query(db, "select run_id from export_runs order by started_at desc limit 1")[0][0]
    errors = query(db, f"select session_id, kind from export_errors where run_id = '{run_id}'")
    written = {
        sid for (sid,) in query(db, f"select session_id from sessions where _run_id = '{run_id}'")
    }
    diff = {d.split()[-1]: d for d in differences(expected, stored)}
    if before is not None:  # created or deleted while the run listed (or both): either way
        diff = {sid: d for sid, d in diff.items() if sid in before and sid in expected}
    if result.code == 0:
        assert not diff and not errors, (sorted(diff.values()), errors)
        assert not invalid
        return errors
    assert result.code == 1, result.stderr
    assert errors, "exit 1 without an export_errors row"
    wrong = [d for sid, d in diff.items() if sid in written or d.startswith("unexpected")]
    assert wrong == [], "this run stored something that is not what the API serves"
    named = {sid for sid, _ in errors}
    listing_reported = any(kind == "incomplete_listing" for _, kind in errors)
    assert listing_reported or set(diff) <= named, (sorted(diff.values()), errors)
    assert invalid <= named
    return errors


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(page_cap=37),
        Quirks(newest_first=True, page_cap=40),
        Quirks(total_drift=5, page_cap=30),
        Quirks(total_null=True, page_cap=30),
        Quirks(gzip=True),
        Quirks(empty_page_every=3, page_cap=50),
    ],
    ids=["page-cap", "newest-first", "total-drift", "total-null", "gzip", "empty-pages"],
)
def test_well_meaning_but_odd_servers_give_an_exact_warehouse(devin, version, out, quirks):
    with serving(devin, quirks) as server:
        result = export(server, out, version)
    assert result.code == 0, result.stderr
    assert assert_exact_or_reported(result, out, devin, version) == []


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(page_cap=25, churn_delete=2),
        Quirks(page_cap=25, churn_insert=3),
        Quirks(page_cap=25, churn_insert=2, churn_delete=2),
        Quirks(page_cap=25, newest_first=True, churn_insert=2, churn_delete=2),
    ],
    ids=["deletes", "inserts", "both", "both-newest-first"],
)
def test_a_list_that_moves_while_it_is_paged_is_exact_or_reported(devin, version, out, quirks):
    before = set(devin.ids())
    with serving(devin, quirks) as server:
        result = export(server, out, version)
    assert_exact_or_reported(result, out, devin, version, before)
    stored = {sid for (sid,) in query(out / "devin.duckdb", "select session_id from sessions")}
    # Every session there from start to end of the run is in, whatever moved around it.
    assert (before & set(devin.ids())) <= stored or result.code == 1


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(page_cap=30, duplicate_items=True),
        Quirks(page_cap=30, stuck_cursor=True),
        Quirks(page_cap=30, cursor_rewind=True),
        Quirks(page_cap=10, wrap_around=True),  # 150 sessions: more than the recent pages hold
    ],
    ids=["duplicates", "stuck-cursor", "cursor-rewind", "wrap-around"],
)
def test_a_listing_that_cannot_be_finished_exits_1_and_keeps_the_watermark(
    devin, version, out, quirks
):
    with serving(devin) as server:
        assert export(server, out, version).code == 0  # a first, good night sets a watermark
        watermark = query(out / "devin.duckdb", "select max(max_updated_at) from export_runs")
        server.quirks = quirks
        devin.churn(update=40)
        result = export(server, out, version, "--full")
    errors = assert_exact_or_reported(result, out, devin, version)
    if version == "v2" and (quirks.stuck_cursor or quirks.cursor_rewind):
        assert result.code == 0  # v2 pages advance by what each held, never by next_cursor
        return
    assert result.code == 1 and ("listing", "incomplete_listing") in errors
    db = out / "devin.duckdb"
    assert query(db, "select max(max_updated_at) from export_runs where status = 'ok'") == watermark


def test_a_server_that_ignores_created_before_while_it_grows_is_reported_in_v3(devin, out):
    before = set(devin.ids())
    with serving(
        devin, Quirks(page_cap=25, churn_insert=2, churn_delete=2), ignore_filters=True
    ) as server:
        result = export(server, out, "v3")
    errors = assert_exact_or_reported(result, out, devin, "v3", before)
    assert result.code == 1 and ("listing", "incomplete_listing") in errors


@pytest.mark.parametrize("kinds", [["520", "521", "522"], ["523", "524", "login"]])
def test_cdn_pages_and_login_pages_are_retried(devin, version, out, kinds):
    with serving(devin, Quirks(page_cap=50), retry_after=0) as server:
        server.faults.script("page:0", [*kinds, "ok"])
        for sid in devin.ids()[:3]:
            server.faults.script(sid, [*kinds, "ok"])
        result = export(server, out, version, *devin.ids()[:3], "--retries", "8")
    assert result.code == 0, result.stderr
    assert_exact_or_reported(result, out, devin, version)


def test_hostile_values_fail_their_sessions_only(devin, version, out):
    unrepresentable = devin.plant("out-of-range-time", 2)
    wide = devin.plant("wide-int", 2)
    with serving(devin, Quirks(page_cap=40)) as server:
        result = export(server, out, version)
    errors = assert_exact_or_reported(result, out, devin, version)
    assert result.code == 1
    _, invalid = served(devin, version)
    assert invalid and invalid <= set(unrepresentable)
    assert {sid for sid, kind in errors if kind == "invalid_response"} == invalid
    for sid in wide:  # integers wider than 64 bits: stored, exactly
        (extra,) = query(
            out / "devin.duckdb", f"select extra from sessions where session_id = '{sid}'"
        )[0]
        sent = devin.session(sid, api_version=version)
        assert json.loads(extra)["ledger_seq"] == sent["ledger_seq"] > 2**64


def test_a_server_that_echoes_the_key_leaves_it_nowhere(devin, version, out, tmp_path):
    key = KEYS[version]
    quirks = Quirks(echo_key=True, echo_key_in_ok=True, page_cap=40)
    with FakeApiServer(devin, key=key, faults=Faults(retry_after=0), quirks=quirks) as server:
        for sid in devin.ids()[:3]:
            server.faults.script(sid, ["404"])
        for sid in devin.ids()[3:6]:
            server.faults.script(sid, ["429", "500", "500"])
        outputs = []
        for args in (["--all"], [*devin.ids()[:6], "--log-format", "json", "--verbose"]):
            result = run_cli(*args, "--out", str(out), "--api-url", server.url, "--retries", "1",
                             "--summary-json", str(out / "summary.json"), key=key)  # fmt: skip
            outputs += [result.stdout, result.stderr]
    assert any("not_found" in o for o in outputs)  # the echoing error bodies did reach the output
    leaked = [key[i : i + 8] for i in range(len(key) - 7)]
    written = all_text_in(out).decode("utf-8", "replace")
    for text in [written, *outputs]:
        assert not any(run in text for run in leaked)


def test_a_redirect_is_never_followed_with_the_key(devin, version, out):
    other = FakeDevin(sessions=3, seed=12)
    with (
        FakeApiServer(other) as elsewhere,
        serving(devin, Quirks(redirect_to=elsewhere.url)) as server,
    ):
        sid = devin.ids()[0]
        server.faults.script(sid, ["redirect"])
        result = run_cli(sid, "--out", str(out), "--api-url", server.url, key=KEYS[version])
        assert elsewhere.requests == []  # nothing, and so no key, went to the other host
    assert result.code == 1
    assert "redirected" in result.stderr and "--api-url" in result.stderr


def test_a_server_whose_clock_runs_ahead_hides_nothing_from_a_v2_listing(devin, out):
    devin.now = datetime.now(UTC) + timedelta(minutes=5)  # the server's clock, ahead of ours
    fresh = devin.add_sessions(3)
    with serving(devin) as server:
        result = export(server, out, "v2")
    assert result.code == 0, result.stderr
    assert_exact_or_reported(result, out, devin, "v2")
    stored = {sid for (sid,) in query(out / "devin.duckdb", "select session_id from sessions")}
    assert set(fresh) <= stored


@pytest.mark.parametrize("gzip", [False, True], ids=["runaway-body", "gzip-bomb"])
def test_an_answer_without_end_fails_its_session_only(devin, version, out, gzip):
    (huge,) = devin.plant("oversized", 1)  # 33 MiB; gzipped, about 33 KiB on the wire
    others = [sid for sid in devin.ids()[:4] if sid != huge]
    with serving(devin, Quirks(gzip=gzip)) as server:
        result = run_cli(huge, *others, "--out", str(out), "--api-url", server.url, "--quiet",
                         key=KEYS[version])  # fmt: skip
    assert result.code == 1, result.stderr
    assert "Traceback" not in result.stderr
    db = out / "devin.duckdb"
    (error,) = query(db, "select session_id, kind, message from export_errors")
    assert error[:2] == (huge, "invalid_response")
    assert "larger than 32 MiB" in error[2]
    kept = all_text_in(out / "raw" / "quarantine")
    assert huge.encode() in kept and len(kept) < 1 << 20  # the first 64 KiB, not the 33 MiB
    stored = {sid for (sid,) in query(db, "select session_id from sessions")}
    assert stored == set(others)


def test_a_listing_page_without_end_is_reported(devin, version, out):
    devin.plant("oversized", 1)
    with serving(devin, Quirks(page_cap=50)) as server:
        result = export(server, out, version)
    errors = assert_exact_or_reported(result, out, devin, version)
    assert result.code == 1 and ("listing", "incomplete_listing") in errors


def test_a_v3_server_that_names_sessions_without_the_prefix_is_flagged_after_v2(devin, out):
    """v3's documentation shows bare ids where v2 sends devin-...: SPEC keys rows by the id the
    API returns, so a warehouse moved from v2 to v3 holds such a session twice; the check says so."""
    with serving(devin) as server:
        assert export(server, out, "v2").code == 0
        server.quirks = Quirks(bare_ids=True)
        result = export(server, out, "v3", "--summary-json", str(out / "summary.json"))
        by_id = run_cli(devin.ids()[0], "--out", str(out), "--api-url", server.url,
                        "--quiet", key=V3_KEY)  # fmt: skip
    assert result.code == 0 and by_id.code == 0, result.stderr + by_id.stderr
    db = out / "devin.duckdb"
    rows = dict(query(db, "select api_version, count(*) from sessions group by 1"))
    assert rows == {"v2": len(devin), "v3": len(devin)}
    bare = {sid for (sid,) in query(db, "select session_id from sessions where api_version = 'v3'")}
    assert bare == {sid.removeprefix("devin-") for sid in devin.ids()}
    check = json.loads((out / "summary.json").read_text())["quality_checks"]
    (twice,) = [c for c in check if c["name"] == "one_id_per_session"]
    assert twice["severity"] == "warn" and twice["failing_rows"] == len(devin)
