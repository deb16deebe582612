"""The report's sections on the enterprise around the sessions (SPEC sections 9 and 10): the
playbooks sessions ran and the Knowledge notes analyses judged, by name, the id where the API
listed none.

They read v_playbook_outcomes and v_note_usage, which read the playbooks and knowledge_notes
listings and the aggregate tables agg_playbooks and agg_note_usages (sql/aggregates): small
tables whatever the number of sessions. Each is a ranking of TOP_PLAYBOOKS or TOP_NOTES rows
and one "other" row (queries.top). A person's or organization's label is label(): name, else
email, else the id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipeline.report.charts import Rest, esc, hbars
from pipeline.report.format import NONE, acus, count, empty, others, percent, table
from pipeline.report.queries import Top, ratio, top

TOP_PLAYBOOKS = 10
TOP_NOTES = 8  # judged good, and as many judged bad


def label(row: dict[str, Any], key: str) -> str:
    """What to call a user or an organization: its name, else its email, else its id."""
    for column in ("name", "email"):
        value = row.get(column)
        if isinstance(value, str) and value.strip():
            return value
    value = row.get(key)
    return NONE if value is None else str(value)


@dataclass
class Names:
    playbooks: Top = field(default_factory=Top)
    good_notes: Top = field(default_factory=Top)
    bad_notes: Top = field(default_factory=Top)


def gather_names(con: duckdb.DuckDBPyConnection) -> Names:
    """Return the playbook and note rankings; empty where nothing is known."""
    books = top(
        con,
        """
        select playbook_id, coalesce(nullif(title, ''), playbook_id) as playbook, removed_at,
            sessions, acus, prs_opened, prs_merged, prs_closed, merge_rate
        from v_playbook_outcomes
        """,
        "sessions desc, acus desc, playbook, playbook_id",
        TOP_PLAYBOOKS,
        ("sessions", "acus", "prs_opened", "prs_merged", "prs_closed"),
    )
    if books.other:
        rest = books.other
        rest["merge_rate"] = ratio(rest["prs_merged"], rest["prs_merged"] + rest["prs_closed"])
    notes = """
        select note_id, coalesce(nullif(name, ''), note_id) as note, removed_at, good_uses,
            bad_uses, sessions
        from v_note_usage
        where {kind}_uses > 0
    """
    sums = ("good_uses", "bad_uses")  # sessions: one may use a note well and badly
    good = top(con, notes.format(kind="good"), "good_uses desc, note, note_id", TOP_NOTES, sums)
    bad = top(con, notes.format(kind="bad"), "bad_uses desc, note, note_id", TOP_NOTES, sums)
    return Names(books, good, bad)


def _removed(row: dict[str, Any], what: str) -> str:
    suffix = ' <span class="muted">(removed)</span>' if row.get("removed_at") else ""
    return esc(row[what]) + suffix


def playbooks_html(names: Names) -> str:
    found = names.playbooks
    if not found:
        body = empty("No playbooks listed or run yet.")
    else:
        rest = found.other

        def cells(r: dict[str, Any], title: str) -> list[str]:
            return [
                title,
                count(r["sessions"]),
                acus(r["acus"]),
                count(r["prs_opened"]),
                count(r["prs_merged"]),
                percent(r["merge_rate"]),
            ]

        body = table(
            [
                ("playbook", False),
                ("sessions", True),
                ("ACUs", True),
                ("PRs", True),
                ("merged", True),
                ("merge rate", True),
            ],
            [cells(r, _removed(r, "playbook")) for r in found.rows],
            classes="playbooks",
            rest=cells(rest, esc(others(rest["members"], "playbooks"))) if rest else None,
        )
    return (
        f'<div><h2>Playbooks</h2>{body}<p class="note">All time, from v_playbook_outcomes: '
        "by title (the id where the listing has none), the sessions that ran each (v3 "
        "sessions name their playbook; v2 ones do not), their ACUs and PRs.</p></div>"
    )


def notes_html(names: Names) -> str:
    if not (names.good_notes or names.bad_notes):
        body = empty("No Knowledge note judged by a session analysis yet.")
    else:
        figs = []
        for kind, found, color in (
            ("good", names.good_notes, "#59a14f"),
            ("bad", names.bad_notes, "#e15759"),
        ):
            if not found:
                continue
            rest = found.other
            chart = hbars(
                [(r["note"], {kind: float(r[f"{kind}_uses"])}) for r in found.rows],
                {kind: color},
                label=f"Knowledge notes most often judged {kind}",
                unit=f"uses judged {kind}",
                fmt=count,
                notes=[f"in {count(r['sessions'])} sessions" for r in found.rows],
                rest=None
                if rest is None
                else Rest(others(rest["members"], "notes"), float(rest[f"{kind}_uses"])),
            )
            figs.append(f'<figure data-notes="{kind}"><h3>Judged {kind}</h3>{chart}</figure>')
        body = "".join(figs)
    return (
        f'<div><h2>Knowledge notes</h2>{body}<p class="note">All time, from v_note_usage: how '
        "often session analyses (v3) judged a note's use good or bad, by its name (the id "
        "where the listing has none).</p></div>"
    )


def names_section(names: Names | None) -> str:
    if names is None:
        return ""
    return f'<section id="names" class="grid2">{playbooks_html(names)}{notes_html(names)}</section>'
