"""What it cost (issue 21) end to end, over real HTTP against the fake in both API versions:
every billing day of every listed cycle lands in consumption_daily exactly as the fake serves it
(enterprise, each org, each person; by product in v3) on the 08:00 UTC boundary; a later run
picks up revised days and a new cycle; v_billing_cycles and the report answer "this cycle so
far, forecast, last cycle at the same day"; a key without the permission exports the sessions
and says what it skipped; --from-raw rebuilds the same rows."""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from tests.helpers import CliResult, edited, query, run_cli, scalar

KEYS = {"v2": "apk_user_TEST-ADMIN-3f8b1c", "v3": "cog_TEST-SERVICE-USER-8e4d2a"}
PERMISSION = {"consumption": "ViewAccountConsumption", "metrics": "ViewAccountMetrics"}
# The fake's clock well in the past: every day it serves is complete by the exporter's clock,
# and a test can move it on by weeks.
NOW = (datetime.now(UTC) - timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
WORK = Path(".devin-export") / "work.duckdb"
BILL = "select billing_date, scope, scope_id, product, acus from consumption_daily"
Row = tuple[date, str, str, str, Decimal]


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(sessions=40, seed=11, now=NOW)


@pytest.fixture
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    with FakeApiServer(devin, faults=Faults(retry_after=0)) as srv:
        yield srv


@pytest.fixture(params=["v2", "v3"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def export(server: FakeApiServer, out: Path, version: str, *args: str) -> CliResult:
    return run_cli("--all", *args, "--out", str(out), "--api-url", server.url, "--retries", "1",
                   "--quiet", key=KEYS[version])  # fmt: skip


# -- what the fake serves (the yardstick: asked over HTTP, read apart from the exporter) -----


def ask(server: FakeApiServer, version: str, path: str, **params: Any) -> Any:
    query_string = f"?{urlencode(params, doseq=True)}" if params else ""
    request = urllib.request.Request(
        f"{server.url}/{version}/enterprise/{path}{query_string}",
        headers={"Authorization": f"Bearer {KEYS[version]}"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read(), parse_float=Decimal)


def cycles(server: FakeApiServer, version: str) -> list[tuple[datetime, datetime]]:
    listed = ask(server, version, "consumption/cycles")
    if version == "v2":
        return [(_iso(c["start"]), _iso(c["end"])) for c in listed]
    return [(_epoch(c["after"]), _epoch(c["before"])) for c in listed["items"]]


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def served(server: FakeApiServer, devin: FakeDevin, version: str, start: datetime,
           end: datetime) -> set[Row]:  # fmt: skip
    """Every row the fake serves for the window: the enterprise, each org, each person."""
    if version == "v2":
        bounds = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    else:
        bounds = {"time_after": int(start.timestamp()), "time_before": int(end.timestamp())}
    asks: list[tuple[str, str, str, dict[str, Any]]] = [("enterprise", "", "consumption/daily",
                                                          {})]  # fmt: skip
    for org in devin.enterprise.orgs:
        path = "consumption/daily" if version == "v2" else (
            f"consumption/daily/organizations/{org.org_id}")  # fmt: skip
        asks.append(("organization", org.org_id, path,
                     {"org_ids": org.org_id} if version == "v2" else {}))  # fmt: skip
    for person in devin.enterprise.people:
        path = f"consumption/daily/{person.user_id}" if version == "v2" else (
            f"consumption/daily/users/{person.user_id}")  # fmt: skip
        asks.append(("user", person.user_id, path, {}))
    rows: set[Row] = set()
    for scope, scope_id, path, extra in asks:
        body = ask(server, version, path, **bounds, **extra)
        if version == "v2":
            for day, acus in body["consumption_by_date"].items():
                rows.add((date.fromisoformat(day), scope, scope_id, "all", acus))
            continue
        for item in body["consumption_by_date"]:
            starts = _epoch(item["date"])
            assert (starts.hour, starts.minute) == (8, 0)  # the billing day's start
            day = starts.date()
            rows.add((day, scope, scope_id, "all", item["acus"]))
            for product, acus in item["acus_by_product"].items():
                if acus is not None:
                    rows.add((day, scope, scope_id, product, acus))
    return rows


def stored(db: Path) -> set[Row]:
    return set(query(db, BILL))


# -- the first run -----------------------------------------------------------------------------


def test_first_run_holds_every_billing_day_of_every_cycle_as_served(server, devin, tmp_path,
                                                                    version):  # fmt: skip
    out = tmp_path / "out"
    result = export(server, out, version)
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    # Asked on the billing day's 08:00 UTC bounds, once for the enterprise, each org, each person
    asked = [(p, q) for p, q in devin.enterprise.billing.requests if "/consumption/daily" in p]
    for _, params in asked:
        if version == "v2":
            assert params["start"][0].endswith("T08:00:00Z") and params["end"][0].endswith(
                "T08:00:00Z")  # fmt: skip
        else:
            for name in ("time_after", "time_before"):
                assert int(params[name][0]) % 86_400 == 8 * 3_600
    paths = Counter(p for p, q in asked if "org_ids" not in q)
    assert max(paths.values()) == 1  # one request per person or org (v2: per org by filter)
    listed = cycles(server, version)
    assert len(listed) >= 3  # a cycle boundary inside the data, twice
    assert query(db, "select cycle_start, cycle_end, api_version from consumption_cycles "
                     "order by 1") == [(s, e, version) for s, e in listed]  # fmt: skip
    expected = served(server, devin, version, listed[0][0], listed[-1][1])
    got = stored(db)
    assert got == expected
    # a day not served is absent, never a zero; every scope and (v3) product is there
    assert {r[1] for r in got} == {"enterprise", "organization", "user"}
    products = {r[3] for r in got}
    assert products == ({"all"} if version == "v2" else {"all", "devin", "cascade", "terminal",
                                                         "review"})  # fmt: skip
    cycle_days = {(s - timedelta(hours=8)).date() for s, _ in listed}
    assert all(any(r[0] >= d for r in got) for d in cycle_days)
    # exact decimals, not floats
    assert scalar(db, "select typeof(acus) from consumption_daily limit 1") == "DECIMAL(18,6)"


def test_v_consumption_daily_counts_each_session_on_its_billing_day(server, devin, tmp_path):
    # Sessions on either side of 08:00 UTC: 07:59 belongs to the day before, 08:00 to the day.
    ids = devin.ids()
    devin.update(ids[0], created_at=NOW - timedelta(days=3) + timedelta(hours=7, minutes=59))
    devin.update(ids[1], created_at=NOW - timedelta(days=3) + timedelta(hours=8))
    out = tmp_path / "out"
    assert export(server, out, "v3").code == 0
    made = Counter()
    for session_id in ids:
        created = _epoch(devin.session(session_id, "v3")["created_at"])
        made[(created - timedelta(hours=8)).date()] += 1
    got = dict(
        query(
            out / "devin.duckdb",
            "select billing_date, sessions from v_consumption_daily where sessions > 0",
        )
    )
    assert got == dict(made)
    boundary = (NOW - timedelta(days=3)).date()
    assert made[boundary - timedelta(days=1)] >= 1 and made[boundary] >= 1


# -- the next morning: revised days and a new cycle ------------------------------------------


def test_a_later_run_takes_revised_days_and_the_new_cycle(server, devin, tmp_path, version):
    out = tmp_path / "out"
    assert export(server, out, version).code == 0
    db = out / "devin.duckdb"
    before = stored(db)
    revised = devin.enterprise.billing.revise(2)
    devin.advance(days=20, new_sessions=10, updated_sessions=5)
    devin.enterprise.billing.requests.clear()
    assert export(server, out, version).code == 0
    listed = cycles(server, version)
    assert len(query(db, "select * from consumption_cycles")) == len(listed)
    assert query(db, "select max(cycle_start) from consumption_cycles")[0][0] == listed[-1][0]
    # only the current and the previous cycle were asked for again
    previous = listed[-2][0]
    asked = {q.get("start", q.get("time_after"))[0] for p, q in
             devin.enterprise.billing.requests if "/consumption/daily" in p}  # fmt: skip
    assert asked == {previous.strftime("%Y-%m-%dT%H:%M:%SZ") if version == "v2" else
                     str(int(previous.timestamp()))}  # fmt: skip
    # those days hold what the fake serves now; older days what the first run stored
    first_day = (previous - timedelta(hours=8)).date()
    now = served(server, devin, version, previous, listed[-1][1])
    kept = {r for r in before if r[0] < first_day}
    assert stored(db) == now | kept
    for day in revised:
        old = {r[4] for r in before if r[:4] == (day, "enterprise", "", "all")}
        new = {r[4] for r in stored(db) if r[:4] == (day, "enterprise", "", "all")}
        assert old and new and old != new, day  # the revision is in


# -- the views and the report ------------------------------------------------------------------


def test_v_billing_cycles_and_the_report_answer_this_cycle(server, devin, tmp_path, version):
    out = tmp_path / "out"
    assert export(server, out, version).code == 0
    db = out / "devin.duckdb"
    listed = cycles(server, version)
    (start, end), (prev_start, _) = listed[-1], listed[-2]
    first, last = (start - timedelta(hours=8)).date(), (end - timedelta(hours=8)).date()
    bill = {r[0]: r[4] for r in stored(db) if r[1:4] == ("enterprise", "", "all")}
    days = sorted(d for d in bill if first <= d < last)
    elapsed = (days[-1] - first).days + 1
    so_far = sum(bill[d] for d in days)
    prev_first = (prev_start - timedelta(hours=8)).date()
    same_day = sum(v for d, v in bill.items() if prev_first <= d < prev_first + timedelta(elapsed))
    row = query(db, "select is_current, days_in_cycle, days_elapsed, billed_acus, forecast_acus, "
                    "previous_cycle_acus_same_day from v_billing_cycles "
                    "order by cycle_start desc limit 1")[0]  # fmt: skip
    assert row[:4] == (True, (last - first).days, elapsed, so_far)
    assert abs(row[4] - so_far * (last - first).days / elapsed) <= Decimal("0.000001")
    assert row[5] == same_day
    # the report shows the same figures, and the top person by billed ACUs by name
    report = (out / "report.html").read_text()
    for key, value in (("billed", so_far), ("forecast", row[4]), ("previous_same_day", same_day)):
        shown = re.search(rf'data-billing="{key}" data-value="([^"]*)"', report)
        assert shown and Decimal(shown.group(1)) == value, key
    top, name = query(db, "select c.scope_id, u.name from consumption_daily c left join users u "
                          "on u.user_id = c.scope_id where scope = 'user' and product = 'all' "
                          "and billing_date >= ? group by all order by sum(acus) desc, 1 "
                          "limit 1", [first])[0]  # fmt: skip
    assert (name or top) in report
    assert "Billed ACUs per day, by product" in report
    assert ("Daily active users" in report) == (version == "v3")  # DAU is v3 only
    assert len(report.encode()) < 1_000_000


# -- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["consumption", "metrics"])
def test_a_key_without_the_permission_exports_sessions_and_says_what_it_skipped(
    server, devin, tmp_path, version, part
):
    devin.enterprise.forbid(part)
    out = tmp_path / "out"
    summary = tmp_path / "summary.json"
    result = export(server, out, version, "--summary-json", str(summary))
    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    assert scalar(db, "select count(*) from sessions") == len(devin)
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and f"{part}: the API refused (HTTP 403)" in warning[0]
    needs = PERMISSION[part] if version == "v3" else "Enterprise admin"
    assert needs in warning[0]
    assert query(db, "select part, session_id, kind, http_status from export_errors") == [
        (part, "", "permission_denied", 403)
    ]
    assert needs in scalar(db, "select message from export_errors")
    tables = {"consumption": ("consumption_cycles", "consumption_daily"),
              "metrics": ("usage_daily",)}  # fmt: skip
    for name, names in tables.items():
        for table in names:
            assert (scalar(db, f"select count(*) from {table}") == 0) == (name == part), table
    parts = json.loads(summary.read_text())["parts"]
    assert parts[part]["status"] == "permission_denied"
    # named in --with, the same refusal fails the run
    named = export(server, tmp_path / "named", version, "--with", part)
    assert named.code == 1
    assert f"error: {part}: the API refused (HTTP 403)" in named.stderr


def test_metrics_without_the_cycles_cover_the_sessions_days(server, devin, tmp_path):
    devin.enterprise.forbid("consumption")
    out = tmp_path / "out"
    assert export(server, out, "v3").code == 0
    db = out / "devin.duckdb"
    oldest = scalar(db, "select min(created_at) from sessions").date()
    days = [d for (d,) in query(db, "select metric_date from usage_daily order by 1")]
    assert days[0] == oldest and days[-1] == datetime.now(UTC).date() - timedelta(days=1)
    made = Counter(_epoch(devin.session(i, "v3")["created_at"]).date() for i in devin.ids())
    got = dict(query(db, "select metric_date, sessions_count from usage_daily"))
    assert {d: n for d, n in got.items() if n} == dict(made)


# -- rebuilt from the raw files ------------------------------------------------------------------


def test_from_raw_rebuilds_the_bill_and_the_metrics(server, devin, tmp_path, version):
    out = tmp_path / "out"
    assert export(server, out, version).code == 0
    devin.enterprise.billing.revise(2)
    devin.advance(days=20, new_sessions=5)
    assert export(server, out, version).code == 0
    rebuilt = tmp_path / "rebuilt"
    result = run_cli("--from-raw", str(out / "raw"), "--out", str(rebuilt), "--quiet", key=None)
    assert result.code == 0, result.stderr
    for table in ("consumption_cycles", "consumption_daily", "usage_daily", "active_users"):
        sql = f"select * exclude (_run_id) from {table} order by all" if table == (
            "consumption_daily") else f"select * from {table} order by all"  # fmt: skip
        original = query(out / "devin.duckdb", sql)
        assert original or table == "active_users" and version == "v2", table
        assert query(rebuilt / "devin.duckdb", sql) == original, table


def test_the_report_of_a_warehouse_without_the_bill_has_no_billing_section(server, tmp_path):
    out = tmp_path / "out"
    assert export(server, out, "v3", "--without", "consumption,metrics").code == 0
    report = (out / "report.html").read_text()
    assert 'id="billing"' not in report and 'id="active-users"' not in report
    with edited(out / "devin.duckdb") as con:  # as an older release left it: no such views
        con.execute("drop view v_billing_cycles")
        con.execute("drop view v_active_users")
    assert run_cli("report", "--out", str(out), key=None).code == 0
    assert 'id="billing"' not in (out / "report.html").read_text()


def test_v2_a_person_the_bill_no_longer_names_loses_the_window_days(server, devin, tmp_path):
    # v2 asks only the people its enterprise answer names (consumption_by_user); someone it no
    # longer names billed nothing in the window: a stored day of theirs there goes.
    out = tmp_path / "out"
    assert export(server, out, "v2").code == 0
    db = out / "devin.duckdb"
    listed = cycles(server, "v2")
    inside = (listed[-1][0] - timedelta(hours=8)).date()
    before = (listed[0][0] - timedelta(hours=8)).date()
    with edited(out / WORK) as con:  # the working copy: runs write it, then publish it
        con.execute(
            "insert into consumption_daily (billing_date, scope, scope_id, product, acus) "
            "values (?, 'user', 'user_gone', 'all', 3.5), (?, 'user', 'user_gone', 'all', 1.5)",
            [inside, before],
        )
    assert export(server, out, "v2").code == 0
    assert query(db, "select billing_date, acus from consumption_daily where scope_id = "
                     "'user_gone'") == [(before, Decimal("1.5"))]  # fmt: skip
