"""Hypothesis strategies for Devin session responses (SessionDetailResponse as parsed JSON).

`session_responses()` draws any response the OpenAPI schema allows, plus the drift the pipeline
accepts (`pr_url`/`pr_state` pull requests, unknown top-level fields). `invalid_responses()`
draws a valid response broken in exactly one place, with the field path pydantic must report.

Values stay within what the client can actually hand over: it parses bodies with orjson, which
turns integers outside the 64-bit range into floats and rejects NaN, infinities and lone
surrogates, so none of those are drawn here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Json = Any

STATUSES = ("new", "claimed", "running", "exit", "error", "suspended", "resuming")

# Every top-level name the schema defines; unknown fields must avoid these.
KNOWN_FIELDS = frozenset(
    {
        "session_id",
        "url",
        "status",
        "title",
        "tags",
        "user_id",
        "org_id",
        "created_at",
        "updated_at",
        "acus_consumed",
        "pull_requests",
        "session_analysis",
        "initial_user_message",
    }
)
REQUIRED_FIELDS = (
    "session_id",
    "url",
    "status",
    "tags",
    "org_id",
    "created_at",
    "updated_at",
    "acus_consumed",
    "pull_requests",
    "session_analysis",
    "initial_user_message",
)
# Fields typed `string` (or `string | null`) at the top level.
STRING_FIELDS = (
    "session_id",
    "url",
    "status",
    "org_id",
    "initial_user_message",
    "title",
    "user_id",
)

# orjson's integer range: what the client's JSON parser yields as int.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

MAX_LIST = 4

# Any valid JSON text: unicode (incl. NUL, astral planes and controls), never a surrogate.
text = st.text(st.characters(codec="utf-8"), max_size=12)
# Mostly small readable strings, sometimes "" or arbitrary unicode.
texts = st.one_of(
    st.just(""),
    st.text("abcxyz _-.", min_size=1, max_size=6),
    text,
)
nullable_texts = st.one_of(st.none(), texts)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT_MIN, INT_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(text, children, max_size=3),
    ),
    max_leaves=8,
)

# --- timestamps ---------------------------------------------------------------------------

offsets = st.one_of(
    st.just(timedelta(0)),
    st.sampled_from([timedelta(hours=5, minutes=30), timedelta(hours=-8), timedelta(hours=14)]),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timedelta(minutes=m)),
)


@st.composite
def iso_timestamps(draw: st.DrawFn) -> str:
    """An aware ISO 8601 date-time, years 2000-2100, 'Z' or an offset like +05:30."""
    offset = draw(offsets)
    local = draw(st.datetimes(datetime(2000, 1, 1), datetime(2100, 12, 31, 23, 59, 59, 999999)))
    spec = draw(st.sampled_from(["auto", "microseconds", "milliseconds", "seconds"]))
    if spec == "milliseconds":
        local = local.replace(microsecond=local.microsecond // 1000 * 1000)
    elif spec == "seconds":
        local = local.replace(microsecond=0)
    stamp = local.replace(tzinfo=timezone(offset)).isoformat(timespec=spec)
    if offset == timedelta(0) and draw(st.booleans()):
        stamp = stamp[: -len("+00:00")] + "Z"
    return stamp


def parse_timestamp(stamp: str) -> datetime:
    """The instant an iso_timestamps() string denotes, in UTC; parsed without fromisoformat."""
    body, sign, zone = stamp[:-1], "+", "00:00"
    if not stamp.endswith("Z"):
        body, sign, zone = stamp[:-6], stamp[-6], stamp[-5:]
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in body else "%Y-%m-%dT%H:%M:%S"
    local = datetime.strptime(body, fmt)
    hours, minutes = int(zone[:2]), int(zone[3:])
    offset = timedelta(hours=hours, minutes=minutes) * (1 if sign == "+" else -1)
    return (local - offset).replace(tzinfo=UTC)


# --- pull request URLs ---------------------------------------------------------------------

segment = st.text("abcdefghijklmnopqrstuvwxyzABC0123456789-_.", min_size=1, max_size=8)
pr_numbers = st.one_of(st.integers(0, 99_999), st.integers(0, 2**40))
url_suffix = st.sampled_from(["", "/", "?w=1", "#discussion", "/?tab=files"])


@st.composite
def github_pr_urls(draw: st.DrawFn) -> str:
    host = draw(st.sampled_from(["github.com", "github.example.com:8443"]))
    return (
        f"https://{host}/{draw(segment)}/{draw(segment)}/pull/{draw(pr_numbers)}{draw(url_suffix)}"
    )


@st.composite
def gitlab_mr_urls(draw: st.DrawFn) -> str:
    host = draw(st.sampled_from(["gitlab.com", "git.example.org"]))
    path = "/".join(draw(st.lists(segment, min_size=2, max_size=4)))
    return f"https://{host}/{path}/-/merge_requests/{draw(pr_numbers)}{draw(url_suffix)}"


def is_pr_like(url: str) -> bool:
    return "/pull/" in url or "/merge_requests/" in url


pr_urls = st.one_of(
    github_pr_urls(),
    gitlab_mr_urls(),
    texts.filter(lambda t: not is_pr_like(t)),
    st.just("https://github.com/acme/api"),
    st.just("https://bitbucket.org/acme/api/pull-requests/3"),
)


@st.composite
def pull_requests(draw: st.DrawFn) -> dict[str, Json]:
    """A pull request as the schema has it ({url, state?}) or as real responses send it
    ({pr_url, pr_state} or {pr_url, pr_state, state}), plus the mixed forms."""
    url = draw(pr_urls)
    form = draw(
        st.sampled_from(["url", "url+state", "pr_", "pr_+state", "url+pr_state", "pr_url+state"])
    )
    if form == "url":
        return {"url": url}
    if form == "url+state":
        return {"url": url, "state": draw(nullable_texts)}
    if form == "url+pr_state":
        return {"url": url, "state": None, "pr_state": draw(nullable_texts)}
    if form == "pr_url+state":
        return {"pr_url": url, "state": draw(nullable_texts)}
    pr = {"pr_url": url, "pr_state": draw(nullable_texts)}
    if form == "pr_+state":
        pr["state"] = draw(nullable_texts)
    return pr


# --- session analysis ------------------------------------------------------------------------


def small_lists(elements: st.SearchStrategy) -> st.SearchStrategy[list]:
    return st.lists(elements, max_size=MAX_LIST)


issues = st.fixed_dictionaries({"issue": texts, "impact": texts, "label": texts})
action_items = st.fixed_dictionaries(
    {"issue_id": nullable_texts, "type": texts, "action_item": texts}
)
timeline_events = st.fixed_dictionaries({"title": texts, "description": texts})
feedback_items = st.fixed_dictionaries(
    {
        "issue_id": nullable_texts,
        "summary": nullable_texts,
        "excerpt": nullable_texts,
        "details": nullable_texts,
    }
)
suggested_prompts = st.fixed_dictionaries(
    {
        "original_prompt": texts,
        "suggested_prompt": texts,
        "feedback_items": small_lists(feedback_items),
    }
)
session_analyses = st.fixed_dictionaries(
    {"suggested_prompt": st.one_of(st.none(), suggested_prompts)},
    # Omitted lists default to [].
    optional={
        "issues": small_lists(issues),
        "action_items": small_lists(action_items),
        "timeline": small_lists(timeline_events),
    },
)


# --- whole responses -----------------------------------------------------------------------

acus = st.one_of(
    st.integers(0, 10_000),
    st.integers(INT_MIN, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
unknown_fields = st.dictionaries(
    text.filter(lambda name: name not in KNOWN_FIELDS), json_values, max_size=3
)


@st.composite
def session_responses(draw: st.DrawFn, session_id: st.SearchStrategy[str] = texts) -> dict:
    """Any schema-valid SessionDetailResponse, as the dict orjson.loads would return."""
    response: dict[str, Json] = {
        "session_id": draw(session_id),
        "url": draw(st.one_of(texts, st.just("https://app.devin.ai/sessions/abc123"))),
        "status": draw(st.sampled_from(STATUSES)),
        "tags": draw(small_lists(texts)),
        "org_id": draw(texts),
        "created_at": draw(iso_timestamps()),
        "updated_at": draw(iso_timestamps()),
        "acus_consumed": draw(acus),
        "pull_requests": draw(small_lists(pull_requests())),
        "session_analysis": draw(st.one_of(st.none(), session_analyses)),
        "initial_user_message": draw(nullable_texts),
    }
    for name in ("title", "user_id"):
        if draw(st.booleans()):
            response[name] = draw(nullable_texts)
    if draw(st.booleans()):
        response.update(draw(unknown_fields))
    # JSON objects are unordered: shuffle so nothing depends on field order.
    items = draw(st.permutations(list(response.items())))
    return dict(items)


# --- invalid responses -----------------------------------------------------------------------

not_iso = st.one_of(
    st.sampled_from(
        [
            "",
            "yesterday",
            "15/01/2024 10:30",
            "2024-13-01T00:00:00Z",
            "2024-01-15T25:00:00Z",
            "2024-01-15T10:30:00 UTC",
            "Mon, 15 Jan 2024 10:30:00 GMT",
            "1705314600",
        ]
    ),
    text.filter(lambda t: not _parses(t)),
)


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# A JSON number (or boolean) where a string belongs.
numbers = st.one_of(
    st.integers(INT_MIN, INT_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@st.composite
def invalid_responses(draw: st.DrawFn) -> tuple[dict, tuple[str | int, ...]]:
    """(a response broken in one place, the loc pydantic's first error must start with)."""
    response = draw(session_responses())
    candidates = ["missing", "number_for_string", "string_for_acus", "not_iso", "list_for_object"]
    if response["tags"]:
        candidates.append("tag_number")
    if response["pull_requests"]:
        candidates += ["pr_url_missing", "pr_url_number", "pr_state_number", "pr_list"]
    analysis = response["session_analysis"]
    if analysis is not None:
        candidates += ["analysis_field_number", "analysis_field_missing", "analysis_item_list"]
    kind = draw(st.sampled_from(candidates))

    if kind == "missing":
        name = draw(st.sampled_from(REQUIRED_FIELDS))
        del response[name]
        return response, (name,)
    if kind == "number_for_string":
        name = draw(st.sampled_from(STRING_FIELDS))
        response[name] = draw(numbers)
        return response, (name,)
    if kind == "string_for_acus":
        response["acus_consumed"] = draw(
            st.one_of(texts, st.integers(0, 100).map(str), st.just("25.5"))
        )
        return response, ("acus_consumed",)
    if kind == "not_iso":
        name = draw(st.sampled_from(["created_at", "updated_at"]))
        response[name] = draw(st.one_of(not_iso, numbers))
        return response, (name,)
    if kind == "list_for_object":
        name = draw(st.sampled_from(["session_analysis", "tags", "pull_requests"]))
        # An object where a list belongs, or a list where an object belongs.
        response[name] = [] if name == "session_analysis" else {"0": "x"}
        return response, (name,)
    if kind == "tag_number":
        i = draw(st.integers(0, len(response["tags"]) - 1))
        response["tags"][i] = draw(numbers)
        return response, ("tags", i)

    if kind.startswith("pr_"):
        i = draw(st.integers(0, len(response["pull_requests"]) - 1))
        pr = response["pull_requests"][i]
        url_key = "url" if "url" in pr else "pr_url"
        if kind == "pr_url_missing":
            del pr[url_key]
            return response, ("pull_requests", i, "url")
        if kind == "pr_url_number":
            pr[url_key] = draw(numbers)
            return response, ("pull_requests", i, "url")
        if kind == "pr_state_number":
            # The value the model reads as state: `state` unless null, else `pr_state`.
            pr["state" if pr.get("state") is not None or "pr_state" not in pr else "pr_state"] = (
                draw(numbers)
            )
            return response, ("pull_requests", i, "state")
        response["pull_requests"][i] = [pr]
        return response, ("pull_requests", i)

    # Inside session_analysis: every required field path present in this response.
    paths: list[tuple[str | int, ...]] = [("suggested_prompt",)]
    for list_name, fields in (
        ("issues", ("issue", "impact", "label")),
        ("action_items", ("type", "action_item", "issue_id")),
        ("timeline", ("title", "description")),
    ):
        for i in range(len(analysis.get(list_name, []))):
            paths += [(list_name, i, f) for f in fields]
    prompt = analysis["suggested_prompt"]
    if prompt is not None:
        paths += [
            ("suggested_prompt", f)
            for f in ("original_prompt", "suggested_prompt", "feedback_items")
        ]
        for i in range(len(prompt["feedback_items"])):
            paths += [
                ("suggested_prompt", "feedback_items", i, f)
                for f in ("issue_id", "summary", "excerpt", "details")
            ]
    if kind == "analysis_item_list":
        # A list where an object belongs: an item of a list, or suggested_prompt itself.
        items = [p[:-1] for p in paths if len(p) > 1 and isinstance(p[-2], int)]
        path = draw(st.sampled_from(list(dict.fromkeys(items)) or [("suggested_prompt",)]))
    else:
        path = draw(st.sampled_from(paths))
    parent: Any = analysis
    for key in path[:-1]:
        parent = parent[key]
    if kind == "analysis_field_missing":
        del parent[path[-1]]
    elif kind == "analysis_item_list":
        parent[path[-1]] = [parent[path[-1]]]
    elif path == ("suggested_prompt",):
        parent[path[-1]] = draw(st.one_of(texts, numbers))
    else:
        parent[path[-1]] = draw(numbers)
    return response, ("session_analysis", *path)
