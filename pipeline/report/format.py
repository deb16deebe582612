"""Formatting for the report: numbers, dates and tables as escaped HTML."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pipeline.report.charts import esc

NONE = "(none)"


# -- numbers -------------------------------------------------------------------------------------


def attr_number(value: Any) -> str:
    """Return a number exactly, for a data- attribute: "" for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return repr(value) if isinstance(value, float) else str(value)


def count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def acus(value: Any) -> str:
    if value is None:
        return "–"
    v = float(value)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.1f}"


def percent(value: Any) -> str:
    return "–" if value is None else f"{float(value) * 100:.0f}%"


def seconds(value: Any) -> str:
    if value is None:
        return "–"
    v = float(value)
    return f"{v:.1f} s" if v < 120 else f"{v / 60:.1f} min"


def when(value: datetime | None) -> str:
    return "–" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def age(value: datetime | None, now: datetime) -> str:
    """Return how long ago value was: 40 min, 5 h, 3 days."""
    if value is None:
        return "never"
    minutes = (now - value).total_seconds() / 60
    if minutes < 0:
        return "in the future"
    if minutes < 90:
        return f"{minutes:.0f} min ago"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h ago"
    return f"{minutes / 1440:.0f} days ago"


def name(value: Any) -> str:
    return NONE if value is None else str(value)


def others(members: int, what: str) -> str:
    """Return the name of a rest row: "1,234 other labels"."""
    return f"{members:,} other {what}"


# A figure of a rest row that does not add up over rows (a session counts in several of them).
NOT_ADDED = '<span class="muted" title="does not add up over rows">–</span>'


# -- headline ------------------------------------------------------------------------------------


def table(
    head: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[str]],
    *,
    classes: str = "",
    rest: Sequence[str] | None = None,
) -> str:
    """Return a table; head is (title, numeric) per column; cells are already escaped HTML.
    rest, if given, is a last row in its own style: the rows not shown, summed."""

    def tr(row: Sequence[str], attrs: str = "") -> str:
        cells = "".join(
            f'<td class="num">{c}</td>' if n else f'<td class="key">{c}</td>'
            for c, (_, n) in zip(row, head, strict=True)
        )
        return f"<tr{attrs}>{cells}</tr>"

    ths = "".join(f'<th class="num">{esc(t)}</th>' if n else f"<th>{esc(t)}</th>" for t, n in head)
    body = "".join(tr(row) for row in rows) + (tr(rest, ' class="rest"') if rest else "")
    return f'<table class="{classes}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>'


def empty(text: str) -> str:
    return f'<p class="empty">{esc(text)}</p>'
