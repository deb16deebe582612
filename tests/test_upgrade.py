"""A warehouse written by the previous release (0.1.0) is upgraded in place, keeping every row."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta

import duckdb

from pipeline.schema import BY_NAME, TABLES
from pipeline.sources.v2 import V2Source
from pipeline.warehouse import STATE_DIR
from tests.helpers import FIXTURES, query, run_cli, scalar, with_oldest_duckdb

OLD_SCHEMA = (FIXTURES / "schema-0.1.0.sql").read_text()


def old_warehouse(out, server, sessions: list[dict], watermark: datetime) -> None:
    """Write out/ as 0.1.0 left it: its tables, in DuckDB 2's own storage format."""
    work = out / STATE_DIR / "work.duckdb"
    work.parent.mkdir(parents=True)
    source = V2Source()
    with duckdb.connect(str(work)) as con:
        con.execute(OLD_SCHEMA)
        old_columns = {
            t: [r[0] for r in con.execute(f"select name from pragma_table_info('{t}')").fetchall()]
            for t in ("sessions", "session_tags", "pull_requests", "issues", "action_items",
                      "timeline_events", "feedback_items")
        }  # fmt: skip
        for payload in sessions:
            rows = source.rows(source.validate(payload), "old-run", watermark)
            for table, columns in old_columns.items():
                names = BY_NAME[table].column_names
                for row in rows[table]:
                    values = dict(zip(names, row, strict=True))
                    marks = ", ".join("?" for _ in columns)
                    con.execute(f"insert into {table} ({', '.join(columns)}) values ({marks})",
                                [values[c] for c in columns])  # fmt: skip
        con.execute(
            "insert into export_runs values ('old-run', ?, ?, 'all-full', ?, ?, ?, 0, 'ok', "
            "'0.1.0', NULL, ?, 1.5)",
            [watermark, watermark, server.url, len(sessions), len(sessions), watermark],
        )
    shutil.copyfile(work, out / "devin.duckdb")


def test_a_warehouse_of_the_previous_release_is_upgraded_in_place(server, out):
    devin = server.devin
    before = [devin.session(sid) for sid in devin.ids()]
    watermark = max(datetime.fromisoformat(s["updated_at"]) for s in before)
    old_warehouse(out, server, before, watermark)
    devin.now = watermark + timedelta(days=1)
    (touched,) = devin.add_sessions(1)
    server.clear_requests()

    result = run_cli("--all", "--out", str(out), "--api-url", server.url, "--quiet")

    assert result.code == 0, result.stderr
    db = out / "devin.duckdb"
    # Incremental from the old run's watermark: the cron job's history carries on.
    listing = [r for r in server.requests if r["path"] == "/v2/enterprise/sessions/insights"]
    assert listing and all("updated_date_from" in r["query"] for r in listing)
    stored = {sid for (sid,) in query(db, "select session_id from sessions")}
    assert stored == {s["session_id"] for s in before} | {touched}
    # Old rows not listed again are kept as they were, the new columns NULL; every row
    # written now carries api_version.
    assert scalar(db, "select count(*) from sessions where _run_id = 'old-run'") > 0
    assert scalar(db, "select count(*) from sessions where _run_id = 'old-run' "
                      "and api_version is not null") == 0  # fmt: skip
    assert query(db, "select distinct api_version from sessions where _run_id != 'old-run'") == [
        ("v2",)
    ]
    for table in TABLES:
        columns = [r[0] for r in query(db, f"select name from pragma_table_info('{table.name}')")]
        assert set(columns) == set(table.column_names), table.name
    assert scalar(db, "select count(*) from export_runs") == 2
    # Both files now in a storage format DuckDB 1.1 reads.
    for path in (db, out / STATE_DIR / "work.duckdb"):
        assert with_oldest_duckdb(path, "select count(*) from sessions") == [(len(stored),)]
