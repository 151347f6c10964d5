# The two commands a newcomer needs:  make run  and  make test  (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# make run PORT=18000: the site, its links, QR codes and e-mails all on that port (SITE_URL follows PORT).
PORT ?= 8000
# make run serves like production (DEBUG off: normal error pages; the secret key is made once into
# var/secret_key unless SECRET_KEY is set). make run DEBUG=1 for Django's debug pages.
DEBUG ?= 0

.PHONY: run test lint venv chromium pdf-libs static-deps clean-demo

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

## Browser libraries (Chart.js) from npm, exactly as package-lock.json pins them, into node_modules/, which
## Django's staticfiles serves (config/settings.py STATICFILES_DIRS). Re-run when the lock file changes.
## node and npm come from Debian's packages when missing.
NODE_DEPS := node_modules/.installed
$(NODE_DEPS): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  echo "Installing node and npm from Debian packages…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static-deps: $(NODE_DEPS)

## make run: migrate, seed the demo once, serve web + Celery worker + beat (Ctrl-C stops all).
## Every process gets PORT and DEBUG: honcho would hand each process type a PORT of its own (worker
## +100, beat +200), so the Procfile sets PORT from RUN_PORT, and e-mails the worker sends link to the site.
run: $(VENV)/.runtime $(NODE_DEPS) pdf-libs
	PORT=$(PORT) DEBUG=$(DEBUG) $(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) DEBUG=$(DEBUG) $(BIN)/python manage.py seed_demo
	PATH="$(CURDIR)/$(BIN):$$PATH" RUN_PORT=$(PORT) DEBUG=$(DEBUG) $(BIN)/honcho start -f Procfile

## Chromium from Debian's packages, for the browser tests (playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Chromium from Debian packages…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Pango and the DejaVu fonts from Debian's packages, for WeasyPrint (the programme report's PDF).
pdf-libs:
	@dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || { \
	  echo "Installing Pango and the DejaVu fonts from Debian packages (for the PDF report)…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .

## make test: install what the tests need, lint, run the suite (SQLite by default; DATABASE_URL for PostgreSQL).
test: $(VENV)/.dev $(NODE_DEPS) chromium pdf-libs lint
	SECRET_KEY=$${SECRET_KEY:-test-only-insecure-key} DEBUG=0 $(BIN)/pytest $(PYTEST_ARGS)

clean-demo:
	rm -rf var/
