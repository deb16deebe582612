# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# DuckDB 1.1, the oldest release devin.duckdb must open in: the tests read it from a subprocess.
DUCKDB_OLDEST := $(VENV)/duckdb-1.1
# The engines users read Parquet with (pyspark needs Java 17), in a venv of their own: the
# exporter's venv stays without pandas, which pyarrow would import at every start.
INTEROP := $(VENV)/interop
INTEROP_STAMP := $(INTEROP)/.installed

.PHONY: demo test bench lint interop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps --target $(DUCKDB_OLDEST) 'duckdb==1.1.3'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python run_export.py --demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

# Spark, pandas, polars and DuckDB read every table of an exported warehouse (tests/interop).
$(INTEROP_STAMP): $(STAMP) pyproject.toml
	$(PYTHON) -m venv $(INTEROP)
	$(INTEROP)/bin/python -m pip install --quiet --upgrade pip
	$(INTEROP)/bin/python -m pip install --quiet -e '.[test,interop]'
	touch $(INTEROP_STAMP)

interop: $(INTEROP_STAMP)
	DEVIN_EXPORT_INTEROP=1 $(INTEROP)/bin/python -m pytest -q tests/interop

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy --strict pipeline && $(BIN)/mypy benchmarks

# Leaves data/raw alone: the raw files are the source of truth a warehouse is rebuilt from.
clean:
	rm -rf $(VENV) data/demo data/devin.duckdb data/.devin-export data/parquet data/report.html
