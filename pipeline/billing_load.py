"""Load: the consumption and metrics parts into the warehouse, live and from the raw files.

Their answers land in the raw files as the other parts' pages do (pipeline.enterprise_load,
with the scope and the query of each answer), and are written in one transaction per part:

    consumption_cycles   upserted by cycle_start (a cycle no longer listed keeps its row)
    consumption_daily    for each scope an answer covered (the enterprise, an org, a person),
                         its stored days inside the window asked for are replaced by the days
                         the answer holds: revised days change, a day no longer returned goes;
                         in v2, people the enterprise's answer no longer names (it names all
                         who consumed anything in the window) lose their days of the window
    usage_daily          the UTC days asked for, replaced
    active_users         upserted by (period, start_time)

An answer that cannot be read makes the part failed, and nothing of it is written.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipeline.batch import to_arrow
from pipeline.billing_extract import Known
from pipeline.billing_rows import PART_TABLES, BuiltBilling
from pipeline.schema import ACTIVE_USERS, CONSUMPTION_CYCLES, CONSUMPTION_DAILY, USAGE_DAILY


def known(con: duckdb.DuckDBPyConnection) -> Known:
    """The people and organizations to ask about (the roster and whoever sessions name), and
    whether consumption and metrics were ever stored."""

    def column(sql: str) -> tuple[str, ...]:
        return tuple(r[0] for r in con.execute(sql).fetchall())

    users = column(
        "SELECT user_id FROM users WHERE removed_at IS NULL UNION "
        "SELECT DISTINCT user_id FROM sessions WHERE user_id IS NOT NULL ORDER BY 1"
    )
    orgs = column(
        "SELECT org_id FROM organizations WHERE removed_at IS NULL UNION "
        "SELECT DISTINCT org_id FROM sessions WHERE org_id IS NOT NULL ORDER BY 1"
    )
    cycles, usage, oldest = con.execute(
        "SELECT (SELECT count(*) FROM consumption_cycles), (SELECT count(*) FROM usage_daily), "
        "(SELECT min(created_at) FROM sessions)"
    ).fetchall()[0]
    return Known(users, orgs, cycles == 0, usage == 0, oldest)


def _replace(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, on: str) -> None:
    con.register("billing_rows", data)
    try:
        con.execute(f"DELETE FROM {table} t WHERE EXISTS (SELECT 1 FROM billing_rows u WHERE {on})")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM billing_rows")
    finally:
        con.unregister("billing_rows")


def _key(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"t.{c} = u.{c}" for c in columns)


def load_billing(con: duckdb.DuckDBPyConnection, part: str, built: BuiltBilling) -> dict[str, int]:
    """Write a part's rows (inside the caller's transaction); return rows written by table."""
    written: dict[str, int] = {}
    if part == "consumption":
        cycles = to_arrow(CONSUMPTION_CYCLES, built.rows[CONSUMPTION_CYCLES.name])
        _replace(con, CONSUMPTION_CYCLES.name, cycles, _key(CONSUMPTION_CYCLES.key))
        windows = pa.table({
            "scope": pa.array([w[0] for w in built.windows], pa.string()),
            "scope_id": pa.array([w[1] for w in built.windows], pa.string()),
            "first_day": pa.array([w[2] for w in built.windows], pa.date32()),
            "end_day": pa.array([w[3] for w in built.windows], pa.date32()),
        })  # fmt: skip
        con.register("billing_windows", windows)
        try:
            con.execute(
                "DELETE FROM consumption_daily t WHERE EXISTS (SELECT 1 FROM billing_windows w "
                "WHERE w.scope = t.scope AND w.scope_id = t.scope_id "
                "AND t.billing_date >= w.first_day AND t.billing_date < w.end_day)"
            )
        finally:
            con.unregister("billing_windows")
        for first, end, named in built.named:  # v2: no one else billed anything then
            con.register("billing_named", pa.table({"user_id": pa.array(named, pa.string())}))
            try:
                con.execute(
                    "DELETE FROM consumption_daily WHERE scope = 'user' AND billing_date >= ? "
                    "AND billing_date < ? AND scope_id NOT IN (SELECT user_id FROM billing_named)",
                    [first, end],
                )
            finally:
                con.unregister("billing_named")
        daily = to_arrow(CONSUMPTION_DAILY, built.rows[CONSUMPTION_DAILY.name])
        _replace(con, CONSUMPTION_DAILY.name, daily, _key(CONSUMPTION_DAILY.key))
        written = {CONSUMPTION_CYCLES.name: cycles.num_rows, CONSUMPTION_DAILY.name: daily.num_rows}
    else:
        days = pa.table({"metric_date": pa.array(built.days, pa.date32())})
        con.register("billing_days", days)
        try:
            con.execute("DELETE FROM usage_daily WHERE metric_date IN "
                        "(SELECT metric_date FROM billing_days)")  # fmt: skip
        finally:
            con.unregister("billing_days")
        usage = to_arrow(USAGE_DAILY, built.rows[USAGE_DAILY.name])
        _replace(con, USAGE_DAILY.name, usage, _key(USAGE_DAILY.key))
        active = to_arrow(ACTIVE_USERS, built.rows[ACTIVE_USERS.name])
        _replace(con, ACTIVE_USERS.name, active, _key(ACTIVE_USERS.key))
        written = {USAGE_DAILY.name: usage.num_rows, ACTIVE_USERS.name: active.num_rows}
    return {t.name: written.get(t.name, 0) for t in PART_TABLES[part]}
