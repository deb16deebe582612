"""devin-export: Devin Enterprise sessions into DuckDB and Parquet."""

import os

__version__ = "0.1.0"

# Arrow picks its allocator when pyarrow is first imported, which is after this. Its default here
# (mimalloc) holds on to freed memory: the 100k load peaked 25-50 MB higher than with the C
# library's malloc, at the same speed. A choice the user made in the environment wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
