"""Property test for v3: any schema-valid payload lands field by field in the one schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
from hypothesis import HealthCheck, example, given, settings

from pipeline.sources.v3 import V3Source
from tests.helpers import FIXTURES
from tests.strategies_v3 import KNOWN_FIELDS, insights_responses
from tests.test_properties import (
    EXTRACTED_AT,
    RUN_ID,
    as_dicts,
    check,
    check_child,
    pr_expected,
)

SOURCE = V3Source()
EXAMPLE = FIXTURES / "v3-session-insights.documented-example.json"
PENDING = FIXTURES / "v3-analysis-pending.documented-example.json"


def instant(epoch: int) -> datetime:
    seconds = epoch / 1000 if epoch > 10**11 else epoch
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


def listed(value: Any) -> list[Any]:
    return [] if value is None else value


def note(kind: str) -> Any:
    return lambda x: {"kind": kind, **({"message": x} if isinstance(x, str) else x)}


def feedback(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"details": item, "summary": None, "excerpt": None, "issue_id": None}
    return {"issue_id": None, **item}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(insights_responses())
@example(json.loads(EXAMPLE.read_text()))
@example(json.loads(PENDING.read_text()))
def test_every_v3_field_lands_exactly_once(response: dict) -> None:
    original = copy.deepcopy(response)
    # Through JSON bytes, as the client and the raw files hand it over.
    tables = SOURCE.rows(
        SOURCE.validate_json(pydantic_core.to_json(response)), RUN_ID, EXTRACTED_AT
    )
    assert response == original
    sid = response["session_id"]
    [session] = as_dicts("sessions", tables["sessions"])
    for name in ("session_id", "url", "status", "org_id", "session_size", "num_user_messages",
                 "num_devin_messages"):  # fmt: skip
        check(session[name], response[name], f"sessions.{name}")
    for name in ("status_detail", "title", "user_id", "service_user_id", "playbook_id",
                 "parent_session_id", "category", "subcategory", "origin", "is_archived"):  # fmt: skip
        check(session[name], response.get(name), f"sessions.{name}")
    for name in ("created_at", "updated_at"):
        check(session[name], instant(response[name]), f"sessions.{name}")
    check(session["acus_consumed"], float(response["acus_consumed"]), "acus_consumed")
    check(session["initial_user_message"], None, "initial_user_message")
    check(session["api_version"], "v3", "api_version")
    structured = response.get("structured_output")
    check(session["structured_output"], None if structured is None else
          pydantic_core.to_json(structured).decode(), "structured_output")  # fmt: skip
    ended = response["status"] in ("exit", "error") or response.get("status_detail") == "finished"
    check(session["ended_at"], instant(response["updated_at"]) if ended else None, "ended_at")

    analysis = response.get("analysis")
    check(session["has_session_analysis"], analysis is not None, "has_session_analysis")
    analysis = analysis or {}
    prompt = analysis.get("suggested_prompt")
    check(session["original_prompt"], prompt and prompt["original_prompt"], "original_prompt")
    check(session["suggested_prompt"], prompt and prompt["suggested_prompt"], "suggested_prompt")
    classification = analysis.get("classification")
    check(session["classification_category"], classification and classification["category"],
          "classification_category")  # fmt: skip
    if classification:
        check(session["classification_confidence"], float(classification["confidence"]),
              "classification_confidence")  # fmt: skip

    unknown = {k: v for k, v in response.items() if k not in KNOWN_FIELDS}
    assert (json.loads(session["extra"]) if session["extra"] else {}) == unknown

    check_child(tables, "session_tags", sid, response["tags"], lambda t: {"tag": t})
    check_child(tables, "pull_requests", sid, response["pull_requests"], pr_expected)
    check_child(tables, "child_sessions", sid, listed(response.get("child_session_ids")),
                lambda c: {"child_session_id": c})  # fmt: skip
    check_child(tables, "issues", sid, listed(analysis.get("issues")),
                lambda x: {"issue": x["issue"], "impact": x["impact"], "label": x["label"],
                           "issue_id": x.get("id")})  # fmt: skip
    check_child(tables, "action_items", sid, listed(analysis.get("action_items")),
                lambda x: {"type": None, "issue_id": None, **x})  # fmt: skip
    check_child(tables, "timeline_events", sid, listed(analysis.get("timeline")),
                lambda x: {"color": None, "issue_id": None, **x})  # fmt: skip
    check_child(tables, "feedback_items", sid,
                listed(prompt.get("feedback_items")) if prompt else [], feedback)  # fmt: skip
    classification = classification or {}
    check_child(tables, "session_languages", sid,
                listed(classification.get("programming_languages")), lambda x: {"language": x})  # fmt: skip
    check_child(tables, "session_tools", sid,
                listed(classification.get("tools_and_frameworks")), lambda x: {"tool": x})  # fmt: skip
    usage = analysis.get("note_usage") or {}
    rows = as_dicts("note_usages", tables["note_usages"])
    for kind in ("good", "bad"):
        items = listed(usage.get(f"{kind}_usages"))
        mine = [r for r in rows if r["kind"] == kind]
        assert [r["ordinal"] for r in mine] == list(range(len(items)))
        for row, item in zip(mine, items, strict=True):
            for column, value in note(kind)(item).items():
                check(row[column], value, f"note_usages.{column}")
