"""One validated session to rows of the data tables. Pure: no I/O.

Rows are built by each table's checked constructor (pipeline.schema), or as tuple literals in an
order checked on import, so a column cannot be forgotten or misplaced; child rows carry their
0-based position in the JSON list as `ordinal`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pydantic_core

from pipeline.models import PullRequest, SessionDetail
from pipeline.schema import (
    ACTION_ITEMS,
    DATA_TABLES,
    FEEDBACK_ITEMS,
    ISSUES,
    PULL_REQUESTS,
    SESSION_TAGS,
    SESSIONS,
    TIMELINE_EVENTS,
)

Rows = dict[str, list[tuple[Any, ...]]]

# Matched on the path, not the host, so GitHub Enterprise and self-hosted GitLab parse too.
_GITHUB_PR = re.compile(r"^/([^/]+/[^/]+)/pull/(\d+)/?$")
_GITLAB_MR = re.compile(r"^/(.+?)/-/merge_requests/(\d+)/?$")
_INT32_MAX = 2**31 - 1
ENDED_STATUSES = frozenset({"exit", "error"})


def parse_pr_url(url: str) -> tuple[str | None, int | None]:
    """Return (owner/name, number) of a GitHub or GitLab pull request URL, else (None, None)."""
    path = url.split("://", 1)[-1].partition("/")[2]
    path = "/" + path.split("?", 1)[0].split("#", 1)[0]
    match = _GITHUB_PR.match(path) or _GITLAB_MR.match(path)
    if not match:
        return None, None
    number = int(match.group(2))
    return match.group(1), number if number <= _INT32_MAX else None


def json_text(value: Any) -> str | None:
    """Return value as JSON text, integers of any size exact; None stays NULL."""
    if value is None:
        return None
    # pydantic's encoder, not orjson's: orjson refuses integers wider than 64 bits.
    return pydantic_core.to_json(value).decode()


# The child rows, many per session, are tuple literals in these columns' order (checked here).
SESSION_TAGS.check_order("session_id", "ordinal", "tag")
PULL_REQUESTS.check_order("session_id", "ordinal", "url", "state", "repo", "pr_number")
ISSUES.check_order("session_id", "ordinal", "issue", "impact", "label", "issue_id")
ACTION_ITEMS.check_order("session_id", "ordinal", "issue_id", "type", "action_item")
TIMELINE_EVENTS.check_order("session_id", "ordinal", "title", "description", "color", "issue_id")
FEEDBACK_ITEMS.check_order("session_id", "ordinal", "issue_id", "summary", "excerpt", "details")


def pull_request_row(session_id: str, ordinal: int, pr: PullRequest) -> tuple[Any, ...]:
    return (session_id, ordinal, pr.url, pr.state, *parse_pr_url(pr.url))


# Columns only v3 sends: NULL in a v2 session's row.
V3_ONLY = dict.fromkeys(
    ("status_detail", "origin", "category", "subcategory", "service_user_id", "playbook_id",
     "parent_session_id", "is_archived", "structured_output", "num_user_messages",
     "num_devin_messages", "session_size", "classification_category",
     "classification_confidence")
)  # fmt: skip


def empty_rows() -> Rows:
    return {table.name: [] for table in DATA_TABLES}


def list_rows(sid: str, tags: list[str], prs: list[PullRequest]) -> Rows:
    """Return the rows of the lists every session has: tags and pull requests."""
    return {
        "session_tags": [(sid, i, tag) for i, tag in enumerate(tags)],
        "pull_requests": [pull_request_row(sid, i, pr) for i, pr in enumerate(prs)],
    }


def analysis_rows(
    sid: str, issues: list[Any], action_items: list[Any], timeline: list[Any], feedback: list[Any]
) -> Rows:
    """Return the rows of an analysis' lists, v2's or v3's: what only v3 sends (an issue's id, a
    timeline event's color and issue) is NULL for v2, whose models have no such fields. They are
    read from the model's __dict__ (its fields, never its extras): getattr with a default goes
    through pydantic's __getattr__ and an exception, which made a whole rebuild 40 % slower."""
    return {
        "issues": [
            (sid, i, x.issue, x.impact, x.label, vars(x).get("id")) for i, x in enumerate(issues)
        ],
        "action_items": [
            (sid, i, x.issue_id, x.type, x.action_item) for i, x in enumerate(action_items)
        ],
        "timeline_events": [
            (
                sid,
                i,
                x.title,
                x.description,
                (fields := vars(x)).get("color"),
                fields.get("issue_id"),
            )
            for i, x in enumerate(timeline)
        ],  # fmt: skip
        "feedback_items": [_feedback(sid, i, x) for i, x in enumerate(feedback)],
    }


def _feedback(sid: str, ordinal: int, item: Any) -> tuple[Any, ...]:
    if isinstance(item, str):  # v3: one source reports plain strings: the feedback itself
        return (sid, ordinal, None, None, None, item)
    return (sid, ordinal, item.issue_id, item.summary, item.excerpt, item.details)


def flatten(session: SessionDetail, run_id: str, extracted_at: datetime) -> Rows:
    """Return {table name: rows} for one v2 session."""
    sid = session.session_id
    analysis = session.session_analysis
    prompt = analysis.suggested_prompt if analysis else None
    rows = empty_rows()
    rows["sessions"] = [
        SESSIONS.row(
            session_id=sid,
            url=session.url,
            status=session.status,
            title=session.title,
            org_id=session.org_id,
            user_id=session.user_id,
            created_at=session.created_at,
            updated_at=session.updated_at,
            acus_consumed=session.acus_consumed,
            initial_user_message=session.initial_user_message,
            has_session_analysis=analysis is not None,
            original_prompt=prompt.original_prompt if prompt else None,
            suggested_prompt=prompt.suggested_prompt if prompt else None,
            extra=json_text(session.model_extra or None),
            _run_id=run_id,
            _extracted_at=extracted_at,
            deleted_at=None,
            api_version="v2",
            ended_at=session.updated_at if session.status in ENDED_STATUSES else None,
            analysis_requested_at=None,
            **V3_ONLY,
        )
    ]
    rows.update(list_rows(sid, session.tags, session.pull_requests))
    if analysis:
        feedback = prompt.feedback_items if prompt else []
        rows.update(analysis_rows(sid, analysis.issues, analysis.action_items, analysis.timeline,
                                  feedback))  # fmt: skip
    return rows
