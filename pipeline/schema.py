"""Every table's columns, types and key, defined once.

DuckDB DDL and the Arrow schema used for batches and Parquet snapshots are both derived from
TABLES, so the warehouse and the Parquet files can never disagree on a column or a type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in self.columns]
        )

    def ddl(self) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"


def _key(*names: str) -> tuple[Column, ...]:
    types = {"session_id": "VARCHAR", "ordinal": "INTEGER", "run_id": "VARCHAR"}
    return tuple(Column(n, types[n], nullable=False) for n in names)


def _text(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, "VARCHAR") for n in names)


def _child(name: str, *text_columns: str, extra: tuple[Column, ...] = ()) -> Table:
    """A list inside a session, one row per element, keyed by its position."""
    columns = _key("session_id", "ordinal") + _text(*text_columns) + extra
    return Table(name, columns, ("session_id", "ordinal"))


SESSIONS = Table(
    "sessions",
    _key("session_id")
    + _text("url", "status", "title", "org_id", "user_id")
    + (
        Column("created_at", "TIMESTAMPTZ"),
        Column("updated_at", "TIMESTAMPTZ"),
        Column("acus_consumed", "DOUBLE"),
    )
    + _text("initial_user_message")
    + (Column("has_session_analysis", "BOOLEAN"),)
    + _text("original_prompt", "suggested_prompt", "extra", "_run_id")
    + (Column("_extracted_at", "TIMESTAMPTZ"),),
    ("session_id",),
)

SESSION_TAGS = _child("session_tags", "tag")
PULL_REQUESTS = _child(
    "pull_requests", "url", "state", "repo", extra=(Column("pr_number", "INTEGER"),)
)
ISSUES = _child("issues", "issue", "impact", "label")
ACTION_ITEMS = _child("action_items", "issue_id", "type", "action_item")
TIMELINE_EVENTS = _child("timeline_events", "title", "description")
FEEDBACK_ITEMS = _child("feedback_items", "issue_id", "summary", "excerpt", "details")

EXPORT_RUNS = Table(
    "export_runs",
    _key("run_id")
    + (Column("started_at", "TIMESTAMPTZ"), Column("finished_at", "TIMESTAMPTZ"))
    + _text("mode", "api_url")
    + (
        Column("sessions_requested", "INTEGER"),
        Column("sessions_exported", "INTEGER"),
        Column("sessions_failed", "INTEGER"),
    )
    + _text("status", "version")
    + (
        # updated_date_from sent by an incremental --all run, NULL for a full pass.
        Column("watermark", "TIMESTAMPTZ"),
        # Newest updated_at listed by --all: the next run's watermark, once this run is ok.
        Column("max_updated_at", "TIMESTAMPTZ"),
        Column("duration_seconds", "DOUBLE"),
    ),
    ("run_id",),
)

EXPORT_ERRORS = Table(
    "export_errors",
    _key("run_id", "session_id")
    + _text("kind")
    + (Column("http_status", "INTEGER"),)
    + _text("message")
    + (Column("occurred_at", "TIMESTAMPTZ"),),
    ("run_id", "session_id"),
)

SESSION_CHILDREN = (
    SESSION_TAGS,
    PULL_REQUESTS,
    ISSUES,
    ACTION_ITEMS,
    TIMELINE_EVENTS,
    FEEDBACK_ITEMS,
)
DATA_TABLES = (SESSIONS, *SESSION_CHILDREN)
TABLES = (*DATA_TABLES, EXPORT_RUNS, EXPORT_ERRORS)
BY_NAME = {t.name: t for t in TABLES}

ERROR_KINDS = ("not_found", "invalid_id", "invalid_response", "http_error", "timeout", "connection")
