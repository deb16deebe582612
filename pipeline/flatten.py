"""One validated session to rows of the data tables. Pure: no I/O.

Rows are built by each table's checked constructor (pipeline.schema), so a column cannot be
forgotten or misplaced; child rows carry their 0-based position in the JSON list as `ordinal`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pydantic_core

from pipeline.models import PullRequest, SessionDetail
from pipeline.schema import (
    ACTION_ITEMS,
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


def _pull_request(session_id: str, ordinal: int, pr: PullRequest) -> tuple[Any, ...]:
    repo, number = parse_pr_url(pr.url)
    return PULL_REQUESTS.row(
        session_id=session_id, ordinal=ordinal, url=pr.url, state=pr.state, repo=repo,
        pr_number=number,
    )  # fmt: skip


def flatten(session: SessionDetail, run_id: str, extracted_at: datetime) -> Rows:
    """Return {table name: rows} for one v2 session."""
    sid = session.session_id
    analysis = session.session_analysis
    prompt = analysis.suggested_prompt if analysis else None
    rows: Rows = {
        "sessions": [
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
                status_detail=None,
                origin=None,
                category=None,
                subcategory=None,
                service_user_id=None,
                playbook_id=None,
                parent_session_id=None,
                is_archived=None,
                structured_output=None,
                num_user_messages=None,
                num_devin_messages=None,
                session_size=None,
                classification_category=None,
                classification_confidence=None,
            )
        ],
        "session_tags": [
            SESSION_TAGS.row(session_id=sid, ordinal=i, tag=tag)
            for i, tag in enumerate(session.tags)
        ],
        "pull_requests": [_pull_request(sid, i, pr) for i, pr in enumerate(session.pull_requests)],
        "issues": [],
        "action_items": [],
        "timeline_events": [],
        "feedback_items": [],
        "session_languages": [],
        "session_tools": [],
        "child_sessions": [],
        "note_usages": [],
    }
    if analysis:
        rows["issues"] = [
            ISSUES.row(
                session_id=sid,
                ordinal=i,
                issue=x.issue,
                impact=x.impact,
                label=x.label,
                issue_id=None,
            )  # fmt: skip
            for i, x in enumerate(analysis.issues)
        ]
        rows["action_items"] = [
            ACTION_ITEMS.row(
                session_id=sid,
                ordinal=i,
                issue_id=x.issue_id,
                type=x.type,
                action_item=x.action_item,
            )  # fmt: skip
            for i, x in enumerate(analysis.action_items)
        ]
        rows["timeline_events"] = [
            TIMELINE_EVENTS.row(
                session_id=sid,
                ordinal=i,
                title=x.title,
                description=x.description,
                color=None,
                issue_id=None,
            )  # fmt: skip
            for i, x in enumerate(analysis.timeline)
        ]
    if prompt:
        rows["feedback_items"] = [
            FEEDBACK_ITEMS.row(
                session_id=sid,
                ordinal=i,
                issue_id=x.issue_id,
                summary=x.summary,
                excerpt=x.excerpt,
                details=x.details,
            )  # fmt: skip
            for i, x in enumerate(prompt.feedback_items)
        ]
    return rows
