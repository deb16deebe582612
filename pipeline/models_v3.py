"""Pydantic models of the Devin API v3 session insights, field names as published (api/v3.md).

Strict like the v2 models, with what v3 does differently: timestamps are epoch seconds (values
above 10^11 are taken as milliseconds, as some builds send), `analysis` may be absent, lists the
docs call optional may be absent or null, and enum fields (status, origin, category, ...) are
plain strings so values the docs do not list load as they are.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt

from pipeline.models import ApiModel, PullRequest

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECONDS_ABOVE = 10**11  # the year 5138 in seconds, 1973 in milliseconds: no session is either


def _from_epoch(value: int | float) -> datetime:
    seconds = value / 1000 if abs(value) > MILLISECONDS_ABOVE else value
    try:
        return EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{value} seconds since 1970 cannot be represented in UTC") from None


def _none_is_empty(value: Any) -> Any:
    return [] if value is None else value


EpochTime = Annotated[StrictInt | StrictFloat, AfterValidator(_from_epoch)]
Int64 = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
# A list the docs mark optional: absent or null is empty.
OptionalList = BeforeValidator(_none_is_empty)


class Issue(ApiModel):
    id: str | None = None
    issue: str
    impact: str
    label: str


class ActionItem(ApiModel):
    action_item: str
    type: str | None = None
    issue_id: str | None = None


class TimelineEvent(ApiModel):
    title: str
    description: str
    color: str | None = None
    issue_id: str | None = None


class FeedbackItem(ApiModel):
    summary: str | None
    excerpt: str | None
    details: str | None
    issue_id: str | None = None


class SuggestedPrompt(ApiModel):
    original_prompt: str
    suggested_prompt: str
    # One source reports plain strings where objects are documented: both load.
    feedback_items: Annotated[list[FeedbackItem | str], OptionalList] = []


class Classification(ApiModel):
    category: str
    confidence: StrictFloat | StrictInt
    programming_languages: Annotated[list[str], OptionalList] = []
    tools_and_frameworks: Annotated[list[str], OptionalList] = []


class NoteUsageItem(ApiModel):
    note_id: str
    message: str
    reason: str


class NoteUsage(ApiModel):
    good_usages: Annotated[list[NoteUsageItem | str], OptionalList] = []
    bad_usages: Annotated[list[NoteUsageItem | str], OptionalList] = []


class Analysis(ApiModel):
    action_items: Annotated[list[ActionItem], OptionalList] = []
    classification: Classification | None = None
    issues: Annotated[list[Issue], OptionalList] = []
    note_usage: NoteUsage | None = None
    suggested_prompt: SuggestedPrompt | None = None
    timeline: Annotated[list[TimelineEvent], OptionalList] = []


class SessionInsights(ApiModel):
    session_id: str
    url: str
    status: str
    tags: list[str]
    org_id: str
    created_at: EpochTime
    updated_at: EpochTime
    acus_consumed: float
    pull_requests: list[PullRequest]
    num_user_messages: Int64
    num_devin_messages: Int64
    session_size: str
    analysis: Analysis | None = None
    status_detail: str | None = None
    title: str | None = None
    user_id: str | None = None
    service_user_id: str | None = None
    playbook_id: str | None = None
    parent_session_id: str | None = None
    child_session_ids: Annotated[list[str], OptionalList] = []
    is_archived: StrictBool | None = None
    structured_output: Any = None
    category: str | None = None
    subcategory: str | None = None
    origin: str | None = None
