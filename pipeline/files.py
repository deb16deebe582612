"""Writing files safely: atomic replacement, and disk errors as StorageError (exit 3)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.errors import StorageError


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Turn a full disk or an unwritable path into StorageError (exit 3)."""
    try:
        yield
    except OSError as err:
        raise StorageError(f"cannot write {what}: {err.strerror or err}") from None
    except duckdb.IOException as err:
        raise StorageError(f"cannot write {what}: {err}") from None


def fsync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def replace_atomically(tmp: Path, target: Path) -> None:
    """Rename tmp over target after its bytes are on disk, so a crash leaves one or the other."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    fsync_dir(target.parent)


_FICLONE = 0x40049409  # linux/fs.h: share the blocks of a file, copy-on-write


def clone(source: Path, target: Path) -> bool:
    """Make target a copy-on-write clone of source where the file system offers one (btrfs,
    XFS, ...: no data moved whatever the size); False (target removed) where it does not."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            return True
        except OSError:
            pass
    target.unlink()
    return False


def copy_whole(source: Path, target: Path) -> None:
    """Copy source to target in one sequential copy inside the kernel."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        copy_range(src.fileno(), dst.fileno(), 0, os.fstat(src.fileno()).st_size)


def copy_range(src: int, dst: int, offset: int, length: int) -> None:
    """Copy length bytes at offset of src to the same offset of dst."""
    done = 0
    try:
        while done < length:
            step = os.copy_file_range(src, dst, length - done, offset + done, offset + done)
            if step == 0:
                return
            done += step
    except OSError:  # no copy_file_range across these file systems: copy in user space
        while done < length:
            chunk = os.pread(src, min(1 << 20, length - done), offset + done)
            if not chunk:
                return
            os.pwrite(dst, chunk, offset + done)
            done += len(chunk)
