"""What the extract step hands on: one answer of the API, or one saved line of a raw file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pipeline.errors import ApiError


class Kind(StrEnum):
    SESSION = "session"  # the answer for one session id
    PAGE = "page"  # a page of the list endpoint
    SAVED = "saved"  # a line of a raw file, not parsed yet: a session or a page


@dataclass
class Response:
    kind: Kind
    key: str  # the session id asked for, the page ("page skip=200"), or "file:line"
    data: Any = None  # the parsed body; None for SAVED until parsed, and for errors
    body: bytes = b""
    error: ApiError | None = None
    received_at: datetime | None = None
    # A saved line of a gzip raw file: which file and member, i.e. which batch of its run, it
    # was written in (None for answers of the API and lines of plain .jsonl files).
    written_in: str | None = None
