"""devin-export: Devin Enterprise sessions into DuckDB and Parquet."""

__version__ = "0.2.0"
