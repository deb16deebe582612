"""Pydantic models of the Devin API v2 payloads, field names as in the OpenAPI text.

Validation is strict (a number where a string belongs is an error, not a coercion), timestamps
must be ISO 8601 strings and come out in UTC, and unknown fields are kept, not dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator


def _parse_iso(value: Any) -> Any:
    if isinstance(value, str):
        try:
            # upper(): RFC 3339 allows a lower-case "z", which fromisoformat does not.
            return datetime.fromisoformat(value.upper())
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value[:40]!r}") from None
    return value


def as_utc(value: datetime) -> datetime:
    """Return value in UTC; a timestamp without an offset is taken as UTC, as the API says."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise ValueError(f"{value.isoformat()} cannot be represented in UTC") from None


UtcDatetime = Annotated[datetime, BeforeValidator(_parse_iso), AfterValidator(as_utc)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class PullRequest(ApiModel):
    url: str
    state: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_pr_prefix(cls, data: Any) -> Any:
        # Real responses say pr_url/pr_state where the schema says url/state; both load alike.
        if isinstance(data, dict) and ("pr_url" in data or "pr_state" in data):
            data = dict(data)
            if data.get("url") is None and "pr_url" in data:
                data["url"] = data.pop("pr_url")
            if data.get("state") is None and "pr_state" in data:
                data["state"] = data.pop("pr_state")
        return data


class Issue(ApiModel):
    issue: str
    impact: str
    label: str


class ActionItem(ApiModel):
    issue_id: str | None
    type: str
    action_item: str


class TimelineEvent(ApiModel):
    title: str
    description: str


class FeedbackItem(ApiModel):
    issue_id: str | None
    summary: str | None
    excerpt: str | None
    details: str | None


class SuggestedPrompt(ApiModel):
    original_prompt: str
    suggested_prompt: str
    feedback_items: list[FeedbackItem]


class SessionAnalysis(ApiModel):
    issues: list[Issue] = []
    action_items: list[ActionItem] = []
    timeline: list[TimelineEvent] = []
    suggested_prompt: SuggestedPrompt | None


class SessionDetail(ApiModel):
    session_id: str
    url: str
    # A plain string, not the documented enum: a status added by Devin must not lose a session.
    status: str
    tags: list[str]
    org_id: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    acus_consumed: float
    pull_requests: list[PullRequest]
    session_analysis: SessionAnalysis | None
    initial_user_message: str | None
    title: str | None = None
    user_id: str | None = None
