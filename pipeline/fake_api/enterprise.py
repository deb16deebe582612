"""The enterprise around the sessions, as the fake serves it in v2 and v3 (api/enterprise.md):
members, organizations, playbooks and knowledge notes. FakeDevin.enterprise holds it.

Consistent with the sessions: every user_id and org_id a session names is a member or an
organization here (the generator's people, Generator.users and .orgs; a user's first org is
the one its sessions are in), every playbook_id a session names is a playbook (found in the
sessions themselves: the generator draws them at random), and every note a v3 analysis names
is a knowledge note (v3_payload draws them from NOTE_POOL). There are more of each that no
session names, and the traps the reference lists:

    IdP-only users      in v3 only in members/idp-users (membership through IdP groups);
                        some users are in both lists (direct and IdP roles)
    unnamed users       a few v3 users have a null name or email (v2 sends "")
    v3 org ids          the organizations no session names are 'org-<hex>', the others 'org_<hex>'
    paging caps         every list serves at most page_cap (25) items a page, whatever is asked;
                        v3 idp-users omits total; v2 playbooks is a bare array, no paging
    removed and back    rotate() takes a few items of each kind out of every listing and puts
                        the previous ones back: call it between runs
    permissions         forbid("people", ...) makes a part's endpoints answer 403
    the bill            billing cycles, daily consumption and metrics: billing.py

Paths (GET only; both versions serve the same state):
    v2  /v2/enterprise/members, /members/{user_id}/organizations, /organizations,
        /organizations/{org_id}/members (skip/limit pages), /playbooks (a bare array)
    v3  /v3/enterprise/members/users, /members/idp-users, /organizations, /playbooks,
        /knowledge/notes (first/after cursor pages, the sessions' cursor format)
Fault keys: "<listing>:page:<offset>", e.g. "members/users:page:0", "playbooks:page:0",
"organizations/<org_id>/members:page:0".
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import billing as bill
from .clock import iso, to_micros
from .dialect import NOT_ALLOWED, Answer, Context, Request, Route, parse_bounded_int
from .v3_payload import NOTE_POOL

if TYPE_CHECKING:
    from .state import FakeDevin

KIND = "enterprise:"  # Route.kind prefix of every path here
PAGE_CAP = 25
EXTRA_USERS = 8
EXTRA_ORGS = 2
EXTRA_PLAYBOOKS = 4
EXTRA_NOTES = 6
# The permission each part needs, as a 403 names it (v3), and the parts of each listing.
PERMISSIONS = {
    "people": "ViewAccountMembership",
    "organizations": "ManageOrganizations",
    "playbooks": "ManageAccountPlaybooks",
    "knowledge": "ManageAccountKnowledge",
    "messages": "ViewAccountSessions",  # v3 sessions/{devin_id}/messages (v3.py)
    "consumption": "ViewAccountConsumption",
    "metrics": "ViewAccountMetrics",
}
FIRST = (
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Alan",
    "Radia",
    "Edsger",
    "Sophie",
    "Tim",
    "Hedy",
    "Donald",
    "Katherine",
    "Guido",
    "Anita",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Turing",
    "Perlman",
    "Dijkstra",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Knuth",
    "Johnson",
)
ORG_NAMES = ("Platform", "Payments", "Data", "Mobile", "Growth", "Security", "Infra", "Search")
BOOK_TITLES = (
    "Fix a flaky test",
    "Upgrade a dependency",
    "Add an API endpoint",
    "Write a migration",
    "Triage a Sentry error",
    "Bump the Node version",
    "Add type hints",
    "Review a pull request",
    "Write release notes",
)
NOTE_NAMES = (
    "Repository layout",
    "How to run the tests",
    "Deploying to staging",
    "Coding style",
    "Secrets and config",
    "Database migrations",
    "Feature flags",
    "On-call runbook",
    "Frontend conventions",
    "Release process",
)
ENTERPRISE_ROLES = {
    "account_admin": ("role-ent-admin", "Enterprise Admin"),
    "account_member": ("role-ent-member", "Member"),
}
ORG_ROLES = {"org_admin": ("role-org-admin", "Org Admin"),
             "org_member": ("role-org-member", "Org Member")}  # fmt: skip


@dataclass
class Person:
    user_id: str
    name: str | None
    email: str | None
    enterprise_role: str  # account_admin / account_member
    membership: str  # direct, idp, both
    orgs: list[tuple[str, str]]  # (org_id, org_role), the first is the sessions' org
    created: int  # epoch microseconds
    last_login: int | None
    logins: int | None
    sessions: int
    searches: int


@dataclass
class Organization:
    org_id: str
    name: str
    created: int
    updated: int
    cycle_limit: int | None
    session_limit: int | None


@dataclass
class Hidden:
    """Items out of every listing for now (removed; back at the next rotate())."""

    users: set[str] = field(default_factory=set)
    orgs: set[str] = field(default_factory=set)
    playbooks: set[str] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)


class Enterprise:
    """One enterprise's people, organizations, playbooks and notes, for FakeDevin's sessions."""

    def __init__(self, devin: FakeDevin) -> None:
        self.devin = devin
        self.seed = devin.seed
        self.page_cap = PAGE_CAP
        self.forbidden: set[str] = set()  # parts whose endpoints answer forbidden_status
        self.forbidden_status = 403
        self.hidden = Hidden()
        self._lock = threading.Lock()
        self._rotations = 0
        self._playbooks: tuple[int, list[str]] | None = None  # (devin.changes, ids)
        self._billing: bill.Billing | None = None
        now = to_micros(devin.now)
        orgs, users = devin.people()
        rng = random.Random(f"{self.seed}:enterprise")
        extra_orgs = [f"org-{rng.getrandbits(48):012x}" for _ in range(EXTRA_ORGS)]
        self.orgs = [
            Organization(
                org_id,
                f"{ORG_NAMES[n % len(ORG_NAMES)]}",
                now - _days(rng, 400, 900),
                now - _days(rng, 1, 200),
                rng.choice((None, 5000, 20000)),
                rng.choice((None, None, 50, 100)),
            )  # fmt: skip
            for n, org_id in enumerate(orgs + extra_orgs)
        ]
        all_orgs = [o.org_id for o in self.orgs]
        extra_users = [f"user_{rng.getrandbits(48):012x}" for _ in range(EXTRA_USERS)]
        self.people: list[Person] = []
        for n, user_id in enumerate(users + extra_users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            home = orgs[n % len(orgs)] if n < len(users) else all_orgs[n % len(all_orgs)]
            memberships = [(home, "org_admin" if n % 7 == 1 else "org_member")]
            if n % 5 == 2:
                other = next(o for o in all_orgs[n % len(all_orgs) :] + all_orgs if o != home)
                memberships.append((other, "org_member"))
            never = n % 8 == 5
            self.people.append(
                Person(
                    user_id=user_id,
                    name=None if n % 17 == 5 else f"{first} {last}",
                    email=None if n % 19 == 7 else f"{first}.{last}.{n}@example.com".lower(),
                    enterprise_role="account_admin" if n % 13 == 0 else "account_member",
                    membership="idp" if n % 6 == 3 else ("both" if n % 9 == 4 else "direct"),
                    orgs=memberships,
                    created=now - _days(rng, 30, 700),
                    last_login=None if never else now - _days(rng, 0, 30),
                    logins=None if never else rng.randint(1, 400),
                    sessions=rng.randint(0, 300),
                    searches=rng.randint(0, 900),
                )
            )

    @property
    def billing(self) -> bill.Billing:
        """Billing cycles, daily consumption and metrics (billing.py), made when first asked."""
        with self._lock:
            if self._billing is None:
                self._billing = bill.Billing(self)
            return self._billing

    # -- what tests change ---------------------------------------------------------------------

    def forbid(self, *parts: str, status: int = 403) -> None:
        """Make these parts' endpoints answer 403 (both versions), or status (401: a key that
        stops working half-way); no argument: allow all."""
        unknown = set(parts) - set(PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; known: {', '.join(PERMISSIONS)}")
        with self._lock:
            self.forbidden, self.forbidden_status = set(parts), status

    def rotate(self, users: int = 2, orgs: int = 1, playbooks: int = 2, notes: int = 2
               ) -> dict[str, list[str]]:  # fmt: skip
        """Put back what the last rotate() took out of the listings, and take out others (the
        first user of them one that sessions name); returns what is out now, by kind."""
        with self._lock:
            self._rotations += 1
            rng = random.Random(f"{self.seed}:rotate:{self._rotations}")
            old = self.hidden
            people = [p.user_id for p in self.people if p.user_id not in old.users]
            named = [u for u in self.devin.people()[1] if u not in old.users]
            picked_users = rng.sample(named, min(1, users, len(named)))
            rest = [u for u in people if u not in picked_users]
            picked_users += rng.sample(rest, max(0, users - len(picked_users)))
            extra = [o.org_id for o in self.orgs[len(self.devin.people()[0]) :]]
            free_orgs = [o for o in extra if o not in old.orgs] or extra
            self.hidden = Hidden(
                users=set(picked_users),
                orgs=set(rng.sample(free_orgs, min(orgs, len(free_orgs)))),
                playbooks=_sample(rng, self._playbook_ids(), old.playbooks, playbooks),
                notes=_sample(rng, self.note_ids(), old.notes, notes),
            )
            hidden = self.hidden
        return {
            "users": sorted(hidden.users),
            "orgs": sorted(hidden.orgs),
            "playbooks": sorted(hidden.playbooks),
            "notes": sorted(hidden.notes),
        }

    # -- the items, as each version sends them -------------------------------------------------

    def users_v2(self) -> list[dict[str, Any]]:
        return [self._user_v2(p) for p in self._listed_people()]

    def _user_v2(self, p: Person) -> dict[str, Any]:
        return {
            "user_id": p.user_id,
            "email": p.email or "",
            "name": p.name or "",
            "enterprise_role": p.enterprise_role,
            "created_at": iso(p.created),
            "last_login": None if p.last_login is None else iso(p.last_login),
            "login_count": p.logins,
            "saml_id": f"saml|{p.user_id}" if p.membership != "direct" else None,
            "sessions_created_count": p.sessions,
            "searches_created_count": p.searches,
        }

    def org_members_v2(self, org_id: str) -> list[dict[str, Any]] | None:
        """The members of an organization (v2), or None for one not listed."""
        org = next((o for o in self._listed_orgs() if o.org_id == org_id), None)
        if org is None:
            return None
        return [
            self._membership_v2(p, org, role, n)
            for n, p in enumerate(self._listed_people())
            for member_of, role in p.orgs
            if member_of == org_id
        ]

    def orgs_of_v2(self, user_id: str) -> list[dict[str, Any]] | None:
        person = next((p for p in self._listed_people() if p.user_id == user_id), None)
        if person is None:
            return None
        orgs = {o.org_id: o for o in self._listed_orgs()}
        return [
            self._membership_v2(person, orgs[org_id], role, n)
            for n, (org_id, role) in enumerate(person.orgs)
            if org_id in orgs
        ]

    def _membership_v2(self, p: Person, org: Organization, role: str, n: int) -> dict[str, Any]:
        return {
            "user_id": p.user_id,
            "email": p.email or "",
            "name": p.name or "",
            "org_id": org.org_id,
            "org_name": org.name,
            "org_role": role,
            "org_role_name": None if n % 4 == 3 else ORG_ROLES[role][1],
            "enterprise_role": p.enterprise_role,
        }

    def users_v3(self, listing: str) -> list[dict[str, Any]]:
        """members/users (users with direct role assignments) or members/idp-users (users
        with roles through IdP groups: only those, or besides their direct ones)."""
        wanted = ("direct", "both") if listing == "members/users" else ("idp", "both")
        return [self._user_v3(p, listing) for p in self._listed_people() if p.membership in wanted]

    def _user_v3(self, p: Person, listing: str) -> dict[str, Any]:
        listed = {o.org_id for o in self._listed_orgs()}  # a removed org takes its roles along
        enterprise = _role(*ENTERPRISE_ROLES[p.enterprise_role], "enterprise")
        org_roles = [(org_id, _role(*ORG_ROLES[role], "org")) for org_id, role in p.orgs
                     if org_id in listed]  # fmt: skip
        item: dict[str, Any] = {"user_id": p.user_id, "email": p.email, "name": p.name}
        if listing == "members/users":
            # a user in both lists gets its second org through an IdP group
            direct = org_roles if p.membership == "direct" else org_roles[:1]
            item["role_assignments"] = [{"role": enterprise}] + [
                {"role": role, "org_id": org_id} for org_id, role in direct
            ]
            return item
        group = f"okta-{self._org_name(p.orgs[0][0]).lower()}"
        idp = org_roles if p.membership == "idp" else (org_roles[1:] or org_roles[:1])
        assignments: list[dict[str, Any]] = [
            {"idp_group_name": group, "role": role, "org_id": org_id} for org_id, role in idp
        ]
        if p.membership == "idp":
            assignments.insert(0, {"idp_group_name": "okta-everyone", "role": enterprise,
                                   "org_id": None})  # fmt: skip
        item["idp_role_assignments"] = assignments
        return item

    def orgs_v2(self) -> list[dict[str, Any]]:
        people = self._listed_people()
        rows = []
        for org in self._listed_orgs():
            roles = [role for p in people for org_id, role in p.orgs if org_id == org.org_id]
            rows.append(
                {
                    "org_id": org.org_id,
                    "org_name": org.name,
                    "created_at": iso(org.created),
                    "max_cycle_acu_limit": org.cycle_limit,
                    "max_session_acu_limit": org.session_limit,
                    "org_admin_count": roles.count("org_admin"),
                    "org_member_count": roles.count("org_member"),
                    "org_user_count": len(roles),
                }
            )
        return rows

    def orgs_v3(self) -> list[dict[str, Any]]:
        return [
            {
                "org_id": org.org_id,
                "name": org.name,
                "created_at": org.created // 1_000_000,
                "updated_at": org.updated // 1_000_000,
                "max_cycle_acu_limit": org.cycle_limit,
                "max_session_acu_limit": org.session_limit,
            }
            for org in self._listed_orgs()
        ]

    def playbooks(self, version: str) -> list[dict[str, Any]]:
        hidden = self.hidden.playbooks
        return [self._playbook(b, version) for b in self._playbook_ids() if b not in hidden]

    def _playbook(self, playbook_id: str, version: str) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:playbook:{playbook_id}")
        now = to_micros(self.devin.now)
        created = now - _days(rng, 10, 400)
        updated = created + _days(rng, 0, 9)
        title = rng.choice(BOOK_TITLES)
        org = rng.choice(self.orgs).org_id if rng.random() < 0.3 else None
        author, editor = rng.choice(self.people), rng.choice(self.people)
        macro = f"!{title.split()[0].lower()}-{playbook_id[-4:]}" if rng.random() < 0.5 else None
        body = f"## {title}\n\n1. Read the repository's README.\n2. {title}.\n3. Open a PR."
        if version == "v3":
            return {
                "playbook_id": playbook_id, "title": title, "body": body,
                "access_type": "org" if org else "enterprise", "org_id": org, "macro": macro,
                "created_at": created // 1_000_000, "updated_at": updated // 1_000_000,
                "created_by": author.user_id, "updated_by": editor.user_id,
            }  # fmt: skip
        return {
            "playbook_id": playbook_id, "title": title, "body": body,
            "access": "org" if org else "enterprise",
            "account_id": f"account-{self.seed:08x}",
            "status": "published" if rng.random() < 0.85 else "draft",
            "macro": macro, "created_at": iso(created), "updated_at": iso(updated),
            "created_by_user_id": author.user_id, "created_by_user_name": author.name,
            "updated_by_user_id": editor.user_id, "updated_by_user_name": editor.name,
        }  # fmt: skip

    def note_ids(self) -> list[str]:
        return [f"note-{n:04x}" for n in range(NOTE_POOL)] + [
            f"note-{0x1000 + n:04x}" for n in range(EXTRA_NOTES)
        ]

    def notes(self) -> list[dict[str, Any]]:
        hidden = self.hidden.notes
        return [self._note(n, number) for number, n in enumerate(self.note_ids())
                if n not in hidden]  # fmt: skip

    def _note(self, note_id: str, number: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:note:{note_id}")
        now = to_micros(self.devin.now)
        created = now - _days(rng, 10, 500)
        name = f"{NOTE_NAMES[number % len(NOTE_NAMES)]} ({number})"
        org = rng.choice(self.orgs).org_id if rng.random() < 0.4 else None
        folder = rng.choice((None, "fld-eng", "fld-ops"))
        return {
            "note_id": note_id,
            "name": name,
            "body": f"{name}: what Devin should know, in a few lines.",
            "trigger": f"When working on {name.lower()}",
            "access_type": "org" if org else "enterprise",
            "org_id": org,
            "folder_id": folder,
            "folder_path": {None: "/", "fld-eng": "/Engineering", "fld-ops": "/Operations"}[folder],
            "is_enabled": rng.random() < 0.9,
            "macro": f"!note{number}" if rng.random() < 0.2 else None,
            "pinned_repo": "acme/api" if rng.random() < 0.25 else None,
            "created_at": created // 1_000_000,
            "updated_at": (created + _days(rng, 0, 5)) // 1_000_000,
        }

    # -- helpers --------------------------------------------------------------------------------

    def _listed_people(self) -> list[Person]:
        hidden = self.hidden.users
        return sorted((p for p in self.people if p.user_id not in hidden), key=lambda p: p.user_id)

    def _listed_orgs(self) -> list[Organization]:
        hidden = self.hidden.orgs
        return sorted((o for o in self.orgs if o.org_id not in hidden), key=lambda o: o.org_id)

    def _org_name(self, org_id: str) -> str:
        return next((o.name for o in self.orgs if o.org_id == org_id), "org")

    def _playbook_ids(self) -> list[str]:
        """Every playbook a session names (the generator draws them at random: FakeDevin notes
        them as it renders sessions, so a listing after the sessions' costs nothing), and a few
        more."""
        changes = self.devin.changes
        cached = self._playbooks
        if cached is not None and cached[0] == changes:
            return cached[1]
        found = set(self.devin.playbooks_named())
        rng = random.Random(f"{self.seed}:playbooks")
        extra = [f"playbook-{rng.getrandbits(64):016x}" for _ in range(EXTRA_PLAYBOOKS)]
        ids = sorted(found) + extra
        self._playbooks = (changes, ids)
        return ids


def _sample(rng: random.Random, ids: list[str], left_out: set[str], count: int) -> set[str]:
    free = [i for i in ids if i not in left_out]
    return set(rng.sample(free, min(count, len(free))))


def _days(rng: random.Random, low: int, high: int) -> int:
    """A random span of whole seconds between low and high days, in microseconds."""
    return rng.randint(low * 86_400, high * 86_400) * 1_000_000


def _role(role_id: str, role_name: str, role_type: str) -> dict[str, str]:
    return {"role_id": role_id, "role_name": role_name, "role_type": role_type}


# -- routes -----------------------------------------------------------------------------------

V2_PREFIX = "/v2/enterprise/"
V3_PREFIX = "/v3/enterprise/"
V2_LISTINGS = {"members": "people", "organizations": "organizations", "playbooks": "playbooks"}
V3_LISTINGS = {"members/users": "people", "members/idp-users": "people",
               "organizations": "organizations", "playbooks": "playbooks",
               "knowledge/notes": "knowledge"}  # fmt: skip
_V2_ORG_MEMBERS = re.compile(r"organizations/([^/]+)/members")
_V2_USER_ORGS = re.compile(r"members/([^/]+)/organizations")


def route(version: str, request: Request) -> Route | None:
    """The route of an enterprise path of this version, else None."""
    prefix = V2_PREFIX if version == "v2" else V3_PREFIX
    if not request.path.startswith(prefix):
        return None
    rest = request.path[len(prefix) :]
    if bill.part_of(rest) is not None:
        return (
            Route(KIND + rest, None, unquote(rest))
            if request.method == "GET"
            else Route("not-allowed")
        )
    listing = _listing(version, rest)
    if listing is None:
        return None
    if request.method != "GET":
        return Route("not-allowed")
    if version == "v3":
        from .v3 import decode_cursor  # v3 imports this module

        after = request.last("after")
        offset = 0 if after is None else decode_cursor(after)
        start = "?" if offset is None else offset
    else:
        start = request.last("skip", "0") or "0"
    return Route(KIND + rest, None, f"{unquote(rest)}:page:{start}")


def _listing(version: str, rest: str) -> str | None:
    """The listing a path names: one of V2_LISTINGS / V3_LISTINGS, or a v2 per-id one."""
    if version == "v3":
        return rest if rest in V3_LISTINGS else None
    if rest in V2_LISTINGS or _V2_ORG_MEMBERS.fullmatch(rest) or _V2_USER_ORGS.fullmatch(rest):
        return rest
    return None


def _part(version: str, rest: str) -> str:
    if (billed := bill.part_of(rest)) is not None:
        return billed
    if version == "v3":
        return V3_LISTINGS[rest]
    return V2_LISTINGS.get(rest, "people")  # the per-org and per-user member lists: people


def answer(version: str, route: Route, request: Request, context: Context) -> Answer:
    """What a healthy API answers on an enterprise path (route from route())."""
    if route.kind == "not-allowed":
        return Answer(405, NOT_ALLOWED)
    rest = route.kind[len(KIND) :]
    enterprise = context.devin.enterprise
    part = _part(version, rest)
    if part in enterprise.forbidden:
        if enterprise.forbidden_status == 401:
            return Answer(401, {"detail": "Invalid API key"})
        if version == "v3":
            return Answer(403, {"detail": f"Missing permission: {PERMISSIONS[part]}"})
        return Answer(403, {"detail": "Only an enterprise admin may list this"})
    if bill.part_of(rest) is not None:
        return bill.answer(version, rest, request, enterprise.billing)
    if version == "v3":
        return _v3_page(enterprise, rest, request)
    return _v2_page(enterprise, rest, request)


def _v2_page(enterprise: Enterprise, rest: str, request: Request) -> Answer:
    items: list[dict[str, Any]] | None
    if rest == "playbooks":
        return Answer(200, enterprise.playbooks("v2"))  # a bare array, no paging
    if rest == "members":
        items = enterprise.users_v2()
        email = request.last("email")
        if email is not None:
            items = [i for i in items if i["email"] == email]
    elif rest == "organizations":
        items = enterprise.orgs_v2()
    elif match := _V2_ORG_MEMBERS.fullmatch(rest):
        items = enterprise.org_members_v2(unquote(match.group(1)))
    elif match := _V2_USER_ORGS.fullmatch(rest):
        items = enterprise.orgs_of_v2(unquote(match.group(1)))
    else:  # pragma: no cover - route() lets no other path through
        items = None
    if items is None:
        return Answer(404, {"detail": "Not found"})
    skip, skip_error = parse_bounded_int(request, "skip", 0, 0, None)
    limit, limit_error = parse_bounded_int(request, "limit", 100, 1, 200)
    errors = [e for e in (skip_error, limit_error) if e]
    if errors:
        return Answer(422, {"detail": errors})
    size = min(limit, enterprise.page_cap)
    more = skip + size < len(items)
    return Answer(
        200,
        {
            "items": items[skip : skip + size],
            "total": len(items),
            "skip": skip,
            "limit": size,
            "has_more": more,
            "next_cursor": skip + size if more else None,
        },
    )


def _v3_page(enterprise: Enterprise, rest: str, request: Request) -> Answer:
    from .v3 import decode_cursor, encode_cursor  # v3 imports this module

    if rest in ("members/users", "members/idp-users"):
        items = enterprise.users_v3(rest)
        email = request.last("email")
        if email is not None:
            items = [i for i in items if i["email"] == email]
    elif rest == "organizations":
        items = enterprise.orgs_v3()
    elif rest == "playbooks":
        items = enterprise.playbooks("v3")
    else:
        items = enterprise.notes()
    first, first_error = parse_bounded_int(request, "first", 100, 1, 200)
    if first_error:
        return Answer(422, {"detail": [first_error]})
    after = request.last("after")
    offset = 0 if after is None else decode_cursor(after)
    if offset is None:
        detail = {"loc": ["query", "after"], "msg": "Invalid cursor", "type": "value_error"}
        return Answer(422, {"detail": [detail]})
    size = min(first, enterprise.page_cap)
    following = offset + size if offset + size < len(items) else None
    page: dict[str, Any] = {
        "items": items[offset : offset + size],
        "end_cursor": None if following is None else encode_cursor(following),
        "has_next_page": following is not None,
    }
    if rest != "members/idp-users":  # total may be omitted: this one never says it
        page["total"] = len(items)
    return Answer(200, page)
