# casetracker: `make run` starts the demo, `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo and the development server run with demo data and DEBUG, and sign in without a second
# factor (REQUIRE_2FA=false); production does none of these (README).
DEMO_ENV := DEBUG=true DEMO=true REQUIRE_2FA=false

.PHONY: install run demo test test-sqlite test-postgres lint format check ci clean messages \
	bench bench-population bench-api-list bench-api-load bench-search bench-admin bench-snapshots bench-duplicates bench-statistics bench-website bench-all \
	bench-api bench-names bench-audit bench-export bench-import

install: $(VENV)/.installed node_modules/.package-lock.json

# axe-core for the browser tests' accessibility audit (package.json): only where npm is.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the browser tests' accessibility audit will be skipped"; fi

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "casetracker needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,prod]"
	@touch $@

run: install
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(DEMO_ENV) $(PY) manage.py load_demo
	@# The background worker (exports, scans, rebuilds) beside the server, stopped with it.
	$(DEMO_ENV) $(PY) manage.py run_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite, on SQLite unless DATABASE_URL points at PostgreSQL, in one process per core
# (pytest-xdist; each makes its own test database). TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= auto
test: install
	$(VENV)/bin/pytest --create-db -n $(TEST_WORKERS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} $(MAKE) test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: install
	$(DEMO_ENV) $(PY) manage.py check
	$(DEMO_ENV) $(PY) manage.py makemigrations --check --dry-run

ci:
	bash .ci/run

# The translation catalogues (README "Languages"): `make messages` collects the marked strings
# into locale/<lang>/LC_MESSAGES/django.po (needs GNU gettext) and compiles the .mo files, which
# are committed, so that running casetracker needs no gettext tools.
MESSAGE_LANGUAGES := -l kk -l ru -l zh_Hans
MESSAGE_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=benchmarks --ignore=docs
messages: install
	DEBUG=true $(PY) manage.py makemessages $(MESSAGE_LANGUAGES) $(MESSAGE_IGNORE) --add-location=file --no-obsolete
	DEBUG=true $(PY) manage.py compilemessages $(MESSAGE_LANGUAGES) --ignore=.venv

# Benchmarks (README "Performance"). `make bench` measures the partner API, name search and
# the admin on a synthetic population of BENCH_PERSONS people (default 200,000; 2,000,000 for the
# full run) on PostgreSQL, made once by generate_synthetic and kept for the next run
# (benchmarks/population.py; BENCH_FRESH=true makes it again). Figures go to benchmarks/results/.
BENCH_PERSONS ?= 200000
BENCH_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/postgres)
BENCH_ENV := DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_PERSONS=$(BENCH_PERSONS)
bench: bench-population bench-api-list bench-api-load bench-search bench-admin bench-snapshots bench-duplicates bench-statistics bench-names bench-website

bench-population: install
	$(BENCH_ENV) $(PY) benchmarks/bench_population.py

bench-api-list: install
	$(BENCH_ENV) $(PY) benchmarks/bench_api_list.py

bench-api-load: install
	$(BENCH_ENV) $(PY) benchmarks/bench_api_load.py

bench-search: install
	$(BENCH_ENV) $(PY) benchmarks/bench_search.py

bench-admin: install
	$(BENCH_ENV) $(PY) benchmarks/bench_admin.py

bench-snapshots: install
	$(BENCH_ENV) $(PY) benchmarks/bench_snapshots.py

bench-duplicates: install
	$(BENCH_ENV) $(PY) benchmarks/bench_duplicates.py

bench-statistics: install
	$(BENCH_ENV) $(PY) benchmarks/bench_statistics.py

bench-website: install
	$(BENCH_ENV) $(PY) benchmarks/bench_website.py

# The earlier benchmarks, on throwaway databases of their own (SQLite, or PostgreSQL with
# DATABASE_URL): the partner API on made-up cases, name matching precision and recall, the
# audit chain, exports beside COPY TO, imports beside COPY FROM. The export and import runs at
# 100k take the better part of an hour; run one alone with e.g.
# `make bench-api BENCH_ARGS="--cases 5000"` or `make bench-import BENCH_ARGS="--rows 10000"`.
bench-all: bench bench-api bench-audit bench-export bench-import

bench-api: install
	$(PY) benchmarks/api_bench.py $(BENCH_ARGS)

bench-names: install
	$(PY) benchmarks/names_bench.py $(BENCH_ARGS)

bench-audit: install
	$(PY) benchmarks/audit_bench.py $(BENCH_ARGS)

bench-export: install
	$(PY) benchmarks/export_bench.py $(BENCH_ARGS)

bench-import: install
	$(PY) benchmarks/import_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
