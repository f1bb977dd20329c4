# Set-up is idempotent: every target below first makes sure .venv is complete.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test smoke lint bench clean

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/migready demo

# The suite, then the wheel as a user gets it (scripts/smoke-wheel.sh).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	$(MAKE) smoke

smoke: $(STAMP)
	PY=$(PY) bash scripts/smoke-wheel.sh

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.pdf reports/*.json bench/out dist
