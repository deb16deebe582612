"""The night and the rebuild of an earlier revision against this one's, in one run.

    .venv/bin/python -m benchmarks.before_after REV [SESSIONS] [REPS] [ORDER]

REV's run_export.py, pipeline/ and sql/ are taken with `git archive` into
benchmarks/work/rev-REV and run from there (a script's own folder comes first on sys.path).
For each revision: the --from-raw build of a warehouse of SESSIONS sessions spread over 24
months and stored in ORDER (random, the default, or creation; the night benchmark's data, its
text as a language model writes it), timed: a rebuild; then REPS nights of 100 sessions into it
and into an empty folder, alternating revisions, so both see the same machine. Prints a
Markdown table of medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from benchmarks.common import ROOT, WORK, fresh_dir
from benchmarks.datasets import ensure_datasets
from benchmarks.measure import JobResult, run_job
from benchmarks.night import NIGHT_DIR, RANDOM, _copy, _night, base_dataset, night_api

CURRENT = "this tree"


def checkout(rev: str) -> Path:
    """REV's pipeline package, extracted once under benchmarks/work."""
    target = WORK / f"rev-{rev}"
    if not (target / "pipeline").is_dir():
        archive = subprocess.run(
            ["git", "archive", rev, "run_export.py", "pipeline", "sql"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        fresh_dir(target)
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return target


def main() -> int:
    rev = sys.argv[1]
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    order = sys.argv[4] if len(sys.argv) > 4 else RANDOM
    scripts = {rev: checkout(rev) / "run_export.py", CURRENT: ROOT / "run_export.py"}
    largest = max(sessions, 100_000)
    data, updated = base_dataset(sessions, ensure_datasets([largest])[largest], order)
    work = fresh_dir(NIGHT_DIR / "before-after")
    rebuild: dict[str, JobResult] = {}
    nights: dict[tuple[str, int], list[JobResult]] = {}
    with night_api(sessions, updated, work) as api:
        for name, script in scripts.items():
            base = fresh_dir(work / f"base-{len(rebuild)}")
            print(f"{name}: rebuilding {sessions:,} sessions", flush=True)
            cmd: list[str | Path] = [sys.executable, script, "--from-raw", data, "--out", base,
                                     "--quiet"]  # fmt: skip
            rebuild[name] = run_job(cmd, work / f"rebuild-{len(rebuild)}.log", cwd=ROOT)
        for rep in range(reps):
            for number, (name, script) in enumerate(scripts.items()):
                for size in (0, sessions):
                    print(f"{name}: night into {size:,} (run {rep + 1} of {reps})", flush=True)
                    out = _copy(work / f"base-{number}" if size else None, work / "out")
                    job = _night(api, out, work / f"night-{number}-{size}-{rep}.log", script)
                    nights.setdefault((name, size), []).append(job)
    print(f"{sessions:,} sessions stored in {order} order")
    print(table(rev, sessions, rebuild, nights))
    return 0


def _median(jobs: list[JobResult], what: str) -> float:
    return statistics.median(getattr(j, what) for j in jobs)


def table(
    rev: str,
    sessions: int,
    rebuild: dict[str, JobResult],
    nights: dict[tuple[str, int], list[JobResult]],
) -> str:
    old, new = rebuild[rev], rebuild[CURRENT]
    lines = [
        f"| measure | {rev} | {CURRENT} |",
        "|---|---:|---:|",
        f"| rebuild of {sessions:,} sessions, s | {old.wall_s:.1f} | {new.wall_s:.1f} |",
        f"| rebuild, peak MiB | {old.peak_rss_mib:.0f} | {new.peak_rss_mib:.0f} |",
    ]
    for what, unit in (("wall_s", "s"), ("peak_rss_mib", "MiB")):
        cells = []
        for name in (rev, CURRENT):
            empty, full = _median(nights[(name, 0)], what), _median(nights[(name, sessions)], what)
            cells.append((empty, full, full / empty))
        lines.append(
            f"| night into empty, {unit} | {cells[0][0]:.2f} | {cells[1][0]:.2f} |\n"
            f"| night into {sessions:,}, {unit} | {cells[0][1]:.2f} | {cells[1][1]:.2f} |\n"
            f"| ratio, {unit} | {cells[0][2]:.2f} | {cells[1][2]:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
