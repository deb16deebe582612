"""Session ids from the command line and ids files, checked before any request is made."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import UsageError

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_valid_session_id(value: str) -> bool:
    return _SESSION_ID.fullmatch(value) is not None


def printable_id(value: str, limit: int = 100) -> str:
    """Return an id fit for a log line or a key column: control characters escaped, long cut."""
    shown = value.encode("unicode_escape").decode("ascii") if not value.isprintable() else value
    if len(shown) > limit:
        return f"{shown[:limit]}...({len(value)} characters)"
    return shown or '""'


def read_ids_file(name: str) -> list[str]:
    """Return the ids of a file (or stdin for "-"): one a line, blanks and # comments skipped."""
    try:
        if name == "-":
            text = sys.stdin.read().removeprefix("\ufeff")
        else:
            # utf-8-sig: a file saved by an editor that writes a byte order mark loses no id.
            text = Path(name).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise UsageError(f"cannot read ids file {name}: {reason}") from None
    return [s for line in text.splitlines() if (s := line.split("#", 1)[0].strip())]


def unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))
