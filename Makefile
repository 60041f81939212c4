# calinet: `make paper` reproduces the paper on the embedded synthetic cohort; `make test` runs the tests.
SHELL   := bash
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   ?= torch==2.13.0
PROFILE ?= default
DATA    ?= data
# JOBS: cores Snakemake may use (single-thread training runs go side by side, every other step alone on all of them);
# DRY=1: list the steps `make paper` would run, and why, running nothing
JOBS    ?= 2
DRY     ?=
export MPLBACKEND := Agg
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: install export data paper dryrun smoke test bench context clean-nbs check-clean distclean

$(STAMP): setup.py settings.ini
	@echo "== creating $(VENV) and installing calinet (CPU torch first) =="
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	test -f calinet/__init__.py || { $(BIN)/nbdev_export && $(BIN)/pip install -q --no-deps -e . ; }
	touch $@

install: $(STAMP)

export: $(STAMP)
	$(BIN)/nbdev_export

# The embedded default dataset: the synthetic cohort in the PTB-XL and CPSC2018 layouts (skipped when present).
data: export
	$(BIN)/python -m calinet.synth.cohort --profile $(PROFILE) --out $(DATA)

# Snakemake (workflow/Snakefile) reruns only the steps whose notebook, parameters, imported library modules or inputs changed.
paper: data
	$(BIN)/python -m calinet.pipeline --profile $(PROFILE) --jobs $(JOBS) $(if $(DRY),--dry-run)

dryrun: export
	$(BIN)/python -m calinet.pipeline --profile $(PROFILE) --jobs $(JOBS) --dry-run

# The context that ships with the package (calinet/assets): normaliser and population map of the synthetic cohort's
# training folds, with the ρ and ρ⁺ parameters that `make paper` fitted on them. Deterministic given the cohort.
context: data
	$(BIN)/python -m calinet.apply --data $(DATA)/synth/ptbxl --cache $(DATA)/cache --out calinet/assets/context_synthetic.json \
		--rho paper/numbers/rho_params.json --rho-plus paper/numbers/rho_plus_params.json

smoke: export
	$(BIN)/python -m calinet.pipeline --profile smoke --jobs $(JOBS)

test: export
	$(BIN)/nbdev_test --n_workers 1 --timing
	$(BIN)/python -m pytest -q tests

bench: export
	@for b in tests/bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean-nbs: $(STAMP)
	$(BIN)/nbdev_clean

check-clean: clean-nbs export
	git diff --exit-code -- nbs calinet

distclean:
	rm -rf $(VENV) _proc _docs *.egg-info paper/runs paper/_smoke
