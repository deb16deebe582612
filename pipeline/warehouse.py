"""The DuckDB side of load: the working copy, upserts per batch, views, and publishing.

The exporter works in DIR/.devin-export/work.duckdb. Readers only ever see DIR/devin.duckdb,
which is replaced whole at the end of a run (cloned or copied beside, then renamed over), so an
analyst holding it open never blocks the export, and never sees a half-finished one. Both files
are kept in DuckDB 1.1's storage format, so every DuckDB from 1.1 on opens what is published.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from pipeline.aggregates import INPUTS as AGGREGATE_INPUTS
from pipeline.aggregates import Aggregates, staging_files
from pipeline.batch import Batch, to_arrow
from pipeline.errors import FatalError
from pipeline.files import replace_atomically, storage_errors
from pipeline.memory import MEMORY_LIMIT, transaction, with_more_memory
from pipeline.publish import publish_file
from pipeline.schema import DATA_TABLES, EXPORT_ERRORS, EXPORT_RUNS, SESSIONS, TABLES, Table

PACKAGE_DIR = Path(__file__).resolve().parent
# sql/ of a checkout (editable install), or the copy a wheel carries inside the package.
SQL_DIRS = (PACKAGE_DIR.parent / "sql", PACKAGE_DIR / "sql")
STATE_DIR = ".devin-export"
ROW_GROUP_ROWS = 16_384
STORAGE_VERSION = "v1.1.0"  # the oldest DuckDB that analysts' tools must open the file with
TEMP_DIR = "tmp"  # under DIR/.devin-export: where queries beyond MEMORY_LIMIT spill


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
            try:
                # One transaction: a first run's hundreds of DDL and COMMENT statements commit
                # (and reach the WAL) once, not one by one (0.45 s of a small run).
                with self.transaction():
                    self._migrate()
            except FatalError:
                self.close()
                raise
            self.aggregates = Aggregates(self.db)
            # Kept batch by batch only when every table is there, made by this version's SQL
            # (and so the staging views it reads are this version's too); else made whole when
            # the views are created. A rebuild turns it off: one pass at the end is cheaper.
            self.aggregates_live = not self.aggregates.stale()

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
                    if column.backfill is not None:
                        self.db.execute(
                            f"UPDATE {table.name} SET {column.name} = {column.backfill}"
                        )
                    self.migrated = True
                elif have[column.name] != column.duckdb_type:
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
        if not (batch.sessions or batch.errors or batch.deleted or batch.analysis_requested):
            return
        # A batch of pasted logs may need more than MEMORY_LIMIT (pipeline.memory).
        with_more_memory(self.db, lambda: self._write_batch(batch), "a batch's write")

    def _write_batch(self, batch: Batch) -> None:
        # Safe to run again after a failure: the transaction rolled back, the batch's Arrow
        # tables are kept as they were, touched_months only gains the same months again.
        with self.transaction():
            if batch.sessions:
                self._replace_sessions(batch)
            if batch.deleted:
                self._mark("deleted_at", batch.deleted, first=True)
            if batch.analysis_requested:
                self._mark("analysis_requested_at", batch.analysis_requested, first=False)
            self._record_errors(batch)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block in one transaction: committed if it ends well, else rolled back."""
        with storage_errors(str(self.work_path)), transaction(self.db):
            yield

    def _replace_sessions(self, batch: Batch) -> None:
        sessions = batch.table(SESSIONS)
        with self.registered("batch_ids", sessions.select(["session_id"])):
            # The months the stored versions were in, for the Parquet partitions to rewrite;
            # none found: no session of the batch is stored (a rebuild's or a first night's
            # batches), and the scans below for what to keep and delete are skipped.
            if self.note_months("sessions WHERE session_id IN (SELECT session_id FROM batch_ids)"):
                kept, replaced = self._remove_stored()
            else:
                kept, replaced = None, {}
            for table in DATA_TABLES:
                self.insert(table, batch.table(table))
            if self.aggregates_live:
                self.aggregates.apply(replaced, {t.name: batch.table(t) for t in DATA_TABLES})
            if kept is not None and kept.num_rows:
                with self.registered("kept_state", kept):
                    self.db.execute(
                        "UPDATE sessions SET "
                        "ended_at = CASE WHEN sessions.ended_at IS NULL THEN NULL "
                        "ELSE coalesce(k.ended_at, sessions.ended_at) END, "
                        "analysis_requested_at = k.analysis_requested_at, "
                        "initial_user_message = CASE WHEN sessions.api_version = 'v3' "
                        "THEN k.v3_prompt ELSE sessions.initial_user_message END "
                        "FROM kept_state k WHERE sessions.session_id = k.session_id"
                    )
            self._months_of(sessions)
            # A session that came through clears the errors it had earlier in this run (its
            # messages' are the messages part's: a run writes those after its sessions).
            self.db.execute(
                "DELETE FROM export_errors WHERE run_id = ? AND part = 'sessions' AND session_id "
                "IN (SELECT session_id FROM batch_ids)",
                [batch.run_id],
            )

    @contextmanager
    def registered(self, name: str, data: pa.Table) -> Iterator[None]:
        """Make data queryable as name for the block. When the block fails, the transaction
        is aborted and refuses even the unregistering: its error is the one to tell."""
        self.db.register(name, data)
        try:
            yield
        except BaseException:
            with suppress(duckdb.Error):
                self.db.unregister(name)
            raise
        self.db.unregister(name)

    def _remove_stored(self) -> tuple[pa.Table, dict[str, pa.Table]]:
        """Delete the stored versions of the batch's sessions (batch_ids) and their child rows;
        return what only the warehouse knew of them, and the rows the aggregates counted."""
        # What only the warehouse knows of a session survives its new version: when it was
        # first seen ended (a late analysis moves updated_at, not the end of the work), when
        # its analysis was asked for, and a v3 session's first prompt, which its messages
        # gave (the messages part, after the sessions, sets it again when it fetches them).
        kept = self.db.sql(
            "SELECT session_id, ended_at, analysis_requested_at, CASE WHEN api_version = "
            "'v3' THEN initial_user_message END AS v3_prompt FROM sessions "
            "WHERE (ended_at IS NOT NULL OR analysis_requested_at IS NOT NULL "
            "OR (api_version = 'v3' AND initial_user_message IS NOT NULL)) "
            "AND session_id IN (SELECT session_id FROM batch_ids)"
        ).to_arrow_table()
        replaced: dict[str, pa.Table] = {}
        for table in DATA_TABLES:
            delete = (
                f"DELETE FROM {table.name} WHERE session_id IN (SELECT session_id FROM batch_ids)"
            )
            if self.aggregates_live and table.name in AGGREGATE_INPUTS:
                replaced[table.name] = self.db.sql(f"{delete} RETURNING *").to_arrow_table()
            else:
                self.db.execute(delete)
        return kept, replaced

    def note_months(self, relation: str) -> int:
        """Add the created_at months of the sessions in relation to touched_months: the
        Parquet partitions this run must rewrite. Return how many months it found (a month
        of NULL, a session without created_at, counting too)."""
        months = self.db.execute(f"SELECT DISTINCT {_month('created_at')} FROM {relation}")
        found = [m for (m,) in months.fetchall()]
        self.touched_months.update(m for m in found if m is not None)
        return len(found)

    def _months_of(self, sessions: pa.Table) -> None:
        with self.registered("new_sessions", sessions.select(["created_at"])):
            self.note_months("new_sessions")

    def _mark(self, column: str, ats: dict[str, datetime], *, first: bool) -> None:
        """Set column of the stored sessions named in ats to their time; with first, only
        where it is still NULL (deleted_at: when the session was first found gone)."""
        data = pa.table(
            {
                "session_id": pa.array(list(ats), pa.string()),
                "at": pa.array(list(ats.values()), pa.timestamp("us", tz="UTC")),
            }
        )
        unset = f" AND sessions.{column} IS NULL" if first else ""
        with self.registered("marked", data):
            self.note_months(f"sessions WHERE session_id IN (SELECT session_id FROM marked){unset}")
            self.db.execute(
                f"UPDATE sessions SET {column} = m.at FROM marked m "
                f"WHERE sessions.session_id = m.session_id{unset}"
            )

    def _record_errors(self, batch: Batch) -> None:
        """Upsert the batch's errors, but not for sessions this run already wrote whole."""
        if not batch.errors:
            return
        data = to_arrow(EXPORT_ERRORS, list(batch.errors.values()))
        with self.registered("error_rows", data):
            self.db.execute(
                "DELETE FROM export_errors t WHERE EXISTS (SELECT 1 FROM error_rows u "
                "WHERE t.run_id = u.run_id AND t.part = u.part AND t.session_id = u.session_id)"
            )
            self.db.execute(
                "INSERT INTO export_errors BY NAME SELECT * FROM error_rows u WHERE NOT EXISTS "
                "(SELECT 1 FROM sessions s WHERE s.session_id = u.session_id "
                "AND s._run_id = u.run_id)"
            )

    def insert(self, table: Table, data: pa.Table) -> None:
        """Append data's rows to table (inside the caller's transaction)."""
        if data.num_rows:
            with self.registered("batch_rows", data):
                self.db.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM batch_rows")

    def upsert(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        """Replace rows of a small table by key (export_runs, quality_checks)."""
        data = to_arrow(table, rows)
        with self.registered("upsert_rows", data):
            match = " AND ".join(f"t.{k} = u.{k}" for k in table.key)
            self.db.execute(
                f"DELETE FROM {table.name} t WHERE EXISTS "
                f"(SELECT 1 FROM upsert_rows u WHERE {match})"
            )
        self.insert(table, data)

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
        """Return stored sessions still moving, recent ones still waiting for analysis, and
        those whose analysis was asked for and has not arrived, whatever their age."""
        rows = self.db.execute(
            "SELECT session_id FROM sessions WHERE deleted_at IS NULL AND ("
            "(status NOT IN ('exit', 'error') AND coalesce(status_detail, '') <> 'finished') "
            "OR (NOT has_session_analysis AND (created_at >= ? OR analysis_requested_at IS NOT "
            "NULL))) ORDER BY session_id",
            [since],
        ).fetchall()
        return [r[0] for r in rows]

    def awaiting_analysis(self, asked_before: datetime) -> list[str]:
        """Return stored v3 sessions that ended without analysis and were not asked for it
        since asked_before."""
        rows = self.db.execute(
            "SELECT session_id FROM sessions WHERE api_version = 'v3' AND deleted_at IS NULL "
            "AND NOT has_session_analysis "
            "AND (status IN ('exit', 'error') OR status_detail = 'finished') "
            "AND (analysis_requested_at IS NULL OR analysis_requested_at < ?) "
            "ORDER BY session_id",
            [asked_before],
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
        # The staging layer first: the aggregates read it, made whole with it when not kept.
        if self.aggregates_live:
            self.aggregates.create_staging()
        else:
            self.aggregates.rebuild()
            self.aggregates_live = True
        views = sorted((root / "views").glob("*.sql"))
        with self.transaction():  # one commit, not one for each view and comment
            for path in views:
                self.db.execute(path.read_text())
        return [p.stem for p in staging_files() + views]

    def checkpoint(self) -> None:
        with storage_errors(str(self.work_path)):
            self.db.execute("CHECKPOINT")

    def publish(self) -> Path:
        """Checkpoint and close the working copy, then put a copy of it over DIR/devin.duckdb
        (pipeline.publish)."""
        with storage_errors(str(self.published_path)):
            self.db.execute("CHECKPOINT")
            self.close()
            publish_file(self.work_path, self.published_path, self.state_dir)
        return self.published_path


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
