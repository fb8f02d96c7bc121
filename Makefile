# Support coach: `make run` to start the assistant, `make test` to test it. `make help` lists the rest.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Rasa's command line with the known third-party warnings hidden (bot/quiet.py says why a filter
# in PYTHONWARNINGS alone does not hold inside Rasa).
RASA := $(PY) -m bot.quiet rasa
MODEL := models/coach.tar.gz
TRAINING_INPUTS := $(shell find data -type f -name '*.yml') domain.yml config.yml bot/rasa_components.py
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)

# A quiet console: progress, results and real errors, not library deprecation notices. The known
# warnings are listed in bot/resources/third_party_warnings.txt; values you set yourself win, and
# COACH_SHOW_ALL_WARNINGS=1 shows the listed ones again.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
comma := ,
WARNING_FILTERS := $(if $(filter-out 0,$(COACH_SHOW_ALL_WARNINGS)),,$(shell grep -Ev '^[[:space:]]*(\#|$$)' bot/resources/third_party_warnings.txt | paste -sd, -))
export PYTHONWARNINGS := $(WARNING_FILTERS)$(if $(and $(WARNING_FILTERS),$(PYTHONWARNINGS)),$(comma))$(PYTHONWARNINGS)
# This machine's pip configuration lists file:// indexes that do not exist, and pip says so once
# per package: hundreds of lines. Only that exact line is dropped; pip's errors still show.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check
HIDE_PIP_NOISE := { grep -v "^WARNING: Location 'file://[^']*' is ignored: it is neither a file nor a directory\.$$" || true; }

.PHONY: help install train train-defensive train-listening run test test-services unit validate test-stories nlu-cv bench bench-checks bench-checks-cv bench-latency bench-load bench-coaching bench-scale fuzz lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

install: $(VENV)/.installed  ## create .venv with Python 3.10 and the pinned requirements

$(VENV)/.installed: requirements.txt scripts/find_python.sh
	@echo "Installing the pinned Python packages into $(VENV) (the first time takes several minutes)..."
	@set -o pipefail; start=$$(date +%s); python=$$(scripts/find_python.sh) && \
	  { [ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' || { rm -rf $(VENV); "$$python" -m venv $(VENV); }; } && \
	  $(PIP_INSTALL) 'pip==24.0' 2>&1 | $(HIDE_PIP_NOISE) && \
	  $(PIP_INSTALL) -r requirements.txt 2>&1 | $(HIDE_PIP_NOISE) && \
	  $(PY) -m pip check && \
	  echo "Installed the packages in $$(( $$(date +%s) - start )) s"
	@touch $@

train: $(MODEL)  ## train the Rasa model if training data, domain or config changed

$(MODEL): $(TRAINING_INPUTS) $(VENV)/.installed
	@mkdir -p models
	@echo "Training the Rasa model (about a minute)..."
	@start=$$(date +%s); \
	  $(RASA) train --fixed-model-name coach --out models --quiet && \
	  echo "Trained $(MODEL) in $$(( $$(date +%s) - start )) s"
	@touch $@

run: install train  ## start Rasa, the action server and the web app on 127.0.0.1; Ctrl-C stops all three
	$(PY) -m bot.launcher --model $(MODEL)

test: test-services install train validate unit test-stories  ## the whole test suite, with what it needs installed and started

test-services:  ## install Chromium and Node, start PostgreSQL and Redis (scripts/test_services.sh)
	@scripts/test_services.sh

unit: install train  ## pytest: unit, CLI and end-to-end tests
	@if [ -f var/test-services.env ]; then set -a; . var/test-services.env; set +a; fi; $(PY) -m pytest

validate: install  ## rasa data validate, and the scenario files
	$(RASA) data validate --fail-on-warning --quiet
	$(PY) -m bot scenarios --check

test-stories: install train  ## rasa conversation tests in tests/test_stories.yml
	$(RASA) test --model $(MODEL) --stories tests/test_stories.yml --fail-on-prediction-errors --out var/rasa-test-results --quiet
	@echo "Every conversation in tests/test_stories.yml went as written (details in var/rasa-test-results/)."

nlu-cv: install  ## 5-fold cross-validation of the NLU; writes var/nlu-cv/ and prints macro-F1
	$(RASA) test nlu --nlu data/nlu --cross-validation --folds 5 --out var/nlu-cv --quiet
	$(PY) -c 'import json; r = json.load(open("var/nlu-cv/intent_report.json")); print("intent macro-F1 (5-fold CV): %.3f" % r["macro avg"]["f1-score"])'

bench: bench-checks bench-latency bench-load bench-coaching bench-scale  ## every benchmark; results in bench/results/

train-defensive: install  ## retrain the learned defensive layer from the dev set; bot/resources/learned/defensive_stance.json
	$(PY) -m bot.checks.train_defensive

train-listening: install  ## retrain active_listening's learned layer from the dev set; bot/resources/learned/active_listening.json
	$(PY) -m bot.checks.train_listening

bench-checks: install  ## accuracy per check (dev set, AnnoMI, GoEmotions) and speed; bench/results/checks.md
	$(PY) -m bench.checks_quality

bench-checks-cv: install  ## each round of the dev set held out in turn: what a fresh held-out set will show; bench/results/checks_cv.md
	$(PY) -m bench.checks_crossval

bench-latency: install train  ## turn latency through the REST protocol vs no-op actions; bench/results/latency.md
	$(PY) -m bench.latency

fuzz: install train  ## 1,000 random requests each to the web API and Rasa's webhook; bench/results/fuzz.md
	$(PY) -m bench.fuzz

bench-load: install train  ## 10, 25 and 50 trainees through the web app at once, and a no-op baseline; bench/results/load.md
	$(PY) -m bench.load

bench-coaching: install train  ## scripted trainees through every scenario and persona; bench/results/coaching.md
	$(PY) -m bench.coaching

bench-scale: install train  ## 40 trainees on PostgreSQL + Redis with 1 and 2 Rasa instances, then services killed mid-run; bench/results/scale.md
	$(PY) -m bench.scale

lock:  ## re-pin requirements.txt from requirements.in in a scratch venv
	@python=$$(scripts/find_python.sh) && rm -rf var/lock-venv && "$$python" -m venv var/lock-venv
	var/lock-venv/bin/pip install --quiet 'pip==24.0' && var/lock-venv/bin/pip install --quiet -r requirements.in
	var/lock-venv/bin/pip check
	{ echo "# Generated from requirements.in by 'make lock' on Python 3.10; do not edit by hand."; \
	  var/lock-venv/bin/pip freeze --all | grep -v '^pip=='; } > requirements.txt

clean:  ## remove the venv, models and run data
	rm -rf $(VENV) models var .rasa
