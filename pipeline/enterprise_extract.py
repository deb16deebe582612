"""Extract: list a part of the enterprise (people, organizations, playbooks, knowledge notes)
whole, page by page, the way the sessions' listing is paged (pipeline.paging): v2 by offset
(skip/limit; an endpoint that answers a bare array is whole at once), v3 by cursor
(after/first, end_cursor/has_next_page, total a hint that may be absent).

A part's listing is complete when every page came (the server said there was no more) and it
brought at least the total its first page announced; only a complete listing may mark items
removed. A 403 ends the part as permission_denied (the run goes on); a 401 stops the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pipeline.consume import error_message
from pipeline.errors import AuthError
from pipeline.paging import Pager, cursor_pages, offset_pages
from pipeline.responses import Response

PAGE_LIMIT = 200  # v2 limit and v3 first are 1..200
ORG_WORKERS = 4  # v2 people: organizations whose members are listed at once


@dataclass(frozen=True)
class Listing:
    """One list endpoint: its name in the raw files, path, the id its items carry, its paging."""

    name: str
    path: str
    id_key: str
    cursor: bool  # v3: after/first; v2: skip/limit


V2 = "/v2/enterprise"
V3 = "/v3/enterprise"
V2_ORG_MEMBERS = "organizations/{org_id}/members"
LISTINGS: dict[tuple[str, str], tuple[Listing, ...]] = {
    # v2 people: the members, then every organization's members (for org roles and
    # org_members), which needs the organizations' ids first.
    ("v2", "people"): (
        Listing("members", f"{V2}/members", "user_id", False),
        Listing("organizations", f"{V2}/organizations", "org_id", False),
    ),
    ("v2", "organizations"): (Listing("organizations", f"{V2}/organizations", "org_id", False),),
    ("v2", "playbooks"): (Listing("playbooks", f"{V2}/playbooks", "playbook_id", False),),
    ("v3", "people"): (
        Listing("members/users", f"{V3}/members/users", "user_id", True),
        Listing("members/idp-users", f"{V3}/members/idp-users", "user_id", True),
    ),
    ("v3", "organizations"): (Listing("organizations", f"{V3}/organizations", "org_id", True),),
    ("v3", "playbooks"): (Listing("playbooks", f"{V3}/playbooks", "playbook_id", True),),
    ("v3", "knowledge"): (Listing("knowledge/notes", f"{V3}/knowledge/notes", "note_id", True),),
}


def org_members_listing(org_id: str) -> Listing:
    path = f"{V2}/organizations/{quote(org_id, safe='')}/members"
    return Listing(V2_ORG_MEMBERS, path, "user_id", False)


@dataclass
class LandedPage:
    """One page as received: what the raw files keep and the rows are made from."""

    listing: str
    received_at: datetime
    body: bytes
    data: Any
    org_id: str | None = None  # the organization of a v2 org-members page
    scope_id: str | None = None  # consumption: the org or person asked for; metrics: the day
    params: dict[str, Any] | None = None  # consumption and metrics: the query (the window)

    @property
    def items(self) -> list[Any]:
        if isinstance(self.data, list):
            return self.data
        items = self.data.get("items") if isinstance(self.data, dict) else None
        return items if isinstance(items, list) else []


@dataclass
class PartError:
    kind: str  # an export_errors kind
    message: str
    http_status: int | None = None


@dataclass
class PartFetch:
    """Everything one part's listing brought, and whether it is whole."""

    part: str
    version: str
    started_at: datetime
    pages: list[LandedPage] = field(default_factory=list)
    error: PartError | None = None
    listed_at: datetime | None = None  # when the listing ended: removed_at of what it lacks

    @property
    def complete(self) -> bool:
        return self.error is None


class _Failed(Exception):
    def __init__(self, error: PartError) -> None:
        self.error = error


def fetch_part(client: Pager, part: str, version: str) -> PartFetch:
    """List one part whole; raises AuthError for a 401 (the key), never for a 403."""
    fetch = PartFetch(part, version, datetime.now(UTC))
    try:
        for listing in LISTINGS[(version, part)]:
            fetch.pages += _follow(client, listing)
            if version == "v2" and part == "people" and listing.name == "organizations":
                org_ids = _ids(fetch, "organizations", "org_id")
                with ThreadPoolExecutor(ORG_WORKERS, thread_name_prefix="org-members") as pool:
                    futures = [
                        pool.submit(_follow, client, org_members_listing(org_id), org_id)
                        for org_id in org_ids
                    ]
                    fetch.pages += _in_order(futures)
    except _Failed as failed:
        fetch.error = failed.error
    except AuthError as err:
        if err.status != 403:
            raise
        fetch.error = PartError("permission_denied", f"HTTP 403 from {err.url}", 403)
    fetch.listed_at = datetime.now(UTC)
    return fetch


def _in_order(futures: list[Future[list[LandedPage]]]) -> list[LandedPage]:
    """The pages of every listing, in the order they were asked for, whatever finished first;
    a rejected key before any other failure (the others stop because of it)."""
    pages: list[LandedPage] = []
    errors: list[BaseException] = []
    for future in futures:
        try:
            pages += future.result()
        except BaseException as err:  # noqa: BLE001 - re-raised below, the key's first
            errors.append(err)
    if errors:
        raise next((e for e in errors if isinstance(e, AuthError)), errors[0])
    return pages


def _ids(fetch: PartFetch, listing: str, id_key: str) -> list[str]:
    """The distinct ids a listing of this fetch brought, in the order they came."""
    ids = (
        item.get(id_key)
        for page in fetch.pages
        if page.listing == listing
        for item in page.items
        if isinstance(item, dict)
    )
    return list(dict.fromkeys(i for i in ids if isinstance(i, str)))


def _pages(client: Pager, listing: Listing) -> Iterator[Response]:
    if listing.cursor:

        def after(cursor: str | None) -> dict[str, Any]:
            return {"first": PAGE_LIMIT, **({"after": cursor} if cursor else {})}

        return cursor_pages(client, listing.path, after, PAGE_LIMIT, listing.id_key)

    def skip(at: int, limit: int) -> dict[str, Any]:
        return {"skip": at, "limit": limit}

    # One page at a time: these lists are short, and asking ahead would waste requests.
    return offset_pages(client, listing.path, skip, PAGE_LIMIT, 1, listing.id_key)


def _follow(client: Pager, listing: Listing, org_id: str | None = None) -> list[LandedPage]:
    """Return every page of one listing; raise _Failed if it cannot be finished."""
    landed: list[LandedPage] = []
    first_total: int | None = None
    seen: set[str] = set()
    pages = _pages(client, listing)
    what = listing.path.removeprefix(V2).removeprefix(V3).lstrip("/")
    try:
        for number, resp in enumerate(pages):
            if resp.error is not None:
                raise _Failed(
                    PartError(
                        resp.error.kind, f"{what}: {error_message(resp.error)}", resp.error.status
                    )
                )
            data = resp.data
            if not isinstance(data, list) and not (
                isinstance(data, dict) and isinstance(data.get("items"), list)
            ):
                raise _Failed(PartError("invalid_response", f"{what}: not a page: no items list"))
            received = resp.received_at or datetime.now(UTC)
            page = LandedPage(listing.name, received, resp.body, data, org_id)
            landed.append(page)
            if number == 0 and isinstance(data, dict):
                total = data.get("total")
                if isinstance(total, int) and not isinstance(total, bool):
                    first_total = total
            seen.update(
                item[listing.id_key]
                for item in page.items
                if isinstance(item, dict) and isinstance(item.get(listing.id_key), str)
            )
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
    if first_total is not None and len(seen) < first_total:
        message = (
            f"{what}: the listing brought {len(seen)} distinct items of the {first_total} its "
            "first page announced: the part's stored rows stay as they were"
        )
        raise _Failed(PartError("incomplete_listing", message))
    return landed
