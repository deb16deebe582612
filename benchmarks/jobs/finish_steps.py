"""Time the two finishing steps of a night on a warehouse it left: Parquet, then publishing.

    python finish_steps.py DIR RESULT_JSON

Rewrites the Parquet partitions of the months the last run wrote (as that run did), then
publishes DIR/devin.duckdb (checkpoint, copy beside, rename). Writes {"parquet_seconds",
"publish_seconds", "db_bytes", "months"} to RESULT_JSON.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from pipeline.parquet import write_snapshots
from pipeline.warehouse import Warehouse


def main() -> int:
    out, result = Path(sys.argv[1]), Path(sys.argv[2])
    warehouse = Warehouse(out)
    warehouse.open()
    months = {
        m
        for (m,) in warehouse.db.execute(
            "SELECT DISTINCT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m') FROM sessions "
            "WHERE _run_id = (SELECT max(run_id) FROM export_runs)"
        ).fetchall()
    }
    start = time.perf_counter()
    write_snapshots(warehouse.db, out / "parquet", months)
    parquet_seconds = time.perf_counter() - start
    start = time.perf_counter()
    published = warehouse.publish()
    publish_seconds = time.perf_counter() - start
    record = {
        "parquet_seconds": parquet_seconds,
        "publish_seconds": publish_seconds,
        "db_bytes": published.stat().st_size,
        "months": sorted(months),
    }
    result.write_bytes(orjson.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
