# Two commands matter: `make demo` and `make test`. Each sets up what it needs first (idempotent).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements/runtime.txt requirements/dev.txt requirements/constraints.txt \
	layers/lipsync/requirements.txt pyproject.toml setup.py
# Quiet jsii's Node end-of-life banner and keep the CDK offline.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup demo test lint typecheck pytest layer synth bench doctor smoke clean

help:
	@echo "make demo   set up, then run a lip-sync job end to end on this machine"
	@echo "make test   set up, then run linters, type checks and the whole test suite"
	@echo "make bench  timing and throughput figures (not part of the tests)"
	@echo "make doctor read-only checks of your AWS account and region before a deploy"
	@echo "make smoke  deploy to your AWS account, run a job per entry point, destroy (KEEP=1 keeps it); costs money"

NODE_STAMP := node_modules/.installed
# checkov in a virtual environment of its own: it pins boto3 and packaging apart from ours.
CHECKOV_STAMP := build/checkov/.installed

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# The CDK CLI (aws-cdk@2), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(CHECKOV_STAMP): requirements/checkov.txt $(STAMP)
	@test -x build/checkov/bin/python || $(PY) -m venv build/checkov
	build/checkov/bin/python -m pip install --quiet -r requirements/checkov.txt
	@touch $@

setup: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP)

demo: setup
	$(VENV)/bin/lipsync demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(PY) -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

layer: setup
	rm -rf build/layer && $(PY) -c "from pathlib import Path; from infra.layer_bundling import build_layer; \
	print(build_layer(Path('build/layer')))"

# The deployable template, through the npm CLI (bundles the layer without Docker), then cfn-lint.
synth: setup
	node_modules/.bin/cdk synth --quiet
	$(VENV)/bin/cfn-lint --ignore-checks W3005 --non-zero-exit-code error -- cdk.out/*.template.json

bench: setup
	$(PY) -m benchmarks

# Real AWS and the real Volcengine service (README "Smoke test on a real account"); never run in CI.
doctor: setup
	$(VENV)/bin/lipsync doctor

# The account is checked first (read-only): a smoke run that cannot deploy costs nothing.
smoke: doctor
	$(PY) -m tools.smoke $(if $(KEEP),--keep) $(if $(SOURCE_SECRET),--source-secret $(SOURCE_SECRET))

clean:
	rm -rf build cdk.out out .pytest_cache .mypy_cache .ruff_cache node_modules
