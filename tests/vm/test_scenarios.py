# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the Molecule scenarios on the QEMU testbed, one at a time (2 cores: never two VM suites at once).

Which scenarios: DATAPLANE_SCENARIOS (space separated), default: every molecule/<name>/molecule.yml
(`make test-vm` runs the CI set, `make test-vm-all` every scenario).
Each run logs to tests/output/molecule-<name>.log; a failure shows the log's tail and its path.
Skipped, with the reason, where QEMU with the igb device is missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

import testbed

pytestmark = pytest.mark.vm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOLECULE_DIR = os.path.join(REPO, 'molecule')
# Seconds per scenario under TCG; the kubelet scenario (a real kubelet, ~31 min) needs more than the others.
SCENARIO_TIMEOUTS = {'kubelet': 2700}
SCENARIO_TIMEOUT = int(os.environ.get('DATAPLANE_SCENARIO_TIMEOUT', '1500'))
# A scenario run again on another guest release: name -> (molecule scenario, environment). The Debian 13 leg builds
# its own image (tests/vm/image.py, DATAPLANE_GUEST_SUITE), ~4 min the first time.
VARIANTS = {'default_trixie': ('default', {'DATAPLANE_GUEST_SUITE': 'trixie'})}


def scenarios():
    wanted = os.environ.get('DATAPLANE_SCENARIOS')
    if wanted:
        return wanted.split()
    found = [n for n in os.listdir(MOLECULE_DIR) if os.path.exists(os.path.join(MOLECULE_DIR, n, 'molecule.yml'))]
    return sorted(found + list(VARIANTS))


def scenario_preflight(scenario):
    """None, or why this machine cannot run the scenario (reported as a skip)."""
    reason = testbed.preflight()
    if reason or scenario != 'vagrant':
        return reason
    import vagrant_box  # pylint: disable=import-outside-toplevel
    reason = vagrant_box.preflight()
    return 'vagrant scenario (run `make setup-vagrant`): %s' % reason if reason else None


def tail(path, lines=80):
    with open(path, errors='replace') as handle:
        return ''.join(handle.readlines()[-lines:])


@pytest.mark.parametrize('scenario', scenarios())
def test_molecule_scenario(scenario):
    reason = scenario_preflight(scenario)
    if reason:
        pytest.skip(reason)
    os.makedirs(os.path.join(REPO, 'tests', 'output'), exist_ok=True)
    log = os.path.join(REPO, 'tests', 'output', 'molecule-%s.log' % scenario)
    molecule = os.path.join(os.path.dirname(sys.executable), 'molecule')
    timeout = max(SCENARIO_TIMEOUT, SCENARIO_TIMEOUTS.get(scenario, 0))
    scenario, variant_env = VARIANTS.get(scenario, (scenario, {}))
    env = dict(os.environ, **variant_env)
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_FORCE_COLOR='0', PY_COLORS='0', NO_COLOR='1',
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    with open(log, 'w') as out:
        try:
            proc = subprocess.run([molecule, 'test', '-s', scenario], cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = 'timeout after %d s' % timeout
            subprocess.run([molecule, 'destroy', '-s', scenario], cwd=REPO, env=env, stdout=out,
                           stderr=subprocess.STDOUT, timeout=300, check=False)
    assert code == 0, 'molecule test -s %s failed (%s); log: %s\n%s' % (scenario, code, log, tail(log))
