"""One export run, wired end to end: extract -> validate -> flatten -> load -> views.

This is the only module that knows every step; each step's module knows only its own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from pydantic import ValidationError

from pipeline import __version__
from pipeline.client import ClientConfig, DevinClient, Response
from pipeline.errors import ExportError, InvalidResponse, UnparseableBody
from pipeline.flatten import flatten
from pipeline.ids import is_valid_session_id, printable_id, unique
from pipeline.load import STATE_DIR, Batch, SerialWriter, Warehouse, storage_errors
from pipeline.lock import OutputLock
from pipeline.models import SessionDetail
from pipeline.progress import Reporter
from pipeline.raw import RawChunk, RawWriter, parse_saved, raw_files
from pipeline.raw_process import ReadJob, read_in_child

LATE_ANALYSIS_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Settings:
    out_dir: Path
    api_url: str = "https://api.devin.ai"
    api_key: str = ""
    session_ids: tuple[str, ...] = ()
    list_all: bool = False
    full: bool = False
    refresh_open: bool = False
    from_raw: tuple[Path, ...] = ()
    overlap: timedelta = timedelta(days=2)
    batch_size: int = 1000
    concurrency: int = 8
    max_rps: float = 0.0
    timeout: float = 30.0
    retries: int = 5
    mode_prefix: str = ""


@dataclass
class Summary:
    run_id: str
    status: str = "failed"
    exported: int = 0
    failed: int = 0
    duration_seconds: float = 0.0
    fetch_seconds: float = 0.0  # first request to last answer handled; 0 for --from-raw
    rows: dict[str, int] = field(default_factory=dict)
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    watermark: datetime | None = None
    paths: list[Path] = field(default_factory=list)

    @property
    def requested(self) -> int:
        return self.exported + self.failed

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "ok" else 1

    @property
    def sessions_per_second(self) -> float:
        return self.requested / self.duration_seconds if self.duration_seconds else 0.0


def new_run_id(now: datetime) -> str:
    # Starts with the time, so raw files and runs sort in the order they happened.
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _error_message(error: Exception) -> str:
    return str(error).splitlines()[0][:500] if str(error) else type(error).__name__


def _field_path(err: ValidationError) -> tuple[str, str]:
    first = err.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["msg"]


class _Run:
    """Consumes responses: lands raw bodies, validates, flattens and writes batches."""

    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse,
        reporter: Reporter,
        raw: RawWriter | None,
        run_id: str,
        started: datetime,
        writer: SerialWriter | None = None,
    ) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.reporter = reporter
        self.raw = raw
        self.run_id = run_id
        self.started = started
        self.batch = Batch()
        self.writer = writer if writer is not None else SerialWriter()
        self.exported: set[str] = set()
        self.failed: dict[str, str] = {}
        self.max_updated_at: datetime | None = None

    def consume(self, responses: Iterable[Response]) -> None:
        for resp in responses:
            self._take(resp)
            if len(self.batch) >= self.settings.batch_size:
                self.flush()
            self.reporter.progress(len(self.exported), len(self.failed))

    def _take(self, resp: Response) -> None:
        if resp.data is None and resp.error is None:  # a saved line, not parsed yet
            try:  # most lines are sessions: validate them straight from JSON, the fast path
                session = SessionDetail.model_validate_json(resp.body)
            except ValidationError:
                resp = parse_saved(resp)  # a page, a broken session, or not JSON at all
            else:
                self._accept(session, resp)
                return
        if resp.error is not None:
            self.fail(resp.key, resp.error.kind, _error_message(resp.error), resp.error.status)
            if isinstance(resp.error, UnparseableBody) and self.raw:
                self.raw.quarantine(resp.key, str(resp.error), resp.error.body)
            return
        self._take_response(resp)

    def _take_response(self, resp: Response) -> None:
        if self.raw:
            self.raw.add(resp.body)
        if not resp.is_page:
            self._take_session(resp.key, resp.data, resp)
            return
        items = resp.data.get("items") if isinstance(resp.data, dict) else None
        if not isinstance(items, list):
            error = InvalidResponse(resp.key, "items", "a page without an items list")
            self._invalid(resp.key, error, resp)
            return
        for number, item in enumerate(items):
            sid = item.get("session_id") if isinstance(item, dict) else None
            key = sid if isinstance(sid, str) and sid else f"{resp.key}:item{number}"
            self._take_session(key, item, resp)

    def _take_session(self, key: str, item: object, resp: Response) -> None:
        try:
            session = SessionDetail.model_validate(item)
        except ValidationError as err:
            path, message = _field_path(err)
            self._invalid(key, InvalidResponse(key, path, message), resp, item)
            return
        self._accept(session, resp)

    def _accept(self, session: SessionDetail, resp: Response) -> None:
        received = resp.received_at or self.started
        self.batch.add(session.session_id, flatten(session, self.run_id, received))
        self.batch.errors.pop(printable_id(session.session_id), None)  # it came through after all
        self.exported.add(session.session_id)
        self.failed.pop(session.session_id, None)
        if resp.is_page:
            newest = self.max_updated_at
            self.max_updated_at = max(newest, session.updated_at) if newest else session.updated_at

    def _invalid(
        self, key: str, error: InvalidResponse, resp: Response, item: object = None
    ) -> None:
        self.fail(key, error.kind, str(error), None)
        if self.raw:
            body = resp.body if item is None or not resp.is_page else orjson.dumps(item)
            self.raw.quarantine(key, str(error), body)

    def fail(self, key: str, kind: str, message: str, status: int | None) -> None:
        if key in self.exported:
            return  # the same session already came through whole in this run
        shown = printable_id(key)
        self.failed[key] = kind
        self.batch.add_error((self.run_id, shown, kind, status, message, datetime.now(UTC)))
        self.reporter.session_error(shown, kind, message, status)

    def flush(self) -> None:
        """Hand the batch to the writer thread and start a new one."""
        batch, self.batch = self.batch, Batch()
        batch.prepare()  # the writer thread, not this one, is the critical path of a load
        chunk = self.raw.take() if self.raw else None
        self.writer.submit(lambda: self._write(batch, chunk))

    def _write(self, batch: Batch, chunk: RawChunk | None) -> None:
        if self.raw and chunk:
            with storage_errors(str(self.raw.path)):
                self.raw.write(chunk)  # raw first: whatever is committed can be rebuilt from raw
        self.warehouse.write_batch(batch)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_export(settings: Settings, reporter: Reporter) -> Summary:
    """Run one export and return its summary; raises ExportError when the run cannot go on."""
    clock = time.monotonic()
    lock = OutputLock(settings.out_dir / STATE_DIR / "lock")
    with storage_errors(str(settings.out_dir)):
        lock.acquire()
    with lock:
        warehouse = Warehouse(settings.out_dir)
        warehouse.open()
        try:
            return _run(settings, warehouse, reporter, clock)
        finally:
            warehouse.close()


def _run(settings: Settings, warehouse: Warehouse, reporter: Reporter, clock: float) -> Summary:
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    # Rebuilding from raw files writes no new raw files: the bodies are already there.
    raw = None if settings.from_raw else RawWriter(settings.out_dir / "raw", run_id, started)
    run = _Run(settings, warehouse, reporter, raw, run_id, started)
    summary = Summary(run.run_id)
    modes = [settings.mode_prefix] if settings.mode_prefix else []
    watermark = None

    def record(status: str, finished: datetime | None) -> None:
        summary.status = status
        summary.exported = len(run.exported)
        summary.failed = len(run.failed)
        summary.duration_seconds = time.monotonic() - clock
        max_updated = run.max_updated_at if settings.list_all else None
        warehouse.record_run(
            (
                run.run_id, run.started, finished, "+".join(modes), settings.api_url,
                summary.requested, summary.exported, summary.failed, status, __version__,
                watermark, max_updated, summary.duration_seconds,
            )
        )  # fmt: skip

    record("failed", None)  # stays "failed", without finished_at, if the run dies
    reporter.event("run_started", f"run {run.run_id}: exporting to {settings.out_dir}",
                   run_id=run.run_id)  # fmt: skip
    try:
        try:
            if settings.from_raw:
                modes.append("from-raw")
                job = ReadJob(raw_files(settings.from_raw), run_id, started, settings.batch_size)
                run.exported, run.failed = read_in_child(job, warehouse, reporter)
            else:
                fetching = time.monotonic()
                watermark = _extract(settings, warehouse, run, modes)
                summary.fetch_seconds = time.monotonic() - fetching
            run.flush()
        finally:
            run.writer.close()  # every batch handed over is written, even when the run fails
    except ExportError:
        record("failed", datetime.now(UTC))
        raise
    summary.watermark = watermark
    status = "ok" if not run.failed else ("partial" if run.exported else "failed")
    record(status, datetime.now(UTC))
    for kind in run.failed.values():
        summary.errors_by_kind[kind] = summary.errors_by_kind.get(kind, 0) + 1
    summary.rows = warehouse.counts()
    warehouse.create_views()
    summary.paths = warehouse.write_parquet()
    summary.paths.insert(0, warehouse.publish())
    summary.duration_seconds = time.monotonic() - clock  # the snapshots and publishing too
    if raw:
        summary.paths += raw.written()
    reporter.progress(summary.exported, summary.failed, force=True)
    reporter.finish()
    reporter.event(
        "run_finished",
        f"run {run.run_id}: {summary.status}",
        run_id=run.run_id,
        status=summary.status,
        exported=summary.exported,
        failed=summary.failed,
        errors_by_kind=summary.errors_by_kind,
        duration_seconds=round(summary.duration_seconds, 3),
    )
    return summary


def _extract(
    settings: Settings, warehouse: Warehouse, run: _Run, modes: list[str]
) -> datetime | None:
    """Fetch every requested session into run; return the watermark --all used, if any."""
    config = ClientConfig(
        base_url=settings.api_url,
        api_key=settings.api_key,
        timeout=settings.timeout,
        retries=settings.retries,
        concurrency=settings.concurrency,
        max_rps=settings.max_rps,
    )
    client = DevinClient(config)
    watermark = None
    # Read from the warehouse before any batch is handed to the writer thread, which then
    # owns the connection until the end of the run.
    refresh = []
    if settings.refresh_open:
        refresh = warehouse.ids_to_refresh(datetime.now(UTC) - LATE_ANALYSIS_WINDOW)
    try:
        if settings.list_all:
            last = None if settings.full else warehouse.last_watermark()
            filters = {}
            if last is not None:
                watermark = last - settings.overlap
                filters["updated_date_from"] = _iso(watermark)
            modes.append("all" if last is not None else "all-full")
            run.consume(client.pages(filters))
        ids = list(settings.session_ids)
        if settings.session_ids:
            modes.append("ids")
        if settings.refresh_open:
            modes.append("refresh-open")
            ids += refresh
        wanted = []
        for sid in unique(ids):
            if not is_valid_session_id(sid):
                run.fail(sid, "invalid_id", "not a session id: letters, digits, - and _ only, "
                         "1 to 128 characters", None)  # fmt: skip
            elif sid not in run.exported:
                wanted.append(sid)
        run.consume(client.sessions(wanted))
    finally:
        client.close()
    return watermark
