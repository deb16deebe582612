"""Load: DuckDB upserts per batch, views, Parquet snapshots, and publishing devin.duckdb.

The exporter works in DIR/.devin-export/work.duckdb. Readers only ever see DIR/devin.duckdb,
which is replaced whole at the end of a run (copied beside, then renamed over), so an analyst
holding it open never blocks the export, and never sees a half-finished one.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import FatalError, StorageError
from pipeline.flatten import Rows
from pipeline.schema import DATA_TABLES, EXPORT_ERRORS, EXPORT_RUNS, TABLES, Table

PACKAGE_DIR = Path(__file__).resolve().parent
# sql/views of a checkout (editable install), or the copy a wheel carries inside the package.
VIEWS_DIRS = (PACKAGE_DIR.parent / "sql" / "views", PACKAGE_DIR / "sql" / "views")
STATE_DIR = ".devin-export"
ROW_GROUP_ROWS = 16_384
# How information_schema spells the types of pipeline.schema.
DUCKDB_TYPE_NAMES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


@dataclass
class Batch:
    """Rows of many sessions waiting to be written together; a repeated session keeps its last."""

    sessions: dict[str, Rows] = field(default_factory=dict)
    errors: dict[str, tuple] = field(default_factory=dict)
    arrow: dict[str, pa.Table] = field(default_factory=dict)

    def add(self, session_id: str, rows: Rows) -> None:
        self.sessions.pop(session_id, None)
        self.sessions[session_id] = rows

    def add_error(self, row: tuple) -> None:
        self.errors[row[1]] = row

    def __len__(self) -> int:
        return len(self.sessions) + len(self.errors)

    def table(self, table: Table) -> pa.Table:
        if table.name not in self.arrow:
            rows = [row for rows in self.sessions.values() for row in rows[table.name]]
            self.arrow[table.name] = to_arrow(table, rows)
        return self.arrow[table.name]

    def prepare(self) -> None:
        """Convert the rows to Arrow now, on this thread, so the writer only runs DuckDB."""
        for table in DATA_TABLES:
            self.table(table)


def to_arrow(table: Table, rows: list[tuple]) -> pa.Table:
    """Return rows (tuples in schema order) as an Arrow table of the table's schema."""
    schema = table.arrow_schema
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


class SerialWriter:
    """Runs writes one after another on a thread of their own, in the order submitted.

    DuckDB releases the GIL while it inserts and commits, so on a second core the next batch
    is validated and flattened meanwhile. At most one write waits, which bounds memory.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="warehouse-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:  # after a failure, every later write is dropped
                try:
                    job()
                except BaseException as err:  # noqa: BLE001 - re-raised on the submitting thread
                    self._error = err

    def _raise(self) -> None:
        # Kept, not cleared: a batch must never be committed after an earlier one failed.
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def close(self) -> None:
        """Wait for every submitted write; raise the first one that failed."""
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()
        self._raise()


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn a full disk or an unwritable path into StorageError (exit 3)."""
    try:
        yield
    except OSError as err:
        raise StorageError(f"cannot write {what}: {err.strerror or err}") from None
    except duckdb.IOException as err:
        raise StorageError(f"cannot write {what}: {err}") from None


class Warehouse:
    """The DuckDB working copy under DIR/.devin-export and what is published from it."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.state_dir = out_dir / STATE_DIR
        self.work_path = self.state_dir / "work.duckdb"
        self.published_path = out_dir / "devin.duckdb"
        self.parquet_dir = out_dir / "parquet"
        self.con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> None:
        with storage_errors(str(self.work_path)):
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect()
            # A checkpoint rewrites each table's last, partly filled row group. At DuckDB's
            # default of 122,880 rows that is the whole sessions table of most enterprises, so
            # the file is attached (not opened) to set a smaller row group size, and checkpoints
            # are spaced out, at the price of a WAL of at most checkpoint_threshold.
            path = str(self.work_path).replace("'", "''")
            self.con.execute(f"ATTACH '{path}' AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_ROWS})")
            self.con.execute("USE warehouse")
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET checkpoint_threshold = '64MB'")
            self.con.execute("SET memory_limit = '128MB'")
            for table in TABLES:
                self.con.execute(table.ddl())
            self._check_schema()

    def _check_schema(self) -> None:
        """Refuse a working copy whose tables differ from pipeline.schema (an older version's)."""
        rows = self.db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        found: dict[str, list[tuple[str, str]]] = {}
        for table_name, column, data_type in rows:
            found.setdefault(table_name, []).append((column, data_type))
        for table in TABLES:
            expected = [(c.name, DUCKDB_TYPE_NAMES.get(c.type, c.type)) for c in table.columns]
            if found.get(table.name) != expected:
                self.close()
                raise FatalError(
                    f"{self.work_path} holds table {table.name} with other columns than this "
                    f"version writes: rebuild it with `rm -rf {self.state_dir}` and "
                    f"`devin-export --from-raw {self.out_dir / 'raw'} --out {self.out_dir}`"
                )

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
        if not len(batch):
            return
        con = self.db
        with storage_errors(str(self.work_path)):
            con.execute("BEGIN")
            try:
                if batch.sessions:
                    self._delete_stored(list(batch.sessions))
                for table in DATA_TABLES:
                    self._insert(table, batch.table(table))
                if batch.errors:
                    self.upsert(EXPORT_ERRORS, list(batch.errors.values()))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        batch.sessions.clear()
        batch.errors.clear()
        batch.arrow.clear()

    def _delete_stored(self, session_ids: list[str]) -> None:
        """Delete the stored rows of these sessions, if any, from every data table."""
        # Asked of the sessions table per batch rather than kept in a set of every id, so
        # memory stays flat however large the enterprise; a first load deletes nothing.
        self.db.register("batch_ids", pa.table({"session_id": pa.array(session_ids, pa.string())}))
        try:
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
        finally:
            self.db.unregister("batch_ids")

    def _insert(self, table: Table, data: pa.Table) -> None:
        if data.num_rows:
            self.db.register("batch_rows", data)
            self.db.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM batch_rows")
            self.db.unregister("batch_rows")

    def upsert(self, table: Table, rows: list[tuple]) -> None:
        """Replace rows of a small table by key (export_runs, export_errors)."""
        data = to_arrow(table, rows)
        self.db.register("upsert_rows", data)
        match = " AND ".join(f"t.{k} = u.{k}" for k in table.key)
        self.db.execute(
            f"DELETE FROM {table.name} t WHERE EXISTS (SELECT 1 FROM upsert_rows u WHERE {match})"
        )
        self.db.unregister("upsert_rows")
        self._insert(table, data)

    def record_run(self, row: tuple) -> None:
        with storage_errors(str(self.work_path)):
            self.upsert(EXPORT_RUNS, [row])

    # -- reading state -----------------------------------------------------------------------

    def last_watermark(self) -> datetime | None:
        """Return the newest updated_at listed by the last successful --all run."""
        rows = self.db.execute(
            "SELECT max_updated_at FROM export_runs WHERE status = 'ok' "
            "AND max_updated_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
        return rows[0][0] if rows else None

    def ids_to_refresh(self, since: datetime) -> list[str]:
        """Return stored sessions still moving, or recent ones still waiting for analysis."""
        rows = self.db.execute(
            "SELECT session_id FROM sessions WHERE status NOT IN ('exit', 'error') "
            "OR (created_at >= ? AND NOT has_session_analysis) ORDER BY session_id",
            [since],
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        # fetchall, not fetchone: a result left half-read makes the next relation call refuse.
        return {
            t.name: self.db.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0]
            for t in TABLES
        }

    # -- finishing ---------------------------------------------------------------------------

    def create_views(self) -> list[str]:
        """Create every sql/views/*.sql; return the view names."""
        files = next((sorted(d.glob("*.sql")) for d in VIEWS_DIRS if d.is_dir()), [])
        if not files:
            raise FatalError(
                f"the view definitions (sql/views/*.sql) are not installed beside {PACKAGE_DIR}: "
                "reinstall devin-export"
            )
        for path in files:
            self.db.execute(path.read_text())
        return [p.stem for p in files]

    def write_parquet(self) -> list[Path]:
        """Snapshot every table to DIR/parquet/<table>/<table>.parquet, replaced atomically."""
        written = []
        with storage_errors(str(self.parquet_dir)):
            for table in TABLES:
                written.append(self._write_table_parquet(table))
        return written

    def _write_table_parquet(self, table: Table) -> Path:
        target = self.parquet_dir / table.name / f"{table.name}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        # A leading dot keeps the half-written file out of readers' globs and pyarrow datasets.
        tmp = target.with_name(f".{target.name}.tmp")
        query = f"SELECT * FROM {table.name}"  # no ORDER BY: sorting would hold it all in memory
        reader = self.db.sql(query).to_arrow_reader(20_000)
        with pq.ParquetWriter(tmp, table.arrow_schema, compression="zstd") as writer:
            for record_batch in reader:
                writer.write_table(pa.Table.from_batches([record_batch]).cast(table.arrow_schema))
        _replace(tmp, target)
        return target

    def publish(self) -> Path:
        """Checkpoint and close the working copy, then put a copy of it over DIR/devin.duckdb."""
        with storage_errors(str(self.published_path)):
            self.db.execute("CHECKPOINT")
            self.close()
            tmp = self.out_dir / f".{self.published_path.name}.tmp"
            shutil.copyfile(self.work_path, tmp)
            _replace(tmp, self.published_path)
        return self.published_path


def _replace(tmp: Path, target: Path) -> None:
    """Rename tmp over target after its bytes are on disk, so a crash leaves one or the other."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
