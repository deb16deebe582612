"""Running the warehouse's own SQL over part of it: each session table read as another relation.

A temporary view takes precedence over the table of the same name, inside the persistent views
too (stg_sessions reads the shadow, not the table), so the checks and the aggregates run the same
SQL over the whole warehouse, over a run's sessions, or over a batch not yet written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

import duckdb


def stored(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The fully qualified name of a stored table: `main.x` would find the shadow itself."""
    ((database,),) = con.execute("SELECT current_database()").fetchall()
    return f'"{database}".main.{table}'


@contextmanager
def shadowed(con: duckdb.DuckDBPyConnection, relations: Mapping[str, str]) -> Iterator[None]:
    """Within the block, every query reads each table named in relations as its SELECT."""
    try:
        for name, select in relations.items():
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")
        yield
    except BaseException:
        # A failed query aborts the transaction, which then refuses even these drops (and
        # rolls the views back): the first error is the one to tell.
        with suppress(duckdb.Error):
            _drop(con, relations)
        raise
    _drop(con, relations)


def _drop(con: duckdb.DuckDBPyConnection, relations: Mapping[str, str]) -> None:
    for name in relations:
        con.execute(f"DROP VIEW IF EXISTS temp.main.{name}")
