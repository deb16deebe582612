# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# DuckDB 1.1, the oldest release devin.duckdb must open in: the tests read it from a subprocess.
DUCKDB_OLDEST := $(VENV)/duckdb-1.1

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
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy --strict pipeline && $(BIN)/mypy benchmarks

# Leaves data/raw alone: the raw files are the source of truth a warehouse is rebuilt from.
clean:
	rm -rf $(VENV) data/demo data/devin.duckdb data/.devin-export data/parquet data/report.html
