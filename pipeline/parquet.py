"""The Parquet side of load: a Hive-partitioned dataset per table, rewritten where it changed.

    DIR/parquet/<table>/created_month=YYYY-MM/<table>.parquet   session-derived tables
    DIR/parquet/<table>/billing_month=YYYY-MM/<table>.parquet     consumption_daily (by the
                                                                 month of billing_date)
    DIR/parquet/<table>/<table>.parquet                          the other tables

A session-derived table is partitioned by its session's created_at month (UTC); a child table
takes the month of its session. Each partition is one file. A run rewrites only the months it
touched (and every month when asked for all), and removes the partitions left without rows.

Files are written under DIR/parquet/.staging, outside every table's folder, and renamed into
place: DuckDB's and polars' globs match dot-names inside a folder, so a temporary file beside
the others would be read half-written. A new partition's folder is renamed in whole (it appears
with its file), a partition that goes is renamed out before it is deleted, and a rewritten
partition's file is renamed over the old one: a reader listing a table's folder sees each
partition's old file or its new one, never half of one, never two.

A table without rows keeps one file with all its columns, in created_month=empty, so every
engine still finds the table, its columns and the created_month column (a file at the table's
root instead would lose that column, and Spark refuses a folder mixing both layouts).

DIR/parquet/.state.json names the last run whose Parquet step finished. Sessions written since
then by a run that died before its own Parquet step are rewritten by the next run; without that
file (a first run, an older layout, a deleted folder) every partition is rewritten.

A month's partition is rewritten from its old file, less the sessions written since that run,
plus those sessions' rows from DuckDB. A month's rows are contiguous in its file but may be
anywhere in DuckDB's tables (ids files, backfills and late refreshes store sessions in no order
of month): reading them from DuckDB would decompress nearly every block of every table, reading
the old file costs the month's size, and the sessions just written sit together at the tables'
end. A partition whose file is missing, has another schema or does not read to its end is
read from DuckDB.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.files import fsync_dir, storage_errors
from pipeline.memory import with_more_memory
from pipeline.schema import TABLES, Table

PARTITION_KEY = "created_month"
MONTH_KEY = "billing_month"  # consumption_daily's partitions: the month of billing_date
EMPTY_PARTITION = f"{PARTITION_KEY}=empty"  # the one file of a table without rows
NULL_MONTH = "__HIVE_DEFAULT_PARTITION__"  # Hive's name for a NULL key (created_at is required)
STAGING = ".staging"
PICKED = "parquet_picked_rows"  # a relation registered while a table is read
CHANGED = "parquet_changed_sessions"  # the sessions changed since the last Parquet step
STATE_FILE = ".state.json"
LAYOUT = 2  # 1: one file per table; 2: Hive-partitioned by created_month
READ_ROWS = 4_096  # rows per batch read from DuckDB: a batch of sessions is about 6 MB
GROUP_BYTES = 8 << 20  # a partition's rows are written as a row group once they reach this
BUFFER_BYTES = 24 << 20  # rows waiting in all partitions: past this the largest is written
COMPRESSION = "zstd"


@dataclass
class Snapshot:
    """What write_snapshots changed under DIR/parquet: what a mirror uploads and deletes."""

    written: list[Path] = field(default_factory=list)  # files created or replaced
    removed: list[Path] = field(default_factory=list)  # partition folders and files deleted
    months: list[str] | None = None  # the months rewritten; None: every partition


def partition_dir(parquet_dir: Path, table: Table, month: str) -> Path:
    return parquet_dir / table.name / f"{PARTITION_KEY}={month}"


def file_name(table: Table) -> str:
    return f"{table.name}.parquet"


def write_snapshots(
    con: duckdb.DuckDBPyConnection,
    parquet_dir: Path,
    months: set[str] | None = None,
    run_id: str | None = None,
) -> Snapshot:
    """Rewrite the partitions of the given created_at months (None: all) of every session-derived
    table, and the run tables whole; return the files written and the partitions removed.

    With run_id, also rewrite what earlier runs wrote but never got to Parquet, and record this
    run as the last one whose Parquet is complete.
    """
    with storage_errors(str(parquet_dir)):
        parquet_dir.mkdir(parents=True, exist_ok=True)
        state = _read_state(parquet_dir) if run_id is not None else None
        if run_id is not None and state is None:
            months = None  # no record of what is there: rebuild it all
        changed = None
        if months is not None and state is not None:
            changed = _changed_since(con, state)
            if changed is None:
                months = None
            else:
                months = months | set(changed.column(PARTITION_KEY).to_pylist())
        dataset = _Dataset(parquet_dir, months, changed)
        if changed is not None:
            con.register(CHANGED, changed)
        try:
            for table in TABLES:
                if table.per_session:
                    dataset.write_partitioned(con, table)
                elif table.month_of is not None:
                    dataset.write_by_month(con, table)
                else:
                    dataset.write_whole(con, table)
        finally:
            if changed is not None:
                con.unregister(CHANGED)
            shutil.rmtree(dataset.staging, ignore_errors=True)
        if run_id is not None:
            _write_state(parquet_dir, run_id)
    return dataset.snapshot


# -- which months ----------------------------------------------------------------------------


def _read_state(parquet_dir: Path) -> dict[str, str] | None:
    try:
        state = json.loads((parquet_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("layout") != LAYOUT:
        return None
    if not isinstance(state.get("run_id"), str) or not isinstance(state.get("finished_at"), str):
        return None
    return state


def _write_state(parquet_dir: Path, run_id: str) -> None:
    state = {"layout": LAYOUT, "run_id": run_id, "finished_at": datetime.now(UTC).isoformat()}
    tmp = parquet_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state) + "\n")
    _durable_rename(tmp, parquet_dir / STATE_FILE)


def _changed_since(con: duckdb.DuckDBPyConnection, state: dict[str, str]) -> pa.Table | None:
    """The sessions (session_id, created_month) written, or marked, by runs after the last one
    whose Parquet step finished (runs started later: they never overlap); None if that run is
    unknown."""
    started = con.execute(
        "SELECT started_at FROM export_runs WHERE run_id = ?", [state["run_id"]]
    ).fetchall()
    if not started:
        return None
    return con.sql(
        f"SELECT session_id, {_month_sql('created_at')} AS {PARTITION_KEY} FROM sessions "
        "WHERE _run_id IN (SELECT run_id FROM export_runs WHERE started_at >= $started "
        "AND run_id <> $run) OR deleted_at >= $finished::TIMESTAMPTZ "
        "OR analysis_requested_at >= $finished::TIMESTAMPTZ",
        params={"started": started[0][0], "run": state["run_id"], "finished": state["finished_at"]},
    ).to_arrow_table()


def _month_sql(column: str) -> str:
    return f"coalesce(strftime({column} AT TIME ZONE 'UTC', '%Y-%m'), '{NULL_MONTH}')"


def _month_filter(months: set[str] | None) -> str:
    """A WHERE condition on sessions.created_at: ranges, so DuckDB can skip row groups."""
    if months is None:
        return "TRUE"
    ranges = []
    for month in sorted(months):
        if month == NULL_MONTH:
            ranges.append("created_at IS NULL")
            continue
        year, mon = (int(x) for x in month.split("-"))
        end = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"
        ranges.append(
            f"(created_at >= TIMESTAMPTZ '{month}-01 00:00:00+00' "
            f"AND created_at < TIMESTAMPTZ '{end}-01 00:00:00+00')"
        )
    return " OR ".join(ranges) or "FALSE"


# -- session-derived tables ------------------------------------------------------------------


def _query(table: Table, months: set[str] | None) -> str:
    """Rows of every month (None), or the rows picked (PICKED), each with its session's month."""
    columns = ", ".join(f"t.{c}" for c in table.column_names)  # by name: an upgraded table
    if months is None:  # may hold them in another order
        month = f"{_month_sql('created_at')} AS {PARTITION_KEY}"
        if table.name == "sessions":
            return f"SELECT {columns}, {month} FROM sessions t"
        return (
            f"SELECT {columns}, s.{PARTITION_KEY} FROM {table.name} t JOIN "
            f"(SELECT session_id, {month} FROM sessions) s ON t.session_id = s.session_id"
        )
    # Two steps, the rows' positions first (PICKED): joining on session_id reads every column of
    # every row of the table, joining on rowid only the blocks holding the rows picked.
    return (
        f"SELECT {columns}, p.{PARTITION_KEY} FROM {table.name} t "
        f"JOIN {PICKED} p ON t.rowid = p.row_id"
    )


def _picked(table: Table, months: set[str], changed: bool) -> str:
    """The rowids of the table's rows to read from DuckDB, with their month: those of the
    sessions changed (CHANGED) or, without that list, of every session of the months."""
    if changed:
        sessions = f"SELECT session_id, {PARTITION_KEY} FROM {CHANGED}"
    else:
        sessions = (
            f"SELECT session_id, {_month_sql('created_at')} AS {PARTITION_KEY} FROM sessions "
            f"WHERE {_month_filter(months)}"
        )
    return (
        f"SELECT t.rowid AS row_id, s.{PARTITION_KEY} FROM {table.name} t JOIN ({sessions}) s "
        "ON t.session_id = s.session_id"
    )


@contextmanager
def _rows(
    con: duckdb.DuckDBPyConnection, table: Table, months: set[str] | None, changed: bool
) -> Iterator[pa.RecordBatchReader]:
    """Stream the table's rows to read from DuckDB, each with its created_month."""
    if months is not None:
        con.register(PICKED, con.sql(_picked(table, months, changed)).to_arrow_table())
    try:
        yield con.sql(_query(table, months)).to_arrow_reader(READ_ROWS)
    finally:
        if months is not None:
            con.unregister(PICKED)


class _Dataset:
    """DIR/parquet while a run rewrites it: staging beside the tables, and what changed."""

    def __init__(
        self, parquet_dir: Path, months: set[str] | None, changed: pa.Table | None = None
    ) -> None:
        self.root = parquet_dir
        self.months = months
        self.changed = changed  # with months: the sessions to read from DuckDB
        self.snapshot = Snapshot(months=None if months is None else sorted(months))
        self.staging = parquet_dir / STAGING
        shutil.rmtree(self.staging, ignore_errors=True)  # a crashed run's leftovers
        self.staging.mkdir()
        self._trash = 0

    def write_partitioned(self, con: duckdb.DuckDBPyConnection, table: Table) -> None:
        table_dir = self.root / table.name
        table_dir.mkdir(exist_ok=True)
        before = set(_partitions_on_disk(table_dir))
        carried = self._carried(table, before)
        try:
            staged = self._stage(con, table, carried)
        except (OSError, pa.ArrowException):
            if carried is None:
                raise
            # An old file whose schema and footer read well but whose data does not (a bad
            # block, a copy cut short and patched): its months are read from DuckDB instead.
            staged = self._stage(con, table, None)
        # A file of layout 1, at the table's root, goes before any partition comes in: beside
        # them it would be read twice, and Spark refuses a folder mixing both layouts.
        for old in table_dir.glob("*.parquet"):
            self._remove(old)
        considered = before if self.months is None else self.months & before
        left = (before - considered) | set(staged)
        # Readers always find a file: the empty table's one goes in before the last partition
        # goes out, and out only after the first partition is in.
        empty = table_dir / EMPTY_PARTITION
        if not left and (self.months is None or not empty.exists()):
            self._commit(_stage_empty(table, self.staging), empty, table)
        for month in sorted(staged):
            self._commit(staged[month], partition_dir(self.root, table, month), table)
        for month in sorted(considered - set(staged)):
            self._remove(partition_dir(self.root, table, month))
        if left and empty.exists():
            self._remove(empty)
        fsync_dir(table_dir)

    def _stage(
        self, con: duckdb.DuckDBPyConnection, table: Table, carried: dict[str, Path] | None
    ) -> dict[str, Path]:
        """Write the months' new files under staging; return {month: staged folder}. Rows
        that outgrow DuckDB's cache (pasted logs) are read again with more (pipeline.memory)."""

        def stage() -> dict[str, Path]:
            shutil.rmtree(self.staging / table.name, ignore_errors=True)  # a failed try's
            with _PartitionWriter(table, self.staging / table.name) as writer:
                if carried is not None:
                    for month, path in carried.items():
                        self._carry(path, month, writer)
                with _rows(con, table, self.months, carried is not None) as reader:
                    for batch in reader:
                        writer.add(batch)
            return writer.staged

        return with_more_memory(con, stage, f"{table.name}'s Parquet")

    def _carried(self, table: Table, before: set[str]) -> dict[str, Path] | None:
        """The old files of the months rewritten, to carry their unchanged sessions' rows over;
        None when the months are read from DuckDB (no list of the sessions changed, or a file
        missing or of another schema)."""
        if self.months is None or self.changed is None:
            return None
        files = {}
        for month in sorted(self.months & before):
            path = partition_dir(self.root, table, month) / file_name(table)
            try:
                usable = pq.read_schema(path).equals(table.arrow_schema)
            except (OSError, pa.ArrowException):
                usable = False
            if not usable:
                return None
            files[month] = path
        return files

    def _carry(self, path: Path, month: str, writer: _PartitionWriter) -> None:
        """Add the rows of a partition's old file but those of the sessions changed."""
        assert self.changed is not None
        changed = self.changed.column("session_id")
        with pq.ParquetFile(path) as old:
            for batch in old.iter_batches(READ_ROWS):
                kept = batch.filter(pc.invert(pc.is_in(batch.column("session_id"), changed)))
                if kept.num_rows:
                    writer.add_month(month, kept)

    def write_by_month(self, con: duckdb.DuckDBPyConnection, table: Table) -> None:
        """Rewrite every partition of a table partitioned by the month of its own DATE column
        (small: a row per day and person), and remove the months it no longer has."""
        assert table.month_of is not None
        table_dir = self.root / table.name
        table_dir.mkdir(exist_ok=True)
        before = set(_partitions_on_disk(table_dir, MONTH_KEY))
        columns = ", ".join(table.column_names)
        sql = (f"SELECT {columns}, strftime({table.month_of}, '%Y-%m') AS {MONTH_KEY} "
               f"FROM {table.name} ORDER BY {', '.join(table.key)}")  # fmt: skip
        with _PartitionWriter(table, self.staging / table.name, MONTH_KEY) as writer:
            for batch in con.sql(sql).to_arrow_reader(READ_ROWS):
                writer.add(batch)
        staged = writer.staged
        empty = table_dir / f"{MONTH_KEY}=empty"
        if not staged:
            self._commit(_stage_empty(table, self.staging, MONTH_KEY), empty, table)
        for month in sorted(staged):
            self._commit(staged[month], table_dir / f"{MONTH_KEY}={month}", table)
        for month in sorted(before - set(staged)):
            self._remove(table_dir / f"{MONTH_KEY}={month}")
        if staged and empty.exists():
            self._remove(empty)
        fsync_dir(table_dir)

    def write_whole(self, con: duckdb.DuckDBPyConnection, table: Table) -> None:
        target = self.root / table.name / file_name(table)
        target.parent.mkdir(exist_ok=True)
        tmp = self.staging / file_name(table)
        columns = ", ".join(table.column_names)
        reader = con.sql(f"SELECT {columns} FROM {table.name}").to_arrow_reader(READ_ROWS)
        with pq.ParquetWriter(tmp, table.arrow_schema, compression=COMPRESSION) as writer:
            for batch in reader:
                writer.write_table(pa.Table.from_batches([batch]).cast(table.arrow_schema))
        _durable_rename(tmp, target)
        self.snapshot.written.append(target)

    def _commit(self, staged: Path, target: Path, table: Table) -> None:
        """Put a staged partition folder in place of target's."""
        name = file_name(table)
        _fsync(staged / name)
        if target.is_dir():
            os.replace(staged / name, target / name)  # the old file replaced, never beside
            for other in target.iterdir():  # a partition holds this run's file, nothing else
                if other.name != name:
                    self._remove(other)
            fsync_dir(target)
        else:
            os.replace(staged, target)  # the folder appears with its file in it
        self.snapshot.written.append(target / name)

    def _remove(self, path: Path) -> None:
        """Take a partition (or a file) out of readers' sight at once, then delete it."""
        self._trash += 1
        trash = self.staging / f"removed-{self._trash}"
        os.replace(path, trash)
        if trash.is_dir():
            shutil.rmtree(trash)
        else:
            trash.unlink()
        self.snapshot.removed.append(path)


def _partitions_on_disk(table_dir: Path, key: str = PARTITION_KEY) -> list[str]:
    prefix = f"{key}="
    return [
        entry.name[len(prefix) :]
        for entry in os.scandir(table_dir)
        if entry.is_dir() and entry.name.startswith(prefix) and entry.name != f"{key}=empty"
    ]


class _PartitionWriter:
    """One Parquet file per month, fed batches of rows of any months, in any order.

    Rows wait per month until they make a row group of GROUP_BYTES; when all that waits passes
    BUFFER_BYTES the largest month is written early, so memory stays bounded by the two
    constants, whatever the number of rows or months.
    """

    def __init__(self, table: Table, staging: Path, key: str = PARTITION_KEY) -> None:
        self.key = key
        self.table = table
        self.schema = table.arrow_schema
        self.staging = staging
        self.staged: dict[str, Path] = {}  # month -> the staged partition folder
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._waiting: dict[str, list[pa.Table]] = {}
        self._waiting_bytes: dict[str, int] = {}

    def __enter__(self) -> _PartitionWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            for writer in self._writers.values():
                writer.close()

    def add(self, batch: pa.RecordBatch) -> None:
        keys = pc.dictionary_encode(batch.column(self.key))
        data = pa.Table.from_batches([batch.drop_columns([self.key])]).cast(self.schema)
        months = keys.dictionary.to_pylist()
        for number, month in enumerate(months):
            part = data if len(months) == 1 else data.filter(pc.equal(keys.indices, number))
            self._wait(str(month), part)

    def add_month(self, month: str, batch: pa.RecordBatch) -> None:
        self._wait(month, pa.Table.from_batches([batch]).cast(self.schema))

    def _wait(self, month: str, part: pa.Table) -> None:
        self._waiting.setdefault(month, []).append(part)
        size = self._waiting_bytes.get(month, 0) + part.nbytes
        self._waiting_bytes[month] = size
        if size >= GROUP_BYTES:
            self._flush(month)
        elif sum(self._waiting_bytes.values()) >= BUFFER_BYTES:
            self._flush(max(self._waiting_bytes, key=self._waiting_bytes.__getitem__))

    def _flush(self, month: str) -> None:
        parts = self._waiting.pop(month, [])
        self._waiting_bytes.pop(month, None)
        if not parts:
            return
        writer = self._writers.get(month)
        if writer is None:
            folder = self.staging / f"{self.key}={month}"
            folder.mkdir(parents=True)
            self.staged[month] = folder
            writer = pq.ParquetWriter(
                folder / file_name(self.table), self.schema, compression=COMPRESSION
            )
            self._writers[month] = writer
        data = pa.concat_tables(parts)
        writer.write_table(data, row_group_size=max(1, data.num_rows))

    def close(self) -> None:
        for month in list(self._waiting):
            self._flush(month)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _stage_empty(table: Table, staging: Path, key: str = PARTITION_KEY) -> Path:
    folder = staging / table.name / f"{key}=empty"
    folder.mkdir(parents=True)
    pq.write_table(table.arrow_schema.empty_table(), folder / file_name(table),
                   compression=COMPRESSION)  # fmt: skip
    return folder


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _durable_rename(tmp: Path, target: Path) -> None:
    _fsync(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)
