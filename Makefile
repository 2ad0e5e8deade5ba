# The two entry points of the README. Everything installs into .venv from the pinned
# requirements; nothing outside the repository is touched.
PYTHON ?= python3
VENV   ?= .venv
CORES  ?= all
BIN    := $(VENV)/bin

.PHONY: run test report lint clean

run: $(VENV)/.run-deps  ## install, then run the default experiment end to end
	$(BIN)/snakemake --cores $(CORES)

test: $(VENV)/.test-deps  ## install, then run the whole test suite
	$(BIN)/python -m pytest

report: $(VENV)/.run-deps  ## the self-contained HTML report of the last run
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

lint: $(VENV)/.run-deps
	$(BIN)/snakemake --lint

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-test.txt requirements-slurm.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-slurm.txt  # why --no-deps: see the file
	touch $@ $(VENV)/.run-deps

clean:
	rm -rf results logs .snakemake
