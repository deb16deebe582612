"""--from-raw: every night's listing of an enterprise part, folded into one write.

Each night lists people, organizations, playbooks, notes, consumption and metrics whole, and a
rebuild replays them all. Written one after the other, each costs the warehouse about a dozen
statements and a commit (20-25 ms): with the enterprise around them, a hundred nights' parts
took longer than their 22,000 sessions. Nothing else a replay writes reads or changes the parts'
tables, so when they are empty as the replay begins (a rebuild into an empty folder), what the
listings leave is computed here, in order, with the live run's rules (pipeline.enterprise_load,
pipeline.billing_load), and written once at the end: the same rows, removed_at included. Into
tables that hold rows already, the listings are written one by one as before, and so are those
that come after a fold grew past FOLD_KEYS and was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.batch import to_arrow
from pipeline.billing_rows import PART_TABLES as BILLING_TABLES
from pipeline.billing_rows import BuiltBilling
from pipeline.enterprise_rows import ITEM_TABLES, PART_TABLES, Built
from pipeline.schema import (
    ACTIVE_USERS,
    CONSUMPTION_CYCLES,
    CONSUMPTION_DAILY,
    ORG_MEMBERS,
    USAGE_DAILY,
    USER_ROLES,
    Table,
)

Row = tuple[Any, ...]


def _index(table: Table, column: str) -> int:
    return table.column_names.index(column)


class _Keyed:
    """A table's rows by key, as deleting a listing's keys, then inserting its rows, leaves
    them: rows of one key in one listing are all kept, as the INSERT keeps them."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.at = [_index(table, c) for c in table.key]
        self.rows: dict[tuple[Any, ...], list[Row]] = {}

    def key(self, row: Row) -> tuple[Any, ...]:
        return tuple(row[i] for i in self.at)

    def put(self, rows: list[Row]) -> None:
        for key in {self.key(row) for row in rows}:
            self.rows.pop(key, None)
        for row in rows:
            self.rows.setdefault(self.key(row), []).append(row)

    def all(self) -> list[Row]:
        return [row for rows in self.rows.values() for row in rows]


class ItemFold:
    """A part with an item table (people, organizations, playbooks, knowledge): a complete
    listing upserts its items, gives removed_at = listed_at to the items it no longer holds
    (unless some of its items were invalid), and for people replaces the roles and
    memberships of every user it names."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.items = _Keyed(ITEM_TABLES[part])
        self.removed_at = _index(ITEM_TABLES[part], "removed_at")
        self.present: set[Any] = set()  # keys of the items whose removed_at is NULL
        # people: each user's rows of user_roles and org_members, as the last listing naming
        # the user left them
        self.children: dict[str, dict[str, list[Row]]] = {USER_ROLES.name: {}, ORG_MEMBERS.name: {}}

    def take(self, built: Built, listed_at: datetime) -> None:
        rows = built.rows[self.items.table.name]
        self.items.put(rows)
        self.present.update(self.items.key(row)[0] for row in rows)
        if not built.invalid:
            at = self.removed_at
            for key in self.present.difference(built.listed):
                rows = self.items.rows[(key,)]
                rows[:] = [(*row[:at], listed_at, *row[at + 1 :]) for row in rows]
            self.present.intersection_update(built.listed)
        if self.part == "people":
            named = built.listed + [row[_index(ORG_MEMBERS, "user_id")]
                                    for row in built.rows[ORG_MEMBERS.name]]  # fmt: skip
            for table in (USER_ROLES, ORG_MEMBERS):
                by_user, user = self.children[table.name], _index(table, "user_id")
                for user_id in named:
                    by_user.pop(user_id, None)
                for row in built.rows[table.name]:
                    by_user.setdefault(row[user], []).append(row)

    def held(self) -> int:
        """About how many rows the fold holds (keys: a few rows each at most)."""
        return len(self.items.rows) + sum(len(by_user) for by_user in self.children.values())

    def tables(self) -> dict[Table, list[Row]]:
        found = {self.items.table: self.items.all()}
        if self.part == "people":
            for table in (USER_ROLES, ORG_MEMBERS):
                by_user = self.children[table.name]
                found[table] = [row for rows in by_user.values() for row in rows]
        return found


class BillingFold:
    """Consumption or metrics: each answer replaces what it covers (the windows it was asked
    for, v2's days of everyone it did not name, the days of the metrics) and its rows replace
    the stored ones by key."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.cycles = _Keyed(CONSUMPTION_CYCLES)
        self.active = _Keyed(ACTIVE_USERS)
        self.usage = _Keyed(USAGE_DAILY)
        # consumption_daily by (scope, scope_id), then billing_date, then product, each row
        # with the number of its writing, to keep their order: a window drops a scope's days
        self.daily: dict[tuple[str, str], dict[date, dict[Any, list[tuple[int, Row]]]]] = {}
        self.daily_at = [_index(CONSUMPTION_DAILY, c)
                         for c in ("scope", "scope_id", "billing_date", "product")]  # fmt: skip
        self._order = count()

    def take(self, built: BuiltBilling) -> None:
        if self.part != "consumption":
            for day in built.days:
                self.usage.rows.pop((day,), None)
            self.usage.put(built.rows[USAGE_DAILY.name])
            self.active.put(built.rows[ACTIVE_USERS.name])
            return
        self.cycles.put(built.rows[CONSUMPTION_CYCLES.name])
        for scope, scope_id, first, end in built.windows:
            self._drop(self.daily.get((scope, scope_id), {}), first, end)
        for first, end, named in built.named:
            kept = set(named)
            for (scope, scope_id), days in self.daily.items():
                if scope == "user" and scope_id not in kept:
                    self._drop(days, first, end)
        at_scope, at_id, at_date, at_product = self.daily_at
        rows = built.rows[CONSUMPTION_DAILY.name]
        for row in rows:
            days = self.daily.setdefault((row[at_scope], row[at_id]), {})
            days.setdefault(row[at_date], {}).pop(row[at_product], None)
        for row in rows:
            products = self.daily[(row[at_scope], row[at_id])][row[at_date]]
            products.setdefault(row[at_product], []).append((next(self._order), row))

    @staticmethod
    def _drop(days: dict[date, Any], first: date, end: date) -> None:
        if len(days) <= (end - first).days:
            for day in [d for d in days if first <= d < end]:
                del days[day]
            return
        day = first
        while day < end:
            days.pop(day, None)
            day += timedelta(days=1)

    def held(self) -> int:
        """About how many rows the fold holds (keys: a row for each product at most)."""
        keyed = len(self.cycles.rows) + len(self.usage.rows) + len(self.active.rows)
        return keyed + sum(len(days) for days in self.daily.values())

    def tables(self) -> dict[Table, list[Row]]:
        if self.part != "consumption":
            return {USAGE_DAILY: self.usage.all(), ACTIVE_USERS: self.active.all()}
        daily = sorted(
            entry for days in self.daily.values() for products in days.values()
            for entries in products.values() for entry in entries
        )  # fmt: skip
        return {CONSUMPTION_CYCLES: self.cycles.all(), CONSUMPTION_DAILY: [row for _, row in daily]}


Fold = ItemFold | BillingFold
# A fold that grows past this many keys (an enterprise of thousands billed by the day over
# years) is written and its part goes on listing by listing: its memory stays within tens of MB.
FOLD_KEYS = 50_000


def empty(con: duckdb.DuckDBPyConnection, part: str) -> bool:
    """Whether every table the part writes is empty: only then may its listings be folded."""
    tables = PART_TABLES[part] if part in PART_TABLES else BILLING_TABLES[part]
    counts = " UNION ALL ".join(f"SELECT count(*) FROM {t.name}" for t in tables)
    return all(n == 0 for (n,) in con.execute(counts).fetchall())


def tables(fold: Fold) -> Iterator[tuple[Table, pa.Table]]:
    """What the fold holds, as Arrow tables to insert."""
    for table, rows in fold.tables().items():
        if rows:
            yield table, to_arrow(table, rows)
