# casetracker: `make run` starts the demo, `make test` runs the suite. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo and the development server run with demo data and DEBUG, and sign in without a second
# factor (REQUIRE_2FA=false); production does none of these (README).
DEMO_ENV := DEBUG=true DEMO=true REQUIRE_2FA=false

.PHONY: install run demo test test-sqlite test-postgres lint format check ci bench clean

install: $(VENV)/.installed

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
	$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite, on SQLite unless DATABASE_URL points at PostgreSQL.
test: install
	$(VENV)/bin/pytest --create-db

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

# Partner API benchmark on a throwaway database (SQLite, or PostgreSQL with DATABASE_URL: it
# creates and drops casetracker_bench). Figures go to benchmarks/results/. BENCH_ARGS=--cases 5000
bench: install
	$(PY) benchmarks/api_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
