"""The Parquet dataset: one Hive partition per created_at month, rewritten only where it changed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipeline import parquet
from pipeline.parquet import EMPTY_PARTITION, MONTH_KEY, PARTITION_KEY, STATE_FILE, write_snapshots
from pipeline.schema import BY_NAME, DATA_TABLES, RUN_TABLES, TABLES
from pipeline.warehouse import STATE_DIR, Warehouse
from tests.helpers import NO_BILL, query, run_cli

# The last instant of a month and the first of the next, in UTC: each alone in its month.
END_OF_JANUARY = "2025-01-31T23:59:59.999999Z"
START_OF_FEBRUARY = "2025-02-01T00:00:00Z"


def export(server, out: Path, *args: str) -> dict:
    """Run the CLI against the fake API; return its summary JSON."""
    summary = out.parent / "summary.json"
    result = run_cli(*args, "--out", str(out), "--api-url", server.url, "--quiet",
                     "--summary-json", str(summary))  # fmt: skip
    assert result.code == 0, result.stderr
    return json.loads(summary.read_text())


def months_of(db: Path, table: str) -> set[str]:
    """The created_at months (UTC) of the sessions the table has rows for, in DuckDB."""
    join = "" if table == "sessions" else f"join {table} t using (session_id)"
    rows = query(db, f"select distinct strftime(s.created_at at time zone 'UTC', '%Y-%m') "
                     f"from sessions s {join}")  # fmt: skip
    return {m for (m,) in rows}


def files(out: Path) -> dict[Path, tuple[int, int]]:
    """Every file under DIR/parquet, with its inode and modification time."""
    return {
        p.relative_to(out / "parquet"): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in (out / "parquet").rglob("*")
        if p.is_file()
    }


def assert_same_rows_as_duckdb(out: Path) -> None:
    """Every table's dataset holds exactly the warehouse's rows, each in its session's month."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{out / 'devin.duckdb'}' AS db (READ_ONLY)")
    for table in TABLES:
        columns = ", ".join(table.column_names)
        folder = out / "parquet" / table.name
        if table.per_session:
            files_of = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
            month = "strftime(s.created_at AT TIME ZONE 'UTC', '%Y-%m')"
            wrong = con.execute(
                f"SELECT count(*) FROM {files_of} p JOIN db.sessions s USING (session_id) "
                f"WHERE p.{PARTITION_KEY} <> {month}"
            ).fetchall()[0][0]
            assert wrong == 0, table.name
        elif table.month_of is not None:  # consumption_daily: by the month of billing_date
            files_of = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
            wrong = con.execute(
                f"SELECT count(*) FROM {files_of} "
                f"WHERE {MONTH_KEY} <> strftime({table.month_of}, '%Y-%m')"
            ).fetchall()[0][0]
            assert wrong == 0, table.name
        else:
            files_of = f"read_parquet('{folder}/*.parquet')"
        for a, b in ((f"db.{table.name}", files_of), (files_of, f"db.{table.name}")):
            missing = con.execute(
                f"SELECT count(*) FROM (SELECT {columns} FROM {a} EXCEPT ALL "
                f"SELECT {columns} FROM {b})"
            ).fetchall()[0][0]
            assert missing == 0, f"{table.name}: {missing} rows of {a} not in {b}"
    con.close()


def export_two_months(server, out: Path, *args: str) -> tuple[str, str]:
    jan, feb = server.devin.ids()[:2]
    server.devin.update(jan, created_at=END_OF_JANUARY)
    server.devin.update(feb, created_at=START_OF_FEBRUARY)
    export(server, out, "--all", *args)
    return jan, feb


@pytest.fixture
def exported(server, out):
    """The fake API's sessions exported, two of them alone in a month of their own, and the
    bill (consumption_daily, partitioned by billing month)."""
    return export_two_months(server, out)


@pytest.fixture
def sessions_exported(server, out):
    """The same sessions without the bill, for tests of the sessions' partitions alone."""
    return export_two_months(server, out, *NO_BILL)


def test_every_table_is_partitioned_by_its_sessions_created_month(server, out, exported):
    db = out / "devin.duckdb"
    assert {"2025-01", "2025-02"} <= months_of(db, "sessions")
    for table in DATA_TABLES:
        folder = out / "parquet" / table.name
        expected = {f"{PARTITION_KEY}={m}" for m in months_of(db, table.name)} or {EMPTY_PARTITION}
        assert {p.name for p in folder.iterdir()} == expected, table.name
        for partition in folder.iterdir():
            assert [f.name for f in partition.iterdir()] == [f"{table.name}.parquet"]
            schema = pq.read_schema(partition / f"{table.name}.parquet")
            # The files carry the full schema with every column's description, and created_month
            # only in their path.
            assert schema.equals(table.arrow_schema, check_metadata=True), table.name
    for table in RUN_TABLES:
        assert [p.name for p in (out / "parquet" / table.name).iterdir()] == [
            f"{table.name}.parquet"
        ]
    hidden = [p for p in files(out) if any(part.startswith(".") for part in p.parts)]
    assert hidden == [Path(STATE_FILE)]  # nothing staged is left behind
    assert_same_rows_as_duckdb(out)


def test_consumption_daily_is_partitioned_by_billing_month(server, out, exported):
    db = out / "devin.duckdb"
    months = {m for (m,) in query(db, "select distinct strftime(billing_date, '%Y-%m') "
                                      "from consumption_daily")}  # fmt: skip
    assert len(months) > 3  # every cycle since January 2025
    folder = out / "parquet" / "consumption_daily"
    assert {p.name for p in folder.iterdir()} == {f"{MONTH_KEY}={m}" for m in months}
    table = BY_NAME["consumption_daily"]
    for partition in folder.iterdir():
        schema = pq.read_schema(partition / "consumption_daily.parquet")
        assert schema.equals(table.arrow_schema, check_metadata=True)
        month = partition.name.split("=")[1]
        dates = pq.read_table(partition / "consumption_daily.parquet").column("billing_date")
        assert {d.strftime("%Y-%m") for d in dates.to_pylist()} == {month}
    assert_same_rows_as_duckdb(out)


def test_a_night_rewrites_only_the_partitions_of_the_sessions_it_wrote(server, out, exported):
    jan, _ = exported
    before = files(out)
    summary = export(server, out, jan)
    after = files(out)
    changed = {p for p in after if after[p] != before.get(p)}
    january = {Path(t.name) / f"{PARTITION_KEY}=2025-01" / f"{t.name}.parquet" for t in DATA_TABLES}
    # every table of one file (the runs', and the enterprise's: small) is rewritten whole,
    # and the bill's days (small too) in every billing month
    run_tables = {Path(t.name) / f"{t.name}.parquet" for t in TABLES
                  if not t.per_session and t.month_of is None}  # fmt: skip
    billed = {p for p in after if p.parts[0] == "consumption_daily"}
    assert billed and all(p.parts[1].startswith(f"{MONTH_KEY}=") for p in billed)
    assert changed - {Path(STATE_FILE)} == (january & set(after)) | run_tables | billed
    assert set(before) - set(after) == set()
    written = {Path(p).relative_to(out / "parquet") for p in summary["paths"] if "parquet" in p}
    assert written == changed - {Path(STATE_FILE)}  # the run says which files it wrote
    assert_same_rows_as_duckdb(out)


def test_a_session_that_moves_to_another_month_leaves_no_partition_behind(
    server, out, sessions_exported
):
    jan, _ = sessions_exported
    server.devin.update(jan, created_at="2025-03-15T12:00:00Z")
    export(server, out, jan)
    for table in DATA_TABLES:
        names = {p.name for p in (out / "parquet" / table.name).iterdir()}
        assert f"{PARTITION_KEY}=2025-01" not in names, table.name
    assert (out / "parquet" / "sessions" / f"{PARTITION_KEY}=2025-03").is_dir()
    assert_same_rows_as_duckdb(out)


def test_snapshot_names_what_was_written_and_removed(tmp_path):
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        con = warehouse.db
        con.execute(
            "INSERT INTO sessions (session_id, created_at) VALUES "
            "('a', '2025-01-10 00:00:00+00'), ('b', '2025-02-10 00:00:00+00')"
        )
        con.execute("INSERT INTO session_tags VALUES ('a', 0, 'x'), ('b', 0, 'y')")
        first = write_snapshots(con, tmp_path / "parquet")
        tags = tmp_path / "parquet" / "session_tags"
        assert tags / f"{PARTITION_KEY}=2025-01" / "session_tags.parquet" in first.written
        assert first.months is None

        con.execute("DELETE FROM session_tags WHERE session_id = 'a'")
        second = write_snapshots(con, tmp_path / "parquet", {"2025-01"})
        assert second.months == ["2025-01"]
        assert second.removed == [tags / f"{PARTITION_KEY}=2025-01"]
        assert all("2025-02" not in str(p) for p in second.written)  # untouched month
        assert (
            tmp_path / "parquet" / "sessions" / f"{PARTITION_KEY}=2025-01" / ("sessions.parquet")
            in second.written
        )
    finally:
        warehouse.close()


def test_an_empty_table_keeps_one_file_with_its_columns_until_rows_arrive(tmp_path):
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        con, root = warehouse.db, tmp_path / "parquet"
        write_snapshots(con, root)
        for table in DATA_TABLES:
            assert [p.name for p in (root / table.name).iterdir()] == [EMPTY_PARTITION]
            data = pq.read_table(root / table.name)  # Hive-partitioned: created_month too
            assert data.num_rows == 0
            assert data.schema.names == [*table.column_names, PARTITION_KEY]

        con.execute(
            "INSERT INTO sessions (session_id, created_at) VALUES ('a', '2025-01-10 00:00:00+00')"
        )
        write_snapshots(con, root, {"2025-01"})
        assert [p.name for p in (root / "sessions").iterdir()] == [f"{PARTITION_KEY}=2025-01"]
        assert [p.name for p in (root / "session_tags").iterdir()] == [EMPTY_PARTITION]

        con.execute("DELETE FROM sessions")  # the table empties: its one file comes back
        result = write_snapshots(con, root, {"2025-01"})
        assert [p.name for p in (root / "sessions").iterdir()] == [EMPTY_PARTITION]
        assert root / "sessions" / f"{PARTITION_KEY}=2025-01" in result.removed
    finally:
        warehouse.close()


def test_from_raw_and_a_schema_change_rewrite_every_partition(server, out, exported):
    before = files(out)
    assert run_cli("--from-raw", str(out / "raw"), "--out", str(out), "--quiet").code == 0
    rebuilt = files(out)
    assert all(rebuilt[p][0] != before[p][0] for p in before if p.suffix == ".parquet")

    with duckdb.connect(str(out / STATE_DIR / "work.duckdb")) as con:
        con.execute("ALTER TABLE sessions DROP COLUMN classification_confidence")
    export(server, out, exported[0])  # adds the column back: every partition is stale
    migrated = files(out)
    assert all(migrated[p][0] != rebuilt[p][0] for p in rebuilt if p.suffix == ".parquet")
    assert_same_rows_as_duckdb(out)


def test_the_next_run_catches_up_a_run_that_died_before_writing_parquet(
    server, out, sessions_exported, monkeypatch
):
    jan, feb = sessions_exported
    server.devin.update(jan, title="changed in a run that died")

    def die(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.export.write_snapshots", die)
    assert run_cli(jan, "--out", str(out), "--api-url", server.url, "--quiet").code == 3
    monkeypatch.undo()

    export(server, out, feb)  # another month: January is rewritten all the same
    sessions = pq.read_table(out / "parquet" / "sessions" / f"{PARTITION_KEY}=2025-01")
    assert sessions.column("title").to_pylist() == ["changed in a run that died"]
    assert_same_rows_as_duckdb(out)


def test_without_its_state_file_the_dataset_is_rebuilt_and_the_old_layout_removed(
    server, out, exported
):
    old = out / "parquet" / "sessions" / "sessions.parquet"  # how release 0.1 wrote tables
    old.write_bytes((out / "parquet" / "export_runs" / "export_runs.parquet").read_bytes())
    (out / "parquet" / STATE_FILE).unlink()
    (out / "parquet" / ".staging" / "x").mkdir(parents=True)  # a crashed run's leftovers
    before = files(out)
    summary = export(server, out, exported[0])
    after = files(out)
    assert not old.exists() and not (out / "parquet" / ".staging").exists()
    assert all(after[p][0] != before[p][0] for p in after if p in before)
    assert len([p for p in summary["paths"] if p.endswith(".parquet")]) == len(after) - 1
    assert_same_rows_as_duckdb(out)


def test_a_reader_listing_a_table_during_a_rewrite_sees_every_row_once(
    server, out, sessions_exported
):
    counts = {t: query(out / "devin.duckdb", f"select count(*) from {t}")[0][0]
              for t in ("sessions", "timeline_events")}  # fmt: skip
    seen: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for table in counts:
                try:
                    seen.append((table, pq.read_table(out / "parquet" / table).num_rows))
                except BaseException as err:  # noqa: BLE001 - reported below
                    errors.append(err)

    reader = threading.Thread(target=read)
    warehouse = Warehouse(out)
    warehouse.open()
    reader.start()
    try:
        for _ in range(5):
            write_snapshots(warehouse.db, out / "parquet", None)
    finally:
        done.set()
        reader.join()
        warehouse.close()
    assert errors == []
    assert len(seen) > 5
    assert all(n == counts[table] for table, n in seen)


def test_partitions_stay_one_file_when_rows_are_written_in_many_row_groups(
    server, out, sessions_exported, monkeypatch
):
    # Small limits, as if each month held far more than the memory a run may use.
    monkeypatch.setattr(parquet, "READ_ROWS", 16)
    monkeypatch.setattr(parquet, "GROUP_BYTES", 4_000)
    monkeypatch.setattr(parquet, "BUFFER_BYTES", 8_000)
    warehouse = Warehouse(out)
    warehouse.open()
    try:
        write_snapshots(warehouse.db, out / "parquet", None)
    finally:
        warehouse.close()
    for table in DATA_TABLES:
        for partition in (out / "parquet" / table.name).iterdir():
            assert len(list(partition.iterdir())) == 1
    groups = [
        pq.ParquetFile(f).num_row_groups
        for f in (out / "parquet" / "timeline_events").rglob("*.parquet")
    ]
    assert max(groups) > 1
    assert_same_rows_as_duckdb(out)


def test_timestamps_are_utc_instants_in_microseconds(server, out, sessions_exported):
    schema = pq.read_schema(next((out / "parquet" / "sessions").rglob("*.parquet")))
    for name in ("created_at", "updated_at", "_extracted_at", "deleted_at", "ended_at"):
        assert str(schema.field(name).type) == "timestamp[us, tz=UTC]"
    assert (
        BY_NAME["sessions"].arrow_schema.field("created_at").type == schema.field("created_at").type
    )


def test_runs_are_caught_up_in_the_order_they_started_not_by_their_ids(tmp_path):
    # Two runs in one second: the later one's random suffix may sort first.
    first, later = "20250101T000000Z-ffffff", "20250101T000000Z-000000"
    warehouse = Warehouse(tmp_path)
    warehouse.open()
    try:
        con, root = warehouse.db, tmp_path / "parquet"
        con.execute(
            "INSERT INTO export_runs (run_id, started_at) VALUES "
            f"('{first}', '2025-01-01 00:00:00.1+00'), ('{later}', '2025-01-01 00:00:00.2+00')"
        )
        write_snapshots(con, root, None, first)
        con.execute(
            "INSERT INTO sessions (session_id, created_at, _run_id) VALUES "
            f"('a', '2025-03-10 00:00:00+00', '{later}')"
        )  # written by the later run, which died before its Parquet step
        write_snapshots(con, root, set(), "20250102T000000Z-abcdef")
        assert (root / "sessions" / f"{PARTITION_KEY}=2025-03").is_dir()
    finally:
        warehouse.close()


def test_a_query_larger_than_duckdbs_memory_spills_under_the_state_folder(tmp_path, monkeypatch):
    # The buffer pool is kept small (MEMORY_LIMIT); what does not fit goes to DIR/.devin-export.
    monkeypatch.chdir(tmp_path)
    warehouse = Warehouse(tmp_path / "out")
    warehouse.open()
    try:
        groups = warehouse.db.execute(
            "SELECT count(*) FROM (SELECT range::VARCHAR || 'x' AS k, count(*) FROM range(3000000) "
            "GROUP BY k)"
        ).fetchall()
        assert groups == [(3_000_000,)]
    finally:
        warehouse.close()
    assert not (tmp_path / ".tmp").exists()


def test_a_night_carries_its_months_other_sessions_over_from_the_old_file(
    server, out, sessions_exported
):
    changed, kept, other = server.devin.ids()[2:5]
    for day, session in enumerate((changed, kept, other), start=10):
        server.devin.update(session, created_at=f"2025-03-{day}T12:00:00Z")
    export(server, out, changed, kept, other)
    server.devin.update(changed, title="changed by the night")
    export(server, out, changed)
    assert_same_rows_as_duckdb(out)  # a month of three sessions, one of them rewritten

    march = out / "parquet" / "sessions" / f"{PARTITION_KEY}=2025-03" / "sessions.parquet"

    def titles() -> dict[str, str]:
        rows = pq.read_table(march, columns=["session_id", "title"]).to_pylist()
        return {r["session_id"]: r["title"] for r in rows}

    stored = titles()[kept]
    with duckdb.connect(str(out / STATE_DIR / "work.duckdb")) as con:  # no run wrote this
        con.execute("UPDATE sessions SET title = 'edited by hand' WHERE session_id = ?", [kept])
    export(server, out, changed)
    assert titles()[kept] == stored  # the unchanged session's rows came from the old file
    assert titles()[changed] == "changed by the night"

    # A file of another schema (an older release's, a hand-made one) is not carried over: the
    # month is read from DuckDB.
    pq.write_table(pq.read_table(march).drop_columns(["title"]), march)
    export(server, out, changed)
    assert titles()[kept] == "edited by hand"
    assert_same_rows_as_duckdb(out)

    # Nor is a file whose schema and footer read well but whose data does not (a disk's bad
    # block, a copy cut and patched): the month is read from DuckDB, and the run goes on.
    with duckdb.connect(str(out / STATE_DIR / "work.duckdb")) as con:
        con.execute("UPDATE sessions SET title = 'edited again' WHERE session_id = ?", [kept])
    data = bytearray(march.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little") + 8
    data[4 : len(data) - footer] = b"\xff" * (len(data) - footer - 4)
    march.write_bytes(bytes(data))
    assert pq.read_schema(march).equals(BY_NAME["sessions"].arrow_schema)
    export(server, out, changed)
    assert titles()[kept] == "edited again"
    assert_same_rows_as_duckdb(out)
