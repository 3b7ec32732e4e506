# The two commands a newcomer needs: `make run` starts Oscar, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench chaos fuzz clean

run: $(VENV)/.installed
	$(BIN)/oscar run

test: $(VENV)/.installed-test
	./scripts/system-deps.sh
	$(BIN)/python -m pytest -q --durations=15

lint: $(VENV)/.installed-test
	$(BIN)/ruff check oscar processes web tests benchmarks

# Long runs kept out of `make test`: the 3-minute chaos run and 20 000-example fuzzing.
chaos: $(VENV)/.installed-test
	./scripts/system-deps.sh
	$(BIN)/python -m pytest -q -s -m chaos

fuzz: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m fuzz

# Quick benchmark (a few minutes); `make bench FULL=1` runs the whole matrix (see docs/performance.md).
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench.py --profile $(if $(FULL),--full)
	$(BIN)/python benchmarks/parse_cost.py

# New packages need a fresh editable install, not only a changed pyproject.toml.
$(VENV)/.installed: pyproject.toml $(wildcard */__init__.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

clean:
	rm -rf $(VENV) var
