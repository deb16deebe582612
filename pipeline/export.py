"""One export run, wired end to end: extract -> validate -> flatten -> load -> views.

This is the only module that knows every step; each step's module knows only its own.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline import __version__
from pipeline.batch import Batch
from pipeline.client import ClientConfig, DevinClient
from pipeline.consume import Consumer, RunInfo
from pipeline.errors import ExportError
from pipeline.files import storage_errors
from pipeline.ids import is_valid_session_id, unique
from pipeline.lock import OutputLock
from pipeline.parquet import write_snapshots
from pipeline.progress import Reporter
from pipeline.raw import RawWriter, raw_files
from pipeline.raw_process import ReadJob, read_in_child
from pipeline.responses import Kind, Response
from pipeline.settings import Settings
from pipeline.sources import source_for
from pipeline.warehouse import STATE_DIR, SerialWriter, Warehouse

LATE_ANALYSIS_WINDOW = timedelta(days=7)
INVALID_ID = "not a session id: letters, digits, - and _ only, 1 to 128 characters"


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


class WarehouseSink:
    """Writes each batch on the writer thread: its raw bodies first, then the warehouse."""

    def __init__(self, warehouse: Warehouse, raw: RawWriter | None, writer: SerialWriter) -> None:
        self.warehouse = warehouse
        self.raw = raw
        self.writer = writer

    def write(self, batch: Batch) -> None:
        self.writer.submit(lambda: self._write(batch))

    def _write(self, batch: Batch) -> None:
        if self.raw:
            with storage_errors(str(self.raw.path)):
                # Raw first: whatever is committed can be rebuilt from raw.
                self.raw.write(batch.raw_lines, batch.quarantined)
        self.warehouse.write_batch(batch)


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
            return ExportRun(settings, warehouse, reporter, clock).run()
        finally:
            warehouse.close()


class ExportRun:
    def __init__(
        self, settings: Settings, warehouse: Warehouse, reporter: Reporter, clock: float
    ) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.reporter = reporter
        self.clock = clock
        self.started = datetime.now(UTC)
        self.run_id = new_run_id(self.started)
        self.summary = Summary(self.run_id)
        self.modes = ["demo"] if settings.demo else []
        self.watermark: datetime | None = None
        self.max_updated_at: datetime | None = None
        # Rebuilding from raw files writes no new raw files: the bodies are already there.
        self.raw = None if settings.from_raw else RawWriter(settings.out_dir / "raw", self.run_id,
                                                            self.started)  # fmt: skip
        self.writer = SerialWriter()
        self.info = RunInfo(self.run_id, self.started, settings.batch_size, land_raw=bool(self.raw))

    def record(self, status: str, finished: datetime | None) -> None:
        settings, summary = self.settings, self.summary
        summary.status = status
        summary.duration_seconds = time.monotonic() - self.clock
        self.warehouse.record_run(
            run_id=self.run_id,
            started_at=self.started,
            finished_at=finished,
            mode="+".join(self.modes),
            api_url=None if settings.from_raw else settings.api_url.rstrip("/"),
            sessions_requested=summary.requested,
            sessions_exported=summary.exported,
            sessions_failed=summary.failed,
            status=status,
            version=__version__,
            watermark=self.watermark,
            max_updated_at=self.max_updated_at if settings.list_all else None,
            duration_seconds=summary.duration_seconds,
            api_version=None if settings.from_raw else settings.api_version,
        )

    def run(self) -> Summary:
        summary, settings = self.summary, self.settings
        self.record("failed", None)  # stays "failed", without finished_at, if the run dies
        self.reporter.event("run_started", f"run {self.run_id}: exporting to {settings.out_dir}",
                            run_id=self.run_id)  # fmt: skip
        sink = WarehouseSink(self.warehouse, self.raw, self.writer)
        try:
            try:
                if settings.from_raw:
                    self.modes.append("from-raw")
                    job = ReadJob(raw_files(settings.from_raw), self.info)
                    read_in_child(job, sink.write, self.reporter)
                else:
                    fetching = time.monotonic()
                    self.extract(sink)
                    summary.fetch_seconds = time.monotonic() - fetching
            finally:
                self.writer.close()  # every batch handed over is written, even when failing
        except ExportError:
            self.count()
            self.record("failed", datetime.now(UTC))
            raise
        self.count()
        status = "ok" if not summary.failed else ("partial" if summary.exported else "failed")
        if status != "ok":
            self.max_updated_at = None  # a run with failures never moves the watermark
        self.record(status, datetime.now(UTC))
        summary.watermark = self.watermark
        return self.finish()

    def count(self) -> None:
        self.summary.exported, self.summary.errors_by_kind = self.warehouse.run_outcome(self.run_id)
        self.summary.failed = sum(self.summary.errors_by_kind.values())

    def finish(self) -> Summary:
        summary, warehouse = self.summary, self.warehouse
        summary.rows = warehouse.counts()
        warehouse.create_views()
        # Only the months of sessions this run wrote, unless every partition is stale.
        months = None if self.settings.from_raw or warehouse.migrated else warehouse.touched_months
        with storage_errors(str(self.settings.out_dir / "parquet")):
            snapshot = write_snapshots(
                warehouse.db, self.settings.out_dir / "parquet", months, self.run_id
            )
        summary.paths = list(snapshot.written)
        summary.paths.insert(0, warehouse.publish())
        summary.duration_seconds = time.monotonic() - self.clock  # snapshots and publishing too
        if self.raw:
            summary.paths += self.raw.written()
        self.reporter.progress(summary.exported, summary.failed, force=True)
        self.reporter.finish()
        self.reporter.event(
            "run_finished",
            f"run {self.run_id}: {summary.status}",
            run_id=self.run_id,
            status=summary.status,
            exported=summary.exported,
            failed=summary.failed,
            errors_by_kind=summary.errors_by_kind,
            duration_seconds=round(summary.duration_seconds, 3),
        )
        return summary

    def extract(self, sink: WarehouseSink) -> None:
        """Fetch every requested session: the listing first, then the ids not listed."""
        settings, warehouse = self.settings, self.warehouse
        source = source_for(settings.api_version)
        client = DevinClient(
            ClientConfig(
                base_url=settings.api_url,
                api_key=settings.api_key,
                timeout=settings.timeout,
                retries=settings.retries,
                concurrency=settings.concurrency,
                max_rps=settings.max_rps,
            ),
            self.reporter.redactor,
        )
        consumer = Consumer(self.info, sink, self.reporter, source)
        # Read from the warehouse before any batch is handed to the writer thread, which then
        # owns the connection until the end of the run.
        refresh: list[str] = []
        if settings.refresh_open:
            refresh = warehouse.ids_to_refresh(datetime.now(UTC) - LATE_ANALYSIS_WINDOW)
        last = None
        if not settings.full:
            last = warehouse.last_watermark(settings.api_url, settings.api_version)
        wanted = []
        for sid in unique([*settings.session_ids, *refresh]):
            if is_valid_session_id(sid):
                wanted.append(sid)
            else:
                consumer.fail(sid, "invalid_id", INVALID_ID, None)
        consumer.watched = set(wanted)
        consumer.gone_if_missing = set(refresh)
        try:
            if settings.list_all:
                self.watermark = last - settings.overlap if last is not None else None
                self.modes.append("all" if last is not None else "all-full")
                consumer.consume(source.pages(client, source.list_filters(self.watermark),
                                              settings.concurrency))  # fmt: skip
                self.check_listing(consumer)
                self.max_updated_at = consumer.max_listed_updated_at
            if settings.session_ids:
                self.modes.append("ids")
            if settings.refresh_open:
                self.modes.append("refresh-open")

            def fetch(sid: str) -> Response:
                return client.answer(Kind.SESSION, sid, source.session_path(sid))

            remaining = [sid for sid in wanted if sid not in consumer.seen_watched]
            consumer.consume(client.parallel(fetch, remaining))
            consumer.flush()
        finally:
            client.stop()
            client.close()

    def check_listing(self, consumer: Consumer) -> None:
        """Fail the listing if it brought fewer distinct sessions than its first page announced."""
        consumer.flush()
        total = consumer.first_total
        if total is None:
            return
        received = self.writer.call(lambda: self.warehouse.listed_in_run(self.run_id))
        if received < total:
            consumer.fail(
                "listing",
                "incomplete_listing",
                f"the listing brought {received} distinct sessions of the {total} its first page "
                "announced: the watermark stays, the next run lists them again",
                None,
            )
