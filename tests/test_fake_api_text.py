"""The fake's text modes: "kind" (a few fixed labels) and "llm" (free text as Devin's language
model writes it: nearly every label its own, recurring ones spelled many ways, every script,
long texts, pasted logs, timelines of hundreds of events)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import unicodedata
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.fake_api import TEXT_MODES, FakeDevin, with_text

NOW = datetime(2025, 6, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
FREE_TEXT = {"label", "impact", "type", "summary", "issue", "action_item", "description",
             "title", "suggested_prompt", "initial_user_message"}  # fmt: skip


def llm(sessions: int, seed: int = 0) -> FakeDevin:
    return with_text(FakeDevin(sessions, seed=seed, now=NOW), "llm")


@pytest.fixture(scope="module")
def sessions() -> list[dict[str, Any]]:
    devin = llm(3000)
    return [devin.session(session_id) for session_id in devin.ids()]


def analyses(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s["session_analysis"] for s in sessions if s["session_analysis"]]


def issues(sessions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [issue for a in analyses(sessions) for issue in a["issues"]]


def key(text: str) -> str:
    """The grouping of the views (text_key in sql/staging/stg_issues.sql), in Python."""
    text = re.sub(r"[\s\u00a0\u3000]+", " ", unicodedata.normalize("NFC", text))
    return re.sub(r"[ .,;:!?…。，、；：！？؟،؛]+$", "", text).lstrip(" ").lower()


def skeleton(value: Any, name: str = "") -> Any:
    """The session with its free text blanked out, and the analysis's timeline cut to its
    first events: what the text mode must not change."""
    if isinstance(value, dict):
        return {k: skeleton(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return (
            [skeleton(v) for v in value[:15]]
            if name == "timeline"
            else [skeleton(v) for v in value]
        )
    return "<text>" if name in FREE_TEXT and isinstance(value, str) else value


def test_kind_is_the_default_and_llm_changes_only_the_free_text():
    kind, default, text = FakeDevin(400, now=NOW), FakeDevin(400, now=NOW), llm(400)
    with_text(kind, "kind")
    assert TEXT_MODES == ("kind", "llm")
    assert [kind.session(i) for i in kind.ids()] == [default.session(i) for i in default.ids()]
    assert text.ids() == default.ids()
    changed = 0
    for session_id in default.ids():
        before, after = default.session(session_id), text.session(session_id)
        assert skeleton(after) == skeleton(before)  # status, ACUs, PRs, counts, issue refs
        changed += after != before
    assert changed > 300


def test_llm_text_depends_on_the_seed_only():
    first, again, other = llm(200, seed=5), llm(200, seed=5), llm(200, seed=6)
    assert [first.session(i) for i in first.ids()] == [again.session(i) for i in again.ids()]
    small = llm(20, seed=5)
    assert all(small.session(i) == first.session(i) for i in small.ids())
    labels = {i["label"] for i in issues([first.session(i) for i in first.ids()])}
    other_labels = {i["label"] for i in issues([other.session(i) for i in other.ids()])}
    assert len(labels & other_labels) < len(labels) / 5  # only the recurring ones


def test_labels_are_mostly_distinct_and_recurring_ones_are_spelled_many_ways(sessions):
    labels = [issue["label"] for issue in issues(sessions)]
    assert len(set(labels)) > 0.65 * len(labels)
    spellings: dict[str, set[str]] = {}
    for label in labels:
        spellings.setdefault(key(label), set()).add(label)
    flaky = spellings["flaky test"]
    assert {"Flaky test", "flaky test"} <= flaky and len(flaky) >= 8
    assert any(s != s.strip() for s in flaky)  # spaces around
    assert any(s.rstrip()[-1] in ".!:;…。?" for s in flaky)  # trailing punctuation
    assert any("  " in s or "\u00a0" in s or "\t" in s or "\u3000" in s for s in flaky)
    nfd = [s for s in spellings["dépendance manquante"] if unicodedata.is_normalized("NFD", s)]
    assert nfd and not unicodedata.is_normalized("NFC", nfd[0])  # é as e + a combining accent
    # and reworded ones, which no spelling rule merges
    assert {"Flaky tests", "flaky_test"} & set(labels)
    counts = Counter(key(label) for label in labels)
    assert counts.most_common(1)[0][0] == "flaky test"


def test_every_script_and_long_text(sessions):
    labels = [issue["label"] for issue in issues(sessions)]
    text = "".join(labels)
    for script, pattern in {
        "CJK": r"[\u4e00-\u9fff]",
        "Cyrillic": r"[\u0400-\u04ff]",
        "Arabic": r"[\u0600-\u06ff]",
        "Hangul": r"[\uac00-\ud7af]",
        "Devanagari": r"[\u0900-\u097f]",
        "emoji": r"[\U0001f300-\U0001faff]",
        "combining marks": r"[\u0300-\u036f]",
    }.items():
        assert re.search(pattern, text), script
    assert max(map(len, labels)) >= 300  # several sentences: hundreds of characters
    impacts = Counter(issue["impact"] for issue in issues(sessions))
    assert {"High", "Medium", "Low"} <= set(impacts)
    assert len(impacts) > 200  # and sentences of their own


def test_action_item_types_are_documented_ones_spelled_many_ways_or_free_text(sessions):
    types = Counter(item["type"] for a in analyses(sessions) for item in a["action_items"])
    assert {"machine_setup", "repo_config", "knowledge", "Machine setup"} <= set(types)
    assert types.most_common(1)[0][0] == "machine_setup"
    assert len(types) > 0.3 * sum(types.values())


def test_some_texts_are_huge_and_some_timelines_long(sessions):
    def strings(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    huge = [len(s.encode()) for session in sessions for s in strings(session)]
    huge = [size for size in huge if size >= 10_000]
    assert 15 <= len(huge) <= 100 and max(huge) <= 51_000
    timelines = [len(a["timeline"]) for a in analyses(sessions)]
    assert 15 <= sum(n >= 100 for n in timelines) <= 80 and max(timelines) <= 515


def test_v3_bodies_carry_the_same_free_text():
    devin = llm(60)
    for session_id in devin.ids():
        v2, v3 = devin.session(session_id), devin.session(session_id, "v3")
        if v2["session_analysis"] and v3.get("analysis"):
            assert [i["label"] for i in v3["analysis"]["issues"]] == [
                i["label"] for i in v2["session_analysis"]["issues"]
            ]


def test_an_unknown_text_mode_is_refused():
    with pytest.raises(ValueError, match="unknown text mode 'poetry': one of kind, llm"):
        with_text(FakeDevin(1, now=NOW), "poetry")


def test_command_line_serves_llm_text():
    command = [sys.executable, "-m", "pipeline.fake_api", "--port", "0", "--sessions", "50",
               "--text", "llm"]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(30, process.kill)
        watchdog.start()
        try:
            url = re.search(r"http://127\.0\.0\.1:\d+", process.stdout.readline()).group(0)
            page = requests.get(
                url + "/v2/enterprise/sessions/insights", params={"limit": 50},
                headers={"Authorization": "Bearer x"}, timeout=5,
            ).json()  # fmt: skip
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate()
            watchdog.cancel()
    devin = with_text(FakeDevin(50), "llm")
    served = {item["session_id"]: item["session_analysis"] for item in page["items"]}
    assert served == {i: devin.session(i)["session_analysis"] for i in devin.ids()}
