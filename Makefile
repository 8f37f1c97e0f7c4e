# Two entry points: `make run` starts the app, `make test` runs every test.
# The virtual environment is re-synced only when a requirements file changes (stamp files).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint sample-data bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m core.virtual_lab.compile
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(RUNTIME_STAMP)
	$(PY) -m streamlit run app.py

test: $(DEV_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) tests/browser/chromium.py
	$(PY) -m pytest -n 2 -q

sample-data: $(RUNTIME_STAMP)
	$(PY) sample_data/generate.py

bench: $(RUNTIME_STAMP)
	for b in bench/bench_*.py; do $(PY) $$b || exit 1; done
