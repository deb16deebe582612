"""Entry point of `make bench`: .venv/bin/python benchmarks/run.py [--quick] [--only ...]."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # import benchmarks.*

from benchmarks.suite import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
