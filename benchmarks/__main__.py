"""Entry point of `make bench`: .venv/bin/python -m benchmarks [--quick] [--only ...]."""

import sys

from benchmarks.suite import main

if __name__ == "__main__":
    sys.exit(main())
