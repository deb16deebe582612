"""Flatten: a v3 session's message pages into session_messages rows (SPEC section 10). Pure: no
I/O, so a live run builds them as it fetches and a rebuild in its reading process
(pipeline.part_lines), and both write them alike (pipeline.messages_load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from typing import Any

import pyarrow as pa
import pydantic_core
from pydantic import ValidationError

from pipeline.batch import to_arrow
from pipeline.enterprise_models import V3SessionMessage
from pipeline.enterprise_rows import error_row
from pipeline.messages_extract import MessagePage
from pipeline.schema import EXPORT_ERRORS, SESSION_MESSAGES

PART = "messages"


@dataclass
class MessageRows:
    """What a batch of sessions' messages writes: rows, the sessions they replace, errors."""

    # whose messages are replaced, and their rows: a session named again moves to the end with
    # its last messages (a rebuild joining nights names thousands of sessions in one batch)
    by_session: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    errors: list[tuple[Any, ...]] = field(default_factory=list)
    quarantined: list[bytes] = field(default_factory=list)
    written: int = 0  # message rows taken, a session's again included: what the summary counts
    arrow: pa.Table | None = None  # the rows, once converted (prepare)

    @property
    def sessions(self) -> list[str]:
        return list(self.by_session)

    def table(self) -> pa.Table:
        """The rows as Arrow, in order."""
        if self.arrow is None:
            rows = chain.from_iterable(self.by_session.values())
            self.arrow = to_arrow(SESSION_MESSAGES, rows)
        return self.arrow

    def prepare(self) -> None:
        """Convert the rows to Arrow now (a rebuild's reading process: the exporter's only
        writes); the sessions they replace stay known."""
        self.table()
        self.by_session = dict.fromkeys(self.by_session, [])


def session_rows(session_id: str, pages: list[MessagePage]) -> list[tuple[Any, ...]]:
    """Return a session's message rows in the order given; raises ValidationError."""
    rows: list[tuple[Any, ...]] = []
    for page in pages:
        for item in page.items:
            message = V3SessionMessage.model_validate(item)
            rows.append(
                SESSION_MESSAGES.row(
                    session_id=session_id,
                    ordinal=len(rows),
                    event_id=message.event_id,
                    source=message.source,
                    message=message.message,
                    created_at=message.created_at,
                )  # fmt: skip
            )
    return rows


_ERROR_SESSION = EXPORT_ERRORS.column_names.index("session_id")


def add_session(out: MessageRows, session_id: str, pages: list[MessagePage], run_id: str) -> None:
    try:
        rows = session_rows(session_id, pages)
    except ValidationError as err:
        first = err.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        message = f"messages: {path}: {first['msg']}"
        # A session named again (a rebuild writing nights together): its last error stands.
        out.errors = [e for e in out.errors if e[_ERROR_SESSION] != session_id]
        out.errors.append(error_row(run_id, PART, session_id, "invalid_response", None, message))
        out.quarantined.append(
            pydantic_core.to_json(
                {
                    "part": PART,
                    "session_id": session_id,
                    "error": message,
                    "received_at": datetime.now(UTC),
                    "run_id": run_id,
                    "body": [page.data for page in pages],
                }
            )
        )
        return
    out.by_session.pop(session_id, None)  # named again: its last messages replace the others
    out.by_session[session_id] = rows
    out.written += len(rows)
