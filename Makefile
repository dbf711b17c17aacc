# tapserver: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Use the database named by TAPSERVER_DATABASE_URL, or a cluster owned by the project under var/.
ifeq ($(strip $(TAPSERVER_DATABASE_URL)),)
PROJECT_DB := 1
export TAPSERVER_DATABASE_URL := $(shell bash scripts/pg.sh url)
endif
HOST ?= 127.0.0.1
PORT ?= 8000
export TAPSERVER_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: deps db demo serve test lint unit bench clean stop

deps:
	bash scripts/install-deps.sh

db: deps
ifdef PROJECT_DB
	bash scripts/pg.sh start
endif

demo: db
	$(VENV)/bin/tapserver demo --host $(HOST) --port $(PORT)

serve: db
	$(VENV)/bin/tapserver db upgrade --create
	$(VENV)/bin/tapserver serve --host $(HOST) --port $(PORT)

lint: deps
	$(VENV)/bin/ruff check tapserver ingest tests bench migrations
	$(VENV)/bin/mypy

# The suite runs on TEST_JOBS pytest-xdist processes (default: one more than the cores, since many tests wait
# on servers, browsers and PostgreSQL), a whole test file on one process (module fixtures such as servers and
# clusters are set up once); TEST_JOBS=0 runs it in one process.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))

# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: otherwise every test server, CLI call and
# worker compiles the project's modules again, and every xdist worker rewrites the asserts of every test module.
test: db lint
	PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest -q -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)

# The tests marked nodb: no database is started or used.
unit: deps
	$(VENV)/bin/pytest -q -m nodb $(PYTEST_ARGS)

bench: db
	$(PY) -m bench.run

stop:
	bash scripts/pg.sh stop

clean: stop
	rm -rf var
