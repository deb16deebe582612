"""RESULTS.md: machine facts, commands, a table per benchmark, and PASS/FAIL per target."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks.datasets import NIGHTLY_AGAIN, NIGHTLY_RUN, TEXT
from benchmarks.extract import ExtractResult
from benchmarks.load import (
    BASELINE,
    DLT_DUCKDB,
    DLT_PARQUET,
    OURS,
    OURS_NIGHTLY,
    OURS_NIGHTLY_V3,
    LoadResult,
    time_ratio,
)
from benchmarks.measure import JobResult, Stat, stat
from benchmarks.night import (
    CREATION,
    EMPTY,
    LATENCY_MS,
    NEW,
    NONE,
    NOW,
    ORDERS,
    RANDOM,
    UPDATED,
    Nights,
    fit,
)
from pipeline.sources.v2 import PAGE_LIMIT

PROJECT_PACKAGES = ("duckdb", "pyarrow", "orjson", "pydantic", "urllib3", "requests")
EXTRACT_TARGET = 0.9  # of the C/L limit, by id
DLT_TARGET = 10.0  # ours / dlt->DuckDB throughput
BASELINE_TARGET = 1.3  # ours / baseline time, the report and the checks included
RSS_GROWTH_TARGET = 1.1  # peak RSS at the large size / at the small size
RSS_LIMIT_MIB = 400.0
# A night into the largest warehouse (random order) / into an empty one: the target, the aim.
NIGHT_TIME_TARGET, NIGHT_TIME_AIM = 2.0, 1.5  # wall time
NIGHT_RSS_TARGET, NIGHT_RSS_AIM = 1.5, 1.25  # peak memory
REPORT_LIMIT_BYTES = 1_000_000  # report.html, after every rebuild and night
ONE_MILLION = 1_000_000


@dataclass
class RunInfo:
    started: datetime
    argv: list[str]
    total_seconds: float
    dlt_venv_seconds: float | None  # None: reused
    dlt_version: str | None
    data_seconds: float | None  # None: cached
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


@dataclass
class Verdict:
    target: str
    measured: str
    passed: bool | None  # None: not measured in this run

    @property
    def label(self) -> str:
        return {True: "**PASS**", False: "**FAIL**", None: "not run"}[self.passed]


def fmt(s: Stat | None, digits: int = 0, unit: str = "") -> str:
    if s is None or not len(s):
        return "–"
    value = f"{s.median:,.{digits}f}{unit}"
    if len(s) == 1:
        return value
    return f"{value} ({s.low:,.{digits}f}–{s.high:,.{digits}f})"


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return f"{pages * size / 2**30:.0f} GiB"


def machine_section(info: RunInfo) -> list[str]:
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in PROJECT_PACKAGES)
    before = " / ".join(f"{x:.2f}" for x in info.load_before)
    after = " / ".join(f"{x:.2f}" for x in info.load_after)
    return [
        "## Machine",
        "",
        f"- {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {_cpu_model()}, "
        f"{_memory_gib()} RAM; {platform.platform()}",
        f"- Python {sys.version.split()[0]}; project venv: {versions}",
        f"- dlt venv (benchmarks/work/.venv-dlt): dlt {info.dlt_version or 'not used'}",
        f"- load average (1/5/15 min) at the start: {before}; at the end: {after}. The machine "
        "is shared with other jobs, so wall times are noisy: compare the ratios taken within "
        "this run rather than absolute numbers across runs.",
    ]


def commands_section(
    info: RunInfo, extract_on: bool, load_on: bool, night_on: bool = False
) -> list[str]:
    lines = [
        "## Commands",
        "",
        "```",
        f".venv/bin/python -m benchmarks {' '.join(info.argv)}".rstrip()
        + "   # what `make bench` runs",
    ]
    if extract_on:
        lines += [
            "# extraction: the fake API in its own process, the exporter as a subprocess",
            ".venv/bin/python -m pipeline.fake_api --port 0 --seed 0 --preload --sessions N "
            "--latency-ms 20",
            "DEVIN_API_KEY=bench-key .venv/bin/python run_export.py --ids-file ids.txt --out DIR "
            "--api-url URL --quiet --concurrency 16 --summary-json S [--max-rps R]",
            "DEVIN_API_KEY=bench-key .venv/bin/python run_export.py --all --full --out DIR "
            "--api-url URL --quiet --concurrency 16 --summary-json S",
        ]
    if load_on:
        lines += [
            "# load: each job its own process, fresh output folder each time",
            ".venv/bin/python run_export.py --from-raw FILE --out DIR --quiet --summary-json S",
            ".venv/bin/python benchmarks/jobs/baseline_load.py FILE DIR",
            "benchmarks/work/.venv-dlt/bin/python benchmarks/jobs/dlt_load.py FILE DIR duckdb",
            "benchmarks/work/.venv-dlt/bin/python benchmarks/jobs/dlt_load.py FILE DIR parquet",
        ]
    if night_on:
        lines += [
            "# night: each warehouse built beforehand (once in random order, once in creation "
            "order), copied afresh for each run",
            ".venv/bin/python run_export.py --from-raw BASE-ORDER.jsonl --out BASE --quiet",
            f".venv/bin/python benchmarks/jobs/night_api.py N 0 NOW 20 UPDATED.json 50 ids.txt "
            f"{TEXT}",
            "DEVIN_API_KEY=bench-key .venv/bin/python run_export.py --ids-file ids.txt --out COPY "
            "--api-url URL --quiet --concurrency 16 --summary-json S",
            ".venv/bin/python run_export.py report --out COPY   # the report alone",
        ]
    lines += ["```", ""]
    lines += _setup_lines(info)
    return lines


def _setup_lines(info: RunInfo) -> list[str]:
    venv = (
        "reused" if info.dlt_venv_seconds is None else f"created in {info.dlt_venv_seconds:.0f} s"
    )
    data = "cached" if info.data_seconds is None else f"generated in {info.data_seconds:.0f} s"
    return [
        f"Whole run: **{info.total_seconds:.0f} s** wall (dlt venv {venv}; data sets {data}, "
        "in parallel with the venv).",
        "",
        f"Data sets: `benchmarks/work/data/sessions-N-seed0-{TEXT}.jsonl`, one session a line, "
        f'`orjson.dumps(with_text(FakeDevin(N, seed=0), "{TEXT}").session(id))` in list order '
        "(the small set is the large set's first sessions by index), with the API's schema "
        "drift (`pr_url`/`pr_state`, unknown fields, nulls) and the analyses' free text as a "
        "language model writes it (pipeline/fake_api/llm.py): nearly every issue label, impact "
        "and action item type its own, recurring ones in other case, spacing and punctuation, "
        "long texts in every script, a few sessions with a pasted log of 10-50 kB or with "
        "hundreds of timeline events (7-8 KB a session). The extraction benchmark serves "
        "the fake's default text (a few fixed labels): what it measures, HTTP and validation, "
        "does not depend on it. Wall time is measured by the "
        "benchmark run around each subprocess; CPU is user + system of that process and of the "
        "processes it waited for (`os.wait4`); peak RSS the larger of its `ru_maxrss` and the "
        "PSS of its whole process tree summed every 20 ms (a rebuild reads in a child process; "
        "PSS counts the libraries both processes map once). Cells show the median and (min–max)"
        " of the runs.",
    ]


def extract_section(results: list[ExtractResult], startup: JobResult | None) -> list[str]:
    lines = [
        "## 1. Extraction",
        "",
        "| case | sessions | C | L | limit | runs | sessions/s while fetching | of limit "
        "| sessions/s, whole process | of limit | client alone, sessions/s "
        "| exporter / client alone | exporter CPU s / 1k | fake API CPU s / 1k | peak RSS MiB "
        "| peak connections |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.case
        limit = f"{c.limit:,.0f}/s" if c.limit else "–"
        client = r.client_rate if r.client_rates else None
        lines.append(
            f"| {c.name} | {c.sessions:,} | {c.concurrency} | {c.latency_ms:g} ms | {limit} "
            f"| {len(r.jobs)} | {fmt(r.fetch_rate)} | {fmt(r.of_limit(r.fetch_rate), 2)} "
            f"| {fmt(r.rate)} | {fmt(r.of_limit(r.rate), 2)} | {fmt(client)} "
            f"| {fmt(r.of_client if client else None, 2)} "
            f"| {fmt(r.cpu_per_1000, 2)} | {fmt(r.server_cpu_per_1000, 2)} | {fmt(r.peak_rss)} "
            f"| {fmt(stat(r.peak_connections))} |"
        )
    lines += [
        "",
        "*limit*: C/L requests a second (one session each), or `--max-rps` when lower. "
        "*while fetching*: sessions over the exporter's `fetch_seconds` (its summary JSON: first "
        "request to last answer validated and flattened). *whole process*: over the wall time "
        "of the process, interpreter start, imports, the last batch's write, views, Parquet "
        "and publishing included. *client alone*: `benchmarks/jobs/fetch_only.py`, "
        "pipeline.client fetching the same ids from the same server with nothing downstream, "
        "run right after each exporter run: the most this machine and this fake API allow, and "
        "the exporter's ratio to it is what flattening and loading cost the fetching. "
        "*peak connections*: most connections the fake API held open at once (sampled from "
        "/proc/net/tcp every 10 ms), i.e. workers fetching in parallel. --all asks for pages of "
        "200 sessions (pipeline.sources.v2.PAGE_LIMIT): its C/L limit (800 pages/s) is far above "
        "what either process can parse, so it has no limit column.",
    ]
    if startup is not None:
        lines += [
            "",
            f"The exporter's fixed cost, interpreter start and imports (`run_export.py "
            f"--version`): {startup.wall_s:.2f} s wall, {startup.cpu_s:.2f} s CPU; it is "
            "part of every whole-process rate and CPU figure above.",
        ]
    return lines + _cpu_budget(results)


def _cpu_budget(results: list[ExtractResult]) -> list[str]:
    """What the CPU measured allows: two processes on the machine's cores, one GIL each."""
    lines = []
    for r in results:
        if r.case.limit and not r.case.max_rps:
            exporter = r.cpu_per_1000.median / 1000  # CPU seconds a session
            server = r.server_cpu_per_1000.median / 1000
            cores = os.cpu_count() or 1
            lines += [
                "",
                f"CPU budget of *{r.case.name}*: at {r.case.limit:,.0f} sessions/s the exporter "
                f"would need {exporter * r.case.limit:.2f} cores and the fake API "
                f"{server * r.case.limit:.2f}, on a machine of {cores}. Both together allow at "
                f"most about {cores / (exporter + server):,.0f} sessions/s; the exporter alone, "
                f"one process whose Python work holds one GIL, about {1 / exporter:,.0f} "
                "sessions/s (a little more, as DuckDB and socket waits release the GIL).",
            ]
    return lines


def load_section(results: dict[tuple[str, int], LoadResult]) -> list[str]:
    lines = [
        "## 2. Load from raw",
        "",
        "| job | sessions | runs | seconds | sessions/s | CPU s / 1k | peak RSS MiB "
        "| report.html kB | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (tool, sessions), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(
            f"| {_tool_name(tool)} | {sessions:,} | {len(r.jobs)} | {fmt(r.seconds, 1)} "
            f"| {fmt(r.rate)} | {fmt(r.cpu_per_1000, 2)} | {fmt(r.peak_rss)} "
            f"| {_kb(r.report_bytes)} | {'; '.join(r.notes)} |"
        )
    lines += [
        "",
        "*ours*: `run_export.py --from-raw` end to end (validate, flatten, batched upserts, "
        "views, the quality checks over the whole warehouse, Parquet partitions, report.html, "
        "publishing devin.duckdb), from the data set's one JSONL file. *nightly files*: the "
        "same sessions as --from-raw really meets them, a raw folder of one gzip file a night "
        f"({NIGHTLY_RUN} new sessions each, after {NIGHTLY_AGAIN} of the night before fetched "
        "again, still moving then, and the enterprise's parts, people to metrics, as a demo "
        "run lists them: a gzip member for the sessions and one for each part, as runs write "
        "them; datasets.nightly_folder). *v3*: the same sessions as v3 bodies, each night's "
        "followed by their messages, a page a session, and a v3 demo's parts "
        "(datasets.v3_nightly_folder): more to load than the baseline's file, the messages "
        "(about 17 a session) included. *baseline*: orjson, flatten into "
        "column lists, Arrow, Parquet and DuckDB from Arrow, all in memory, no validation "
        "(jobs/baseline_load.py). *dlt*: one resource, default nested normalization, "
        "`write_disposition='merge'`, `primary_key='session_id'` (jobs/dlt_load.py).",
    ]
    return lines


def _tool_name(tool: str) -> str:
    return {
        OURS: "ours (--from-raw)",
        OURS_NIGHTLY: f"ours (--from-raw, nightly files of {NIGHTLY_RUN} + {NIGHTLY_AGAIN} again "
        "+ parts)",
        OURS_NIGHTLY_V3: "ours (--from-raw, the same nightly files in v3, + messages)",
        BASELINE: "bare baseline",
        DLT_DUCKDB: "dlt → DuckDB",
        DLT_PARQUET: "dlt → Parquet (filesystem)",
    }[tool]


def _sizes(results: dict) -> list[int]:
    return sorted({size for _, size in results})


def _rate_ratio(results: dict, tool: str, sessions: int) -> Stat | None:
    """Ours / tool throughput: each of our runs against the tool's median."""
    other = results.get((tool, sessions))
    ours = results.get((OURS, sessions))
    if other is None or ours is None:
        return None
    return stat([r / other.rate.median for r in ours.rate.values])


def ratio_section(results: dict) -> list[str]:
    lines = [
        "### Ratios (taken within this run)",
        "",
        "| ratio | sessions | value |",
        "|---|---:|---:|",
    ]
    for size in _sizes(results):
        for tool in (OURS, OURS_NIGHTLY, OURS_NIGHTLY_V3):
            if (BASELINE, size) in results and (tool, size) in results:
                times = fmt(time_ratio(results, size, tool), 2)
                lines.append(f"| {_tool_name(tool)} / baseline, time | {size:,} | {times} |")
        for tool in (DLT_DUCKDB, DLT_PARQUET):
            ratio = _rate_ratio(results, tool, size)
            if ratio is not None:
                lines.append(
                    f"| ours / {_tool_name(tool)}, sessions/s | {size:,} | {fmt(ratio, 1)} |"
                )
    lines += [
        "",
        "Time ratios pair our run and the baseline's of the same repetition (run back to "
        "back); throughput ratios divide each of our runs by dlt's (dlt runs once: a 20k "
        "dlt → DuckDB load takes minutes).",
    ]
    return lines


def verdicts(extract: list[ExtractResult] | None, load: dict | None) -> list[Verdict]:
    return _extract_verdicts(extract) + _load_verdicts(load) + _memory_verdicts(load)


def _extract_verdicts(extract: list[ExtractResult] | None) -> list[Verdict]:
    by_id = next((r for r in extract or [] if r.case.mode == "ids" and not r.case.max_rps), None)
    listing = next((r for r in extract or [] if r.case.mode == "all"), None)
    out = []
    if by_id is None:
        out.append(Verdict("extraction by id, C=16, L=20 ms ≥ 0.9 × 800/s", "–", None))
    else:
        c, fetching, whole = by_id.case, by_id.fetch_rate.median, by_id.rate.median
        limit = c.limit or float("nan")  # by id always has one
        client = (
            f"; the client alone {by_id.client_rate.median:,.0f}/s" if by_id.client_rates else ""
        )
        out.append(
            Verdict(
                f"extraction by id, C={c.concurrency}, L={c.latency_ms:g} ms, "
                f"{c.sessions:,} sessions ≥ {EXTRACT_TARGET} × {limit:,.0f}/s",
                f"{fetching:,.0f}/s while fetching = {fetching / limit:.2f} × limit{client}; "
                f"whole process {whole:,.0f}/s = {whole / limit:.2f} × (start and finish "
                f"{by_id.fixed_seconds.median:.1f} s)",
                fetching / limit >= EXTRACT_TARGET,
            )
        )
    if listing is None:
        out.append(Verdict("--all: pages of 200 fetched concurrently", "–", None))
    else:
        peak = stat(listing.peak_connections).median
        wanted = min(listing.case.concurrency, listing.case.pages - 1)
        out.append(
            Verdict(
                "--all: pages of 200 fetched concurrently",
                f"page size {PAGE_LIMIT}, at most {peak:.0f} connections open at once for "
                f"{listing.case.pages} pages; {listing.rate.median:,.0f} sessions/s",
                PAGE_LIMIT == 200 and peak >= wanted,
            )
        )
    return out


def _load_verdicts(load: dict | None) -> list[Verdict]:
    load = load or {}
    sizes = _sizes(load)
    out = []
    small = sizes[0] if sizes else None
    ratio = _rate_ratio(load, DLT_DUCKDB, small) if load and small else None
    out.append(
        Verdict(
            f"load --from-raw ≥ {DLT_TARGET:g} × dlt → DuckDB throughput"
            + (f" at {small:,}" if small else ""),
            f"{ratio.median:.1f} ×" if ratio else "–",
            ratio.median >= DLT_TARGET if ratio else None,
        )
    )
    for size in sizes:
        if (BASELINE, size) not in load or (OURS, size) not in load:
            continue
        r = time_ratio(load, size)
        out.append(
            Verdict(
                f"load --from-raw within {BASELINE_TARGET:g} × the baseline's time at {size:,} "
                "(the checks and the report included)",
                f"{r.median:.2f} ×",
                r.median <= BASELINE_TARGET,
            )
        )
    return out


def _memory_verdicts(load: dict | None) -> list[Verdict]:
    load = load or {}
    sizes = [s for s in _sizes(load) if (OURS, s) in load]
    if len(sizes) < 2:
        return [
            Verdict(
                f"peak RSS at the large size ≤ {RSS_GROWTH_TARGET} × at the small, "
                f"< {RSS_LIMIT_MIB:g} MiB",
                "–",
                None,
            )
        ]
    small, large = load[(OURS, sizes[0])].peak_rss.median, load[(OURS, sizes[-1])].peak_rss.median
    return [
        Verdict(
            f"peak RSS at {sizes[-1]:,} ≤ {RSS_GROWTH_TARGET} × at {sizes[0]:,}",
            f"{large:.0f} / {small:.0f} MiB = {large / small:.2f} ×",
            large / small <= RSS_GROWTH_TARGET,
        ),
        Verdict(
            f"peak RSS at {sizes[-1]:,} < {RSS_LIMIT_MIB:g} MiB",
            f"{large:.0f} MiB",
            large < RSS_LIMIT_MIB,
        ),
    ]


def memory_section(load: dict) -> list[str]:
    lines = ["## 3. Memory (peak RSS of the load process, MiB)", ""]
    order = [OURS, OURS_NIGHTLY, OURS_NIGHTLY_V3, BASELINE, DLT_DUCKDB, DLT_PARQUET]
    tools = sorted({tool for tool, _ in load}, key=order.index)
    sizes = _sizes(load)
    lines.append("| job | " + " | ".join(f"{s:,}" for s in sizes) + " | large / small |")
    lines.append("|---|" + "---:|" * (len(sizes) + 1))
    for tool in tools:
        cells = [fmt(load[(tool, s)].peak_rss) if (tool, s) in load else "–" for s in sizes]
        growth = _growth(load, tool, sizes)
        lines.append(f"| {_tool_name(tool)} | " + " | ".join(cells) + f" | {growth} |")
    return lines


def _growth(load: dict, tool: str, sizes: list[int]) -> str:
    if len(sizes) < 2 or any((tool, s) not in load for s in sizes):
        return "–"
    large, small = load[(tool, sizes[-1])].peak_rss.median, load[(tool, sizes[0])].peak_rss.median
    return f"{large / small:.2f}"


def _night_ratio(night: Nights, size: int, order: str, what: str) -> Stat:
    """A night into size / into the empty warehouse, pairing the runs of one repetition."""
    pairs = zip(night[(size, order)].jobs, night[(EMPTY, NONE)].jobs, strict=False)
    if what == "time":
        return stat([a.wall_s / b.wall_s for a, b in pairs])
    return stat([a.peak_rss_mib / b.peak_rss_mib for a, b in pairs])


def _largest(night: Nights) -> int:
    return max(size for size, _ in night)


def _aim(value: float, aim: float) -> str:
    return f"aim {aim:g} ×: {'met' if value <= aim else 'not met'}"


def night_verdicts(night: Nights | None) -> list[Verdict]:
    if not night:
        return [
            Verdict(
                f"a night of {NEW + UPDATED} sessions into 100,000 stored in random order ≤ "
                f"{NIGHT_TIME_TARGET} × into an empty folder, wall time",
                "–",
                None,
            ),
            Verdict(f"the same, peak memory ≤ {NIGHT_RSS_TARGET} ×", "–", None),
        ]
    largest = _largest(night)
    empty, full = night[(EMPTY, NONE)], night[(largest, RANDOM)]
    time, rss = (_night_ratio(night, largest, RANDOM, what) for what in ("time", "rss"))
    creation = {
        what: _night_ratio(night, largest, CREATION, what).median
        for what in ("time", "rss")
        if (largest, CREATION) in night
    }
    beside = {what: f"; in creation order {r:.2f} ×" for what, r in creation.items()}
    return [
        Verdict(
            f"a night of {NEW + UPDATED} sessions into {largest:,} stored in random order ≤ "
            f"{NIGHT_TIME_TARGET} × into an empty folder, wall time (aim {NIGHT_TIME_AIM})",
            f"{full.seconds.median:.2f} / {empty.seconds.median:.2f} s = {time.median:.2f} × "
            f"({_aim(time.median, NIGHT_TIME_AIM)}){beside.get('time', '')}",
            time.median <= NIGHT_TIME_TARGET,
        ),
        Verdict(
            f"the same, peak memory ≤ {NIGHT_RSS_TARGET} × (aim {NIGHT_RSS_AIM})",
            f"{full.peak_rss.median:.0f} / {empty.peak_rss.median:.0f} MiB = {rss.median:.2f} × "
            f"({_aim(rss.median, NIGHT_RSS_AIM)}){beside.get('rss', '')}",
            rss.median <= NIGHT_RSS_TARGET,
        ),
    ]


def report_sizes(load: dict | None, night: Nights | None) -> list[tuple[str, int]]:
    """Every report.html measured: (what wrote it, its size in bytes)."""
    sizes = []
    for (_, sessions), r in sorted((load or {}).items()):
        sizes += [(f"rebuild of {sessions:,}", b) for b in r.report_bytes]
    for (sessions, order), r in sorted((night or {}).items()):
        if r.build is not None:
            sizes.append((f"rebuild of {sessions:,} ({order} order)", r.build_report_bytes))
        where = "an empty folder" if sessions == EMPTY else f"{sessions:,} ({order} order)"
        sizes += [(f"night into {where}", b) for b in r.report_bytes]
    return sizes


def report_verdict(load: dict | None, night: Nights | None) -> list[Verdict]:
    sizes = report_sizes(load, night)
    target = f"report.html < {REPORT_LIMIT_BYTES / 1e6:g} MB after every rebuild and night"
    if not sizes:
        return [Verdict(target, "–", None)]
    what, largest = max(sizes, key=lambda s: s[1])
    return [
        Verdict(
            target,
            f"largest {largest / 1e3:,.0f} kB ({what}), of {len(sizes)} measured",
            largest < REPORT_LIMIT_BYTES,
        )
    ]


def _kb(values: list[int]) -> str:
    return fmt(stat([v / 1e3 for v in values])) if values else "–"


def _scopes(scopes: dict[str, int]) -> str:
    return ", ".join(f"{n} {scope}" for scope, n in sorted(scopes.items())) or "–"


def night_section(night: Nights) -> list[str]:
    largest = _largest(night)
    lines = [
        "## 4. A night",
        "",
        f"{NEW + UPDATED} sessions exported by id ({UPDATED} created in the last hours and "
        f"updated since, {NEW} new, all in one month; the fake API answering in "
        f"{LATENCY_MS:g} ms, 16 connections, its text `{TEXT}`) into an empty folder and into "
        f"warehouses of the same data spread evenly over the 24 months before {NOW:%Y-%m-%d}, "
        "each built twice from the same sessions: in **random** order (shuffled with a fixed "
        "seed, as ids files, backfills and late refreshes store sessions: each month's rows in "
        "every block; **the targets are judged on it**) and in **creation** order (as nights "
        "fill a warehouse: each month's rows together, the kindest case). Each night is paired "
        "with the night into an empty folder of the same repetition. *report alone*: "
        "`run_export.py report` on the warehouse the night left. *checks s*, *Parquet s*, "
        "*publishing s*: the night's finishing steps, medians of its summaries' step_seconds. "
        "*checks*: the "
        "scopes of the night's quality checks (`run`: the night's sessions only; `warehouse`: "
        "every row), from its summary.",
        "",
        "| warehouse | order | runs | seconds | peak RSS MiB | / empty, time | / empty, memory "
        "| report.html kB | report alone s | checks s | Parquet s | publishing s "
        "| devin.duckdb MB | checks |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (size, order), r in sorted(night.items(), key=lambda kv: (kv[0][0], _order_rank(kv[0]))):
        ratios = ("–", "–") if size == EMPTY else (
            fmt(_night_ratio(night, size, order, "time"), 2),
            fmt(_night_ratio(night, size, order, "rss"), 2),
        )  # fmt: skip
        steps = r.steps
        bold = "**" if (size, order) == (largest, RANDOM) else ""
        lines.append(
            f"| {bold}{'empty' if size == EMPTY else f'{size:,} sessions'}{bold} "
            f"| {order or '–'} | {len(r.jobs)} | {fmt(r.seconds, 2)} | {fmt(r.peak_rss)} "
            f"| {ratios[0]} | {ratios[1]} | {_kb(r.report_bytes)} "
            f"| {fmt(r.report_seconds, 2) if r.report_jobs else '–'} "
            f"| {r.step('checks'):.2f} | {r.step('parquet'):.2f} | {r.step('publish'):.2f} "
            f"| {steps.get('db_bytes', 0) / 1e6:,.0f} | {_scopes(r.check_scopes)} |"
        )
    lines += [""] + _builds(night) + [""] + _extrapolation(night)
    return lines


def _order_rank(key: tuple[int, str]) -> int:
    return ORDERS.index(key[1]) if key[1] in ORDERS else -1


def _builds(night: Nights) -> list[str]:
    """The base warehouses' --from-raw builds: measured, though no target is set on them."""
    built = [(key, r) for key, r in sorted(night.items()) if r.build is not None]
    lines = [
        "The base warehouses, built by `--from-raw` before the nights (one run each; the "
        "rebuild targets are section 2's):",
        "",
        "| warehouse | order | seconds | peak RSS MiB | report.html kB |",
        "|---|---|---:|---:|---:|",
    ]
    for (size, order), r in sorted(built, key=lambda kv: (kv[0][0], _order_rank(kv[0]))):
        assert r.build is not None
        lines.append(
            f"| {size:,} sessions | {order} | {r.build.wall_s:.1f} | {r.build.peak_rss_mib:.0f} "
            f"| {r.build_report_bytes / 1e3:,.0f} |"
        )
    return lines


def _extrapolation(night: Nights) -> list[str]:
    """A straight line through the measured sizes, read at a million sessions; memory apart."""
    sizes = sorted({s for s, _ in night if s != EMPTY})
    orders = [o for o in ORDERS if all((s, o) in night for s in sizes)]
    if len(sizes) < 2 or not orders:
        return []
    head = " | ".join(f"{o}: per 100k sessions | {o}: at 1,000,000" for o in orders)
    lines = [
        "Extrapolated to 1,000,000 sessions (least squares through the sizes above; random "
        "order first):",
        "",
        f"| quantity | {head} |",
        "|---|" + "---:|" * (2 * len(orders)),
    ]
    quantities = {
        "night, seconds": lambda r: r.seconds.median,
        "report alone, seconds": lambda r: r.report_seconds.median if r.report_jobs else 0.0,
        "publishing, seconds": lambda r: r.step("publish"),
        "Parquet, seconds": lambda r: r.step("parquet"),
        "devin.duckdb, MB": lambda r: r.steps.get("db_bytes", 0.0) / 1e6,
    }
    for name, value in quantities.items():
        cells = []
        for order in orders:
            a, b = fit([(s, value(night[(s, order)])) for s in sizes])
            cells.append(f"{b * 100_000:+,.2f} | {a + b * ONE_MILLION:,.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    peaks = "; ".join(
        f"{order}: " + ", ".join(f"{night[(s, order)].peak_rss.median:.0f}" for s in sizes)
        for order in orders
    )
    lines += [
        "",
        "Peak memory is not extrapolated: it grows only until DuckDB's cache (64 MB) is full, "
        "and the Parquet step's buffers are bounded. Measured, MiB at "
        + ", ".join(f"{s:,}" for s in sizes)
        + f" sessions: {peaks}.",
    ]
    return lines


def targets_section(items: list[Verdict]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    lines += [f"| {v.target} | {v.measured} | {v.label} |" for v in items]
    return lines


PROFILE_NOTES = Path(__file__).resolve().parent / "PROFILE.md"


def profile_section() -> list[str]:
    """The profile and what was changed after it: hand-written in PROFILE.md, kept verbatim."""
    if PROFILE_NOTES.exists():
        return PROFILE_NOTES.read_text().rstrip().splitlines()
    return ["## Profile", "", "_Run `.venv/bin/python benchmarks/profile_load.py`._"]


def render(
    info: RunInfo,
    extract: list[ExtractResult] | None,
    load: dict | None,
    reps_note: str,
    startup: JobResult | None = None,
    night: Nights | None = None,
    mirror: str | None = None,
    failures: list[str] | None = None,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m benchmarks` on "
        f"{info.started.astimezone(UTC):%Y-%m-%d %H:%M} UTC. " + reps_note,
        "",
    ]
    checks = verdicts(extract, load) + night_verdicts(night) + report_verdict(load, night)
    lines += targets_section(checks) + [""]
    if failures:
        lines += [
            "## Failed",
            "",
            "These benchmarks stopped with an error; their figures are missing below and their "
            "targets read *not run*:",
            "",
        ]
        lines += [f"- {f}".replace("\n", " ") for f in failures] + [""]
    lines += machine_section(info) + [""]
    lines += commands_section(info, extract is not None, load is not None, night is not None)
    lines += [""]
    if extract is not None:
        lines += extract_section(extract, startup) + [""]
    if load is not None:
        lines += load_section(load) + [""] + ratio_section(load) + [""]
        lines += memory_section(load) + [""]
    if night is not None:
        lines += night_section(night) + [""]
    if (
        mirror is not None
    ):  # benchmarks/mirror.py's table: --parquet-url, a night against a first run
        lines += ["## 5. Object storage (`--parquet-url`)", "", mirror, ""]
    lines += profile_section()
    return "\n".join(lines) + "\n"
