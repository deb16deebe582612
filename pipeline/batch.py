"""A batch: the rows of many sessions, their errors and raw bodies, written together."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

import pyarrow as pa

from pipeline.flatten import Rows
from pipeline.parts import session_of
from pipeline.schema import DATA_TABLES, SESSIONS, Table

_ENDED_AT = SESSIONS.column_names.index("ended_at")
_API_VERSION = SESSIONS.column_names.index("api_version")


@dataclass
class Batch:
    """What one transaction writes; a session repeated in a batch keeps its last version."""

    run_id: str = ""
    sessions: dict[str, Rows] = field(default_factory=dict)
    errors: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # by session_id
    raw_lines: list[bytes] = field(default_factory=list)
    quarantined: list[bytes] = field(default_factory=list)
    arrow: dict[str, pa.Table] = field(default_factory=dict)
    # Sessions the API no longer has (a 404 on --refresh-open), and when that was found.
    deleted: dict[str, datetime] = field(default_factory=dict)
    # Sessions whose analysis --generate-insights asked the API for, and when.
    analysis_requested: dict[str, datetime] = field(default_factory=dict)
    # --from-raw: raw lines of the enterprise parts (pipeline.part_lines), in file order
    part_lines: list[bytes] = field(default_factory=list)
    # ... what the reading process built of those it took (pipeline.part_lines.take_messages)
    part_items: list[Any] = field(default_factory=list)
    _messages_of: set[str] = field(default_factory=set)  # of part_lines[:_read_lines]
    _read_lines: int = 0

    def add(self, session_id: str, rows: Rows) -> None:
        self.sessions.pop(session_id, None)
        self.sessions[session_id] = rows
        self.errors.pop(session_id, None)  # it came through after all

    def add_error(self, session_id: str, row: tuple[Any, ...]) -> None:
        if session_id not in self.sessions:  # a session this batch holds whole is no failure
            self.errors[session_id] = row

    def __len__(self) -> int:
        return (
            len(self.sessions) + len(self.errors) + len(self.deleted) + len(self.analysis_requested)
        )

    def keys(self) -> set[str]:
        """Every session the batch writes or marks."""
        return {*self.sessions, *self.errors, *self.deleted, *self.analysis_requested}

    def can_join(self, other: Batch) -> bool:
        """Whether writing other in this batch's transaction, after it, changes nothing. Its
        sessions are written before this batch's messages lines then, so a session those name
        must be one this batch holds; and each session both name must be one other's version
        can stand for (see _stands_for). Messages of one session written twice in a batch:
        the later replace the earlier (pipeline.messages_load.add_session)."""
        if any(s in other.sessions and s not in self.sessions for s in self._message_sessions()):
            return False
        return all(other._stands_for(self, sid) for sid in self.keys() & other.keys())

    def _message_sessions(self) -> set[str]:
        """The sessions the batch's messages lines are about. Lines only ever come after
        those already read (taken or joined), so each is read once: a held batch that takes
        a hundred nights is asked again after each."""
        lines = self.part_lines
        found = (session_of(line) for line in lines[self._read_lines :])
        self._messages_of.update(sid for sid in found if sid is not None)
        self._read_lines = len(lines)
        return self._messages_of

    def _stands_for(self, earlier: Batch, sid: str) -> bool:
        """Whether this batch's version of sid, written alone, leaves the row that writing
        earlier's version and then this one leaves: both whole sessions, the earlier without
        marks (this one's are set after its sessions either way), the same API version (a v3
        row keeps the prompt its messages gave), and ended_at the same (this one not ended,
        or the earlier one ended: its ended_at is the one kept)."""
        if sid not in self.sessions or sid not in earlier.sessions:
            return False
        if sid in earlier.deleted or sid in earlier.analysis_requested:
            return False
        mine, theirs = self.sessions[sid][SESSIONS.name][0], earlier.sessions[sid][SESSIONS.name][0]
        return mine[_API_VERSION] == theirs[_API_VERSION] and (
            mine[_ENDED_AT] is None or theirs[_ENDED_AT] is not None
        )

    def join(self, other: Batch) -> None:
        """Take other's sessions, errors, marks and parts' lines (see can_join); a session
        both hold keeps other's version, with this one's ended_at."""
        for sid in self.sessions.keys() & other.sessions.keys():
            row = other.sessions[sid][SESSIONS.name][0]
            if row[_ENDED_AT] is not None:
                ended = self.sessions[sid][SESSIONS.name][0][_ENDED_AT]
                other.sessions[sid][SESSIONS.name][0] = (
                    *row[:_ENDED_AT],
                    ended,
                    *row[_ENDED_AT + 1 :],
                )
            del self.sessions[sid]
        self.sessions.update(other.sessions)
        self.errors.update(other.errors)
        self.deleted.update(other.deleted)
        self.analysis_requested.update(other.analysis_requested)
        self.raw_lines += other.raw_lines
        self.quarantined += other.quarantined
        self.part_lines += other.part_lines

    def table(self, table: Table) -> pa.Table:
        if table.name not in self.arrow:
            rows = chain.from_iterable(rows[table.name] for rows in self.sessions.values())
            self.arrow[table.name] = to_arrow(table, rows)
        return self.arrow[table.name]

    def prepare(self) -> None:
        """Convert the rows to Arrow now, on this thread, so the writer only runs DuckDB."""
        for table in DATA_TABLES:
            self.table(table)
        for rows in self.sessions.values():
            rows.clear()  # the Arrow tables hold them now; only the ids are still needed


def to_arrow(table: Table, rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    """Return rows (tuples in schema order) as an Arrow table of the table's schema."""
    schema = table.arrow_schema
    columns = list(zip(*rows, strict=True)) or [()] * len(schema)
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)
