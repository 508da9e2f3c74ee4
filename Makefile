# Lockstep: the commands a developer and CI need, each self-contained on a
# new machine (it creates the virtual environment and installs what is missing).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SERVER ?= http://127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: help venv run worker demo test test-fast services services-stop status lint clean

help:
	@echo "make run            serve the API on 127.0.0.1:8000 (SQLite + file locks by default)"
	@echo "make worker         run the background worker alone (turn deadlines, webhooks)"
	@echo "make demo           play two simulated phones against SERVER=$(SERVER)"
	@echo "make test           start ZooKeeper and Cassandra if needed, run the whole suite"
	@echo "make test-fast      run the suite on SQLite + file locks only, no services"
	@echo "make services       install and start ZooKeeper and Cassandra on 127.0.0.1"
	@echo "make services-stop  stop them"
	@echo "make status         show whether they run"

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
	exec $(PY) -m gunicorn -c gameserver/gunicorn_conf.py

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

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf var/lockstep.sqlite3* var/locks
