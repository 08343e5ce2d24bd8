# Quick start:  make demo   (set up and run the whole chain on the bundled sample)
#               make test   (run the test suite; make test-fast skips the slow end-to-end tests)
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
EXTRAS ?= dev
JOBS ?= auto

.PHONY: setup demo test test-fast lint bench clean

$(BIN)/icp: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(BIN)/icp

setup: $(BIN)/icp

demo: setup
	$(BIN)/icp demo --out icp-demo

# one worker per core (pytest-xdist): the suite is CPU-bound
test: setup
	$(BIN)/pytest -q -n $(JOBS) --dist worksteal

# everything but the end-to-end tests marked slow
test-fast: setup
	$(BIN)/pytest -q -n $(JOBS) --dist worksteal -m "not slow"

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src/icpkit

clean:
	rm -rf $(VENV) icp-demo .pytest_cache
