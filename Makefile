# All set-up happens here: `make demo` and `make test` create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
STAMP := $(VENV)/.installed
OUT ?= outputs

.PHONY: venv demo test test-fast docs bench reconstruction-demo clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned, so that nothing below can resolve a (multi-GB) CUDA build
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,docs,bench,examples,sklearn,dask]"
	touch $(STAMP)

venv: $(STAMP)

## The main demo: all five VAE experiments on generated MICRO2D-like data (see examples/vae_micro2d/README.md for its run time).
demo: venv
	$(BIN)/python examples/vae_micro2d/demo.py --out $(OUT)/demo

## Reconstruction demos: figures of gradient-descent and annealing reconstructions.
reconstruction-demo: venv
	$(BIN)/python examples/reconstruction/run_all.py --out $(OUT)/reconstruction

## Everything CI checks: unit tests, docstring examples, docs build (warnings are errors) and docs doctests.
test: venv
	$(BIN)/python -m pytest
	$(MAKE) docs

test-fast: venv
	$(BIN)/python -m pytest -m "not slow"

## The site (nitpicky: an unresolved reference fails), its doctests, and a check that no page loads a remote asset.
docs: venv
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(BIN)/python -m sphinx -W --keep-going -q -b doctest docs docs/_build/doctest
	$(BIN)/python docs/tools/check_offline.py docs/_build/html

## Benchmarks: raw JSON, a markdown table of medians and ratios, and a time-vs-size plot under $(OUT)/bench.
bench: venv
	mkdir -p $(OUT)/bench
	$(BIN)/python benchmarks/compare_quick.py | tee $(OUT)/bench/compare_quick.txt
	$(BIN)/python -m pytest benchmarks -q --benchmark-json $(OUT)/bench/raw.json
	$(BIN)/python benchmarks/report.py $(OUT)/bench/raw.json --out $(OUT)/bench

clean:
	rm -rf $(VENV) docs/_build $(OUT) .pytest_cache .hypothesis
