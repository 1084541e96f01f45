# The commands people use. `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# The first Python >= 3.12 we can find: pyenv's (it reads .python-version), python3.13, python3.12, python3.
PYTHON ?= $(shell for p in "$$(pyenv which python 2>/dev/null)" python3.13 python3.12 python3 python; do \
	[ -n "$$p" ] && command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
SCENARIO ?= scenarios/baseline.yaml
SEED ?= 1
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test test-slow test-all lint bench notebooks notebooks-sync viz clean

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found; install python3.12 (or pyenv install 3.12)" >&2; exit 2; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per set of extras, so that adding an extra re-installs.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(subst -,$(comma),$*)]"
	@touch $@
comma := ,

## run the baseline scenario: summary on screen, tables and figures in results/baseline/
run: $(VENV)/.installed-test-viz
	$(BIN)/ecosim run $(SCENARIO) --seed $(SEED) --out results/$(basename $(notdir $(SCENARIO))) --force

## the fast test suite (a few minutes), after the linter
test: $(VENV)/.installed-test-viz
	$(BIN)/ruff check src tests notebooks
	$(PYTEST) -m "not slow and not browser" -q

# The visualiser's front end (Solara's JavaScript) cached locally: the page works without a CDN.
$(VENV)/.viz-assets: | $(VENV)/.installed-test-viz
	$(BIN)/python -m ecosim.viz.assets
	@touch $@

## the slow tests: statistical face validity, crash/resume, Dask, notebooks, the browser
test-slow: $(VENV)/.installed-test-viz-browser-notebooks $(VENV)/.viz-assets
	$(PYTEST) -m "slow or browser" -q

## everything CI runs
test-all: test test-slow

lint: $(VENV)/.installed-test-viz
	$(BIN)/ruff check src tests notebooks

bench: $(VENV)/.installed-test-viz
	$(BIN)/ecosim bench

notebooks: $(VENV)/.installed-test-viz-browser-notebooks
	$(BIN)/jupyter lab notebooks/

## rewrite the stored .ipynb notebooks (no outputs) from their jupytext sources notebooks/*.py
notebooks-sync: $(VENV)/.installed-test-viz-browser-notebooks
	$(BIN)/python -m ecosim.notebook_sync notebooks

viz: $(VENV)/.installed-test-viz $(VENV)/.viz-assets
	$(BIN)/ecosim viz $(SCENARIO)

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
