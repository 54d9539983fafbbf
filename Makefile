# Ops Portal: `make run` starts the portal, `make test` runs the whole suite.
# DATABASE_URL and REDIS_URL switch from the embedded default (SQLite, no broker server)
# to MySQL/MariaDB and Redis; README.md lists every variable.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

export DJANGO_DEBUG ?= 1

.PHONY: help install install-dev run test migrate seed check-deploy clean

help:
	@echo "make run     start the portal (web + worker) at http://$(HOST):$(PORT)/home/"
	@echo "make test    run the whole test suite"
	@echo "make seed    load the small demo data (make seed SCALE=large for benchmarks)"

$(PY):
	@python=$$(scripts/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# mysqlclient compiles against the MariaDB client headers. They are installed when this
# machine allows it; without them the portal still runs on the embedded SQLite default.
$(VENV)/.installed: requirements.txt | $(PY)
	@if ! pkg-config --exists mariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null \
	    && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing libmariadb-dev and pkg-config for mysqlclient..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config) >/dev/null \
	    || echo "Could not install libmariadb-dev; continuing without MySQL support."; \
	fi
	@if pkg-config --exists mariadb 2>/dev/null || pkg-config --exists mysqlclient 2>/dev/null; then \
	  $(PY) -m pip install --quiet -r requirements.txt; \
	else \
	  echo "NOTE: libmariadb-dev is missing, so mysqlclient is skipped: only the SQLite default works."; \
	  grep -v '^mysqlclient==' requirements.txt > $(VENV)/requirements-nomysql.txt; \
	  $(PY) -m pip install --quiet -r $(VENV)/requirements-nomysql.txt; \
	fi
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	@grep -v '^-r ' requirements-dev.txt > $(VENV)/requirements-dev-only.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements-dev-only.txt
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --scale $(or $(SCALE),small)

run: migrate
	$(PY) manage.py seed_demo --if-empty
	$(PY) manage.py run_portal --host $(HOST) --port $(PORT)

# pytest exits 5 when it collects no test; that is a failure here, as it means the
# suite did not run.
test: install-dev
	DJANGO_DEBUG=0 $(PY) -m pytest $(PYTEST_ARGS)

check-deploy: install
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(openssl rand -hex 40)} \
	  DJANGO_ALLOWED_HOSTS=portal.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var/ops_portal.sqlite3* var/cache var/celery

# Median server time and query count of every admin change list, written to
# docs/benchmarks/admin.md. Point DATABASE_URL at the large demo data
# (make seed SCALE=large). DEBUG is off, so templates are cached as in production;
# static files are served from the source folders, so collectstatic is not needed.
.PHONY: bench-admin
bench-admin: install
	DJANGO_DEBUG=0 DJANGO_STATIC_MANIFEST=0 \
	  DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(openssl rand -hex 40)} \
	  $(PY) manage.py bench_admin $(BENCH_ARGS)

# Stock imports of generated 100k- and 1M-row CSV files and a 100k-row XLSX file, end to
# end through a Celery worker on MariaDB, with raw LOAD DATA of the same rows beside them,
# then the online-retail sample from OPS_SHARED_DATA_DIR as products and twice as sales,
# written to docs/benchmarks/imports.md. It creates and migrates its own database
# (BENCH_DB) and empties its stock, sales and import tables before each run. BENCH_ARGS
# passes options, for example BENCH_ARGS="--skip-large --skip-retail". BENCH_SERVER=deployment (the default) runs it on
# a MariaDB server of its own with docs/deployment.md's settings (scripts/bench-mariadb,
# port BENCH_MARIADB_PORT); BENCH_SERVER=shared runs it on the server at 127.0.0.1:3306
# with that server's settings.
BENCH_DB ?= ops_portal_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0
BENCH_SERVER ?= deployment
BENCH_MARIADB_PORT ?= 3307
BENCH_PORT = $(if $(filter shared,$(BENCH_SERVER)),3306,$(BENCH_MARIADB_PORT))
.PHONY: bench-import
bench-import: install
	@case "$(BENCH_SERVER)" in deployment|shared) ;; *) echo "BENCH_SERVER is deployment or shared, not '$(BENCH_SERVER)'." >&2; exit 2;; esac
	if [ "$(BENCH_SERVER)" = deployment ]; then BENCH_MARIADB_PORT=$(BENCH_MARIADB_PORT) scripts/bench-mariadb; fi
	mysql -uroot -h127.0.0.1 -P$(BENCH_PORT) -e "CREATE DATABASE IF NOT EXISTS \`$(BENCH_DB)\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	export DATABASE_URL=mysql://root@127.0.0.1:$(BENCH_PORT)/$(BENCH_DB) REDIS_URL=$(BENCH_REDIS_URL) \
	  DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(openssl rand -hex 40)} && \
	  $(PY) manage.py migrate --noinput && \
	  timeout 7200 $(PY) manage.py bench_imports $(BENCH_ARGS)

# Locust against the portal served as in production, while a 100k-row stock import runs;
# writes docs/performance/loadtest.md and exits non-zero when the budget is missed.
# The first run loads the large demo data into LOADTEST_DB (about 10 minutes).
# LOADTEST_USERS, LOADTEST_SECONDS and LOADTEST_WEB_PROCESSES change the run.
LOADTEST_DB ?= ops_portal_load
.PHONY: loadtest
loadtest: install
	scripts/services-up
	mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS \`$(LOADTEST_DB)\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	LOADTEST_DATABASE_URL=mysql://root@127.0.0.1:3306/$(LOADTEST_DB) $(PY) loadtests/run.py

# Write the API's OpenAPI document to docs/openapi.json. A test fails when the file is
# out of date with the code.
.PHONY: openapi
openapi: install
	$(PY) manage.py export_openapi

# Median and 95th percentile server time of Home, its overview drill-downs and the
# overview API as a store-staff user, written to docs/benchmarks/home.md. Point
# DATABASE_URL at the large demo data (make seed SCALE=large). DEBUG is off, as in
# production; BENCH_ARGS passes options, for example BENCH_ARGS="--repeat 50".
.PHONY: bench-home
bench-home: install
	DJANGO_DEBUG=0 DJANGO_STATIC_MANIFEST=0 \
	  DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(openssl rand -hex 40)} \
	  $(PY) manage.py bench_home $(BENCH_ARGS)

# Home as the demo store-staff user sees it, served as in production with the small demo
# data. `screenshots` writes docs/screenshots/; `lighthouse` runs Lighthouse (npm, pinned
# in scripts/ui/package-lock.json) on Home, writes docs/ui/ and exits non-zero when a budget
# is missed. Each run drops and recreates the database of UI_DATABASE_URL, so the pictures
# do not depend on earlier runs: give it a database of its own. Empty UI_DATABASE_URL and
# UI_REDIS_URL use the embedded SQLite default under UI_VAR_DIR.
UI_DATABASE_URL ?= mysql://root@127.0.0.1:3306/ops_ui
UI_REDIS_URL ?= redis://127.0.0.1:6379/6
UI_VAR_DIR ?= /tmp/ui-var
export UI_DATABASE_URL UI_REDIS_URL UI_VAR_DIR
.PHONY: screenshots lighthouse ui-database
ui-database:
	@if [[ "$(UI_DATABASE_URL)" == mysql://* ]]; then \
	  scripts/services-up && \
	  database="$$(basename "$(UI_DATABASE_URL)")" && \
	  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS \`$$database\`; CREATE DATABASE \`$$database\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"; \
	elif [[ -z "$(UI_DATABASE_URL)" ]]; then \
	  rm -rf "$(UI_VAR_DIR)"/ops_portal.sqlite3* "$(UI_VAR_DIR)"/cache "$(UI_VAR_DIR)"/celery; \
	fi
	@if [[ -n "$(UI_REDIS_URL)" ]]; then redis-cli -u "$(UI_REDIS_URL)" flushdb >/dev/null; fi

screenshots: install-dev ui-database
	cd scripts/ui && ../../$(PY) screenshots.py

scripts/ui/node_modules/.package-lock.json: scripts/ui/package-lock.json
	cd scripts/ui && npm ci --no-audit --no-fund

lighthouse: install-dev ui-database scripts/ui/node_modules/.package-lock.json
	cd scripts/ui && CHROME_PATH=$${CHROME_PATH:-/usr/bin/chromium} ../../$(PY) lighthouse.py
