# The two commands a newcomer needs:  make run  and  make test  (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Embedded mode runs with DEBUG on unless told otherwise (no SECRET_KEY needed then).
export DEBUG ?= 1

.PHONY: run test lint venv chromium clean-demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

venv: $(VENV)/.runtime

## make run: migrate, seed the demo once, serve web + Celery worker + beat (Ctrl-C stops all).
run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) $(BIN)/honcho start -f Procfile

## Chromium from Debian's packages, for the browser tests (playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Chromium from Debian packages…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .

## make test: install what the tests need, lint, run the suite (SQLite by default; DATABASE_URL for PostgreSQL).
test: $(VENV)/.dev chromium lint
	SECRET_KEY=$${SECRET_KEY:-test-only-insecure-key} DEBUG=0 $(BIN)/pytest $(PYTEST_ARGS)

clean-demo:
	rm -rf var/
