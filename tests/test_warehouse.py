"""The DuckDB working copy: batches, the writer thread, row groups, schema upgrades."""

from __future__ import annotations

import errno
import os
import threading

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import StorageError
from pipeline.files import storage_errors
from pipeline.memory import MEMORY_LIMIT, out_of_memory, retried, with_more_memory
from pipeline.parquet import write_snapshots
from pipeline.schema import TABLES
from pipeline.shadow import shadowed
from pipeline.warehouse import ROW_GROUP_ROWS, STATE_DIR, Warehouse
from pipeline.writer import SerialWriter
from tests.helpers import query, run_cli


def test_a_full_disk_is_a_storage_error():
    with pytest.raises(StorageError, match="No space left"):
        with storage_errors("data/devin.duckdb"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_working_copy_with_a_column_of_another_type_is_refused_with_the_way_out(server, out):
    assert run_cli(server.devin.ids()[0], "--out", str(out), "--api-url", server.url).code == 0
    with duckdb.connect(str(out / STATE_DIR / "work.duckdb")) as con:
        con.execute("alter table sessions alter column acus_consumed type varchar")
    result = run_cli(server.devin.ids()[0], "--out", str(out), "--api-url", server.url)
    assert result.code == 3
    assert "--from-raw" in result.stderr and "sessions.acus_consumed" in result.stderr
    assert "Traceback" not in result.stderr


def test_after_a_failed_write_no_later_batch_is_committed():
    done: list[int] = []
    second_queued = threading.Event()

    def fail() -> None:
        second_queued.wait(5)  # fail only once the next batch waits behind this one
        raise StorageError("cannot write: No space left on device")

    writer = SerialWriter()
    writer.submit(fail)
    writer.submit(lambda: done.append(1))
    second_queued.set()
    with pytest.raises(StorageError):
        writer.close()
    assert done == []
    with pytest.raises(StorageError):
        writer.submit(lambda: done.append(2))


def test_checkpoints_keep_row_groups_small_so_they_rewrite_little(tmp_path):
    # DuckDB's default row group (122,880 rows) would hold a whole table's sessions, rewritten at
    # every checkpoint; the work copy is attached with ROW_GROUP_SIZE at every open.
    for run in (1, 2):
        warehouse = Warehouse(tmp_path)
        warehouse.open()
        warehouse.db.execute(
            "INSERT INTO session_tags SELECT 'devin-' || range, 0, 'tag' FROM range(40000)"
        )
        warehouse.db.execute("CHECKPOINT")
        sizes = warehouse.db.execute(
            "SELECT max(count) FROM pragma_storage_info('session_tags') GROUP BY row_group_id"
        ).fetchall()
        warehouse.close()
        assert len(sizes) >= run * 40000 // ROW_GROUP_ROWS
        assert max(size for (size,) in sizes) <= ROW_GROUP_ROWS


def test_snapshots_can_follow_any_read_of_the_warehouse(tmp_path):
    # DuckDB refuses a relation while an earlier result is half-read (fetchone), which went
    # unnoticed only because creating the views ran in between.
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        warehouse.last_watermark("http://x", "v2")
        warehouse.counts()
        assert len(write_snapshots(warehouse.db, tmp_path / "parquet").written) == len(TABLES)
    finally:
        warehouse.close()


def test_every_table_and_column_describes_itself_in_duckdb_and_in_parquet(out):
    assert run_cli("--demo", "20", "--out", str(out), "--quiet", key=None).code == 0
    db = out / "devin.duckdb"
    tables = dict(query(db, "select table_name, comment from duckdb_tables()"))
    columns = {
        (t, c): comment
        for t, c, comment in query(db, "select table_name, column_name, comment from duckdb_columns() "
                                       "where table_name in (select table_name from duckdb_tables())")
    }  # fmt: skip
    for table in TABLES:
        assert tables[table.name] == table.doc
        for column in table.columns:
            assert column.doc and columns[(table.name, column.name)] == column.doc
        some_file = next((out / "parquet" / table.name).rglob("*.parquet"))
        schema = pq.read_schema(some_file)
        assert schema.metadata[b"description"] == table.doc.encode()
        for column in table.columns:
            assert schema.field(column.name).metadata[b"description"] == column.doc.encode()


def test_a_failed_write_tells_its_own_error_not_the_aborted_transactions(tmp_path):
    # A failed statement aborts the transaction, which then refuses even unregistering a
    # relation: the user must see what failed (out of memory, say), not "transaction aborted".
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    rows = pa.table({"session_id": ["devin-a"]})
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        with warehouse.transaction(), warehouse.registered("batch_ids", rows):
            with shadowed(warehouse.db, {"sessions": "SELECT * FROM batch_ids"}):
                warehouse.db.execute("SELECT * FROM no_such_table")
    assert warehouse.db.execute("SELECT count(*) FROM sessions").fetchall() == [(0,)]
    warehouse.close()


NEEDS_100MB = "select len(list(repeat('x', 100000))) from range(1000)"  # one value of 100 MB


def test_a_step_out_of_memory_is_tried_once_more_with_more_then_the_limit_goes_back():
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    small = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    limits: list[str] = []

    def step(sql: str) -> list[tuple[object, ...]]:
        limits.append(con.execute("select current_setting('memory_limit')").fetchall()[0][0])
        return con.execute(sql).fetchall()

    retried.clear()
    assert with_more_memory(con, lambda: step(NEEDS_100MB), "a big one") == [(1000,)]
    assert limits == [small, "244.1 MiB"]  # MORE_MEMORY_LIMIT, 256MB, in DuckDB's words
    assert retried == ["a big one"]  # for the run to say
    assert con.execute("select current_setting('memory_limit')").fetchall() == [(small,)]
    limits.clear()  # another error is not tried again
    with pytest.raises(duckdb.CatalogException):
        with_more_memory(con, lambda: step("select * from no_such_table"), "no table")
    assert limits == [small]
    assert retried == ["a big one"]


def test_a_step_out_of_memory_with_more_too_tells_duckdbs_error(monkeypatch):
    monkeypatch.setattr("pipeline.memory.MORE_MEMORY_LIMIT", "80MB")
    con = duckdb.connect()
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    small = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    with pytest.raises(duckdb.OutOfMemoryException, match=r"MiB/76\.2 MiB used"):
        with_more_memory(con, lambda: con.execute(NEEDS_100MB).fetchall(), "a big one")
    assert con.execute("select current_setting('memory_limit')").fetchall() == [(small,)]


def test_out_of_memory_is_known_as_a_commit_and_an_arrow_reader_tell_it():
    used = "(61.0 MiB/61.0 MiB used)"
    assert out_of_memory(duckdb.TransactionException(
        f"TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB {used}"
    ))  # fmt: skip
    assert out_of_memory(OSError(f"Out of Memory Error: failed to allocate data of size {used}"))
    assert not out_of_memory(duckdb.TransactionException("cannot rollback - no transaction"))
    assert not out_of_memory(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
