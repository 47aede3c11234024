#!/usr/bin/env bash
# Run the VM suites: `--ci` the always-run ones plus those whose inputs changed since they were proven green
# (tests/vm/impact.py prints which and why), `--all` every suite. A suite that passes in full is recorded in
# tests/vm/proven.json by the test harness (commit that file to keep CI from running it again for the same inputs).
# Usage: scripts/test-vm.sh --ci|--all   (from the Makefile: PY is the venv's python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
py=${PY:-$repo/.venv/bin/python}
mode=${1:---ci}
case "$mode" in --ci) suites=$("$py" tests/vm/impact.py select --ci) ;; --all) suites=$("$py" tests/vm/impact.py select) ;;
  *) echo "usage: $0 --ci|--all" >&2; exit 2 ;; esac
echo "[test-vm] suites: $suites"
has() { [[ " $suites " == *" $1 "* ]]; }
# What a selected suite needs first, outside the VM lock (the kubelet build is ~10 min cold, cached by recipe).
if has kubelet; then make --no-print-directory k8s; fi
if has vagrant; then make --no-print-directory setup-vagrant; fi
report_vm=0
if has report; then report_vm=1; fi
rc=0
DATAPLANE_VM_SUITES="$suites" DATAPLANE_REPORT_VM=$report_vm flock /tmp/dataplane-vm.lock \
  "$py" -m pytest -v -rs --durations=15 tests/vm tests/report/test_report_vm.py || rc=$?
if has ee; then make --no-print-directory test-ee || rc=$?; fi
exit "$rc"
