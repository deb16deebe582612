"""Charts as static SVG, drawn in Python when the report is built: no script, no network.

Each chart is one <svg class="chart"> with a viewBox (it scales to its box on screen and on
paper), axis text in <g class="axis">, and one element of class "mark" per bar segment, each
with a <title> the browser shows on hover. Every string from the data passes through esc().
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
IMPACT_COLORS = {"high": "#e15759", "medium": "#f28e2b", "low": "#edc948"}

Format = Callable[[float], str]


def esc(value: object) -> str:
    """Return text safe inside HTML and SVG, in element content and quoted attributes."""
    return escape(str(value), quote=True)


def colors_for(names: Sequence[str], known: dict[str, str] | None = None) -> dict[str, str]:
    """Return a colour for each series: known names keep theirs, the rest take the palette."""
    known = known or {}
    free = [c for c in PALETTE if c not in known.values() and c != OTHER]
    out: dict[str, str] = {}
    taken = 0
    for name in names:
        if name.lower() in known:
            out[name] = known[name.lower()]
        elif name.startswith(("other ", "(")):  # "other orgs", "(none)": the rest, in grey
            out[name] = OTHER
        else:
            out[name] = free[taken % len(free)]
            taken += 1
    return out


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
            if value <= 0:
                continue
            h = value * scale
            y -= h
            body.append(
                f'<rect class="mark" x="{left + step * i + gap / 2:.2f}" y="{y:.2f}" '
                f'width="{step - gap:.2f}" height="{h:.2f}" fill="{colors[name]}">'
                f"<title>{day:%a %Y-%m-%d} · {esc(name)}: {esc(fmt(value))} {esc(unit)}"
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
    width: int = HALF,
    label_width: int = 150,
    value_width: int = 130,
) -> str:
    """Return one horizontal bar per row, its parts stacked, labelled on the left, its total
    (and the row's note, if any) at its end, over an x axis in unit."""
    bar, gap, top, bottom = 16, 6, 6, 30
    left, right = label_width, value_width
    height = top + len(rows) * (bar + gap) + bottom
    plot_w = width - left - right
    totals = [sum(parts.values()) for _, parts in rows]
    ticks = nice_ticks(max(totals, default=0))
    scale = plot_w / ticks[-1]
    axis_y = top + len(rows) * (bar + gap)
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
    max_chars = max(8, int((label_width - 8) / (FONT * 0.62)))  # an average character
    for i, (name, _) in enumerate(rows):
        y = top + i * (bar + gap) + bar / 2 + 4
        short = name if len(name) <= max_chars else name[: max_chars - 1] + "…"
        body.append(f'<text class="row-label" x="{left - 6}" y="{y:.1f}" text-anchor="end">'
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
            title = f"{name} · {part}: {fmt(value)}" if len(parts) > 1 else f"{name}: {fmt(value)}"
            body.append(
                f'<rect class="mark" x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar}" '
                f'fill="{colors[part]}"><title>{esc(title)} {esc(unit)}</title></rect>'
            )
            x += w
        note = f"{fmt(totals[i])}" + (f" · {notes[i]}" if notes and notes[i] else "")
        body.append(f'<text class="value" x="{x + 4:.1f}" y="{y + bar / 2 + 4:.1f}">'
                    f"{esc(note)}</text>")  # fmt: skip
    body.append("</g>")
    return _svg(width, height, label, body)
