# Development tasks. A fresh clone needs only python3 (3.11+) and make:
#   make run    # serve the example application on http://127.0.0.1:8000 (the package + uvicorn)
#   make test   # the whole suite, with the servers and tools it needs (scripts/services.py)
# Two virtual environments, each created on first use and re-installed whenever pyproject.toml
# changes: $(RUN_VENV) holds only what serving the examples needs, $(VENV) the whole tool chain.

PYTHON ?= python3
VENV ?= .venv
RUN_VENV ?= .venv-run
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_PYTHON := $(RUN_VENV)/bin/python
RUN_STAMP := $(RUN_VENV)/.installed
SERVICES := $(VENV_PYTHON) scripts/services.py

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help

.PHONY: help venv run-venv run run-spa run-scopes test pytest services lint typecheck check
.PHONY: docs dist bench bench-http bench-flood

help:
	@echo "make run        serve the example app (examples/seed) on http://$(HOST):$(PORT)"
	@echo "make run-spa    serve the single-page app example (examples/spa) on http://localhost:$(PORT)/"
	@echo "make run-scopes serve the scopes-guarded API example (examples/scopes_api)"
	@echo "make test       the whole test suite with its servers (redis, valkey, node, chromium; installed"
	@echo "                when missing: wheels into $(VENV), apt-get as root); fails on any skipped test"
	@echo "make pytest     pytest alone, nothing provisioned (PYTEST_ARGS=...; what is missing is skipped)"
	@echo "make services   install what the tests need and print the versions"
	@echo "make bench      in-process benchmark against Litestar's JWT auth (bench-http: over HTTP with wrk)"
	@echo "make bench-flood  a legitimate client's latency while forged PBES2 refresh cookies arrive"
	@echo "make lint       ruff check + ruff format --check + lint-imports (the layering contract)"
	@echo "make typecheck  mypy --strict on litestar_jwtsession"
	@echo "make check      lint + typecheck + test"
	@echo "make docs       build the HTML documentation (warnings are errors) into docs/_build/html"
	@echo "make dist       build the wheel and sdist into dist/ and check them with twine"
	@echo "make venv       create/update $(VENV) (done automatically by the targets above)"

# --- virtual environments ------------------------------------------------------------------------

venv: $(STAMP)
run-venv: $(RUN_STAMP)

$(VENV_PYTHON):
	$(PYTHON) scripts/services.py venv $(VENV)

$(STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install -e '.[dev,browser,redis,valkey,services]'
	touch $@

$(RUN_PYTHON):
	$(PYTHON) scripts/services.py venv $(RUN_VENV)

$(RUN_STAMP): pyproject.toml | $(RUN_PYTHON)
	$(RUN_PYTHON) -m pip install -q -e '.[serve]'
	touch $@

# --- examples ------------------------------------------------------------------------------------

run: run-venv
	$(RUN_PYTHON) -m examples.seed --host $(HOST) --port $(PORT)

# The single-page app example (examples/spa). Open it as http://localhost:$(PORT)/ (browsers keep
# Secure cookies on localhost); SPA_ACCESS_MAX_AGE=<seconds> changes the access lifetime (60).
run-spa: run-venv
	@echo "open http://localhost:$(PORT)/ and log in as alice / wonderland"
	$(RUN_PYTHON) -m uvicorn examples.spa.app:app --host $(HOST) --port $(PORT)

# The scopes-guarded API (examples/scopes_api): typed claims, requires_scopes, refresh fallback.
run-scopes: run-venv
	@echo "POST /login as alice / alice-password (read, write), bob / bob-password (read) or carol / carol-password (admin)"
	$(RUN_PYTHON) -m uvicorn examples.scopes_api.app:app --host $(HOST) --port $(PORT)

# --- tests ---------------------------------------------------------------------------------------

# scripts/services.py installs what is missing, starts redis-server and valkey-server on free
# loopback ports, exports their URLs and runs pytest; scripts/no_skips.py fails a run that skipped.
test: venv
	$(SERVICES) run -- $(VENV_PYTHON) -m pytest -p scripts.no_skips $(PYTEST_ARGS)

# pytest as it is: no server started, nothing installed (tests whose service is missing skip).
pytest: venv
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

services: venv
	$(SERVICES) provision

check: lint typecheck test

# In-process ASGI benchmark, then the same over HTTP (uvicorn + wrk from Debian's packages).
bench: venv
	$(VENV_PYTHON) -m pip install -q -e '.[bench]'
	$(VENV_PYTHON) -m benchmarks

bench-http: venv
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
	$(VENV_PYTHON) -m pip install -q -e '.[bench]'
	$(VENV_PYTHON) -m benchmarks.http

# The seed app over HTTP (uvicorn, one worker) under a flood of forged PBES2 refresh cookies.
bench-flood: venv
	$(VENV_PYTHON) -m pip install -q -e '.[bench]'
	$(VENV_PYTHON) -m benchmarks.flood

# --- checks and packaging --------------------------------------------------------------------------

lint: venv
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV_PYTHON) -m mypy --strict

docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

dist: venv
	rm -rf dist
	$(VENV_PYTHON) -m build
	$(VENV_PYTHON) -m twine check --strict dist/*
