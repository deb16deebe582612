"""The oracle end-to-end tests hold the pipeline to: the warehouse equals what the API serves.

`served()` is the API's side (each session the fake serves, validated and flattened), the
warehouse's side is read back from DuckDB and from Parquet. Flattening itself is checked field by
field against the JSON elsewhere (tests/test_properties*.py); here it is the yardstick for what
transport, paging, batching and upserts delivered.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import ValidationError

from pipeline.fake_api import FakeDevin
from pipeline.fake_api.messages import messages as fake_messages
from pipeline.schema import DATA_TABLES, RUN_TABLES, TABLES, Table
from pipeline.sources import source_for
from tests.helpers import query_each

# Which run wrote a row and when: differs between a warehouse and its rebuild from raw.
LINEAGE = ("_run_id", "_extracted_at")
# What only the history of runs can tell, not one answer of the API: the yardstick (served)
# cannot know it, a rebuild replaying the raw files in order must come to the same values.
HISTORY = ("ended_at", "analysis_requested_at", "deleted_at")
WAREHOUSE_ONLY = (*LINEAGE, *HISTORY)
Snapshot = dict[str, dict[str, list[tuple[Any, ...]]]]  # session id -> table -> rows


def compared(table: Table, left_out: tuple[str, ...] = WAREHOUSE_ONLY) -> list[str]:
    return [c for c in table.column_names if c not in left_out]


def _normalize(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _snapshot(
    rows_by_table: dict[str, list[dict[str, Any]]], left_out: tuple[str, ...] = WAREHOUSE_ONLY
) -> Snapshot:
    snapshot: Snapshot = defaultdict(lambda: {t.name: [] for t in DATA_TABLES})
    for table in DATA_TABLES:
        names = compared(table, left_out)
        for row in rows_by_table.get(table.name, []):
            values = tuple(_normalize(row[c]) for c in names)
            snapshot[row["session_id"]][table.name].append(values)
    for tables in snapshot.values():
        for rows in tables.values():
            rows.sort(key=repr)
    return dict(snapshot)


def first_prompt(devin: FakeDevin, session_id: str) -> str | None:
    """A v3 session's initial_user_message: the first user message the fake serves for it."""
    said = [m["message"] for m in fake_messages(devin, session_id) or [] if m["source"] == "user"]
    return said[0] if said else None


def served(
    devin: FakeDevin, version: str, ids: list[str] | None = None, messages: bool = True
) -> tuple[Snapshot, set[str]]:
    """Return what the API serves, as the warehouse should hold it, and the ids it serves that
    do not validate (which an export must report, not store). In v3, a session's
    initial_user_message is its first user message, where the run fetched its messages."""
    source = source_for(version)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    invalid = set()
    for sid in devin.ids() if ids is None else ids:
        payload = devin.session(sid, api_version=version)
        if payload is None:
            continue
        try:
            session = source.validate(payload)
        except ValidationError:
            invalid.add(sid)
            continue
        for name, table_rows in source.rows(session, "oracle", datetime.now(UTC)).items():
            names = next(t for t in DATA_TABLES if t.name == name).column_names
            rows[name] += [dict(zip(names, r, strict=True)) for r in table_rows]
        if version == "v3" and messages:
            rows["sessions"][-1]["initial_user_message"] = first_prompt(devin, sid)
    return _snapshot(rows), invalid


def in_duckdb(db: Path, left_out: tuple[str, ...] = WAREHOUSE_ONLY) -> Snapshot:
    """Every data table's rows by session, without the columns left_out (by default those the
    yardstick cannot know; LINEAGE to compare a warehouse with its rebuild)."""
    found = query_each(db, {t.name: f"select {', '.join(t.column_names)} from {t.name}"
                            for t in DATA_TABLES})  # fmt: skip
    rows = {
        t.name: [dict(zip(t.column_names, r, strict=True)) for r in found[t.name]]
        for t in DATA_TABLES
    }
    return _snapshot(rows, left_out)


def in_parquet(parquet_dir: Path, left_out: tuple[str, ...] = WAREHOUSE_ONLY) -> Snapshot:
    rows = {t.name: pq.read_table(parquet_dir / t.name).to_pylist() for t in DATA_TABLES}
    return _snapshot(rows, left_out)


def other_tables(db: Path, left_out: tuple[str, ...] = LINEAGE) -> dict[str, list[tuple[Any, ...]]]:
    """Every table that is neither a session's (in_duckdb) nor a run's (export_runs, ...: each
    run has its own rows), all its rows in order, without the columns left_out."""
    sqls = {}
    for table in TABLES:
        if table not in DATA_TABLES and table not in RUN_TABLES:
            names = ", ".join(c for c in table.column_names if c not in left_out)
            sqls[table.name] = f"select {names} from {table.name} order by all"
    return query_each(db, sqls)


def differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """Return what differs, one line per session: missing, unexpected, or which tables."""
    lines = [f"missing {sid}" for sid in sorted(set(expected) - set(actual))]
    lines += [f"unexpected {sid}" for sid in sorted(set(actual) - set(expected))]
    for sid in sorted(set(expected) & set(actual)):
        tables = [t for t in expected[sid] if expected[sid][t] != actual[sid][t]]
        if tables:
            lines.append(f"differs {sid}: {', '.join(tables)}")
    return lines


def column_differences(
    expected: Snapshot, actual: Snapshot, left_out: tuple[str, ...] = WAREHOUSE_ONLY
) -> list[str]:
    """Return the differing values of the sessions both hold: 'table.column of id: a != b'."""
    lines = []
    by_name = {t.name: t for t in DATA_TABLES}
    for sid in sorted(set(expected) & set(actual)):
        for name, rows in expected[sid].items():
            others = actual[sid][name]
            if rows == others:
                continue
            if len(rows) != len(others):
                lines.append(f"{name} of {sid}: {len(rows)} rows != {len(others)}")
                continue
            names = compared(by_name[name], left_out)
            for row, other in zip(rows, others, strict=True):
                lines += [
                    f"{name}.{column} of {sid}: {a!r} != {b!r}"
                    for column, a, b in zip(names, row, other, strict=True)
                    if a != b
                ]
    return lines
