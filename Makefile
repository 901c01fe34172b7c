# adaptive2 — the two commands of the README quick start, and friends.
# Needs only python3 (>= 3.11), pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test validate fuzz bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the project metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/adaptive2 report designs/*.toml --scenarios designs/scenarios.toml --out reports/ilkn421h

# One BLAS thread per process: the tests (and notebook kernels) run side by side with
# simulation workers, and two BLAS threads per process fight for the 2 cores.
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not slow"

# Slow cross-checks (PyMC NUTS against the quadrature engine; needs the bayes extra) and
# the CLI fuzz tests with ten times the examples of make test.
validate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,bayes]"
	OPENBLAS_NUM_THREADS=1 ADAPTIVE2_FUZZ=long $(BIN)/python -m pytest -q -m "slow or fuzz"

# Fresh random examples for the CLI fuzz tests and every property test (make test and
# make validate replay a fixed set, so CI cannot fail by chance).
fuzz: $(STAMP)
	OPENBLAS_NUM_THREADS=1 ADAPTIVE2_FUZZ=explore ADAPTIVE2_HYPOTHESIS=explore \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow"

# Re-execute notebooks/*.ipynb and save them with their outputs (tests/test_notebooks.py
# fails when the stored outputs are no longer what the code gives).
notebooks: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(BIN)/python tools/refresh_notebooks.py

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit $$?; done

# Style, types and the import layers (base -> model/kernels -> engines -> io/views -> cli).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info
