"""Aggregates: the small tables the usage views and the report read, kept by each batch.

Each file of sql/aggregates/ is one table: its first line names the key (`-- key: a, b`), its
second says what it holds, and its query adds up the session tables by that key. The first
column after the key counts the rows a group stands for (sessions, issues, PRs...): a group whose
count falls to 0 is gone. Every other column is a sum too, so a group's figures are the sums of
what each session adds to it, and a batch changes them by what its sessions add now less what
their stored versions added: the query runs over the batch alone and over the rows the batch
replaced (pipeline.shadow), never over the warehouse. A night costs what it wrote, not what the
warehouse holds. The tables are made whole, from every row, when they are new (a first run, an
upgrade that brings a new aggregate or changes one), and by a rebuild.

Figures that are not sums (a merge rate, the most common spelling of a label) are the views'
work, from these sums. ACU sums go with a count of the sessions whose ACUs are known, so a view
shows NULL where a sum of nothing would have been NULL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.memory import transaction, with_more_memory
from pipeline.schema import DATA_TABLES
from pipeline.shadow import shadowed, stored

PACKAGE_DIR = Path(__file__).resolve().parent
AGGREGATE_DIRS = (PACKAGE_DIR.parent / "sql" / "aggregates", PACKAGE_DIR / "sql" / "aggregates")
STATE_TABLE = "aggregate_versions"  # which version of each aggregate's SQL made its table
# The session tables the aggregates read (through the staging views): a batch's replaced rows of
# these are kept for the change; a test holds every aggregate to them.
INPUTS = ("sessions", "pull_requests", "issues", "action_items", "note_usages")
_KEY_LINE = re.compile(r"--\s*key:\s*(.+?)\s*$")


@dataclass(frozen=True)
class Aggregate:
    name: str
    keys: tuple[str, ...]
    description: str
    sql: str
    sha: str  # of its SQL and of the staging SQL it reads: another version is another table


def aggregate_dir() -> Path | None:
    return next((d for d in AGGREGATE_DIRS if d.is_dir()), None)


def staging_files() -> list[Path]:
    """The files of the staging layer the aggregates read: its views and macros (text_key)."""
    directory = aggregate_dir()
    if directory is None:
        return []
    return sorted((directory.parent / "staging").glob("*.sql"))


def staging_sql() -> str:
    """The text of the staging layer the aggregates read (it is part of their version)."""
    return "".join(p.read_text() for p in staging_files())


def load_aggregates(directory: Path | None = None, staging: str = "") -> list[Aggregate]:
    directory = directory if directory is not None else aggregate_dir()
    if directory is None:
        return []
    found = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        match = _KEY_LINE.match(lines[0]) if lines else None
        if match is None:
            raise ValueError(f"{path}: the first line must be '-- key: COLUMN, ...'")
        keys = tuple(k.strip() for k in match.group(1).split(","))
        description = lines[1].removeprefix("--").strip() if len(lines) > 1 else ""
        sql = text.strip().rstrip(";")
        sha = hashlib.sha256((staging + sql).encode()).hexdigest()[:16]
        found.append(Aggregate(path.stem, keys, description, sql, sha))
    return found


class Aggregates:
    """The aggregate tables of one warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.all = load_aggregates(staging=staging_sql())

    def stale(self) -> list[Aggregate]:
        """The aggregates whose table is missing or was made by another version of its SQL."""
        con = self.con
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (name VARCHAR PRIMARY KEY, sha VARCHAR)"
        )
        made = dict(con.execute(f"SELECT name, sha FROM {STATE_TABLE}").fetchall())
        return [a for a in self.all if made.get(a.name) != a.sha]

    def rebuild(self, aggregates: list[Aggregate] | None = None) -> None:
        """Make the tables whole again from every row of the warehouse, on any connection to it
        (README: by hand, after editing the tables): the staging layer they read is created
        first, this version's, as their version records it; a warehouse that no run of this
        release opened has an older one, or lacks the macros (text_key, text_cut)."""
        self.create_staging()
        for agg in self.all if aggregates is None else aggregates:
            self.make(agg)

    def create_staging(self) -> None:
        """Create (or replace) the staging layer's views and macros, as a run's views step does."""
        for path in staging_files():
            self.con.execute(path.read_text())

    def make(self, agg: Aggregate) -> None:
        """Make one table whole from every row, its comment and version in one transaction; one
        of pasted logs that outgrows DuckDB's cache is made again with more (pipeline.memory)."""
        with_more_memory(self.con, lambda: self._make(agg), f"making {agg.name} whole")

    def _make(self, agg: Aggregate) -> None:
        con = self.con
        with transaction(con):
            con.execute(f"CREATE OR REPLACE TABLE {agg.name} AS {agg.sql}")
            comment = agg.description.replace("'", "''")
            con.execute(f"COMMENT ON TABLE {agg.name} IS '{comment}'")
            con.execute(f"INSERT OR REPLACE INTO {STATE_TABLE} VALUES (?, ?)", [agg.name, agg.sha])

    def apply(self, before: Mapping[str, pa.Table], after: Mapping[str, pa.Table]) -> None:
        """Change every table by what after's rows add less what before's rows added."""
        subtract = any(t.num_rows for t in before.values())
        if subtract:  # what the replaced rows added, kept while the batch's rows are read
            with self._reading(before, "before"):
                for agg in self.all:
                    self.con.execute(f"CREATE OR REPLACE TEMP TABLE before_{agg.name} AS {agg.sql}")
        with self._reading(after, "after"):
            for agg in self.all:
                self._merge(agg, subtract)

    def _values(self, agg: Aggregate) -> dict[str, str]:
        """The table's summed columns and their types, in order."""
        return {
            name: type_
            for name, type_ in self.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = 'main' "
                "AND table_name = ? ORDER BY column_index",
                [agg.name],
            ).fetchall()
            if name not in agg.keys
        }

    def _merge(self, agg: Aggregate, subtract: bool) -> None:
        """Add to agg's table what the batch's rows (read now) add, less what the rows they
        replaced added (before_AGG); a group whose count falls to 0 goes. One statement."""
        keys, values = ", ".join(agg.keys), self._values(agg)
        change = agg.sql
        if subtract:
            negated = ", ".join(f"-{v} AS {v}" for v in values)
            sums = ", ".join(f"sum({v})::{t} AS {v}" for v, t in values.items())
            change = (
                f"SELECT {keys}, {sums} FROM (({agg.sql}) UNION ALL BY NAME "
                f"SELECT {keys}, {negated} FROM temp.main.before_{agg.name}) GROUP BY ALL"
            )
        same_key = " AND ".join(f"t.{k} IS NOT DISTINCT FROM d.{k}" for k in agg.keys)
        count = next(iter(values))
        self.con.execute(
            f"MERGE INTO {agg.name} AS t USING ({change}) AS d ON {same_key} "
            f"WHEN MATCHED AND t.{count} + d.{count} = 0 THEN DELETE "
            "WHEN MATCHED THEN UPDATE SET "
            + ", ".join(f"{v} = t.{v} + d.{v}" for v in values)
            + f" WHEN NOT MATCHED AND d.{count} <> 0 THEN INSERT BY NAME"
        )
        if subtract:
            self.con.execute(f"DROP TABLE temp.main.before_{agg.name}")

    @contextmanager
    def _reading(self, tables: Mapping[str, pa.Table], side: str) -> Iterator[None]:
        """Shadow each session table with the given rows (none where a table is not given)."""
        con, relations, registered = self.con, {}, []
        for table in DATA_TABLES:
            if table.name in tables and table.name in INPUTS:
                name = f"batch_{side}_{table.name}"
                con.register(name, tables[table.name])
                registered.append(name)
                relations[table.name] = f"SELECT * FROM {name}"
            else:
                relations[table.name] = f"SELECT * FROM {stored(con, table.name)} WHERE false"
        try:
            with shadowed(con, relations):
                yield
        except BaseException:
            with suppress(duckdb.Error):  # refused in an aborted transaction: see shadowed
                for name in registered:
                    con.unregister(name)
            raise
        for name in registered:
            con.unregister(name)
