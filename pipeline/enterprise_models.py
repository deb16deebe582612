"""Pydantic models of the enterprise around the sessions (api/enterprise.md): members,
organizations, playbooks and knowledge notes, in v2 and v3, and a v3 session's messages.

Strict about types (a number where a string belongs is an error), as the session models are;
lenient about presence and null where the documentation is unsure or a field may be missing:
only the id is required, anything else absent is NULL. v2 timestamps are ISO 8601 strings, v3
ones epoch seconds (milliseconds above 10^11); both come out in UTC. Unknown fields are kept
in the raw files, not in the tables.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StrictBool

from pipeline.models import ApiModel, UtcDatetime
from pipeline.models_v3 import EpochTime, Int64, OptionalList

# -- v2 ---------------------------------------------------------------------------------------


class V2User(ApiModel):
    """EnterpriseUserResponse (GET /v2/enterprise/members)."""

    user_id: str
    email: str | None = None
    name: str | None = None
    enterprise_role: str | None = None
    created_at: UtcDatetime | None = None
    last_login: UtcDatetime | None = None
    login_count: Int64 | None = None
    saml_id: str | None = None
    sessions_created_count: Int64 | None = 0  # the OpenAPI's default
    searches_created_count: Int64 | None = 0


class V2OrgMember(ApiModel):
    """UserOrgResponse (GET /v2/enterprise/organizations/{org_id}/members)."""

    user_id: str
    email: str | None = None
    name: str | None = None
    org_id: str | None = None  # the path's org when absent
    org_name: str | None = None
    org_role: str | None = None
    org_role_name: str | None = None
    enterprise_role: str | None = None


class V2Organization(ApiModel):
    """OrganizationResponse (GET /v2/enterprise/organizations)."""

    org_id: str
    org_name: str | None = None
    created_at: UtcDatetime | None = None
    max_cycle_acu_limit: Int64 | None = None
    max_session_acu_limit: Int64 | None = None
    org_admin_count: Int64 | None = 0
    org_member_count: Int64 | None = 0
    org_user_count: Int64 | None = 0


class V2Playbook(ApiModel):
    """EnterprisePlaybookResponse (GET /v2/enterprise/playbooks, a bare array)."""

    playbook_id: str
    title: str | None = None
    body: str | None = None
    access: str | None = None
    account_id: str | None = None  # the enterprise: kept in the raw files only
    status: str | None = None
    macro: str | None = None
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    created_by_user_id: str | None = None
    created_by_user_name: str | None = None
    updated_by_user_id: str | None = None
    updated_by_user_name: str | None = None


# -- v3 ---------------------------------------------------------------------------------------


class V3Role(ApiModel):
    role_id: str | None = None
    role_name: str | None = None
    role_type: str | None = None  # enterprise or org


class V3RoleAssignment(ApiModel):
    role: V3Role
    org_id: str | None = None


class V3IdpRoleAssignment(ApiModel):
    role: V3Role
    idp_group_name: str | None = None
    org_id: str | None = None


class V3User(ApiModel):
    """User (GET /v3/enterprise/members/users and /members/idp-users)."""

    user_id: str
    email: str | None = None
    name: str | None = None
    role_assignments: Annotated[list[V3RoleAssignment], OptionalList] = []
    idp_role_assignments: Annotated[list[V3IdpRoleAssignment], OptionalList] = []


class V3Organization(ApiModel):
    """OrganizationResponse (GET /v3/enterprise/organizations)."""

    org_id: str
    name: str | None = None
    created_at: EpochTime | None = None
    updated_at: EpochTime | None = None
    max_cycle_acu_limit: Int64 | None = None
    max_session_acu_limit: Int64 | None = None


class V3Playbook(ApiModel):
    """PlaybookResponse (GET /v3/enterprise/playbooks)."""

    playbook_id: str
    title: str | None = None
    body: str | None = None
    access_type: str | None = None
    org_id: str | None = None
    macro: str | None = None
    created_at: EpochTime | None = None
    updated_at: EpochTime | None = None
    created_by: str | None = None
    updated_by: str | None = None


class V3KnowledgeNote(ApiModel):
    """KnowledgeNoteResponse (GET /v3/enterprise/knowledge/notes)."""

    note_id: str
    name: str | None = None
    body: str | None = None
    trigger: str | None = None
    access_type: str | None = None
    org_id: str | None = None
    folder_id: str | None = None
    folder_path: str | None = None
    is_enabled: StrictBool | None = None
    macro: str | None = None
    pinned_repo: str | None = None
    created_at: EpochTime | None = None
    updated_at: EpochTime | None = None


class V3SessionMessage(ApiModel):
    """SessionMessage (GET /v3/enterprise/sessions/{devin_id}/messages)."""

    event_id: str | None = None
    source: str | None = None  # user or devin; a value the docs do not list loads as it is
    message: str | None = None
    created_at: EpochTime | None = None
