"""What one run is asked to do: the CLI builds it from flags and environment, export reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

DEFAULT_API_URL = "https://api.devin.ai"
API_VERSIONS = ("v2", "v3")


@dataclass(frozen=True)
class Settings:
    out_dir: Path
    api_url: str = DEFAULT_API_URL
    api_key: str = ""
    api_version: str = "v2"
    session_ids: tuple[str, ...] = ()
    list_all: bool = False
    full: bool = False
    refresh_open: bool = False
    from_raw: tuple[Path, ...] = ()
    overlap: timedelta = timedelta(days=2)
    batch_size: int = 1000
    concurrency: int = 8
    max_rps: float = 0.0
    timeout: float = 30.0
    retries: int = 5
    demo: bool = False
    generate_insights: bool = False
    fail_on_check_errors: bool = False
    full_checks: bool = False  # the checks over the whole warehouse, not the run's sessions
    parquet_url: str = ""  # s3://bucket[/prefix] to mirror DIR/parquet/ to, already checked
    # --with / --without: parts of the enterprise (pipeline.parts.PARTS), checked
    with_parts: tuple[str, ...] = ()
    without_parts: tuple[str, ...] = ()
    # --pseudonymize: the HMAC key (DEVIN_EXPORT_PSEUDONYM_KEY) of people's tokens; never shown
    pseudonym_key: str = field(default="", repr=False)

    @property
    def pseudonymize(self) -> bool:
        return bool(self.pseudonym_key)
