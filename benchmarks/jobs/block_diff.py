"""Which blocks of a DuckDB file differ from another's: what publishing by patching would write.

    python block_diff.py OLD.duckdb NEW.duckdb

DuckDB's storage format v1.1 (the one devin.duckdb is written in) is three 4 KiB headers, then
blocks of 256 KiB, each starting with the 8-byte checksum of its contents. Compares the two
files' checksums block by block, then every block byte for byte to check that the checksums
told the changed blocks exactly. Prints one line: sizes, blocks, blocks changed both ways, and
the time the checksums alone took to compare.
"""

from __future__ import annotations

import os
import sys
import time

HEADERS = 3 * 4096
BLOCK = 256 * 1024
CHECKSUM = 8


def main() -> int:
    old_path, new_path = sys.argv[1], sys.argv[2]
    with open(old_path, "rb") as old, open(new_path, "rb") as new:
        old_fd, new_fd = old.fileno(), new.fileno()
        blocks = (os.fstat(new_fd).st_size - HEADERS) // BLOCK
        offsets = [HEADERS + i * BLOCK for i in range(blocks)]
        start = time.perf_counter()
        by_checksum = {
            o for o in offsets if os.pread(old_fd, CHECKSUM, o) != os.pread(new_fd, CHECKSUM, o)
        }
        seconds = time.perf_counter() - start
        by_bytes = {o for o in offsets if os.pread(old_fd, BLOCK, o) != os.pread(new_fd, BLOCK, o)}
        sizes = os.fstat(old_fd).st_size / 1e6, os.fstat(new_fd).st_size / 1e6
    print(
        f"old {sizes[0]:.0f} MB, new {sizes[1]:.0f} MB, {blocks} blocks: {len(by_checksum)} "
        f"changed by checksum, {len(by_bytes)} byte for byte, "
        f"{len(by_checksum ^ by_bytes)} told apart wrongly; checksums compared in "
        f"{seconds * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
