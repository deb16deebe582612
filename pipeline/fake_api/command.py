"""The command line: python -m pipeline.fake_api [--port N] [--sessions N] ..."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields

from .faults import DEFAULT_FAIL_KINDS, FAULT_KINDS, Faults
from .generator import TEXT_MODES
from .hostile import HOSTILE_KINDS
from .llm import with_text
from .quirks import Quirks
from .server import FakeApiServer
from .state import FakeDevin

FLAG_TYPES = {"int": (int, "N"), "int | None": (int, "N"), "str | None": (str, "URL")}


def main(argv: list[str] | None = None) -> int:
    """Serves the fake API until Ctrl-C."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.fail_rate <= 1:
        parser.error("--fail-rate must be between 0 and 1")
    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            fail_kinds=[kind for kind in args.fail_kinds.split(",") if kind],
            retry_after=args.retry_after,
            slow_seconds=args.slow_seconds,
            auth_status=args.auth_status,
            ignore_filters=args.ignore_filters,
            forbid_generate=args.forbid_generate,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        _serve_forever(args, faults)
    except KeyboardInterrupt:
        pass
    return 0


def _serve_forever(args: argparse.Namespace, faults: Faults) -> None:
    devin = FakeDevin(args.sessions, seed=args.seed, analysis_delay=args.analysis_delay)
    with_text(devin, args.text)
    for kind in HOSTILE_KINDS:
        devin.plant(kind, args.hostile)
    if args.forbid_part:
        devin.enterprise.forbid(*args.forbid_part)
    versions = ("v2", "v3") if args.api_version == "both" else (args.api_version,)
    if args.preload:  # one version: encoding both would double the start-up time
        devin.preload(versions[:1])
    quirks = Quirks(**{mode.name: getattr(args, mode.name) for mode in fields(Quirks) if mode.init})
    server = FakeApiServer(
        devin,
        key=args.key,
        faults=faults,
        quirks=quirks,
        api_versions=versions,
        host=args.host,
        port=args.port,
    )
    keys = "only the --key given" if args.key else "any Bearer key (cog_ for v3, others v2)"
    print(
        f"Fake Devin API on {server.url} ({len(devin)} sessions; {'+'.join(versions)}; "
        f"{keys} works)",
        flush=True,
    )
    with server:
        # Woken twice a second: the kernel may hand Ctrl-C to any thread, and only the main
        # thread raises KeyboardInterrupt, which an endless wait would never get to do.
        while True:
            time.sleep(0.5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.fake_api", description="Serve a fake Devin Enterprise API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--text",
        choices=TEXT_MODES,
        default="kind",
        help="the analyses' free text: kind (a few fixed labels) or llm (as a language model "
        "writes it: nearly every label its own, long texts, every script)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="0..1")
    parser.add_argument(
        "--fail-kinds", default=",".join(DEFAULT_FAIL_KINDS), help=f"of {','.join(FAULT_KINDS)}"
    )
    parser.add_argument("--retry-after", type=int, default=0, help="seconds")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--auth-status", type=int, choices=(401, 403))
    parser.add_argument("--ignore-filters", action="store_true")
    parser.add_argument(
        "--preload",
        action="store_true",
        help="encode every session's body at start (benchmarks): v2's, or v3's with "
        "--api-version v3",
    )
    parser.add_argument(
        "--key", help="the only Bearer key accepted, on the version it is for (default: any)"
    )
    parser.add_argument(
        "--api-version", choices=("v2", "v3", "both"), default="both", help="the others 404"
    )
    parser.add_argument(
        "--analysis-delay",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="from a v3 generate call to the analysis",
    )
    parser.add_argument(
        "--forbid-generate", action="store_true", help="v3 generate answers 403; reads work"
    )
    parser.add_argument(
        "--forbid-part",
        action="append",
        default=[],
        choices=(
            "people",
            "organizations",
            "playbooks",
            "knowledge",
            "messages",
            "consumption",
            "metrics",
        ),  # fmt: skip
        help="this part's endpoints answer 403 (repeatable)",
    )
    parser.add_argument(
        "--hostile",
        type=int,
        default=0,
        metavar="N",
        help=f"make N sessions hostile in each way: {', '.join(HOSTILE_KINDS)}",
    )
    modes = parser.add_argument_group("adversarial modes (Quirks)")
    for mode in fields(Quirks):
        if not mode.init:
            continue
        flag, help = "--" + mode.name.replace("_", "-"), mode.metadata["help"]
        if mode.type == "bool":
            modes.add_argument(flag, action="store_true", help=help)
        else:
            kind, metavar = FLAG_TYPES[str(mode.type)]
            modes.add_argument(flag, type=kind, default=mode.default, metavar=metavar, help=help)
    return parser
