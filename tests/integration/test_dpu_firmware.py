# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""BlueField firmware in the run's one reboot, through ansible-playbook on this machine (no VM, check mode).

mstconfig is replaced on PATH by a script that replays the hand-written BlueField-2 query of tests/fixtures/dpu and
logs every call, so the tests see how often the firmware is queried; the role, the playbook and the modules are real.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

import hosttree
from playbook_json import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DPU = os.path.join(REPO, 'tests', 'fixtures', 'dpu')
QUERY = ['-e -d %s q', '-d %s q']  # the extended query first; this mstconfig has no -e, so the plain one follows


@pytest.fixture
def bindir(tmp_path):
    """A bin directory with mstconfig (BlueField-2 in DPU mode, 8 VFs; no -e) and devlink (igb: no eSwitch)."""
    path = tmp_path / 'bin'
    path.mkdir()
    scripts = {
        'mstconfig': 'echo "$@" >> %s\ncase "$1" in -e) exit 3;; esac\ncat %s/mstconfig-bf2-dpu-query.txt\n' % (
            tmp_path / 'mstconfig.calls', DPU),
        'devlink': 'echo "kernel answers: No such device" >&2; exit 1\n',
    }
    for name, body in scripts.items():
        (path / name).write_text('#!/bin/sh\n' + body)
        (path / name).chmod(0o755)
    return path


def calls(tmp_path):
    log = tmp_path / 'mstconfig.calls'
    return log.read_text().splitlines() if log.exists() else []


def run(tmp_path, bindir, inventory, playbook, *args):
    code, report, dummy = run_playbook(tmp_path, inventory, playbook, ('--check',) + args, path_prefix=bindir)
    return code, report


def results(report, host):
    """[(task name without the role prefix, result)] of one host, in order (tasks it did not run are left out)."""
    return [(t['task']['name'].split(' : ', 1)[-1], t['hosts'][host])
            for p in report['plays'] for t in p['tasks'] if host in t['hosts']]


SITE_INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
  hosts:
    dpuhost1:
      dataplane_node_profile: dpu-host
      ovn_dpu_pf: "0000:03:00.0"
      ovn_dpu_firmware: {sriov_en: true, num_of_vfs: 16, dpu_mode: dpu}
      ovn_dpu_firmware_power_cycle: true
    dpuhost2:
      dataplane_node_profile: dpu-host
      ovn_dpu_pf: "0000:04:00.0"
      ovn_dpu_firmware: {dpu_mode: nic}
    worker1:
      dataplane_node_profile: dpdk-worker
'''


def test_site_boot_phase_puts_a_firmware_change_into_the_one_reboot(tmp_path, bindir):
    # This machine has no boot loader the kernel_cmdline module knows, so that one role is left out.
    code, report = run(tmp_path, bindir, SITE_INVENTORY, 'dataplane.node.site', '--tags', 'boot',
                       '--skip-tags', 'kernel_cmdline', '-e', 'dataplane_max_fail_percentage=100',
                       # A reboot is planned, so the default batch is one node, and a batch whose every host failed
                       # ends the play: one batch here, so that the other hosts go on.
                       '-e', 'dataplane_serial=100%')
    assert code == 2, report  # dpuhost2 fails (by design), the others go on
    ran = results(report, 'dpuhost1')
    names = [name for name, _r in ran]
    fw = names.index("Query the BlueField firmware (SR-IOV, VF count, DPU or NIC mode); change only what differs")
    reboot = names.index('Report the pending reboot')
    assert fw < reboot
    assert ran[fw][1]['changed'] is True and ran[fw][1]['set'] == ['NUM_OF_VFS=16']
    reason = ('firmware of 0000:03:00.0 (BlueField2): NUM_OF_VFS=16; needs a power cycle or firmware reset '
              '(mlxfwreset), a warm reboot may not apply it')
    assert ran[reboot][1]['msg'] == 'would reboot (check mode): ' + reason
    warning = dict(ran)['Warn that a warm reboot may not apply a firmware change']['msg']
    assert warning.startswith(reason + '. The run reboots once for it; if the warm reboot does not apply it, '
                              'power-cycle the server')
    # The reboot does not happen in check mode, so the reason is still pending at the end.
    summary = dict(ran)['Verify - the run on this node (changes, and every effect still pending)']['msg']
    assert '  PENDING reboot: check mode: ' + reason in summary

    # No power cycle allowed: refused before any change, and before the reboot role.
    ran2 = results(report, 'dpuhost2')
    refused = dict(ran2)["Query the BlueField firmware (SR-IOV, VF count, DPU or NIC mode); change only what differs"]
    assert refused['failed'] and refused['msg'].startswith('nothing changed: the firmware of 0000:04:00.0 needs ')
    assert 'Report the pending reboot' not in [name for name, _r in ran2]

    # A host without firmware settings never includes the entry point.
    skipped = dict(results(report, 'worker1'))
    assert skipped["Boot-time phase - BlueField firmware (a change joins the run's one reboot; not queried again later)"][
        'skipped']
    # Check mode: only queries, one per DPU host, nothing set.
    assert sorted(calls(tmp_path)) == sorted([q % dev for dev in ('0000:03:00.0', '0000:04:00.0') for q in QUERY])


ROLE_INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
  hosts:
    localhost:
'''

ROLE_PLAY = '''
- name: The role's entry points as site.yml calls them, on the captured QEMU guest (igb PF 0000:00:03.0)
  hosts: localhost
  gather_facts: false
  module_defaults:
    dataplane.node.ovn_dpu_check: {root: %(root)s}
    dataplane.node.sriov_vfs: {root: %(root)s}
    dataplane.node.mlx_firmware: {root: %(root)s}
  vars:
    ovn_dpu_mode: dpu-host
    ovn_dpu_pf: "0000:00:03.0"
    ovn_dpu_numvfs: 4
    ovn_dpu_firmware: {num_of_vfs: 16}
    ovn_dpu_firmware_power_cycle: true
    ovn_dpu_settings_path: %(tmp)s/ovnkube-node.env
    ovn_dpu_state_path: %(tmp)s/ovn-dpu.json
  tasks:
    - name: Firmware entry (boot phase)
      ansible.builtin.include_role:
        name: dataplane.node.ovn_dpu
        tasks_from: firmware
      when: %(firmware_first)s

    - name: Main entry (runtime phase)
      ansible.builtin.include_role:
        name: dataplane.node.ovn_dpu

    - name: Reboot reasons at the end
      ansible.builtin.debug:
        var: dataplane_node_reboot_reasons
'''


@pytest.mark.parametrize('firmware_first', [True, False], ids=['after-firmware-entry', 'main-entry-alone'])
def test_main_entry_queries_the_firmware_once(tmp_path, bindir, firmware_first):
    root = str(tmp_path / 'qemu-igb')
    hosttree.load_tree(os.path.join(REPO, 'tests', 'fixtures', 'hosts', 'qemu-igb.tree'), root)
    play = tmp_path / 'play.yml'
    play.write_text(ROLE_PLAY % {'root': root, 'tmp': tmp_path, 'firmware_first': firmware_first})
    code, report = run(tmp_path, bindir, ROLE_INVENTORY, str(play))
    assert code == 0, report
    ran = results(report, 'localhost')
    names = [name for name, _r in ran]
    assert calls(tmp_path) == [q % '0000:00:03.0' for q in QUERY]
    assert names.count("Query the BlueField firmware (SR-IOV, VF count, DPU or NIC mode); change only what differs") == 1
    guard = dict(ran)["Query the BlueField firmware and ask for the run's one reboot when it changes (unless already done)"]
    assert guard.get('skipped', False) is firmware_first
    assert ran[-1][1]['dataplane_node_reboot_reasons'] == [
        'firmware of 0000:00:03.0 (BlueField2): NUM_OF_VFS=16; needs a power cycle or firmware reset (mlxfwreset), '
        'a warm reboot may not apply it']
    # the dpu-host steps ran after the firmware (VFs planned on the PF, the management VF picked by PCI address)
    assert dict(ran)['Pick the management-port VF by PCI address (ovnkube renames its netdev to ovn-k8s-mp0)'][
        'mgmt_port']['address'] == '0000:00:13.0'


def test_firmware_keys_are_validated_by_the_preflight():
    import yaml

    from ansible_collections.dataplane.node.plugins.module_utils._preflight import check_types, role_options

    with open(os.path.join(REPO, 'roles', 'ovn_dpu', 'meta', 'argument_specs.yml')) as handle:
        options = role_options({'ovn_dpu': yaml.safe_load(handle)})
    assert check_types({'ovn_dpu_firmware': {'dpu_mode': 'dpuu', 'num_vfs': 3}}, options) == [
        'ovn_dpu_firmware.num_vfs. Supported parameters include: dpu_mode, num_of_vfs, sriov_en.',
        'value of dpu_mode must be one of: dpu, nic, got: dpuu found in ovn_dpu_firmware']
    assert check_types({'ovn_dpu_firmware': {'sriov_en': True, 'num_of_vfs': 8, 'dpu_mode': 'nic'}}, options) == []
