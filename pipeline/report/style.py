"""The report's stylesheet, inlined into the page: for screens from a laptop up, and for paper."""

CSS = """
:root {
  --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee4; --card: #ffffff; --page: #f4f6f8;
  --good: #1a7f37; --bad: #c0392b; --warn: #9a6700;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--page); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1240px; margin: 0 auto; padding: 20px 24px 40px; }
header.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 0 0 6px; color: var(--muted); font-weight: 600; }
p { margin: 0 0 8px; }
.muted, .note { color: var(--muted); }
.note { font-size: 12px; }
section {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; margin: 16px 0;
}
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px 24px; }
.grid3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 18px; }
@media (max-width: 900px) { .grid2, .grid3 { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 2px; }
figure.next { margin-top: 18px; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart .grid line { stroke: #e8ebef; stroke-width: 1; }
svg.chart .axis text { fill: var(--muted); }
svg.chart .axis line.baseline { stroke: #8a94a3; stroke-width: 1; }
svg.chart text.row-label { fill: var(--ink); }
svg.chart text.value { fill: var(--ink); }
svg.chart rect.mark:hover { opacity: .8; }
svg.chart text.row-label.rest { fill: var(--muted); font-style: italic; }
svg.chart path.break { stroke: #fff; stroke-width: 3; fill: none; }
tr.rest td { color: var(--muted); font-style: italic; }
.figures { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 1100px) { .figures { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
@media (max-width: 600px) { .figures { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.figure { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.figure .name { font-size: 12px; color: var(--muted); }
.figure .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.figure .change { font-size: 12px; font-variant-numeric: tabular-nums; }
.change.better { color: var(--good); } .change.worse { color: var(--bad); }
.change.same, .change.neutral { color: var(--muted); }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0 0;
  padding: 0; font-size: 12px; }
ul.legend li { display: flex; align-items: center; gap: 5px; }
.swatch { width: 11px; height: 11px; border-radius: 2px; display: inline-block;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.key { overflow-wrap: break-word; }
td .sample { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
  overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
  border: 1px solid currentColor; white-space: nowrap; }
.badge.ok, .badge.passed { color: var(--good); }
.badge.partial, .badge.warn { color: var(--warn); }
.badge.failed, .badge.error, .badge.broken { color: var(--bad); }
.empty { padding: 18px; border: 1px dashed var(--line); border-radius: 8px; color: var(--muted); }
.alert { color: var(--bad); font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
#health .keep { margin-top: 14px; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }

@page { size: landscape; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  section { border: none; border-radius: 0; padding: 0; margin: 0 0 14px; break-inside: auto; }
  /* A chart, a figure card or a table row is never cut across two pages. */
  figure, .figure, tr, ul.legend, .keep { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  .figures { grid-template-columns: repeat(6, minmax(0, 1fr)); }
  .grid2 { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  .grid3 { grid-template-columns: repeat(3, minmax(0, 1fr)); }
  svg.chart rect.mark, .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"""
