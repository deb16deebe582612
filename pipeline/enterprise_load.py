"""Load: the parts of the enterprise into the warehouse, live and from the raw files.

Each part (people, organizations, playbooks, knowledge) is listed whole, then written in one
transaction on the writer thread, its raw lines first:

    {"devin_export_part": {"run_id", "part", "api_version", "listing", "org_id", "received_at"},
     "body": <the page's body, as received>}                       one line a page
    {"devin_export_part": {"run_id", "part", "api_version", "end": true, "complete": ...,
     "listed_at"}}                                                 after the part's last page

A complete listing upserts its items by key (removed_at cleared) and gives removed_at =
listed_at to the stored items it no longer holds; an incomplete or failed one writes nothing
of its part (a partial roster would misstate who belongs where), and says why in
export_errors. --from-raw replays the same lines through the same code, in the order they were
written, so it ends with the same rows, removed_at included.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import orjson
import pyarrow as pa
import pydantic_core

from pipeline import part_fold
from pipeline.batch import to_arrow
from pipeline.billing_extract import BILLING_PARTS, fetch_billing
from pipeline.billing_load import known, load_billing
from pipeline.billing_rows import PART_TABLES as BILLING_TABLES
from pipeline.billing_rows import BuiltBilling
from pipeline.billing_rows import build as build_billing
from pipeline.client import ClientConfig, DevinClient
from pipeline.enterprise_extract import PartFetch, fetch_part
from pipeline.enterprise_rows import ITEM_TABLES, PART_TABLES, Built, build, error_row
from pipeline.files import storage_errors
from pipeline.messages_rows import MessageRows
from pipeline.part_fold import Fold
from pipeline.part_lines import Listing, PartLines
from pipeline.parts import (
    DENIED,
    EXPORTED_OK,
    FAILED,
    LINE_PREFIX,
    PER_SESSION,
    PartPlan,
    permission,
)
from pipeline.progress import Reporter
from pipeline.pseudonymize import Pseudonymizer
from pipeline.raw import RawWriter
from pipeline.schema import EXPORT_ERRORS, ORG_MEMBERS, USER_ROLES
from pipeline.settings import Settings
from pipeline.warehouse import Warehouse
from pipeline.writer import SerialWriter

# -- raw lines --------------------------------------------------------------------------------


def _meta(fetch: PartFetch, run_id: str, **fields: Any) -> bytes:
    meta = {"run_id": run_id, "part": fetch.part, "api_version": fetch.version, **fields}
    return orjson.dumps(meta)


def raw_lines(fetch: PartFetch, run_id: str) -> list[bytes]:
    """The raw lines of a part: each page's body as received, then the end of the listing."""
    lines = []
    for page in fetch.pages:
        meta = _meta(fetch, run_id, listing=page.listing, org_id=page.org_id,
                     received_at=page.received_at.isoformat(),
                     **({} if page.params is None else {"scope_id": page.scope_id,
                                                        "params": page.params}))  # fmt: skip
        # A raw newline in valid JSON is only ever whitespace: one body, one line.
        body = page.body.replace(b"\r", b" ").replace(b"\n", b" ")
        lines.append(LINE_PREFIX + meta + b',"body":' + body + b"}")
    assert fetch.listed_at is not None
    end = _meta(fetch, run_id, end=True, complete=fetch.complete,
                listed_at=fetch.listed_at.isoformat())  # fmt: skip
    lines.append(LINE_PREFIX + end + b"}")
    return lines


def _quarantined(built: Built, part: str, run_id: str) -> list[bytes]:
    return [
        pydantic_core.to_json(
            {
                "part": part,
                "id": invalid.key,
                "error": invalid.message,
                "received_at": datetime.now(UTC),
                "run_id": run_id,
                "body": pydantic_core.from_json(invalid.body),
            }
        )
        for invalid in built.invalid
    ]


# -- the warehouse ----------------------------------------------------------------------------


def _register(con: duckdb.DuckDBPyConnection, name: str, data: pa.Table) -> None:
    con.register(name, data)


def _ids(values: list[str]) -> pa.Table:
    return pa.table({"id": pa.array(values, pa.string())})


def load(
    con: duckdb.DuckDBPyConnection,
    part: str,
    built: Built,
    listed_at: datetime,
    mark_removed: bool,
) -> dict[str, int]:
    """Write a part's rows (inside the caller's transaction); return rows written by table."""
    item = ITEM_TABLES[part]
    key = item.key[0]
    written = {}
    try:
        rows = to_arrow(item, built.rows[item.name])
        _register(con, "part_rows", rows)
        con.execute(f"DELETE FROM {item.name} WHERE {key} IN (SELECT {key} FROM part_rows)")
        con.execute(f"INSERT INTO {item.name} BY NAME SELECT * FROM part_rows")
        written[item.name] = rows.num_rows
        if mark_removed:
            _register(con, "part_listed", _ids(built.listed))
            con.execute(
                f"UPDATE {item.name} SET removed_at = ? WHERE removed_at IS NULL "
                f"AND {key} NOT IN (SELECT id FROM part_listed)",
                [listed_at],
            )
        if part == "people":
            users = built.listed + [row[1] for row in built.rows[ORG_MEMBERS.name]]
            _register(con, "part_users", _ids(users))
            for table in (USER_ROLES, ORG_MEMBERS):
                data = to_arrow(table, built.rows[table.name])
                con.execute(
                    f"DELETE FROM {table.name} WHERE user_id IN (SELECT id FROM part_users)"
                )
                _register(con, "part_children", data)
                con.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM part_children")
                con.unregister("part_children")
                written[table.name] = data.num_rows
    finally:
        for name in ("part_rows", "part_listed", "part_users", "part_children"):
            con.unregister(name)
    return {t.name: written.get(t.name, 0) for t in PART_TABLES[part]}


def _record_errors(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    _register(con, "part_errors", to_arrow(EXPORT_ERRORS, rows))
    try:
        con.execute(
            "DELETE FROM export_errors t WHERE EXISTS (SELECT 1 FROM part_errors u "
            "WHERE t.run_id = u.run_id AND t.part = u.part AND t.session_id = u.session_id)"
        )
        con.execute("INSERT INTO export_errors BY NAME SELECT * FROM part_errors")
    finally:
        con.unregister("part_errors")


def _invalid(built: Built | BuiltBilling) -> list[tuple[str, str]]:
    """(key, message) of what could not be read: a billing part's answers are keyed by what
    they were about, in one row of its part."""
    if isinstance(built, BuiltBilling):
        return [("", "; ".join(built.invalid))] if built.invalid else []
    return [(i.key, i.message) for i in built.invalid]


def _invalid_rows(built: Built | BuiltBilling | None, part: str, run_id: str
                  ) -> list[tuple[Any, ...]]:  # fmt: skip
    return [
        error_row(run_id, part, key, "invalid_response", None, message)
        for key, message in (_invalid(built) if built is not None else [])
    ]


def write_part(
    warehouse: Warehouse,
    part: str,
    built: Built | BuiltBilling | None,
    listed_at: datetime,
    errors: list[tuple[Any, ...]],
) -> dict[str, int]:
    """One transaction: the part's rows (if its listing is complete) and its errors."""
    con = warehouse.db
    with warehouse.transaction():
        written = {}
        if isinstance(built, BuiltBilling):
            written = load_billing(con, part, built)
        elif built is not None:
            written = load(con, part, built, listed_at, mark_removed=not built.invalid)
        _record_errors(con, errors)
    return written


# -- a live run -------------------------------------------------------------------------------


class PartExporter:
    """Lists the parts the plan includes, all at once after the sessions, and writes them."""

    def __init__(
        self,
        settings: Settings,
        plan: PartPlan,
        reporter: Reporter,
        writer: SerialWriter,
        warehouse: Warehouse,
        raw: RawWriter | None,
        run_id: str,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.reporter = reporter
        self.writer = writer
        self.warehouse = warehouse
        self.raw = raw
        self.run_id = run_id

    def run(self) -> None:
        """List every part at once (each a few requests, mostly waiting on the API), then
        write them one after another, in the plan's order."""
        parts = tuple(
            p for p in self.plan.included if p not in PER_SESSION and p not in BILLING_PARTS
        )
        if parts:
            self._dimensions(parts)
        self._billing(tuple(p for p in self.plan.included if p in BILLING_PARTS))

    def _dimensions(self, parts: tuple[str, ...]) -> None:
        clients = {part: self._client(len(parts)) for part in parts}
        self.reporter.event("parts_started", f"listing {', '.join(parts)}", parts=list(parts))
        try:
            with ThreadPoolExecutor(len(parts), thread_name_prefix="part") as pool:
                futures = {
                    part: pool.submit(fetch_part, clients[part], part, self.plan.version)
                    for part in parts
                }
                try:
                    fetched = {part: future.result() for part, future in futures.items()}
                except BaseException:
                    for client in clients.values():  # a rejected key (401): every part stops
                        client.stop()
                    raise
        finally:
            for client in clients.values():
                client.stop()
                client.close()
        for part in parts:
            self.write(fetched[part])

    def _billing(self, parts: tuple[str, ...]) -> None:
        """Consumption, then metrics (over the cycles consumption read), after the people and
        organizations they ask about were written; each asks concurrently, at the run's rate."""
        if not parts:
            return
        roster = self.writer.call(lambda: known(self.warehouse.db))
        self.reporter.event("parts_started", f"asking for {', '.join(parts)}", parts=list(parts))
        cycles = None
        for part in parts:
            client = self._client(1, self.settings.concurrency)
            try:
                fetch, cycles = fetch_billing(client, part, self.plan.version, roster, cycles)
            finally:
                client.stop()
                client.close()
            self.write(fetch)

    def _client(self, parts: int, concurrency: int = 4) -> DevinClient:
        """A client of the part's own, so a 403 stops only that part's requests, not the run's;
        --max-rps shared out between the parts listed at once."""
        s = self.settings
        config = ClientConfig(base_url=s.api_url, api_key=s.api_key, timeout=s.timeout,
                              retries=s.retries, concurrency=concurrency,
                              max_rps=s.max_rps / parts)  # fmt: skip
        return DevinClient(config, self.reporter.redactor)

    def write(self, fetch: PartFetch) -> None:
        part, version, outcome = fetch.part, self.plan.version, self.plan.outcomes[fetch.part]
        if self.settings.pseudonymize:  # before anything is written, raw files included
            tokens = Pseudonymizer(self.settings.pseudonym_key)
            fetch.pages = [tokens.page(version, page) for page in fetch.pages]
        outcome.requests = len(fetch.pages) + (1 if fetch.error else 0)
        built: Built | BuiltBilling | None = None
        if fetch.complete and part in BILLING_PARTS:
            built = build_billing(version, part, fetch.pages, self.run_id)
        elif fetch.complete:
            built = build(version, part, fetch.pages, self.run_id)
        errors = _invalid_rows(built, part, self.run_id)
        if fetch.error is not None:
            message = fetch.error.message
            if fetch.error.kind == DENIED:
                message += f": the key needs {permission(part, version)}"
            errors.append(
                error_row(
                    self.run_id, part, "", fetch.error.kind, fetch.error.http_status, message
                )  # fmt: skip
            )
        lines = raw_lines(fetch, self.run_id)
        quarantined = _quarantined(built, part, self.run_id) if isinstance(built, Built) else []
        if isinstance(built, BuiltBilling) and built.invalid:
            built = None  # an answer that cannot be read: nothing of the part is written
        assert fetch.listed_at is not None
        listed_at = fetch.listed_at

        def write() -> dict[str, int]:
            if self.raw is not None:
                with storage_errors(str(self.raw.path)):
                    self.raw.write(lines, quarantined)  # raw first: rebuilt from it
            return write_part(self.warehouse, part, built, listed_at, errors)

        outcome.rows = self.writer.call(write)
        self._report(part, fetch, built)

    def _report(self, part: str, fetch: PartFetch, built: Built | BuiltBilling | None) -> None:
        outcome, version = self.plan.outcomes[part], self.plan.version
        error = fetch.error
        if error is None and built is None:  # a billing answer that could not be read
            outcome.status, outcome.reason = FAILED, "invalid_response: nothing written"
            self.reporter.event(
                "part_failed", f"{part}: invalid_response; its stored rows stay as they were",
                level="error", part=part, kind="invalid_response",
            )  # fmt: skip
            return
        if error is None:
            outcome.status, outcome.reason = EXPORTED_OK, ""
            assert built is not None
            for invalid in _invalid(built):
                outcome.status, outcome.reason = FAILED, "invalid items: nothing marked removed"
                self.reporter.event(
                    "part_item_failed",
                    f"{part} {invalid[0]}: invalid_response: {invalid[1]}",
                    level="error", part=part, kind="invalid_response",
                )  # fmt: skip
            return
        if error.kind == DENIED:
            outcome.status = DENIED
            outcome.reason = f"permission denied: the key needs {permission(part, version)}"
            level = "error" if outcome.named else "warning"
            then = (
                "the run fails (it was named in --with)"
                if outcome.named
                else "skipped, the rest of the run goes on"
            )
            self.reporter.event(
                "part_forbidden",
                f"{part}: the API refused (HTTP 403): the key needs "
                f"{permission(part, version)}; {then}",
                level=level, part=part, kind=DENIED, named=outcome.named,
            )  # fmt: skip
            return
        outcome.status, outcome.reason = FAILED, f"{error.kind}: {error.message}"
        self.reporter.event(
            "part_failed",
            f"{part}: {error.kind}: {error.message}; its stored rows stay as they were",
            level="error", part=part, kind=error.kind, http_status=error.http_status,
        )  # fmt: skip


# -- --from-raw -------------------------------------------------------------------------------


class MessagesWriter(Protocol):
    def write(self, out: MessageRows) -> None: ...


class PartReplay:
    """Writes what the parts' raw lines build (pipeline.part_lines), on the writer thread, in
    the order the lines came: each listing as the live run loaded it, or folded into one write
    at the end; the messages as their run wrote them."""

    def __init__(
        self, warehouse: Warehouse, run_id: str, plan: PartPlan,
        messages: MessagesWriter | None = None,
    ) -> None:  # fmt: skip
        self.warehouse = warehouse
        self.run_id = run_id
        self.plan = plan
        self.messages = messages
        self.lines = PartLines(run_id)
        # by part: its listings folded into one write at the end (pipeline.part_fold), or None
        # when its tables held rows as the replay began: then each is written as it comes
        self.folds: dict[str, Fold | None] = {}

    def __call__(self, lines: list[bytes], built: list[Listing | MessageRows]) -> None:
        """Write what a batch's part lines build, and what the reading process built of its
        messages lines (pipeline.part_lines: per_session), which come after them."""
        for item in self.lines.read(lines) + built:
            if isinstance(item, Listing):
                self._listing(item)
            elif self.messages is not None:
                self.messages.write(item)

    def _listing(self, listing: Listing) -> None:
        part, built, outcome = listing.part, listing.built, self.plan.outcomes[listing.part]
        billed = isinstance(built, BuiltBilling)  # an answer that cannot be read: none of it
        errors = _invalid_rows(built, part, self.run_id)
        written = self._write(part, None if billed and built.invalid else built,
                              listing.listed_at, errors)  # fmt: skip
        outcome.status, outcome.reason = EXPORTED_OK, "replayed"
        if built.invalid:
            outcome.status = FAILED
            outcome.reason = (
                "invalid_response" if billed else "invalid items: nothing marked removed"
            )
        outcome.rows = {t: outcome.rows.get(t, 0) + n for t, n in written.items()}

    def _write(self, part: str, built: Built | BuiltBilling | None, listed_at: datetime,
               errors: list[tuple[Any, ...]]) -> dict[str, int]:  # fmt: skip
        """Write a complete listing now, or fold it into the part's one write at the end."""
        if part not in self.folds:
            empty = part_fold.empty(self.warehouse.db, part)
            self.folds[part] = (part_fold.BillingFold(part) if part in BILLING_PARTS
                                else part_fold.ItemFold(part)) if empty else None  # fmt: skip
        fold = self.folds[part]
        if fold is None:
            return write_part(self.warehouse, part, built, listed_at, errors)
        if errors:
            write_part(self.warehouse, part, None, listed_at, errors)
        if built is None:
            return {}
        if isinstance(fold, part_fold.BillingFold):
            assert isinstance(built, BuiltBilling)
            fold.take(built)
            tables = BILLING_TABLES[part]
        else:
            assert isinstance(built, Built)
            fold.take(built, listed_at)
            tables = PART_TABLES[part]
        if fold.held() > part_fold.FOLD_KEYS:
            self._write_folds([fold])
            self.folds[part] = None  # its tables hold rows now: listing by listing from here
        return {t.name: len(built.rows.get(t.name, ())) for t in tables}

    def finish(self) -> None:
        """Write what the folded parts' listings left, in one transaction."""
        self._write_folds([fold for fold in self.folds.values() if fold is not None])
        self.folds = {}

    def _write_folds(self, folds: list[Fold]) -> None:
        if folds:
            with self.warehouse.transaction():
                for fold in folds:
                    for table, data in part_fold.tables(fold):
                        self.warehouse.insert(table, data)
