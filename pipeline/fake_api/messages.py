"""A v3 session's messages, as the fake serves them (api/enterprise.md, SessionMessage):

    GET /v3/enterprise/sessions/{devin_id}/messages?first=F&after=C
        {"items": [{"event_id", "source", "message", "created_at"}...], "end_cursor",
         "has_next_page", "total"}

Consistent with the session: as many user and devin messages as its num_user_messages and
num_devin_messages, the first user message is the session's prompt (the v2 rendering's
initial_user_message, a text of its own where that is empty), times from its created_at on,
in order. Traps: a few sessions open with a devin message before the user's (the first
message is not the prompt), a session that is 'new' has none, pages hold at most the
enterprise's page_cap (25) items, so long conversations are paged; 403 when the part
'messages' is forbidden (Enterprise.forbid).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from .generator import text
from .vocabulary import MESSAGES

if TYPE_CHECKING:
    from .state import FakeDevin

REPLIES = (
    "I'll start by looking at the repository structure.",
    "I've opened a pull request with the fix.",
    "The tests pass locally; CI is running now.",
    "I could not reproduce the failure yet. Could you share the exact command?",
    "Done. I also added a regression test.",
    "Setting up the environment and installing dependencies.",
)
FOLLOW_UPS = (
    "Thanks, please also update the changelog.",
    "Can you rebase on main?",
    "Looks good, merge it when CI is green.",
    "Use the staging database, not production.",
)
# One session in this many opens with a devin message, before the user's prompt.
DEVIN_FIRST = 11


def messages(devin: FakeDevin, session_id: str) -> list[dict[str, Any]] | None:
    """Return the messages of a live session in order, or None for an unknown one."""
    v3 = devin.session(session_id, "v3")
    v2 = devin.session(session_id, "v2")
    if not v3 or not v2:
        return None
    users = v3.get("num_user_messages") or 0
    devins = v3.get("num_devin_messages") or 0
    if not isinstance(users, int) or not isinstance(devins, int):
        return []
    rng = random.Random(f"{devin.seed}:messages:{session_id}")
    prompt = v2.get("initial_user_message") or text(rng, MESSAGES)
    sources = ["user"] * users + ["devin"] * devins
    tail = sources[1:]
    rng.shuffle(tail)
    sources = sources[:1] + tail
    if devins and users and rng.randrange(DEVIN_FIRST) == 0:
        sources.remove("devin")
        sources.insert(0, "devin")
    at = v3["created_at"] if isinstance(v3.get("created_at"), int) else 0
    items, said = [], False
    for n, source in enumerate(sources):
        at += rng.randint(5, 600)
        if source == "user":
            body = prompt if not said else rng.choice(FOLLOW_UPS)
            said = True
        else:
            body = rng.choice(REPLIES)
        items.append(
            {
                "event_id": f"evt-{rng.getrandbits(64):016x}{n:04d}",
                "source": source,
                "message": body,
                "created_at": at,
            }
        )
    return items
