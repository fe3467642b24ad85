# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install dev run test lint types pytest bench conformance clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/mhep-model run scenarios/staffordshire.yaml

lint: dev
	$(BIN)/ruff check mhep_model tests benchmarks
	$(BIN)/ruff format --check mhep_model tests benchmarks

types: dev
	$(BIN)/mypy mhep_model

pytest: dev
	$(BIN)/pytest

test: lint types pytest

bench: install
	$(BIN)/python benchmarks/bench.py

conformance: install
	$(PYTHON) ../shared/conformance/check.py --cmd "$(BIN)/mhep-model"

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
