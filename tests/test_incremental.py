"""The nightly job: incremental --all, late analysis, and the watermark kept in the warehouse."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from pipeline.schema import DATA_TABLES
from tests.helpers import KEY, NO_BILL, query, query_each, run_cli, scalar

NIGHTLY = ("--all", "--refresh-open", "--quiet", *NO_BILL)  # sessions, not the bill
FRESH = ("--all", "--quiet", *NO_BILL)


def data_tables(db: Path) -> dict[str, list[tuple]]:
    """Every data table without the lineage columns, which differ between runs by design."""
    sqls = {}
    for table in DATA_TABLES:
        columns = ", ".join(c for c in table.column_names if not c.startswith("_"))
        sqls[table.name] = f"select {columns} from {table.name} order by all"
    return query_each(db, sqls)


def nightly(server, out: Path, *extra: str):
    result = run_cli(*NIGHTLY, *extra, "--out", str(out), "--api-url", server.url)
    assert result.code == 0, result.stderr
    return result


def list_requests(server) -> list[dict]:
    return [r for r in server.requests if r["path"].endswith("/insights")]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_three_nights_equal_a_fresh_full_export(tmp_path):
    devin = FakeDevin(sessions=700, seed=11, now=datetime.now(UTC))
    out = tmp_path / "nightly"
    with FakeApiServer(devin, key=KEY, faults=Faults()) as server:
        nightly(server, out)
        assert all("updated_date_from" not in r["query"] for r in list_requests(server))
        for night in (2, 3):
            touched = devin.advance(days=1, new_sessions=40, updated_sessions=25, late_analyses=4)
            assert touched["late_analyses"], "the fake should deliver some analyses late"
            db = out / "devin.duckdb"
            watermark = scalar(db, "select max_updated_at from export_runs where status = 'ok' "
                                   "order by started_at desc limit 1")  # fmt: skip
            expected_from = iso(watermark - timedelta(days=2))
            server.clear_requests()
            nightly(server, out)
            pages = list_requests(server)
            assert {r["query"].get("updated_date_from") for r in pages} == {expected_from}
            matching = devin.page(0, 1, {"updated_date_from": watermark - timedelta(days=2)})
            assert len(pages) == max(1, math.ceil(matching["total"] / 200)), night
            assert matching["total"] < len(devin) / 2  # far fewer than a full pass
            # Their updated_at did not move: only --refresh-open can have brought them in.
            for sid in touched["late_analyses"]:
                has = f"select has_session_analysis from sessions where session_id = '{sid}'"
                assert scalar(db, has) is True, sid
        fresh = tmp_path / "fresh"
        assert run_cli(*FRESH, "--out", str(fresh), "--api-url", server.url).code == 0
    assert data_tables(out / "devin.duckdb") == data_tables(fresh / "devin.duckdb")
    runs = query(
        out / "devin.duckdb",
        "select mode, status, watermark is null from export_runs order by started_at",
    )
    assert runs == [
        ("all-full+refresh-open", "ok", True),
        ("all+refresh-open", "ok", False),
        ("all+refresh-open", "ok", False),
    ]


def test_late_analysis_arrives_through_refresh_open(server, out):
    devin = server.devin
    sid = devin.ids()[-1]  # the newest: within the 7 days that --refresh-open looks back
    devin.update(
        sid, status="exit", session_analysis=None, created_at=datetime.now(UTC) - timedelta(days=1)
    )
    nightly(server, out)
    db = out / "devin.duckdb"
    assert (
        scalar(db, f"select has_session_analysis from sessions where session_id = '{sid}'") is False
    )
    analysis = {
        "issues": [{"issue": "Flaky test", "impact": "Low", "label": "Testing"}],
        "action_items": [],
        "timeline": [{"title": "Ran tests", "description": "All green"}],
        "suggested_prompt": None,
    }
    devin.set_analysis(sid, analysis, bump_updated_at=False)  # updated_at does not move
    nightly(server, out)
    assert (
        scalar(db, f"select has_session_analysis from sessions where session_id = '{sid}'") is True
    )
    assert query(db, f"select issue, label from issues where session_id = '{sid}'") == [
        ("Flaky test", "Testing")
    ]
    assert scalar(db, f"select count(*) from timeline_events where session_id = '{sid}'") == 1


def test_a_server_that_ignores_the_filters_still_gives_a_correct_warehouse(server, out, tmp_path):
    nightly(server, out)
    server.faults.ignore_filters = True
    server.devin.advance(days=1, new_sessions=10, updated_sessions=10)
    server.clear_requests()
    nightly(server, out)
    assert any("updated_date_from" in r["query"] for r in list_requests(server))
    fresh = tmp_path / "fresh"
    assert run_cli(*FRESH, "--out", str(fresh), "--api-url", server.url).code == 0
    assert data_tables(out / "devin.duckdb") == data_tables(fresh / "devin.duckdb")
    assert scalar(out / "devin.duckdb", "select count(*) from sessions") == len(server.devin)


def test_full_ignores_the_watermark_and_overlap_moves_it(server, out):
    nightly(server, out)
    server.clear_requests()
    nightly(server, out, "--full")
    assert all("updated_date_from" not in r["query"] for r in list_requests(server))
    db = out / "devin.duckdb"
    watermark = scalar(
        db,
        "select max_updated_at from export_runs where status = 'ok' order by started_at desc limit 1",
    )
    server.clear_requests()
    nightly(server, out, "--overlap", "0.5")
    assert {r["query"]["updated_date_from"] for r in list_requests(server)} == {
        iso(watermark - timedelta(days=0.5))
    }


def test_a_partial_run_does_not_move_the_watermark(server, out):
    nightly(server, out)
    db = out / "devin.duckdb"
    before = scalar(db, "select max(max_updated_at) from export_runs where status = 'ok'")
    server.devin.advance(days=3, new_sessions=5)
    server.faults.script("page:0", ["wrong-type"])
    result = run_cli(*NIGHTLY, "--out", str(out), "--api-url", server.url)
    assert result.code == 1
    assert scalar(db, "select max(max_updated_at) from export_runs where status = 'ok'") == before


@pytest.mark.parametrize("days", ["-1", "x"])
def test_bad_overlap_is_a_usage_error(days, out):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("--all", "--overlap", days, "--out", str(out))
    assert exit_info.value.code == 2


def test_refresh_open_marks_a_session_gone_keeps_its_rows_and_lets_it_go(server, out):
    nightly(server, out)
    db = out / "devin.duckdb"
    running = [r[0] for r in query(db, "select session_id from sessions where status = 'running'")]
    gone = running[0]
    server.faults.script(gone, ["404"] * 5)  # deleted on Devin's side
    tags_before = scalar(db, f"select count(*) from session_tags where session_id = '{gone}'")
    nightly(server, out)  # exit 0: a deleted session is not a failure
    assert scalar(db, f"select deleted_at is not null from sessions where session_id = '{gone}'")
    assert (
        scalar(db, f"select count(*) from session_tags where session_id = '{gone}'") == tags_before
    )
    assert scalar(db, "select count(*) from export_errors") == 0
    server.clear_requests()
    nightly(server, out)
    assert gone not in {r["session_id"] for r in server.requests}  # never chosen again


def test_a_rebuild_from_raw_equals_the_nights_also_in_what_only_their_history_tells(tmp_path):
    # Sessions end, then change again (late analyses that move updated_at, more ACUs, an edit),
    # one is found gone: the warehouse keeps when each was first seen ended and when it was
    # found gone. Replaying the nights' raw files in order must come to the same values.
    devin = FakeDevin(sessions=300, seed=12, now=datetime.now(UTC))
    out = tmp_path / "nightly"
    with FakeApiServer(devin, key=KEY, faults=Faults()) as server:
        nightly(server, out, "--batch-size", "40")
        db = out / "devin.duckdb"
        ended = [sid for (sid,) in query(db, "select session_id from sessions "
                                             "where ended_at is not null order by 1")]  # fmt: skip
        gone = scalar(db, "select session_id from sessions where ended_at is null limit 1")
        for night in range(2):
            devin.advance(days=1, new_sessions=10, updated_sessions=20, late_analyses=5,
                          bump_updated_at_on_analysis=True)  # fmt: skip
            devin.update(ended[night], title="edited after it ended")
            if night == 1:
                server.faults.script(gone, ["404"] * 5)  # deleted on Devin's side
            nightly(server, out, "--batch-size", "40")
    moved = scalar(db, "select count(*) from sessions where ended_at < updated_at")
    assert moved >= 2, "some sessions should have changed after they ended"
    assert scalar(db, f"select deleted_at is not null from sessions where session_id = '{gone}'")

    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet", key=None)
    assert result.code == 0, result.stderr
    assert data_tables(rebuilt / "devin.duckdb") == data_tables(db)
