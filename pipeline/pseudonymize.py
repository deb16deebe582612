"""--pseudonymize (SPEC section 10): people's emails and names become keyed tokens before
anything is written, raw files included.

A token is "anon-" and the first 20 hex digits (80 bits) of HMAC-SHA256(key, value), the key
being DEVIN_EXPORT_PSEUDONYM_KEY: the same value gets the same token in every run and every
warehouse that shares the key, so tokens join across tables and nights; without the key no
one can compute them. Emails are lower-cased first (Ada@x.com and ada@x.com are one person).
NULL and "" stay as they are: neither says who anyone is. The pages of a listing are rewritten
field by field and serialised again, so the raw files hold the tokens and --from-raw rebuilds
the same tables without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

import pydantic_core

from pipeline.enterprise_extract import V2_ORG_MEMBERS, LandedPage

PREFIX = "anon-"
DIGITS = 20
EMAILS = ("email",)
# The personal fields of each listing's items, by (API version, listing).
PERSONAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("v2", "members"): ("email", "name", "saml_id"),
    ("v2", V2_ORG_MEMBERS): ("email", "name"),
    ("v2", "playbooks"): ("created_by_user_name", "updated_by_user_name"),
    ("v3", "members/users"): ("email", "name"),
    ("v3", "members/idp-users"): ("email", "name"),
}


class Pseudonymizer:
    def __init__(self, key: str) -> None:
        self._key = key.encode()

    def __repr__(self) -> str:
        return "Pseudonymizer(<key>)"

    def token(self, value: str, email: bool = False) -> str:
        """Return the token of a value."""
        text = value.strip().lower() if email else value
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:DIGITS]

    def item(self, item: Any, fields: tuple[str, ...]) -> Any:
        if not isinstance(item, dict):
            return item
        changed = dict(item)
        for name in fields:
            value = changed.get(name)
            if isinstance(value, str) and value:
                changed[name] = self.token(value, email=name in EMAILS)
        return changed

    def page(self, version: str, page: LandedPage) -> LandedPage:
        """Return the page with every personal field of its items replaced by its token, its
        body serialised again from them (integers of any size stay exact)."""
        fields = PERSONAL.get((version, page.listing))
        if not fields:
            return page
        data = page.data
        if isinstance(data, list):
            data = [self.item(i, fields) for i in data]
        elif isinstance(data, dict) and isinstance(data.get("items"), list):
            data = {**data, "items": [self.item(i, fields) for i in data["items"]]}
        return replace(page, data=data, body=pydantic_core.to_json(data))
