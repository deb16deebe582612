"""--from-raw: the parts' raw lines read back into the rows their live run built. Pure: no I/O.

What a batch's lines built: each listing that ended complete (people, organizations,
playbooks, knowledge, consumption, metrics), and the messages of the sessions whose last page
came, which pipeline.enterprise_load.PartReplay writes in that order. A rebuild's reading process
(pipeline.raw_process) reads the messages lines, as it validates and flattens their sessions;
the exporter's reads the listings' lines beside its writes (see take_messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pydantic_core

from pipeline.billing_extract import BILLING_PARTS, decimal_json
from pipeline.billing_rows import BuiltBilling
from pipeline.billing_rows import build as build_billing
from pipeline.enterprise_extract import LandedPage
from pipeline.enterprise_rows import ITEM_TABLES, Built, build
from pipeline.messages_extract import MessagePage
from pipeline.messages_rows import PART as MESSAGES
from pipeline.messages_rows import MessageRows, add_session
from pipeline.parts import is_part_line, session_of


def take_messages(lines: list[bytes]) -> list[bytes]:
    """Take the pages of sessions' messages out of a batch's part lines and return them: the
    reading process reads those, the exporter's process the enterprise's listings, beside its
    writes (a rebuild of nightly v3 files is then shared about evenly between the two)."""
    taken: list[bytes] = []
    kept: list[bytes] = []
    for line in lines:
        (kept if session_of(line) is None else taken).append(line)
    lines[:] = kept
    return taken


@dataclass(frozen=True)
class Listing:
    """A part listed whole (its end line said complete), and the rows its pages built."""

    part: str
    listed_at: datetime
    built: Built | BuiltBilling


@dataclass
class _Pending:
    version: str
    pages: list[LandedPage]


class PartLines:
    """Reads part lines batch by batch; a listing's pages wait for its end line, a session's
    message pages for its last page, even across batches."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.pending: dict[tuple[str, str], _Pending] = {}
        self.message_pages: dict[tuple[str, str], list[MessagePage]] = {}

    def read(self, lines: list[bytes]) -> list[Listing | MessageRows]:
        """What a batch's lines built, in order; the messages last, as the live run wrote them
        after the batch's listings."""
        found: list[Listing | MessageRows] = []
        messages = MessageRows()
        for line in lines:
            try:
                billed = any(is_part_line(line, p) for p in BILLING_PARTS)
                record = decimal_json(line) if billed else pydantic_core.from_json(line)
                listing = self._take(record, messages)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line damaged by hand: its part's end line decides
            if listing is not None:
                found.append(listing)
        if messages.by_session or messages.errors:
            messages.prepare()
            found.append(messages)
        return found

    def _take(self, record: dict[str, Any], messages: MessageRows) -> Listing | None:
        meta = record["devin_export_part"]
        if meta["part"] == MESSAGES:
            key = (str(meta["run_id"]), str(meta["session_id"]))
            received = datetime.fromisoformat(meta["received_at"])
            session_pages = self.message_pages.setdefault(key, [])
            session_pages.append(MessagePage(received, b"", record["body"]))
            if meta.get("last"):
                del self.message_pages[key]
                add_session(messages, key[1], session_pages, self.run_id)
            return None
        key = (str(meta["run_id"]), str(meta["part"]))
        if not meta.get("end"):
            pending = self.pending.setdefault(key, _Pending(str(meta["api_version"]), []))
            received = datetime.fromisoformat(meta["received_at"])
            page = LandedPage(meta["listing"], received, b"", record["body"], meta.get("org_id"),
                              meta.get("scope_id"), meta.get("params"))  # fmt: skip
            pending.pages.append(page)
            return None
        found = self.pending.pop(key, None)
        part, complete = key[1], bool(meta["complete"])
        if not complete or part not in (*ITEM_TABLES, *BILLING_PARTS):
            return None  # the live run wrote nothing of it either
        version = str(meta["api_version"])
        pages = found.pages if found else []
        listed_at = datetime.fromisoformat(meta["listed_at"])
        if part in BILLING_PARTS:
            return Listing(part, listed_at, build_billing(version, part, pages, self.run_id))
        return Listing(part, listed_at, build(version, part, pages, self.run_id))
