# Admin Portal for Slack. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# uv installs the pinned dependencies in seconds; pip only installs uv itself into .venv.
UV_VERSION := 0.13.8
UV := $(BIN)/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)

.DEFAULT_GOAL := help
.PHONY: help install run test lint migrate bench clean lock system-packages

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-8s %s\n", $$1, $$2}'

$(UV_STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $(UV_STAMP)

# No bytecode compiling here: it takes longer than it saves on the first start
# (UV_COMPILE_BYTECODE=1 make install compiles all the same).
$(STAMP): pyproject.toml constraints.txt $(UV_STAMP)
	$(UV) pip install --quiet --python $(BIN)/python -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the app with its pinned dependencies

run: $(STAMP) ## Start the app: real Slack when tokens are set, else the sandbox on :3000
	$(BIN)/python -m bot run

# What the tests need from Debian, installed only when missing: Chromium for the browser tests
# (nothing downloads a browser of its own) and libfaketime, which moves the clock of the worker
# processes in tests/instances so that a scheduled job falls due within seconds.
SYSTEM_PACKAGES := chromium libfaketime
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

system-packages:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing from Debian: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

test: $(STAMP) system-packages ## Lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff (lint and format check) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

migrate: $(STAMP) ## Upgrade DATABASE_URL (default: the SQLite file under var/) to head
	$(BIN)/python -m bot migrate

bench: $(STAMP) ## Run every benchmark under benchmarks/, then one summary table (PostgreSQL too with TEST_DATABASE_URL)
	$(BIN)/python benchmarks/run_all.py

lock: $(UV_STAMP) ## Re-pin every dependency into constraints.txt from a fresh resolve
	$(UV) pip compile --quiet --upgrade --python $(BIN)/python --extra dev --no-annotate \
	  --custom-compile-command 'make lock' --output-file constraints.txt pyproject.toml

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
