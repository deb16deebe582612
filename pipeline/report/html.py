"""The report page: ReportData in, one self-contained HTML document out.

No script, no external resource: styles are inline, charts are inline SVG, and a
Content-Security-Policy forbids the page any request or script, so even a string that escaped
escaping could neither run nor call out. Every string from the warehouse passes through esc().
Headline figures carry their exact values in data- attributes for machines (and the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.report.billing import billing_section
from pipeline.report.charts import (
    IMPACT_COLORS,
    STATUS_COLORS,
    THIRD,
    Rest,
    colors_for,
    esc,
    hbars,
    legend,
    stacked_columns,
)
from pipeline.report.format import (
    NONE,
    NOT_ADDED,
    acus,
    attr_number,
    count,
    empty,
    name,
    others,
    percent,
    table,
    when,
)
from pipeline.report.health import health
from pipeline.report.names import label as person_label
from pipeline.report.names import names_section
from pipeline.report.queries import (
    DAILY_DAYS,
    OTHER_ORGS,
    OTHER_STATUSES,
    Headline,
    ReportData,
)
from pipeline.report.style import CSS

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"


@dataclass(frozen=True)
class Figure:
    key: str  # data-figure
    label: str
    pick: Callable[[Headline], Any]
    fmt: Callable[[Any], str]
    better: int  # +1 higher is better, -1 lower is better, 0 neither
    rate: bool = False  # changes in percentage points, not in percent


FIGURES = (
    Figure("sessions", "Sessions", lambda h: h.sessions, count, 0),
    Figure("acus", "ACUs", lambda h: h.acus, acus, 0),
    Figure("prs_opened", "PRs opened", lambda h: h.prs_opened, count, +1),
    Figure("prs_merged", "PRs merged", lambda h: h.prs_merged, count, +1),
    Figure("merge_rate", "Merge rate", lambda h: h.merge_rate, percent, +1, rate=True),
    Figure("acus_per_merged_pr", "ACUs per merged PR", lambda h: h.acus_per_merged_pr, acus, -1),
)


def change(figure: Figure, now: Any, before: Any) -> tuple[str, str]:
    """Return the change's text and its class (better, worse, same, neutral)."""
    if now is None or before is None:
        return "no comparison", "neutral"
    delta = float(now) - float(before)
    if figure.rate:
        text = f"{delta * 100:+.0f} pts"
    elif float(before) == 0:
        text = f"{'+' if delta >= 0 else '−'}{figure.fmt(abs(delta))}"
    else:
        text = f"{delta / float(before) * 100:+.0f}%"
    text = text.replace("-", "−")
    if abs(delta) < 1e-12:
        return "no change", "same"
    if not figure.better:
        return text, "neutral"
    return text, "better" if (delta > 0) == (figure.better > 0) else "worse"


def figures(data: ReportData) -> str:
    assert data.headline and data.headline_previous and data.current and data.previous
    cards = []
    for fig in FIGURES:
        now, before = fig.pick(data.headline), fig.pick(data.headline_previous)
        text, cls = change(fig, now, before)
        cards.append(
            f'<div class="figure" data-figure="{fig.key}" data-value="{attr_number(now)}" '
            f'data-previous="{attr_number(before)}">'
            f'<div class="name">{esc(fig.label)}</div>'
            f'<div class="value">{esc(fig.fmt(now))}</div>'
            f'<div class="change {cls}">{esc(text)} '
            f'<span class="muted">vs {esc(fig.fmt(before))}</span></div></div>'
        )
    cur, prev = data.current, data.previous
    return (
        f'<section id="headline" data-period-first="{cur.first}" data-period-last="{cur.last}" '
        f'data-previous-first="{prev.first}" data-previous-last="{prev.last}">'
        f"<h2>The last {cur.days} days</h2>"
        f'<p class="muted">Sessions created {cur.first:%Y-%m-%d} to {cur.last:%Y-%m-%d} (UTC, '
        f"ending at the newest session), against {prev.first:%Y-%m-%d} to {prev.last:%Y-%m-%d}. "
        "PRs count in the period of the session that opened them; the merge rate is merged / "
        "(merged + closed): open PRs have not failed yet.</p>"
        f'<div class="figures">{"".join(cards)}</div></section>'
    )


# -- sections ------------------------------------------------------------------------------------


def daily(data: ReportData) -> str:
    assert data.acus_by_org and data.sessions_by_status
    by_org, by_status = data.acus_by_org, data.sessions_by_status
    org_colors = colors_for(list(by_org.series), grey={OTHER_ORGS, "(no org)"})
    status_colors = colors_for(list(by_status.series), STATUS_COLORS, {OTHER_STATUSES})
    span = f"{by_org.days[0]:%Y-%m-%d} to {by_org.days[-1]:%Y-%m-%d}"
    acus_chart = stacked_columns(
        by_org.days,
        by_org.series,
        org_colors,
        label=f"ACUs per day by org, {span}",
        unit="ACUs",
        fmt=acus,
    )
    sessions_chart = stacked_columns(
        by_status.days,
        by_status.series,
        status_colors,
        label=f"Sessions per day by status, {span}",
        unit="sessions",
        fmt=count,
    )
    return (
        '<section id="daily">'
        f"<figure><h2>ACUs per day, by org</h2>{acus_chart}{legend(org_colors)}"
        f"<figcaption>The last {DAILY_DAYS} days, {span}, by the day each session was created "
        "(UTC); from v_daily_usage.</figcaption></figure>"
        f'<figure class="next"><h2>Sessions per day, by status</h2>{sessions_chart}'
        f"{legend(status_colors)}<figcaption>Each session on the day it was created, in its "
        "status now; from v_sessions.</figcaption></figure></section>"
    )


def repos(data: ReportData) -> str:
    top = data.top_repos
    if not top:
        body = empty("No pull request with a known repository yet.")
    else:
        rest = top.other
        chart = hbars(
            [(r["repo"], {"merged": float(r["merged"] or 0)}) for r in top.rows],
            {"merged": "#59a14f"},
            label="Top repositories by merged PRs",
            unit="merged PRs",
            fmt=count,
            notes=[f"{percent(r['merge_rate'])} merge rate" for r in top.rows],
            rest=Rest(
                others(rest["members"], "repositories"),
                float(rest["merged"] or 0),
                f"{percent(rest['merge_rate'])} merge rate",
                f"{count(rest['prs'])} PRs",
            )
            if rest
            else None,
        )
        body = f"<figure>{chart}</figure>" + table(
            [
                ("repository", False),
                ("PRs", True),
                ("merged", True),
                ("merge rate", True),
                ("ACUs spent", True),
            ],
            [
                [
                    esc(r["repo"]),
                    count(r["prs"]),
                    count(r["merged"]),
                    percent(r["merge_rate"]),
                    acus(r["acus_spent"]),
                ]
                for r in top.rows
            ],
            classes="repos",
            rest=[
                esc(others(rest["members"], "repositories")),
                count(rest["prs"]),
                count(rest["merged"]),
                percent(rest["merge_rate"]),
                NOT_ADDED,
            ]
            if rest
            else None,
        )
    return (
        f'<div><h2>Top repositories by merged PRs</h2>{body}<p class="note">All time, from '
        "v_repo_outcomes. ACUs spent: the whole ACUs of every session with a PR there (a session "
        "with PRs in several repositories counts in each, so they do not add up).</p></div>"
    )


def users(data: ReportData) -> str:
    top = data.top_users
    if not top:
        body = empty("No sessions yet.")
    else:
        rest = top.other

        def per_merged_pr(r: dict[str, Any]) -> str:
            if r["acus_per_merged_pr"] is None:
                return "no merged PR"
            return f"{acus(r['acus_per_merged_pr'])} per merged PR"

        chart = hbars(
            [(person_label(r, "user_id"), {"ACUs": float(r["acus"] or 0)}) for r in top.rows],
            {"ACUs": "#4e79a7"},
            label="Top users by ACUs",
            unit="ACUs",
            fmt=acus,
            notes=[per_merged_pr(r) for r in top.rows],
            rest=Rest(
                others(rest["members"], "users"),
                float(rest["acus"] or 0),
                per_merged_pr(rest),
                f"{count(rest['sessions'])} sessions",
            )
            if rest
            else None,
        )

        def cells(r: dict[str, Any], who: str) -> list[str]:
            return [
                esc(who),
                count(r["sessions"]),
                acus(r["acus"]),
                count(r["prs_merged"]),
                percent(r["merge_rate"]),
                acus(r["acus_per_merged_pr"]),
            ]

        body = f"<figure>{chart}</figure>" + table(
            [
                ("user", False),
                ("sessions", True),
                ("ACUs", True),
                ("PRs merged", True),
                ("merge rate", True),
                ("ACUs per merged PR", True),
            ],
            [cells(r, person_label(r, "user_id")) for r in top.rows],
            classes="users",
            rest=cells(rest, others(rest["members"], "users")) if rest else None,
        )
    return (
        f'<div><h2>Top users by ACUs</h2>{body}<p class="note">All time, from v_user_usage, by '
        f"name (else email, else id: people not exported); {NONE}: sessions without a user "
        "(service users).</p></div>"
    )


def issues(data: ReportData) -> str:
    chart_data, pairs = data.label_chart, data.issue_pairs
    if chart_data is None or not pairs:
        body = empty("No issues found by session analyses yet.")
    else:
        # impacts in the legend's order: the known severities first, then by issues; the rest last
        rank = {impact: n for n, impact in enumerate(IMPACT_COLORS)}  # critical, high, ...
        named = sorted(
            range(len(chart_data.impacts)),
            key=lambda j: (rank.get(name(chart_data.impacts[j]).strip().lower(), len(rank)), j),
        )
        columns = [(name(chart_data.impacts[j]), j) for j in named]
        rest_impacts = others(chart_data.other_impacts, "impacts")
        if chart_data.other_impacts:
            columns.append((rest_impacts, len(chart_data.impacts)))
        colors = colors_for([c for c, _ in columns], IMPACT_COLORS, grey={rest_impacts, NONE})

        def parts(i: int) -> dict[str, float]:
            return {impact: float(chart_data.issues.get((i, j), 0)) for impact, j in columns}

        rows = [(name(label), parts(i)) for i, label in enumerate(chart_data.labels)]
        rest = None
        if chart_data.other_labels:
            held = parts(len(chart_data.labels))
            rest = Rest(
                others(chart_data.other_labels, "labels"),
                sum(held.values()),
                detail=", ".join(f"{impact} {count(n)}" for impact, n in held.items() if n),
            )
        chart = hbars(
            rows,
            colors,
            label="Issues by label and impact",
            unit="issues",
            fmt=count,
            rest=rest,
        )
        other = pairs.other
        body = f"<figure>{chart}{legend(colors)}</figure>" + table(
            [
                ("label", False),
                ("impact", False),
                ("issues", True),
                ("sessions affected", True),
                ("ACUs in those sessions", True),
            ],
            [
                [
                    esc(name(r["label"])),
                    esc(name(r["impact"])),
                    count(r["issues"]),
                    count(r["sessions_affected"]),
                    acus(r["acus_in_sessions"]),
                ]
                for r in pairs.rows
            ],
            classes="issues",
            rest=[
                esc(others(other["members"], "label and impact pairs")),
                "",
                count(other["issues"]),
                NOT_ADDED,
                NOT_ADDED,
            ]
            if other
            else None,
        )
    return (
        f'<div><h2>Recurring issues</h2>{body}<p class="note">All time, from v_issue_labels, '
        "where labels and impacts that differ only in case, spacing or trailing punctuation are "
        "one, shown in their most common spelling. The chart: the labels with the most issues, "
        "by impact; the table: the label and impact pairs with the most issues.</p></div>"
    )


def action_types(data: ReportData) -> str:
    top = data.action_items
    if not top:
        body = empty("No action items from session analyses yet.")
    else:
        rest = top.other
        chart = hbars(
            [(name(r["type"]), {"items": float(r["items"] or 0)}) for r in top.rows],
            {"items": "#b07aa1"},
            label="Action items by type",
            unit="action items",
            fmt=count,
            notes=[f"in {count(r['sessions'])} sessions" for r in top.rows],
            rest=Rest(others(rest["members"], "types"), float(rest["items"] or 0))
            if rest
            else None,
        )
        body = f"<figure>{chart}</figure>"
    return (
        f'<div><h2>Action item types</h2>{body}<p class="note">All time, from v_action_items '
        "(types that differ only in case, spacing or trailing punctuation are one): what the "
        "analyses propose to change, and in how many sessions.</p></div>"
    )


def v3(data: ReportData) -> str:
    parts = [
        ("Origin", "origin", data.origins),
        ("Category", "category", data.categories),
        ("Session size", "session_size", data.sizes),
    ]
    shown = [(title, key, top) for title, key, top in parts if top]
    if not shown:
        return ""  # no v3 data: nothing to say
    figs = []
    for title, key, top in shown:
        rest = top.other
        chart = hbars(
            [(name(r["value"]), {"sessions": float(r["sessions"])}) for r in top.rows],
            {"sessions": "#76b7b2"},
            label=f"Sessions by {title.lower()}",
            unit="sessions",
            fmt=count,
            rest=Rest(others(rest["members"], "values"), float(rest["sessions"])) if rest else None,
            width=THIRD,
        )
        figs.append(f'<figure data-breakdown="{key}"><h3>{esc(title)}</h3>{chart}'
                    f"<figcaption>{NONE}: not set (v2 sessions, or no analysis)</figcaption>"
                    "</figure>")  # fmt: skip
    return (
        '<section id="v3"><h2>Sessions by origin, category and size</h2>'
        f'<div class="grid3">{"".join(figs)}</div>'
        '<p class="note">All time, from v_sessions; these come from the v3 API only.</p></section>'
    )


def render(data: ReportData, *, generated_at: datetime, source: str) -> str:
    """Return the whole report as one HTML document."""
    if data.headline is None:
        content = (
            '<section id="headline" data-empty="true"><h2>No sessions yet</h2>'
            '<p class="empty">The warehouse holds no sessions yet, so there are no figures '
            "to show. Run an export (devin-export --all, or --demo to try it), then this report "
            "is rebuilt.</p></section>"
        )
    else:
        content = (
            figures(data)
            + daily(data)
            + f'<section id="outcomes" class="grid2">{repos(data)}{users(data)}</section>'
            + f'<section id="analysis" class="grid2">{issues(data)}{action_types(data)}</section>'
            + names_section(data.names)
            + v3(data)
        )
    content += billing_section(data.billing)
    period = (
        f"{data.current.first:%Y-%m-%d} to {data.current.last:%Y-%m-%d}"
        if data.current
        else "no sessions"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light">'
        f"<title>Devin usage report · {esc(period)}</title>"
        f"<style>{CSS}</style></head><body><main>"
        '<header class="top"><h1>Devin usage report</h1>'
        f'<span class="muted" data-generated-at="{generated_at.isoformat()}">Built '
        f"{when(generated_at)} from {esc(source)} · {count(data.sessions_total)} sessions</span>"
        f"</header>{content}{health(data, generated_at)}"
        "<footer>Every figure comes from the views of devin.duckdb (v_sessions, v_daily_usage, "
        "v_pull_requests, v_repo_outcomes, v_user_usage, v_issue_labels, v_action_items); data "
        "health from export_runs, export_errors and quality_checks. Rebuild with devin-export "
        "report --out DIR.</footer>"
        "</main></body></html>\n"
    )
