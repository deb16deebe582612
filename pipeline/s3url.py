"""s3://BUCKET[/PREFIX]: the --parquet-url parsed, or refused as a usage error before a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.errors import UsageError

URL_VARIABLE = "DEVIN_EXPORT_PARQUET_URL"
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Url:
    bucket: str
    prefix: str = ""  # no leading or trailing slash; "" is the whole bucket

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def key_prefix(self) -> str:
        """Return the prefix every key starts with: "prefix/", or "" for the whole bucket."""
        return f"{self.prefix}/" if self.prefix else ""


def parse_s3_url(text: str, source: str = "--parquet-url") -> S3Url:
    """Return the bucket and prefix of s3://BUCKET[/PREFIX]; raise UsageError otherwise."""
    shown = "(not shown: it holds an @)" if "@" in text else repr(text)  # may hold a secret

    def refuse(reason: str) -> UsageError:
        return UsageError(f"{source} {shown} is not s3://BUCKET[/PREFIX]: {reason}")

    parts = urlsplit(text.strip())
    if parts.scheme.lower() != "s3" or not text.strip().lower().startswith("s3://"):
        raise refuse("it must start with s3://")
    if "@" in parts.netloc:
        raise refuse("credentials do not belong in the URL: use AWS_PROFILE or AWS_* variables")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise refuse("no ?query or #fragment")
    bucket = parts.netloc
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise refuse("a bucket name is 3-63 lowercase letters, digits, '.' and '-'")
    prefix = parts.path.strip("/")
    segments = prefix.split("/") if prefix else []
    if any(s in ("", ".", "..") for s in segments):
        raise refuse("the prefix has an empty, '.' or '..' segment")
    if any(ord(c) < 32 or c == "\x7f" for c in prefix):
        raise refuse("the prefix has control characters")
    return S3Url(bucket, prefix)
