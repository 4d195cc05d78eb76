# The two commands users run: `make run` and `make test`. Everything else is a step they depend on.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HARNESS := $(BIN)/harness
PYTEST := $(BIN)/python -m pytest
RUN_ARGS ?= --nemesis partition-dc

.PHONY: run test test-unit test-cluster test-all deps system-deps docker image lint package-check bench clean help

help:
	@echo "make run        install what is missing, build the image, run the default multi-DC test"
	@echo "make test       lint, unit tests, real-cluster tests (about 25 minutes)"
	@echo "make test-unit  fast tests only, no Docker"
	@echo "make test-all   everything, including the long real-cluster suites"
	@echo "make package-check  build the wheel, install it in a fresh venv, run the harness from it"
	@echo "make bench      benchmarks (cluster start-up, checker speed)"
	@echo "make clean      remove containers and networks left by crashed runs"

run: deps docker image
	$(HARNESS) run $(RUN_ARGS)

test: deps docker image lint package-check
	$(PYTEST) -q -m "not slow" tests

test-unit: deps
	$(PYTEST) -q -m "not cluster and not slow" tests

test-cluster: deps docker image
	$(PYTEST) -q -m "cluster and not slow" tests

test-all: deps docker image lint
	$(PYTEST) -q tests

# The wheel, installed in a fresh venv (not editable), must carry everything the harness reads at run time.
package-check: deps docker image
	PYTHON=$(BIN)/python bash scripts/check-wheel.sh

lint: deps
	$(BIN)/ruff check core infra harness nemesis workloads checkers tests benchmarks examples
	$(BIN)/mypy --strict core checkers

bench: deps docker image
	$(BIN)/python benchmarks/cluster_startup.py
	$(BIN)/python benchmarks/checker.py

system-deps:
	@bash scripts/install-system-deps.sh

docker: system-deps
	@bash scripts/ensure-docker.sh

image: deps docker
	$(HARNESS) image

deps: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,delay]'
	touch $@

clean:
	-$(HARNESS) clean
