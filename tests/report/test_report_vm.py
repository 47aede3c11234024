# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet dry run and the HTML report against a real testbed VM (QEMU: 2 NUMA nodes, intel-iommu, igb SR-IOV).

Boots a VM, so it runs only when asked: DATAPLANE_REPORT_VM=1, under the VM lock:
    flock /tmp/dataplane-vm.lock env DATAPLANE_REPORT_VM=1 .venv/bin/python -m pytest -v tests/report/test_report_vm.py
(276 s with a cached image, 2026-11-26). It proves on a live guest that `site.yml --check --diff` prints the
preflight's plan and reboot forecast and changes nothing, that the report shows what the guest's sysfs says, and that
molecule/default's variables pass the preflight. In that run the report and default-scenario cases passed; the dry
run failed in the sriov role (with vfio_vfs, check mode cannot bind VFs that do not exist yet), so it now asks for
VFs without vfio-pci; that version has not had a VM run yet (the VM lock was busy until the deadline).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from test_report_chromium import CHROMIUM, open_in_chromium

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'vm'))
import testbed  # noqa: E402  pylint: disable=wrong-import-position

if os.environ.get('DATAPLANE_REPORT_VM') != '1':
    pytest.skip('boots a VM: run with DATAPLANE_REPORT_VM=1 under flock /tmp/dataplane-vm.lock', allow_module_level=True)
REASON = testbed.preflight()
if REASON:
    pytest.skip(REASON, allow_module_level=True)
if CHROMIUM is None:
    pytest.skip('chromium is not installed', allow_module_level=True)

HOST_VARS = {
    'ansible_python_interpreter': '/usr/bin/python3',
    'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null',
    'dataplane_node_profile': 'dpdk-worker',
    'hugepages_pools': [{'size': '2M', 'count': 64}],
    # No vfio_vfs: in check mode the sriov role cannot bind VFs that do not exist yet (pci_driver fails on the
    # missing VF index), so a first dry run with vfio_vfs fails in that role, not in the preflight.
    'sriov_pfs': [{'vendor': '8086', 'device': '10c9', 'numvfs': 2}],
}


@pytest.fixture(scope='module')
def vm(tmp_path_factory):
    bed = testbed.Testbed(state_dir=str(tmp_path_factory.mktemp('vms')))
    inst = bed.up('report-vm', mem_per_node=4096, timeout=300)  # as molecule/default
    try:
        yield inst
    finally:
        bed.down('report-vm')


@pytest.fixture(scope='module')
def inventory(vm, tmp_path_factory):
    host = dict(HOST_VARS, ansible_host=vm.address, ansible_port=vm.port, ansible_user=vm.user,
                ansible_ssh_private_key_file=vm.identity_file)
    path = tmp_path_factory.mktemp('inv') / 'hosts.json'
    path.write_text(json.dumps({'all': {'hosts': {'dpdk-node': host}}}))
    return str(path)


def failures(report):
    return [(t['task']['name'], h, r.get('msg')) for p in report['plays'] for t in p['tasks']
            for h, r in t['hosts'].items() if r.get('failed')]


def playbook(inventory, name, *args):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               ANSIBLE_HOST_KEY_CHECKING='False')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, name]
                          + list(args), env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_dry_run_prints_the_plan_and_the_reboot_and_changes_nothing(vm, inventory):
    cmdline = vm.ssh('cat', '/proc/cmdline').stdout
    code, report, stderr = playbook(inventory, 'dataplane.node.site', '--check', '--diff')
    assert code == 0, (failures(report), stderr[-3000:])
    # Plays on the controller (the fleet plan, the summary) have tasks without the guest: keep the guest's.
    # Role tasks are named "<role> : <task>": keep the task's own name.
    tasks = dict((t['task']['name'].split(' : ', 1)[-1], t['hosts']['dpdk-node']) for p in report['plays']
                 for t in p['tasks'] if 'dpdk-node' in t['hosts'])
    preflight = tasks["Validate every host's variables, plan NUMA locality, forecast reboots"]
    assert preflight['invalid_hosts'] == [] and preflight['reboot_hosts'] == ['dpdk-node']
    plan = preflight['plan']
    assert plan[0] == 'dpdk-node: locality place; NICs on node -; reboot: yes (missing intel_iommu=on iommu=pt)'
    assert '  NIC 0000:00:03.0 enp0s3 node ? driver igb: sriov (2 VFs, vfio none)' in plan
    assert plan[-2] == 'reboot needed on 1 of 1 host(s): dpdk-node'
    # The rolling default (#23): a run that may reboot goes one node at a time, and the plan says so.
    assert plan[-1].startswith('rolling: serial 1 -> 1 round(s) for 1 host(s) (default: one node at a time')
    assert 'NUMA-locality plan' in preflight['diff']['after_header']
    assert tasks['Show the fleet plan (full per-node plan with --diff)']['msg'] == plan
    assert tasks['Configure the kernel command line through the boot loader']['reboot_required'] is True
    # Check mode: the guest is as it was.
    assert vm.ssh('cat', '/proc/cmdline').stdout == cmdline
    assert vm.ssh('sh', '-c', 'test -e /etc/default/grub.d/99-dataplane-node.cfg', check=False).returncode == 1
    assert vm.ssh('cat', '/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs').stdout.strip() == '0'


def test_report_shows_the_guest_as_its_sysfs_says(vm, inventory, tmp_path):
    out = tmp_path / 'nodes.html'
    code, report, stderr = playbook(inventory, 'dataplane.node.report', '-e', 'dataplane_report_path=%s' % out)
    assert code == 0, (failures(report), stderr[-3000:])
    shown = open_in_chromium(str(out)).hosts['dpdk-node']
    assert sorted(shown['panels']) == ['0', '1', 'unknown']
    for node in ('0', '1'):
        for size_kb, size in ((2048, '2M'), (1048576, '1G')):
            nr = vm.ssh('cat', '/sys/devices/system/node/node%s/hugepages/hugepages-%dkB/nr_hugepages' % (node, size_kb))
            assert shown['panels'][node]['pools'][size] == int(nr.stdout)
    assert '0000:00:03.0' in shown['panels']['unknown']['nics']
    text = ''.join(shown['text'])
    assert 'IOMMU on (intel: dmar0)' in text and 'driver igb' in text
    levels = dict((t, level) for level, t in shown['findings'])
    assert any(t.startswith('reboot pending: the booted command line differs from the configuration') for t in levels)
    assert levels['NUMA locality: NUMA node unknown (numa_node -1) for 0000:00:03.0: locality cannot be checked '
                  'for it'] == 'warning'


def test_the_default_scenario_variables_pass_the_preflight_on_the_guest(vm, tmp_path):
    """What CI's Molecule scenario asks for, checked on the live guest: valid, and the reboot it will need."""
    import yaml
    with open(os.path.join(REPO, 'molecule', 'default', 'molecule.yml')) as handle:
        group_vars = yaml.safe_load(handle)['provisioner']['inventory']['group_vars']['all']
    host = dict(group_vars, ansible_host=vm.address, ansible_port=vm.port, ansible_user=vm.user,
                ansible_ssh_private_key_file=vm.identity_file,
                ansible_ssh_common_args=HOST_VARS['ansible_ssh_common_args'])
    path = tmp_path / 'hosts.json'
    path.write_text(json.dumps({'all': {'hosts': {'dpdk-node': host}}}))
    code, report, stderr = playbook(str(path), 'dataplane.node.site', '--check', '--tags', 'preflight')
    assert code == 0, (failures(report), stderr[-3000:])
    preflight = [t['hosts']['dpdk-node'] for p in report['plays'] for t in p['tasks']
                 if t['task']['name'].startswith('Validate every host')][0]
    assert preflight['invalid_hosts'] == [] and preflight['reboot_hosts'] == ['dpdk-node']
    assert preflight['plan'][0].startswith('dpdk-node: locality warn; NICs on node -; reboot: yes (missing '
                                           'intel_iommu=on iommu=pt nokaslr default_hugepagesz=1G hugepagesz=1G '
                                           'hugepages=0:1,1:1')
