"""Session messages (v3, SPEC section 10) end to end over real HTTP against the fake: every
message as served, in order, in DuckDB and Parquet; sessions.initial_user_message from the
first user message; runs by id, --all and --refresh-open include them; a session whose
messages fail keeps its rows and its stored messages; the permission withheld; --from-raw
rebuilds them."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from pipeline.fake_api.messages import messages as served_messages
from pipeline.fake_api.quirks import Quirks
from pipeline.schema import SESSION_MESSAGES
from tests.helpers import NO_BILL, query, run_cli, scalar

KEYS = {"v2": "apk_user_TEST-ADMIN-3f8b1c", "v3": "cog_TEST-SERVICE-USER-8e4d2a"}
COLUMNS = ", ".join(SESSION_MESSAGES.column_names)


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(sessions=30, seed=5)


@pytest.fixture
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(retry_after=0)) as srv:
        yield srv


def export(server: FakeApiServer, out: Path, version: str, *args: str) -> Any:
    return run_cli(*args, "--out", str(out), "--api-url", server.url, "--retries", "1",
                   key=KEYS[version])  # fmt: skip


def expected(devin: FakeDevin, session_ids: list[str]) -> list[tuple[Any, ...]]:
    """The rows session_messages must hold, from the fake's own messages (the yardstick)."""
    rows = []
    for sid in session_ids:
        for n, m in enumerate(served_messages(devin, sid) or []):
            at = datetime.fromtimestamp(m["created_at"], UTC)
            rows.append((sid, n, m["event_id"], m["source"], m["message"], at))
    return sorted(rows)


def first_prompts(devin: FakeDevin, session_ids: list[str]) -> dict[str, str | None]:
    found = {}
    for sid in session_ids:
        users = [m["message"] for m in served_messages(devin, sid) or [] if m["source"] == "user"]
        found[sid] = users[0] if users else None
    return found


def stored(db: Path) -> list[tuple[Any, ...]]:
    rows = query(db, f"select {COLUMNS} from session_messages order by session_id, ordinal")
    return [(*r[:5], r[5].astimezone(UTC)) for r in rows]


def message_requests(server: FakeApiServer) -> list[dict[str, Any]]:
    return [r for r in server.requests if r["path"].endswith("/messages")]


def test_an_all_run_stores_every_message_as_served_in_duckdb_and_parquet(server, devin, out,
                                                                          tmp_path):  # fmt: skip
    summary = tmp_path / "summary.json"
    result = export(server, out, "v3", "--all", *NO_BILL, "--summary-json", str(summary), "--quiet")
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    ids = devin.ids()
    assert stored(db) == expected(devin, ids)
    # one request a session, more for a conversation longer than a page (the fake's cap, 25)
    requests = message_requests(server)
    paged = [r for r in requests if "after" in r["query"]]
    long = [s for s in ids if len(served_messages(devin, s) or []) > 25]
    assert long and len(paged) >= len(long)
    assert len(requests) == len(ids) + len(paged)
    assert all(r["status"] == 200 for r in requests)
    # The first prompt: the first user message, not the first message (some open with Devin's).
    prompts = dict(query(db, "select session_id, initial_user_message from sessions"))
    assert prompts == first_prompts(devin, ids)
    opened_by_devin = [s for s in ids if (served_messages(devin, s) or [{}])[0].get("source")
                       == "devin"]  # fmt: skip
    assert opened_by_devin and all(prompts[s] is not None for s in opened_by_devin)
    # The summary counts them and their requests.
    part = json.loads(summary.read_text())["parts"]["messages"]
    assert part["status"] == "exported" and part["requests"] == len(requests)
    assert part["rows"] == {"session_messages": len(expected(devin, ids))}
    # Parquet: partitioned by the session's created month, the same rows, every column described.
    dataset = ds.dataset(out / "parquet" / "session_messages", format="parquet",
                         partitioning="hive")  # fmt: skip
    table = dataset.to_table()
    for field in SESSION_MESSAGES.arrow_schema:
        assert table.schema.field(field.name).type == field.type
        assert dataset.schema.field(field.name).metadata[b"description"]
    rows = sorted(zip(*(table.column(c).to_pylist() for c in SESSION_MESSAGES.column_names),
                      strict=True))  # fmt: skip
    assert [(*r[:5], r[5].astimezone(UTC)) for r in rows] == expected(devin, ids)
    months = dict(query(db, "select session_id, strftime(created_at, '%Y-%m') from sessions"))
    for sid, month in zip(table.column("session_id").to_pylist(),
                          table.column("created_month").to_pylist(), strict=True):  # fmt: skip
        assert months[sid] == month
    # Every column commented in DuckDB.
    comments = query(db, "select column_name, comment from duckdb_columns() "
                         "where table_name = 'session_messages'")  # fmt: skip
    assert len(comments) == len(SESSION_MESSAGES.columns) and all(c for _, c in comments)


def test_a_v2_run_asks_for_no_messages_and_keeps_its_prompt(server, devin, out):
    result = export(server, out, "v2", "--all", *NO_BILL, "--quiet")
    assert result.code == 0, result.stderr
    assert message_requests(server) == []
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from session_messages") == 0
    prompts = dict(query(db, "select session_id, initial_user_message from sessions"))
    assert prompts == {s: (devin.session(s) or {})["initial_user_message"] for s in devin.ids()}


@pytest.mark.parametrize("bare", [False, True])
def test_runs_by_id_and_refresh_open_fetch_their_sessions_messages(server, devin, out, bare):
    server.quirks = Quirks(bare_ids=bare)
    ended = ("exit", "error")
    moving = [s for s in devin.ids() if (devin.session(s, "v3") or {})["status"] not in ended]
    ids = moving[:2] + [s for s in devin.ids() if s not in moving][:2]
    given = [s.removeprefix("devin-") for s in ids[:2]] + ids[2:]  # with and without the prefix
    result = export(server, out, "v3", *given, "--quiet")
    assert result.code == 0, result.stderr
    keys = [s.removeprefix("devin-") if bare else s for s in ids]  # the id the API returns
    db = out / "devin.duckdb"
    assert {r["path"] for r in message_requests(server)} == {
        f"/v3/enterprise/sessions/{s}/messages" for s in ids
    }
    got = stored(db)
    assert got == [(keys[ids.index(s)], *rest) for s, *rest in expected(devin, ids)]
    # --without messages: the sessions, not their messages
    server.clear_requests()
    assert export(server, out, "v3", "--refresh-open", "--without", "messages").code == 0
    assert message_requests(server) == []
    # --refresh-open alone: the messages of every session it refreshes
    assert export(server, out, "v3", "--refresh-open", "--quiet").code == 0
    refreshed = {r["session_id"] for r in server.requests if r["path"].endswith("/insights")}
    asked = {r["session_id"] for r in message_requests(server)}
    assert asked == refreshed and set(ids[:2]) <= asked


def test_messages_of_a_session_replace_its_earlier_ones(server, devin, out):
    sid = devin.ids()[0]
    db = out / "devin.duckdb"
    assert export(server, out, "v3", sid, "--quiet").code == 0
    work = out / ".devin-export" / "work.duckdb"
    with duckdb.connect(str(work)) as con:  # a longer conversation stored earlier
        con.execute("insert into session_messages values (?, 999, 'evt-old', 'user', 'old', now())",
                    [sid])  # fmt: skip
        con.execute("update sessions set initial_user_message = 'stale'")
    assert export(server, out, "v3", sid, "--quiet").code == 0
    assert stored(db) == expected(devin, [sid])
    assert (
        scalar(db, "select initial_user_message from sessions") == first_prompts(devin, [sid])[sid]
    )


def test_a_session_whose_messages_fail_keeps_its_rows_and_the_others_go_on(server, devin, out):
    ids = devin.ids()[:5]
    db = out / "devin.duckdb"
    assert export(server, out, "v3", *ids, "--quiet").code == 0
    before = stored(db)
    bad, invalid = ids[1], ids[3]
    server.faults.script(f"messages:{bad}", ["500", "500"])
    server.faults.script(f"messages:{invalid}", ["wrong-type"])
    result = export(server, out, "v3", *ids)
    assert result.code == 1
    assert f"{bad}: http_error" in result.stderr
    assert f"{invalid}: invalid_response" in result.stderr
    errors = query(db, "select part, session_id, kind, http_status from export_errors "
                       "order by session_id")  # fmt: skip
    assert errors == sorted([("messages", bad, "http_error", 500),
                             ("messages", invalid, "invalid_response", None)],
                            key=lambda e: e[1])  # fmt: skip
    # every session written, every conversation there: the two failed keep the earlier ones
    assert scalar(db, "select count(*) from sessions") == len(ids)
    assert stored(db) == before == expected(devin, ids)
    prompts = dict(query(db, "select session_id, initial_user_message from sessions"))
    assert prompts == first_prompts(devin, ids)
    # the invalid body is quarantined, with the error
    quarantine = max((out / "raw" / "quarantine").rglob("*.jsonl.gz"))
    records = [json.loads(line) for line in gzip.decompress(quarantine.read_bytes()).splitlines()]
    assert [(r["part"], r["session_id"]) for r in records] == [("messages", invalid)]
    assert "created_at" in records[0]["error"]


def test_without_the_permission_messages_are_a_warning_by_default_and_a_failure_named(
    server, devin, out
):
    devin.enterprise.forbid("messages")
    result = export(server, out, "v3", "--all", *NO_BILL)
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1
    assert "messages: the API refused (HTTP 403): the key needs ViewAccountSessions" in warnings[0]
    db = out / "devin.duckdb"
    assert query(db, "select part, session_id, kind, http_status from export_errors") == [
        ("messages", "", "permission_denied", 403)
    ]
    assert scalar(db, "select count(*) from sessions") == len(devin)
    assert scalar(db, "select count(*) from session_messages") == 0
    assert scalar(db, "select count(*) from users") > 0  # the other parts went on
    assert "parts the key may not read: messages" in result.stdout
    # named: the run fails
    result = export(server, out, "v3", devin.ids()[0], "--with", "messages")
    assert result.code == 1
    assert "error: messages: the API refused (HTTP 403)" in result.stderr


def test_from_raw_rebuilds_the_messages_and_the_prompts(server, devin, out, tmp_path):
    db = out / "devin.duckdb"
    assert export(server, out, "v3", "--all", *NO_BILL, "--quiet").code == 0
    assert export(server, out, "v3", *devin.ids()[:3], "--quiet").code == 0  # again, replaced
    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet", key=None)
    assert result.code == 0, result.stderr
    assert stored(rebuilt / "devin.duckdb") == stored(db) == expected(devin, devin.ids())
    prompts = "select session_id, initial_user_message from sessions order by 1"
    assert query(rebuilt / "devin.duckdb", prompts) == query(db, prompts)
    # the second run's Parquet: its sessions' partitions rewritten, the messages whole once
    table = ds.dataset(out / "parquet" / "session_messages", format="parquet",
                       partitioning="hive").to_table()  # fmt: skip
    rows = zip(*(table.column(c).to_pylist() for c in SESSION_MESSAGES.column_names), strict=True)
    assert sorted((*r[:5], r[5].astimezone(UTC)) for r in rows) == stored(db)


def _members(path: Path) -> list[bytes]:
    data, members = path.read_bytes(), []
    while data:
        reader = zlib.decompressobj(wbits=31)
        members.append(reader.decompress(data))
        data = reader.unused_data
    return members


def test_a_damaged_messages_line_loses_its_session_s_messages_only(server, devin, out, tmp_path):
    # A raw file edited by hand (or cut by a tool that knows no gzip members): the messages
    # lines are read in the rebuild's reading process, and a page that does not parse there
    # leaves its session's messages out, not the rebuild or the other sessions' messages.
    db = out / "devin.duckdb"
    assert export(server, out, "v3", *devin.ids()[:6], "--quiet").code == 0
    (raw,) = (out / "raw").glob("*/*.jsonl.gz")
    members, victim = _members(raw), None
    for number, member in enumerate(members):
        lines = member.split(b"\n")
        for i, line in enumerate(lines):
            if victim is None and b'"part":"messages"' in line[:400] and b'"last":true' in line:
                victim = json.loads(line)["devin_export_part"]["session_id"]
                lines[i] = line[: len(line) // 2]
        members[number] = b"\n".join(lines)
    assert victim is not None
    raw.write_bytes(b"".join(gzip.compress(m) for m in members))
    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(raw), "--out", str(rebuilt), "--quiet", key=None)
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    kept = [r for r in stored(db) if r[0] != victim]
    assert stored(db) != kept  # the victim had messages in the live run
    assert stored(rebuilt / "devin.duckdb") == kept
    assert scalar(rebuilt / "devin.duckdb", "select count(*) from sessions") == 6


def test_a_v3_demo_fills_session_messages(tmp_path):
    out = tmp_path / "demo"
    result = run_cli("--demo", "20", "--api-version", "v3", "--out", str(out), "--quiet", key=None)
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from session_messages") > 0
    assert scalar(db, "select count(initial_user_message) from sessions") > 0


def test_a_401_on_messages_stops_the_run(server, devin, out):
    devin.enterprise.forbid("messages", status=401)
    result = export(server, out, "v3", *devin.ids()[:3], "--quiet")
    assert result.code == 3
    assert "DEVIN_API_KEY" in result.stderr and "Traceback" not in result.stderr
