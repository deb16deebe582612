"""The exporter's exceptions. The CLI catches ExportError and maps it to an exit code.

ExportError                 base
  UsageError                a user mistake in flags, environment or files: exit 2
  ApiError                  a request failed after its retries
    ApiTimeout              no complete answer within --timeout
    ApiConnectionError      connection refused, reset or dropped
    ApiStatusError          an HTTP error status (.status, .url, .body)
      NotFound              404
      AuthError             401/403: fatal for the whole run, exit 3
    UnparseableBody         a 200 whose body is not JSON (malformed or truncated)
    IncompleteListing       a listing the server did not let us finish
  InvalidResponse           a body that fails validation (.path of the failing field)
  FatalError                the run cannot go on: exit 3
    LockedError             another run holds --out
    StorageError            the disk is full or the output is not writable
    MirrorError             --parquet-url: the bucket could not be brought up to date

No message ever carries the API key: the key lives only in the request headers.
"""

from __future__ import annotations

import re


class ExportError(Exception):
    """Base of every error the exporter raises on purpose."""

    exit_code = 1


class UsageError(ExportError):
    """Bad flags, a missing variable or an unreadable file."""

    exit_code = 2


class ApiError(ExportError):
    """A request to the Devin API failed after its retries."""

    kind = "http_error"
    status: int | None = None


class ApiTimeout(ApiError):
    """No complete answer within the timeout."""

    kind = "timeout"


class ApiConnectionError(ApiError):
    """The connection could not be made or was dropped."""

    kind = "connection"


class UnparseableBody(ApiError):
    """A 200 answer whose body is not valid JSON."""

    kind = "invalid_response"

    def __init__(self, message: str, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


class AnswerTooLarge(UnparseableBody):
    """An answer longer than any session or page can be: a proxy or server that does not stop."""


class IncompleteListing(ApiError):
    """The list endpoint stopped before every session was listed (or could not be followed)."""

    kind = "incomplete_listing"


def _gist(body: str) -> str:
    """Return what an error body says: an HTML page (a proxy's, a CDN's) by its title."""
    title = re.search(r"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
    if title:
        return "HTML page: " + " ".join(title.group(1).split())
    return body[:300]


class ApiStatusError(ApiError):
    """The API answered with an error status."""

    def __init__(self, status: int, url: str, body: str = "") -> None:
        detail = f": {_gist(body)}" if body else ""
        super().__init__(f"HTTP {status} from {url}{detail}")
        self.status = status
        self.url = url
        self.body = body[:500]


class NotFound(ApiStatusError):
    """404: the session does not exist."""

    kind = "not_found"


class AuthError(ApiStatusError):
    """401/403: the key was rejected."""

    exit_code = 3

    def __str__(self) -> str:
        return (
            f"the API rejected the key (HTTP {self.status} from {self.url}): check DEVIN_API_KEY "
            "(v2: an Enterprise admin's personal key, apk_user_...; v3: a service user's key, "
            "cog_..., with ViewAccountSessions) and --api-version"
        )


class InvalidResponse(ExportError):
    """A response that does not match the API schema."""

    kind = "invalid_response"

    def __init__(self, session_id: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.session_id = session_id
        self.path = path


class FatalError(ExportError):
    """The run cannot go on."""

    exit_code = 3


class LockedError(FatalError):
    """Another export holds the output directory."""


class StorageError(FatalError):
    """The output could not be written (disk full, permissions)."""


class MirrorError(FatalError):
    """The Parquet files could not be mirrored to object storage (the local warehouse is whole)."""
