"""The documented example, field by field, and the parts of flatten that have rules of their own."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.flatten import flatten, parse_pr_url
from pipeline.models import SessionDetail
from pipeline.schema import BY_NAME

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
