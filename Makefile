# The two commands of the README: `make demo` (`make demo CDC=1`) and `make test`. Each bootstraps .venv itself.
# `make test-deployment` runs the slow real-deployment scenarios that `make test` leaves out;
# `make test-bench-smoke` runs every benchmark script once at its smallest size.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags

.PHONY: venv test lint typecheck pytest test-deployment test-bench-smoke demo bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev,deployment]'
	touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

test-deployment: venv
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev,deployment,browser]'
	NEON_DMS_SLOW_TESTS=1 $(BIN)/pytest -m "deployment and slow" $(PYTEST_ARGS)

test: lint typecheck pytest

test-bench-smoke: venv
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev,bench]'
	NEON_DMS_SLOW_TESTS=1 $(BIN)/pytest tests/test_benchmarks_run.py $(PYTEST_ARGS)

# `make demo CDC=1`: the change-data-capture path (full-load-and-cdc, quiet cutover, live writes).
demo: venv
	$(BIN)/python -m airflow_neon_dms.local.demo $(if $(CDC),--cdc)

bench: venv
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[local,dev,bench]'
	for script in benchmarks/[a-z]*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .airflow .demo .pytest_cache .mypy_cache .ruff_cache
