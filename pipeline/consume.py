"""The consumer of responses: validate, flatten, batch; record what failed; land raw bodies.

It sits between extract and load and knows neither: answers come in (from the HTTP client or
from raw files), batches go out to a BatchSink, and people hear of failures through Progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import pydantic_core
from pydantic import ValidationError

from pipeline.batch import Batch
from pipeline.errors import InvalidResponse, NotFound, UnparseableBody
from pipeline.ids import printable_id
from pipeline.parts import LINE_PREFIX as PART_LINE
from pipeline.raw import GONE, parse_event
from pipeline.responses import Kind, Response
from pipeline.schema import EXPORT_ERRORS
from pipeline.sources import Source, source_of_payload, source_of_saved


class BatchSink(Protocol):
    def write(self, batch: Batch) -> None:
        """Take a full batch (converted to Arrow) and write it, now or later, in order."""
        ...


class Progress(Protocol):
    def session_error(
        self, session_id: str, kind: str, message: str, status: int | None
    ) -> None: ...

    def progress(self, done: int, failed: int, *, force: bool = False) -> None: ...


# A batch replayed from a raw file is written whole, as its run wrote it, up to this many times
# the batch size: a bigger gzip member (a file gzipped whole) is cut, to bound memory.
REPLAYED_BATCH_FACTOR = 10


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    started: datetime
    batch_size: int = 1000
    land_raw: bool = True  # keep every body in the batch for the raw files


def error_message(error: Exception) -> str:
    return str(error).splitlines()[0][:500] if str(error) else type(error).__name__


class Consumer:
    def __init__(
        self, run: RunInfo, sink: BatchSink, progress: Progress, source: Source | None = None
    ) -> None:
        self.run = run
        self.sink = sink
        self.progress = progress
        self.source = source  # None: tell each payload's source by its shape (raw files)
        self.batch = Batch(run.run_id)
        self.held: Batch | None = None  # replayed batches waiting to be written together
        self.accepted = 0  # session payloads taken, repeats included: for progress only
        self.failures = 0
        self.pages = 0
        self.listed = 0  # items of list pages received
        self.max_listed_updated_at: datetime | None = None
        self.listed_created_during_run = 0  # the list moved: created_before was not honoured
        self.first_total: int | None = None  # the total the first page of a listing announced
        self.watched: set[str] = set()  # ids asked for by hand, to skip those a listing brought
        self.seen_watched: set[str] = set()
        self.gone_if_missing: set[str] = set()  # stored ids for which a 404 means deleted
        self.replaying: str | None = None  # the written batch the saved lines come from
        # The sessions taken whole, in order: the messages part fetches theirs afterwards. A
        # rebuild (it lands nothing: the bodies are saved already) fetches nothing, and keeps no
        # list that grows with every session it reads (10 MB in a 100k rebuild's reader).
        self.exported: dict[str, None] = {}

    def consume(self, responses: Iterable[Response]) -> None:
        size = self.run.batch_size
        for resp in responses:
            if resp.written_in != self.replaying:
                # Saved lines are replayed in the batches their runs wrote them in: the
                # warehouse derives some columns from the order in which a session's versions
                # arrived (ended_at), and so does the rebuild.
                self._member_done()
                self.replaying = resp.written_in
            self.take(resp)
            limit = size if self.replaying is None else size * REPLAYED_BATCH_FACTOR
            if len(self.batch) >= limit:
                self.flush()
            self.progress.progress(self.accepted, self.failures)

    def _member_done(self) -> None:
        """A replayed batch is whole: write it, or hold it to write with the next ones.

        A year of nightly runs is hundreds of small batches, each night refetching sessions of
        the night before, and each transaction costs the warehouse a commit and, for a session
        it replaces, a pass over every child table (a 20k rebuild from 100 such nights took 4x
        the time of the same sessions in one file). Batches give the warehouse the same rows
        whether written one after the other or in one transaction when a session both name
        can be written once, in its later version, and no messages line held is about a
        session the next batch writes and the held do not (Batch.can_join); they are held
        together up to the batch size. A batch that cannot join starts the next transaction.
        """
        batch, held = self.batch, self.held
        self.batch = Batch(self.run.run_id)
        if held is None:
            self.held = batch
        elif len(held) + len(batch) <= self.run.batch_size and held.can_join(batch):
            held.join(batch)
        else:
            self._write(held)
            self.held = batch

    def take(self, resp: Response) -> None:
        """Take one response of any kind."""
        if isinstance(resp.error, NotFound) and resp.key in self.gone_if_missing:
            self.batch.deleted[resp.key] = datetime.now(UTC)  # not a failure: the session is gone
        elif resp.error is not None:
            self.fail(resp.key, resp.error.kind, error_message(resp.error), resp.error.status)
            if isinstance(resp.error, UnparseableBody):
                self._quarantine(resp.key, str(resp.error), resp.error.body)
        elif resp.kind is Kind.SAVED:
            self._take_saved_line(resp)
        else:
            self._land(resp.body)
            if resp.kind is Kind.PAGE:
                self._take_page(resp, resp.data)
            else:
                self._take_payload(resp.key, resp.data, resp)

    def _take_saved_line(self, resp: Response) -> None:
        if resp.body.startswith(PART_LINE):  # people, organizations, ...: loaded by the sink
            self.batch.part_lines.append(resp.body)
            return
        source = self.source or source_of_saved(resp.body)
        try:  # most saved lines are sessions: validated straight from JSON, the fast path
            session = source.validate_json(resp.body)
        except ValidationError:
            pass  # a page, an invalid session, or not JSON at all: parse it to see
        else:
            self._accept(session, source, resp, listed=False)
            return
        try:
            data = pydantic_core.from_json(resp.body)
        except ValueError as err:
            message = f"{resp.key} is not JSON ({err})"
            self.fail(resp.key, "invalid_response", message, None)
            self._quarantine(resp.key, message, resp.body)
            return
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            self._take_page(resp, data)
        elif (event := parse_event(data)) is not None:
            name, ats = event  # what the run learnt without a body: found gone, analysis asked
            (self.batch.deleted if name == GONE else self.batch.analysis_requested).update(ats)
        else:
            sid = data.get("session_id") if isinstance(data, dict) else None
            self._take_payload(sid if isinstance(sid, str) else resp.key, data, resp)

    def _take_page(self, resp: Response, data: Any) -> None:
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            self._reject(
                resp.key, InvalidResponse(resp.key, "items", "a page without items"), resp.body
            )
            return
        self.pages += 1
        if self.pages == 1:
            total = data.get("total")
            if isinstance(total, int) and not isinstance(total, bool):
                self.first_total = total
        self.listed += len(items)
        for number, item in enumerate(items):
            sid = item.get("session_id") if isinstance(item, dict) else None
            key = sid if isinstance(sid, str) and sid else f"{resp.key} item {number}"
            self._take_payload(key, item, resp, listed=True)

    def _take_payload(self, key: str, payload: Any, resp: Response, listed: bool = False) -> None:
        source = self.source or source_of_payload(payload)
        try:
            session = source.validate(payload)
        except ValidationError as err:
            first = err.errors()[0]
            path = ".".join(str(p) for p in first["loc"])
            body = resp.body if resp.kind is Kind.SESSION else pydantic_core.to_json(payload)
            self._reject(key, InvalidResponse(key, path, first["msg"]), body)
            return
        self._accept(session, source, resp, listed)

    def _accept(self, session: Any, source: Source, resp: Response, listed: bool) -> None:
        received = resp.received_at or self.run.started
        self.batch.add(session.session_id, source.rows(session, self.run.run_id, received))
        self.accepted += 1
        if self.run.land_raw:
            self.exported[session.session_id] = None
        if listed:
            if session.session_id in self.watched:
                self.seen_watched.add(session.session_id)
            if session.created_at > self.run.started:
                self.listed_created_during_run += 1
            newest = self.max_listed_updated_at
            if newest is None or session.updated_at > newest:
                self.max_listed_updated_at = session.updated_at

    def _reject(self, key: str, error: InvalidResponse, body: bytes) -> None:
        self.fail(key, error.kind, str(error), None)
        self._quarantine(key, str(error), body)

    def fail(self, key: str, kind: str, message: str, status: int | None) -> None:
        """Record that key (a session id, or what stood for it) failed in this run."""
        shown = printable_id(key)
        row = EXPORT_ERRORS.row(
            run_id=self.run.run_id, session_id=shown, kind=kind, http_status=status,
            message=message, occurred_at=datetime.now(UTC), part="sessions",
        )  # fmt: skip
        self.batch.add_error(shown, row)
        self.failures += 1
        self.progress.session_error(shown, kind, message, status)

    def _land(self, body: bytes) -> None:
        if self.run.land_raw and body:
            # A raw newline in valid JSON is only ever whitespace: one body, one line.
            self.batch.raw_lines.append(body.replace(b"\r", b" ").replace(b"\n", b" "))

    def _quarantine(self, key: str, error: str, body: bytes) -> None:
        if not self.run.land_raw:
            return
        try:
            payload: Any = pydantic_core.from_json(body)
        except ValueError:
            payload = body.decode("utf-8", "replace")
        record = {
            "session_id": key,
            "error": error,
            "received_at": datetime.now(UTC),
            "body": payload,
        }
        self.batch.quarantined.append(pydantic_core.to_json(record))

    def flush(self) -> None:
        """Hand the batches held and the batch to the sink and start a new one."""
        if self.held is not None:
            self._write(self.held)
            self.held = None
        batch, self.batch = self.batch, Batch(self.run.run_id)
        self._write(batch)

    def _write(self, batch: Batch) -> None:
        if len(batch) or batch.raw_lines or batch.quarantined or batch.part_lines:
            batch.prepare()  # on this thread: the writer, not the reader, is the critical path
            self.sink.write(batch)
