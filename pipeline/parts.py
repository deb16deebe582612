"""The parts of the enterprise a run exports besides sessions (SPEC sections 2 and 10), and
which of them a run includes: --with / --without, the API version, the kind of run.

    people          users, user_roles, org_members        v2 members (+ org members), v3 members
    organizations   organizations                         v2 / v3 organizations
    playbooks       playbooks                             v2 / v3 playbooks
    knowledge       knowledge_notes                       v3 knowledge notes
    messages        session_messages                      v3 messages of each session exported
    consumption     consumption_cycles, consumption_daily v2 / v3 billing cycles, daily ACUs
    metrics         usage_daily, active_users             v2 / v3 usage metrics, v3 DAU/WAU/MAU

An --all run (and --demo) includes every part its API version has; a run by ids or
--refresh-open alone includes only messages (of the sessions it exports); --with adds parts (to
any run, even one without sessions), --without takes them out. With --pseudonymize, messages
(free text that no token can stand for) only when named in --with. A part named in --with
that the key may not read fails the run (exit 1); one included by default is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pipeline.errors import UsageError

PARTS = ("people", "organizations", "playbooks", "knowledge", "messages", "consumption", "metrics")
# Parts fetched per session the run exports, not listed whole (pipeline.messages_load).
PER_SESSION = ("messages",)
# What each API version has (enterprise.md): v2 has no knowledge notes and no session messages.
AVAILABLE = {
    "v2": ("people", "organizations", "playbooks", "consumption", "metrics"),
    "v3": PARTS,
}
V2_KEY = "an Enterprise admin's personal key"
# The permission each part needs, as the API's documentation names it (older name in brackets).
PERMISSIONS = {
    "v3": {
        "people": "ViewAccountMembership (older name: ManageAccountMembership)",
        "organizations": "ManageOrganizations",
        "playbooks": "ManageAccountPlaybooks",
        "knowledge": "ManageAccountKnowledge",
        "messages": "ViewAccountSessions",
        "consumption": "ViewAccountConsumption (older name: ManageBilling)",
        "metrics": "ViewAccountMetrics",
    },
    "v2": {part: V2_KEY for part in AVAILABLE["v2"]},
}
PSEUDONYMIZED = "--pseudonymize: free text, exported only when named in --with"
# The raw lines of the parts begin so (pipeline.enterprise_load): a replay tells them from
# sessions' bodies by it, before any parsing.
LINE_PREFIX = b'{"devin_export_part":'
META_BYTES = 400  # a part line's metadata, before its body, is within its first bytes
(_SESSION_OF,) = (re.compile(f'"part":"{part}".*?"session_id":"([^"]*)"'.encode())
                  for part in PER_SESSION)  # fmt: skip


def is_part_line(line: bytes, part: str) -> bool:
    """Whether a raw line is one of part's, told by its metadata without parsing it."""
    return f'"part":"{part}"'.encode() in line[:META_BYTES]


def session_of(line: bytes) -> str | None:
    """The session a per-session part line (a page of its messages) is about; None for any
    other line."""
    found = _SESSION_OF.search(line, 0, META_BYTES)
    return None if found is None else found.group(1).decode()


# PartPlan outcomes (summary, --summary-json)
EXPORTED_OK = "exported"
SKIPPED = "skipped"
FAILED = "failed"
DENIED = "permission_denied"


def permission(part: str, version: str) -> str:
    return PERMISSIONS.get(version, {}).get(part, "a permission the API did not name")


def parse_parts(values: Iterable[str] | None, flag: str) -> tuple[str, ...]:
    """Return the parts named by one or more comma-separated lists, in PARTS order."""
    named: set[str] = set()
    for value in values or ():
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        if not names:
            raise UsageError(f"{flag}: give a comma-separated list of {', '.join(PARTS)}")
        unknown = [name for name in names if name not in PARTS]
        if unknown:
            raise UsageError(
                f"{flag}: unknown part {', '.join(map(repr, unknown))}: one of {', '.join(PARTS)}"
            )
        named.update(names)
    return tuple(part for part in PARTS if part in named)


def check_parts(with_parts: tuple[str, ...], without: tuple[str, ...], version: str) -> None:
    """Refuse, before anything runs, what no run could do."""
    both = [part for part in with_parts if part in without]
    if both:
        raise UsageError(f"{', '.join(both)}: named in both --with and --without")
    missing = [part for part in with_parts if part not in AVAILABLE[version]]
    if missing:
        raise UsageError(
            f"--with {', '.join(missing)}: the {version} API has no such endpoint; it needs the "
            "v3 API (a service user's key, cog_..., or --api-version v3)"
        )


@dataclass
class PartOutcome:
    """What happened to one part in a run: for the summary and --summary-json."""

    part: str
    status: str  # exported, skipped, failed, permission_denied
    reason: str = ""
    named: bool = False  # named in --with: a failure fails the run
    rows: dict[str, int] = field(default_factory=dict)  # rows written, by table
    requests: int = 0

    def record(self) -> dict[str, object]:
        return {
            "status": self.status,
            "reason": self.reason or None,
            "named": self.named,
            "rows": self.rows,
            "requests": self.requests,
        }

    def describe(self) -> str:
        if self.status == EXPORTED_OK:
            rows = ", ".join(f"{n:,} {t}" for t, n in self.rows.items())
            return f"{self.part} ({rows})" if rows else self.part
        return f"{self.part} ({self.reason})" if self.reason else self.part


@dataclass
class PartPlan:
    """The parts a run exports, and what it says of the others."""

    version: str
    included: tuple[str, ...]  # in PARTS order, exportable by this release
    named: frozenset[str]
    outcomes: dict[str, PartOutcome]  # every part of PARTS, filled in as the run goes

    @property
    def warnings(self) -> int:
        """permission_denied rows that are warnings (parts included by default), not failures."""
        return sum(
            1 for o in self.outcomes.values() if o.status == DENIED and not o.named
        )  # fmt: skip


def plan_parts(
    version: str,
    list_all: bool,
    with_parts: tuple[str, ...] = (),
    without: tuple[str, ...] = (),
    sessions: bool = False,
    pseudonymize: bool = False,
) -> PartPlan:
    """Return what a run includes: by default every part its API version has on an --all run,
    the sessions' messages on a run by ids or --refresh-open (sessions), plus --with, less
    --without; with pseudonymize, messages only when named."""
    defaults = AVAILABLE[version] if list_all else PER_SESSION if sessions else ()
    defaults = tuple(p for p in defaults if p in AVAILABLE[version])
    if pseudonymize:
        defaults = tuple(p for p in defaults if p not in PER_SESSION)
    wanted = [p for p in PARTS if (p in defaults or p in with_parts) and p not in without]
    outcomes = {}
    for part in PARTS:
        named = part in with_parts
        if part in without:
            outcome = PartOutcome(part, SKIPPED, "--without", named)
        elif part not in wanted:
            reason = "not in the v2 API" if part not in AVAILABLE[version] else "not asked for"
            if pseudonymize and part in PER_SESSION and part in AVAILABLE[version]:
                reason = PSEUDONYMIZED
            outcome = PartOutcome(part, SKIPPED, reason, named)
        else:
            outcome = PartOutcome(part, SKIPPED, "not reached", named)  # until it runs
        outcomes[part] = outcome
    included = tuple(wanted)
    return PartPlan(version, included, frozenset(with_parts), outcomes)


def replayed_plan() -> PartPlan:
    """The plan of a --from-raw run: whatever the raw files hold, reported as it is replayed."""
    outcomes = {p: PartOutcome(p, SKIPPED, "not in the raw files") for p in PARTS}
    return PartPlan("", (), frozenset(), outcomes)
