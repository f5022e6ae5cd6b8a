# The two commands a newcomer types: `make run` and `make test`. See README.md.
SHELL := bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := HOMEROOM_DEBUG=true
TEST_ENV := HOMEROOM_TESTING=true

.PHONY: run test test-postgres lint bench security messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

var:
	mkdir -p var

## make run: install, migrate the embedded SQLite database, load the demo school if empty, serve on 127.0.0.1:8000
run: $(VENV)/.installed | var
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --if-empty
	$(DEV_ENV) scripts/serve-dev

## make test: lint, types, migrations, and the whole suite on SQLite
test: $(VENV)/.installed-dev lint | var
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(TEST_ENV) $(BIN)/mypy .

## make test-postgres: the same suite on PostgreSQL (DATABASE_URL, the local server, or a throwaway one)
test-postgres: $(VENV)/.installed-dev
	$(TEST_ENV) scripts/with-postgres $(BIN)/pytest

## make bench: timings for docs/benchmarks.md (not part of the test suite)
bench: $(VENV)/.installed-dev
	$(TEST_ENV) $(BIN)/python bench/run.py --database sqlite
	$(TEST_ENV) scripts/with-postgres $(BIN)/python bench/run.py --database postgres
	$(TEST_ENV) $(BIN)/python bench/delivery.py --database sqlite
	$(TEST_ENV) scripts/with-postgres $(BIN)/python bench/delivery.py --database postgres
	$(TEST_ENV) $(BIN)/python bench/roster_import.py --database sqlite
	$(TEST_ENV) scripts/with-postgres $(BIN)/python bench/roster_import.py --database postgres

## make security: every attack and fault test, and the figures table of docs/security.md written from what they counted
security: $(VENV)/.installed-dev
	$(BIN)/python scripts/security_figures.py

## make messages: refresh the translation catalogues after changing strings
messages: $(VENV)/.installed
	$(DEV_ENV) $(BIN)/python manage.py makemessages --locale es --ignore '.venv/*' --ignore 'var/*' --no-location
	$(DEV_ENV) $(BIN)/python manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf $(VENV) var
