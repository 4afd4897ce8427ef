# Two entry points for people: `make demo` runs the main job on the embedded lab, `make test`
# runs every test. Both set up everything they need on a machine with Python >= 3.11, Node.js
# and npm (and, for the lab's Kerberos realm, Debian's MIT Kerberos, which make installs when run
# as root), and a second run skips the set-up steps whose inputs did not change.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.SUFFIXES:

# The first interpreter that is at least 3.11 (the oldest Python the collection's controller
# code and the lab support).
PYTHON ?= $(shell for candidate in python3 python3.13 python3.12 python3.11; do \
	command -v $$candidate >/dev/null 2>&1 && $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$candidate; break; }; done)

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
KERBEROS_STAMP := $(VENV)/.kerberos
COLLECTION_LINK := .collections/ansible_collections/azmigrate/hyperv
# ansible-test bootstraps pip in its sanity virtualenvs from this cached script (see the file).
ANSIBLE_TEST_PIP_BOOTSTRAP := $(HOME)/.ansible/test/cache/get_pip_24_2.py
NODE_STAMP := lab/node_modules/.installed
NODE_SETUP := $(if $(wildcard lab/package-lock.json),$(NODE_STAMP))

export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup kerberos demo test sanity lint pytest pslint build clean check-python check-node

help:
	@echo "make demo   run the demo playbook against the embedded lab (sets everything up first)"
	@echo "make test   run sanity, lint, unit and integration tests (sets everything up first)"
	@echo "make build  build the collection artifact with ansible-galaxy"
	@echo "make pslint check the PowerShell host scripts (file:line: rule: message; docs/host-scripts.md)"
	@echo "make kerberos  only the Kerberos part of the set-up (a KDC for the lab; make setup runs it)"
	@echo "make clean  remove the virtualenv, node modules, lab state and build output"

check-python:
	@test -n "$(PYTHON)" || { echo "azmigrate.hyperv: Python 3.11 or newer is required (python3 --version); install it and re-run make." >&2; exit 1; }

check-node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "azmigrate.hyperv: Node.js and npm are required for the lab's blob storage emulator (Azurite); install them and re-run make." >&2; exit 1; }

$(VENV_STAMP): requirements.txt tests/requirements.txt tests/constraints.txt | check-python
	@echo "Creating $(VENV) with $(PYTHON) and installing the Python dependencies ..."
	@$(PYTHON) -m venv $(VENV)
	@$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt -c tests/constraints.txt
	@touch $@

$(NODE_STAMP): lab/package.json lab/package-lock.json | check-node
	@echo "Installing the lab's npm dependencies (pinned by lab/package-lock.json) ..."
	@npm ci --prefix lab --no-audit --no-fund --loglevel=error
	@touch $@

$(COLLECTION_LINK):
	@mkdir -p $(dir $@)
	@ln -sfn ../../.. $@

$(ANSIBLE_TEST_PIP_BOOTSTRAP): tests/sanity/pip_bootstrap.py
	@mkdir -p $(dir $@)
	@cp $< $@

setup: $(VENV_STAMP) $(NODE_SETUP) $(COLLECTION_LINK)

# The lab's Kerberos realm (lab/kdc.py) and the Kerberos tests: Debian's MIT KDC and headers
# (apt-get, as root), then the Python bindings built from source (tests/setup-kerberos says what
# it does when it cannot; under CI=true that fails the run). A few minutes, once per virtualenv;
# `make test` and `make pytest` need it, the demo does not.
$(KERBEROS_STAMP): tests/setup-kerberos tests/requirements-kerberos.txt tests/constraints.txt | $(VENV_STAMP)
	@tests/setup-kerberos $(VENV_PYTHON) $@

kerberos: $(KERBEROS_STAMP)


demo: setup
	@tests/run-demo

test: setup $(KERBEROS_STAMP) $(ANSIBLE_TEST_PIP_BOOTSTRAP)
	@tests/run-tests

sanity: setup $(ANSIBLE_TEST_PIP_BOOTSTRAP)
	@tests/run-tests sanity

lint: setup
	@tests/run-tests lint

pytest: setup $(KERBEROS_STAMP)
	@tests/run-tests pytest

# The PowerShell checker alone (tests/pslint; make test runs it too, as tests/unit/test_pslint.py).
pslint: setup
	@cd tests && ../$(VENV_PYTHON) -m pslint $(abspath $(FILES))

build: setup
	@mkdir -p .build/dist
	@ansible-galaxy collection build --force --output-path .build/dist .

clean:
	@if [ -d .lab ]; then for state in .lab/*/; do [ -f "$$state/lab.pid" ] && $(VENV_PYTHON) -m lab down --state-dir "$$state" || true; done; fi
	rm -rf $(VENV) .collections .build .lab lab/node_modules tests/output .pytest_cache
