"""The documented example, field by field, and the parts of flatten that have rules of their own."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.flatten import flatten, parse_pr_url
from pipeline.models import SessionDetail
from pipeline.schema import BY_NAME, ISSUES
from pipeline.sources.v3 import V3Source

FIXTURES = Path(__file__).parent / "fixtures"
EXTRACTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
V3_ONLY = (
    "status_detail", "origin", "category", "subcategory", "service_user_id", "playbook_id",
    "parent_session_id", "is_archived", "structured_output", "num_user_messages",
    "num_devin_messages", "session_size", "classification_category", "classification_confidence",
)  # fmt: skip


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def rows_as_dicts(response: dict) -> dict[str, list[dict]]:
    rows = flatten(SessionDetail.model_validate(response), "run-1", EXTRACTED)
    return {
        t: [dict(zip(BY_NAME[t].column_names, r, strict=True)) for r in rs]
        for t, rs in rows.items()
    }


def test_documented_example_lands_field_by_field():
    rows = rows_as_dicts(load("get-session.documented-example.json"))
    assert rows["sessions"] == [
        {
            "session_id": "abc123",
            "url": "https://app.devin.ai/sessions/abc123",
            "status": "exit",
            "title": "Fix authentication bug",
            "org_id": "org_789",
            "user_id": "user_456",
            "created_at": datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
            "updated_at": datetime(2024, 1, 15, 11, 45, tzinfo=UTC),
            "acus_consumed": 25.5,
            "initial_user_message": "Please fix the authentication issue in our login system",
            "has_session_analysis": True,
            "original_prompt": "Fix the bug",
            "suggested_prompt": "Fix the authentication bug in the login endpoint by checking "
            "the JWT token validation",
            "extra": None,
            "_run_id": "run-1",
            "_extracted_at": EXTRACTED,
            "deleted_at": None,
            "api_version": "v2",
            "ended_at": datetime(2024, 1, 15, 11, 45, tzinfo=UTC),
            "analysis_requested_at": None,
            **dict.fromkeys(V3_ONLY),
        }
    ]
    assert rows["session_tags"] == [
        {"session_id": "abc123", "ordinal": 0, "tag": "bug-fix"},
        {"session_id": "abc123", "ordinal": 1, "tag": "auth"},
    ]
    assert rows["pull_requests"] == [
        {
            "session_id": "abc123",
            "ordinal": 0,
            "url": "https://github.com/example/repo/pull/123",
            "state": "merged",
            "repo": "example/repo",
            "pr_number": 123,
        }
    ]
    assert rows["issues"] == [
        {
            "session_id": "abc123",
            "ordinal": 0,
            "issue": "Missing environment variables",
            "impact": "High",
            "label": "Configuration",
            "issue_id": None,
        }
    ]
    assert rows["action_items"] == [
        {
            "session_id": "abc123",
            "ordinal": 0,
            "issue_id": "issue_1",
            "type": "machine_setup",
            "action_item": "Configure environment variables for database connection",
        }
    ]
    assert rows["timeline_events"] == [
        {
            "session_id": "abc123",
            "ordinal": 0,
            "title": "Started repository setup",
            "description": "Devin began setting up the development environment",
            "color": None,
            "issue_id": None,
        }
    ]
    assert rows["feedback_items"] == [
        {
            "session_id": "abc123",
            "ordinal": 0,
            "issue_id": "issue_1",
            "summary": "Prompt too vague",
            "excerpt": "Fix the bug",
            "details": "The prompt should specify which bug and provide more context",
        }
    ]


def test_schema_example_page_item_loads():
    item = load("list-insights.schema-example.json")["items"][0]
    rows = rows_as_dicts(item)
    assert rows["pull_requests"][0]["url"] == "<string>"
    assert rows["pull_requests"][0]["repo"] is None
    assert rows["sessions"][0]["acus_consumed"] == 123.0


@pytest.mark.parametrize(
    "pr",
    [
        {"url": "https://github.com/a/b/pull/7", "state": "open"},
        {"pr_url": "https://github.com/a/b/pull/7", "pr_state": "open"},
        {"pr_url": "https://github.com/a/b/pull/7", "pr_state": "open", "state": "open"},
        {"pr_url": "https://github.com/a/b/pull/7", "pr_state": "open", "state": None},
    ],
)
def test_both_pull_request_forms_land_in_the_same_columns(pr):
    response = load("get-session.documented-example.json") | {"pull_requests": [pr]}
    row = rows_as_dicts(response)["pull_requests"][0]
    assert (row["url"], row["state"], row["repo"], row["pr_number"]) == (
        "https://github.com/a/b/pull/7",
        "open",
        "a/b",
        7,
    )


def test_unknown_top_level_fields_go_to_extra_and_empty_strings_stay():
    response = load("get-session.documented-example.json") | {
        "playbook_id": "pb-1",
        "snapshot": {"id": 3},
        "title": "",
        "user_id": None,
        "session_analysis": None,
    }
    row = rows_as_dicts(response)["sessions"][0]
    assert json.loads(row["extra"]) == {"playbook_id": "pb-1", "snapshot": {"id": 3}}
    assert row["title"] == ""
    assert row["user_id"] is None
    assert row["has_session_analysis"] is False
    assert row["original_prompt"] is None


def test_timestamps_come_out_in_utc():
    response = load("get-session.documented-example.json") | {
        "created_at": "2024-01-15T10:30:00+05:30",
        "updated_at": "2024-01-15T11:45:00",
    }
    row = rows_as_dicts(response)["sessions"][0]
    assert row["created_at"] == datetime(2024, 1, 15, 5, 0, tzinfo=UTC)
    assert row["created_at"].utcoffset().total_seconds() == 0
    assert row["updated_at"] == datetime(2024, 1, 15, 11, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "repo", "number"),
    [
        ("https://github.com/example/repo/pull/123", "example/repo", 123),
        ("https://github.com/example/repo/pull/123/files", None, None),
        ("https://github.com/a/b/pull/9?w=1#x", "a/b", 9),
        ("https://github.example.com/team/svc/pull/5", "team/svc", 5),
        ("https://gitlab.com/group/project/-/merge_requests/45", "group/project", 45),
        ("https://gitlab.com/g/sub/project/-/merge_requests/4", "g/sub/project", 4),
        ("https://bitbucket.org/a/b/pull-requests/3", None, None),
        ("https://github.com/a/b/issues/3", None, None),
        ("https://github.com/a/b/pull/99999999999", "a/b", None),
        ("", None, None),
        ("<string>", None, None),
    ],
)
def test_parse_pr_url(url, repo, number):
    assert parse_pr_url(url) == (repo, number)


def v3_rows(name: str) -> dict[str, list[dict]]:
    source = V3Source()
    rows = source.rows(source.validate(load(name)), "run-1", EXTRACTED)
    return {
        t: [dict(zip(BY_NAME[t].column_names, r, strict=True)) for r in rs]
        for t, rs in rows.items()
    }


def test_v3_documented_example_lands_field_by_field():
    rows = v3_rows("v3-session-insights.documented-example.json")
    sid = "5f1e9c2b7a4d4e0f8b6c3a2d1e0f9a8b"
    updated = datetime(2026, 1, 1, 10, 45, 21, tzinfo=UTC)  # 1767264321
    assert rows["sessions"] == [
        {
            "session_id": sid,
            "url": f"https://app.devin.ai/sessions/{sid}",
            "status": "exit",
            "title": "Fix invoice rounding",
            "org_id": "org-2b7d4c1e9a",
            "user_id": "google-oauth2|104857392011",
            "created_at": datetime(2026, 1, 1, 9, 0, tzinfo=UTC),  # 1767258000
            "updated_at": updated,
            "acus_consumed": 7.25,
            "initial_user_message": None,
            "has_session_analysis": True,
            "original_prompt": "fix invoice rounding",
            "suggested_prompt": "Round totals half-up in ledger/invoice.py; add a test.",
            "extra": None,
            "_run_id": "run-1",
            "_extracted_at": EXTRACTED,
            "deleted_at": None,
            "api_version": "v3",
            "ended_at": updated,
            "analysis_requested_at": None,
            "status_detail": None,
            "origin": "slack",
            "category": "bug_fixing",
            "subcategory": "Logic error",
            "service_user_id": None,
            "playbook_id": None,
            "parent_session_id": None,
            "is_archived": False,
            "structured_output": None,
            "num_user_messages": 4,
            "num_devin_messages": 11,
            "session_size": "m",
            "classification_category": "Bug fix",
            "classification_confidence": 0.88,
        }
    ]
    assert rows["pull_requests"] == [
        {"session_id": sid, "ordinal": 0, "url": "https://github.com/acme/ledger/pull/418",
         "state": "merged", "repo": "acme/ledger", "pr_number": 418}
    ]  # fmt: skip
    assert rows["issues"] == [
        {"session_id": sid, "ordinal": 0, "issue": "Test DB not seeded",
         "impact": "Suite ran twice", "label": "environment", "issue_id": "iss-1"}
    ]  # fmt: skip
    assert rows["action_items"] == [
        {"session_id": sid, "ordinal": 0, "issue_id": "iss-1", "type": "repo_config",
         "action_item": "Add DB seeding to repo setup"}
    ]  # fmt: skip
    assert rows["timeline_events"] == [
        {"session_id": sid, "ordinal": 0, "title": "Reproduced",
         "description": "Wrote a failing test", "color": "green", "issue_id": None},
        {"session_id": sid, "ordinal": 1, "title": "Empty DB",
         "description": "Tests failed until seeded", "color": "red", "issue_id": "iss-1"},
    ]  # fmt: skip
    assert rows["feedback_items"] == [
        {"session_id": sid, "ordinal": 0, "issue_id": None, "summary": "No file named",
         "excerpt": "fix invoice rounding", "details": "Name the module."}
    ]  # fmt: skip
    assert rows["session_languages"] == [{"session_id": sid, "ordinal": 0, "language": "Python"}]
    assert rows["session_tools"] == [{"session_id": sid, "ordinal": 0, "tool": "pytest"}]
    assert rows["child_sessions"] == []
    assert rows["note_usages"] == [
        {"session_id": sid, "kind": "good", "ordinal": 0, "note_id": "note-6a1f",
         "message": "Followed the seeding note", "reason": "Applied at setup"}
    ]  # fmt: skip
    assert rows["session_tags"] == [{"session_id": sid, "ordinal": 0, "tag": "billing"}]


def test_v3_session_without_analysis_yet():
    rows = v3_rows("v3-analysis-pending.documented-example.json")
    (session,) = rows["sessions"]
    assert session["has_session_analysis"] is False
    assert (session["status_detail"], session["service_user_id"]) == ("working", "svc-31c8")
    assert session["ended_at"] is None  # running
    assert session["is_archived"] is None  # not sent: unknown, not false
    assert all(rows[t] == [] for t in rows if t not in ("sessions",))


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("created_at", "2026-01-01T09:00:00Z", "created_at"),  # v3 sends epoch seconds
        ("created_at", 10**30, "created_at"),
        ("num_user_messages", 2**64, "num_user_messages"),
        ("num_user_messages", True, "num_user_messages"),
        ("session_size", None, "session_size"),
    ],
)
def test_v3_payloads_that_do_not_match_the_schema_name_the_field(field, value, path):
    payload = load("v3-session-insights.documented-example.json") | {field: value}
    with pytest.raises(ValidationError) as err:
        V3Source().validate(payload)
    assert str(err.value.errors()[0]["loc"][0]) == path


def test_rows_written_as_tuples_are_checked_against_the_columns_order_on_import():
    ISSUES.check_order("session_id", "ordinal", "issue", "impact", "label", "issue_id")
    with pytest.raises(TypeError, match="issues has the columns"):
        ISSUES.check_order("session_id", "ordinal", "impact", "issue", "label", "issue_id")
