"""Every table's columns, types, key and description, defined once.

DuckDB DDL and comments, the Arrow schema used for batches and Parquet files (with the same
descriptions in the field metadata) and the row constructors are all derived from TABLES, so
the warehouse, the Parquet files and the code that fills them can never disagree on a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

import pyarrow as pa

ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}
# How DuckDB's information_schema spells the types above.
DUCKDB_TYPE_NAMES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}
DESCRIPTION = b"description"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    nullable: bool = True

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPE_NAMES.get(self.type, self.type)


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Session-derived tables are partitioned by their session's created_at month in Parquet.
    per_session: bool = True
    _pick: itemgetter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        assert len(set(names)) == len(names), f"{self.name}: a column is named twice"
        assert set(self.key) <= set(names), f"{self.name}: key {self.key} is not a column"
        object.__setattr__(self, "_pick", itemgetter(*names))

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def row(self, **values: Any) -> tuple[Any, ...]:
        """Return one row in column order; every column must be named, and only columns."""
        try:
            if len(values) == len(self.columns):  # all found and as many: the same names
                return self._pick(values)  # type: ignore[no-any-return]
        except KeyError:
            pass
        missing = set(self.column_names) - set(values)
        unknown = set(values) - set(self.column_names)
        raise TypeError(f"{self.name}.row(): missing {sorted(missing)}, unknown {sorted(unknown)}")

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field(
                    c.name,
                    ARROW_TYPES[c.type],
                    nullable=c.nullable,
                    metadata={DESCRIPTION: c.doc.encode()},
                )
                for c in self.columns
            ],
            metadata={DESCRIPTION: self.doc.encode()},
        )

    def ddl(self) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n  {cols}\n)"

    def comments(self) -> list[str]:
        """Return the COMMENT ON statements that describe the table and each column."""
        return [f"COMMENT ON TABLE {self.name} IS {sql_string(self.doc)}"] + [
            f"COMMENT ON COLUMN {self.name}.{c.name} IS {sql_string(c.doc)}" for c in self.columns
        ]


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _c(name: str, type_: str, doc: str) -> Column:
    return Column(name, type_, doc)


def _text(name: str, doc: str) -> Column:
    return Column(name, "VARCHAR", doc)


SESSION_ID = Column("session_id", "VARCHAR", "The session's id, as the API returns it.", False)
ORDINAL = Column("ordinal", "INTEGER", "0-based position of the item in its JSON list.", False)
LINEAGE = (
    _text("_run_id", "The export run (export_runs.run_id) that last wrote this session."),
    _c(
        "_extracted_at",
        "TIMESTAMPTZ",
        "When the body this row comes from was received (for --from-raw: the raw file's time).",
    ),
)


def _child(name: str, doc: str, *columns: Column) -> Table:
    """A list inside a session, one row per element, keyed by its position."""
    return Table(name, doc, (SESSION_ID, ORDINAL, *columns), ("session_id", "ordinal"))


SESSIONS = Table(
    "sessions",
    "One row per Devin session: v2 GET /v2/enterprise/sessions/{session_id} or v3 "
    "GET /v3/enterprise/sessions/{devin_id}/insights, latest version seen.",
    (
        SESSION_ID,
        _text("url", "Link to the session in the Devin web app (url)."),
        _text(
            "status",
            "Session status (status): new, claimed, running, exit, error, "
            "suspended, resuming, or any value the API adds later.",
        ),  # fmt: skip
        _text("title", "Session title (title)."),
        _text("org_id", "Organization the session belongs to (org_id)."),
        _text("user_id", "User who created the session (user_id); NULL for service users."),
        _c("created_at", "TIMESTAMPTZ", "When the session was created (created_at), UTC."),
        _c("updated_at", "TIMESTAMPTZ", "When the session last changed (updated_at), UTC."),
        _c("acus_consumed", "DOUBLE", "Agent Compute Units used by the session (acus_consumed)."),
        _text("initial_user_message", "The user's first message (v2 initial_user_message)."),
        _c(
            "has_session_analysis",
            "BOOLEAN",
            "True when the API sent an analysis (v2 session_analysis, v3 analysis); false "
            "while it is null.",
        ),
        _text(
            "original_prompt", "The prompt as given (analysis.suggested_prompt.original_prompt)."
        ),
        _text("suggested_prompt", "A better prompt (analysis.suggested_prompt.suggested_prompt)."),
        _text("extra", "JSON text of the top-level fields the schema does not know, else NULL."),
        *LINEAGE,
        _c(
            "deleted_at",
            "TIMESTAMPTZ",
            "When --refresh-open found the session gone (404); NULL while the API serves it.",
        ),
        _text(
            "api_version",
            "The API version the row came from: v2 or v3 (NULL: written by a release before v3).",
        ),  # fmt: skip
        _c(
            "ended_at",
            "TIMESTAMPTZ",
            "updated_at as it was when the exporter first saw the session ended (status exit or "
            "error, or v3 status_detail finished); later changes of an ended session (a late "
            "analysis, archiving) do not move it. NULL while the session runs.",
        ),
        _c(
            "analysis_requested_at",
            "TIMESTAMPTZ",
            "When --generate-insights last asked the v3 API to generate this session's analysis; "
            "--refresh-open re-fetches it until the analysis arrives. NULL if never asked.",
        ),
        _text("status_detail", "v3 status_detail: what a running or suspended session is doing."),
        _text("origin", "v3 origin: where the session was started (webapp, slack, api, ...)."),
        _text("category", "v3 category of the session's work (bug_fixing, ...)."),
        _text("subcategory", "v3 subcategory, a display name."),
        _text("service_user_id", "v3 service_user_id: the service user that created it."),
        _text("playbook_id", "v3 playbook_id: the playbook the session ran."),
        _text("parent_session_id", "v3 parent_session_id: the session that started this one."),
        _c("is_archived", "BOOLEAN", "v3 is_archived."),
        _text("structured_output", "v3 structured_output, as JSON text."),
        _c("num_user_messages", "BIGINT", "v3 num_user_messages: messages sent by users."),
        _c("num_devin_messages", "BIGINT", "v3 num_devin_messages: messages sent by Devin."),
        _text("session_size", "v3 session_size: xs, s, m, l or xl (from ACUs and messages)."),
        _text(
            "classification_category",
            "v3 analysis.classification.category: the analysis' own words for the work.",
        ),
        _c(
            "classification_confidence",
            "DOUBLE",
            "v3 analysis.classification.confidence of that category (0 to 1).",
        ),
    ),
    ("session_id",),
)

SESSION_TAGS = _child(
    "session_tags", "Tags of a session (tags[]).", _text("tag", "The tag (tags[i]).")
)
PULL_REQUESTS = _child(
    "pull_requests",
    "Pull requests a session opened (pull_requests[]).",
    _text("url", "PR URL (url, else pr_url)."),
    _text("state", "PR state as the API gives it (state, else pr_state): open, merged, closed."),
    _text("repo", "owner/name parsed from a GitHub or GitLab PR URL, else NULL."),
    _c("pr_number", "INTEGER", "PR or merge request number parsed from the URL, else NULL."),
)
ISSUES = _child(
    "issues",
    "Problems the session analysis found (analysis.issues[]).",
    _text("issue", "What went wrong (issue)."),
    _text("impact", "Its impact (impact)."),
    _text("label", "Its category (label)."),
    _text("issue_id", "v3 issues[].id, the target of action_items.issue_id; NULL in v2."),
)
ACTION_ITEMS = _child(
    "action_items",
    "What to change so the next session goes better (analysis.action_items[]).",
    _text("issue_id", "The issue it addresses (issue_id): v2 issue_N, 1-based over issues."),
    _text("type", "Kind of action (type): machine_setup, knowledge, prompt, ..."),
    _text("action_item", "The action (action_item)."),
)
TIMELINE_EVENTS = _child(
    "timeline_events",
    "What the session did, in order (analysis.timeline[]).",
    _text("title", "Event title (title)."),
    _text("description", "What happened (description)."),
    _text("color", "v3 color of the event; NULL in v2."),
    _text("issue_id", "v3 issue the event relates to; NULL in v2."),
)
FEEDBACK_ITEMS = _child(
    "feedback_items",
    "Feedback on the prompt (analysis.suggested_prompt.feedback_items[]).",
    _text("issue_id", "The issue it relates to (issue_id)."),
    _text("summary", "Short summary (summary)."),
    _text("excerpt", "The part of the prompt it is about (excerpt)."),
    _text("details", "The feedback (details)."),
)
SESSION_LANGUAGES = _child(
    "session_languages",
    "Programming languages of a session (v3 analysis.classification.programming_languages[]).",
    _text("language", "The language."),
)
SESSION_TOOLS = _child(
    "session_tools",
    "Tools and frameworks of a session (v3 analysis.classification.tools_and_frameworks[]).",
    _text("tool", "The tool or framework."),
)
CHILD_SESSIONS = _child(
    "child_sessions",
    "Sessions started by a session (v3 child_session_ids[]).",
    _text("child_session_id", "The child session's id."),
)
NOTE_USAGES = Table(
    "note_usages",
    "How the session used Knowledge notes (v3 analysis.note_usage.good_usages[] and bad_usages[]).",
    (
        SESSION_ID,
        _text("kind", "good (good_usages) or bad (bad_usages)."),
        ORDINAL,
        _text("note_id", "The Knowledge note (note_id)."),
        _text("message", "What the session did with it (message; a plain-string item lands here)."),
        _text("reason", "Why it was good or bad (reason)."),
    ),
    ("session_id", "kind", "ordinal"),
)

EXPORT_RUNS = Table(
    "export_runs",
    "One row per export run, written at its start and again at its end.",
    (
        Column("run_id", "VARCHAR", "The run's id: its start time and a random suffix.", False),
        _c("started_at", "TIMESTAMPTZ", "When the run started."),
        _c("finished_at", "TIMESTAMPTZ", "When it finished; NULL if it died."),
        _text(
            "mode", "What it did: all, all-full, ids, refresh-open, from-raw, demo, joined by +."
        ),
        _text("api_url", "The API base URL it read from (NULL for --from-raw)."),
        _c("sessions_requested", "INTEGER", "Sessions it tried to export."),
        _c("sessions_exported", "INTEGER", "Sessions it wrote."),
        _c("sessions_failed", "INTEGER", "Sessions (or listings) that failed: see export_errors."),
        _text("status", "ok, partial (some failed) or failed."),
        _text("version", "The devin-export version."),
        _c(
            "watermark",
            "TIMESTAMPTZ",
            "The updated-since filter an incremental --all sent, "
            "less the overlap; NULL for a full pass.",
        ),  # fmt: skip
        _c(
            "max_updated_at",
            "TIMESTAMPTZ",
            "Newest updated_at listed by --all: the next run's watermark, once this run is ok.",
        ),  # fmt: skip
        _c("duration_seconds", "DOUBLE", "Wall time of the run, seconds."),
        _text("api_version", "The API version it spoke: v2 or v3."),
    ),
    ("run_id",),
    per_session=False,
)

ERROR_KINDS = (
    "not_found",
    "invalid_id",
    "invalid_response",
    "http_error",
    "timeout",
    "connection",
    "incomplete_listing",
)
EXPORT_ERRORS = Table(
    "export_errors",
    "What a run could not export: one row per failed session (or listing) and run.",
    (
        Column("run_id", "VARCHAR", "The run (export_runs.run_id).", False),
        Column(
            "session_id",
            "VARCHAR",
            "The session id, or what stood for it (a page, a raw file line, the listing).",
            False,
        ),  # fmt: skip
        _text("kind", "What went wrong: " + ", ".join(ERROR_KINDS) + "."),
        _c("http_status", "INTEGER", "The HTTP status of the last answer, if any."),
        _text("message", "The error, with the field path for invalid responses."),
        _c("occurred_at", "TIMESTAMPTZ", "When it happened."),
    ),
    ("run_id", "session_id"),
    per_session=False,
)

QUALITY_CHECKS = Table(
    "quality_checks",
    "Results of the data-quality checks (sql/checks/*.sql) run after each load.",
    (
        Column("run_id", "VARCHAR", "The run after whose load the check ran.", False),
        Column("check_name", "VARCHAR", "The check: its file name in sql/checks.", False),
        _text("severity", "error or warn."),
        _c("failing_rows", "BIGINT", "How many rows the check found; 0 when it passed."),
        _text("sample", "Up to 5 keys of failing rows, as text."),
        _c("checked_at", "TIMESTAMPTZ", "When the check ran."),
        _text(
            "scope",
            "run: over the sessions of this run (and of runs that died before their checks); "
            "warehouse: over every row (--full, --from-raw, --full-checks, a new or changed "
            "check, or a check that depends on the clock). NULL before this column existed.",
        ),
        _text("check_sha", "The first 16 hex digits of the SHA-256 of the check's SQL file."),
    ),
    ("run_id", "check_name"),
    per_session=False,
)

SESSION_CHILDREN = (
    SESSION_TAGS,
    PULL_REQUESTS,
    ISSUES,
    ACTION_ITEMS,
    TIMELINE_EVENTS,
    FEEDBACK_ITEMS,
    SESSION_LANGUAGES,
    SESSION_TOOLS,
    CHILD_SESSIONS,
    NOTE_USAGES,
)
DATA_TABLES = (SESSIONS, *SESSION_CHILDREN)
RUN_TABLES = (EXPORT_RUNS, EXPORT_ERRORS, QUALITY_CHECKS)
TABLES = (*DATA_TABLES, *RUN_TABLES)
BY_NAME = {t.name: t for t in TABLES}
