"""The Parquet side of load: a snapshot of every table for BI tools, replaced atomically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.files import replace_atomically, storage_errors
from pipeline.schema import TABLES, Table


def write_snapshots(con: duckdb.DuckDBPyConnection, parquet_dir: Path) -> list[Path]:
    """Snapshot every table to parquet_dir/<table>/<table>.parquet; return the files."""
    written = []
    with storage_errors(str(parquet_dir)):
        for table in TABLES:
            written.append(_write_table(con, table, parquet_dir))
    return written


def _write_table(con: duckdb.DuckDBPyConnection, table: Table, parquet_dir: Path) -> Path:
    target = parquet_dir / table.name / f"{table.name}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    # A leading dot keeps the half-written file out of readers' globs and pyarrow datasets.
    tmp = target.with_name(f".{target.name}.tmp")
    columns = ", ".join(table.column_names)  # by name: an upgraded table may order them otherwise
    query = f"SELECT {columns} FROM {table.name}"  # no ORDER BY: sorting would hold it all
    reader = con.sql(query).to_arrow_reader(20_000)
    with pq.ParquetWriter(tmp, table.arrow_schema, compression="zstd") as writer:
        for record_batch in reader:
            writer.write_table(pa.Table.from_batches([record_batch]).cast(table.arrow_schema))
    replace_atomically(tmp, target)
    return target
