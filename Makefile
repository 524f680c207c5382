# The two commands of the README (`make run`, `make test`) set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format bench servers clean fuzz

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

# Serves the whole product on the embedded defaults (SQLite, in-process cache and events, local files).
run: $(STAMP)
	@if [ -f frontend/package.json ]; then \
		(cd frontend && (test -d node_modules || npm ci --no-audit --no-fund) && npm run build); fi
	$(VENV)/bin/wealist migrate
	@if $(VENV)/bin/wealist --help | grep -q ' demo '; then $(VENV)/bin/wealist demo --if-empty; fi
	$(VENV)/bin/wealist serve --host $(HOST) --port $(PORT)

# Starts the servers the suite needs (PostgreSQL, Redis, NGINX) where they are not running, then runs it all.
test: $(STAMP)
	bash tests/support/start-servers.sh
	$(VENV)/bin/pytest

# Schema fuzzing (schemathesis) of every route of a real server for FUZZ_SECONDS (default 120); fails on a 5xx.
fuzz: $(STAMP)
	VENV=$(VENV) bash tests/hardening/fuzz.sh

servers:
	bash tests/support/start-servers.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
