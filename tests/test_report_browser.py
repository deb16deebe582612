"""The report in a real browser: headless Chromium, driven over the DevTools protocol.

Chromium is Debian's package at /usr/bin/chromium (`make test` installs it when missing); the
tests fail, never skip, without it. The DevTools protocol runs over --remote-debugging-pipe
(JSON messages ended by NUL on file descriptors 3 and 4), so no client library and no port.

Artifacts, for a person to look at: tests/artifacts/report.png (the page at a laptop's width),
tests/artifacts/report.pdf (as printed), and tests/artifacts/report-llm.png (the report of
sessions whose analyses' free text is as Devin's language model writes it: nearly every label
its own, in every script).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.report import build_report
from tests.helpers import edited, run_cli
from tests.test_report import llm_export

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LAPTOP = (1366, 768)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--remote-debugging-pipe",
)


# argv: READ_FD WRITE_FD PROGRAM ARG...; copies first, so neither can be overwritten by the other
ON_FDS_3_AND_4 = """
import os, sys
read, write = (os.dup(int(fd)) for fd in sys.argv[1:3])
os.dup2(read, 3)
os.dup2(write, 4)
os.set_inheritable(3, True)  # dup2 onto itself (read was 3 already) keeps dup's close-on-exec
os.set_inheritable(4, True)
for fd in {read, write, *map(int, sys.argv[1:3])} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class Browser:
    """Headless Chromium and one page, spoken to over the DevTools protocol on a pipe."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM.is_file(), (
            f"{CHROMIUM} is missing: the report's browser tests need Debian's chromium "
            "(apt-get install -y chromium; make test installs it)"
        )
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser reads commands on fd 3 and writes answers on fd 4: a small Python puts
        # the pipes there, then becomes Chromium (sh cannot: dash takes only fds 0 to 9).
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                ON_FDS_3_AND_4,
                str(to_browser_r),
                str(from_browser_w),
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],  # fmt: skip
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        except BaseException:
            self.close()  # never leave a browser behind
            raise
        self.session = attached["sessionId"]

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "Chromium did not answer in time"
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                assert chunk, f"Chromium closed the pipe (exit code {self.proc.poll()})"
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, page: bool = False,
        timeout: float = 30.0,
    ) -> dict[str, Any]:  # fmt: skip
        """Send one command (to the page when page is true); return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer["result"]  # type: ignore[no-any-return]
            self.events.append(answer)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for seen in self.events:
                if seen.get("method") == event:
                    self.events.remove(seen)
                    return seen
            self.events.append(self._read(deadline))

    def open(self, url: str, width: int = LAPTOP[0], height: int = LAPTOP[1]) -> None:
        """Load url with the network and the console watched; events from before are dropped."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  page=True)  # fmt: skip
        for domain in ("Network", "Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", page=True)
        self.events.clear()
        self.call("Page.navigate", {"url": url}, page=True)
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        """Return the value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           page=True)  # fmt: skip
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def requests(self) -> list[str]:
        """Return the URL of every request the page made since it was opened."""
        self.js("1")  # a round trip, so events sent before it are read
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --demo export (v3, so the origin, category and size charts have data)."""
    out = tmp_path_factory.mktemp("report-demo")
    result = run_cli("--demo", "300", "--api-version", "v3", "--out", str(out), "--quiet")
    assert result.code == 0, result.stderr
    assert (out / "report.html").is_file()
    return out


@pytest.fixture(scope="module")
def llm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v3 export of 2,000 sessions of llm text (FakeDevin text "llm"), the bill included;
    not their messages (2,000 requests), which no chart or table of the report shows."""
    out = tmp_path_factory.mktemp("report-llm") / "out"
    return llm_export(out, 2000, "--without", "messages", api_version="v3")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def page(browser: Browser, demo: Path) -> Browser:
    """The browser, showing the demo's report (again: a test may have opened another page)."""
    browser.open((demo / "report.html").as_uri())
    return browser


CHARTS = """
[...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('.mark')].map(m => m.getBBox());
  return {
    label: svg.getAttribute('aria-label'),
    width: box.width,
    height: box.height,
    axisTexts: [...svg.querySelectorAll('.axis text')].map(t => t.textContent.trim())
      .filter(t => t),
    visibleAxisTexts: [...svg.querySelectorAll('.axis text')]
      .filter(t => t.getBoundingClientRect().width > 0).length,
    marks: marks.length,
    paintedMarks: marks.filter(b => b.width > 0 && b.height > 0).length,
  };
})
"""


def test_every_chart_renders_with_axes_labels_and_marks(page):
    charts = page.js(CHARTS)
    labels = [c["label"] for c in charts]
    # daily ACUs and sessions, repos, users, issues, action items, notes judged good and bad,
    # origin, category, size; the bill: billed ACUs per day by product, forecast against the
    # limits, active users
    assert len(charts) == 14, labels
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 60, chart
        assert len(chart["axisTexts"]) >= 3 and chart["visibleAxisTexts"] >= 3, chart
        assert "0" in chart["axisTexts"], chart  # the axis starts at zero
        assert chart["marks"] >= 1 and chart["paintedMarks"] == chart["marks"], chart
    assert any(label.startswith("ACUs per day by org") for label in labels)
    assert any(label.startswith("Sessions per day by status") for label in labels)


def test_the_page_makes_no_request_runs_no_script_and_loads_nothing(page, demo):
    assert page.requests() == [(demo / "report.html").as_uri()]  # the file itself, nothing else
    assert page.js("performance.getEntriesByType('resource').length") == 0
    assert page.js("document.scripts.length") == 0
    loading = "img, script, link, iframe, object, embed, audio, video, source, [src], [href]"
    assert page.js(f"document.querySelectorAll({json.dumps(loading)}).length") == 0
    violations = [e for e in page.events if e.get("method") == "Log.entryAdded"
                  and "Content Security Policy" in e["params"]["entry"]["text"]]  # fmt: skip
    assert violations == []  # nothing tried to load and was blocked either


def test_the_request_check_sees_a_request_even_one_the_policy_blocks(browser, tmp_path):
    # The test above is only worth something if a request would show: load a page that tries.
    leaky = tmp_path / "leaky.html"
    report = (ARTIFACTS.parent.parent / "pipeline" / "report" / "html.py").read_text()
    assert "Content-Security-Policy" in report
    leaky.write_text(
        '<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="default-src '
        '\'none\'"><img src="http://127.0.0.1:9/pixel.png"><p>leaky</p>'
    )
    browser.open(leaky.as_uri())
    assert "http://127.0.0.1:9/pixel.png" in browser.requests()


def test_the_page_fits_a_laptop_screen_and_prints(page, demo):
    width = LAPTOP[0]
    assert page.js("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    figures = page.js(
        "[...document.querySelectorAll('[data-figure]')].map(f => "
        "[f.dataset.figure, f.getBoundingClientRect().bottom])"
    )
    assert [key for key, _ in figures] == [
        "sessions", "acus", "prs_opened", "prs_merged", "merge_rate", "acus_per_merged_pr",
    ]  # fmt: skip
    assert all(bottom <= LAPTOP[1] for _, bottom in figures)  # the headline is above the fold
    ARTIFACTS.mkdir(exist_ok=True)
    height = int(page.js("document.documentElement.scrollHeight"))
    page.call("Emulation.setDeviceMetricsOverride",
              {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
              page=True)  # fmt: skip
    shot = page.call("Page.captureScreenshot", {"format": "png"}, page=True)["data"]
    png = ARTIFACTS / "report.png"
    png.write_bytes(base64.b64decode(shot))
    print(f"\nscreenshot of the report: {png}")
    # As printed: the charts keep their size, and the PDF is made.
    page.call("Emulation.setEmulatedMedia", {"media": "print"}, page=True)
    try:
        charts = page.js(CHARTS)
        assert len(charts) == 14 and all(c["width"] > 150 and c["paintedMarks"] for c in charts)
        pdf = page.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                        page=True, timeout=60)["data"]  # fmt: skip
    finally:
        page.call("Emulation.setEmulatedMedia", {"media": ""}, page=True)
    data = base64.b64decode(pdf)
    assert data.startswith(b"%PDF")
    (ARTIFACTS / "report.pdf").write_bytes(data)
    print(f"the report as printed: {ARTIFACTS / 'report.pdf'}")


def test_strings_from_the_data_show_as_text_and_never_run(browser, demo, tmp_path):
    out = tmp_path / "hostile"
    out.mkdir()
    shutil.copy(demo / "devin.duckdb", out / "devin.duckdb")
    attack = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    with edited(out / "devin.duckdb") as con:
        con.execute("update sessions set user_id = ? where user_id = "
                    "(select user_id from v_user_usage where user_id is not null "
                    "order by acus desc nulls last limit 1)",
                    [attack])  # fmt: skip
        con.execute("update pull_requests set repo = ? where repo = "
                    "(select repo from v_repo_outcomes where repo is not null "
                    "order by merged desc, prs desc, repo limit 1)", [attack])  # fmt: skip
    build_report(out / "devin.duckdb", out / "report.html")
    browser.open((out / "report.html").as_uri())
    assert browser.js("document.title") != "pwned"
    assert browser.js("document.scripts.length") == 0
    assert browser.js("document.images.length") == 0
    assert browser.js("document.body.innerText").count(attack) >= 2  # shown, as text


def test_without_chromium_the_browser_tests_fail_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(f"{__name__}.CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(AssertionError, match=r"apt-get install -y chromium"):
        Browser(tmp_path / "profile")


FITS = """
[...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text.row-label, text.value')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, fits: r.left >= box.left - 1 && r.right <= box.right + 1};
  });
}).filter(t => !t.fits)
"""


def test_a_report_of_llm_text_renders_each_chart_with_its_rest_and_reads_well(browser, llm):
    browser.open((llm / "report.html").as_uri())
    thrown = [e for e in browser.events if e.get("method") == "Runtime.exceptionThrown"]
    logged = [e["params"]["entry"] for e in browser.events if e.get("method") == "Log.entryAdded"]
    assert thrown == [] and [e for e in logged if e["level"] == "error"] == []
    charts = browser.js(CHARTS)
    assert len(charts) == 14, [c["label"] for c in charts]
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 60, chart
        assert chart["marks"] >= 1 and chart["paintedMarks"] == chart["marks"], chart
    rests = browser.js(
        "[...document.querySelectorAll('text.row-label.rest')].map(t => "
        "[t.closest('svg').getAttribute('aria-label'), t.textContent])"
    )
    charted = {label for label, _ in rests}
    assert {"Issues by label and impact", "Action items by type", "Top users by ACUs",
            "Top repositories by merged PRs", "Knowledge notes most often judged good"} <= charted, (
        rests
    )  # fmt: skip
    assert all(" other " in text for _, text in rests)
    assert browser.js("document.querySelectorAll('tr.rest').length") >= 3
    assert browser.js(FITS) == []  # every label and figure inside its chart, cut if need be
    assert browser.js("document.documentElement.scrollWidth") <= LAPTOP[0]
    ARTIFACTS.mkdir(exist_ok=True)
    height = int(browser.js("document.documentElement.scrollHeight"))
    browser.call("Emulation.setDeviceMetricsOverride",
                 {"width": LAPTOP[0], "height": height, "deviceScaleFactor": 1, "mobile": False},
                 page=True)  # fmt: skip
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, page=True)["data"]
    png = ARTIFACTS / "report-llm.png"
    png.write_bytes(base64.b64decode(shot))
    print(f"\nscreenshot of the report of llm text: {png}")
