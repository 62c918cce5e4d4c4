# The two commands: `make up` runs the whole system locally, `make test` runs every test.
# Both install what they need on first use (Python packages, Kafka jars, PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install up down status test lint schemas bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

up: install
	$(BIN)/lapor up

down: install
	$(BIN)/lapor down

status: install
	$(BIN)/lapor status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

schemas: install
	$(BIN)/lapor schemas export

# install-deploy-tools.sh: promtool, kustomize and checkov for tests/deploy (seconds when Go's
# build cache is warm); a tool that fails to build makes the tests that need it fail.
test: lint
	scripts/install-browser.sh
	scripts/install-deploy-tools.sh || echo "install-deploy-tools failed: tests/deploy will fail"
	$(BIN)/lapor infra up
	$(BIN)/pytest -ra

# The pipeline benchmark (see bench/pipeline.py; figures go to docs/benchmarks.md).
bench: install
	$(BIN)/lapor infra up
	$(BIN)/python -m bench.pipeline $(ARGS)
