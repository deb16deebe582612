"""RESULTS.md: machine facts, commands, a table per benchmark, and PASS/FAIL per target."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from benchmarks.extract import ExtractResult
from benchmarks.load import BASELINE, DLT_DUCKDB, DLT_PARQUET, OURS, LoadResult, time_ratio
from benchmarks.measure import JobResult, Stat, stat
from benchmarks.night import EMPTY, LATENCY_MS, NEW, NOW, UPDATED, NightResult, fit
from pipeline.sources.v2 import PAGE_LIMIT

PROJECT_PACKAGES = ("duckdb", "pyarrow", "orjson", "pydantic", "urllib3", "requests")
EXTRACT_TARGET = 0.9  # of the C/L limit, by id
DLT_TARGET = 10.0  # ours / dlt->DuckDB throughput
BASELINE_TARGET = 1.55  # ours / baseline time
RSS_GROWTH_TARGET = 1.1  # peak RSS at the large size / at the small size
RSS_LIMIT_MIB = 500.0
NIGHT_TIME_TARGET = 2.5  # a night into the largest warehouse / into an empty one, wall time
NIGHT_RSS_TARGET = 2.0  # the same, peak memory
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
            "# night: the warehouse built beforehand (not measured), copied afresh for each run",
            ".venv/bin/python run_export.py --from-raw BASE.jsonl --out BASE --quiet",
            ".venv/bin/python benchmarks/jobs/night_api.py N 0 NOW 20 UPDATED.json 50 ids.txt",
            "DEVIN_API_KEY=bench-key .venv/bin/python run_export.py --ids-file ids.txt --out COPY "
            "--api-url URL --quiet --concurrency 16 --summary-json S",
            ".venv/bin/python benchmarks/jobs/finish_steps.py COPY RESULT   # Parquet, publishing",
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
        "Data sets: `benchmarks/work/data/sessions-N-seed0.jsonl`, one session a line, "
        "`orjson.dumps(FakeDevin(N, seed=0).session(id))` in list order (the small set is the "
        "large set's first sessions by index); about 6 KB a session, with the API's schema "
        "drift (`pr_url`/`pr_state`, unknown fields, nulls). Wall time is measured by the "
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
        "| job | sessions | runs | seconds | sessions/s | CPU s / 1k | peak RSS MiB | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (tool, sessions), r in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        lines.append(
            f"| {_tool_name(tool)} | {sessions:,} | {len(r.jobs)} | {fmt(r.seconds, 1)} "
            f"| {fmt(r.rate)} | {fmt(r.cpu_per_1000, 2)} | {fmt(r.peak_rss)} "
            f"| {'; '.join(r.notes)} |"
        )
    lines += [
        "",
        "*ours*: `run_export.py --from-raw` end to end (validate, flatten, batched upserts, "
        "views, Parquet snapshots, publishing devin.duckdb). *baseline*: orjson, flatten into "
        "column lists, Arrow, Parquet and DuckDB from Arrow, all in memory, no validation "
        "(jobs/baseline_load.py). *dlt*: one resource, default nested normalization, "
        "`write_disposition='merge'`, `primary_key='session_id'` (jobs/dlt_load.py).",
    ]
    return lines


def _tool_name(tool: str) -> str:
    return {
        OURS: "ours (--from-raw)",
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
        if (BASELINE, size) in results and (OURS, size) in results:
            lines.append(
                f"| ours / baseline, time | {size:,} | {fmt(time_ratio(results, size), 2)} |"
            )
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
                f"load --from-raw within {BASELINE_TARGET:g} × the baseline's time at {size:,}",
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
    tools = sorted({tool for tool, _ in load}, key=[OURS, BASELINE, DLT_DUCKDB, DLT_PARQUET].index)
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


def _night_ratio(night: dict[int, NightResult], size: int, what: str) -> Stat:
    """A night into size / into the empty warehouse, pairing the runs of one repetition."""
    pairs = zip(night[size].jobs, night[EMPTY].jobs, strict=False)
    if what == "time":
        return stat([a.wall_s / b.wall_s for a, b in pairs])
    return stat([a.peak_rss_mib / b.peak_rss_mib for a, b in pairs])


def night_verdicts(night: dict[int, NightResult] | None) -> list[Verdict]:
    if not night:
        return []
    largest = max(night)
    time, rss = _night_ratio(night, largest, "time"), _night_ratio(night, largest, "rss")
    return [
        Verdict(
            f"a night of {NEW + UPDATED} sessions into {largest:,} ≤ {NIGHT_TIME_TARGET} × into "
            "an empty warehouse, wall time",
            f"{night[largest].seconds.median:.2f} / {night[EMPTY].seconds.median:.2f} s = "
            f"{time.median:.2f} ×",
            time.median <= NIGHT_TIME_TARGET,
        ),
        Verdict(
            f"the same, peak memory ≤ {NIGHT_RSS_TARGET} ×",
            f"{night[largest].peak_rss.median:.0f} / {night[EMPTY].peak_rss.median:.0f} MiB = "
            f"{rss.median:.2f} ×",
            rss.median <= NIGHT_RSS_TARGET,
        ),
    ]


def night_section(night: dict[int, NightResult]) -> list[str]:
    lines = [
        "## 4. A night",
        "",
        f"{NEW + UPDATED} sessions exported by id ({UPDATED} created in the last hours and "
        f"updated since, {NEW} new; the fake API answering in {LATENCY_MS:g} ms, 16 "
        "connections) into an empty folder and into warehouses spread evenly over the 24 "
        f"months before {NOW:%Y-%m-%d}, in the order they were created, as nights fill them. "
        "Each night rewrites one month's partitions. *Parquet* and *publishing* are the two "
        "finishing steps timed alone on the warehouse a night left (jobs/finish_steps.py).",
        "",
        "| warehouse | runs | seconds | peak RSS MiB | / empty, time | / empty, memory "
        "| Parquet s | publishing s | devin.duckdb MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sorted(night):
        r = night[size]
        ratios = ("–", "–") if size == EMPTY else (
            fmt(_night_ratio(night, size, "time"), 2), fmt(_night_ratio(night, size, "rss"), 2)
        )  # fmt: skip
        steps = r.steps
        lines.append(
            f"| {'empty' if size == EMPTY else f'{size:,} sessions'} | {len(r.jobs)} "
            f"| {fmt(r.seconds, 2)} | {fmt(r.peak_rss)} | {ratios[0]} | {ratios[1]} "
            f"| {steps.get('parquet_seconds', 0):.2f} | {steps.get('publish_seconds', 0):.2f} "
            f"| {steps.get('db_bytes', 0) / 1e6:,.0f} |"
        )
    lines += [""] + _extrapolation(night)
    return lines


def _extrapolation(night: dict[int, NightResult]) -> list[str]:
    """A straight line through the measured sizes, read at a million sessions; memory apart."""
    sizes = [s for s in sorted(night) if s != EMPTY]
    if len(sizes) < 2:
        return []
    lines = [
        "Extrapolated to 1,000,000 sessions (least squares through the sizes above):",
        "",
        "| quantity | per 100k sessions | at 1,000,000 (extrapolated) |",
        "|---|---:|---:|",
    ]
    series = {
        "night, seconds": [(s, night[s].seconds.median) for s in sizes],
        "publishing, seconds": [(s, night[s].steps.get("publish_seconds", 0.0)) for s in sizes],
        "Parquet, seconds": [(s, night[s].steps.get("parquet_seconds", 0.0)) for s in sizes],
        "devin.duckdb, MB": [(s, night[s].steps.get("db_bytes", 0.0) / 1e6) for s in sizes],
    }
    for name, points in series.items():
        a, b = fit(points)
        lines.append(f"| {name} | {b * 100_000:+,.2f} | {a + b * ONE_MILLION:,.1f} |")
    peaks = ", ".join(f"{night[s].peak_rss.median:.0f}" for s in sizes)
    lines += [
        "",
        f"Peak memory is not extrapolated: it grows only until DuckDB's cache (64 MB) is full, "
        f"and the Parquet step's buffers are bounded. Measured: {peaks} MiB at "
        + ", ".join(f"{s:,}" for s in sizes)
        + " sessions.",
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
    night: dict[int, NightResult] | None = None,
    mirror: str | None = None,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m benchmarks` on "
        f"{info.started.astimezone(UTC):%Y-%m-%d %H:%M} UTC. " + reps_note,
        "",
    ]
    lines += targets_section(verdicts(extract, load) + night_verdicts(night)) + [""]
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
