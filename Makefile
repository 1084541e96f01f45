# The commands people use. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first Python >= 3.12 we can find: pyenv's (via .python-version), then python3.13/3.12, then python3.
PYTHON ?= $(shell for p in "$$(pyenv which python 2>/dev/null)" python3.13 python3.12 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)
EXTRAS ?= test,viz
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
comma := ,
SCENARIO ?= scenarios/baseline.yaml

.PHONY: run test test-all test-slow lint bench clean venv

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found (install python3.12 or use pyenv)" >&2; exit 2; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ecosim run $(SCENARIO)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" -q

test-all: EXTRAS = test,viz,browser,notebooks
test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests

bench: $(STAMP)
	$(BIN)/ecosim bench

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
