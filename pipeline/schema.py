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
    "DATE": pa.date32(),
    "DECIMAL(18,6)": pa.decimal128(18, 6),  # ACUs of the bill: exact millionths
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
    # SQL that fills the column in rows stored before it existed (added by ALTER TABLE).
    backfill: str | None = None

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
    # A table partitioned in Parquet by the month of one of its DATE columns, not its session's.
    month_of: str | None = None
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

    def check_order(self, *names: str) -> None:
        """Raise unless names are the columns in order: for the hot loops that build rows as
        tuple literals, row() being a quarter of the flattening, so that their order is
        checked once, when the module that builds them is imported."""
        if list(names) != self.column_names:
            raise TypeError(f"{self.name} has the columns {self.column_names}, not {list(names)}")

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
        _text(
            "initial_user_message",
            "The user's first message: v2 initial_user_message; v3 the first message of source "
            "user in session_messages (NULL until the session's messages were fetched).",
        ),
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
            "When --refresh-open found the session gone (404; kept in the raw files, so "
            "--from-raw rebuilds it); NULL while the API serves it.",
        ),
        _text(
            "api_version",
            "The API version the row came from: v2 or v3 (NULL: written by a release before v3).",
        ),  # fmt: skip
        _c(
            "ended_at",
            "TIMESTAMPTZ",
            "updated_at as it was when the exporter first saw the session ended (status exit or "
            "error, or v3 status_detail finished), in the order the runs received it; later "
            "changes of an ended session (a late analysis, an edit, archiving) do not move it, "
            "and --from-raw, replaying the raw files in that order, comes to the same. NULL "
            "while the session runs (again, once reopened).",
        ),
        _c(
            "analysis_requested_at",
            "TIMESTAMPTZ",
            "When --generate-insights last asked the v3 API to generate this session's analysis "
            "(kept in the raw files, so --from-raw rebuilds it); --refresh-open re-fetches it "
            "until the analysis arrives. NULL if never asked.",
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
            "mode",
            "What it did: all, all-full, ids, refresh-open, from-raw, demo, parts (--with "
            "alone), joined by +.",
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
    "permission_denied",
)
EXPORT_ERRORS = Table(
    "export_errors",
    "What a run could not export: one row per failed session (or listing, or part of the "
    "enterprise) and run.",
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
        Column(
            "part",
            "VARCHAR",
            "What the error concerns: sessions, or a part of the enterprise around them "
            "(people, organizations, playbooks, knowledge, ...); its session_id is '' for an "
            "error of the whole part, else the item or page that failed.",
            False,
            backfill="'sessions'",
        ),
    ),
    ("run_id", "part", "session_id"),
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

# -- the enterprise around the sessions (SPEC section 10) -------------------------------------
# Listed whole on the runs that include their part; an item no longer listed keeps its row and
# gets removed_at. One file each in Parquet, like the run tables.


def _tstz(name: str, doc: str) -> Column:
    return Column(name, "TIMESTAMPTZ", doc)


def _item_lineage(what: str, api_version: bool = True) -> tuple[Column, ...]:
    """removed_at, api_version (unless the item exists in one version only), _run_id and
    _extracted_at, in SPEC order."""
    version = (_text("api_version", "The API version the row came from: v2 or v3."),)
    return (
        _tstz(
            "removed_at",
            f"When a complete listing first no longer held this {what} (it keeps its row); "
            "NULL while the API lists it, cleared when it comes back.",
        ),
        *(version if api_version else ()),
        _text("_run_id", f"The export run (export_runs.run_id) that last wrote this {what}."),
        _tstz(
            "_extracted_at",
            "When the page this row comes from was received (kept in the raw files, so "
            "--from-raw gives the same time).",
        ),
    )


USERS = Table(
    "users",
    "One row per person of the enterprise: v2 GET /v2/enterprise/members; v3 "
    "GET /v3/enterprise/members/users (direct role assignments) and /members/idp-users "
    "(membership through identity-provider groups only), merged by user_id.",
    (
        Column(
            "user_id", "VARCHAR", "The user's id (user_id), as sessions.user_id names it.", False
        ),
        _text("email", "Email address (email); NULL where the API has none (v3)."),
        _text("name", "Display name (name); NULL where the API has none (v3)."),
        _text(
            "enterprise_role",
            "Enterprise role: v2 enterprise_role (account_admin, account_member, ...); v3 the "
            "role_name of the enterprise-level role assignment (a direct one before an IdP one).",
        ),
        _tstz("created_at", "v2 created_at: when the user joined; NULL in v3."),
        _tstz("last_login", "v2 last_login; NULL in v3 or for a user who never signed in."),
        _c("login_count", "BIGINT", "v2 login_count; NULL in v3."),
        _c(
            "sessions_created_count",
            "BIGINT",
            "v2 sessions_created_count: sessions the user created, lifetime; NULL in v3.",
        ),
        _c(
            "searches_created_count",
            "BIGINT",
            "v2 searches_created_count: searches the user ran, lifetime; NULL in v3.",
        ),
        _text("saml_id", "v2 saml_id: the user's SAML identity; NULL in v3."),
        _text(
            "membership",
            "v3: direct (listed by members/users: it has direct role assignments) or idp "
            "(listed only by members/idp-users: its membership comes from IdP groups); NULL in v2.",
        ),
        *_item_lineage("user"),
    ),
    ("user_id",),
    per_session=False,
)
USER_ROLES = Table(
    "user_roles",
    "The roles of a user, one row per role assignment: v3 role_assignments[] (via direct) then "
    "idp_role_assignments[] (via idp); v2 the enterprise_role, then one org role per "
    "organization membership (GET /v2/enterprise/organizations/{org_id}/members). Replaced "
    "whole for every user a complete people listing holds.",
    (
        Column("user_id", "VARCHAR", "The user (users.user_id).", False),
        ORDINAL,
        _text(
            "role_id",
            "v3 role.role_id; v2 the role as the API names it (enterprise_role, or org_role).",
        ),
        _text(
            "role_name", "v3 role.role_name; v2 enterprise_role, or org_role_name (may be NULL)."
        ),
        _text("role_type", "enterprise or org (v3 role.role_type)."),
        _text("org_id", "The organization an org role is for (v3 org_id, v2 org_id); else NULL."),
        _text(
            "via",
            "v3: direct (role_assignments) or idp (idp_role_assignments); NULL in v2, "
            "which does not say.",
        ),
        _text("idp_group_name", "v3 idp_group_name: the IdP group that grants the role (via idp)."),
    ),
    ("user_id", "ordinal"),
    per_session=False,
)
ORGANIZATIONS = Table(
    "organizations",
    "One row per organization of the enterprise: v2 GET /v2/enterprise/organizations, v3 "
    "GET /v3/enterprise/organizations.",
    (
        Column(
            "org_id",
            "VARCHAR",
            "The organization's id (org_id), as sessions.org_id names it.",
            False,
        ),  # fmt: skip
        _text("name", "Its name: v2 org_name, v3 name."),
        _tstz("created_at", "When it was created (created_at: v2 ISO, v3 epoch seconds)."),
        _tstz("updated_at", "v3 updated_at; NULL in v2."),
        _c(
            "max_cycle_acu_limit",
            "BIGINT",
            "ACUs the organization may use in a billing cycle "
            "(max_cycle_acu_limit); NULL: no limit.",
        ),  # fmt: skip
        _c(
            "max_session_acu_limit",
            "BIGINT",
            "ACUs one session may use (max_session_acu_limit); NULL: no limit.",
        ),  # fmt: skip
        _c("admin_count", "BIGINT", "v2 org_admin_count; NULL in v3."),
        _c("member_count", "BIGINT", "v2 org_member_count; NULL in v3."),
        _c("user_count", "BIGINT", "v2 org_user_count; NULL in v3."),
        *_item_lineage("organization"),
    ),
    ("org_id",),
    per_session=False,
)
ORG_MEMBERS = Table(
    "org_members",
    "Who belongs to which organization: v2 GET /v2/enterprise/organizations/{org_id}/members; "
    "v3 the role assignments of the people listing that name an org (a direct one before an "
    "IdP one). Refreshed with people: the rows of every user a complete listing holds are "
    "replaced.",
    (
        Column("org_id", "VARCHAR", "The organization (organizations.org_id).", False),
        Column("user_id", "VARCHAR", "The user (users.user_id).", False),
        _text(
            "org_role",
            "The user's role there: v2 org_role (org_admin, org_member, ...), v3 role.role_id.",
        ),  # fmt: skip
        _text("org_role_name", "v2 org_role_name, v3 role.role_name."),
    ),
    ("org_id", "user_id"),
    per_session=False,
)
PLAYBOOKS = Table(
    "playbooks",
    "One row per playbook: v2 GET /v2/enterprise/playbooks, v3 GET /v3/enterprise/playbooks.",
    (
        Column(
            "playbook_id",
            "VARCHAR",
            "The playbook's id (playbook_id), as sessions.playbook_id names it.",
            False,
        ),  # fmt: skip
        _text("title", "Its title (title)."),
        _text("body", "Its text (body)."),
        _text("access_type", "Who may use it: v3 access_type (enterprise or org), v2 access."),
        _text("org_id", "v3 org_id: the organization an org playbook belongs to; NULL in v2."),
        _text("status", "v2 status (published, ...); NULL in v3."),
        _text("macro", "The macro that invokes it (macro), if any."),
        _tstz("created_at", "When it was created (created_at)."),
        _tstz("updated_at", "When it last changed (updated_at)."),
        _text("created_by", "Who created it: v3 created_by, v2 created_by_user_id."),
        _text("created_by_name", "v2 created_by_user_name; NULL in v3."),
        _text("updated_by", "Who last changed it: v3 updated_by, v2 updated_by_user_id."),
        _text("updated_by_name", "v2 updated_by_user_name; NULL in v3."),
        *_item_lineage("playbook"),
    ),
    ("playbook_id",),
    per_session=False,
)
KNOWLEDGE_NOTES = Table(
    "knowledge_notes",
    "One row per Knowledge note: v3 GET /v3/enterprise/knowledge/notes (v2 has no such endpoint).",
    (
        Column(
            "note_id", "VARCHAR", "The note's id (note_id), as note_usages.note_id names it.", False
        ),  # fmt: skip
        _text("name", "Its name (name)."),
        _text("body", "Its text (body)."),
        _text("trigger", "When Devin should use it (trigger)."),
        _text("access_type", "enterprise or org (access_type)."),
        _text("org_id", "The organization an org note belongs to (org_id)."),
        _text("folder_id", "Its folder (folder_id), if any."),
        _text("folder_path", "Its folder's path (folder_path)."),
        _c("is_enabled", "BOOLEAN", "Whether Devin uses it (is_enabled)."),
        _text("macro", "The macro that invokes it (macro), if any."),
        _text("pinned_repo", "The repository it is pinned to (pinned_repo), if any."),
        _tstz("created_at", "When it was created (created_at, epoch seconds)."),
        _tstz("updated_at", "When it last changed (updated_at, epoch seconds)."),
        *_item_lineage("note", api_version=False),
    ),
    ("note_id",),
    per_session=False,
)
SESSION_MESSAGES = Table(
    "session_messages",
    "The conversation of a v3 session, one row per message in the order the API gives them: "
    "GET /v3/enterprise/sessions/{devin_id}/messages. Replaced whole each time a run fetches "
    "the session's messages (v2 has no such endpoint).",
    (
        SESSION_ID,
        Column("ordinal", "INTEGER", "0-based position of the message in the conversation.", False),
        _text("event_id", "The message's event id (event_id)."),
        _text("source", "Who wrote it (source): user or devin, or any value the API adds later."),
        _text("message", "The message's text (message), as written: free text."),
        _tstz("created_at", "When it was written (created_at, epoch seconds), UTC."),
    ),
    ("session_id", "ordinal"),
)
ENTERPRISE_TABLES = (USERS, USER_ROLES, ORGANIZATIONS, ORG_MEMBERS, PLAYBOOKS, KNOWLEDGE_NOTES)

# -- the bill and the usage metrics (SPEC section 10) -----------------------------------------
# Asked for by window (every cycle the first time, then the current and previous cycle) and
# upserted by key; consumption_daily is partitioned by billing month in Parquet.

ACUS = "DECIMAL(18,6)"
CONSUMPTION_CYCLES = Table(
    "consumption_cycles",
    "One row per billing cycle the API lists: v2 GET /v2/enterprise/consumption/cycles, v3 "
    "GET /v3/enterprise/consumption/cycles. The newest listed is the current cycle.",
    (
        Column(
            "cycle_start",
            "TIMESTAMPTZ",
            "When the cycle starts (v2 start, v3 after: epoch seconds), 08:00 UTC.",
            False,
        ),  # fmt: skip
        _tstz("cycle_end", "When it ends, exclusive (v2 end, v3 before)."),
        _text("api_version", "The API version the row came from: v2 or v3."),
    ),
    ("cycle_start",),
    per_session=False,
)
CONSUMPTION_DAILY = Table(
    "consumption_daily",
    "Billed ACUs per billing day (08:00 UTC to 08:00 UTC, the Devin dashboard's day) for the "
    "enterprise, each organization and each person, from v2 / v3 GET "
    "/{v}/enterprise/consumption/daily[/...]. Only complete days; a day the API did not "
    "return is absent, never zero. Partitioned by billing month in Parquet.",
    (
        Column(
            "billing_date",
            "DATE",
            "The billing day: the day that starts at billing_date 08:00 UTC (midnight PST); v2 "
            "the consumption_by_date key, v3 the UTC date of consumption_by_date[].date.",
            False,
        ),  # fmt: skip
        Column("scope", "VARCHAR", "enterprise, organization or user.", False),
        Column(
            "scope_id",
            "VARCHAR",
            "The organization (organizations.org_id) or person (users.user_id); '' for the "
            "enterprise.",
            False,
        ),  # fmt: skip
        Column(
            "product",
            "VARCHAR",
            "all (the day's total: v2 consumption_by_date value, v3 acus), or from v3 "
            "acus_by_product: devin, cascade, terminal, review.",
            False,
        ),  # fmt: skip
        Column("acus", ACUS, "ACUs billed (exact to the millionth, as the API sent them).", False),
        _text("_run_id", "The export run (export_runs.run_id) that last wrote this row."),
        _tstz(
            "_extracted_at",
            "When the answer this row comes from was received (kept in the raw files).",
        ),
    ),
    ("billing_date", "scope", "scope_id", "product"),
    per_session=False,
    month_of="billing_date",
)
ACTIVE_USERS = Table(
    "active_users",
    "Active users (who created a session or a search) per period, v3 GET "
    "/v3/enterprise/metrics/dau, /wau, /mau: UTC days, ISO weeks (Monday), calendar months.",
    (
        Column("period", "VARCHAR", "day (dau), week (wau) or month (mau).", False),
        Column(
            "start_time", "TIMESTAMPTZ", "The period's start (start_time, epoch seconds).", False
        ),
        _tstz("end_time", "The period's end (end_time, epoch seconds), as the API gives it."),
        _c("active_users", "BIGINT", "Distinct active users in the period (active_users)."),
    ),
    ("period", "start_time"),
    per_session=False,
)
USAGE_DAILY = Table(
    "usage_daily",
    "Devin's own usage counts per UTC day: v2 GET /v2/enterprise/metrics/usage; v3 "
    "/v3/enterprise/metrics/usage and /metrics/prs, each asked for one UTC day.",
    (
        Column("metric_date", "DATE", "The UTC day counted (00:00 to 24:00 UTC).", False),
        _c("sessions_count", "BIGINT", "Sessions created (sessions_count)."),
        _c("searches_count", "BIGINT", "Searches created (searches_count)."),
        _c(
            "prs_created_count",
            "BIGINT",
            "Pull requests created: v3 prs_created_count, v2 prs_opened.",
        ),
        _c(
            "prs_merged_count",
            "BIGINT",
            "Pull requests merged: v3 prs_merged_count, v2 prs_merged.",
        ),
        _c(
            "prs_closed_count",
            "BIGINT",
            "Pull requests closed unmerged: v3 metrics/prs prs_closed_count, v2 prs_closed.",
        ),  # fmt: skip
    ),
    ("metric_date",),
    per_session=False,
)
BILLING_TABLES = (CONSUMPTION_CYCLES, CONSUMPTION_DAILY, ACTIVE_USERS, USAGE_DAILY)


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
# Session-derived, but written by the messages part after the sessions, not with them.
MESSAGE_TABLES = (SESSION_MESSAGES,)
TABLES = (*DATA_TABLES, *MESSAGE_TABLES, *ENTERPRISE_TABLES, *BILLING_TABLES, *RUN_TABLES)
BY_NAME = {t.name: t for t in TABLES}
