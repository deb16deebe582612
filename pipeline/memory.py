"""DuckDB steps of an export: each in one transaction, and more memory for the one that needs it.

The export's DuckDB runs within MEMORY_LIMIT (pipeline.warehouse sets it on open). A few steps
hold whole rows of free text at once, and an analysis that pastes a log of tens of kB into
hundreds of issues' labels and impacts makes them outgrow it: a batch's transaction (the rows it
replaces, handed to the aggregates; its commit), an aggregate made whole (text_key over every
label), a table's Parquet read. Such a step is run once more with MORE_MEMORY_LIMIT, then the
limit goes back down, so every other step of the night keeps the small cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

import duckdb

# DuckDB's buffer pool: enough for a batch's inserts and a checkpoint. Every block read stays
# cached up to this limit, so it is most of what a night on a large warehouse holds more than
# one on an empty warehouse; queries that need more spill to DIR/.devin-export/tmp.
MEMORY_LIMIT = "64MB"
# A step that ran out of MEMORY_LIMIT gets this much for one more try: 4x, and what the report
# may take already (pipeline.report), so no step of an export holds more DuckDB memory than
# that. 600 issues with 35 kB in both label and impact need about 160 MB to make
# agg_issue_labels or agg_spellings whole (text_key's steps each hold a copy of the texts of a
# vector: up to 2,048 rows), 130 MB to delete them for a batch (RETURNING), 100 MB to read them
# for Parquet, each beside the blocks the night already caches; with logs of 50 kB, the largest
# seen, 190 MB: all of a night and a rebuild over them succeed within 256 MB. Peak memory grows
# only on the nights that need it; every other step keeps MEMORY_LIMIT.
MORE_MEMORY_LIMIT = "256MB"
# What DuckDB's buffer manager says when it runs out, as COMMIT reports it: a TransactionException
# ("Failed to commit: failed to pin block of size 256.0 KiB (61.0 MiB/61.0 MiB used)").
_OUT_OF_MEMORY = ("failed to pin block", "failed to allocate data", "could not allocate block")

T = TypeVar("T")

# What this process ran again with MORE_MEMORY_LIMIT, for the run to say (pipeline.export).
retried: list[str] = []


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block in one transaction: committed if it ends well, else rolled back."""
    con.execute("BEGIN")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # A COMMIT that fails (out of memory, say) has rolled back already: ROLLBACK then
        # refuses, and the commit's error is the one to tell.
        with suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise


def out_of_memory(err: BaseException) -> bool:
    """Whether DuckDB failed for want of memory: its own exception, a COMMIT's, or the OSError
    an Arrow reader of a DuckDB result raises with DuckDB's message."""
    if isinstance(err, duckdb.OutOfMemoryException):
        return True
    if isinstance(err, duckdb.TransactionException):
        return any(s in str(err).lower() for s in _OUT_OF_MEMORY)
    return isinstance(err, OSError) and str(err).startswith("Out of Memory Error")


def with_more_memory(con: duckdb.DuckDBPyConnection, step: Callable[[], T], what: str) -> T:
    """Run step, which a failure leaves undone (a transaction rolled back, a statement in
    autocommit, files staged again); when DuckDB runs out of memory, run it once more with
    MORE_MEMORY_LIMIT (noted in retried as what), then set MEMORY_LIMIT again. When it fails
    again, its error is told."""
    try:
        return step()
    except (duckdb.Error, OSError) as err:
        if not out_of_memory(err):
            raise
    retried.append(what)
    con.execute(f"SET memory_limit = '{MORE_MEMORY_LIMIT}'")
    try:
        done = step()
    except BaseException:
        with suppress(duckdb.Error):  # a connection that refuses: the step's error is the one
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        raise
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    return done
