# dataplane.node: one entry point for setting up, the demo and the tests.
#   make demo   set up, boot a QEMU DPDK-node VM, run the collection on it, print its state before and after
#   make test   set up, then unit tests, sanity, lint and the VM scenarios (what CI runs)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_INJECT_FACT_VARS := False
export ANSIBLE_PYTHON_INTERPRETER := $(PY)

.PHONY: setup demo test test-unit sanity lint test-vm bench clean

setup:
	scripts/bootstrap.sh

demo: setup
	$(PY) tests/vm/demo.py

test: setup test-unit sanity lint test-vm

test-unit:
	$(PY) -m pytest -q tests/unit tests/integration

sanity:
	PYTHON=$(PY) scripts/sanity.sh

lint:
	ansible-lint --offline --profile production
	cd .build/collections/ansible_collections/dataplane/node && antsibull-docs lint-collection-docs --plugin-docs .
	antsibull-changelog lint

# Every VM test: the testbed's own checks, then each Molecule scenario (DATAPLANE_SCENARIOS narrows them).
test-vm:
	$(PY) -m pytest -v -rs tests/vm

bench: setup
	$(PY) tests/bench/bench_facts.py --write docs/benchmarks.md
	$(PY) tests/bench/bench_rerun.py --write-section docs/benchmarks.md

clean:
	rm -rf .build tests/output .pytest_cache
