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


# A timestamp as given to FakeDevin.update: kept as its epoch microseconds (for order and
# filters; any size) and, when its text or integer must reach the wire unchanged, as given.
Raw = str | int | None


def to_stamp(value: str | datetime | int | float) -> tuple[int, Raw]:
    """Returns the epoch microseconds of a timestamp, and what to keep of it as given.

    Accepts ISO 8601 text (kept as given when its instant is outside what UTC datetimes hold,
    such as '9999-12-31T23:00:00-05:00'), aware or naive datetimes, and epoch numbers:
    seconds, or milliseconds when larger than 10**12 (integers are kept as given).
    """
    if isinstance(value, bool):
        raise TypeError("a timestamp cannot be a boolean")
    if isinstance(value, datetime):
        return to_micros(parse_time(value)), None
    if isinstance(value, int | float):
        scale = 1_000 if abs(value) > 10**12 else 1_000_000
        micros = value * scale if isinstance(value, int) else round(value * scale)
        return micros, value if isinstance(value, int) else None
    try:
        return to_micros(parse_time(value)), None
    except OverflowError:  # a valid local time whose UTC instant is past year 9999 or before 1
        return _exact_micros(datetime.fromisoformat(value)), value


def _exact_micros(moment: datetime) -> int:
    """Returns the epoch microseconds of a datetime, even outside the years 1 to 9999 in UTC."""
    offset = moment.utcoffset() or timedelta(0)
    naive = moment.replace(tzinfo=None) - datetime(1970, 1, 1)
    return (naive - offset) // timedelta(microseconds=1)


def stamp_iso(micros: int, raw: Raw) -> str | int:
    """Returns the timestamp as v2 writes it: ISO 8601 'Z', else the text or number given."""
    if isinstance(raw, str):
        return raw
    try:
        return iso(micros)
    except OverflowError:  # an epoch number no datetime holds: sent as it was given
        return raw if raw is not None else micros // 1_000_000


def stamp_epoch(micros: int, raw: Raw) -> int:
    """Returns the timestamp as v3 writes it: whole epoch seconds, or the integer given."""
    return raw if isinstance(raw, int) else micros // 1_000_000
