# adaptive2 — the two commands of the README quick start, and friends.
# Needs only python3 (>= 3.11), pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the project metadata changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	@for f in designs/frontline-*.toml; do \
	  echo "================================================================"; \
	  $(BIN)/adaptive2 boundaries $$f || exit $$?; echo; \
	  $(BIN)/adaptive2 oc $$f || exit $$?; echo; \
	done

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit $$?; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info
