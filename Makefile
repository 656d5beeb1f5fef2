# Common tasks. A fresh machine needs only python3 and make: every target that needs the
# virtualenv creates it first (and re-installs when pyproject.toml changes).
#
#   make run            migrate, load the sample data, run web server + Celery worker/beat (PORT=8000)
#   make test           the whole suite on SQLite
#   make test-postgres  the whole suite on PostgreSQL   (PG_URL=postgres://...)
#   make test-broker    a real Celery worker on Redis   (REDIS_URL=redis://..., PG_URL=...)
#   make bench          the benchmark scripts in bench/ (BENCH_ARGS=...)
#   make simulate       the random-operations simulation (SEED=... OPS=...)
#   make lint           ruff (checks and format) and the import contracts (pyproject.toml, [tool.importlinter])
#   make fmt / migrate / sample-data

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

PG_URL ?= postgres://postgres@127.0.0.1:5432/sdaf
REDIS_URL ?= redis://127.0.0.1:6379/0
# Extra arguments for pytest, e.g. make test PYTEST_ARGS="-x -k ledger"
PYTEST_ARGS ?=
# Extra arguments for the benchmark scripts, e.g. make bench BENCH_ARGS="--postings 1000000"
BENCH_ARGS ?=

# Variables that would move a leg off its database or broker if inherited from the shell.
UNSET_SERVICES := env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND

.PHONY: help .venv run test test-postgres test-broker lint fmt bench simulate migrate sample-data

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

.venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing the project and its dev dependencies into $(VENV) ..."
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

migrate: .venv
	$(PY) manage.py migrate --noinput

sample-data: migrate
	$(PY) manage.py load_sample_data

# The web server's address: make run PORT=8001 (or ADDR=0.0.0.0:8000 to listen beyond this host).
PORT ?= 8000
ADDR ?= 127.0.0.1:$(PORT)
run: sample-data
	exec $(PY) manage.py run_embedded $(ADDR)

test: .venv
	$(UNSET_SERVICES) $(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: .venv
	@pg_isready -q -d '$(PG_URL)' || { echo "PostgreSQL does not answer at $(PG_URL)." \
		"Start it (bash .ci/run does) or point PG_URL at a server." >&2; exit 1; }
	$(UNSET_SERVICES) DATABASE_URL='$(PG_URL)' $(VENV)/bin/pytest $(PYTEST_ARGS)

test-broker: .venv
	@pg_isready -q -d '$(PG_URL)' || { echo "PostgreSQL does not answer at $(PG_URL)." \
		"Start it (bash .ci/run does) or point PG_URL at a server." >&2; exit 1; }
	@redis-cli -u '$(REDIS_URL)' ping >/dev/null 2>&1 || { echo "Redis does not answer at" \
		"$(REDIS_URL). Start it (bash .ci/run does) or point REDIS_URL at a server." >&2; exit 1; }
	$(UNSET_SERVICES) DATABASE_URL='$(PG_URL)' CELERY_BROKER_URL='$(REDIS_URL)' \
		CELERY_RESULT_BACKEND='$(REDIS_URL)' $(VENV)/bin/pytest -m broker $(PYTEST_ARGS)

lint: .venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: .venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Replays a seed (SEED=123) or runs a long simulation (OPS=100000) of the ledger and the engine.
SEED ?=
OPS ?= 10000
simulate: .venv
	$(UNSET_SERVICES) SIM_SEED='$(SEED)' SIM_OPS='$(OPS)' $(VENV)/bin/pytest -s -q --timeout=0 \
		tests/reserve/test_simulation.py $(PYTEST_ARGS)

# Each bench/*.py is a script that builds its own throw-away database and prints its figures.
bench: .venv
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "Nothing to benchmark yet (no bench/*.py)."; fi; \
	for script in "$${scripts[@]}"; do \
		echo "== $$script"; $(PY) "$$script" $(BENCH_ARGS) || exit 1; \
	done
