"""Hypothesis strategies for v3 SessionInsightsResponse payloads (api/v3.md section 2).

`insights_responses()` draws any payload the published schema allows, with what v3 sources
leave uncertain: optional keys absent or null, enum values the docs do not list, epoch
timestamps in seconds or milliseconds, plain strings where note usages and feedback items are
documented as objects, and unknown top-level fields (integers of any size).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.strategies import json_values, nullable_texts, pull_requests, small_lists, text, texts

STATUSES = ("new", "claimed", "running", "exit", "error", "suspended", "resuming", "creating")
STATUS_DETAILS = ("working", "waiting_for_user", "finished", "inactivity", "usage_limit_exceeded")
ORIGINS = ("webapp", "slack", "api", "cli", "code_scan", "scheduled", "other", "brand_new")
SIZES = ("xs", "s", "m", "l", "xl")
KNOWN_FIELDS = frozenset(
    {
        "session_id", "url", "status", "tags", "org_id", "created_at", "updated_at",
        "acus_consumed", "pull_requests", "num_user_messages", "num_devin_messages",
        "session_size", "analysis", "status_detail", "title", "user_id", "service_user_id",
        "playbook_id", "parent_session_id", "child_session_ids", "is_archived",
        "structured_output", "category", "subcategory", "origin",
    }
)  # fmt: skip
OPTIONAL_STRINGS = ("status_detail", "title", "user_id", "service_user_id", "playbook_id",
                    "parent_session_id", "category", "subcategory", "origin")  # fmt: skip

# 2001 to 2100, in seconds; some builds send milliseconds.
epoch_seconds = st.integers(978_307_200, 4_102_444_800)
epochs = st.one_of(epoch_seconds, epoch_seconds.map(lambda s: s * 1000))
int64 = st.integers(-(2**63), 2**63 - 1)


def optional(draw: st.DrawFn, target: dict[str, Any], name: str, values: Any) -> None:
    """Leave name out, or set it to null, or to a drawn value."""
    choice = draw(st.sampled_from(("absent", "null", "value")))
    if choice == "null":
        target[name] = None
    elif choice == "value":
        target[name] = draw(values)


note_items = st.one_of(
    st.fixed_dictionaries({"note_id": texts, "message": texts, "reason": texts}), texts
)
feedback_items = st.one_of(
    st.fixed_dictionaries(
        {"summary": nullable_texts, "excerpt": nullable_texts, "details": nullable_texts},
        optional={"issue_id": nullable_texts},
    ),
    texts,
)


@st.composite
def analyses(draw: st.DrawFn) -> dict[str, Any]:
    analysis: dict[str, Any] = {}
    optional(draw, analysis, "issues", small_lists(
        st.fixed_dictionaries({"issue": texts, "impact": texts, "label": texts},
                              optional={"id": nullable_texts})))  # fmt: skip
    optional(draw, analysis, "action_items", small_lists(
        st.fixed_dictionaries({"action_item": texts},
                              optional={"type": nullable_texts, "issue_id": nullable_texts})))  # fmt: skip
    optional(draw, analysis, "timeline", small_lists(
        st.fixed_dictionaries({"title": texts, "description": texts},
                              optional={"color": nullable_texts, "issue_id": nullable_texts})))  # fmt: skip
    classification: dict[str, Any] = {
        "category": draw(texts),
        "confidence": draw(st.one_of(st.floats(0, 1), st.integers(0, 1))),
    }
    optional(draw, classification, "programming_languages", small_lists(texts))
    optional(draw, classification, "tools_and_frameworks", small_lists(texts))
    optional(draw, analysis, "classification", st.just(classification))
    prompt: dict[str, Any] = {"original_prompt": draw(texts), "suggested_prompt": draw(texts)}
    optional(draw, prompt, "feedback_items", small_lists(feedback_items))
    optional(draw, analysis, "suggested_prompt", st.just(prompt))
    usage: dict[str, Any] = {}
    optional(draw, usage, "good_usages", small_lists(note_items))
    optional(draw, usage, "bad_usages", small_lists(note_items))
    optional(draw, analysis, "note_usage", st.just(usage))
    return analysis


v3_pull_requests = st.one_of(
    st.fixed_dictionaries({"pr_url": texts}, optional={"pr_state": nullable_texts}),
    pull_requests(),  # a v2-shaped item in a v3 payload loads alike
)


@st.composite
def insights_responses(draw: st.DrawFn, session_id: st.SearchStrategy[str] = texts) -> dict:
    """Any schema-valid SessionInsightsResponse, as the parsed JSON."""
    response: dict[str, Any] = {
        "session_id": draw(session_id),
        "url": draw(texts),
        "status": draw(st.sampled_from(STATUSES)),
        "tags": draw(small_lists(texts)),
        "org_id": draw(texts),
        "created_at": draw(epochs),
        "updated_at": draw(epochs),
        "acus_consumed": draw(st.one_of(st.integers(0, 10_000), st.floats(0, 1e6))),
        "pull_requests": draw(small_lists(v3_pull_requests)),
        "num_user_messages": draw(int64),
        "num_devin_messages": draw(int64),
        "session_size": draw(st.sampled_from(SIZES)),
    }
    for name in OPTIONAL_STRINGS:
        pool = {"status_detail": STATUS_DETAILS, "origin": ORIGINS}.get(name)
        optional(draw, response, name, st.sampled_from(pool) if pool else texts)
    optional(draw, response, "analysis", analyses())
    optional(draw, response, "child_session_ids", small_lists(texts))
    optional(draw, response, "is_archived", st.booleans())
    optional(draw, response, "structured_output", st.dictionaries(text, json_values, max_size=3))
    if draw(st.booleans()):
        response.update(
            draw(
                st.dictionaries(
                    text.filter(lambda n: n not in KNOWN_FIELDS),
                    st.one_of(json_values, st.integers(-(2**100), 2**100)),
                    max_size=3,
                )
            )
        )
    return dict(draw(st.permutations(list(response.items()))))
