"""Interop tests: the engines users load Parquet into read DIR/parquet as the warehouse holds it.

They need pyspark, polars and pandas, which the exporter never uses: `make interop` installs
them in a venv of their own (.venv/interop) and sets DEVIN_EXPORT_INTEROP=1, so a missing
engine fails there instead of being skipped. `make test`, in the light venv, leaves them out.
"""

from __future__ import annotations

import importlib.util
import os

REQUIRED = os.environ.get("DEVIN_EXPORT_INTEROP") == "1"

if not REQUIRED and importlib.util.find_spec("pyspark") is None:
    collect_ignore_glob = ["test_*.py"]
