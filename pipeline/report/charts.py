"""Charts as static SVG, drawn in Python when the report is built: no script, no network.

Each chart is one <svg class="chart"> with a viewBox (it scales to its box on screen and on
paper), axis text in <g class="axis">, and one element of class "mark" per bar segment, each
with a <title> the browser shows on hover. Every string from the data passes through esc(),
which also cuts it to MAX_TEXT characters: with at most 20 rows a chart, the page's size does not
depend on the data. A bar chart's last row may be the rest of the categories summed (Rest): grey,
and when it is far longer than the others, cut short with a break mark so that the others stay
readable, its full value written at its end.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

# viewBox widths, about the chart's width in CSS pixels on a laptop, so text keeps its size
FULL, HALF, THIRD = 1180, 570, 370
FONT = 11
PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip  # Tableau 10: tells ten series apart, in colour and in greys when printed
OTHER = "#bab0ac"
STATUS_COLORS = {
    "exit": "#59a14f",
    "error": "#e15759",
    "running": "#4e79a7",
    "suspended": "#edc948",
    "resuming": "#76b7b2",
    "claimed": "#b07aa1",
    "new": "#9c755f",
    "creating": "#ff9da7",
}
IMPACT_COLORS = {"critical": "#b3262d", "high": "#e15759", "medium": "#f28e2b", "low": "#edc948"}
MAX_TEXT = 300  # characters of one string on the page, whatever the warehouse holds
MAX_NAME = 120  # characters of a name inside a longer text (a tooltip)
BREAK_AFTER = 1.5  # a rest bar longer than this many times the longest other bar is cut short

Format = Callable[[float], str]


def clip(value: object, limit: int = MAX_TEXT) -> str:
    """Return str(value), cut to limit characters with an ellipsis."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(value: object, limit: int = MAX_TEXT) -> str:
    """Return text safe inside HTML and SVG, in element content and quoted attributes, cut to
    limit characters."""
    return escape(clip(value, limit), quote=True)


def iso(name: str) -> str:
    """Return a name from the data for use inside a longer text: cut to MAX_NAME characters and
    isolated, so that a right-to-left name does not reorder the numbers around it."""
    return "\u2068" + clip(name, MAX_NAME) + "\u2069"


def units(char: str) -> int:
    """Return how many average Latin characters a character takes: wide (CJK, emoji) ones 2,
    combining marks 0."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def text_width(text: str) -> float:
    """Return about how many pixels text takes in FONT."""
    return sum(units(char) for char in text[:MAX_TEXT]) * FONT * 0.62


def fit(name: str, width: float) -> str:
    """Return name cut (with an ellipsis) to about width pixels of FONT text."""
    budget, used = width / (FONT * 0.62), 0
    for i, char in enumerate(name):
        used += units(char)
        if used > budget:
            return name[: max(i - 1, 1)] + "…"
    return name


def colors_for(
    names: Sequence[str], known: dict[str, str] | None = None, grey: Collection[str] = ()
) -> dict[str, str]:
    """Return a colour for each series: known names (in lower case) keep theirs, the grey ones
    ("other orgs", "(none)": the rest) are grey, the others take the palette in turn."""
    known = known or {}
    free = [c for c in PALETTE if c not in known.values() and c != OTHER]
    out: dict[str, str] = {}
    taken = 0
    for name in names:
        if name in grey:
            out[name] = OTHER
        elif name.strip().lower() in known:
            out[name] = known[name.strip().lower()]
        else:
            out[name] = free[taken % len(free)]
            taken += 1
    return out


@dataclass(frozen=True)
class Rest:
    """The last bar of a bar chart: the categories not shown, summed."""

    name: str  # "1,234 other labels"
    value: float
    note: str = ""  # after its value at the bar's end
    detail: str = ""  # in its tooltip: what it holds


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Return 0 and round steps up to at least top: 0, 25, 50, 75, 100."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


def compact(value: float) -> str:
    """Return a short axis label: 1.2k, 950, 2.5, 0.25."""
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(width: int, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height:.0f}" role="img" '
        f'aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{esc(label)}</title>" + "".join(body) + "</svg>"
    )


def legend(colors: dict[str, str]) -> str:
    """Return the legend of a chart as an HTML list (it wraps, and prints, like text)."""
    items = "".join(
        f'<li><span class="swatch" style="background:{color}"></span>{esc(name)}</li>'
        for name, color in colors.items()
    )
    return f'<ul class="legend">{items}</ul>'


def stacked_columns(
    days: Sequence[date],
    series: dict[str, list[float]],
    colors: dict[str, str],
    *,
    label: str,
    unit: str,
    fmt: Format = compact,
    width: int = FULL,
    height: int = 250,
) -> str:
    """Return one column per day, its series stacked, with a y axis in unit and dated x axis."""
    left, right, top, bottom = 44, 8, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    ticks = nice_ticks(max(totals, default=0))
    scale = plot_h / ticks[-1]
    step = plot_w / max(len(days), 1)
    body = ['<g class="grid">']
    for tick in ticks:
        y = top + plot_h - tick * scale
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
    body.append('</g><g class="axis">')
    for tick in ticks:
        y = top + plot_h - tick * scale
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{compact(tick)}</text>'
        )
    body.append(
        f'<text x="10" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 10 {top + plot_h / 2:.1f})">{esc(unit)}</text>'
    )
    every = max(1, math.ceil(len(days) / (width / 70)))
    for i in range(0, len(days), every):
        x = left + step * (i + 0.5)
        when = f"{days[i]:%b} {days[i].day}"
        body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{when}</text>')
    baseline = top + plot_h
    body.append(f'<line class="baseline" x1="{left}" x2="{width - right}" y1="{baseline}" '
                f'y2="{baseline}"/></g><g class="marks">')  # fmt: skip
    gap = 1 if step > 3 else 0
    for i, day in enumerate(days):
        y = baseline
        for name, values in series.items():
            value = values[i]
            h = value * scale
            if h < 0.005:  # nothing, or less than the hundredth of a pixel it would be drawn as
                continue
            y -= h
            body.append(
                f'<rect class="mark" x="{left + step * i + gap / 2:.2f}" y="{y:.2f}" '
                f'width="{step - gap:.2f}" height="{h:.2f}" fill="{colors[name]}">'
                f"<title>{day:%a %Y-%m-%d} · {esc(iso(name))}: {esc(fmt(value))} {esc(unit)}"
                f"</title></rect>"
            )
    body.append("</g>")
    return _svg(width, height, label, body)


def hbars(
    rows: Sequence[tuple[str, dict[str, float]]],
    colors: dict[str, str],
    *,
    label: str,
    unit: str,
    fmt: Format = compact,
    notes: Sequence[str] | None = None,
    rest: Rest | None = None,
    width: int = HALF,
) -> str:
    """Return one horizontal bar per row, its parts stacked, labelled on the left, its total
    (and the row's note, if any) at its end, over an x axis in unit; then the rest, if given,
    as one grey bar, cut short with a break mark when it is far longer than the others.
    The labels and the notes take what they need, up to a third of the width each."""
    bar, gap, top, bottom = 16, 6, 6, 30
    count = len(rows) + (rest is not None)
    height = top + count * (bar + gap) + bottom
    totals = [sum(parts.values()) for _, parts in rows]
    names = [name for name, _ in rows] + ([rest.name] if rest else [])
    values = [
        f"{fmt(total)}" + (f" · {notes[i]}" if notes and notes[i] else "")
        for i, total in enumerate(totals)
    ]
    if rest is not None:
        values.append(fmt(rest.value) + (f" · {rest.note}" if rest.note else ""))
    label_width = min(max(map(text_width, names), default=0) + 10, width * 0.34)
    value_width = min(max(map(text_width, values), default=0) + 10, width * 0.34)
    left, right = max(label_width, 40.0), max(value_width, 30.0)
    plot_w = width - left - right
    longest = max(totals, default=0)
    broken = rest is not None and longest > 0 and rest.value > BREAK_AFTER * longest
    if rest is not None and not broken:
        longest = max(longest, rest.value)
    ticks = nice_ticks(longest)
    scale = plot_w / ticks[-1]
    axis_y = top + count * (bar + gap)
    body = ['<g class="grid">']
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{axis_y}"/>')
    body.append('</g><g class="axis">')
    for tick in ticks:
        x = left + tick * scale
        body.append(
            f'<text x="{x:.1f}" y="{axis_y + 13}" text-anchor="middle">{compact(tick)}</text>'
        )
    middle = left + plot_w / 2
    body.append(f'<text x="{middle:.1f}" y="{axis_y + 27}" text-anchor="middle">{esc(unit)}</text>')
    for i, name in enumerate(names):
        y = top + i * (bar + gap) + bar / 2 + 4
        kind = "row-label rest" if rest and i == len(rows) else "row-label"
        short = fit(name, left - 8)
        body.append(f'<text class="{kind}" x="{left - 6}" y="{y:.1f}" text-anchor="end">'
                    f"<title>{esc(name)}</title>{esc(short)}</text>")  # fmt: skip
    body.append(f'<line class="baseline" x1="{left}" x2="{left}" y1="{top}" y2="{axis_y}"/>')
    body.append('</g><g class="marks">')
    for i, (name, parts) in enumerate(rows):
        y = top + i * (bar + gap)
        x = float(left)
        for part, value in parts.items():
            if value <= 0:
                continue
            w = value * scale
            what = f"{iso(name)} · {iso(part)}" if len(parts) > 1 else iso(name)
            body.append(
                f'<rect class="mark" x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar}" '
                f'fill="{colors[part]}"><title>{esc(what)}: {esc(fmt(value))} {esc(unit)}'
                "</title></rect>"
            )
            x += w
        body.append(f'<text class="value" x="{x + 4:.1f}" y="{y + bar / 2 + 4:.1f}">'
                    f"{esc(fit(values[i], right - 6))}</text>")  # fmt: skip
    if rest is not None:
        y = top + len(rows) * (bar + gap)
        w = plot_w if broken else rest.value * scale
        if w > 0:
            detail = f" · {rest.detail}" if rest.detail else ""
            body.append(
                f'<rect class="mark rest" x="{left}" y="{y}" width="{w:.2f}" height="{bar}" '
                f'fill="{OTHER}"><title>{esc(rest.name)}: {esc(fmt(rest.value))} {esc(unit)}'
                f"{esc(detail)}</title></rect>"
            )
        if broken:  # two white strokes across the bar: it goes on beyond the axis
            x = left + plot_w - 18
            body.append(
                f'<path class="break" d="M{x:.1f} {y + bar + 2} L{x + 6:.1f} {y - 2} '
                f'M{x + 6:.1f} {y + bar + 2} L{x + 12:.1f} {y - 2}"/>'
            )
        body.append(f'<text class="value" x="{left + w + 4:.1f}" y="{y + bar / 2 + 4:.1f}">'
                    f"{esc(fit(values[-1], right - 6))}</text>")  # fmt: skip
    body.append("</g>")
    return _svg(width, height, label, body)
