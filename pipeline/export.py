"""One export run, wired end to end: extract -> validate -> flatten -> load -> views.

This is the only module that knows every step; each step's module knows only its own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

from pipeline import __version__, memory
from pipeline.batch import Batch
from pipeline.checks import check_run
from pipeline.client import ClientConfig, DevinClient
from pipeline.consume import Consumer, RunInfo
from pipeline.enterprise_load import PartExporter, PartReplay
from pipeline.errors import ApiStatusError, AuthError, ExportError, MirrorError
from pipeline.files import storage_errors
from pipeline.ids import is_valid_session_id, unique
from pipeline.lock import OutputLock
from pipeline.messages_load import MessageExporter, MessageReplay
from pipeline.mirror import mirror_parquet
from pipeline.parquet import write_snapshots
from pipeline.parts import plan_parts, replayed_plan
from pipeline.progress import Reporter
from pipeline.raw import RawWriter, event_lines, raw_files
from pipeline.raw_process import Reader, ReadJob
from pipeline.report import report_after_run
from pipeline.responses import Kind, Response
from pipeline.s3url import parse_s3_url
from pipeline.schema import QUALITY_CHECKS
from pipeline.settings import Settings
from pipeline.sources import source_for
from pipeline.sources.v3 import V3Source
from pipeline.summary import Summary
from pipeline.warehouse import STATE_DIR, Warehouse
from pipeline.writer import SerialWriter

LATE_ANALYSIS_WINDOW = timedelta(days=7)
# A session whose analysis was asked for is asked again only after this long without it.
ASK_AGAIN_AFTER = timedelta(days=7)
INVALID_ID = "not a session id: letters, digits, - and _ only, 1 to 128 characters"


def new_run_id(now: datetime) -> str:
    # Starts with the time to the millisecond (ISO 8601 basic), so raw files and runs sort in
    # the order they happened, which --from-raw replays: runs go one at a time (the lock), but
    # two can start within one second, and the random part alone then decided their order.
    return f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


class WarehouseSink:
    """Writes each batch on the writer thread: its raw bodies first, then the warehouse."""

    def __init__(self, warehouse: Warehouse, raw: RawWriter | None, writer: SerialWriter) -> None:
        self.warehouse = warehouse
        self.raw = raw
        self.writer = writer
        self.part_replay: PartReplay | None = None  # --from-raw: the enterprise parts' lines

    def write(self, batch: Batch) -> None:
        self.writer.submit(lambda: self._write(batch))

    def _write(self, batch: Batch) -> None:
        if self.raw:
            with storage_errors(str(self.raw.path)):
                # Raw first: whatever is committed can be rebuilt from raw, in the same batches
                # (one gzip member each), with what the batch learnt beyond its bodies.
                events = event_lines(batch.deleted, batch.analysis_requested)
                self.raw.write(batch.raw_lines + events, batch.quarantined)
        self.warehouse.write_batch(batch)
        if (batch.part_lines or batch.part_items) and self.part_replay is not None:
            self.part_replay(batch.part_lines, batch.part_items)


def run_export(settings: Settings, reporter: Reporter, reader: Reader | None = None) -> Summary:
    """Run one export and return its summary; raises ExportError when the run cannot go on.
    reader: --from-raw's reading process, started early (pipeline.raw_process); else one is."""
    clock = time.monotonic()
    lock = OutputLock(settings.out_dir / STATE_DIR / "lock")
    with storage_errors(str(settings.out_dir)):
        lock.acquire()
    with lock, ExitStack() as stack:
        warehouse = Warehouse(settings.out_dir)
        export = ExportRun(settings, warehouse, reporter, clock)
        if settings.from_raw:
            # The files are listed before the warehouse opens (a path that is not there is a
            # usage error and leaves it untouched), and read while it opens.
            export.reader = reader or stack.enter_context(Reader())
            export.reader.begin(ReadJob(raw_files(settings.from_raw), export.info))
        warehouse.open()
        try:
            return export.run()
        finally:
            warehouse.close()


@contextmanager
def timed(steps: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to steps[name] (the summary's step_seconds)."""
    start = time.monotonic()
    try:
        yield
    finally:
        steps[name] = round(steps.get(name, 0.0) + time.monotonic() - start, 3)


class ExportRun:
    def __init__(
        self, settings: Settings, warehouse: Warehouse, reporter: Reporter, clock: float
    ) -> None:
        self.settings = settings
        self.reader: Reader | None = None  # --from-raw: reading the files (run_export)
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
        self.writer: SerialWriter  # started by run(), once the warehouse is open
        self.info = RunInfo(self.run_id, self.started, settings.batch_size, land_raw=bool(self.raw))
        # The enterprise around the sessions (SPEC section 10): which parts, and how they went.
        self.plan = replayed_plan() if settings.from_raw else plan_parts(
            settings.api_version, settings.list_all, settings.with_parts, settings.without_parts,
            sessions=bool(settings.session_ids or settings.refresh_open),
            pseudonymize=settings.pseudonymize,
        )  # fmt: skip
        self.summary.parts = self.plan.outcomes

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
        memory.retried.clear()  # another run's, in this process
        self.writer = SerialWriter()
        self.record("failed", None)  # stays "failed", without finished_at, if the run dies
        self.reporter.event("run_started", f"run {self.run_id}: exporting to {settings.out_dir}",
                            run_id=self.run_id)  # fmt: skip
        sink = WarehouseSink(self.warehouse, self.raw, self.writer)
        try:
            try:
                if settings.from_raw:
                    self.modes.append("from-raw")
                    self.warehouse.aggregates_live = False  # made in one pass at the end
                    messages = MessageReplay(self.warehouse, self.run_id,
                                             self.plan.outcomes["messages"])  # fmt: skip
                    sink.part_replay = PartReplay(self.warehouse, self.run_id, self.plan,
                                                  messages)  # fmt: skip
                    assert self.reader is not None, "run_export starts the reading"
                    self.reader.collect(sink.write, self.reporter)
                    self.writer.submit(sink.part_replay.finish)  # the parts' folded listings
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
        # A part the run included by default and the key may not read is a warning, not a
        # failure: its permission_denied row stays in export_errors, the run stays ok.
        warned = self.plan.warnings
        if warned:
            left = self.summary.errors_by_kind.get("permission_denied", 0) - warned
            if left > 0:
                self.summary.errors_by_kind["permission_denied"] = left
            else:
                self.summary.errors_by_kind.pop("permission_denied", None)
        self.summary.failed = sum(self.summary.errors_by_kind.values())

    def finish(self) -> Summary:
        summary, warehouse, settings = self.summary, self.warehouse, self.settings
        step = summary.step_seconds
        with timed(step, "views"):
            # Flush the run's writes first, and the aggregates a rebuild made after: under the
            # cache's small limit, the checks' joins and the Parquet reads need the room that
            # not-yet-checkpointed blocks would hold (a 20k rebuild's Parquet: 3.9 s, not 1.8).
            warehouse.checkpoint()
            warehouse.create_views()
            warehouse.checkpoint()
        with timed(step, "checks"):
            # Over the run's sessions; over everything when the whole warehouse may have changed.
            whole = bool(settings.full or settings.from_raw or settings.full_checks)
            checked = check_run(warehouse.db, whole or warehouse.migrated)
            summary.checks, summary.checked_sessions = checked.results, checked.sessions
            at = datetime.now(UTC)
            warehouse.upsert(QUALITY_CHECKS, [r.row(self.run_id, at) for r in summary.checks])
        summary.fail_on_check_errors = settings.fail_on_check_errors
        summary.rows = warehouse.counts()
        # Only the months of sessions this run wrote, unless every partition is stale.
        months = None if settings.from_raw or warehouse.migrated else warehouse.touched_months
        with timed(step, "parquet"), storage_errors(str(settings.out_dir / "parquet")):
            snapshot = write_snapshots(warehouse.db, settings.out_dir / "parquet", months,
                                       self.run_id)  # fmt: skip
        summary.paths = list(snapshot.written)
        with timed(step, "report"):
            report = report_after_run(settings.out_dir, self.reporter, warehouse.db)  # or warns
        if report is not None:
            summary.paths.insert(0, report)
        with timed(step, "publish"):
            summary.paths.insert(0, warehouse.publish())
        if settings.parquet_url:
            with timed(step, "mirror"):
                self.mirror()
        summary.duration_seconds = time.monotonic() - self.clock  # snapshots and publishing too
        self.more_memory()
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

    def more_memory(self) -> None:
        """Say which steps outgrew DuckDB's cache and were run again with more (pipeline.memory):
        a night that needs it peaks higher than the README's figures."""
        steps = list(dict.fromkeys(memory.retried))
        memory.retried.clear()
        if steps:
            self.reporter.event(
                "more_memory",
                f"{'; '.join(steps)}: more than {memory.MEMORY_LIMIT} of DuckDB cache needed, "
                f"done again with {memory.MORE_MEMORY_LIMIT} (values of many kB, such as pasted "
                "logs: see the README's troubleshooting)",
                level="warning", steps=steps,
            )  # fmt: skip

    def mirror(self) -> None:
        """Bring the bucket up to date with DIR/parquet/; a failure is kept, not raised: the
        local warehouse is already published, and the next run uploads what is missing."""
        settings, url = self.settings, parse_s3_url(self.settings.parquet_url)
        self.reporter.event("mirror_started", f"mirroring {settings.out_dir / 'parquet'} to {url}")
        try:
            self.summary.mirror = mirror_parquet(settings.out_dir / "parquet", url,
                                                 timeout=settings.timeout,
                                                 retries=settings.retries)  # fmt: skip
        except MirrorError as err:
            self.summary.mirror_error = str(err)
            self.reporter.event("mirror_failed", f"mirror to {url} failed: {err}", level="error")
            return
        m = self.summary.mirror
        self.reporter.event("mirror_finished", m.describe(), uploaded=m.uploaded,
                            deleted=m.deleted, unchanged=m.unchanged)  # fmt: skip

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
                filters = source.list_filters(self.watermark, self.started)
                consumer.consume(source.pages(client, filters, settings.concurrency))
                self.check_listing(consumer, source.detects_moves)
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
            if "messages" in self.plan.included:
                MessageExporter(settings, self.plan.outcomes["messages"], self.reporter,
                                self.writer, warehouse, self.raw,
                                self.run_id).run(consumer.exported)  # fmt: skip
            if self.plan.included or self.plan.named:
                if not (settings.list_all or settings.session_ids or settings.refresh_open):
                    self.modes.append("parts")
                PartExporter(settings, self.plan, self.reporter, self.writer, warehouse,
                             self.raw, self.run_id).run()  # fmt: skip
            if settings.generate_insights and isinstance(source, V3Source):
                self.generate_insights(client, source, sink)
        finally:
            client.stop()
            client.close()

    def generate_insights(self, client: DevinClient, source: V3Source, sink: WarehouseSink) -> None:
        """Ask the API to analyse the stored sessions that ended without analysis, once each;
        the next --refresh-open picks the analyses up."""
        now = datetime.now(UTC)
        ids = self.writer.call(lambda: self.warehouse.awaiting_analysis(now - ASK_AGAIN_AFTER))
        counts: dict[str, int] = {}
        asked: list[str] = []

        def ask(sid: str) -> Response:
            return client.answer(Kind.SESSION, sid, source.generate_path(sid), method="POST")

        try:
            for resp in client.parallel(ask, ids):
                data = resp.data if isinstance(resp.data, dict) else {}
                status = str(data.get("status")) if resp.error is None else "failed"
                counts[status] = counts.get(status, 0) + 1
                if resp.error is None:
                    asked.append(resp.key)
                elif isinstance(resp.error, ApiStatusError):
                    self.reporter.event("insights_failed", f"{resp.key}: could not ask for its "
                                        f"analysis: {resp.error}", level="warning")  # fmt: skip
        except AuthError as err:
            # Reading needs ViewAccountSessions; generating needs ManageAccountSessions too.
            self.reporter.event(
                "insights_forbidden",
                f"--generate-insights: the API refused (HTTP {err.status}): the service user "
                "needs the ManageAccountSessions permission; nothing else is affected",
                level="warning",
            )
        if asked:  # a batch of its own, landed in raw like any other: a rebuild replays it
            sink.write(Batch(self.run_id, analysis_requested=dict.fromkeys(asked, now)))
        self.summary.insights = counts

    def check_listing(self, consumer: Consumer, detects_moves: bool) -> None:
        """Fail the listing if it brought fewer distinct sessions than its first page announced,
        or if the list moved under pages that cannot tell."""
        consumer.flush()
        problem = None
        if not detects_moves and consumer.listed_created_during_run:
            problem = (
                f"the list grew while it was paged ({consumer.listed_created_during_run} "
                "sessions created since the run began, so the server ignores created_before) and "
                "cursor pages cannot tell whether others were skipped"
            )
        elif consumer.first_total is not None:
            received = self.writer.call(lambda: self.warehouse.listed_in_run(self.run_id))
            if received < consumer.first_total:
                problem = (
                    f"the listing brought {received} distinct sessions of the "
                    f"{consumer.first_total} its first page announced"
                )
        if problem:
            message = f"{problem}: the watermark stays, the next run lists them again"
            consumer.fail("listing", "incomplete_listing", message, None)
