"""Free text as a language model writes it: the sessions of text="llm".

Devin's session analysis is written by a language model, and the real API's free text shows it:
nearly every issue has a label of its own, and the labels that do recur come with different
case, spacing and trailing punctuation ("Flaky test", "flaky test.", " Flaky  Test "), or
reworded ("Flaky tests", "flaky_test"). Labels, impacts, action item types and feedback summaries
may be long, in any script, with emoji and combining marks; now and then a text is a pasted log
of 10 to 50 kB, and a session has hundreds of timeline events.

rewrite() gives a session made by the generator (text="kind") that shape, from a random stream
of its own: everything else about the session (status, ACUs, pull requests, how many issues and
action items, which issue an item names) is the same for a seed in both modes.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .vocabulary import (
    LLM_FOREIGN_TEMPLATES,
    LLM_IMPACT_TEMPLATES,
    LLM_LABEL_TEMPLATES,
    LLM_LABELS,
    LLM_LOG_LINES,
    LLM_SEVERITIES,
    LLM_SUMMARIES,
    LLM_TITLES,
    LLM_TYPE_TEMPLATES,
    LLM_TYPES,
    WORDS,
)

if TYPE_CHECKING:
    from .state import FakeDevin

P_RECURRING = 0.2  # an issue's label is one of LLM_LABELS, maybe varied or reworded
P_LONG = 0.05  # a label of several sentences: hundreds of characters
P_FOREIGN = 0.10  # a one-off label in another script
P_HUGE = 0.015  # a session with one text of 10-50 kB (a pasted log)
P_LONG_TIMELINE = 0.015  # a session with 100-500 timeline events
HUGE_BYTES = (10_000, 50_000)
STAMP_ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)

# Spellings a reader takes for the same words: grouped together by the text_key macro
# (sql/staging/stg_issues.sql), which v_issue_labels and v_action_items group by.
SPACES = (" ", "  ", "\t", "\u00a0", "\u3000")
TRAILING = (".", ".", "!", ":", ";", "…", "...", " .", "。", "！", "?")
COMBINING = ("\u0301", "\u0308", "\u0336", "\u0323", "\u030a")


def _zipf(n: int) -> list[float]:
    return [1 / (rank + 1) ** 1.1 for rank in range(n)]


LABEL_WEIGHTS = _zipf(len(LLM_LABELS))
TYPE_WEIGHTS = _zipf(len(LLM_TYPES))
SEVERITIES = [name for name, _ in LLM_SEVERITIES]
SEVERITY_WEIGHTS = [weight for _, weight in LLM_SEVERITIES]


class Blanks(dict[str, str]):
    """Fills a template's blanks: WORDS, and numbers, versions and ids drawn afresh."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        rng = self.rng
        if key == "version":
            return f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"
        if key == "line":
            return str(rng.randint(1, 4000))
        if key == "code":
            return str(rng.choice((1, 2, 127, 137, 139, 255)))
        if key == "port":
            return str(rng.randint(1024, 65535))
        if key == "hex":
            return f"{rng.getrandbits(40):010x}"
        if key == "stamp":
            day, second = rng.randint(0, 364), rng.randint(0, 86399)
            return f"{STAMP_ORIGIN + timedelta(days=day, seconds=second):%Y-%m-%dT%H:%M:%SZ}"
        return rng.choice(WORDS[key])


def fill(rng: random.Random, templates: list[str]) -> str:
    """Returns one of the templates with its blanks filled, sometimes varied (vary)."""
    text = rng.choice(templates).format_map(Blanks(rng))
    return vary(rng, text) if rng.random() < 0.1 else text


def vary(rng: random.Random, text: str) -> str:
    """Returns text as written another time: other case, spacing, trailing punctuation, or
    Unicode form; the same words to a reader (and to the views' grouping)."""
    draw = rng.random()
    if draw < 0.15:
        text = text.lower()
    elif draw < 0.22:
        text = text.title()
    elif draw < 0.25:
        text = text.upper()
    if rng.random() < 0.08 and " " in text:
        text = text.replace(" ", rng.choice(SPACES), 1)
    if rng.random() < 0.15:
        text = text + rng.choice(TRAILING)
    if rng.random() < 0.06:
        text = " " + text
    if rng.random() < 0.08:
        text = text + rng.choice((" ", "  ", "\n"))
    if rng.random() < 0.2:
        text = unicodedata.normalize("NFD", text)  # é as e and a combining accent
    return text


def reword(rng: random.Random, text: str) -> str:
    """Returns text worded another way: a reader may see the same problem, the views do not."""
    return rng.choice(
        (
            text + "s",
            text.replace(" ", "_").lower(),
            "Issue: " + text,
            text + " (CI)",
            "Possible " + text[:1].lower() + text[1:],
        )
    )


def label(rng: random.Random) -> str:
    """Returns an issue's label: recurring (varied, or reworded), long, foreign or one-off."""
    draw = rng.random()
    if draw < P_RECURRING:
        known = rng.choices(LLM_LABELS, LABEL_WEIGHTS)[0]
        return reword(rng, known) if rng.random() < 0.12 else vary(rng, known)
    draw -= P_RECURRING
    if draw < P_LONG:
        return ". ".join(fill(rng, LLM_LABEL_TEMPLATES) for _ in range(rng.randint(3, 7)))
    draw -= P_LONG
    if draw < P_FOREIGN:
        return fill(rng, LLM_FOREIGN_TEMPLATES)
    text = fill(rng, LLM_LABEL_TEMPLATES)
    if rng.random() < 0.03:  # stray combining marks, as a model sometimes emits them
        text = "".join(c + rng.choice(COMBINING) if rng.random() < 0.2 else c for c in text)
    if rng.random() < 0.04:
        text += rng.choice((" 🐛", " 🔥", " ⚠️", " 👀", " 🧪"))
    return text


def impact(rng: random.Random) -> str:
    """Returns an issue's impact: a severity, written many ways, or a sentence of its own."""
    draw = rng.random()
    if draw < 0.6:
        return vary(rng, rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0])
    if draw < 0.97:
        return fill(rng, LLM_IMPACT_TEMPLATES)
    return " ".join(fill(rng, LLM_IMPACT_TEMPLATES) + "." for _ in range(rng.randint(4, 9)))


def action_type(rng: random.Random) -> str:
    """Returns an action item's type: a documented one, one like it, or an instruction."""
    if rng.random() < 0.55:
        known = rng.choices(LLM_TYPES, TYPE_WEIGHTS)[0]
        return vary(rng, known) if rng.random() < 0.3 else known
    return fill(rng, LLM_TYPE_TEMPLATES)


def summary(rng: random.Random) -> str:
    """Returns a feedback item's summary."""
    if rng.random() < 0.5:
        return vary(rng, rng.choice(LLM_SUMMARIES))
    return fill(rng, LLM_LABEL_TEMPLATES)


def huge(rng: random.Random) -> str:
    """Returns a pasted log of 10 to 50 kB (counted in UTF-8)."""
    size = rng.randint(*HUGE_BYTES)
    lines: list[str] = ["Here is the full log:", "```"]
    written = 0
    while written < size:
        line = fill(rng, LLM_LOG_LINES)
        lines.append(line)
        written += len(line.encode()) + 1
    lines.append("```")
    return "\n".join(lines)


def timeline_event(rng: random.Random) -> dict[str, Any]:
    return {"title": fill(rng, LLM_TITLES), "description": fill(rng, LLM_LOG_LINES)}


def rewrite(session: dict[str, Any], rng: random.Random) -> None:
    """Rewrites the free text of a session's analysis (in place) as a language model would."""
    analysis = session.get("session_analysis")
    places: list[tuple[dict[str, Any], str]] = [(session, "initial_user_message")]
    if isinstance(analysis, dict):
        for issue in analysis["issues"]:
            issue["label"] = label(rng)
            issue["impact"] = impact(rng)
            places.append((issue, "issue"))
        for item in analysis["action_items"]:
            item["type"] = action_type(rng)
            places.append((item, "action_item"))
        timeline = analysis["timeline"]
        if rng.random() < P_LONG_TIMELINE:
            timeline.extend(timeline_event(rng) for _ in range(rng.randint(100, 500)))
        places.append((rng.choice(timeline), "description"))
        prompt = analysis.get("suggested_prompt")
        if isinstance(prompt, dict):
            for item in prompt["feedback_items"]:
                if item["summary"]:  # None and "" stay as they are
                    item["summary"] = summary(rng)
            places.append((prompt, "suggested_prompt"))
    if rng.random() < P_HUGE:
        holder, key = rng.choice(places)
        holder[key] = huge(rng)


def with_text(devin: FakeDevin, text: str) -> FakeDevin:
    """Returns devin with its sessions' free text made in text ("kind" or "llm").

    Call it on a new FakeDevin, before anything is served. A stand-in for a text= keyword of
    FakeDevin itself: it swaps the generator FakeDevin made. Analyses that arrive later
    (advance(late_analyses=...), generate_analysis) are made by generator.analysis, in "kind".
    """
    devin._generator = devin._generator.with_text(text)
    devin._bodies.clear()  # nothing preloaded keeps the old text
    return devin
