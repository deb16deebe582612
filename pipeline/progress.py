"""What the run tells people and machines on stderr: progress, events and per-session errors.

Text for people (a live bar on a terminal, a plain line every few seconds otherwise), or one JSON
object a line for log collectors. Everything written passes through redact(), so the API key
cannot reach a log even by accident, whole or in part.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from pipeline.redact import Redactor


class Reporter:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        fmt: str = "text",
        quiet: bool = False,
        redactor: Redactor | None = None,
        interval: float = 5.0,
    ) -> None:
        self.stream = stream or sys.stderr
        self.json = fmt == "json"
        self.quiet = quiet
        self.redactor = redactor or Redactor()
        self.interval = interval
        self.live = not self.json and self.stream.isatty()
        self._started = time.monotonic()
        self._last = self._started
        self._bar_shown = False

    def redact(self, text: str) -> str:
        return self.redactor.text(text)

    def _write(self, line: str) -> None:
        if self._bar_shown:
            line = "\r\033[K" + line
            self._bar_shown = False
        self.stream.write(self.redact(line) + "\n")
        self.stream.flush()

    def event(self, event: str, message: str = "", level: str = "info", **fields: Any) -> None:
        """Report something that happened; info is silent in text mode under --quiet."""
        if self.json:
            record = {"time": datetime.now(UTC), "level": level, "event": event}
            if message:
                record["message"] = message
            record.update(fields)
            self._write(orjson.dumps(record, default=str).decode())
        elif level != "info" or not self.quiet:
            prefix = "" if level == "info" else f"{level}: "
            self._write(f"devin-export: {prefix}{message or event}")

    def session_error(self, session_id: str, kind: str, message: str, status: int | None) -> None:
        """One line for each session that failed: always shown, even with --quiet."""
        self.event(
            "session_failed",
            f"{session_id}: {kind}: {message}",
            level="error",
            session_id=session_id,
            kind=kind,
            http_status=status,
        )

    def progress(self, done: int, failed: int, *, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        elapsed = max(now - self._started, 1e-9)
        if self.live:
            if force or now - self._last >= 0.1:
                self._last = now
                rate = done / elapsed
                line = f"\r\033[Kexporting: {done} sessions, {failed} failed, {rate:.0f}/s"
                self.stream.write(line)
                self.stream.flush()
                self._bar_shown = True
            return
        if force or now - self._last >= self.interval:
            self._last = now
            self.event(
                "progress",
                f"{done} sessions exported, {failed} failed, {done / elapsed:.0f}/s",
                exported=done,
                failed=failed,
            )

    def finish(self) -> None:
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False
