"""Spark, pandas, polars and DuckDB read every table of DIR/parquet as the warehouse holds it.

Each engine reads a table's folder the way its users do, and must find the warehouse's row
count, the same values for a sample of rows, timestamps as UTC instants (compared as epoch
microseconds) and the partition key, from the path (created_month; billing_month for
consumption_daily), as a string column after the table's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pytest

from pipeline.parquet import MONTH_KEY, PARTITION_KEY
from pipeline.schema import TABLES, Table
from tests.helpers import run_cli

# pyspark warns about any pandas >= 3, which it does not use to read Parquet.
pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)
SAMPLE_SESSIONS = 12


def timestamp_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.type == "TIMESTAMPTZ"]


def partition_key(table: Table) -> str | None:
    """The Hive key in the table's paths: its sessions' month, or its own DATE's month."""
    if table.per_session:
        return PARTITION_KEY
    return MONTH_KEY if table.month_of is not None else None


def expected_columns(table: Table) -> list[str]:
    key = partition_key(table)
    return [*table.column_names, key] if key else table.column_names


def normalize(value: Any) -> Any:
    """One form for every engine's values: None for any missing, instants as epoch us."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return normalize(value.item())
    if isinstance(value, datetime):  # pandas Timestamps are datetimes too
        assert value.utcoffset() is not None and value.utcoffset().total_seconds() == 0, value
        nanos = getattr(value, "value", None)  # pandas keeps nanoseconds
        return nanos // 1000 if nanos is not None else round(value.timestamp() * 1e6)
    return value


def rows(records: Iterator[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(normalize(v) for v in r) for r in records), key=repr)


class Engine(Protocol):
    name: str

    def read(
        self, folder: Path, table: Table, ids: list[str] | None
    ) -> tuple[list[str], int, list[tuple[Any, ...]]]:
        """Return the columns, the row count, and the rows of the sessions ids (all: None)."""
        ...


class Spark:
    name = "spark"

    def __init__(self) -> None:
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master("local[1]")
            .appName("devin-export-interop")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def read(self, folder, table, ids):
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, TimestampType

        df = self.spark.read.parquet(str(folder))
        fields = {f.name: f.dataType for f in df.schema.fields}
        for name in timestamp_columns(table):
            assert isinstance(fields[name], TimestampType), (table.name, name, fields[name])
        if key := partition_key(table):
            assert isinstance(fields[key], StringType), fields[key]
        if ids is not None:
            df = df.where(F.col("session_id").isin(ids))
        instants = set(timestamp_columns(table))
        picked = [
            F.unix_micros(F.col(c)).alias(c) if c in instants else F.col(c)
            for c in expected_columns(table)
        ]
        sample = [tuple(r) for r in df.select(*picked).collect()]
        count = self.spark.read.parquet(str(folder)).count()
        return [f.name for f in df.schema.fields], count, rows(iter(sample))

    def stop(self) -> None:
        self.spark.stop()


class Pandas:
    name = "pandas"

    def read(self, folder, table, ids):
        import pandas as pd

        df = pd.read_parquet(folder)
        for name in timestamp_columns(table):
            dtype = df[name].dtype
            assert isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC", dtype
        count = len(df)
        if ids is not None:
            df = df[df["session_id"].isin(ids)]
        columns = list(df.columns)
        if key := partition_key(table):  # a category of strings
            df = df.astype({key: "object"})
        sample = df[expected_columns(table)].astype("object").itertuples(index=False)
        return columns, count, rows(tuple(r) for r in sample)


class Polars:
    name = "polars"

    def read(self, folder, table, ids):
        import polars as pl

        lf = pl.scan_parquet(folder, hive_partitioning=True)
        schema = lf.collect_schema()
        for name in timestamp_columns(table):
            assert schema[name] == pl.Datetime("us", "UTC"), (name, schema[name])
        if key := partition_key(table):
            assert schema[key] == pl.String, schema[key]
        count = lf.select(pl.len()).collect().item()
        if ids is not None:
            lf = lf.filter(pl.col("session_id").is_in(ids))
        instants = [pl.col(c).dt.epoch("us") for c in timestamp_columns(table)]
        df = lf.with_columns(instants).select(expected_columns(table)).collect()
        return list(schema.names()), count, rows(iter(df.rows()))


class DuckDB:
    name = "duckdb"

    def __init__(self) -> None:
        self.con = duckdb.connect()

    def read(self, folder, table, ids):
        source = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        types = {name: kind for name, kind, *_ in described}
        for name in timestamp_columns(table):
            assert types[name] == "TIMESTAMP WITH TIME ZONE", (name, types[name])
        if key := partition_key(table):
            assert types[key] == "VARCHAR", types[key]
        count = self.con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]
        instants = set(timestamp_columns(table))
        picked = ", ".join(
            f"epoch_us({c})" if c in instants else c for c in expected_columns(table)
        )
        where = "TRUE" if ids is None else "session_id IN (SELECT unnest($ids))"
        params = {} if ids is None else {"ids": ids}
        sample = self.con.execute(f"SELECT {picked} FROM {source} WHERE {where}", params)
        return [name for name, *_ in described], count, rows(iter(sample.fetchall()))


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory) -> dict[str, Path]:
    """Two exported warehouses: the demo's 300 sessions, and one without any session."""
    demo = tmp_path_factory.mktemp("demo") / "out"
    result = run_cli("--demo", "300", "--out", str(demo), "--quiet", key=None)
    assert result.code == 0, result.stderr
    empty = tmp_path_factory.mktemp("empty")
    (empty / "raw").mkdir()
    result = run_cli("--from-raw", str(empty / "raw"), "--out", str(empty / "out"), "--quiet")
    assert result.code == 0, result.stderr
    return {"demo": demo, "empty": empty / "out"}


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    spark = Spark()
    try:
        yield {"spark": spark, "pandas": Pandas(), "polars": Polars(), "duckdb": DuckDB()}
    finally:
        spark.stop()


def truth(out: Path, table: Table) -> tuple[int, list[str] | None, list[tuple[Any, ...]]]:
    """The warehouse's row count, the sampled sessions, and their rows, normalized."""
    con = duckdb.connect(str(out / "devin.duckdb"), read_only=True)
    try:
        count = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
        instants = set(timestamp_columns(table))
        picked = [f"epoch_us(t.{c})" if c in instants else f"t.{c}" for c in table.column_names]
        if not table.per_session:
            if table.month_of is not None:
                picked.append(f"strftime(t.{table.month_of}, '%Y-%m')")
            sample = con.execute(f"SELECT {', '.join(picked)} FROM {table.name} t")
            return count, None, rows(iter(sample.fetchall()))
        ids = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT session_id FROM {table.name} ORDER BY session_id "
                f"LIMIT {SAMPLE_SESSIONS}"
            ).fetchall()
        ]
        month = "strftime(s.created_at AT TIME ZONE 'UTC', '%Y-%m')"
        sample = con.execute(
            f"SELECT {', '.join(picked)}, {month} FROM {table.name} t "
            "JOIN sessions s ON s.session_id = t.session_id "
            "WHERE t.session_id IN (SELECT unnest($ids))",
            {"ids": ids},
        )
        return count, ids, rows(iter(sample.fetchall()))
    finally:
        con.close()


@pytest.mark.parametrize("warehouse", ["demo", "empty"])
@pytest.mark.parametrize("engine", ["spark", "pandas", "polars", "duckdb"])
def test_engine_reads_every_table_as_the_warehouse_holds_it(warehouses, engines, engine, warehouse):
    out = warehouses[warehouse]
    reader = engines[engine]
    for table in TABLES:
        count, ids, expected = truth(out, table)
        columns, read_count, sample = reader.read(out / "parquet" / table.name, table, ids)
        where = f"{engine} on {warehouse}/{table.name}"
        assert columns == expected_columns(table), where
        assert read_count == count, where
        assert sample == expected, where
        if warehouse == "demo" and table.name in ("sessions", "timeline_events"):
            assert count > 0 and sample, where  # the sample really compares rows
