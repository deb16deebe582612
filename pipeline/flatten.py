"""One validated session to rows of the seven data tables. Pure: no I/O.

Rows are tuples in the column order of pipeline.schema; child rows carry their 0-based position
in the JSON list as `ordinal`.
"""

from __future__ import annotations

import re
from datetime import datetime

import orjson

from pipeline.models import PullRequest, SessionDetail

Rows = dict[str, list[tuple]]

# Matched on the path, not the host, so GitHub Enterprise and self-hosted GitLab parse too.
_GITHUB_PR = re.compile(r"^/([^/]+/[^/]+)/pull/(\d+)/?$")
_GITLAB_MR = re.compile(r"^/(.+?)/-/merge_requests/(\d+)/?$")
_INT32_MAX = 2**31 - 1


def parse_pr_url(url: str) -> tuple[str | None, int | None]:
    """Return (owner/name, number) of a GitHub or GitLab pull request URL, else (None, None)."""
    path = url.split("://", 1)[-1].partition("/")[2]
    path = "/" + path.split("?", 1)[0].split("#", 1)[0]
    match = _GITHUB_PR.match(path) or _GITLAB_MR.match(path)
    if not match:
        return None, None
    number = int(match.group(2))
    return match.group(1), number if number <= _INT32_MAX else None


def _pull_request_row(session_id: str, ordinal: int, pr: PullRequest) -> tuple:
    repo, number = parse_pr_url(pr.url)
    return (session_id, ordinal, pr.url, pr.state, repo, number)


def flatten(session: SessionDetail, run_id: str, extracted_at: datetime) -> Rows:
    """Return {table name: rows} for one session."""
    sid = session.session_id
    analysis = session.session_analysis
    prompt = analysis.suggested_prompt if analysis else None
    extra = orjson.dumps(session.model_extra).decode() if session.model_extra else None
    return {
        "sessions": [
            (
                sid,
                session.url,
                session.status,
                session.title,
                session.org_id,
                session.user_id,
                session.created_at,
                session.updated_at,
                session.acus_consumed,
                session.initial_user_message,
                analysis is not None,
                prompt.original_prompt if prompt else None,
                prompt.suggested_prompt if prompt else None,
                extra,
                run_id,
                extracted_at,
            )
        ],
        "session_tags": [(sid, i, tag) for i, tag in enumerate(session.tags)],
        "pull_requests": [
            _pull_request_row(sid, i, pr) for i, pr in enumerate(session.pull_requests)
        ],
        "issues": [(sid, i, x.issue, x.impact, x.label) for i, x in enumerate(analysis.issues)]
        if analysis
        else [],
        "action_items": [
            (sid, i, x.issue_id, x.type, x.action_item) for i, x in enumerate(analysis.action_items)
        ]
        if analysis
        else [],
        "timeline_events": [
            (sid, i, x.title, x.description) for i, x in enumerate(analysis.timeline)
        ]
        if analysis
        else [],
        "feedback_items": [
            (sid, i, x.issue_id, x.summary, x.excerpt, x.details)
            for i, x in enumerate(prompt.feedback_items)
        ]
        if prompt
        else [],
    }
