"""Flatten: the pages of one part's listing into rows of the tables of SPEC section 10.

A pure function of the pages (their data and received_at), so a live run and its rebuild from
the raw files (which keep both) write the same rows. v3 people come from two listings merged by
user_id: members/users (direct role assignments: membership direct) and members/idp-users
(membership through IdP groups only: idp); a user's roles are its direct assignments, then its
IdP ones. v2 people are the members, with their org roles from every organization's members.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from pydantic import BaseModel, ValidationError

from pipeline.enterprise_extract import V2_ORG_MEMBERS, LandedPage
from pipeline.enterprise_models import (
    V2Organization,
    V2OrgMember,
    V2Playbook,
    V2User,
    V3KnowledgeNote,
    V3Organization,
    V3Playbook,
    V3User,
)
from pipeline.schema import (
    EXPORT_ERRORS,
    KNOWLEDGE_NOTES,
    ORG_MEMBERS,
    ORGANIZATIONS,
    PLAYBOOKS,
    USER_ROLES,
    USERS,
    Table,
)

# The table each part lists whole: what removed_at is about.
ITEM_TABLES: dict[str, Table] = {
    "people": USERS,
    "organizations": ORGANIZATIONS,
    "playbooks": PLAYBOOKS,
    "knowledge": KNOWLEDGE_NOTES,
}
# The model of each listing's items, by (version, listing name); listings not named here (the
# organizations v2 people lists for their ids) make no rows of that part.
MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("v2", "members"): V2User,
    ("v2", V2_ORG_MEMBERS): V2OrgMember,
    ("v2", "organizations"): V2Organization,
    ("v2", "playbooks"): V2Playbook,
    ("v3", "members/users"): V3User,
    ("v3", "members/idp-users"): V3User,
    ("v3", "organizations"): V3Organization,
    ("v3", "playbooks"): V3Playbook,
    ("v3", "knowledge/notes"): V3KnowledgeNote,
}
# The listings whose items a part's rows are made of.
SOURCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("v2", "people"): ("members", V2_ORG_MEMBERS),
    ("v2", "organizations"): ("organizations",),
    ("v2", "playbooks"): ("playbooks",),
    ("v3", "people"): ("members/users", "members/idp-users"),
    ("v3", "organizations"): ("organizations",),
    ("v3", "playbooks"): ("playbooks",),
    ("v3", "knowledge"): ("knowledge/notes",),
}


@dataclass
class Invalid:
    key: str  # the item's id, or where it was
    message: str
    body: bytes


@dataclass
class Built:
    """The rows of one part, by table, and the ids its listing holds."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)  # ids of the part's item table, as listed
    invalid: list[Invalid] = field(default_factory=list)


@dataclass
class _Item:
    model: Any
    page: LandedPage


def _items(
    version: str, part: str, pages: list[LandedPage], built: Built
) -> Iterator[tuple[str, _Item]]:
    """Yield (listing, item) for every valid item of the part's listings; the invalid ones
    go to built.invalid."""
    sources = SOURCES[(version, part)]
    for page_number, page in enumerate(pages):
        if page.listing not in sources:
            continue
        model = MODELS[(version, page.listing)]
        for number, item in enumerate(page.items):
            try:
                valid = model.model_validate(item)
            except ValidationError as err:
                first = err.errors()[0]
                path = ".".join(str(p) for p in first["loc"])
                item_id = item.get(ITEM_IDS[part]) if isinstance(item, dict) else None
                key = (
                    item_id
                    if isinstance(item_id, str) and item_id
                    else f"{page.listing} page {page_number} item {number}"
                )
                body = pydantic_core.to_json(item)
                # one report an item, though pages overlap or several lists hold it
                built.invalid = [i for i in built.invalid if i.key != key]
                built.invalid.append(Invalid(key, f"{path}: {first['msg']}", body))
                continue
            yield page.listing, _Item(valid, page)


ITEM_IDS = {"people": "user_id", "organizations": "org_id", "playbooks": "playbook_id",
            "knowledge": "note_id"}  # fmt: skip


def build(version: str, part: str, pages: list[LandedPage], run_id: str) -> Built:
    """Return the rows of a part from the pages of its listing."""
    built = Built({t.name: [] for t in PART_TABLES[part]})
    if part == "people":
        (_people_v3 if version == "v3" else _people_v2)(pages, run_id, built)
        return built
    table = ITEM_TABLES[part]
    key = table.key[0]
    rows: dict[str, tuple[Any, ...]] = {}
    make = ROW_MAKERS[(version, part)]
    for _, item in _items(version, part, pages, built):
        values = make(item.model) | {
            "removed_at": None,
            "_run_id": run_id,
            "_extracted_at": item.page.received_at,
        }
        if "api_version" in table.column_names:
            values["api_version"] = version
        row = table.row(**values)
        rows.pop(values[key], None)  # a repeat (pages overlap) keeps the last copy, in order
        rows[values[key]] = row
    built.rows[table.name] = list(rows.values())
    built.listed = list(rows)
    return built


PART_TABLES: dict[str, tuple[Table, ...]] = {
    "people": (USERS, USER_ROLES, ORG_MEMBERS),
    "organizations": (ORGANIZATIONS,),
    "playbooks": (PLAYBOOKS,),
    "knowledge": (KNOWLEDGE_NOTES,),
}


def _organization_v2(org: V2Organization) -> dict[str, Any]:
    return {
        "org_id": org.org_id,
        "name": org.org_name,
        "created_at": org.created_at,
        "updated_at": None,
        "max_cycle_acu_limit": org.max_cycle_acu_limit,
        "max_session_acu_limit": org.max_session_acu_limit,
        "admin_count": org.org_admin_count,
        "member_count": org.org_member_count,
        "user_count": org.org_user_count,
    }


def _organization_v3(org: V3Organization) -> dict[str, Any]:
    return {
        "org_id": org.org_id,
        "name": org.name,
        "created_at": org.created_at,
        "updated_at": org.updated_at,
        "max_cycle_acu_limit": org.max_cycle_acu_limit,
        "max_session_acu_limit": org.max_session_acu_limit,
        "admin_count": None,
        "member_count": None,
        "user_count": None,
    }


def _playbook_v2(book: V2Playbook) -> dict[str, Any]:
    return {
        "playbook_id": book.playbook_id,
        "title": book.title,
        "body": book.body,
        "access_type": book.access,
        "org_id": None,
        "status": book.status,
        "macro": book.macro,
        "created_at": book.created_at,
        "updated_at": book.updated_at,
        "created_by": book.created_by_user_id,
        "created_by_name": book.created_by_user_name,
        "updated_by": book.updated_by_user_id,
        "updated_by_name": book.updated_by_user_name,
    }


def _playbook_v3(book: V3Playbook) -> dict[str, Any]:
    return {
        "playbook_id": book.playbook_id,
        "title": book.title,
        "body": book.body,
        "access_type": book.access_type,
        "org_id": book.org_id,
        "status": None,
        "macro": book.macro,
        "created_at": book.created_at,
        "updated_at": book.updated_at,
        "created_by": book.created_by,
        "created_by_name": None,
        "updated_by": book.updated_by,
        "updated_by_name": None,
    }


def _note_v3(note: V3KnowledgeNote) -> dict[str, Any]:
    return {
        "note_id": note.note_id,
        "name": note.name,
        "body": note.body,
        "trigger": note.trigger,
        "access_type": note.access_type,
        "org_id": note.org_id,
        "folder_id": note.folder_id,
        "folder_path": note.folder_path,
        "is_enabled": note.is_enabled,
        "macro": note.macro,
        "pinned_repo": note.pinned_repo,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


ROW_MAKERS: dict[tuple[str, str], Any] = {
    ("v2", "organizations"): _organization_v2,
    ("v3", "organizations"): _organization_v3,
    ("v2", "playbooks"): _playbook_v2,
    ("v3", "playbooks"): _playbook_v3,
    ("v3", "knowledge"): _note_v3,
}


def _user_row(
    values: dict[str, Any], run_id: str, received: datetime, version: str
) -> tuple[Any, ...]:
    return USERS.row(
        **values, removed_at=None, api_version=version, _run_id=run_id, _extracted_at=received
    )


def _people_v2(pages: list[LandedPage], run_id: str, built: Built) -> None:
    users: dict[str, _Item] = {}
    # user -> org -> membership, in the order the organizations and their members came
    memberships: dict[str, dict[str, V2OrgMember]] = {}
    for listing, item in _items("v2", "people", pages, built):
        if listing == "members":
            users.pop(item.model.user_id, None)
            users[item.model.user_id] = item
            continue
        member: V2OrgMember = item.model
        org_id = member.org_id if member.org_id is not None else item.page.org_id
        if org_id is None:
            continue  # cannot happen with the pages v2 people lists: each names its org
        memberships.setdefault(member.user_id, {})[org_id] = member
    for user_id, item in users.items():
        user: V2User = item.model
        values = {
            "user_id": user_id,
            "email": user.email,
            "name": user.name,
            "enterprise_role": user.enterprise_role,
            "created_at": user.created_at,
            "last_login": user.last_login,
            "login_count": user.login_count,
            "sessions_created_count": user.sessions_created_count,
            "searches_created_count": user.searches_created_count,
            "saml_id": user.saml_id,
            "membership": None,
        }
        built.rows[USERS.name].append(_user_row(values, run_id, item.page.received_at, "v2"))
        roles: list[tuple[str | None, str | None, str, str | None]] = []
        if user.enterprise_role is not None:
            roles.append((user.enterprise_role, user.enterprise_role, "enterprise", None))
        for org_id, member in memberships.get(user_id, {}).items():
            roles.append((member.org_role, member.org_role_name, "org", org_id))
        for ordinal, (role_id, role_name, role_type, org) in enumerate(roles):
            built.rows[USER_ROLES.name].append(
                USER_ROLES.row(
                    user_id=user_id,
                    ordinal=ordinal,
                    role_id=role_id,
                    role_name=role_name,
                    role_type=role_type,
                    org_id=org,
                    via=None,
                    idp_group_name=None,
                )  # fmt: skip
            )
    for user_id, orgs in memberships.items():
        for org_id, member in orgs.items():
            built.rows[ORG_MEMBERS.name].append(
                ORG_MEMBERS.row(
                    org_id=org_id,
                    user_id=user_id,
                    org_role=member.org_role,
                    org_role_name=member.org_role_name,
                )
            )
    built.listed = list(users)


def _people_v3(pages: list[LandedPage], run_id: str, built: Built) -> None:
    direct: dict[str, _Item] = {}
    idp: dict[str, _Item] = {}
    for listing, item in _items("v3", "people", pages, built):
        found = direct if listing == "members/users" else idp
        found.pop(item.model.user_id, None)
        found[item.model.user_id] = item
    for user_id in dict.fromkeys([*direct, *idp]):
        mine, theirs = direct.get(user_id), idp.get(user_id)
        first = mine or theirs
        assert first is not None
        d: V3User | None = mine.model if mine else None
        i: V3User | None = theirs.model if theirs else None
        # Direct assignments from members/users, IdP ones from members/idp-users; an item that
        # carries both arrays (as the single-user endpoint does) fills in what the other lacks.
        direct_roles = d.role_assignments if d else (i.role_assignments if i else [])
        idp_roles = i.idp_role_assignments if i else (d.idp_role_assignments if d else [])
        roles = [
            (a.role.role_id, a.role.role_name, a.role.role_type, a.org_id, "direct", None)
            for a in direct_roles
        ] + [
            (a.role.role_id, a.role.role_name, a.role.role_type, a.org_id, "idp", a.idp_group_name)
            for a in idp_roles
        ]
        enterprise_role = next((r[1] for r in roles if r[2] == "enterprise"), None)
        values = {
            "user_id": user_id,
            "email": _first_known(d, i, "email"),
            "name": _first_known(d, i, "name"),
            "enterprise_role": enterprise_role,
            "created_at": None,
            "last_login": None,
            "login_count": None,
            "sessions_created_count": None,
            "searches_created_count": None,
            "saml_id": None,
            "membership": "direct" if d is not None else "idp",
        }
        built.rows[USERS.name].append(_user_row(values, run_id, first.page.received_at, "v3"))
        orgs: dict[str, tuple[Any, ...]] = {}
        for ordinal, (role_id, role_name, role_type, org_id, via, group) in enumerate(roles):
            built.rows[USER_ROLES.name].append(
                USER_ROLES.row(
                    user_id=user_id,
                    ordinal=ordinal,
                    role_id=role_id,
                    role_name=role_name,
                    role_type=role_type,
                    org_id=org_id,
                    via=via,
                    idp_group_name=group,
                )  # fmt: skip
            )
            if org_id is not None and org_id not in orgs:
                orgs[org_id] = ORG_MEMBERS.row(
                    org_id=org_id, user_id=user_id, org_role=role_id, org_role_name=role_name
                )
        built.rows[ORG_MEMBERS.name].extend(orgs.values())
    built.listed = list(dict.fromkeys([*direct, *idp]))


def _first_known(direct: V3User | None, idp: V3User | None, name: str) -> Any:
    """The field from members/users, else from members/idp-users."""
    for user in (direct, idp):
        if user is not None and getattr(user, name) is not None:
            return getattr(user, name)
    return None


def error_row(run_id: str, part: str, key: str, kind: str, status: int | None, message: str
              ) -> tuple[Any, ...]:  # fmt: skip
    """An export_errors row of a part (key: what failed, '' for the whole part)."""
    return EXPORT_ERRORS.row(
        run_id=run_id, part=part, session_id=key, kind=kind, http_status=status,
        message=message[:500], occurred_at=datetime.now(UTC),
    )  # fmt: skip
