"""The report names people, organizations, playbooks and Knowledge notes (SPEC sections 9 and
10): by name where the API listed one, by id where not; a playbook table and the notes most
often judged good and bad, each a bounded ranking and one "other" row, read from small
relations only (aggregates and listings), never from every session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from pipeline.report import names as report_names
from tests.helpers import NO_BILL, query, run_cli
from tests.test_report import Charts, read_page
from tests.test_views import SQL_FILES, relations_read, select_of

KEY = "cog_TEST-SERVICE-USER-8e4d2a"
LABEL = ("case when trim(name) <> '' then name when trim(email) <> '' then email "
         "else coalesce(user_id, '(none)') end")  # fmt: skip


@pytest.fixture(scope="module")
def devin() -> FakeDevin:
    return FakeDevin(sessions=120, seed=9)


@pytest.fixture(scope="module")
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(retry_after=0)) as srv:
        yield srv


@pytest.fixture(scope="module")
def v3(server: FakeApiServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("names") / "out"
    # names, not the bill (its top people by name: tests/test_billing.py)
    result = run_cli("--all", *NO_BILL, "--out", str(out), "--api-url", server.url, "--quiet",
                     key=KEY)  # fmt: skip
    assert result.code == 0, result.stderr
    return out


def test_top_users_and_orgs_go_by_name(v3):
    db, page = v3 / "devin.duckdb", read_page(v3)
    users = query(db, f"select {LABEL}, sessions from v_user_usage "
                      "order by acus desc nulls last, user_id nulls last")  # fmt: skip
    *shown, rest = page.tables["users"]
    assert [(r[0], int(r[1])) for r in shown] == users[:10]
    assert rest[0] == f"{len(users) - 10} other users"
    named = {n for (n,) in query(db, "select name from users where trim(name) <> ''")}
    assert sum(r[0] in named for r in shown) >= 5  # names, not ids
    # the daily chart's orgs: every org a session names is listed, so every series is a name
    orgs = {n for (n,) in query(db, "select name from organizations")}
    legend = set(Charts((v3 / "report.html").read_text()).legends[0])
    assert legend and legend <= orgs | {"other orgs"}


def test_the_playbook_table_is_the_views_top_rows_and_the_rest_as_one(v3):
    db, page = v3 / "devin.duckdb", read_page(v3)
    books = query(db, "select coalesce(nullif(title, ''), playbook_id), sessions, prs_opened "
                      "from v_playbook_outcomes order by sessions desc, acus desc, "
                      "coalesce(nullif(title, ''), playbook_id), playbook_id")  # fmt: skip
    n = report_names.TOP_PLAYBOOKS
    assert len(books) > n + 1
    *shown, rest = page.tables["playbooks"]
    assert [(r[0].removesuffix(" (removed)"), int(r[1]), int(r[3])) for r in shown] == books[:n]
    assert rest[0] == f"{len(books) - n} other playbooks"
    assert int(rest[1]) == sum(b[1] for b in books[n:])
    assert int(rest[3]) == sum(b[2] for b in books[n:])
    titles = {t for (t,) in query(db, "select title from playbooks")}
    assert all(r[0].removesuffix(" (removed)") in titles for r in shown if int(r[1]))


def test_the_notes_most_often_judged_good_and_bad_by_name(v3):
    db = v3 / "devin.duckdb"
    text = (v3 / "report.html").read_text()
    charts = Charts(text)
    for kind in ("good", "bad"):
        notes = query(db, f"select coalesce(nullif(name, ''), note_id), {kind}_uses "
                          f"from v_note_usage where {kind}_uses > 0 order by {kind}_uses desc, "
                          "coalesce(nullif(name, ''), note_id), note_id")  # fmt: skip
        n = report_names.TOP_NOTES
        assert len(notes) > n + 1, kind
        label = f"Knowledge notes most often judged {kind}"
        rows = charts.charts[label]
        assert [(r["name"], r["value"]) for r in rows[:n]] == [(m, float(u)) for m, u in notes[:n]]
        assert rows[n]["rest"] and rows[n]["name"] == f"{len(notes) - n} other notes"
        assert rows[n]["value"] == sum(u for _, u in notes[n:])
        assert f'data-notes="{kind}"' in text


def test_without_people_or_listings_the_ids_show(server, devin, tmp_path):
    out = tmp_path / "ids"
    ids = devin.ids()[:15]
    result = run_cli(*ids, "--without", "messages", "--out", str(out), "--api-url", server.url,
                     "--quiet", key=KEY)  # fmt: skip
    assert result.code == 0, result.stderr
    db, page = out / "devin.duckdb", read_page(out)
    assert query(db, "select count(*) from users") == [(0,)]
    users = {u for (u,) in query(db, "select coalesce(user_id, '(none)') from sessions")}
    assert {r[0] for r in page.tables["users"] if not r[0].endswith(" other users")} <= users
    books = {b for (b,) in query(db, "select playbook_id from sessions where playbook_id "
                                     "is not null")}  # fmt: skip
    shown = {r[0] for r in page.tables.get("playbooks", [])}
    assert books and shown == books  # named by the id the sessions give
    legend = set(Charts((out / "report.html").read_text()).legends[0])
    orgs = {o for (o,) in query(db, "select org_id from sessions")}
    assert legend and legend <= orgs | {"other orgs"}


def test_the_names_read_small_relations_only():
    """The playbook and note views read the listings and the aggregates: never a session or
    note use row, so the report costs the same at 100,000 sessions."""
    by_stem = {p.stem: p for p in SQL_FILES}
    for view, allowed in (
        ("v_playbook_outcomes", {"playbooks", "agg_playbooks"}),
        ("v_note_usage", {"knowledge_notes", "agg_note_usages"}),
    ):
        assert relations_read(select_of(by_stem[view])) == allowed, view
