"""A session as v3 sends it (SessionInsightsResponse, v3.md section 2), made from its v2 body.

The same facts in both versions: v3 reshapes the v2 body (epoch seconds, {pr_url, pr_state},
analysis instead of session_analysis, no initial_user_message) and adds its own fields from a
random stream of its own, (seed, index, "v3"), so v2 bodies stay exactly what they were.
Optional keys are sometimes absent, nullable ones sometimes null, and a few enum values are
ones the documentation does not list (status creating, origin vscode, ...).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from .generator import text
from .vocabulary import (
    ACTION_TEXTS,
    CATEGORIES,
    CLASSIFICATIONS,
    COLORS,
    FEEDBACK_DETAILS,
    FEEDBACK_SUMMARIES,
    LANGUAGES,
    NOTE_MESSAGES,
    NOTE_REASONS,
    ORIGINS,
    TOOLS,
    V3_ACTION_TYPES,
    V3_STATUS_DETAILS,
)

# Fields v3 has and v2 does not: overriding one (FakeDevin.update) changes v3 bodies only.
V3_ONLY = frozenset({
    "analysis", "status_detail", "origin", "category", "subcategory", "service_user_id",
    "parent_session_id", "child_session_ids", "is_archived", "num_user_messages",
    "num_devin_messages", "session_size", "is_advanced",
})  # fmt: skip
V2_ONLY = frozenset({"initial_user_message", "session_analysis"})
# The enterprise's Knowledge notes that analyses name: note-0000 to note-0027 (enterprise.py
# serves them, and a few more that no analysis names).
NOTE_POOL = 40
ORDER = (
    "session_id", "url", "status", "status_detail", "tags", "org_id", "user_id",
    "service_user_id", "created_at", "updated_at", "acus_consumed", "pull_requests", "title",
    "playbook_id", "parent_session_id", "child_session_ids", "is_archived", "is_advanced",
    "structured_output", "category", "subcategory", "origin", "num_user_messages",
    "num_devin_messages", "session_size", "analysis",
)  # fmt: skip
_ABSENT = object()  # an optional key left out


def parent_index(seed: int, index: int) -> int | None:
    """Returns the index of the session that started session index, if one did (1 in 10)."""
    digest = hashlib.blake2b(f"{seed}:{index}:family".encode(), digest_size=8).digest()
    return None if index == 0 or digest[0] >= 26 else max(0, index - 1 - digest[1] % 3)


def render(
    session: dict[str, Any],
    seed: int,
    index: int,
    times: tuple[int, int],
    family: tuple[str | None, list[str]],
) -> dict[str, Any]:
    """Returns the v3 body of a session, given its v2 body with every override applied, its
    created_at and updated_at as v3 sends them, and its parent's and children's ids."""
    rng = random.Random(f"{seed}:{index}:v3")
    fields = _v3_fields(rng, session, family)
    fields.update({name: value for name, value in session.items() if name in V3_ONLY})
    if "analysis" not in session:
        fields["analysis"] = _analysis(random.Random(f"{seed}:{index}:v3a"), session)
        if fields["analysis"] is None and rng.random() < 0.3:
            fields["analysis"] = _ABSENT
    known = {
        **{name: session[name] for name in ORDER if name in session},
        **fields,
        "created_at": times[0],
        "updated_at": times[1],
        "pull_requests": [_pull_request(pr) for pr in session["pull_requests"]],
    }
    if known.get("title", _ABSENT) is None and rng.random() < 0.5:
        known["title"] = _ABSENT
    body = {name: known[name] for name in ORDER if known.get(name, _ABSENT) is not _ABSENT}
    unknown = (name for name in session if name not in body and name not in V2_ONLY)
    body.update({name: session[name] for name in unknown if name not in ORDER})
    return body


def _v3_fields(
    rng: random.Random, session: dict[str, Any], family: tuple[str | None, list[str]]
) -> dict[str, Any]:
    status, acus = session["status"], float(session["acus_consumed"] or 0)
    details = V3_STATUS_DETAILS.get(status)
    users = 0 if status == "new" else 1 + int(rng.expovariate(0.3))
    devins = 0 if status == "new" else users * 2 + rng.randint(0, 12)
    category = _optional(rng, rng.choice(list(CATEGORIES)) if rng.random() < 0.85 else None, 0.1)
    if isinstance(category, str):
        subcategory: Any = rng.choice(CATEGORIES[category] or ["Other"])
    else:
        subcategory = category  # null, or absent, with it
    parent, children = family
    return {
        "status": "creating" if status == "new" and rng.random() < 0.3 else status,
        "status_detail": _pick(rng, details) if details else _optional(rng, None, 0.5),
        "service_user_id": _optional(
            rng, f"svc-{rng.getrandbits(16):04x}" if session["user_id"] is None else None, 0.2
        ),
        "playbook_id": session.get("playbook_id", _optional(rng, None, 0.4)),
        "parent_session_id": _optional(rng, parent, 0.3 if parent is None else 0),
        "child_session_ids": children if children or rng.random() < 0.5 else _ABSENT,
        "is_archived": _optional(rng, rng.random() < 0.03, 0.2),
        "is_advanced": False if rng.random() < 0.02 else _ABSENT,  # older builds only
        "structured_output": session.get("structured_output", _structured(rng)),
        "category": category,
        "subcategory": subcategory,
        "origin": _optional(rng, _pick(rng, ORIGINS) if rng.random() < 0.95 else None, 0.05),
        "num_user_messages": users,
        "num_devin_messages": devins,
        "session_size": _size(acus + 0.2 * (users + devins)),
    }


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


def _optional(rng: random.Random, value: Any, p_absent: float) -> Any:
    return _ABSENT if rng.random() < p_absent else value


def _structured(rng: random.Random) -> Any:
    draw = rng.random()
    if draw < 0.3:
        return _ABSENT
    if draw < 0.9:
        return None
    return {"summary": text(rng, ACTION_TEXTS), "files_changed": rng.randint(1, 30),
            "tests_passed": rng.random() < 0.8}  # fmt: skip


def _size(score: float) -> str:
    """Returns session_size from ACUs and messages."""
    for size, top in (("xs", 2), ("s", 8), ("m", 25), ("l", 60)):
        if score < top:
            return size
    return "xl"


def _pull_request(pr: dict[str, Any]) -> dict[str, Any]:
    """Returns a pull request as {pr_url, pr_state}, whichever v2 form it came in."""
    known = {
        "pr_url": pr.get("url", pr.get("pr_url")),
        "pr_state": pr.get("state", pr.get("pr_state")),
    }
    return {
        **known,
        **{k: v for k, v in pr.items() if k not in ("url", "state", "pr_url", "pr_state")},
    }


def _issue_id(v2_id: Any) -> Any:
    """Returns v3's issue reference ('iss-3') for v2's ('issue_3')."""
    return v2_id.replace("issue_", "iss-") if isinstance(v2_id, str) else v2_id


def _analysis(rng: random.Random, session: dict[str, Any]) -> dict[str, Any] | None:
    """Returns the v3 analysis of a session, from its v2 session_analysis (None stays None)."""
    v2 = session.get("session_analysis")
    if not isinstance(v2, dict):
        return None
    with_ids = rng.random() < 0.9  # issues[].id went from required to optional
    issues = [
        {"id": f"iss-{n}", **issue} if with_ids else dict(issue)
        for n, issue in enumerate(v2.get("issues") or [], 1)
    ]
    action_items = []
    for item in v2.get("action_items") or []:
        kind = V3_ACTION_TYPES.get(item.get("type"), item.get("type"))
        draw = rng.random()
        typed = {"type": "playbook" if draw < 0.03 else kind} if draw < 0.95 else {}
        rest = {k: v for k, v in item.items() if k not in ("type", "issue_id", "action_item")}
        action_items.append(
            {"action_item": item.get("action_item"), **typed,
             "issue_id": _issue_id(item.get("issue_id")), **rest}
        )  # fmt: skip
    timeline = []
    for event in v2.get("timeline") or []:
        color = _pick(rng, COLORS)
        refers = color == "red" and bool(issues) and rng.random() < 0.7
        colored = {"color": color} if rng.random() < 0.95 else {}
        issue_id = f"iss-{rng.randint(1, len(issues))}" if refers else None
        timeline.append({**event, **colored, "issue_id": issue_id})
    analysis: dict[str, Any] = {
        "classification": _classification(rng),
        "issues": issues,
        "action_items": action_items,
        "timeline": timeline,
        "suggested_prompt": _suggested_prompt(rng, v2.get("suggested_prompt")),
    }
    note_usage = _note_usage(rng)
    if note_usage is not _ABSENT:
        analysis["note_usage"] = note_usage
    analysis.update({k: v for k, v in v2.items() if k not in analysis})  # unknown, as they are
    return analysis


def _classification(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.05:
        return None
    result: dict[str, Any] = {
        "category": rng.choice(CLASSIFICATIONS),
        "confidence": round(rng.uniform(0.3, 0.99), 2),
    }
    if rng.random() < 0.9:
        result["programming_languages"] = rng.sample(LANGUAGES, rng.randint(0, 3))
        result["tools_and_frameworks"] = rng.sample(TOOLS, rng.randint(0, 4))
    return result


def _suggested_prompt(rng: random.Random, v2: Any) -> Any:
    """v3's feedback strings are never null: v2's nulls become text, or empty text."""
    if not isinstance(v2, dict):
        return v2
    feedback = [
        {
            "summary": item.get("summary") or rng.choice(FEEDBACK_SUMMARIES),
            "excerpt": item.get("excerpt") or "",
            "details": item.get("details") or text(rng, FEEDBACK_DETAILS),
            "issue_id": _issue_id(item.get("issue_id")),
        }
        for item in v2.get("feedback_items") or []
    ]
    return {
        "original_prompt": v2.get("original_prompt") or "",
        "suggested_prompt": v2.get("suggested_prompt") or "",
        "feedback_items": feedback,
    }


def _note_usage(rng: random.Random) -> Any:
    draw = rng.random()
    if draw < 0.05:
        return _ABSENT
    if draw < 0.15:
        return None
    as_strings = draw > 0.95  # one source reports plain strings
    usages = {}
    for kind, most in (("good_usages", 3), ("bad_usages", 2)):
        items: list[Any] = []
        for _ in range(rng.randint(0, most)):
            message = text(rng, NOTE_MESSAGES)
            note = {"note_id": f"note-{rng.getrandbits(16) % NOTE_POOL:04x}", "message": message,
                    "reason": rng.choice(NOTE_REASONS)}  # fmt: skip
            items.append(message if as_strings else note)
        usages[kind] = items
    return usages
