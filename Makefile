# Two commands on a fresh clone (see README):
#   make all   - set up, then validate every rule, run every case (with coverage gates), build the site
#   make test  - set up, then lint, type-check and run the whole test suite (cases included)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: all test setup validate cases site lint clean

all: validate cases site

test: setup lint
	$(BIN)/pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 13) else "Python 3.11 or 3.12 is needed (durable-rules does not import on 3.13); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

validate: setup
	$(BIN)/guideline validate

cases: setup
	$(BIN)/guideline test --coverage

site: setup
	$(BIN)/guideline site build

lint: setup
	$(BIN)/ruff check engine tests bench site
	$(BIN)/mypy
	$(BIN)/guideline fmt --check

clean:
	rm -rf $(VENV) build site/build .pytest_cache .mypy_cache .ruff_cache .hypothesis
