"""Load a sessions JSONL file with dlt: default nested normalization, merge on session_id.

Runs in the benchmark's own venv (benchmarks/work/.venv-dlt), never the project's:
    python dlt_load.py FILE WORKDIR duckdb|parquet
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before dlt is imported: no telemetry (there is no network), nothing under ~/.dlt.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

import dlt  # noqa: E402
import orjson  # noqa: E402


def sessions(path: Path):
    @dlt.resource(name="sessions", write_disposition="merge", primary_key="session_id")
    def read():
        with open(path, "rb") as lines:
            for line in lines:
                yield orjson.loads(line)

    return read


def destination(kind: str, work: Path):
    if kind == "duckdb":
        return dlt.destinations.duckdb(str(work / "dlt.duckdb"))
    return dlt.destinations.filesystem(bucket_url=(work / "parquet").as_uri())


def main() -> int:
    path, work, kind = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{kind}",
        pipelines_dir=str(work / "pipelines"),
        destination=destination(kind, work),
        dataset_name="devin",
    )
    file_format = "parquet" if kind == "parquet" else None
    info = pipeline.run(sessions(path)(), loader_file_format=file_format)
    info.raise_on_failed_jobs()
    tables = sorted(t for t in pipeline.default_schema.tables if not t.startswith("_dlt"))
    print(orjson.dumps({"tables": tables}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
