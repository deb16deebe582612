"""Publishing the working copy as DIR/devin.duckdb: a new file renamed over the old one, made at
the cost of the blocks that changed where the file system allows it.

Readers never see a file being written: the new file is made beside, fsynced and renamed over
devin.duckdb, so a reader holding the old one open keeps reading it whole. How the new file is
made, cheapest first:

1. a copy-on-write clone of the working copy (btrfs, XFS...): no data moved;
2. the spare patched: the file published the time before last, which the last publish kept in
   DIR/.devin-export instead of letting it go, made equal to the working copy by writing only
   the blocks that differ. A DuckDB file is three 4 KiB headers, then blocks that each begin
   with the checksum of their contents (storage version 64, the one devin.duckdb is written in
   for DuckDB 1.1 readers), so comparing 8 bytes a block tells the blocks a night changed: a few
   MB instead of the whole file. Only when nobody holds the spare open: DuckDB readers hold a
   lock on the file for as long as they have it open, and one who opened it two publishes ago
   is still reading it;
3. a whole copy, inside the kernel.

The spare costs the disk one more copy of the warehouse. A spare being patched is renamed first
(PATCHING): one left by a crash is not trusted, and deleted.
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

from pipeline.files import clone, copy_range, copy_whole, replace_atomically

SPARE = "published.spare"  # in the state folder
PATCHING = "published.patching"
KEEPING = "published.keeping"
HEADERS = 3 * 4096
MAGIC = b"DUCK"
STORAGE_VERSION = 64  # the version number DuckDB writes for storage compatibility v1.1.0
BLOCK = 256 * 1024
CHECKSUM = 8


def publish_file(work: Path, published: Path, state_dir: Path) -> None:
    """Put a copy of work over published; keep the replaced file as the next spare."""
    tmp = published.with_name(f".{published.name}.tmp")
    for leftover in (tmp, state_dir / PATCHING, state_dir / KEEPING):
        leftover.unlink(missing_ok=True)
    if not clone(work, tmp) and not _patch_spare(work, state_dir, tmp):
        copy_whole(work, tmp)
    keeping = state_dir / KEEPING
    try:
        os.link(published, keeping)  # the old file lives on as the spare
        kept = True
    except OSError:
        kept = False  # none published yet, or no hard links here: copies from now on
    replace_atomically(tmp, published)
    if kept:
        os.replace(keeping, state_dir / SPARE)


def _patch_spare(work: Path, state_dir: Path, tmp: Path) -> bool:
    """Make the spare equal to work by writing the blocks that differ, then move it to tmp;
    False (nothing changed) when there is no spare, someone holds it open, or either file is
    not laid out as expected."""
    spare, patching = state_dir / SPARE, state_dir / PATCHING
    try:
        dst = open(spare, "r+b")  # noqa: SIM115 - closed below, after the rename
    except OSError:
        return False
    with dst, open(work, "rb") as src:
        if not _nobody_reading(dst.fileno()):
            return False
        size = _size(src.fileno())
        if not (_blocks(src.fileno(), size) and _blocks(dst.fileno(), _size(dst.fileno()))):
            return False
        os.replace(spare, patching)  # half patched, it is never trusted again
        copy_range(src.fileno(), dst.fileno(), 0, HEADERS)
        for offset in range(HEADERS, size, BLOCK):
            if os.pread(src.fileno(), CHECKSUM, offset) != os.pread(dst.fileno(), CHECKSUM, offset):
                copy_range(src.fileno(), dst.fileno(), offset, BLOCK)
        dst.truncate(size)
    os.replace(patching, tmp)
    return True


def _nobody_reading(fd: int) -> bool:
    """Lock the whole file for writing, if no DuckDB connection holds it (they lock it while
    open): an open file description lock, which sees this process's connections too."""
    if not hasattr(fcntl, "F_OFD_SETLK"):  # not Linux: a process lock, blind to this process
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    flock = struct.pack("hhxxxxqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)  # struct flock
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, flock)
    except OSError:
        return False
    return True


def _size(fd: int) -> int:
    return os.fstat(fd).st_size


def _blocks(fd: int, size: int) -> bool:
    """Whether the file is laid out as _patch_spare expects: DuckDB's magic, storage version
    STORAGE_VERSION, and blocks of BLOCK bytes after the headers (its database headers say)."""
    main = os.pread(fd, CHECKSUM + 12, 0)
    if len(main) < CHECKSUM + 12 or main[CHECKSUM : CHECKSUM + 4] != MAGIC:
        return False
    if struct.unpack_from("<Q", main, CHECKSUM + 4)[0] != STORAGE_VERSION:
        return False
    if size < HEADERS or (size - HEADERS) % BLOCK:
        return False
    for at in (4096, 8192):  # iteration, meta block, free list, block count, block size
        fields = os.pread(fd, CHECKSUM + 40, at)
        if len(fields) < CHECKSUM + 40:
            return False
        if struct.unpack_from("<Q", fields, CHECKSUM + 32)[0] != BLOCK:
            return False
    return True
