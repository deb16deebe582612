"""The report, DIR/report.html: its figures against SQL on the same warehouse, rebuilt from the
warehouse alone, escaped, honest about an empty warehouse or a missing one, and the same size
whatever the warehouse holds: at most 20 categories and one "other" row a chart or table, free
text grouped by case, spacing and trailing punctuation (the views' text_key)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline.cli import main
from pipeline.fake_api import FakeApiServer, FakeDevin, with_text
from pipeline.progress import Reporter
from pipeline.report import build_report, queries, report_after_run
from pipeline.warehouse import MEMORY_LIMIT
from tests.helpers import edited, query, run_cli

ATTACK = "<script>alert('x')</script>"


class Page(HTMLParser):
    """The parts of a report the tests read: data- attributes, ids, text, and tables."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: dict[str, dict[str, str]] = {}
        self.attrs_by_id: dict[str, dict[str, str]] = {}
        self.tables: dict[str, list[list[str]]] = {}  # by class, the body's rows of cells
        self.text: list[str] = []
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-figure" in a:
            self.figures[a["data-figure"]] = a
        if "id" in a:
            self.attrs_by_id[a["id"]] = a
        if tag == "table":
            self._table = a.get("class", "")
            self.tables[self._table] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read_page(out: Path) -> Page:
    return Page((out / "report.html").read_text(encoding="utf-8"))


class Charts(HTMLParser):
    """The bar charts of a report, by aria-label: each row's full name (its label's <title>),
    whether it is the rest, and the figure at its end; and the legend's names."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.charts: dict[str, list[dict[str, Any]]] = {}
        self.legends: list[list[str]] = []
        self._chart: list[dict[str, Any]] | None = None
        self._in: str | None = None  # "label", "value", "legend"
        self._rest = False
        self._text: list[str] = []
        self._values = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "svg" and "chart" in classes:
            self._chart = self.charts.setdefault(a["aria-label"], [])
            self._values = 0
        elif tag == "text" and "row-label" in classes and self._chart is not None:
            self._in, self._rest, self._text = "label", "rest" in classes, []
        elif tag == "text" and "value" in classes and self._chart is not None:
            self._in, self._text = "value", []
        elif tag == "ul" and "legend" in classes:
            self.legends.append([])
        elif tag == "li" and self.legends:
            self._in, self._text = "legend", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "title" and self._in == "label" and self._chart is not None:
            self._chart.append({"name": "".join(self._text), "rest": self._rest})
            self._in = "skip"
        elif tag == "text" and self._in == "value" and self._chart is not None:
            figure = "".join(self._text).split(" · ")[0]
            self._chart[self._values]["value"] = float(figure.replace(",", ""))
            self._values += 1
            self._in = None
        elif tag == "text":
            self._in = None
        elif tag == "li" and self._in == "legend":
            self.legends[-1].append("".join(self._text))
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in in ("label", "value", "legend"):
            self._text.append(data)


def number(text: str) -> float | None:
    return None if text == "" else float(text)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v2 --demo export: the warehouse and the report its run wrote. Read, never changed."""
    out = tmp_path_factory.mktemp("report") / "out"
    result = run_cli("--demo", "400", "--out", str(out), "--quiet", key=None)
    assert result.code == 0, result.stderr
    return out


@pytest.fixture
def copy(demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo's warehouse alone, for tests that change it."""
    out = tmp_path / "copy"
    out.mkdir()
    shutil.copy(demo / "devin.duckdb", out / "devin.duckdb")
    return out


def expected_figures(db: Path, first: date, last: date) -> dict[str, float | None]:
    """The headline figures of a period, by SQL on the views: sessions and PR counts from
    v_sessions, closed PRs from v_pull_requests (merge rate = merged / (merged + closed))."""
    ((sessions, acus, opened, merged),) = query(
        db,
        "select count(*), coalesce(sum(acus_consumed), 0), coalesce(sum(pr_count), 0), "
        "coalesce(sum(merged_pr_count), 0) from v_sessions where created_date between ? and ?",
        [first, last],
    )
    ((closed,),) = query(
        db,
        "select count(*) from v_pull_requests join v_sessions using (session_id) "
        "where lower(state) = 'closed' and v_sessions.created_date between ? and ?",
        [first, last],
    )
    return {
        "sessions": sessions,
        "acus": float(acus),
        "prs_opened": opened,
        "prs_merged": merged,
        "merge_rate": merged / (merged + closed) if merged + closed else None,
        "acus_per_merged_pr": float(acus) / merged if merged else None,
    }


def test_an_export_writes_the_report_and_names_it_in_its_summary(demo):
    result = run_cli("--demo", "30", "--out", str(demo.parent / "small"), key=None)
    assert result.code == 0, result.stderr
    report = demo.parent / "small" / "report.html"
    assert report.is_file()
    assert f"  {report}\n" in result.stdout  # in the paths written
    assert result.stdout.rstrip().endswith(f"{report}   # the report, in any browser")


def test_headline_figures_match_sql_on_the_same_warehouse(demo):
    page = read_page(demo)
    db = demo / "devin.duckdb"
    ((newest,),) = query(db, "select max(created_date) from v_sessions")
    headline = page.attrs_by_id["headline"]
    assert headline["data-period-last"] == str(newest)
    assert headline["data-period-first"] == str(newest - timedelta(days=29))
    assert headline["data-previous-last"] == str(newest - timedelta(days=30))
    assert headline["data-previous-first"] == str(newest - timedelta(days=59))
    now = expected_figures(db, newest - timedelta(days=29), newest)
    before = expected_figures(db, newest - timedelta(days=59), newest - timedelta(days=30))
    assert list(page.figures) == list(now)
    for key, figure in page.figures.items():
        assert number(figure["data-value"]) == pytest.approx(now[key], rel=1e-12), key
        assert number(figure["data-previous"]) == pytest.approx(before[key], rel=1e-12), key
    assert now["sessions"] > 0 and now["prs_merged"] > 0 and before["prs_merged"] > 0


def test_tables_list_the_views_top_rows_in_order_and_the_rest_as_one(demo):
    page = read_page(demo)
    db = demo / "devin.duckdb"
    repos = query(db, "select repo, merged from v_repo_outcomes where repo is not null "
                      "order by merged desc, prs desc, repo")  # fmt: skip
    *shown, rest = page.tables["repos"]
    assert [(row[0], int(row[2])) for row in shown] == repos[:10]
    merged = sum(int(m) for _, m in repos[10:])
    assert rest[0] == f"{len(repos) - 10} other repositories" and int(rest[2]) == merged
    # by name, else email, else id (v2 sends "" for an unknown name)
    users = query(db, "select case when trim(name) <> '' then name when trim(email) <> '' then "
                      "email else coalesce(user_id, '(none)') end, sessions from v_user_usage "
                      "order by acus desc nulls last, user_id nulls last")  # fmt: skip
    *shown, rest = page.tables["users"]
    assert [(row[0], int(row[1])) for row in shown] == users[:10]
    assert rest[0] == f"{len(users) - 10} other users"
    assert int(rest[1]) == sum(n for _, n in users) - sum(n for _, n in users[:10])
    runs = query(db, "select run_id, status from export_runs order by started_at desc")
    assert [(row[0], row[3]) for row in page.tables["runs"]] == runs


def test_v3_breakdowns_are_left_out_quietly_when_no_session_has_them(demo, tmp_path):
    assert "v3" not in read_page(demo).attrs_by_id  # the v2 demo has no origin, category, size
    out = tmp_path / "v3"
    assert run_cli("--demo", "60", "--api-version", "v3", "--out", str(out), "--quiet",
                   key=None).code == 0  # fmt: skip
    text = (out / "report.html").read_text()
    assert 'id="v3"' in text
    for key in ("origin", "category", "session_size"):
        assert f'data-breakdown="{key}"' in text


def test_the_report_rebuilds_from_the_warehouse_alone(demo, copy):
    # copy holds devin.duckdb and nothing else: no raw files, no Parquet, no working state;
    # no key and no API either (the demo's server is gone)
    result = run_cli("report", "--out", str(copy), key=None)
    assert result.code == 0, result.stderr
    assert result.stdout == f"{copy / 'report.html'}\n"

    def stable(out: Path) -> str:
        """All but the time it was built, the file it was built from, and how long ago the
        newest session and the last run were then (minutes pass between the two builds)."""
        text = (out / "report.html").read_text()
        text = re.sub(r'data-generated-at="[^"]*"', "", text)
        text = re.sub(r"\((\d+ (min|h|days) ago|in the future)\)", "", text)
        return re.sub(r"Built [^<]*·", "", text)

    assert stable(copy) == stable(demo)
    assert sorted(p.name for p in copy.iterdir()) == ["devin.duckdb", "report.html"]


def test_report_without_a_warehouse_exits_2_and_writes_nothing(tmp_path):
    result = run_cli("report", "--out", str(tmp_path / "nowhere"), key=None)
    assert result.code == 2
    assert result.stderr == (
        f"devin-export report: {tmp_path / 'nowhere' / 'devin.duckdb'} does not exist: run an "
        f"export into {tmp_path / 'nowhere'} first (devin-export --all, or --demo to try it)\n"
    )
    assert not (tmp_path / "nowhere").exists()


def test_report_on_a_file_that_is_no_warehouse_exits_3(tmp_path):
    (tmp_path / "devin.duckdb").write_text("not a database")
    result = run_cli("report", "--out", str(tmp_path), key=None)
    assert result.code == 3
    assert result.stderr.startswith(f"devin-export report: cannot read {tmp_path}/devin.duckdb")
    assert not (tmp_path / "report.html").exists()


def test_report_help_and_the_main_help_name_the_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--help"], {})
    assert exit_.value.code == 0
    assert "Rebuild DIR/report.html from DIR/devin.duckdb alone" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"], {})
    assert "devin-export report --out DIR" in capsys.readouterr().out


HOSTILE_UPDATES = [
    "update sessions set org_id = $1 where org_id = (select min(org_id) from sessions)",
    "update sessions set user_id = $1 where user_id = (select user_id from v_user_usage "
    "where user_id is not null order by acus desc limit 1)",
    "update sessions set status = $1 where status = 'error'",
    "update sessions set origin = $1, category = $1, session_size = $1",
    "update pull_requests set repo = $1 where repo = (select repo from v_repo_outcomes "
    "where repo is not null order by merged desc, prs desc, repo limit 1)",
    "update issues set label = $1, impact = $1 where label = (select label from v_issue_labels "
    "order by issues desc limit 1)",
    "update action_items set type = $1 where type = (select type from v_action_items "
    "order by items desc limit 1)",
    "update export_runs set mode = $1",
    "insert into quality_checks (run_id, check_name, severity, failing_rows, sample, checked_at) "
    "values ($1, $1, 'error', 3, $1, now())",
]


def insert_errors(con: duckdb.DuckDBPyConnection, select: str, params: list[Any]) -> None:
    """Insert export_errors rows from a select naming run_id, session_id, kind, http_status,
    message and occurred_at; part (SPEC section 10) is 'sessions' where the table has it."""
    info = con.execute("select name from pragma_table_info('export_errors')").fetchall()
    part = ", 'sessions' as part" if ("part",) in info else ""
    con.execute(f"insert into export_errors by name select *{part} from ({select})", params)


def test_every_string_from_the_data_is_escaped(copy):
    with edited(copy / "devin.duckdb") as con:
        for sql in HOSTILE_UPDATES:
            con.execute(sql, [ATTACK])
        insert_errors(
            con,
            "select (select max(run_id) from export_runs) as run_id, $1 as session_id, $1 as "
            "kind, 500 as http_status, $1 as message, now() as occurred_at",
            [ATTACK],
        )
    result = run_cli("report", "--out", str(copy), key=None)
    assert result.code == 0, result.stderr
    text = (copy / "report.html").read_text()
    assert "<script" not in text.lower()
    assert "alert('x')" not in text  # the quote is escaped too: no attribute can be broken out of
    page = read_page(copy)
    shown = "".join(page.text)
    # org (chart legend), user, status, repo, label, impact, type, origin, category, size,
    # run mode, error kind, check name and sample: each one shows, as text
    assert shown.count(ATTACK) >= 14
    assert page.tables["checks"][0][:2] == [ATTACK, "error"]


def test_an_empty_warehouse_yields_a_report_that_says_so(server, out):
    result = run_cli("missing-session", "--api-url", server.url, "--out", str(out))
    assert result.code == 1  # not_found: the run is recorded, and no session is stored
    page = read_page(out)
    assert page.attrs_by_id["headline"]["data-empty"] == "true"
    assert page.figures == {}
    assert "The warehouse holds no sessions yet" in "".join(page.text)
    (run,) = page.tables["runs"]
    assert run[3] == "failed" and run[-1] == "not_found 1"


def test_figures_without_a_denominator_are_blank_not_errors(copy):
    with edited(copy / "devin.duckdb") as con:
        con.execute("update pull_requests set state = 'open'")
    assert run_cli("report", "--out", str(copy), key=None).code == 0
    figures = read_page(copy).figures
    assert figures["prs_merged"]["data-value"] == "0"
    assert figures["merge_rate"]["data-value"] == ""
    assert figures["acus_per_merged_pr"]["data-value"] == ""


def test_data_health_shows_the_latest_checks_only_failures_first(copy):
    with duckdb.connect(str(copy / "devin.duckdb")) as con:
        con.executemany(
            "insert into quality_checks (run_id, check_name, severity, failing_rows, sample, "
            "checked_at) values (?, ?, ?, ?, ?, ?::timestamptz)",
            [
                ("old-run", "old_check", "error", 9, "a; b", "2020-01-01T00:00:00Z"),
                ("new-run", "passes", "error", 0, None, "2030-01-01T00:00:00Z"),
                ("new-run", "warns", "warn", 2, "s1; s2", "2030-01-01T00:00:00Z"),
                ("new-run", "broken_sql", "error", None, "Parser Error", "2030-01-01T00:00:00Z"),
            ],
        )
    assert run_cli("report", "--out", str(copy), key=None).code == 0
    rows = read_page(copy).tables["checks"]
    assert rows == [
        ["broken_sql", "error", "broken", "–", "Parser Error"],
        ["warns", "warn", "failed", "2", "s1; s2"],
        ["passes", "error", "passed", "0", ""],
    ]


def test_a_report_that_cannot_be_written_only_warns(tmp_path):
    out = tmp_path / "out"
    (out / "report.html").mkdir(parents=True)  # a folder where the file goes
    result = run_cli("--demo", "20", "--out", str(out), "--quiet", key=None)
    assert result.code == 0
    assert "warning: the report could not be built (ReportError: cannot write" in result.stderr
    assert "devin-export report --out" in result.stderr
    assert "report.html" not in result.stdout
    assert query(out / "devin.duckdb", "select count(*) from sessions") == [(20,)]


def test_a_warehouse_held_open_read_write_elsewhere_exits_3_with_a_hint(copy):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('holding', flush=True); time.sleep(60)", str(copy / "devin.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        result = run_cli("report", "--out", str(copy), key=None)
    finally:
        holder.kill()
        holder.communicate()
    assert result.code == 3
    assert "another process holds it open read-write: close it, or open it read-only" in (
        result.stderr
    )


# --- the same report whatever the warehouse holds --------------------------------------------

MAX_BYTES = 1_000_000
MAX_ROWS = 21  # 20 categories and the rest, at most, in any chart or table
ZEBRA = {  # one label written six ways, 105 issues: one row, in its most common spelling
    "Zebra crossing broke": 40,
    "zebra crossing broke.": 25,
    " Zebra  Crossing Broke ": 20,
    "ZEBRA CROSSING BROKE!": 10,
    "Zebra\u00a0crossing broke…": 5,
    "Zebra crossing broke\n": 5,
}
HIGH = ("High", "high.", " HIGH", "High！")  # and its impact four ways


def llm_export(
    out: Path, sessions: int, *args: str, api_version: str = "v2", seed: int = 17
) -> Path:
    """Export sessions whose analyses' free text is as Devin's language model writes it
    (FakeDevin text "llm") into out, through the fake API; return out."""
    devin = with_text(FakeDevin(sessions, seed=seed), "llm")
    key = "cog_llm-test" if api_version == "v3" else "apk_user_llm-test"
    with FakeApiServer(devin) as server:
        result = run_cli("--all", *args, "--api-url", server.url, "--out", str(out), "--quiet",
                         "--api-version", api_version, key=key)  # fmt: skip
    assert result.code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 sessions of llm text, and 40,000 more one-off issues and action items on them
    (tens of thousands of distinct labels and types), and the label ZEBRA spelled six ways."""
    out = llm_export(tmp_path_factory.mktemp("report-llm") / "out", 5000)
    with edited(out / "devin.duckdb") as con:
        con.execute(
            "insert into issues select session_id, 100 + k, 'found once', 'Low', "
            "'One-off finding ' || k || ' of ' || session_id, null "
            "from sessions, range(8) as t(k)"
        )
        con.execute(
            "insert into action_items select session_id, 100 + k, null, "
            "'Do ' || k || ' thing for ' || session_id, 'once' from sessions, range(8) as t(k)"
        )
        spellings = [label for label, n in ZEBRA.items() for _ in range(n)]
        con.executemany(
            "insert into issues values ((select min(session_id) from sessions), ?, 'zebra', ?, "
            "?, null)",
            [[1000 + i, HIGH[i % len(HIGH)], label] for i, label in enumerate(spellings)],
        )
    assert run_cli("report", "--out", str(out), key=None).code == 0
    return out


def test_the_llm_warehouse_is_as_hostile_as_meant(llm):
    db = llm / "devin.duckdb"
    ((labels, types),) = query(
        db, "select (select count(distinct label) from issues), "
        "(select count(distinct type) from action_items)",
    )  # fmt: skip
    assert labels > 45_000 and types > 40_000
    assert query(db, "select count(*) from sessions") == [(5000,)]


def test_the_report_stays_small_whatever_the_warehouse_holds(llm):
    text = (llm / "report.html").read_text(encoding="utf-8")
    size = len(text.encode())
    print(f"\nreport.html of 5,000 llm sessions, {size:,} bytes")
    assert size < MAX_BYTES
    charts = Charts(text)
    # daily ACUs and sessions, repos, users, issues, actions; the bill per day, its top people
    assert len(charts.charts) == 8
    for label, rows in charts.charts.items():
        assert len(rows) <= MAX_ROWS, label
        assert sum(row["rest"] for row in rows) <= 1 and not any(r["rest"] for r in rows[:-1])
    assert all(len(names) <= MAX_ROWS for names in charts.legends)
    for name, rows in read_page(llm).tables.items():
        assert len(rows) <= MAX_ROWS, name


def test_free_text_is_grouped_by_case_spacing_and_trailing_punctuation(llm):
    db = llm / "devin.duckdb"
    assert query(db, "select distinct text_key(label) from issues where label ilike '%zebra%'"
                     " or label like '%ZEBRA%'") == [("zebra crossing broke",)]  # fmt: skip
    rows = Charts((llm / "report.html").read_text()).charts["Issues by label and impact"]
    zebra = [row for row in rows if "ebra" in row["name"] or "EBRA" in row["name"]]
    assert zebra == [{"name": "Zebra crossing broke", "rest": False, "value": 105}]
    assert query(db, "select impact, issues from v_issue_labels "
                     "where label = 'Zebra crossing broke'") == [("High", 105)]  # fmt: skip
    # the recurring labels the fake spells many ways: one row each, no two rows alike
    keys = [re.sub(r"\s+", " ", row["name"]).strip(" .!:;…").lower() for row in rows]
    assert len(keys) == len(set(keys)) and "flaky test" in keys
    table = read_page(llm).tables["issues"]
    assert ["Zebra crossing broke", "High", "105"] in [row[:3] for row in table]


def test_the_other_row_holds_the_total_less_what_is_shown(llm):
    db = llm / "devin.duckdb"
    charts = Charts((llm / "report.html").read_text()).charts

    def check(chart: str, total: float, categories: int, what: str) -> None:
        *shown, rest = charts[chart]
        assert rest["rest"] and not any(r["rest"] for r in shown)
        assert rest["name"] == f"{categories - len(shown):,} other {what}"
        # as shown, rounded: ACUs above 1,000 to whole ones
        rounding = 0.5 * (len(shown) + 1)
        assert rest["value"] == pytest.approx(total - sum(r["value"] for r in shown), abs=rounding)

    ((issues, labels),) = query(db, "select sum(issues), count(distinct label) from v_issue_labels")
    check("Issues by label and impact", issues, labels, "labels")
    ((items, types),) = query(db, "select sum(items), count(*) from v_action_items")
    check("Action items by type", items, types, "types")
    ((merged, repos),) = query(db, "select sum(merged), count(*) from v_repo_outcomes "
                                   "where repo is not null")  # fmt: skip
    check("Top repositories by merged PRs", merged, repos, "repositories")
    ((acus, users),) = query(db, "select sum(acus), count(*) from v_user_usage")
    check("Top users by ACUs", float(acus), users, "users")
    *shown, rest = read_page(llm).tables["issues"]
    ((pairs,),) = query(db, "select count(*) from v_issue_labels")
    assert rest[0] == f"{pairs - len(shown):,} other label and impact pairs"
    assert int(rest[2].replace(",", "")) == issues - sum(int(r[2].replace(",", "")) for r in shown)
    assert rest[3:] == ["–", "–"]  # sessions and ACUs do not add up over rows
    # and exactly, as read: the rest is the total less the rows shown, to the last decimal
    with duckdb.connect(str(db), read_only=True) as con:
        data = queries.gather(con)
    assert data.top_users.other and data.top_users.other["acus"] == (
        query(db, "select sum(acus) from v_user_usage")[0][0]
        - sum(row["acus"] for row in data.top_users.rows)
    )
    assert data.issue_pairs.other and data.issue_pairs.other["issues"] == issues - sum(
        row["issues"] for row in data.issue_pairs.rows
    )


def test_the_report_reads_a_few_rows_of_each_view(llm, monkeypatch):
    read: list[int] = []
    fetch = queries.fetch_dicts

    def counting(con: Any, sql: str, params: Any = None) -> list[dict[str, Any]]:
        rows = fetch(con, sql, params)
        read.append(len(rows))
        return rows

    monkeypatch.setattr(queries, "fetch_dicts", counting)
    build_report(llm / "devin.duckdb", llm / "again.html")
    # the two daily charts: a row per day and series; the rest: a few dozen rows at most
    daily = queries.DAILY_DAYS * (max(queries.TOP_ORGS, queries.TOP_STATUSES) + 1)
    assert len(read) > 10 and max(read) <= daily
    # the label chart: by label and impact, each the top, one more, and the rest
    assert sorted(read)[-3] <= (queries.TOP_LABELS + 2) * (queries.TOP_IMPACTS + 2)


def test_a_warehouse_of_huge_strings_and_endless_categories_stays_under_1_mb(copy):
    """Every string the report shows made 20,000 characters of escapes and wide characters,
    and distinct in every row: as many categories as rows, everywhere."""
    huge = "repeat('&<\"😀', 5000)"
    with edited(copy / "devin.duckdb") as con:
        con.execute(f"update sessions set org_id = {huge} || session_id, user_id = "
                    f"{huge} || session_id, status = {huge} || (hash(session_id) % 40), origin "
                    f"= {huge} || session_id, category = {huge} || session_id, session_size = "
                    f"{huge} || session_id")  # fmt: skip
        con.execute(f"update pull_requests set repo = {huge} || session_id || ordinal")
        con.execute(f"update issues set label = {huge} || session_id || ordinal, impact = "
                    f"{huge} || ordinal")  # fmt: skip
        con.execute(f"update action_items set type = {huge} || session_id || ordinal")
        con.execute(f"update export_runs set mode = {huge}")
        insert_errors(
            con,
            "select (select max(run_id) from export_runs) as run_id, 's' || i as session_id, "
            f"{huge} || i as kind, 500 as http_status, {huge} as message, now() as occurred_at "
            "from range(60) t(i)",
            [],
        )
        con.execute(f"insert into quality_checks (run_id, check_name, severity, failing_rows, "
                    f"sample, checked_at) select 'zz-run', {huge} || i, 'error', i, {huge}, "
                    "'2100-01-01'::timestamptz from range(200) t(i)")  # fmt: skip
    # a run builds it on its working copy within its own small cache (the export's 64 MB),
    # and gives it the room `devin-export report` has when free text needs more
    log = io.StringIO()
    with duckdb.connect(str(copy / "devin.duckdb")) as con:
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        con.execute("set TimeZone = 'UTC'")
        assert report_after_run(copy, Reporter(log), con) == copy / "report.html"
        assert con.execute("select current_setting('memory_limit')").fetchall() == [("61.0 MiB",)]
    assert "report could not be built" not in log.getvalue()
    by_run = (copy / "report.html").read_text(encoding="utf-8")
    assert run_cli("report", "--out", str(copy), key=None).code == 0
    text = (copy / "report.html").read_text(encoding="utf-8")
    built = r'data-generated-at="[^"]*"|Built [^<]*·|\((\d+ (min|h|days) ago|in the future)\)'
    assert re.sub(built, "", by_run) == re.sub(built, "", text)  # minutes pass between them
    size = len(text.encode())
    print(f"\nreport.html of huge strings and endless categories, {size:,} bytes")
    assert size < MAX_BYTES
    charts = Charts(text)
    assert all(len(rows) <= MAX_ROWS for rows in charts.charts.values())
    assert all(len(names) <= MAX_ROWS for names in charts.legends)
    page = read_page(copy)
    assert all(len(rows) <= MAX_ROWS for rows in page.tables.values())
    assert page.tables["checks"][-1][0] == "180 other checks"
    assert "&amp;&lt;&quot;😀" in text and '<"' not in text.replace("&lt;", "")


def test_text_key_groups_case_spacing_trailing_punctuation_and_unicode_form(demo):
    cases = {
        "Flaky test": "flaky test",
        " flaky  TEST. ": "flaky test",
        "Flaky\ttest…": "flaky test",
        "flaky\u00a0test\u3000!": "flaky test",
        "Flaky test...\n": "flaky test",
        "Café": "café",
        "Cafe\u0301": "café",  # é as e and a combining accent
        "НЕСТАБИЛЬНЫЙ ТЕСТ。": "нестабильный тест",
        "فشل الأمر؟": "فشل الأمر",
        "(CI) flaky test (numpy)": "(ci) flaky test (numpy)",  # only punctuation that ends a sentence
        "C#": "c#",
        "...": "",
        "": "",
    }
    db = demo / "devin.duckdb"
    for text, key in cases.items():
        assert query(db, "select text_key(?)", [text]) == [(key,)], text
    assert query(db, "select text_key(null)") == [(None,)]


def test_a_group_goes_by_its_most_common_spelling_and_a_tie_by_the_plainest(copy):
    db = copy / "devin.duckdb"
    spellings = ["Tied label！", " Tied label", "Tied label", "tied label.", "Most label",
                 "most label", "most label"]  # fmt: skip
    with edited(db) as con:
        session = con.execute("select min(session_id) from sessions").fetchall()[0][0]
        for i, label in enumerate(spellings):
            con.execute("insert into issues values (?, ?, 'x', 'High', ?, null)",
                        [session, 500 + i, label])  # fmt: skip
            con.execute("insert into action_items values (?, ?, null, ?, 'x')",
                        [session, 500 + i, label])  # fmt: skip
    labels = query(db, "select label, issues, sessions_affected from v_issue_labels "
                       "where text_key(label) in ('tied label', 'most label') order by 1")  # fmt: skip
    assert labels == [("Tied label", 4, 1), ("most label", 3, 1)]
    types = query(db, "select type, items, sessions from v_action_items "
                      "where text_key(type) in ('tied label', 'most label') order by 1")  # fmt: skip
    assert types == [("Tied label", 4, 1), ("most label", 3, 1)]
