"""The embedded fake Devin Enterprise API: deterministic synthetic sessions over real HTTP.

FakeDevin holds one enterprise's sessions. Session i is generated from (seed, i) alone, on
demand, so 100,000 sessions cost only their ids and timestamps. FakeApiServer serves them on
127.0.0.1 the way the real API does (SPEC section 1, schema drift included) and injects the
faults of SPEC section 7, configured through a Faults object that tests change between runs.

    python -m pipeline.fake_api --port 8000 --sessions 1000 --fail-rate 0.05
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import re
import socket
import threading
import time
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

SESSIONS_PATH = "/v2/enterprise/sessions/"
LIST_PATH = SESSIONS_PATH + "insights"
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
FILTERS = ("created_date_from", "created_date_to", "updated_date_from", "updated_date_to")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HISTORY = timedelta(days=90)
FRESH = timedelta(days=1)
OPEN_STATUSES = ("new", "claimed", "running", "suspended", "resuming")
UNANALYSED_STATUSES = ("new", "claimed", "running")

FAULT_KINDS = (
    "429", "429-date", "500", "502", "503", "malformed", "truncated",
    "missing-field", "wrong-type", "slow", "drop", "404", "422", "ok",
)  # fmt: skip
DEFAULT_FAIL_KINDS = ("429", "500", "502", "503", "truncated")

# Vocabulary of the synthetic sessions. Templates name their blanks after WORDS' keys.
WORDS = {
    "verb": ["Fix", "Add", "Refactor", "Update", "Migrate", "Remove", "Investigate", "Upgrade",
             "Document", "Speed up", "Clean up", "Harden"],
    "task": ["fix", "refactor", "update", "clean up", "investigate", "speed up", "add tests for"],
    "thing": ["authentication bug", "flaky integration test", "pagination of the orders endpoint",
              "retry logic", "CSV export", "rate limiter", "login redirect loop",
              "memory leak in the worker", "N+1 query on the dashboard", "webhook signature check",
              "search indexing job", "dark mode toggle", "timezone handling", "feature flags",
              "Dockerfile", "CI workflow", "type hints", "error messages", "database migration",
              "caching layer"],
    "component": ["billing-service", "api-gateway", "the web dashboard", "the mobile app",
                  "data-pipeline", "auth-service", "the admin console", "search", "notifications",
                  "the CLI"],
    "project": ["ENG", "PLAT", "WEB", "DATA", "OPS"],
    "num": [str(n) for n in range(2, 100)],
    "file": ["src/auth/jwt.py", "app/models/order.rb", "services/billing/invoice.go",
             "web/src/components/Table.tsx", "api/routes/sessions.ts", "pipeline/transform.py",
             "internal/cache/redis.go", "config/settings.yaml", "migrations/0042_add_index.sql",
             "Dockerfile", ".github/workflows/ci.yml", "package.json", "pyproject.toml"],
    "test": ["tests/test_auth.py::test_expired_token", "spec/models/order_spec.rb",
             "web/src/components/Table.test.tsx", "internal/cache/redis_test.go",
             "tests/integration/test_export.py"],
    "cmd": ["npm test", "pytest -x -q", "go test ./...", "bundle exec rspec", "make lint",
            "docker compose up -d", "yarn build", "cargo test", "poetry install", "npm ci"],
    "error": ["a KeyError", "a NullPointerException", "a 500 from the upstream API", "a timeout",
              "a race condition", "an off-by-one error", "a missing environment variable",
              "an expired certificate", "a stale cache entry", "a circular import"],
    "lib": ["requests", "React Query", "SQLAlchemy", "Django REST framework", "Express",
            "Sidekiq", "Celery", "Prisma", "gRPC", "Redis"],
    "action": ["open the billing page", "export a report", "log in with SSO", "upload a file",
               "search for an order", "reset their password"],
}  # fmt: skip
TITLES = ["{verb} {thing} in {component}", "{verb} {thing}", "{component}: {task} {thing}",
          "[{project}-{num}{num}] {verb} {thing}"]  # fmt: skip
MESSAGES = [
    "Hey Devin, can you {task} the {thing} in {component}? Users report {error} when they "
    "{action}. The code is probably in `{file}`. Please add a test and open a PR when you're done.",
    "Hi Devin! Two things for {component} today. First, {task} the {thing}: it has been slow since "
    "we upgraded {lib}, and `{test}` now takes {num} seconds. Second, the {thing} in `{file}` "
    "throws {error} when a user tries to {action}; please reproduce it before changing anything.\n"
    "\nConstraints:\n- keep the public API unchanged\n- run `{cmd}` and `{cmd}` before pushing\n"
    "- one PR per change, each linked to {project}-{num}{num}\n\nThanks!",
    "We need to {task} the {thing} before the next release. Start from `{file}` and make sure "
    "`{cmd}` passes. Ticket: {project}-{num}{num}. Keep the change small; {component} is owned by "
    "another team and they will review it.",
    "{verb} {thing} in {component}.",
    "Bonjour Devin ! Peux-tu corriger le {thing} dans {component} ? Les utilisateurs voient "
    "{error} quand ils veulent {action}. Le code est dans `{file}` ; lance `{cmd}` avant la PR. "
    "Merci 🙏",
    "请修复 {component} 中的 {thing}：用户在 {action} 时遇到 {error}。相关代码在 `{file}`，"
    "提交 PR 前请运行 `{cmd}`。",
    "Our nightly job in {component} crashed again:\n\n```\nTraceback (most recent call last):\n"
    '  File "{file}", line {num}, in run\n    result = client.fetch(batch)\n'
    "RuntimeError: {error} while talking to {lib}\n```\n\nPlease find out why, fix it in "
    "`{file}`, and add a regression test next to `{test}`. Run `{cmd}` before opening the PR and "
    "mention {project}-{num}{num} in the description so the on-call engineer can follow up.",
    "Since last week {component} fails with {error} about one request in {num}. Reproduce it, find "
    "the root cause and fix it. Logs point at `{file}`; `{test}` may help. Do not upgrade {lib} "
    "in the same PR.\n\nContext: this blocks the {project} migration, so please prioritise it.",
]
TIMELINE_TITLES = [
    "Set up the environment", "Cloned the repository", "Installed dependencies",
    "Read the relevant code", "Reproduced the issue", "Ran the test suite",
    "Identified the root cause", "Implemented the fix", "Added tests", "Fixed lint errors",
    "Waited for CI", "Addressed review comments", "Opened a pull request",
    "Asked the user for clarification", "Updated documentation", "Investigated a failing check",
]  # fmt: skip
TIMELINE_TEXTS = [
    "Devin ran `{cmd}` and saw {num} failing tests, the first one in `{test}`. The failures all "
    "pointed at {error} raised from `{file}`.",
    "Devin read `{file}` and the code that calls it to understand how the {thing} works today. It "
    "noted that the module depends on {lib} in a way the tests do not cover.",
    "Devin changed `{file}` so that {error} is handled instead of crashing the request. It kept "
    "the public interface unchanged to avoid touching other callers in {component}.",
    "Devin installed the dependencies with `{cmd}`. The first attempt failed because of {error}, "
    "which Devin fixed by pinning {lib} to a compatible version.",
    "Devin added a regression test in `{test}` that reproduces the original report. The test "
    "failed before the change and passes after it.",
    "Devin opened a pull request against the default branch and linked it in the chat. CI "
    "started running `{cmd}` on the branch.",
    "CI reported {error} in an unrelated job. Devin re-ran the job, confirmed the failure was "
    "flaky, and left a note on the pull request.",
    "Devin asked the user whether the change to {component} should be behind a feature flag. "
    "The user answered that it should ship directly.",
    "Devin searched the repository for other uses of {lib} and found {num} call sites with the "
    "same pattern. It updated them in the same change to keep behaviour consistent.",
    "Devin could not reproduce the problem at first because of {error}. After setting the "
    "missing configuration it saw the same behaviour as the user.",
    "Devin compared the behaviour of {component} before and after the change by running `{cmd}` "
    "on both branches. The numbers matched except for `{test}`, which now passes, and the logs no "
    "longer mention {error}. Devin summarised the comparison in the pull request description.",
]
ISSUE_TEXTS = [
    "Devin spent {num} minutes waiting for `{cmd}` because the environment had no cache. The same "
    "step runs in every session on {component}, so the time adds up quickly.",
    "The README does not say that {lib} needs a running service, so the first test run failed.",
    "Tests in `{test}` are flaky and failed intermittently with {error}. Devin re-ran them {num} "
    "times before it could tell its own failures from the existing ones.",
    "The prompt did not say which branch to start from, so Devin had to guess.",
    "Devin lacked permission to push to {component} and had to ask the user.",
    "Secrets for the staging environment were missing, which caused {error}.",
]
ACTION_TEXTS = [
    "Add a setup step that runs `{cmd}` before the session starts.",
    "Document in Knowledge that {component} needs {lib} configured locally.",
    "Create a playbook for the {thing} so future sessions follow the same steps.",
    "Store the staging credentials as a secret so Devin can run the integration tests.",
    "Pin {lib} in the environment snapshot to avoid {error}.",
    "Mention the target branch and the expected test command (`{cmd}`) in the prompt.",
]
FEEDBACK_DETAILS = [
    "The prompt should name the failing endpoint and paste the error, here {error}.",
    "Saying which tests must pass (`{cmd}`) would have saved a round trip with the user.",
    "Pointing Devin at `{file}` up front would have skipped {num} minutes of exploration.",
    "Acceptance criteria were implicit; state them as a checklist.",
]
FEEDBACK_SUMMARIES = ["Prompt too vague", "Missing acceptance criteria", "No reproduction steps",
                      "Unclear target branch", "Conflicting instructions",
                      "Missing test command"]  # fmt: skip
TAGS = ["bug-fix", "feature", "refactor", "tests", "docs", "ci", "dependencies", "frontend",
        "backend", "infra", "security", "performance", "migration", "auth", "data",
        "api"]  # fmt: skip
LABELS = ["Configuration", "Environment", "Dependencies", "Testing", "Permissions",
          "Ambiguous instructions", "Code quality", "Performance"]  # fmt: skip
ACTION_TYPES = ["machine_setup", "knowledge", "playbook", "prompt", "repo_setup", "secrets"]
OWNERS = ["acme", "acme-labs", "globex", "initech"]
REPOS = ["web-app", "api-gateway", "billing-service", "data-pipeline", "mobile-app", "infra",
         "auth-service", "search", "docs"]  # fmt: skip
STATUSES = ("exit", "error", "suspended", "running", "resuming", "new", "claimed")
STATUS_WEIGHTS = {  # by whether the session is fresh (< 1 day old): those are often still going
    False: (80, 9, 5, 2, 1.5, 1.5, 1),
    True: (35, 7, 8, 30, 5, 8, 7),
}


class _Blanks(dict[str, str]):
    """Fills a template's blanks with random words, a fresh pick for each blank."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return self.rng.choice(WORDS[key])


def _text(rng: random.Random, templates: list[str]) -> str:
    return rng.choice(templates).format_map(_Blanks(rng))


def _maybe(rng: random.Random, p_null: float, value: Any, p_empty: float = 0.0) -> Any:
    """Returns None with probability p_null, "" with p_empty, else value."""
    draw = rng.random()
    return None if draw < p_null else "" if draw < p_null + p_empty else value


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _iso(micros: int) -> str:
    """Returns '2024-01-15T10:30:00Z', with microseconds only when there are some."""
    moment = _moment(micros)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")[:-6] + "Z"


def parse_time(value: str | datetime) -> datetime:
    """Returns an aware UTC datetime from an ISO 8601 string ('Z' or offset; naive means UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hashed_meta(seed: int, index: int) -> tuple[str, int, int]:
    """Returns a session's id, age and duration in microseconds, from a hash of (seed, index).

    A hash, not random.Random, because seeding a Mersenne Twister costs ~8 us: too slow for
    100,000 sessions at start-up. The content uses random.Random, only when asked for.
    """
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=32).digest()
    u_age = int.from_bytes(digest[16:23]) / 2**56
    u_duration = int.from_bytes(digest[23:30]) / 2**56
    age = HISTORY.total_seconds() * u_age**1.5  # more sessions lately
    duration = 300 * 72**u_duration  # 5 minutes to 6 hours, log-uniform
    unit = 1 if digest[30] < 64 else 1_000_000  # one session in four has fractional seconds
    return (
        "devin-" + digest[:16].hex(),
        int(age * 1e6) // unit * unit,
        int(duration * 1e6) // unit * unit,
    )


def _pull_request_url(rng: random.Random) -> str:
    owner, repo, number = rng.choice(OWNERS), rng.choice(REPOS), rng.randint(1, 4000)
    host = rng.random()
    if host < 0.8:
        return f"https://github.com/{owner}/{repo}/pull/{number}"
    if host < 0.95:
        return f"https://gitlab.com/{owner}/{repo}/-/merge_requests/{number}"
    if host < 0.98:
        return f"https://bitbucket.org/{owner}/{repo}/pull-requests/{number}"
    return f"https://git.{owner}.internal/{repo}/changes/{number}"


def _pull_requests(rng: random.Random, status: str, nested_extra: bool) -> list[dict[str, Any]]:
    count = rng.choices((0, 1, 2, 3), (35, 45, 14, 6))[0] if status != "new" else 0
    drift = rng.random() < 0.2  # the documented example's {"pr_url", "pr_state", "state"}
    prs = []
    for _ in range(count):
        url = _pull_request_url(rng)
        state = rng.choices(("merged", "open", "closed", None), (50, 30, 12, 8))[0]
        if not drift:
            pr: dict[str, Any] = {"url": url, "state": state}
        elif rng.random() < 0.5:
            pr = {"pr_url": url, "pr_state": state, "state": state}
        else:
            pr = {"pr_url": url, "pr_state": state}
        if nested_extra:
            pr["head_branch"] = f"devin/{rng.getrandbits(32):08x}"
        prs.append(pr)
    return prs


def _analysis(rng: random.Random, nested_extra: bool = False) -> dict[str, Any]:
    n_issues = rng.randint(0, 5)
    issues = [
        {
            "issue": _text(rng, ISSUE_TEXTS),
            "impact": rng.choice(("High", "Medium", "Low")),
            "label": rng.choice(LABELS),
        }
        for _ in range(n_issues)
    ]
    timeline = [
        {
            "title": rng.choice(TIMELINE_TITLES),
            "description": _maybe(rng, 0, _description(rng), p_empty=0.02),
        }
        for _ in range(rng.randint(3, 15))
    ]
    action_items = [
        {
            "issue_id": _maybe(rng, 0.25, f"issue_{rng.randint(1, max(n_issues, 1))}"),
            "type": rng.choice(ACTION_TYPES),
            "action_item": _text(rng, ACTION_TEXTS),
        }
        for _ in range(rng.randint(0, 5))
    ]
    analysis: dict[str, Any] = {
        "issues": issues,
        "timeline": timeline,
        "action_items": action_items,
        "suggested_prompt": _maybe(rng, 0.15, _suggested_prompt(rng)),
    }
    if nested_extra:
        analysis["model_version"] = f"analysis-{rng.randint(3, 5)}.{rng.randint(0, 9)}"
        timeline[0]["duration_s"] = rng.randint(5, 900)
    return analysis


def _description(rng: random.Random) -> str:
    sentences = rng.choices((1, 2, 3), (2, 3, 5))[0]
    return " ".join(_text(rng, TIMELINE_TEXTS) for _ in range(sentences))


def _suggested_prompt(rng: random.Random) -> dict[str, Any]:
    original = _maybe(rng, 0, _text(rng, MESSAGES), p_empty=0.03)
    steps = " ".join(f"{n}. {_text(rng, ACTION_TEXTS)}" for n in range(1, rng.randint(4, 8)))
    feedback = [
        {
            "issue_id": _maybe(rng, 0.3, f"issue_{rng.randint(1, 5)}"),
            "summary": _maybe(rng, 0.1, rng.choice(FEEDBACK_SUMMARIES), p_empty=0.05),
            "excerpt": _maybe(rng, 0.2, original[: rng.randint(10, 60)], p_empty=0.05),
            "details": _maybe(rng, 0.1, _text(rng, FEEDBACK_DETAILS), p_empty=0.05),
        }
        for _ in range(rng.randint(0, 4))
    ]
    return {
        "original_prompt": original,
        "suggested_prompt": f"{_text(rng, MESSAGES)}\n\nSteps: {steps}",
        "feedback_items": feedback,
    }


def _acus(rng: random.Random, status: str) -> float | int:
    if status in ("new", "claimed"):
        return rng.choice((0, 0.0, round(rng.uniform(0.01, 0.5), 2)))
    if rng.random() < 0.15:  # JSON integers where the schema says number
        return rng.randint(1, 60)
    return round(rng.lognormvariate(2.0, 1.0), 2)


def _extra_fields(rng: random.Random) -> dict[str, Any]:
    """Fields the published schema does not know, as newer API versions add them."""
    fields: dict[str, Any] = {"playbook_id": f"playbook-{rng.getrandbits(64):016x}"}
    if rng.random() < 0.6:
        fields["snapshot"] = {
            "id": f"snapshot-{rng.getrandbits(64):016x}",
            "size_mb": round(rng.uniform(200, 9000), 1),
        }
    if rng.random() < 0.3:
        fields["structured_output"] = None
    return fields


class FakeDevin:
    """One enterprise's sessions: deterministic given (sessions, seed, now), mutable by tests."""

    def __init__(self, sessions: int = 1000, seed: int = 0, now: datetime | None = None) -> None:
        self.seed = seed
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.now = parse_time(now) if now else midnight
        self._fresh_after = _micros(self.now - FRESH)
        self._lock = threading.RLock()
        # Per session, by index: only what filtering and ordering need, timestamps as epoch us.
        self._ids: list[str] = []
        self._created: list[int] = []
        self._updated: list[int] = []
        self._index: dict[str, int] = {}
        self._overrides: dict[int, dict[str, Any]] = {}
        self._advances = 0
        self._version = 0  # bumped by every mutation: invalidates the order and filter caches
        self._order_version = -1
        self._order: list[int] = []
        self._order_created: list[int] = []
        self._filtered: dict[tuple[Any, ...], list[int]] = {}
        self._bodies: dict[str, bytes] = {}  # filled by preload(), emptied by any change
        rng = random.Random(f"{seed}:people")
        self._orgs = [f"org_{rng.getrandbits(48):012x}" for _ in range(4)]
        self._users = [f"user_{rng.getrandbits(48):012x}" for _ in range(40)]
        now_us = _micros(self.now)
        for index in range(sessions):
            session_id, age, duration = _hashed_meta(seed, index)
            created = now_us - age
            self._append(session_id, created, min(created + duration, now_us))

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._index

    def ids(self) -> list[str]:
        """Returns every session id in list order: by (created_at, session_id)."""
        return [self._ids[i] for i in self._sorted()]

    def session(self, session_id: str) -> dict[str, Any] | None:
        """Returns the session as the API sends it (a fresh dict), or None if unknown."""
        index = self._index.get(session_id)
        return None if index is None else self._at(index)

    def preload(self) -> None:
        """Encode every session's detail body now, so serving one costs only the HTTP work.

        For benchmarks: a real API's CPU is not on the exporter's machine, this fake's is.
        """
        bodies = {session_id: _json(self._at(i)) for i, session_id in enumerate(self._ids)}
        with self._lock:
            self._bodies = bodies

    def body(self, session_id: str) -> bytes | None:
        """Return the encoded detail body of a preloaded session, else None."""
        return self._bodies.get(session_id)

    def _at(self, index: int) -> dict[str, Any]:
        with self._lock:
            overrides = dict(self._overrides.get(index, {}))
            created, updated = self._created[index], self._updated[index]
        session = self._generate(index, created)
        session.update(copy.deepcopy(overrides))
        session["created_at"], session["updated_at"] = _iso(created), _iso(updated)
        return session

    def page(self, skip: int, limit: int, filters: dict[str, datetime] | None = None) -> dict:
        """Returns one page of the list endpoint; filters named as in FILTERS, bounds inclusive."""
        matching = self._matching(filters or {})
        more = skip + limit < len(matching)
        return {
            "items": [self._at(index) for index in matching[skip : skip + limit]],
            "total": len(matching),
            "skip": skip,
            "limit": limit,
            "has_more": more,
            "next_cursor": skip + limit if more else None,
        }

    def add_sessions(self, n: int) -> list[str]:
        """Adds n sessions created at the current clock; returns their ids."""
        return self._add([_micros(self.now)] * n)

    def update(self, session_id: str, **fields: Any) -> None:
        """Overrides top-level fields; updated_at moves to the clock unless given."""
        if "session_id" in fields:
            raise ValueError("session_id is the key and cannot change")
        with self._lock:
            index = self._index[session_id]
            self._updated[index] = _micros(parse_time(fields.pop("updated_at", self.now)))
            if "created_at" in fields:
                self._created[index] = _micros(parse_time(fields.pop("created_at")))
            self._overrides.setdefault(index, {}).update(fields)
            self._version += 1
            self._bodies.clear()

    def set_analysis(
        self, session_id: str, analysis: dict | None, bump_updated_at: bool = True
    ) -> None:
        """Replaces session_analysis; real analyses often arrive without touching updated_at."""
        with self._lock:
            index = self._index[session_id]
            updated_at = self.now if bump_updated_at else _moment(self._updated[index])
            self.update(session_id, session_analysis=analysis, updated_at=updated_at)

    def advance(
        self,
        days: float = 1.0,
        new_sessions: int = 0,
        updated_sessions: int = 0,
        late_analyses: int = 0,
        bump_updated_at_on_analysis: bool = False,
    ) -> dict[str, list[str]]:
        """Moves the clock on as a night passes; returns the ids touched, per argument name."""
        with self._lock:
            self._advances += 1
            rng = random.Random(f"{self.seed}:advance:{self._advances}")
            start = _micros(self.now)
            self.now += timedelta(days=days)
            end = _micros(self.now)
            new_ids = self._add(sorted(rng.randint(start, end) for _ in range(new_sessions)))
            updated = self._pick(rng, updated_sessions, _is_open, exclude=set(new_ids))
            for session_id in updated:
                self._progress(rng, session_id, start)
            analysed = self._pick(rng, late_analyses, _awaits_analysis, exclude=set(), fill=False)
            for session_id in analysed:
                late = _analysis(random.Random(f"{self.seed}:late:{session_id}"))
                self.set_analysis(session_id, late, bump_updated_at_on_analysis)
        return {"new_sessions": new_ids, "updated_sessions": updated, "late_analyses": analysed}

    def _append(self, session_id: str, created: int, updated: int) -> None:
        self._index[session_id] = len(self._ids)
        self._ids.append(session_id)
        self._created.append(created)
        self._updated.append(updated)

    def _add(self, created: list[int]) -> list[str]:
        with self._lock:
            now, ids = _micros(self.now), []
            for moment in created:
                session_id, _, duration = _hashed_meta(self.seed, len(self._ids))
                self._append(session_id, moment, min(moment + duration, max(now, moment)))
                ids.append(session_id)
            self._version += 1
            self._bodies.clear()
        return ids

    def _pick(
        self,
        rng: random.Random,
        count: int,
        wanted: Callable[[dict[str, Any]], bool],
        exclude: set[str],
        fill: bool = True,
    ) -> list[str]:
        """Returns up to count ids: the newest wanted sessions, then (if fill) random others."""
        picked: list[str] = []
        for index in reversed(self._sorted()):
            if len(picked) == count:
                return picked
            session_id = self._ids[index]
            if session_id not in exclude and wanted(self._at(index)):
                picked.append(session_id)
        rest = [s for s in self._ids if s not in exclude and s not in picked] if fill else []
        return picked + rng.sample(rest, min(count - len(picked), len(rest)))

    def _progress(self, rng: random.Random, session_id: str, since: int) -> None:
        """Moves a session on: it finishes, spends more ACUs, maybe opens a pull request."""
        index = self._index[session_id]
        session, start = self._at(index), max(since, self._created[index])
        fields: dict[str, Any] = {
            "status": "exit" if rng.random() < 0.9 else "error",
            "acus_consumed": round(float(session["acus_consumed"]) + rng.uniform(0.5, 20), 2),
            "updated_at": _moment(rng.randint(start, max(start, _micros(self.now)))),
        }
        if rng.random() < 0.4:
            new_pr = {"url": _pull_request_url(rng), "state": "open"}
            fields["pull_requests"] = session["pull_requests"] + [new_pr]
        self.update(session_id, **fields)

    def _generate(self, index: int, created: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{index}")
        session_id = self._ids[index]
        status = rng.choices(STATUSES, STATUS_WEIGHTS[created > self._fresh_after])[0]
        user = rng.randrange(len(self._users)) if rng.random() < 0.93 else None
        org = self._orgs[user % len(self._orgs) if user is not None else rng.randrange(4)]
        nested_extra = rng.random() < 0.06
        pending = status in UNANALYSED_STATUSES or rng.random() < 0.05
        session: dict[str, Any] = {
            "session_id": session_id,
            "url": f"https://app.devin.ai/sessions/{session_id.removeprefix('devin-')}",
            "status": status,
            "title": _maybe(rng, 0.08, _text(rng, TITLES), p_empty=0.02),
            "tags": rng.sample(TAGS, rng.choices((0, 1, 2, 3, 4), (15, 30, 30, 15, 10))[0]),
            "user_id": None if user is None else self._users[user],
            "org_id": org,
            "created_at": "",
            "updated_at": "",
            "acus_consumed": _acus(rng, status),
            "pull_requests": _pull_requests(rng, status, nested_extra),
            "session_analysis": None if pending else _analysis(rng, nested_extra),
            "initial_user_message": _maybe(rng, 0.07, _text(rng, MESSAGES), p_empty=0.02),
        }
        if rng.random() < 0.1:
            session.update(_extra_fields(rng))
        return session

    def _sorted(self) -> list[int]:
        with self._lock:
            if self._order_version != self._version:
                # By id, then stably by created_at: twice as fast as sorting (created, id) tuples.
                self._order = sorted(range(len(self._ids)), key=self._ids.__getitem__)
                self._order.sort(key=self._created.__getitem__)
                self._order_created = [self._created[index] for index in self._order]
                self._order_version = self._version
                self._filtered.clear()
            return self._order

    def _matching(self, filters: dict[str, datetime]) -> list[int]:
        """Returns the indexes of the sessions within the filters, in list order (cached)."""
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise ValueError(f"unknown filters: {sorted(unknown)}")
        bounds = {name: _micros(parse_time(v)) for name, v in filters.items() if v is not None}
        with self._lock:
            order = self._sorted()
            if not bounds:
                return order
            key = (self._order_version, *(bounds.get(name) for name in FILTERS))
            if key not in self._filtered:
                if len(self._filtered) >= 8:  # a few filter sets at a time, never unbounded
                    self._filtered.clear()
                self._filtered[key] = self._filter(order, bounds)
            return self._filtered[key]

    def _filter(self, order: list[int], bounds: dict[str, int]) -> list[int]:
        created_from, created_to = bounds.get("created_date_from"), bounds.get("created_date_to")
        low = 0 if created_from is None else bisect_left(self._order_created, created_from)
        high = len(order) if created_to is None else bisect_right(self._order_created, created_to)
        lowest, highest = bounds.get("updated_date_from"), bounds.get("updated_date_to")
        if lowest is None and highest is None:
            return order[low:high]
        lowest = -(2**63) if lowest is None else lowest
        highest = 2**63 if highest is None else highest
        return [i for i in order[low:high] if lowest <= self._updated[i] <= highest]


def _is_open(session: dict[str, Any]) -> bool:
    return session["status"] in OPEN_STATUSES


def _awaits_analysis(session: dict[str, Any]) -> bool:
    return session["session_analysis"] is None and session["status"] not in UNANALYSED_STATUSES


class Faults:
    """What the server does wrong, changed by tests between (or during) runs; thread-safe."""

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        fail_rate: float = 0.0,
        fail_kinds: Iterable[str] = DEFAULT_FAIL_KINDS,
        retry_after: int = 0,
        slow_seconds: float = 5.0,
        auth_status: int | None = None,
        ignore_filters: bool = False,
        seed: int = 0,
    ) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[str]] = {}
        self.latency_ms = latency_ms
        self.fail_rate = fail_rate
        self.fail_kinds = fail_kinds
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.auth_status = auth_status
        self.ignore_filters = ignore_filters
        self.seed = seed

    @property
    def fail_kinds(self) -> tuple[str, ...]:
        return self._fail_kinds

    @fail_kinds.setter
    def fail_kinds(self, kinds: Iterable[str]) -> None:
        self._fail_kinds = _checked_kinds(kinds)

    @property
    def seed(self) -> int:
        return self._seed

    @seed.setter
    def seed(self, seed: int) -> None:
        with self._lock:
            self._seed, self._rng = seed, random.Random(seed)

    def script(self, key: str, kinds: Iterable[str]) -> None:
        """Gives the next requests for key (a session id, or "page:<skip>") these faults."""
        checked = _checked_kinds(kinds)
        with self._lock:
            self._scripts[key] = deque(checked)

    def reset(self) -> None:
        """Back to a well-behaved server: no latency, no faults, no scripts."""
        Faults.__init__(self)

    def next_fault(self, key: str | None) -> str | None:
        """Returns the fault for the next request for key: scripted, else random, else None."""
        with self._lock:
            script = self._scripts.get(key) if key is not None else None
            if script is not None:
                fault = script.popleft() if script else None
            elif self.fail_rate and self._rng.random() < self.fail_rate:
                fault = self._rng.choice(self.fail_kinds)
            else:
                fault = None
        return None if fault == "ok" else fault


def _checked_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    unknown = [kind for kind in kinds if kind not in FAULT_KINDS]
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    return kinds


def _validation_error(where: str, name: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": [where, name], "msg": msg, "type": kind}


def _bad_session_id() -> dict[str, Any]:
    msg = "String should match pattern '^[A-Za-z0-9_-]{1,128}$'"
    return {"detail": [_validation_error("path", "session_id", msg, "string_pattern_mismatch")]}


def _parse_page(query: dict[str, str]) -> tuple[int, int, dict[str, datetime], list[dict]]:
    """Returns skip, limit, filters and the validation errors of a list request's query."""
    errors, numbers = [], {}
    for name, default, low, high in (("skip", 0, 0, None), ("limit", 100, 1, 200)):
        try:
            numbers[name] = int(query.get(name, default))
        except ValueError:
            errors.append(
                _validation_error("query", name, "Input should be a valid integer", "int_parsing")
            )
            continue
        if numbers[name] < low:
            msg = f"Input should be greater than or equal to {low}"
            errors.append(_validation_error("query", name, msg, "greater_than_equal"))
        elif high is not None and numbers[name] > high:
            msg = f"Input should be less than or equal to {high}"
            errors.append(_validation_error("query", name, msg, "less_than_equal"))
    filters = {}
    for name in FILTERS:
        if name in query:
            try:
                filters[name] = parse_time(query[name])
            except ValueError:
                msg = "Input should be a valid datetime"
                errors.append(_validation_error("query", name, msg, "datetime_parsing"))
    return numbers.get("skip", 0), numbers.get("limit", 100), filters, errors


def _route(path: str) -> tuple[str | None, str | None]:
    """Returns ("list", None), ("detail", decoded session id) or (None, None) for no route."""
    if path == LIST_PATH:
        return "list", None
    if path.startswith(SESSIONS_PATH) and "/" not in path[len(SESSIONS_PATH) :]:
        return "detail", unquote(path[len(SESSIONS_PATH) :])
    return None, None


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _corrupt(payload: dict[str, Any], fault: str) -> None:
    """Breaks the session (or a page's first item) the way a schema change would."""
    target = payload["items"][0] if payload.get("items") else payload
    if "items" in target:  # an empty page: nothing to corrupt
        return
    if fault == "missing-field":
        target.pop("created_at", None)
    else:
        target["acus_consumed"] = "lots"


BAD_GATEWAY = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>\n"
)
MALFORMED = b'{"session_id": "devin-0", "status": exit, "tags": [}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients pool their connections
    disable_nagle_algorithm = True
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request on stderr would cost more than the request itself

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        faults = self.server.app.faults
        path, _, raw_query = self.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        route, session_id = _route(path)
        log = {"path": path, "query": query, "session_id": session_id, "status": 0, "fault": None}
        self._pause(faults.latency_ms / 1000)
        denied = self._auth_error(self.server.app.key, faults.auth_status)
        if denied:
            self._send(log, denied[0], _json({"detail": denied[1]}), auth=True)
            return
        key = session_id if route == "detail" else f"page:{query.get('skip', '0')}"
        log["fault"] = faults.next_fault(key if route else None)
        self._serve(log, route, session_id, query)

    def _serve(self, log: dict, route: str | None, session_id: str | None, query: dict) -> None:
        """Answers the request, spoiled by the fault named in log."""
        fault, faults = log["fault"], self.server.app.faults
        if fault == "drop":
            self.server.app.record(log)
            self.close_connection = True
        elif fault in ("429", "429-date", "500", "502", "503"):
            self._send_error_fault(log, fault, faults.retry_after)
        elif fault == "malformed":
            self._send(log, 200, MALFORMED)
        elif fault == "404":
            self._send(log, 404, _json({"detail": "Session not found"}))
        elif fault == "422":
            self._send(log, 422, _json(_bad_session_id()))
        elif (
            fault is None
            and route == "detail"
            and (body := self.server.app.devin.body(session_id or ""))
        ):
            self._send(log, 200, body)
        else:
            if fault == "slow":
                self._pause(faults.slow_seconds)
            status, payload = self._answer(route, session_id, query, faults.ignore_filters)
            if fault in ("missing-field", "wrong-type") and status == 200:
                _corrupt(payload, fault)
            self._send(log, status, _json(payload), truncate=fault == "truncated")

    def _answer(
        self, route: str | None, session_id: str | None, query: dict, ignore_filters: bool
    ) -> tuple[int, Any]:
        """Returns the status and payload a healthy API would send."""
        devin = self.server.app.devin
        if route == "detail":
            if not SESSION_ID.fullmatch(session_id or ""):
                return 422, _bad_session_id()
            session = devin.session(session_id or "")
            return (200, session) if session else (404, {"detail": "Session not found"})
        if route == "list":
            skip, limit, filters, errors = _parse_page(query)
            if errors:
                return 422, {"detail": errors}
            return 200, devin.page(skip, limit, {} if ignore_filters else filters)
        return 404, {"detail": "Not Found"}

    def _auth_error(self, key: str | None, forced: int | None) -> tuple[int, str] | None:
        if forced == 403:
            return 403, "This key is not allowed to read enterprise sessions"
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "Not authenticated"
        if forced == 401 or (key is not None and token.strip() != key):
            return 401, "Invalid API key"
        return None

    def _send_error_fault(self, log: dict, fault: str, retry_after: int) -> None:
        status, headers = int(fault[:3]), {}
        if fault == "429-date":
            later = datetime.now(UTC) + timedelta(seconds=retry_after)
            headers["Retry-After"] = format_datetime(later, usegmt=True)
        elif fault in ("429", "503"):
            headers["Retry-After"] = str(retry_after)
        if fault == "502":  # a proxy in front of the API answers, in HTML
            return self._send(log, 502, BAD_GATEWAY, "text/html", headers)
        detail = {429: "Too Many Requests", 500: "Internal Server Error"}.get(status)
        self._send(log, status, _json({"detail": detail or "Service Unavailable"}), headers=headers)

    def _send(
        self,
        log: dict,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        auth: bool = False,
        truncate: bool = False,
    ) -> None:
        log["status"] = status
        self.server.app.record(log)  # before answering: a client may look as soon as it has one
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if auth:
            self.send_header("WWW-Authenticate", "Bearer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if truncate:  # the full Content-Length promised, half the body sent, then hang up
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(body)

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.server.stopping.wait(seconds)  # woken by stop(): stop never waits on a sleeper


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # 16-32 pooled clients connect at once

    def __init__(self, address: tuple[str, int], app: FakeApiServer) -> None:
        self.app = app
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up mid-answer are part of the game


class FakeApiServer:
    """The fake API on a real socket: FakeApiServer(FakeDevin(500)).start().url."""

    def __init__(
        self,
        devin: FakeDevin | None = None,
        *,
        key: str | None = None,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.devin = devin if devin is not None else FakeDevin()
        self.faults = faults if faults is not None else Faults()
        self.key = key
        self._log: deque[dict[str, Any]] = deque(maxlen=200_000)  # bounded for long benchmarks
        self._log_lock = threading.Lock()
        self._httpd = _HttpServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Returns the requests served so far, oldest first (status 0: dropped, no answer).

        Entries are {"path", "query", "session_id", "status", "fault"}: never a header, so
        never the key.
        """
        with self._log_lock:
            return list(self._log)

    def record(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self._log.append(entry)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def start(self) -> FakeApiServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and hangs up on every client, even those a slow fault keeps waiting."""
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        for connection in list(self._httpd.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FakeApiServer:
        return self if self._thread else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serves the fake API until Ctrl-C."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.fail_rate <= 1:
        parser.error("--fail-rate must be between 0 and 1")
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            fail_kinds=[kind for kind in args.fail_kinds.split(",") if kind],
            retry_after=args.retry_after,
            slow_seconds=args.slow_seconds,
            auth_status=args.auth_status,
            ignore_filters=args.ignore_filters,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        _serve_forever(args, faults)
    except KeyboardInterrupt:
        pass
    return 0


def _serve_forever(args: argparse.Namespace, faults: Faults) -> None:
    devin = FakeDevin(args.sessions, seed=args.seed)
    if args.preload:
        devin.preload()
    server = FakeApiServer(devin, key=args.key, faults=faults, host=args.host, port=args.port)
    keys = "only the --key given" if args.key else "any Bearer key"
    print(f"Fake Devin API on {server.url} ({len(devin)} sessions; {keys} works)", flush=True)
    with server:
        # Woken twice a second: the kernel may hand Ctrl-C to any thread, and only the main
        # thread raises KeyboardInterrupt, which an endless wait would never get to do.
        while True:
            time.sleep(0.5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.fake_api", description="Serve a fake Devin Enterprise API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="0..1")
    parser.add_argument(
        "--fail-kinds", default=",".join(DEFAULT_FAIL_KINDS), help=f"of {','.join(FAULT_KINDS)}"
    )
    parser.add_argument("--retry-after", type=int, default=0, help="seconds")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--auth-status", type=int, choices=(401, 403))
    parser.add_argument("--ignore-filters", action="store_true")
    parser.add_argument(
        "--preload", action="store_true", help="encode every session at start (benchmarks)"
    )
    parser.add_argument("--key", help="the only Bearer key accepted (default: any)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
