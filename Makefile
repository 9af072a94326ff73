# The operator's manual: `make run` builds the warehouse from the sample, `make test` tests.
# Both create the environment they need (uv in .tools/, the locked dependencies in .venv/).

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

# Keep Prefect's state with the project; no Python downloads, no telemetry.
export PREFECT_HOME ?= $(CURDIR)/.prefect
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := False

.PHONY: run test lint format sample seeds clean

run: $(STAMP) ## Run the job on the embedded sample and print the China-DPRK half-years
	$(VENV)/bin/customs-etl run

test: $(STAMP) ## Run the test suite
	$(VENV)/bin/python -m pytest

lint: $(STAMP) ## ruff, as CI would
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

sample: $(STAMP) ## Regenerate the embedded sample (deterministic)
	$(VENV)/bin/python scripts/generate_sample.py

seeds: $(STAMP) ## Rebuild seeds/ from GACC's code lists in ../shared/reference/gacc
	$(VENV)/bin/python scripts/build_seeds.py --shared ../shared/reference/gacc

clean: ## Remove the environment, built warehouse and caches (never the sample or seeds)
	rm -rf $(VENV) $(TOOLS) .prefect .customs .pytest_cache .ruff_cache
	rm -f warehouse/*.duckdb warehouse/.*.build warehouse/.*.lock warehouse/*.wal

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@
