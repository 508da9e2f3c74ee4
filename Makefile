# Lockstep: the commands a developer and CI need, each self-contained on a
# new machine (it creates the virtual environment and installs what is missing).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SERVER ?= http://127.0.0.1:8000
PYTEST_ARGS ?=
BENCH_PAIRS ?= sqlite+local,cassandra+zookeeper
BENCH_ARGS ?=

.PHONY: help venv run worker demo test test-fast services services-stop status lint clean

help:
	@echo "make run            serve the API on 127.0.0.1:8000 (SQLite + file locks by default)"
	@echo "                    with one background worker (turn deadlines)"
	@echo "make worker         run the background worker alone (turn deadlines, webhooks)"
	@echo "make demo           play two simulated phones against SERVER=$(SERVER)"
	@echo "make test           start ZooKeeper and Cassandra if needed, run the whole suite"
	@echo "make test-fast      run the suite on SQLite + file locks only, no services"
	@echo "make services       install and start ZooKeeper and Cassandra on 127.0.0.1"
	@echo "make services-stop  stop them"
	@echo "make status         show whether they run"
	@echo "make bench          measure cost on each backend pair and check targets (needs make services)"
	@echo "make bench-waiting  time moves with and without 200 waiting polls (part of make bench)"

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.11 or set PYTHON=..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

run: venv
	@if [ "$${LOCKSTEP_STORAGE:-sqlite}" = "cassandra" ]; then $(PY) manage.py apply_schema; fi
	$(PY) manage.py check
	PY=$(PY) exec bash scripts/run.sh

worker: venv
	exec $(PY) manage.py run_worker

demo: venv
	$(PY) -m ios_client_stub demo --server $(SERVER)

services:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

status:
	bash scripts/services.sh status

# Starts the services only if they are not already running, and stops
# afterwards only what it started.
test: venv
	@if bash scripts/services.sh responding >/dev/null 2>&1; then \
		echo "[test] ZooKeeper and Cassandra already answer on 127.0.0.1; using them"; started=0; \
	else \
		bash scripts/services.sh start || exit 1; started=1; \
	fi; \
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$started = 1 ]; then bash scripts/services.sh stop; fi; \
	exit $$status

test-fast: venv
	LOCKSTEP_TEST_BACKENDS=sqlite,local $(PY) -m pytest $(PYTEST_ARGS)

# Moves timed with and without 200 clients holding waiting polls, in one run
# per backend pair; a pair whose services do not respond is skipped. Part of
# `make bench`, whose other figures may add their own prerequisites or recipe.
.PHONY: bench bench-waiting bench-deps bench-services
bench-waiting: venv
	$(PY) -m bench.bench_waiting

# What the benchmarks need beyond the dev install: the bench extra (aiohttp,
# matplotlib, profilers) and wrk, Debian's HTTP load generator.
$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench-deps: $(VENV)/.bench-installed
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get install -y -q wrk >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; } || \
			{ echo "make bench: installing wrk with apt-get failed"; exit 1; }; \
		else echo "make bench: wrk is missing; install it with 'sudo apt-get install wrk'"; exit 1; fi; }

# Stops before any timing when a pair's services do not respond.
bench-services: bench-deps
	$(PY) -m bench --pairs $(BENCH_PAIRS) --check-only

# Lockstep's cost on each pair of BENCH_PAIRS, apart from the tests: figures,
# PASS or MISS per target, JSON and plots under bench-results/ (see
# docs/performance.md). The cassandra+zookeeper pair needs `make services`.
bench: bench-services bench-waiting
	$(PY) -m bench --pairs $(BENCH_PAIRS) $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf var/lockstep.sqlite3* var/locks
