"""A rebuild folds each enterprise part's listings into one write (pipeline.part_fold): the
warehouse must end exactly as when each listing is written in turn, as a live night writes it.

Listings are drawn at random over a few people, organizations, days and scopes, so that items
leave and come back, invalid listings mark nothing, windows and v2's unnamed users drop days,
and keys repeat within a listing; each sequence is written both ways into real DuckDB files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import part_fold
from pipeline.billing_rows import BuiltBilling
from pipeline.enterprise_load import PartReplay
from pipeline.enterprise_rows import Built, Invalid
from pipeline.parts import replayed_plan
from pipeline.schema import (
    ACTIVE_USERS,
    CONSUMPTION_CYCLES,
    CONSUMPTION_DAILY,
    ORG_MEMBERS,
    ORGANIZATIONS,
    USAGE_DAILY,
    USER_ROLES,
    USERS,
    Table,
)
from pipeline.warehouse import Warehouse

PEOPLE, ORGS = ["u1", "u2", "u3", "u4"], ["o1", "o2", "o3"]
DAYS = [date(2026, 1, 1) + timedelta(days=d) for d in range(6)]
SCOPES = [("enterprise", ""), ("user", "u1"), ("user", "u2"), ("organization", "o1")]
CYCLES = [datetime(2026, m, 1, 8, tzinfo=UTC) for m in (1, 2, 3)]
START = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = (USERS, USER_ROLES, ORG_MEMBERS, ORGANIZATIONS, CONSUMPTION_CYCLES, CONSUMPTION_DAILY,
          USAGE_DAILY, ACTIVE_USERS)  # fmt: skip


def row(table: Table, **values: Any) -> tuple[Any, ...]:
    """A row of table: the values given, NULL elsewhere."""
    return table.row(**{c.name: values.get(c.name) for c in table.columns})


def items(table: Table, key: str, ids: list[str], night: int) -> list[tuple[Any, ...]]:
    stamp = START + timedelta(hours=night)
    return [row(table, **{key: i}, name=f"{i} on night {night}", _extracted_at=stamp)
            for i in ids]  # fmt: skip


@st.composite
def people(draw: st.DrawFn, night: int) -> Built:
    listed = draw(st.lists(st.sampled_from(PEOPLE), unique=True))
    roles = [row(USER_ROLES, user_id=u, ordinal=o, role_id=f"role {night}")
             for u in listed for o in range(draw(st.integers(0, 2)))]  # fmt: skip
    pairs = draw(st.lists(st.tuples(st.sampled_from(ORGS), st.sampled_from(PEOPLE)), unique=True))
    members = [row(ORG_MEMBERS, org_id=o, user_id=u, org_role=f"night {night}") for o, u in pairs]
    rows = {USERS.name: items(USERS, "user_id", listed, night), USER_ROLES.name: roles,
            ORG_MEMBERS.name: members}  # fmt: skip
    return Built(rows, listed, _invalid(draw))


@st.composite
def organizations(draw: st.DrawFn, night: int) -> Built:
    listed = draw(st.lists(st.sampled_from(ORGS), unique=True))
    rows = {ORGANIZATIONS.name: items(ORGANIZATIONS, "org_id", listed, night)}
    return Built(rows, listed, _invalid(draw))


def _invalid(draw: st.DrawFn) -> list[Invalid]:
    return [Invalid("x", "bad", b"{}")] if draw(st.integers(0, 4)) == 0 else []


@st.composite
def consumption(draw: st.DrawFn, night: int) -> BuiltBilling:
    day = st.sampled_from(DAYS)
    cycles = [row(CONSUMPTION_CYCLES, cycle_start=c, api_version="v2")
              for c in draw(st.lists(st.sampled_from(CYCLES), max_size=3))]  # fmt: skip
    daily = [
        row(CONSUMPTION_DAILY, billing_date=d, scope=s, scope_id=i, product=p,
            acus=Decimal(night) + Decimal(n) / 1000)
        for n, (d, (s, i), p) in enumerate(draw(st.lists(
            st.tuples(day, st.sampled_from(SCOPES), st.sampled_from(["all", "devin"])),
            max_size=12)))
    ]  # fmt: skip
    windows = [(s, i, first, first + timedelta(days=length)) for (s, i), first, length in
               draw(st.lists(st.tuples(st.sampled_from(SCOPES), day, st.integers(0, 4)),
                             max_size=3))]  # fmt: skip
    named = [(first, first + timedelta(days=length), sorted(set(who))) for first, length, who in
             draw(st.lists(st.tuples(day, st.integers(0, 4), st.lists(st.sampled_from(PEOPLE))),
                           max_size=1))]  # fmt: skip
    rows = {CONSUMPTION_CYCLES.name: cycles, CONSUMPTION_DAILY.name: daily}
    return BuiltBilling(rows, windows=windows, named=named)


@st.composite
def metrics(draw: st.DrawFn, night: int) -> BuiltBilling:
    usage = [row(USAGE_DAILY, metric_date=d, sessions_count=night)
             for d in draw(st.lists(st.sampled_from(DAYS), max_size=4))]  # fmt: skip
    active = [row(ACTIVE_USERS, period=p, start_time=START + timedelta(days=d), active_users=night)
              for p, d in draw(st.lists(st.tuples(st.sampled_from(["day", "week"]),
                                                  st.integers(0, 2)), max_size=3))]  # fmt: skip
    days = draw(st.lists(st.sampled_from(DAYS), max_size=3))
    return BuiltBilling({USAGE_DAILY.name: usage, ACTIVE_USERS.name: active}, days=days)


LISTINGS = {"people": people, "organizations": organizations, "consumption": consumption,
            "metrics": metrics}  # fmt: skip


@st.composite
def nights(draw: st.DrawFn) -> list[tuple[str, Built | BuiltBilling, datetime]]:
    found = []
    for night in range(draw(st.integers(1, 8))):
        for part in draw(st.lists(st.sampled_from(sorted(LISTINGS)), min_size=1, unique=True)):
            built = draw(LISTINGS[part](night))
            found.append((part, built, START + timedelta(days=night, minutes=len(found))))
    return found


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> list[Warehouse]:
    opened = []
    for name in ("folded", "one by one"):
        warehouse = Warehouse(Path(tmp_path_factory.mktemp(name.replace(" ", "-"))))
        warehouse.open()
        opened.append(warehouse)
    yield opened
    for warehouse in opened:
        warehouse.close()


def stored(warehouse: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: warehouse.db.execute(f"SELECT * FROM {t.name} ORDER BY ALL").fetchall()
            for t in TABLES}  # fmt: skip


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])  # fmt: skip
@given(listings=nights(), bound=st.sampled_from([part_fold.FOLD_KEYS, 3]))
def test_folded_listings_leave_the_rows_the_listings_one_by_one_leave(
    warehouses, monkeypatch, listings, bound
):
    # bound 3: folds grow past it and are written mid-way, their parts going on one by one
    monkeypatch.setattr(part_fold, "FOLD_KEYS", bound)
    folded, one_by_one = warehouses
    for warehouse in warehouses:
        for table in TABLES:
            warehouse.db.execute(f"DELETE FROM {table.name}")
    replays = [PartReplay(w, "rebuild", replayed_plan()) for w in warehouses]
    replays[1].folds = dict.fromkeys(LISTINGS)  # tables that held rows: written as they come
    for part, built, listed_at in listings:
        written = [replay._write(part, built, listed_at, []) for replay in replays]
        assert written[0] == written[1], part  # what the summary counts
    for replay in replays:
        replay.finish()
    assert stored(folded) == stored(one_by_one)


def test_a_part_whose_tables_hold_rows_is_written_listing_by_listing(tmp_path):
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        first = Built({ORGANIZATIONS.name: items(ORGANIZATIONS, "org_id", ["o1"], 0)}, ["o1"])
        replay = PartReplay(warehouse, "rebuild", replayed_plan())
        replay._write("organizations", first, START, [])
        assert warehouse.counts()["organizations"] == 0  # folded: written at the end
        replay.finish()
        assert warehouse.counts()["organizations"] == 1
        again = PartReplay(warehouse, "rebuild", replayed_plan())
        again._write("organizations", Built({ORGANIZATIONS.name: []}, []), START, [])
        removed = warehouse.db.execute("SELECT removed_at FROM organizations").fetchall()
        assert removed == [(START,)]  # at once: the table held a row
    finally:
        warehouse.close()
