# dataplane.node: one entry point for setting up, the demo and the tests.
#   make demo   set up, boot a QEMU DPDK-node VM, run the collection on it, print its state before and after
#   make test   set up, then unit tests, sanity, lint, the docsite and the VM scenarios (what CI runs)
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_INJECT_FACT_VARS := False
export ANSIBLE_PYTHON_INTERPRETER := $(PY)

.PHONY: setup setup-vagrant demo test test-all test-unit test-matrix sanity lint test-vm test-vm-all ee test-ee docs bench clean k8s

setup:
	scripts/bootstrap.sh

demo: setup
	$(PY) tests/vm/demo.py $(DEMO_FLAGS)

test: setup test-unit sanity lint docs test-matrix test-vm

test-unit:
	$(PY) -m pytest -q tests/unit tests/integration tests/report tests/ee/test_ee_definition.py

# The oldest and newest supported ansible-core (2.16 on Python 3.11, 2.21 on Python 3.13): unit tests and sanity,
# each in its own venv under .build/matrix (scripts/matrix.py; the .venv above is the 2.19 leg and runs the linters).
test-matrix: setup
	$(PY) scripts/matrix.py

sanity:
	PYTHON=$(PY) scripts/sanity.sh

lint:
	ansible-lint --offline --profile production
	cd .build/collections/ansible_collections/dataplane/node && antsibull-docs lint-collection-docs --plugin-docs .
	antsibull-changelog lint

# VM tests (what CI runs): the `default` scenario always, and every other suite whose inputs changed since it was
# proven green (tests/vm/proven.json), within CI's VM budget; the selection and its reasons are printed first.
test-vm:
	PY=$(PY) scripts/test-vm.sh --ci

# Every scenario, the Vagrant one included (needs `make setup-vagrant`; ~15 min more); `kubelet` needs `make k8s`
# (built first here, so the cold build does not count against that scenario's timeout).
test-vm-all: k8s
	PY=$(PY) scripts/test-vm.sh --all

# The whole suite with every scenario: one command for all of it.
test-all: setup setup-vagrant test-unit sanity lint docs test-vm-all

# The execution environment image AWX runs the collection in (podman + ansible-builder; cached by the hash of
# its inputs under ${DATAPLANE_CACHE:-~/.cache/dataplane-node}/ee; see docs/awx.md).
ee: setup
	$(PY) ee/build.py

# AWX-style jobs: ansible-runner with process isolation in the EE against one testbed VM (under the VM lock;
# the image is built first, outside it).
test-ee: setup
	tag=$$($(PY) ee/build.py --print-tag) && DATAPLANE_EE_IMAGE=$$tag flock /tmp/dataplane-vm.lock $(PY) -m pytest -v -rs tests/ee/test_awx_runs.py

setup-vagrant: setup
	scripts/setup-vagrant.sh

# kubelet, kube-apiserver and kubectl v1.20.2 from Debian's kubernetes source package, for the `kubelet` scenario
# (cached by recipe; cold ~10 min on 2 cores, see docs/testing.md).
k8s: setup
	flock /tmp/dataplane-build.lock $(PY) tests/vm/k8s_build.py build

# The docsite (antsibull-docs + Sphinx, offline): modules, filters, roles, guides, changelog -> .build/docsite/html.
docs: setup
	docs/sphinx/build.sh

bench: setup
	$(PY) tests/bench/bench_facts.py --write docs/benchmarks.md
	flock /tmp/dataplane-vm.lock $(PY) tests/bench/bench_rerun.py --check-first --compare --write-section docs/benchmarks.md

clean:
	rm -rf .build tests/output .pytest_cache
