"""`devin-export report [--out DIR]`: rebuild DIR/report.html from DIR/devin.duckdb alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import ExportError
from pipeline.report import REPORT_NAME, WAREHOUSE_NAME, build_report


def main(argv: Sequence[str], default_out: Path) -> int:
    """Run the report subcommand; return its exit code (0, 2 without a warehouse, 3)."""
    parser = argparse.ArgumentParser(
        prog="devin-export report",
        description=f"Rebuild DIR/{REPORT_NAME} from DIR/{WAREHOUSE_NAME} alone: no API, no "
        "key, no network. An export rebuilds it too, after every run.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out,
        metavar="DIR",
        help=f"the export's output folder (default: {default_out})",
    )
    args = parser.parse_args(argv)
    try:
        path = build_report(args.out / WAREHOUSE_NAME, args.out / REPORT_NAME)
    except ExportError as err:
        print(f"devin-export report: {err}", file=sys.stderr)
        return err.exit_code
    print(path)
    return 0
