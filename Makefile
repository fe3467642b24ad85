# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install dev bytecode run test lint types pytest bench bench-full conformance mutation clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# requirements.lock pins every version installed (as constraints); refresh it with `make lock`.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# Resolve the dependencies afresh in a scratch venv and pin what was installed.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' requirements.lock; .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

# The package's bytecode, written ahead: an editable install leaves it to the first import,
# which cannot write it where PYTHONDONTWRITEBYTECODE is set, and then every start compiles
# every module again (tens of ms for --help alone). Only changed files are recompiled.
bytecode: install
	$(BIN)/python -m compileall -q mhep_model

run: install bytecode
	$(BIN)/mhep-model run scenarios/staffordshire.yaml

lint: dev
	$(BIN)/ruff check mhep_model tests benchmarks tools
	$(BIN)/ruff format --check mhep_model tests benchmarks tools

types: dev
	$(BIN)/mypy mhep_model

# the suite on both cores (pytest-xdist); `.venv/bin/pytest tests/...` runs a part in one
pytest: dev bytecode
	$(BIN)/pytest -n 2

test: lint types pytest

bench: install bytecode
	@echo "make bench: about 2 minutes on 2 cores (make bench-full adds the 1M-path and Dask figures: about 20 minutes)"
	$(BIN)/python benchmarks/bench.py

bench-full: dev bytecode
	@echo "make bench-full: about 20 minutes on 2 cores"
	$(BIN)/python benchmarks/bench.py --full

# Mutation testing of the engine (pyproject [tool.mutmut]): about 10 minutes on 2 cores.
# mutmut is installed here, not with the dev extras: only this target needs it.
mutation: dev
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	OPENBLAS_NUM_THREADS=1 $(BIN)/mutmut run --max-children 2 || true
	$(BIN)/mutmut results
	# which survivors change an output: every engine array of the project's scenarios, hashed
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/fingerprint.py

conformance: install bytecode
	$(PYTHON) ../shared/conformance/check.py --cmd "$(BIN)/mhep-model"

clean:
	rm -rf $(VENV) out mutants .pytest_cache .mypy_cache .ruff_cache
	find mhep_model tests benchmarks -name __pycache__ -prune -exec rm -rf {} +
