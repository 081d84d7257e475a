# Two entry points, named in README's Quick start: `make demo` and `make test`.
# Both install everything the project needs on a fresh Debian 12 machine (root, or sudo) first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup system-packages python-env demo test lint typecheck unit

setup: system-packages python-env

system-packages:
	@bash scripts/install-system-packages.sh

python-env:
	@bash scripts/install-python-env.sh

demo: setup
	$(VENV)/bin/verify-staging demo

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

unit:
	$(VENV)/bin/pytest -q -n 3 --dist loadscope

test: setup lint typecheck unit
