# Developer and CI entry points. CI runs `make test` as root on a fresh Debian 12
# machine: `setup` prepares the host, everything else runs as the unprivileged
# user (rootless podman is the point), from this checkout.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
.PHONY: setup demo test bench dist

# SETUP_IMAGES builds the Debian job images of the tests (deploy/job-images.sh):
# root for debootstrap, like SETUP.
ifeq ($(shell id -u),0)
RUNNER_USER ?= runner
SETUP = RUNNER_USER=$(RUNNER_USER) deploy/setup-host.sh
SETUP_IMAGES = RUNNER_USER=$(RUNNER_USER) deploy/job-images.sh
AS_USER = runuser -u $(RUNNER_USER) --
# runner keeps run state in <project>/.runner, and a root-owned checkout is
# read-only for the user: keep the demo's state in the user's cache instead.
DEMO_STATE = --state-dir $(CACHE)/demo-state
else
RUNNER_USER := $(shell whoami)
SETUP = sudo RUNNER_USER=$(RUNNER_USER) deploy/setup-host.sh
SETUP_IMAGES = sudo RUNNER_USER=$(RUNNER_USER) deploy/job-images.sh
AS_USER =
DEMO_STATE =
endif

# Recursive (=) on purpose: expanded when a recipe runs, i.e. after `setup`
# may have created the user. Tool caches live in the user's home because a
# root-owned checkout is read-only for the user (setup compiles runner's
# bytecode there; PYTHONPYCACHEPREFIX would move the stdlib's too and make
# every Python start recompile it).
USER_UID = $(shell id -u $(RUNNER_USER))
CACHE = $(shell getent passwd $(RUNNER_USER) | cut -d: -f6)/.cache/runner-dev
RUN = $(AS_USER) env XDG_RUNTIME_DIR=/run/user/$(USER_UID) \
	RUFF_CACHE_DIR=$(CACHE)/ruff MYPY_CACHE_DIR=$(CACHE)/mypy \
	PYTEST_ADDOPTS="-o cache_dir=$(CACHE)/pytest"

setup:
	$(SETUP)

demo: setup
	$(RUN) deploy/base-images.sh
	$(RUN) .venv/bin/runner exec examples/hello/pipeline.yml $(DEMO_STATE)

test: setup
	$(RUN) .venv/bin/ruff check runner tests benchmarks
	$(RUN) .venv/bin/mypy
	$(RUN) deploy/base-images.sh
	$(SETUP_IMAGES)
	$(RUN) .venv/bin/python -m pytest

bench: setup
	$(RUN) .venv/bin/python -m benchmarks

# runner's wheel and sdist in dist/, built offline (deploy/build-dist.sh).
dist: setup
	deploy/build-dist.sh "" dist
