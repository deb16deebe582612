"""Timestamps as the fake keeps them (integer microseconds since the epoch, UTC) and as the
API writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(moment: datetime) -> int:
    """Returns the microseconds from the epoch to an aware datetime."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """Returns the aware UTC datetime of epoch microseconds."""
    return EPOCH + timedelta(microseconds=micros)


def iso(micros: int) -> str:
    """Returns '2024-01-15T10:30:00Z', with microseconds only when there are some."""
    moment = from_micros(micros)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")[:-6] + "Z"


def parse_time(value: str | datetime) -> datetime:
    """Returns an aware UTC datetime from an ISO 8601 string ('Z' or offset; naive means UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
