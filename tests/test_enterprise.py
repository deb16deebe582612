"""The enterprise around the sessions (SPEC section 10) end to end, over real HTTP against the
fake in both API versions: people, organizations, playbooks and knowledge notes land field by
field as the fake serves them; items that leave and come back get and lose removed_at; each
part's permission withheld is a warning by default and a failure when named; --from-raw
rebuilds the same rows; --with / --without choose the parts."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from pipeline.schema import ENTERPRISE_TABLES, MESSAGE_TABLES
from pipeline.warehouse import STATE_DIR, Warehouse
from tests.helpers import NO_BILL, CliResult, get, query, query_each, run_cli, scalar

KEYS = {"v2": "apk_user_TEST-ADMIN-3f8b1c", "v3": "cog_TEST-SERVICE-USER-8e4d2a"}
PARTS = {"v2": ("people", "organizations", "playbooks"),
         "v3": ("people", "organizations", "playbooks", "knowledge")}  # fmt: skip
PERMISSIONS = {"people": "ViewAccountMembership", "organizations": "ManageOrganizations",
               "playbooks": "ManageAccountPlaybooks", "knowledge": "ManageAccountKnowledge"}  # fmt: skip
TABLES_OF = {"people": ("users", "user_roles", "org_members"), "organizations": ("organizations",),
             "playbooks": ("playbooks",), "knowledge": ("knowledge_notes",)}  # fmt: skip
LINEAGE = ("_run_id", "_extracted_at")


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(sessions=40, seed=11)


@pytest.fixture
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(retry_after=0)) as srv:
        yield srv


def export(server: FakeApiServer, out: Path, version: str, *args: str) -> CliResult:
    return run_cli(*args, "--out", str(out), "--api-url", server.url, "--retries", "1",
                   key=KEYS[version])  # fmt: skip


# -- what the fake serves, as the tables should hold it (the yardstick, written apart) -------


def _ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def served(devin: FakeDevin, version: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the enterprise tables, lineage left out, from the fake's own answers."""
    ent = devin.enterprise
    tables: dict[str, set[tuple[Any, ...]]] = {t.name: set() for t in ENTERPRISE_TABLES}
    if version == "v2":
        orgs = ent.orgs_v2()
        members = {o["org_id"]: ent.org_members_v2(o["org_id"]) or [] for o in orgs}
        for u in ent.users_v2():
            tables["users"].add((
                u["user_id"], u["email"], u["name"], u["enterprise_role"], _ts(u["created_at"]),
                _ts(u["last_login"]), u["login_count"], u["sessions_created_count"],
                u["searches_created_count"], u["saml_id"], None, None, "v2",
            ))  # fmt: skip
            roles = [(u["enterprise_role"], u["enterprise_role"], "enterprise", None)] + [
                (m["org_role"], m["org_role_name"], "org", org_id)
                for org_id, items in members.items()
                for m in items
                if m["user_id"] == u["user_id"]
            ]
            for n, role in enumerate(roles):
                tables["user_roles"].add((u["user_id"], n, *role, None, None))
        for org_id, items in members.items():
            for m in items:
                tables["org_members"].add((org_id, m["user_id"], m["org_role"], m["org_role_name"]))
        for o in orgs:
            tables["organizations"].add((
                o["org_id"], o["org_name"], _ts(o["created_at"]), None, o["max_cycle_acu_limit"],
                o["max_session_acu_limit"], o["org_admin_count"], o["org_member_count"],
                o["org_user_count"], None, "v2",
            ))  # fmt: skip
        for b in ent.playbooks("v2"):
            tables["playbooks"].add((
                b["playbook_id"], b["title"], b["body"], b["access"], None, b["status"],
                b["macro"], _ts(b["created_at"]), _ts(b["updated_at"]), b["created_by_user_id"],
                b["created_by_user_name"], b["updated_by_user_id"], b["updated_by_user_name"],
                None, "v2",
            ))  # fmt: skip
        return tables
    direct = {u["user_id"]: u for u in ent.users_v3("members/users")}
    idp = {u["user_id"]: u for u in ent.users_v3("members/idp-users")}
    for user_id in {*direct, *idp}:
        d, i = direct.get(user_id), idp.get(user_id)
        base = d or i
        assert base is not None
        roles = [(a["role"], a.get("org_id"), "direct", None) for a in (d or {}).get(
            "role_assignments", [])] + [
            (a["role"], a.get("org_id"), "idp", a["idp_group_name"])
            for a in (i or {}).get("idp_role_assignments", [])
        ]  # fmt: skip
        enterprise = next(r["role_name"] for r, *_ in roles if r["role_type"] == "enterprise")
        name = (d or {}).get("name") or (i or {}).get("name")
        email = (d or {}).get("email") or (i or {}).get("email")
        tables["users"].add((user_id, email, name, enterprise, None, None, None, None, None, None,
                             "direct" if d else "idp", None, "v3"))  # fmt: skip
        orgs_seen: set[str] = set()
        for n, (role, org_id, via, group) in enumerate(roles):
            tables["user_roles"].add((user_id, n, role["role_id"], role["role_name"],
                                      role["role_type"], org_id, via, group))  # fmt: skip
            if org_id is not None and org_id not in orgs_seen:
                orgs_seen.add(org_id)
                tables["org_members"].add((org_id, user_id, role["role_id"], role["role_name"]))
    for o in ent.orgs_v3():
        tables["organizations"].add((
            o["org_id"], o["name"], _ts(o["created_at"]), _ts(o["updated_at"]),
            o["max_cycle_acu_limit"], o["max_session_acu_limit"], None, None, None, None, "v3",
        ))  # fmt: skip
    for b in ent.playbooks("v3"):
        tables["playbooks"].add((
            b["playbook_id"], b["title"], b["body"], b["access_type"], b["org_id"], None,
            b["macro"], _ts(b["created_at"]), _ts(b["updated_at"]), b["created_by"], None,
            b["updated_by"], None, None, "v3",
        ))  # fmt: skip
    for n in ent.notes():
        tables["knowledge_notes"].add((
            n["note_id"], n["name"], n["body"], n["trigger"], n["access_type"], n["org_id"],
            n["folder_id"], n["folder_path"], n["is_enabled"], n["macro"], n["pinned_repo"],
            _ts(n["created_at"]), _ts(n["updated_at"]), None,
        ))  # fmt: skip
    return tables


def _normal(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def stored(db: Path, left_out: tuple[str, ...] = LINEAGE) -> dict[str, set[tuple[Any, ...]]]:
    """The enterprise tables as the warehouse holds them, some columns left out."""
    found = query_each(db, {
        t.name: f"select {', '.join(c for c in t.column_names if c not in left_out)} from {t.name}"
        for t in ENTERPRISE_TABLES
    })  # fmt: skip
    return {name: {tuple(_normal(v) for v in row) for row in rows} for name, rows in found.items()}


def enterprise_requests(server: FakeApiServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if "/sessions" not in r["path"]]


# -- every table, field by field ------------------------------------------------------------


def assert_holds_what_the_fake_serves(server, devin, out, version):
    db = out / "devin.duckdb"
    expected = served(devin, version)
    got = stored(db)
    for table in ENTERPRISE_TABLES:
        if version == "v2" and table.name == "knowledge_notes":
            assert got[table.name] == set()  # v2 has no knowledge notes
            continue
        assert expected[table.name], table.name  # the fake serves some of each
        assert got[table.name] == expected[table.name], table.name
    # The traps are in it: users only an IdP group brings, users without a name or email,
    # organizations no session names, under ids of another shape.
    if version == "v3":
        assert scalar(db, "select count(*) from users where membership = 'idp'") > 0
        assert scalar(db, "select count(*) from users where name is null") > 0
        assert scalar(db, "select count(*) from users where email is null") > 0
        assert scalar(db, "select count(*) from user_roles where via = 'idp'") > 0
    else:
        assert scalar(db, "select count(*) from users where name = ''") > 0  # "" stays ""
    assert scalar(db, "select count(*) from organizations where org_id like 'org-%'") > 0
    # every user, org and playbook a session names is there, and more that none names
    for column, table, key in (("user_id", "users", "user_id"), ("org_id", "organizations",
                               "org_id"), ("playbook_id", "playbooks", "playbook_id")):  # fmt: skip
        if column == "playbook_id" and version == "v2":
            continue  # v2 sessions keep it in extra
        unknown = f"select count(*) from sessions where {column} not in (select {key} from {table})"
        assert scalar(db, unknown) == 0, column
        unnamed = f"select count(*) from {table} where {key} not in (select {column} from sessions where {column} is not null)"
        assert scalar(db, unnamed) > 0, table
    # Parquet: one file a table, the same rows
    for table in ENTERPRISE_TABLES:
        parquet = pq.read_table(out / "parquet" / table.name / f"{table.name}.parquet")
        assert parquet.schema == table.arrow_schema
        assert parquet.num_rows == scalar(db, f"select count(*) from {table.name}")
    # Paged as the server answers: 25 items a page whatever was asked, cursor or offset.
    pages = [r for r in enterprise_requests(server) if "members" in r["path"]]
    assert len(pages) > 2
    assert all(r["status"] == 200 for r in enterprise_requests(server))
    # Views name people and organizations.
    assert scalar(db, "select count(*) from v_people") == len(expected["users"])
    assert scalar(db, "select count(*) from v_sessions where user_id is not null "
                      "and user_email is null and user_name is null") == 0  # fmt: skip
    assert scalar(db, "select count(*) from v_sessions where org_name is null") == 0
    assert scalar(db, "select count(*) from v_user_usage where user_id is not null "
                      "and email is null and name is null") == 0  # fmt: skip
    checks = dict(query(db, "select check_name, failing_rows from quality_checks"))
    for name in ("sessions_user_exists", "sessions_org_exists", "sessions_playbook_exists",
                 "note_usages_note_exists"):  # fmt: skip
        assert checks[name] == 0, name


# -- removed and back, and the rebuild from raw -----------------------------------------------


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_every_table_as_served_and_items_that_leave_and_come_back(server, devin, out, tmp_path,
                                                                  version):  # fmt: skip
    ent = devin.enterprise
    db = out / "devin.duckdb"
    result = export(server, out, version, "--all", "--quiet", *NO_BILL)
    assert result.code == 0, result.stderr
    assert_holds_what_the_fake_serves(server, devin, out, version)
    first = stored(db, (*LINEAGE, "removed_at"))
    gone = ent.rotate()
    before = datetime.now(UTC)
    assert export(server, out, version, "--all", "--quiet", *NO_BILL).code == 0
    after = datetime.now(UTC)
    keys = {"users": "user_id", "organizations": "org_id", "playbooks": "playbook_id",
            "knowledge_notes": "note_id"}  # fmt: skip
    kinds = {"users": "users", "organizations": "orgs", "playbooks": "playbooks",
             "knowledge_notes": "notes"}  # fmt: skip
    for table, key in keys.items():
        if version == "v2" and table == "knowledge_notes":
            continue
        removed = dict(
            query(db, f"select {key}, removed_at from {table} where removed_at is not null")
        )
        assert set(removed) == set(gone[kinds[table]]), table
        assert all(before <= at <= after for at in removed.values())
        # kept whole: every row of the first run is still there
        assert {r[0] for r in first[table]} <= {r[0] for r in stored(db)[table]}
    # Their roles stay as they were; the memberships of those still listed follow the API.
    back = set(gone["users"])
    gone_again = ent.rotate()
    assert export(server, out, version, "--all", "--quiet", *NO_BILL).code == 0
    for table, key in keys.items():
        if version == "v2" and table == "knowledge_notes":
            continue
        removed = {
            r[0] for r in query(db, f"select {key} from {table} where removed_at is not null")
        }
        assert removed == set(gone_again[kinds[table]]), table
    assert scalar(db, "select count(*) from users where removed_at is null and user_id in "
                      f"({', '.join(repr(u) for u in back)})") == len(back)  # fmt: skip
    # What is listed now is exact, field by field.
    expected, got = served(devin, version), stored(db)
    for table in ("users", "organizations", "playbooks"):
        listed = {r for r in got[table] if r[-2] is None}
        assert listed == expected[table], table

    # --from-raw replays the runs in order: the same rows, removed_at and _extracted_at included.
    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet", key=None)
    assert result.code == 0, result.stderr
    assert stored(rebuilt / "devin.duckdb", ("_run_id",)) == stored(db, ("_run_id",))


def test_a_listing_that_fails_marks_nothing_removed_and_writes_nothing(server, devin, out):
    db = out / "devin.duckdb"
    assert export(server, out, "v3", "--all", "--quiet", *NO_BILL).code == 0
    first = stored(db)
    devin.enterprise.rotate()
    # the second page of members/users fails after its retry: the roster is not whole
    server.faults.script("members/users:page:25", ["500", "500"])
    result = export(server, out, "v3", "--all", "--quiet", *NO_BILL)
    assert result.code == 1
    assert "people: http_error" in result.stderr
    assert stored(db)["users"] == first["users"]  # nothing removed, nothing rewritten
    assert stored(db)["user_roles"] == first["user_roles"]
    errors = query(db, "select part, session_id, kind, http_status from export_errors")
    assert errors == [("people", "", "http_error", 500)]
    # the other parts went on, and did mark what left them
    assert scalar(db, "select count(*) from playbooks where removed_at is not null") == 2


# -- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "part"), [(v, p) for v, parts in PARTS.items() for p in parts])
def test_a_part_the_key_may_not_read_is_a_warning_by_default(server, devin, out, tmp_path,
                                                             version, part):  # fmt: skip
    devin.enterprise.forbid(part)
    # v2 people lists the organizations for their ids: it needs that endpoint too
    denied = [p for p in PARTS[version] if p == part or (version, p, part) == ("v2", "people",
                                                                                "organizations")]  # fmt: skip
    summary = tmp_path / "summary.json"
    result = export(server, out, version, "--all", "--summary-json", str(summary))
    # Included by default: one warning line, a row of export_errors, the run goes on, exit 0.
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == len(denied)
    for denied_part, line in zip(denied, warnings, strict=True):
        assert f"warning: {denied_part}: the API refused (HTTP 403): the key needs" in line
        assert (PERMISSIONS[part] if version == "v3" else "Enterprise admin") in line
    db = out / "devin.duckdb"
    errors = query(db, "select part, session_id, kind, http_status from export_errors order by 1")
    assert errors == [(p, "", "permission_denied", 403) for p in sorted(denied)]
    message = scalar(db, f"select message from export_errors where part = '{part}'")
    assert (PERMISSIONS[part] if version == "v3" else "Enterprise admin") in message
    assert query(db, "select status, sessions_failed from export_runs") == [("ok", 0)]
    assert scalar(db, "select count(*) from sessions") == len(devin)
    record = json.loads(summary.read_text())
    for name in PARTS[version]:
        for table in TABLES_OF[name]:
            count = scalar(db, f"select count(*) from {table}")
            assert (count == 0) == (name in denied), (name, table)
        status = record["parts"][name]["status"]
        assert status == ("permission_denied" if name in denied else "exported"), name
    assert "needs" in record["parts"][part]["reason"]
    assert record["errors_by_kind"] == {} and record["sessions_failed"] == 0
    assert "parts the key may not read: " + denied[0] in result.stdout


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_a_part_named_in_with_that_the_key_may_not_read_fails_the_run(server, devin, out,
                                                                       version):  # fmt: skip
    devin.enterprise.forbid(*PARTS[version])  # none readable; one named
    result = export(server, out, version, "--all", "--with", "playbooks")
    assert result.code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [line for line in errors if line.startswith(
        "devin-export: error: playbooks: the API refused (HTTP 403)")]  # fmt: skip
    assert len(errors) == 1
    warned = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warned) == len(PARTS[version]) - 1
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from export_errors where kind = 'permission_denied'") == (
        len(PARTS[version])
    )
    assert query(db, "select status, sessions_exported, sessions_failed from export_runs") == [
        ("partial", len(devin), 1)
    ]


def test_a_401_on_a_part_stops_the_run(server, devin, out):
    devin.enterprise.forbid("playbooks", status=401)
    result = export(server, out, "v3", "--all", "--quiet")
    assert result.code == 3
    assert "DEVIN_API_KEY" in result.stderr and "Traceback" not in result.stderr


# -- which parts a run exports ---------------------------------------------------------------


def test_runs_by_id_list_no_part_and_with_adds_them(server, devin, out):
    ids = devin.ids()[:2]
    assert export(server, out, "v2", *ids, "--quiet").code == 0
    assert enterprise_requests(server) == []
    server.clear_requests()
    result = export(server, out, "v2", ids[0], "--with", "organizations,playbooks", "--quiet")
    assert result.code == 0, result.stderr
    paths = {r["path"] for r in enterprise_requests(server)}
    assert paths == {"/v2/enterprise/organizations", "/v2/enterprise/playbooks"}
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from users") == 0
    assert scalar(db, "select count(*) from playbooks") > 0
    # The raw file keeps each page as received, and where the part's listing ended.
    raw = max((out / "raw").rglob("*.jsonl.gz"))
    lines = [json.loads(line) for line in gzip.decompress(raw.read_bytes()).splitlines()]
    parts = [line["devin_export_part"] for line in lines if "devin_export_part" in line]
    assert [(p["part"], p.get("listing"), p.get("end")) for p in parts] == [
        ("organizations", "organizations", None), ("organizations", None, True),
        ("playbooks", "playbooks", None), ("playbooks", None, True),
    ]  # fmt: skip
    books = next(line["body"] for line in lines if line.get("devin_export_part", {}).get(
        "listing") == "playbooks")  # fmt: skip
    assert books == devin.enterprise.playbooks("v2")  # a bare array, as sent
    assert all(p.get("complete", True) for p in parts)


def test_without_leaves_parts_out_and_the_summary_says_so(server, devin, out, tmp_path):
    summary = tmp_path / "summary.json"
    result = export(server, out, "v3", "--all", "--without", "people", "--without",
                    "knowledge,playbooks", "--summary-json", str(summary))  # fmt: skip
    assert result.code == 0, result.stderr
    listed = {
        r["path"]
        for r in enterprise_requests(server)
        if not r["path"].startswith(("/v3/enterprise/consumption/", "/v3/enterprise/metrics/"))
    }
    assert listed == {"/v3/enterprise/organizations"}  # (the bill: tests/test_billing.py)
    parts = json.loads(summary.read_text())["parts"]
    assert parts["people"] == {"status": "skipped", "reason": "--without", "named": False,
                               "rows": {}, "requests": 0}  # fmt: skip
    assert parts["organizations"]["status"] == "exported"
    assert parts["organizations"]["rows"] == {"organizations": len(devin.enterprise.orgs)}
    assert parts["messages"]["status"] == "exported"  # per session, not an enterprise listing
    assert "parts skipped: people (--without), playbooks (--without), knowledge (--without)" in (
        result.stdout
    )


def test_a_v3_demo_fills_every_table(tmp_path):
    # (the v2 demo: tests/test_cli.py)
    out = tmp_path / "demo"
    result = run_cli("--demo", "30", "--api-version", "v3", "--out", str(out), "--quiet",
                     key=None)  # fmt: skip
    assert result.code == 0, result.stderr
    for table in (*ENTERPRISE_TABLES, *MESSAGE_TABLES):
        assert scalar(out / "devin.duckdb", f"select count(*) from {table.name}") > 0
    assert scalar(out / "devin.duckdb", "select count(*) from v_people where name is not null") > 0


# -- the fake's endpoints, asked straight ---------------------------------------------------


def test_the_fake_serves_the_enterprise_the_way_the_reference_says(server, devin, http):
    def ask(path: str, version: str, **params: Any) -> Any:
        http.headers["Authorization"] = f"Bearer {KEYS[version]}"
        return get(http, server, path, params=params)

    members = ask("/v2/enterprise/members", "v2", limit=200)
    page = members.json()
    assert (page["limit"], page["skip"], page["has_more"]) == (25, 0, True)  # capped, said so
    assert page["total"] == len(devin.enterprise.users_v2()) > 25
    assert isinstance(ask("/v2/enterprise/playbooks", "v2").json(), list)  # a bare array
    idp = ask("/v3/enterprise/members/idp-users", "v3").json()
    assert "total" not in idp and idp["items"]  # total may be absent
    assert all("idp_role_assignments" in u for u in idp["items"])
    notes = ask("/v3/enterprise/knowledge/notes", "v3", first=10).json()
    following = ask("/v3/enterprise/knowledge/notes", "v3", first=10, after=notes["end_cursor"])
    assert [n["note_id"] for n in notes["items"] + following.json()["items"]] == (
        devin.enterprise.note_ids()[:20]
    )
    assert ask("/v2/enterprise/organizations/nope/members", "v2").status_code == 404
    assert ask("/v3/enterprise/knowledge/notes", "v3", after="not-a-cursor").status_code == 422
    http.headers["Authorization"] = f"Bearer {KEYS['v3']}"
    assert http.post(server.url + "/v3/enterprise/playbooks", timeout=5).status_code == 405
    devin.enterprise.forbid("knowledge")
    refused = ask("/v3/enterprise/knowledge/notes", "v3")
    assert refused.status_code == 403 and "ManageAccountKnowledge" in refused.text
    # every note a v3 analysis names is a note the enterprise lists
    named = {
        usage["note_id"]
        for sid in devin.ids()
        for kind in ("good_usages", "bad_usages")
        for usage in (
            ((devin.session(sid, "v3") or {}).get("analysis") or {}).get("note_usage") or {}
        ).get(kind, [])  # fmt: skip
        if isinstance(usage, dict)
    }
    assert named and named <= set(devin.enterprise.note_ids())


def test_errors_of_an_older_release_read_as_the_sessions_part(tmp_path):
    work = tmp_path / STATE_DIR / "work.duckdb"
    work.parent.mkdir(parents=True)
    with duckdb.connect(str(work)) as con:
        con.execute(
            "create table export_errors (run_id varchar not null, session_id varchar not null, "
            "kind varchar, http_status integer, message varchar, occurred_at timestamptz)"
        )
        con.execute(
            "insert into export_errors values ('r0', 'devin-1', 'not_found', 404, 'x', now())"
        )
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        rows = warehouse.db.execute("select run_id, part, session_id from export_errors").fetchall()
    finally:
        warehouse.close()
    assert rows == [("r0", "sessions", "devin-1")]


def test_an_invalid_item_is_reported_once_and_marks_nothing_removed(server, devin, out):
    db = out / "devin.duckdb"
    assert export(server, out, "v2", "--with", "people", "--quiet").code == 0
    ent = devin.enterprise
    gone = ent.rotate(users=1, orgs=0, playbooks=0, notes=0)["users"]
    # the 25th member: the last of the first page and, pages overlapping by one, the first of
    # the next; a number where its name belongs
    listed = sorted(u["user_id"] for u in ent.users_v2())
    broken = next(p for p in ent.people if p.user_id == listed[24])
    broken.name = 42  # type: ignore[assignment]
    result = export(server, out, "v2", "--with", "people", "--quiet")
    assert result.code == 1
    assert query(db, "select part, session_id, kind from export_errors") == [
        ("people", broken.user_id, "invalid_response")
    ]
    assert "name" in scalar(db, "select message from export_errors")
    # the others are written; the user who left is not marked removed: the list was not whole
    assert scalar(db, "select count(*) from users where removed_at is not null") == 0
    assert scalar(db, f"select count(*) from users where user_id = '{gone[0]}'") == 1
    (quarantined,) = (out / "raw" / "quarantine").rglob("*.jsonl.gz")
    records = [json.loads(line) for line in gzip.decompress(quarantined.read_bytes()).splitlines()]
    assert [(r["part"], r["id"], r["body"]["name"]) for r in records] == [
        ("people", broken.user_id, 42)
    ]
