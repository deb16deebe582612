"""The bare baseline: what loading the same file costs with no safety net at all.

orjson-parses each line, flattens it straight into column lists (the same 7 data tables and
columns as pipeline/schema.py), builds Arrow tables, and writes Parquet and a DuckDB file from
Arrow, all in memory: no validation, no batches, no upsert, no views, no atomic publishing.

    python baseline_load.py FILE OUTDIR
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schema import DATA_TABLES

KNOWN_FIELDS = frozenset(
    "session_id url status tags org_id created_at updated_at acus_consumed pull_requests "
    "session_analysis initial_user_message title user_id".split()
)
PR_PATH = re.compile(r"^https?://[^/]+/(?:([^/]+/[^/]+)/pull|(.+?)/-/merge_requests)/(\d+)/?$")
TIMESTAMP = pa.timestamp("us", tz="UTC")


class Columns:
    """Column lists of one table, appended to row by row."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.lists: list[list] = [[] for _ in names]

    def add(self, *values: object) -> None:
        # Columns the v2 API never fills (v3's, deleted_at, ended_at...) come last: NULL.
        values += (None,) * (len(self.lists) - len(values))
        for column, value in zip(self.lists, values, strict=True):
            column.append(value)


def parse_pr(url: str) -> tuple[str | None, int | None]:
    match = PR_PATH.match(url.split("?", 1)[0].split("#", 1)[0])
    if not match:
        return None, None
    number = int(match.group(3))
    return match.group(1) or match.group(2), number if number < 2**31 else None


def add_session(tables: dict[str, Columns], s: dict, run_id: str, now: datetime) -> None:
    sid = s["session_id"]
    analysis = s.get("session_analysis")
    prompt = analysis.get("suggested_prompt") if analysis else None
    extra = {k: v for k, v in s.items() if k not in KNOWN_FIELDS}
    tables["sessions"].add(
        sid, s["url"], s["status"], s.get("title"), s["org_id"], s.get("user_id"),
        s["created_at"], s["updated_at"], float(s["acus_consumed"]),
        s.get("initial_user_message"), analysis is not None,
        prompt["original_prompt"] if prompt else None,
        prompt["suggested_prompt"] if prompt else None,
        orjson.dumps(extra).decode() if extra else None, run_id, now,
    )  # fmt: skip
    for i, tag in enumerate(s["tags"]):
        tables["session_tags"].add(sid, i, tag)
    for i, pr in enumerate(s["pull_requests"]):
        url = pr.get("url") or pr.get("pr_url")
        state = pr.get("state") if pr.get("state") is not None else pr.get("pr_state")
        tables["pull_requests"].add(sid, i, url, state, *parse_pr(url))
    if analysis:
        add_analysis(tables, sid, analysis, prompt)


def add_analysis(tables: dict[str, Columns], sid: str, analysis: dict, prompt: dict | None) -> None:
    for i, x in enumerate(analysis.get("issues", [])):
        tables["issues"].add(sid, i, x["issue"], x["impact"], x["label"])
    for i, x in enumerate(analysis.get("action_items", [])):
        tables["action_items"].add(sid, i, x["issue_id"], x["type"], x["action_item"])
    for i, x in enumerate(analysis.get("timeline", [])):
        tables["timeline_events"].add(sid, i, x["title"], x["description"])
    feedback = tables["feedback_items"]
    for i, x in enumerate(prompt["feedback_items"] if prompt else []):
        feedback.add(sid, i, x["issue_id"], x["summary"], x["excerpt"], x["details"])


def to_arrow(columns: Columns, schema: pa.Schema) -> pa.Table:
    arrays = []
    for values, field in zip(columns.lists, schema, strict=True):
        if pa.types.is_timestamp(field.type) and values and isinstance(values[0], str):
            arrays.append(pa.array(values, pa.string()).cast(TIMESTAMP))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    tables = {t.name: Columns(t.column_names) for t in DATA_TABLES}
    now = datetime.now(UTC)
    with open(source, "rb") as lines:
        for line in lines:
            add_session(tables, orjson.loads(line), "baseline", now)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(out / "baseline.duckdb"))
    for table in DATA_TABLES:
        data = to_arrow(tables.pop(table.name), table.arrow_schema)
        pq.write_table(data, out / f"{table.name}.parquet", compression="zstd")
        con.register("data", data)
        con.execute(f"CREATE TABLE {table.name} AS SELECT * FROM data")
        con.unregister("data")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
