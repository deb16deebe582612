"""Profile the --from-raw load of the 20k data set under cProfile; print the top lines.

    .venv/bin/python -m benchmarks.profile_load [--sessions 20000] [--top 25] [--sort cumulative]

The export runs in this process (imports excluded), with one profile for the main thread and
one for each thread it starts (the warehouse writer), since cProfile alone sees only the main
thread. Times are wall-clock: a thread waiting for the GIL or a lock is charged for it.
Profiles are saved under benchmarks/work/profile/ (python -m pstats FILE for a closer look).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
from pathlib import Path

from benchmarks.common import WORK, fresh_dir
from benchmarks.datasets import ensure_datasets
from pipeline import cli


def _profile_threads(profiles: list[cProfile.Profile]) -> None:
    """Make every thread started from now on run under a profile of its own."""
    run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.runcall(run, thread)

    threading.Thread.run = profiled_run  # type: ignore[method-assign,assignment]


def profile_load(data: Path, work: Path) -> tuple[cProfile.Profile, list[cProfile.Profile]]:
    threads: list[cProfile.Profile] = []
    _profile_threads(threads)
    main = cProfile.Profile()
    argv = ["--from-raw", str(data), "--out", str(work / "warehouse"), "--quiet"]
    code = main.runcall(cli.main, argv)
    if code != 0:
        raise SystemExit(f"the export exited {code}")
    return main, threads


def show(title: str, profiles: list[cProfile.Profile], path: Path, sort: str, top: int) -> None:
    if not profiles:
        return
    stats = pstats.Stats(profiles[0])
    for other in profiles[1:]:
        stats.add(other)
    stats.dump_stats(path)
    print(f"==== {title} (saved to {path})")
    stats.strip_dirs().sort_stats(sort).print_stats(top)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=20_000)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--sort", default="cumulative", help="a pstats key: cumulative, tottime, ...")
    args = p.parse_args()
    data = ensure_datasets([args.sessions])[args.sessions]
    work = fresh_dir(WORK / "profile")
    main_profile, thread_profiles = profile_load(data, work)
    show("main thread", [main_profile], work / "main.prof", args.sort, args.top)
    show("other threads", thread_profiles, work / "threads.prof", args.sort, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
