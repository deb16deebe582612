"""The report, DIR/report.html: its figures against SQL on the same warehouse, rebuilt from the
warehouse alone, escaped, and honest about an empty warehouse or a missing one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from tests.helpers import query, run_cli

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


def test_tables_list_the_views_top_rows_in_order(demo):
    page = read_page(demo)
    db = demo / "devin.duckdb"
    repos = query(db, "select repo, merged from v_repo_outcomes where repo is not null "
                      "order by merged desc, prs desc, repo limit 10")  # fmt: skip
    assert [(row[0], int(row[2])) for row in page.tables["repos"]] == repos
    users = query(db, "select coalesce(user_id, '(none)'), sessions from v_user_usage "
                      "order by acus desc nulls last, user_id nulls last limit 10")  # fmt: skip
    assert [(row[0], int(row[1])) for row in page.tables["users"]] == users
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

    def stable(out: Path) -> str:  # all but the time it was built and the file it was built from
        text = (out / "report.html").read_text()
        text = re.sub(r'data-generated-at="[^"]*"', "", text)
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
    "insert into export_errors values ((select max(run_id) from export_runs), $1, $1, 500, $1, "
    "now())",
    "insert into quality_checks values ($1, $1, 'error', 3, $1, now())",
]


def test_every_string_from_the_data_is_escaped(copy):
    with duckdb.connect(str(copy / "devin.duckdb")) as con:
        for sql in HOSTILE_UPDATES:
            con.execute(sql, [ATTACK])
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
    with duckdb.connect(str(copy / "devin.duckdb")) as con:
        con.execute("update pull_requests set state = 'open'")
    assert run_cli("report", "--out", str(copy), key=None).code == 0
    figures = read_page(copy).figures
    assert figures["prs_merged"]["data-value"] == "0"
    assert figures["merge_rate"]["data-value"] == ""
    assert figures["acus_per_merged_pr"]["data-value"] == ""


def test_data_health_shows_the_latest_checks_only_failures_first(copy):
    with duckdb.connect(str(copy / "devin.duckdb")) as con:
        con.executemany(
            "insert into quality_checks values (?, ?, ?, ?, ?, ?::timestamptz)",
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
