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
	$(BYTECODE)
	$(VENV)/bin/customs-etl run

test: $(STAMP) ## Run the test suite (installs Debian's chromium first if it is missing)
	bash scripts/install_system_deps.sh
	$(VENV)/bin/python -m pytest -n 2

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
	$(VENV)/bin/python scripts/build_hs_seeds.py

# Scheduling on this machine: a Prefect server on loopback (SQLite under PREFECT_HOME), the
# `customs` process work pool, the deployments of prefect.yaml and a worker, in the background;
# then the automations of flows/automations/ (alerts to CUSTOMS_ALERT_WEBHOOK_URL, if set).
# PIDs and logs in $(SERVE_DIR); `make stop` ends exactly those processes.
PREFECT_PORT ?= 4200
PREFECT_LOCAL_API = http://127.0.0.1:$(PREFECT_PORT)/api
SERVE_DIR = $(PREFECT_HOME)/serve
PREFECT := $(VENV)/bin/prefect
# Start a command in its own session (no terminal signals), output to log $1; prints its PID.
# Not `cmd &`: a shell starts that ignoring SIGINT, and the worker stops on SIGINT.
DETACH = $(VENV)/bin/python -c 'import signal, subprocess, sys; \
	signal.signal(signal.SIGINT, signal.SIG_DFL); \
	print(subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=open(sys.argv[1], "w"), \
	stderr=subprocess.STDOUT, start_new_session=True).pid)'
# Shell: is the process named in PID file $1 alive and a Prefect process (not a reused PID)?
OURS = ours() { pid=$$(cat "$$1" 2>/dev/null) && kill -0 "$$pid" 2>/dev/null \
	&& ps -o args= -p "$$pid" 2>/dev/null | grep -q prefect; }

.PHONY: serve stop

serve: $(STAMP) ## Start a local Prefect server, deploy prefect.yaml, start a worker, apply the alerts (make stop)
	@mkdir -p $(SERVE_DIR)
	@$(OURS); export PREFECT_API_URL=$(PREFECT_LOCAL_API); \
	if ours $(SERVE_DIR)/server.pid; then \
		echo "Prefect server already running (pid $$pid) at $$PREFECT_API_URL"; \
	else \
		$(VENV)/bin/python -c 'import socket; s = socket.socket(); \
			s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
			s.bind(("127.0.0.1", $(PREFECT_PORT)))' 2>/dev/null \
		|| { echo "Port $(PREFECT_PORT) is taken by another process;" \
			"try make serve PREFECT_PORT=4300" >&2; exit 1; }; \
		$(DETACH) $(SERVE_DIR)/server.log $(PREFECT) server start \
			--host 127.0.0.1 --port $(PREFECT_PORT) > $(SERVE_DIR)/server.pid || exit 1; \
		echo "Started a Prefect server (pid $$(cat $(SERVE_DIR)/server.pid))" \
			"at $$PREFECT_API_URL, log $(SERVE_DIR)/server.log"; \
	fi; \
	for i in $$(seq 120); do \
		$(VENV)/bin/python -c 'import sys, httpx; \
			httpx.get(sys.argv[1] + "/health", timeout=2).raise_for_status()' \
			$$PREFECT_API_URL 2>/dev/null && break; \
		[ $$i -lt 120 ] || { echo "No healthy server; see $(SERVE_DIR)/server.log" >&2; exit 1; }; \
		sleep 1; \
	done; \
	$(PREFECT) work-pool inspect customs > /dev/null 2>&1 \
		|| $(PREFECT) work-pool create customs --type process; \
	$(PREFECT) work-pool set-concurrency-limit customs 1 \
	&& $(PREFECT) deploy --all --prefect-file prefect.yaml --no-prompt \
	&& if ours $(SERVE_DIR)/worker.pid; then \
		echo "Worker already running (pid $$pid), log $(SERVE_DIR)/worker.log"; \
	else \
		$(DETACH) $(SERVE_DIR)/worker.log $(PREFECT) worker start --pool customs \
			--limit 1 --install-policy never > $(SERVE_DIR)/worker.pid || exit 1; \
		echo "Started a worker on pool customs (pid $$(cat $(SERVE_DIR)/worker.pid))," \
			"log $(SERVE_DIR)/worker.log"; \
	fi \
	&& $(VENV)/bin/python -m flows.alerts apply

stop: ## End the worker and server that make serve started (and nothing else)
	@$(OURS); for name in worker server; do \
		if ours $(SERVE_DIR)/$$name.pid; then \
			kill -TERM $$pid; \
			for _ in $$(seq 30); do kill -0 $$pid 2>/dev/null || break; sleep 1; done; \
			kill -0 $$pid 2>/dev/null && kill -9 -$$pid; \
			echo "Stopped the $$name (pid $$pid)"; \
		fi; \
		rm -f $(SERVE_DIR)/$$name.pid; \
	done

clean: ## Remove the environment, built warehouse and caches (never the sample, seeds or landing zone)
	rm -rf $(VENV) $(TOOLS) .prefect .customs .pytest_cache .ruff_cache
	rm -f warehouse/*.duckdb warehouse/.*.build warehouse/.*.link warehouse/.*.lock warehouse/*.wal
	rm -rf warehouse/versions warehouse/quarantine warehouse/as_of reports

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE, so without .pyc files every
# process compiled Great Expectations, Prefect and pandas again (imports 6.6 s -> 3.5 s).
# The project's own modules too: an editable install, which uv does not compile, so every
# command compiled them again (about 0.05 s of a run that finds nothing new, issue 18).
# compileall writes only what changed since; `make run` refreshes them after an edit.
BYTECODE = $(VENV)/bin/python -m compileall -q src flows > /dev/null
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(BYTECODE)
	touch $@

# Benchmark at national scale on generated files (bench/run_bench.py); appends to
# docs/benchmarks.md. BENCH_SCALE=smoke (about 8 minutes on a busy 2-core machine), medium or
# full; two shapes each, dlt's raw load as the peer (in .bench-venv, made with uv) and 1
# against 2 Dask workers. BENCH_ARGS="--scale smoke --skip peer second-shape dask" for the old run.
BENCH_SCALE ?= smoke
BENCH_ARGS ?= --scale $(BENCH_SCALE)

.PHONY: bench
bench: $(STAMP) ## Benchmark: floor, dlt, backfill, incremental, no-change, dashboards, Dask
	$(VENV)/bin/python bench/run_bench.py $(BENCH_ARGS)
	$(VENV)/bin/python bench/flat_history.py $(HISTORY_ARGS)

# Flat in history: a month added on top of 12 and of 118 months, on both backends; prints the
# ratio (bench/flat_history.py).
HISTORY_ARGS ?= --history 12 118 --backend embedded lake --repeat 3

.PHONY: bench-history
bench-history: $(STAMP) ## Only the flat-in-history ratio, both backends
	$(VENV)/bin/python bench/flat_history.py $(HISTORY_ARGS)
