"""The messages part (SPEC section 10): each v3 session's conversation into session_messages,
and sessions.initial_user_message from its first user message.

Fetched after the sessions, for every v3 session the run exported (by ids, --all or
--refresh-open), on a client of its own (the run's concurrency and --max-rps), and written
batch by batch, each batch one transaction, its raw lines first:

    {"devin_export_part": {"run_id", "part": "messages", "api_version": "v3", "session_id",
     "page", "last", "received_at"}, "body": <the page's body, as received>}   one line a page

A session's messages replace its stored ones only when every page came and every item is
valid; otherwise its stored messages stay and export_errors gets a row (part messages, the
session's id): the session itself and the other sessions' messages are written all the same.
A 403 is one permission_denied row of the part (session_id ''). --from-raw replays the lines
(pipeline.part_lines, then MessageReplay) through the same rows and the same write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from pipeline.batch import to_arrow
from pipeline.client import ClientConfig, DevinClient
from pipeline.enterprise_rows import error_row
from pipeline.files import storage_errors
from pipeline.messages_extract import MessageFetch, fetch_response
from pipeline.messages_rows import PART, MessageRows, add_session
from pipeline.parts import DENIED, EXPORTED_OK, FAILED, LINE_PREFIX, PartOutcome, permission
from pipeline.progress import Reporter
from pipeline.raw import RawWriter
from pipeline.schema import EXPORT_ERRORS, SESSION_MESSAGES
from pipeline.settings import Settings
from pipeline.warehouse import Warehouse
from pipeline.writer import SerialWriter


def raw_lines(fetch: MessageFetch, run_id: str) -> list[bytes]:
    lines = []
    for number, page in enumerate(fetch.pages):
        meta = {
            "run_id": run_id, "part": PART, "api_version": "v3", "session_id": fetch.session_id,
            "page": number, "last": number == len(fetch.pages) - 1,
            "received_at": page.received_at.isoformat(),
        }  # fmt: skip
        # A raw newline in valid JSON is only ever whitespace: one body, one line.
        body = page.body.replace(b"\r", b" ").replace(b"\n", b" ")
        lines.append(LINE_PREFIX + orjson.dumps(meta) + b',"body":' + body + b"}")
    return lines


def write_messages(warehouse: Warehouse, out: MessageRows) -> int:
    """One transaction: replace the sessions' messages, set their initial_user_message, record
    the errors; return the message rows written."""
    con = warehouse.db
    with warehouse.transaction():
        if out.by_session:
            _replace(con, warehouse, out)
        if out.errors:
            _record_errors(con, out.errors)
    return out.written


def _replace(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, out: MessageRows) -> None:
    con.register("message_ids", pa.table({"session_id": pa.array(out.sessions, pa.string())}))
    con.register("message_rows", out.table())
    try:
        warehouse.note_months("sessions WHERE session_id IN (SELECT session_id FROM message_ids)")
        con.execute(
            "DELETE FROM session_messages WHERE session_id IN (SELECT session_id FROM message_ids)"
        )
        con.execute("INSERT INTO session_messages BY NAME SELECT * FROM message_rows")
        # NULL for a conversation without a user message: fetched, and no prompt in it.
        con.execute(
            "UPDATE sessions SET initial_user_message = f.message FROM (SELECT i.session_id, "
            "arg_min(r.message, r.ordinal) FILTER (WHERE r.source = 'user') AS message "
            "FROM message_ids i LEFT JOIN message_rows r ON r.session_id = i.session_id "
            "GROUP BY i.session_id) f "
            "WHERE sessions.session_id = f.session_id AND sessions.api_version = 'v3'"
        )
    finally:
        con.unregister("message_ids")
        con.unregister("message_rows")


def _record_errors(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    con.register("message_errors", to_arrow(EXPORT_ERRORS, rows))
    try:
        con.execute(
            "DELETE FROM export_errors t WHERE EXISTS (SELECT 1 FROM message_errors u "
            "WHERE t.run_id = u.run_id AND t.part = u.part AND t.session_id = u.session_id)"
        )
        con.execute("INSERT INTO export_errors BY NAME SELECT * FROM message_errors")
    finally:
        con.unregister("message_errors")


# -- a live run -------------------------------------------------------------------------------


class MessageExporter:
    """Fetches the messages of the sessions a run exported, and writes them batch by batch."""

    def __init__(
        self,
        settings: Settings,
        outcome: PartOutcome,
        reporter: Reporter,
        writer: SerialWriter,
        warehouse: Warehouse,
        raw: RawWriter | None,
        run_id: str,
    ) -> None:
        self.settings = settings
        self.outcome = outcome
        self.reporter = reporter
        self.writer = writer
        self.warehouse = warehouse
        self.raw = raw
        self.run_id = run_id
        self.failed = 0
        self.written = 0

    def run(self, session_ids: Iterable[str]) -> None:
        s = self.settings
        config = ClientConfig(base_url=s.api_url, api_key=s.api_key, timeout=s.timeout,
                              retries=s.retries, concurrency=s.concurrency,
                              max_rps=s.max_rps)  # fmt: skip
        client = DevinClient(config, self.reporter.redactor)
        self.reporter.event("messages_started", "fetching the sessions' messages", part=PART)
        denied: MessageFetch | None = None
        chunk: list[MessageFetch] = []
        try:
            for resp in client.parallel(lambda sid: fetch_response(client, sid), session_ids):
                fetch: MessageFetch = resp.data
                self.outcome.requests += fetch.requests
                if fetch.denied:
                    denied = denied or fetch
                    continue
                chunk.append(fetch)
                if len(chunk) >= s.batch_size:
                    self._write(chunk)
                    chunk = []
            self._write(chunk)
        finally:
            client.stop()
            client.close()
        self.writer.call(lambda: None)  # every batch written: the outcome is whole
        self._report(denied)

    def _write(self, fetches: list[MessageFetch]) -> None:
        out = MessageRows()
        lines: list[bytes] = []
        for fetch in fetches:
            if fetch.error is not None:
                error = fetch.error
                out.errors.append(error_row(self.run_id, PART, fetch.session_id, error.kind,
                                            error.http_status, error.message))  # fmt: skip
                self.reporter.event(
                    "messages_failed", f"{fetch.session_id}: {error.kind}: {error.message}; its "
                    "stored messages stay as they were", level="error", part=PART,
                    kind=error.kind, http_status=error.http_status,
                )  # fmt: skip
                continue
            lines += raw_lines(fetch, self.run_id)
            before = len(out.errors)
            add_session(out, fetch.session_id, fetch.pages, self.run_id)
            if len(out.errors) > before:
                self.reporter.event("messages_failed", f"{fetch.session_id}: invalid_response",
                                    level="error", part=PART, kind="invalid_response")  # fmt: skip
        self.failed += len(out.errors)
        if not (out.by_session or out.errors or lines):
            return

        def write() -> None:
            if self.raw is not None and (lines or out.quarantined):
                with storage_errors(str(self.raw.path)):
                    self.raw.write(lines, out.quarantined)  # raw first: rebuilt from it
            self.written += write_messages(self.warehouse, out)

        self.writer.submit(write)

    def _report(self, denied: MessageFetch | None) -> None:
        outcome, version = self.outcome, "v3"
        outcome.rows = {SESSION_MESSAGES.name: self.written}
        if denied is not None:
            assert denied.error is not None
            need = permission(PART, version)
            outcome.status = DENIED
            outcome.reason = f"permission denied: the key needs {need}"
            row = error_row(self.run_id, PART, "", DENIED, 403,
                            f"{denied.error.message}: the key needs {need}")  # fmt: skip
            self.writer.call(lambda: write_messages(self.warehouse, MessageRows(errors=[row])))
            then = ("the run fails (it was named in --with)" if outcome.named
                    else "skipped, the rest of the run goes on")  # fmt: skip
            self.reporter.event(
                "part_forbidden", f"{PART}: the API refused (HTTP 403): the key needs {need}; "
                f"{then}", level="error" if outcome.named else "warning", part=PART, kind=DENIED,
                named=outcome.named,
            )  # fmt: skip
        elif self.failed:
            outcome.status = FAILED
            outcome.reason = f"{self.failed} sessions' messages failed (see export_errors)"
        else:
            outcome.status, outcome.reason = EXPORTED_OK, ""


# -- --from-raw -------------------------------------------------------------------------------


class MessageReplay:
    """Writes the messages a batch's raw lines held (read back by pipeline.part_lines) as the
    live run wrote them: one transaction a batch."""

    def __init__(self, warehouse: Warehouse, run_id: str, outcome: PartOutcome) -> None:
        self.warehouse = warehouse
        self.run_id = run_id
        self.outcome = outcome

    def write(self, out: MessageRows) -> None:
        if not (out.by_session or out.errors):
            return
        written = write_messages(self.warehouse, out)
        outcome = self.outcome
        if outcome.status != FAILED:
            outcome.status, outcome.reason = EXPORTED_OK, "replayed"
        if out.errors:
            outcome.status, outcome.reason = FAILED, "invalid messages (see export_errors)"
        name = SESSION_MESSAGES.name
        outcome.rows = {name: outcome.rows.get(name, 0) + written}
