"""Command line: parse flags and environment, run the export, print the summary, exit 0-3."""
# Nothing heavy is imported here at module level: main() sets the environment first.

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from pipeline import __version__
from pipeline.errors import ExportError, UsageError
from pipeline.ids import read_ids_file
from pipeline.parts import PARTS, check_parts, parse_parts
from pipeline.progress import Reporter
from pipeline.redact import Redactor
from pipeline.settings import API_VERSIONS, DEFAULT_API_URL, Settings
from pipeline.summary import Summary, format_summary, summary_record

DEMO_SESSIONS = 500
DEFAULT_OUT = Path("data")
DEMO_OUT = DEFAULT_OUT / "demo"  # never the real warehouse: a demo must not mix into it
# Variables whose values are secrets: masked wherever they could appear.
PSEUDONYM_KEY = "DEVIN_EXPORT_PSEUDONYM_KEY"
MIN_PSEUDONYM_KEY = 16  # a short key's tokens can be found by trying every key
SECRET_VARIABLES = ("DEVIN_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", PSEUDONYM_KEY)

EPILOG = """\
The API key is read from DEVIN_API_KEY only (a flag would leak into shell history and ps):
a service user's key (cog_...) speaks v3, an Enterprise admin's personal key (apk_user_...) v2.

examples:
  devin-export --demo                     # no key needed: a built-in fake API, into data/demo
  DEVIN_API_KEY=cog_... devin-export --all --refresh-open --out /srv/devin
  devin-export devin-1a2b3c --ids-file more-ids.txt
  devin-export --from-raw data/raw        # rebuild the warehouse, no network
  devin-export report --out DIR           # rebuild DIR/report.html from the warehouse alone

exit codes: 0 all exported; 1 some sessions failed (see export_errors), or a quality check
            of severity error failed with --fail-on-check-errors; 2 usage or configuration
            error; 3 the run could not proceed (key rejected, output locked by another run,
            disk full) or the --parquet-url mirror failed after the local warehouse was written
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="devin-export",
        description="Export Devin Enterprise sessions into DuckDB (with views) and Parquet.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_argument_group("what to export (combinable; duplicates fetched once)")
    src.add_argument("session_ids", nargs="*", metavar="SESSION_ID", help="session ids to export")
    src.add_argument("--ids-file", metavar="FILE|-", help="ids one a line (# comments); - = stdin")
    src.add_argument(
        "--all", action="store_true", help="every session (incremental after the first run)"
    )
    src.add_argument(
        "--full", action="store_true", help="--all as a complete pass, ignoring the watermark"
    )
    src.add_argument(
        "--refresh-open",
        action="store_true",
        help="re-fetch stored sessions not yet exit/error, and recent ones without analysis",
    )
    src.add_argument(
        "--from-raw",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="rebuild from saved raw files or folders, without the network",
    )
    src.add_argument(
        "--demo",
        nargs="?",
        type=_positive_int,
        const=DEMO_SESSIONS,
        metavar="N",
        help=f"N sessions (default {DEMO_SESSIONS}) from a built-in fake API; no key needed",
    )
    src.add_argument(
        "--with",
        dest="with_parts",
        action="append",
        metavar="LIST",
        help=f"also export these parts of the enterprise (comma-separated: {', '.join(PARTS)}); "
        "alone, only them. An --all run exports all its API version has; --with makes one "
        "the key may not read a failure (exit 1) instead of a warning",
    )
    src.add_argument(
        "--without",
        dest="without_parts",
        action="append",
        metavar="LIST",
        help="do not export these parts of the enterprise",
    )
    src.add_argument(
        "--pseudonymize",
        action="store_true",
        help=f"store people's emails and names as keyed tokens (HMAC with ${PSEUDONYM_KEY}, "
        "the same token for the same value in every run); session messages only with --with",
    )
    src.add_argument(
        "--generate-insights",
        action="store_true",
        help="v3: ask the API to analyse sessions that ended without analysis "
        "(--refresh-open picks the analyses up later)",
    )
    out = p.add_argument_group("where and how")
    out.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"output folder (default: {DEFAULT_OUT}; {DEMO_OUT} with --demo)",
    )
    out.add_argument(
        "--api-url",
        metavar="URL",
        help=f"API base URL (default: $DEVIN_API_URL or {DEFAULT_API_URL})",
    )
    out.add_argument(
        "--api-version",
        choices=("auto", *API_VERSIONS),
        default="auto",
        help="API version: v3 for a cog_ key, v2 otherwise (default: auto)",
    )
    out.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="parallel requests (default: 8)",
    )
    out.add_argument(
        "--max-rps",
        type=_non_negative(float),
        default=0.0,
        metavar="R",
        help="at most R requests a second over all workers (default: 0, no limit)",
    )
    out.add_argument(
        "--timeout",
        type=_non_negative(float),
        default=30.0,
        metavar="SECONDS",
        help="for each whole answer (default: 30)",
    )
    out.add_argument(
        "--retries",
        type=_non_negative(int),
        default=5,
        metavar="N",
        help="retries of a failed request, with backoff (default: 5)",
    )
    out.add_argument(
        "--overlap",
        type=_non_negative(float),
        default=2.0,
        metavar="DAYS",
        help="incremental --all re-reads this much before the watermark (default: 2)",
    )
    out.add_argument(
        "--batch-size",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="sessions written per transaction (default: 1000)",
    )
    out.add_argument(
        "--parquet-url",
        metavar="s3://BUCKET[/PREFIX]",
        help="after the run, mirror DIR/parquet/ there (default: $DEVIN_EXPORT_PARQUET_URL); "
        "AWS credentials, region and AWS_ENDPOINT_URL as every AWS tool reads them",
    )
    rep = p.add_argument_group("reporting")
    rep.add_argument(
        "--fail-on-check-errors",
        action="store_true",
        help="exit 1 when a data-quality check of severity error fails",
    )
    rep.add_argument(
        "--full-checks",
        action="store_true",
        help="run the quality checks over the whole warehouse, not only this run's sessions",
    )
    rep.add_argument(
        "--quiet", action="store_true", help="no progress on stderr (errors still show)"
    )
    rep.add_argument("--log-format", choices=("text", "json"), default="text", help="stderr format")
    rep.add_argument(
        "--summary-json", type=Path, metavar="FILE", help="also write the summary as JSON"
    )
    rep.add_argument("--verbose", action="store_true", help="show tracebacks of unexpected errors")
    rep.add_argument("--version", action="version", version=f"devin-export {__version__}")
    return p


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    """Return the run's settings, or raise UsageError for a combination that cannot run."""
    ids = list(args.session_ids)
    if args.ids_file:
        ids += read_ids_file(args.ids_file)
    with_parts = parse_parts(args.with_parts, "--with")
    without_parts = parse_parts(args.without_parts, "--without")
    network = bool(
        ids or args.all or args.full or args.refresh_open or args.generate_insights or with_parts
    )
    if args.from_raw and (network or args.demo or without_parts):
        raise UsageError("--from-raw rebuilds without the network: give it alone")
    pseudonym_key = ""
    if args.pseudonymize:
        if args.from_raw:
            raise UsageError(
                "--from-raw replays the raw files as they are: those of a --pseudonymize run "
                "hold the tokens already, and give them again without --pseudonymize"
            )
        pseudonym_key = environ.get(PSEUDONYM_KEY, "")
        if len(pseudonym_key.strip()) < MIN_PSEUDONYM_KEY:
            raise UsageError(
                f"--pseudonymize needs the secret of its tokens in {PSEUDONYM_KEY}: a random "
                f"string of at least {MIN_PSEUDONYM_KEY} characters, kept like a password (the "
                "same one gives the same tokens)"
            )
    if not (network or args.from_raw or args.demo):
        raise UsageError(
            "nothing to export: give session ids, --ids-file, --all, --refresh-open, "
            "--with, --from-raw or --demo (see --help)"
        )
    key = environ.get("DEVIN_API_KEY", "").strip()
    if not key and not (args.demo or args.from_raw):
        raise UsageError(
            "DEVIN_API_KEY is not set: export a v3 service user's key (cog_...) or an "
            "Enterprise admin's personal key (apk_user_...)"
        )
    if args.summary_json is not None:
        _check_writable(args.summary_json, "--summary-json")
    parquet_url = _parquet_url(args.parquet_url, environ)
    version = args.api_version
    if version == "auto":
        version = "v3" if key.startswith("cog_") else "v2"
    if args.generate_insights and version != "v3":
        raise UsageError(
            "--generate-insights needs the v3 API: a service user's key (cog_...) or "
            "--api-version v3"
        )
    check_parts(with_parts, without_parts, version)
    return Settings(
        out_dir=args.out or (DEMO_OUT if args.demo else DEFAULT_OUT),
        api_url=_api_url(args.api_url, environ) if network else DEFAULT_API_URL,
        api_key=key,
        api_version=version,
        session_ids=tuple(ids),
        list_all=bool(args.all or args.full or args.demo),
        full=args.full or bool(args.demo),  # a demo always shows the whole enterprise
        refresh_open=args.refresh_open,
        from_raw=tuple(args.from_raw or ()),
        overlap=timedelta(days=args.overlap),
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        max_rps=args.max_rps,
        timeout=args.timeout,
        retries=args.retries,
        demo=bool(args.demo),
        generate_insights=args.generate_insights,
        fail_on_check_errors=args.fail_on_check_errors,
        full_checks=args.full_checks,
        parquet_url=parquet_url,
        with_parts=with_parts,
        without_parts=without_parts,
        pseudonym_key=pseudonym_key,
    )


def _api_url(flag: str | None, environ: dict[str, str]) -> str:
    """Return the API's base URL, checked: http(s) with a host, plain http only to this machine."""
    name, url = ("--api-url", flag) if flag else ("DEVIN_API_URL", environ.get("DEVIN_API_URL"))
    url = (url or DEFAULT_API_URL).strip()
    not_a_url = UsageError(f"{name} {url!r} is not http(s)://HOST[/PATH], like {DEFAULT_API_URL}")
    try:
        parts = urlsplit(url)
    except ValueError:  # an IPv6 bracket left open
        raise not_a_url from None
    if "@" in parts.netloc:  # said without the URL: it would print the password
        raise UsageError(f"{name} holds a user name or password: the key is the only credential")
    hostname = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not hostname:
        raise not_a_url
    loopback = hostname in ("localhost", "::1") or hostname.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise UsageError(
            f"{name} {url!r} would send the key unencrypted: use https:// "
            "(plain http only to localhost)"
        )
    return url


def _parquet_url(flag: str | None, environ: dict[str, str]) -> str:
    """Return the checked mirror URL (the flag wins over the variable), or "" for none."""
    from pipeline.s3url import URL_VARIABLE, parse_s3_url

    if flag is not None:  # --parquet-url '' turns off a mirror the variable asks for
        return str(parse_s3_url(flag, "--parquet-url")) if flag.strip() else ""
    text = environ.get(URL_VARIABLE, "").strip()
    return str(parse_s3_url(text, URL_VARIABLE)) if text else ""


def _check_writable(path: Path, flag: str) -> None:
    """Refuse, before anything runs, a file that could not be written at the end."""
    folder = path.absolute().parent
    while not folder.exists():  # created at the end, like --out
        folder = folder.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} {path}: cannot write there (a folder, or not writable)")


def _open_hint(out_dir: Path) -> str:
    db, report = out_dir / "devin.duckdb", out_dir / "report.html"
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())
    return (
        "Open it:\n"
        f"  {python} -c \"import duckdb; duckdb.connect('{db}', read_only=True)"
        ".sql('SELECT name, email, sessions, acus FROM v_user_usage ORDER BY acus DESC NULLS "
        "LAST LIMIT 5').show()\"\n"
        f"  duckdb -readonly {db} -c 'SELECT * FROM v_daily_usage'   # with the DuckDB CLI"
        + (f"\n  {report}   # the report, in any browser" if report.is_file() else "")
    )


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    # Arrow picks its allocator when pyarrow is first imported, which is after this. Its default
    # here (mimalloc) holds on to freed memory: the 100k load peaked 25-50 MB higher than with
    # the C library's malloc, at the same speed. A choice the user made in the environment wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    argv = sys.argv[1:] if argv is None else argv
    if list(argv[:1]) == ["report"]:
        from pipeline.report.command import main as report_main  # needs no key, no API

        return report_main(argv[1:], DEFAULT_OUT)
    environ = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)
    redactor = Redactor(environ.get(name) for name in SECRET_VARIABLES)
    reporter = Reporter(fmt=args.log_format, quiet=args.quiet, redactor=redactor)
    summary, out_dir = None, args.out
    restore = _stop_on_sigterm()
    try:
        settings = settings_from(args, environ)
        out_dir = settings.out_dir
        summary = _run(settings, args.demo, reporter)
        code = summary.exit_code
    except ExportError as err:
        code = err.exit_code
        reporter.event("run_failed", str(err), level="error", exit_code=code)
    except (KeyboardInterrupt, Terminated) as err:
        signal_name = "SIGTERM" if isinstance(err, Terminated) else "SIGINT"
        reporter.event("interrupted", f"interrupted ({signal_name}): the batches written so far "
                       "are kept, the next run exports the rest", level="error")  # fmt: skip
        return 143 if isinstance(err, Terminated) else 130
    except Exception as err:  # a bug, not a user mistake: say so briefly, trace on request
        code = 3
        hint = "" if args.verbose else " (run with --verbose for the traceback)"
        reporter.event("internal_error", f"{type(err).__name__}: {err}{hint}", level="error")
        if args.verbose:
            sys.stderr.write(redactor.text(traceback.format_exc()))
    finally:
        restore()
    if args.summary_json:
        code = _write_summary_json(args.summary_json, summary_record(summary, code), code, reporter)
    if summary is not None:
        text = format_summary(summary, out_dir)
        _print(redactor.text(text + ("\n" + _open_hint(out_dir) if args.demo else "")))
    return code


class Terminated(BaseException):
    """SIGTERM (cron's timeout, a container stopping): unwound like Ctrl-C, not died of."""


def _stop_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into Terminated in the main thread; return what puts the old handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only: leave them alone

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _run(settings: Settings, demo: int | None, reporter: Reporter) -> Summary:
    with ExitStack() as stack:
        reader = None
        if settings.from_raw:  # its process imports while this one does
            from pipeline.raw_process import Reader

            reader = stack.enter_context(Reader())
        from pipeline.export import run_export  # after main() has set the environment

        if demo:
            settings = _with_demo_server(settings, demo, stack)
        return run_export(settings, reporter, reader)


def _write_summary_json(path: Path, record: dict[str, Any], code: int, reporter: Reporter) -> int:
    text = reporter.redact(orjson.dumps(record, option=orjson.OPT_INDENT_2).decode())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as err:
        reporter.event("summary_failed", f"cannot write --summary-json {path}: "
                       f"{err.strerror or err}", level="error")  # fmt: skip
        return code or 3
    return code


def _print(text: str) -> None:
    try:
        print(text, flush=True)
    except BrokenPipeError:  # the reader went away (| head): the export itself is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _with_demo_server(settings: Settings, sessions: int, stack: ExitStack) -> Settings:
    # Imported here: a real export has no use for the fake API's code.
    from pipeline.fake_api import FakeApiServer, FakeDevin, with_text

    # The analyses' free text as Devin's language model writes it: the report shows how labels
    # group and what an "other" row holds, as it will on a real enterprise.
    devin = with_text(FakeDevin(sessions=sessions, seed=0), "llm")
    server = stack.enter_context(FakeApiServer(devin).start())
    key = "cog_demo-key" if settings.api_version == "v3" else "apk_user_demo-key"
    return replace(settings, api_url=server.url, api_key=key)


if __name__ == "__main__":
    sys.exit(main())
