# Every target bootstraps .venv itself, so a fresh clone needs only Python 3.11 and make. Every
# version installed comes from a committed lock: uv.lock (the project, its test and interop
# extras) and locks/*.txt (uv itself, DuckDB 1.1, dlt for the benchmarks), all with hashes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv installs from uv.lock; it is itself installed, pinned and hashed, into a venv of its own.
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
# DuckDB 1.1, the oldest release devin.duckdb must open in: the tests read it from a subprocess.
DUCKDB_OLDEST := $(VENV)/duckdb-1.1
# The engines users read Parquet with (pyspark needs Java 17), in a venv of their own: the
# exporter's venv stays without pandas, which pyarrow would import at every start.
INTEROP := $(VENV)/interop
INTEROP_STAMP := $(INTEROP)/.installed
# The report's browser tests drive Debian's Chromium.
CHROMIUM := /usr/bin/chromium
LOCKS := uv duckdb-1.1 dlt
NEWEST := .venv-newest

.PHONY: demo test bench lint interop chromium lock upgrade test-newest fresh clean

$(UV): locks/uv.txt
	rm -rf $(UV_HOME)
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install --quiet --disable-pip-version-check \
		--require-hashes --no-deps --only-binary :all: -r locks/uv.txt

$(STAMP): pyproject.toml uv.lock locks/duckdb-1.1.txt $(UV)
	@$(UV) lock --check --quiet || { echo "uv.lock does not match pyproject.toml: run 'make lock' and commit uv.lock" >&2; exit 1; }
	$(UV) sync --quiet --locked --extra test
	rm -rf $(DUCKDB_OLDEST)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes --no-deps \
		--target $(DUCKDB_OLDEST) -r locks/duckdb-1.1.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python run_export.py --demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -n auto

# Debian's package when it is missing, as root or through sudo; anything else says what to do.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "make: $(CHROMIUM) is missing; installing Debian's chromium package for the report's browser tests"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
		{ $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "make: could not install chromium: install Debian's 'chromium' package (apt-get install chromium) so that $(CHROMIUM) exists, then run make test again" >&2; exit 1; }; \
	fi

# Spark, pandas, polars and DuckDB read every table of an exported warehouse (tests/interop).
$(INTEROP_STAMP): $(STAMP)
	UV_PROJECT_ENVIRONMENT=$(INTEROP) $(UV) sync --quiet --locked --extra test --extra interop
	touch $(INTEROP_STAMP)

interop: $(INTEROP_STAMP)
	DEVIN_EXPORT_INTEROP=1 $(INTEROP)/bin/python -m pytest -q tests/interop

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff format --check . && $(BIN)/ruff check . && $(BIN)/mypy --strict pipeline && $(BIN)/mypy benchmarks

# After editing pyproject.toml: re-resolve, keeping every pin that still fits. UPGRADE names
# packages to move to their newest allowed release (make lock UPGRADE="moto pyarrow").
lock: $(UV)
	$(UV) lock $(foreach p,$(UPGRADE),--upgrade-package $(p))
	for n in $(LOCKS); do \
		$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
			--custom-compile-command "make lock" $(foreach p,$(UPGRADE),--upgrade-package $(p)) \
			locks/$$n.in -o locks/$$n.txt || exit 1; \
	done

# Every package to its newest allowed release. Try them first with make test-newest.
upgrade: $(UV)
	$(UV) lock --upgrade
	for n in $(LOCKS); do \
		$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
			--custom-compile-command "make lock" --upgrade locks/$$n.in -o locks/$$n.txt || exit 1; \
	done

# The whole suite on the newest releases pyproject.toml allows, in a venv of its own, without
# touching the locks: what a pip install of the package would get today.
test-newest: $(STAMP) chromium
	rm -rf $(NEWEST)
	$(UV) venv --quiet $(NEWEST)
	$(UV) pip compile --quiet --upgrade --extra test pyproject.toml -o $(NEWEST)/requirements.txt
	$(UV) pip sync --quiet --python $(NEWEST)/bin/python $(NEWEST)/requirements.txt
	$(UV) pip install --quiet --python $(NEWEST)/bin/python --no-deps -e .
	$(NEWEST)/bin/python -m pytest -q -n auto

# A clone of HEAD in a temporary folder runs the README's two commands, with an empty cache.
fresh:
	.ci/fresh

# Leaves data/raw alone: the raw files are the source of truth a warehouse is rebuilt from.
clean:
	rm -rf $(VENV) $(UV_HOME) $(NEWEST) data/demo data/devin.duckdb data/.devin-export data/parquet data/report.html
