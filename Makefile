# Development tasks. A fresh clone needs only python3 (3.11+) and make:
#   make run    # serve the example application on http://127.0.0.1:8000
#   make test   # run the whole test suite
# The virtual environment is created in $(VENV) on first use and re-installed
# whenever pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help

.PHONY: help venv run test lint typecheck check
.PHONY: docs dist

help:
	@echo "make run        serve the example app (examples/seed) on http://$(HOST):$(PORT)"
	@echo "make run-spa    serve the single-page app example (examples/spa) on http://localhost:$(PORT)/"
	@echo "make run-scopes serve the scopes-guarded API example (examples/scopes_api)"
	@echo "make test       run the test suite (pytest)"
	@echo "make bench      in-process benchmark against Litestar's JWT auth (bench-http: over HTTP with wrk)"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make typecheck  mypy --strict on litestar_jwtsession"
	@echo "make check      lint + typecheck + test"
	@echo "make docs       build the HTML documentation (warnings are errors) into docs/_build/html"
	@echo "make dist       build the wheel and sdist into dist/ and check them with twine"
	@echo "make venv       create/update $(VENV) (done automatically by the targets above)"

venv: $(STAMP)

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install -e '.[dev,browser,redis]'
	touch $@

run: venv
	$(VENV_PYTHON) -m uvicorn examples.seed.app:app --host $(HOST) --port $(PORT)

# The single-page app example (examples/spa). Open it as http://localhost:$(PORT)/ (browsers keep
# Secure cookies on localhost); SPA_ACCESS_MAX_AGE=<seconds> changes the access lifetime (60).
# The scopes-guarded API (examples/scopes_api): typed claims, requires_scopes, refresh fallback.
.PHONY: run-scopes
run-scopes: venv
	@echo "POST /login as alice / alice-password (read, write), bob / bob-password (read) or carol / carol-password (admin)"
	$(VENV_PYTHON) -m uvicorn examples.scopes_api.app:app --host $(HOST) --port $(PORT)

.PHONY: run-spa
run-spa: venv
	@echo "open http://localhost:$(PORT)/ and log in as alice / wonderland"
	$(VENV_PYTHON) -m uvicorn examples.spa.app:app --host $(HOST) --port $(PORT)

test: venv
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

# In-process ASGI benchmark, then the same over HTTP (uvicorn + wrk from Debian's packages).
.PHONY: bench bench-http
bench: venv
	$(VENV_PYTHON) -m pip install -q -e '.[bench]'
	$(VENV_PYTHON) -m benchmarks

bench-http: venv
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
	$(VENV_PYTHON) -m pip install -q -e '.[bench]'
	$(VENV_PYTHON) -m benchmarks.http

lint: venv
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .

typecheck: venv
	$(VENV_PYTHON) -m mypy --strict

check: lint typecheck test

docs: venv
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

dist: venv
	rm -rf dist
	$(VENV_PYTHON) -m build
	$(VENV_PYTHON) -m twine check --strict dist/*
