# musicrec: the two commands are `make reproduce` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= default
DEVICE ?= cpu
STAMPS_DIR := .make

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NOTEBOOK_NAMES := $(notdir $(NOTEBOOKS:.ipynb=))
STAMPS := $(NOTEBOOK_NAMES:%=$(STAMPS_DIR)/%.$(PROFILE))
# A notebook re-runs when it or the package changed; finished runs are reused from runs/ anyway.
PACKAGE_FILES := $(shell find musicrec -name '*.py' -o -name '*.yml' 2>/dev/null) pyproject.toml

.PHONY: help setup reproduce test lab report clean clean-runs $(NOTEBOOK_NAMES)

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
	@echo "notebooks (make NAME runs one):"; for n in $(NOTEBOOK_NAMES); do echo "  $$n"; done
	@echo "variables: PROFILE=smoke|default|full (now $(PROFILE)), DEVICE=cpu|cuda|auto (now $(DEVICE))"

setup: $(VENV)/.setup-done  ## create .venv and install the pinned requirements (idempotent)

$(VENV)/.setup-done: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

reproduce: setup $(STAMPS)  ## execute every notebook in order, in place (PROFILE=default)
	@echo "all notebooks executed with PROFILE=$(PROFILE); figures are in figures/"

$(NOTEBOOK_NAMES): %: $(STAMPS_DIR)/%.$(PROFILE)

$(STAMPS_DIR)/%.$(PROFILE): notebooks/%.ipynb $(PACKAGE_FILES) | setup
	@mkdir -p $(STAMPS_DIR)
	@start=$$(date +%s); \
	$(PY) -m musicrec notebook run $< --profile $(PROFILE) --device $(DEVICE) && \
	echo "$< took $$(( $$(date +%s) - start )) s" | tee $@

test: setup  ## run the test suite, including every notebook with PROFILE=smoke in a temporary folder
	$(PY) -m pytest

lab: setup  ## open JupyterLab
	$(VENV)/bin/jupyter lab

report: setup  ## static HTML of the executed notebooks with an index page (report/index.html)
	$(PY) -m musicrec notebook report --output-dir report

clean:  ## remove stamps, the HTML report and caches (keeps runs/, figures/ and notebooks)
	rm -rf $(STAMPS_DIR) report .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

clean-runs:  ## remove cached training runs (the next reproduce retrains)
	rm -rf runs
