"""The DuckDB side of load: the working copy, upserts per batch, views, and publishing.

The exporter works in DIR/.devin-export/work.duckdb. Readers only ever see DIR/devin.duckdb,
which is replaced whole at the end of a run (cloned or copied beside, then renamed over), so an
analyst holding it open never blocks the export, and never sees a half-finished one. Both files
are kept in DuckDB 1.1's storage format, so every DuckDB from 1.1 on opens what is published.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from pipeline.batch import Batch, to_arrow
from pipeline.errors import FatalError
from pipeline.files import clone_or_copy, replace_atomically, storage_errors
from pipeline.schema import DATA_TABLES, EXPORT_ERRORS, EXPORT_RUNS, SESSIONS, TABLES, Table

PACKAGE_DIR = Path(__file__).resolve().parent
# sql/ of a checkout (editable install), or the copy a wheel carries inside the package.
SQL_DIRS = (PACKAGE_DIR.parent / "sql", PACKAGE_DIR / "sql")
SQL_LAYERS = ("staging", "views")  # created in this order: views build on staging relations
STATE_DIR = ".devin-export"
ROW_GROUP_ROWS = 16_384
STORAGE_VERSION = "v1.1.0"  # the oldest DuckDB that analysts' tools must open the file with
# DuckDB's buffer pool: enough for a batch's inserts and a checkpoint. Every block read stays
# cached up to this limit, so it is most of what a night on a large warehouse holds more than
# one on an empty warehouse; queries that need more spill to TEMP_DIR under DIR/.devin-export.
MEMORY_LIMIT = "64MB"
TEMP_DIR = "tmp"

T = TypeVar("T")


class SerialWriter:
    """Runs warehouse work one job after another on a thread of its own, in order.

    DuckDB releases the GIL while it inserts and commits, so on a second core the next batch
    is validated and flattened meanwhile. At most one write waits, which bounds memory. After a
    failed job every later one is dropped: a batch is never committed after an earlier failed.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="warehouse-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as err:  # noqa: BLE001 - re-raised on the submitting thread
                    self._error = err

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def call(self, job: Callable[[], T]) -> T:
        """Run job after every write submitted so far; return its result."""
        result: list[T] = []
        done = threading.Event()

        def run() -> None:
            try:
                result.append(job())
            finally:
                done.set()

        self.submit(run)
        while not done.wait(0.1):
            if not self._thread.is_alive():
                break
        self._raise()
        return result[0]

    def close(self) -> None:
        """Wait for every submitted job; raise the first one that failed."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise()


def _month(column: str) -> str:
    return f"strftime({column} AT TIME ZONE 'UTC', '%Y-%m')"


class Warehouse:
    """The DuckDB working copy under DIR/.devin-export and what is published from it."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.state_dir = out_dir / STATE_DIR
        self.work_path = self.state_dir / "work.duckdb"
        self.published_path = out_dir / "devin.duckdb"
        self.con: duckdb.DuckDBPyConnection | None = None
        self.migrated = False  # the schema changed on open: every Parquet partition is stale
        self.touched_months: set[str] = set()  # created_at months (UTC) of sessions written

    # -- opening -----------------------------------------------------------------------------

    def open(self) -> None:
        with storage_errors(str(self.work_path)):
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect()
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            self.con.execute(f"SET temp_directory = {_quote(self.state_dir / TEMP_DIR)}")
            self._attach()
            self.con.execute("USE warehouse")
            self.con.execute("SET checkpoint_threshold = '64MB'")
            self._migrate()

    def _attach(self) -> None:
        # A checkpoint rewrites each table's last, partly filled row group. At DuckDB's default
        # of 122,880 rows that is the whole sessions table of most enterprises, so the file is
        # attached (not opened) to set a smaller row group size, and checkpoints are spaced
        # out, at the price of a WAL of at most checkpoint_threshold.
        options = f"STORAGE_VERSION '{STORAGE_VERSION}', ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
        try:
            self.db.execute(f"ATTACH {_quote(self.work_path)} AS warehouse ({options})")
        except duckdb.InvalidInputException as err:
            if "cannot be lowered" not in str(err):
                raise
            self._downgrade_storage()
            self.db.execute(f"ATTACH {_quote(self.work_path)} AS warehouse ({options})")

    def _downgrade_storage(self) -> None:
        """Rewrite a working copy of a newer storage format (an earlier release's) in 1.1's."""
        tmp = self.work_path.with_name("work.upgrade.duckdb")
        tmp.unlink(missing_ok=True)
        con = self.db
        con.execute(f"ATTACH {_quote(self.work_path)} AS old (READ_ONLY)")
        con.execute(f"ATTACH {_quote(tmp)} AS new (STORAGE_VERSION '{STORAGE_VERSION}')")
        con.execute("COPY FROM DATABASE old TO new")
        con.execute("DETACH old")
        con.execute("DETACH new")
        replace_atomically(tmp, self.work_path)
        self.migrated = True

    def _migrate(self) -> None:
        """Bring the tables to pipeline.schema: new tables and columns added, data kept."""
        found: dict[str, dict[str, str]] = {}
        for table_name, column, data_type in self.db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = 'warehouse' AND table_schema = 'main'"
        ).fetchall():
            found.setdefault(table_name, {})[column] = data_type
        for table in TABLES:
            have = found.get(table.name)
            if have is None:
                self.db.execute(table.ddl())
                self.migrated |= bool(found)  # a new table in an existing warehouse
                continue
            for column in table.columns:
                if column.name not in have:
                    self.db.execute(
                        f"ALTER TABLE {table.name} ADD COLUMN {column.name} {column.type}"
                    )
                    self.migrated = True
                elif have[column.name] != column.duckdb_type:
                    self.close()
                    raise FatalError(
                        f"{self.work_path} holds {table.name}.{column.name} as "
                        f"{have[column.name]}, not {column.duckdb_type}: rebuild it with "
                        f"`rm -rf {self.state_dir}` and "
                        f"`devin-export --from-raw {self.out_dir / 'raw'} --out {self.out_dir}`"
                    )
        self._comment()

    def _comment(self) -> None:
        """Describe every table and column (COMMENT ON), where the text is not there yet."""
        have = {
            (t, c): comment
            for t, c, comment in self.db.execute(
                "SELECT table_name, column_name, comment FROM duckdb_columns() "
                "WHERE database_name = 'warehouse'"
            ).fetchall()
        }
        tables = dict(
            self.db.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'warehouse'"
            ).fetchall()
        )
        for table in TABLES:
            if tables.get(table.name) == table.doc and all(
                have.get((table.name, c.name)) == c.doc for c in table.columns
            ):
                continue
            for statement in table.comments():
                self.db.execute(statement)

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        assert self.con is not None, "Warehouse.open() first"
        return self.con

    # -- writing -----------------------------------------------------------------------------

    def write_batch(self, batch: Batch) -> None:
        """Replace every session of the batch and all its child rows, in one transaction."""
        if not (batch.sessions or batch.errors or batch.deleted):
            return
        con = self.db
        with storage_errors(str(self.work_path)):
            con.execute("BEGIN")
            try:
                if batch.sessions:
                    self._replace_sessions(batch)
                if batch.deleted:
                    self._mark_deleted(batch.deleted, batch.deleted_at or datetime.now(UTC))
                self._record_errors(batch)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _replace_sessions(self, batch: Batch) -> None:
        sessions = batch.table(SESSIONS)
        self.db.register("batch_ids", sessions.select(["session_id"]))
        try:
            # The months the stored versions were in, for the Parquet partitions to rewrite.
            self.touched_months.update(
                m
                for (m,) in self.db.execute(
                    f"SELECT DISTINCT {_month('created_at')} FROM sessions "
                    "WHERE session_id IN (SELECT session_id FROM batch_ids)"
                ).fetchall()
                if m is not None
            )
            # An ended session keeps the end the exporter first saw: a late analysis moves
            # updated_at, not the time the work ended.
            ended = self.db.sql(
                "SELECT session_id, ended_at FROM sessions WHERE ended_at IS NOT NULL "
                "AND session_id IN (SELECT session_id FROM batch_ids)"
            ).to_arrow_table()
            stored = self.db.execute(
                "SELECT 1 FROM sessions WHERE session_id IN (SELECT session_id FROM batch_ids) "
                "LIMIT 1"
            ).fetchall()
            if stored:
                for table in DATA_TABLES:
                    self.db.execute(
                        f"DELETE FROM {table.name} WHERE session_id IN "
                        "(SELECT session_id FROM batch_ids)"
                    )
            for table in DATA_TABLES:
                self._insert(table, batch.table(table))
            if ended.num_rows:
                self.db.register("ended_before", ended)
                self.db.execute(
                    "UPDATE sessions SET ended_at = e.ended_at FROM ended_before e "
                    "WHERE sessions.session_id = e.session_id AND sessions.ended_at IS NOT NULL"
                )
                self.db.unregister("ended_before")
            self._months_of(sessions)
            # A session that came through clears the errors it had earlier in this run.
            self.db.execute(
                "DELETE FROM export_errors WHERE run_id = ? AND session_id IN "
                "(SELECT session_id FROM batch_ids)",
                [batch.run_id],
            )
        finally:
            self.db.unregister("batch_ids")

    def _months_of(self, sessions: pa.Table) -> None:
        self.db.register("new_sessions", sessions.select(["created_at"]))
        try:
            self.touched_months.update(
                m
                for (m,) in self.db.execute(
                    f"SELECT DISTINCT {_month('created_at')} FROM new_sessions"
                ).fetchall()
                if m is not None
            )
        finally:
            self.db.unregister("new_sessions")

    def _mark_deleted(self, session_ids: list[str], at: datetime) -> None:
        ids = pa.table({"session_id": pa.array(session_ids, pa.string())})
        self.db.register("gone_ids", ids)
        try:
            self.touched_months.update(
                m
                for (m,) in self.db.execute(
                    f"SELECT DISTINCT {_month('created_at')} FROM sessions "
                    "WHERE session_id IN (SELECT session_id FROM gone_ids) AND deleted_at IS NULL"
                ).fetchall()
                if m is not None
            )
            self.db.execute(
                "UPDATE sessions SET deleted_at = ? WHERE deleted_at IS NULL AND session_id IN "
                "(SELECT session_id FROM gone_ids)",
                [at],
            )
        finally:
            self.db.unregister("gone_ids")

    def _record_errors(self, batch: Batch) -> None:
        """Upsert the batch's errors, but not for sessions this run already wrote whole."""
        if not batch.errors:
            return
        data = to_arrow(EXPORT_ERRORS, list(batch.errors.values()))
        self.db.register("error_rows", data)
        try:
            self.db.execute(
                "DELETE FROM export_errors t WHERE EXISTS (SELECT 1 FROM error_rows u "
                "WHERE t.run_id = u.run_id AND t.session_id = u.session_id)"
            )
            self.db.execute(
                "INSERT INTO export_errors BY NAME SELECT * FROM error_rows u WHERE NOT EXISTS "
                "(SELECT 1 FROM sessions s WHERE s.session_id = u.session_id "
                "AND s._run_id = u.run_id)"
            )
        finally:
            self.db.unregister("error_rows")

    def _insert(self, table: Table, data: pa.Table) -> None:
        if data.num_rows:
            self.db.register("batch_rows", data)
            try:
                self.db.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM batch_rows")
            finally:
                self.db.unregister("batch_rows")

    def upsert(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Replace rows of a small table by key (export_runs, quality_checks)."""
        data = to_arrow(table, rows)
        self.db.register("upsert_rows", data)
        try:
            match = " AND ".join(f"t.{k} = u.{k}" for k in table.key)
            self.db.execute(
                f"DELETE FROM {table.name} t WHERE EXISTS "
                f"(SELECT 1 FROM upsert_rows u WHERE {match})"
            )
        finally:
            self.db.unregister("upsert_rows")
        self._insert(table, data)

    def record_run(self, **fields: Any) -> None:
        with storage_errors(str(self.work_path)):
            self.upsert(EXPORT_RUNS, [EXPORT_RUNS.row(**fields)])

    # -- reading state -----------------------------------------------------------------------

    def last_watermark(self, api_url: str, api_version: str) -> datetime | None:
        """Return the newest updated_at listed by the last successful --all run against this
        API (base URL and version): a demo or another server never moves it."""
        rows = self.db.execute(
            "SELECT max_updated_at FROM export_runs WHERE status = 'ok' "
            "AND max_updated_at IS NOT NULL AND api_url = ? "
            "AND coalesce(api_version, 'v2') = ? ORDER BY started_at DESC LIMIT 1",
            [api_url.rstrip("/"), api_version],
        ).fetchall()
        return rows[0][0] if rows else None

    def ids_to_refresh(self, since: datetime) -> list[str]:
        """Return stored sessions still moving, or recent ones still waiting for analysis."""
        rows = self.db.execute(
            "SELECT session_id FROM sessions WHERE deleted_at IS NULL AND ("
            "(status NOT IN ('exit', 'error') AND coalesce(status_detail, '') <> 'finished') "
            "OR (created_at >= ? AND NOT has_session_analysis)) ORDER BY session_id",
            [since],
        ).fetchall()
        return [r[0] for r in rows]

    def run_outcome(self, run_id: str) -> tuple[int, dict[str, int]]:
        """Return the sessions this run wrote and its failures by kind."""
        written = self.db.execute(
            "SELECT count(*) FROM sessions WHERE _run_id = ?", [run_id]
        ).fetchall()[0][0]
        kinds = self.db.execute(
            "SELECT kind, count(*) FROM export_errors WHERE run_id = ? GROUP BY kind ORDER BY kind",
            [run_id],
        ).fetchall()
        return written, dict(kinds)

    def listed_in_run(self, run_id: str) -> int:
        """Return the distinct sessions this run has received so far, whole or invalid."""
        return int(
            self.db.execute(
                "SELECT (SELECT count(*) FROM sessions WHERE _run_id = $1) + (SELECT count(*) "
                "FROM export_errors WHERE run_id = $1 AND kind = 'invalid_response')",
                [run_id],
            ).fetchall()[0][0]
        )

    def counts(self) -> dict[str, int]:
        # fetchall, not fetchone: a result left half-read makes the next relation call refuse.
        return {
            t.name: self.db.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0]
            for t in TABLES
        }

    # -- finishing ---------------------------------------------------------------------------

    def create_views(self) -> list[str]:
        """Create every relation of sql/staging and sql/views, in that order; return names."""
        root = next((d for d in SQL_DIRS if (d / "views").is_dir()), None)
        if root is None or not any((root / "views").glob("*.sql")):
            raise FatalError(
                f"the view definitions (sql/views/*.sql) are not installed beside {PACKAGE_DIR}: "
                "reinstall devin-export"
            )
        names = []
        for layer in SQL_LAYERS:
            for path in sorted((root / layer).glob("*.sql")):
                self.db.execute(path.read_text())
                names.append(path.stem)
        return names

    def publish(self) -> Path:
        """Checkpoint and close the working copy, then put a copy of it over DIR/devin.duckdb."""
        with storage_errors(str(self.published_path)):
            self.db.execute("CHECKPOINT")
            self.close()
            tmp = self.out_dir / f".{self.published_path.name}.tmp"
            clone_or_copy(self.work_path, tmp)
            replace_atomically(tmp, self.published_path)
        return self.published_path


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
