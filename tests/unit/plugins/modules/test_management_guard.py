# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pci_driver, sriov_vfs, devlink_eswitch and ovs_settings as Ansible runs them (check mode) on the stacked host of
tests/tools/synthhost.py: the management guard refuses with the path, before anything changes. The node's `ip`
(and `devlink`, `ovs-vsctl`) are replaced on PATH by scripts printing the tree's state and logging their calls; the
modules are real. Two tests run a module outside check mode on the tree (the test-root refusal patched out) to show
that a refusal writes nothing and runs no changing command. node_facts reads the same seeds, so that the preflight
plans the same refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.dataplane.node.plugins.action.preflight import COLLECTION_ROOT, load_role_specs
from ansible_collections.dataplane.node.plugins.module_utils import _preflight as pf
from ansible_collections.dataplane.node.plugins.modules import (
    devlink_eswitch, node_facts, ovs_settings, pci_driver, sriov_vfs)

import synthhost

ADDRESSES = {'bond0.120': ['10.1.2.3/24'], 'br0': ['10.9.0.5/24'], 'eno1': ['172.16.0.9/24']}


def tool(bindir, name, script):
    path = bindir / name
    path.write_text('#!/bin/sh\n' + script)
    os.chmod(str(path), os.stat(str(path)).st_mode | stat.S_IEXEC)


def make_node(tmp_path, monkeypatch, builder, addresses):
    """Write the builder's tree; put `ip` (printing `addresses` as `ip -json addr show`) first on PATH. Returns
    (root, bin directory for more tools)."""
    root = builder.write(str(tmp_path / 'stacked'))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (tmp_path / 'ip.json').write_text(json.dumps(builder.ip_addr(addresses)))
    tool(bindir, 'ip', 'cat %s\n' % (tmp_path / 'ip.json'))
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ.get('PATH', '')))
    monkeypatch.delenv('SSH_CONNECTION', raising=False)
    return root, bindir


@pytest.fixture
def node(tmp_path, monkeypatch):
    return make_node(tmp_path, monkeypatch, synthhost.stacked(), ADDRESSES)[0]


def test_pci_driver_refuses_a_bond_slave_under_the_ssh_session(run_module, node, monkeypatch):
    monkeypatch.setenv('SSH_CONNECTION', '10.1.2.200 51514 10.1.2.3 22')
    code, result = run_module(pci_driver, {'root': node, '_ansible_check_mode': True, 'devices': ['0000:5e:00.1'],
                                           'driver': 'vfio-pci'})
    assert code == 1
    assert result['problems'] == [
        '0000:5e:00.1 carries the management connection [0000:5e:00.1 (ens2f1) -> bond0 -> bond0.120 (10.1.2.3, '
        'this SSH session)]: moving it to vfio-pci would cut it (set allow_management to do it anyway)']
    assert result['msg'].startswith('nothing changed: ')
    # The spare NIC is free; the override lets the slave go (check mode: planned writes, nothing written).
    code, result = run_module(pci_driver, {'root': node, '_ansible_check_mode': True, 'devices': ['0000:00:1f.6'],
                                           'driver': 'vfio-pci'})
    assert (code, result['changed']) == (0, True)
    code, result = run_module(pci_driver, {'root': node, '_ansible_check_mode': True, 'devices': ['0000:5e:00.1'],
                                           'driver': 'vfio-pci', 'allow_management': True})
    assert (code, result['changed']) == (0, True)
    assert list(result['management']['devices']) == ['0000:5e:00.0', '0000:5e:00.1']


def test_pci_driver_warns_when_nothing_identifies_the_management_connection(run_module, node):
    code, result = run_module(pci_driver, {'root': node, '_ansible_check_mode': True, 'devices': ['0000:00:1f.6'],
                                           'driver': 'vfio-pci', 'management_addresses': ['node1.example.com']})
    assert code == 0
    assert result['management']['identified'] is False
    # Also sent through module.warn (ansible-core prints each text once per process, so not asserted here).
    warnings = result['management']['warnings']
    assert len(warnings) == 2
    assert warnings[0].startswith('nothing identifies the management connection on this node')
    assert warnings[1].startswith('node1.example.com: not an address')


def test_sriov_vfs_refuses_re_creating_the_vf_that_carries_management(run_module, node):
    """br0 (the management address) bridges VF 0 of the i40e PF: 2 -> 4 VFs writes 0 first and destroys it."""
    args = {'root': node, '_ansible_check_mode': True, 'pf': '0000:86:00.0', 'numvfs': 4,
            'management_addresses': ['10.9.0.5']}
    code, result = run_module(sriov_vfs, args)
    assert code == 1
    assert result['problems'] == [
        '0000:86:00.0 carries the management connection [0000:86:00.0 (ens3f0) -> VF 0000:86:02.0 (ens3f0v0) -> '
        'br0 (10.9.0.5, management_addresses)]: changing its VF count from 2 to 4 would cut it (set '
        'allow_management to do it anyway)']
    # Unchanged count: nothing to guard. The override plans the writes.
    code, result = run_module(sriov_vfs, dict(args, numvfs=2))
    assert (code, result['changed']) == (0, False)
    code, result = run_module(sriov_vfs, dict(args, allow_management=True))
    assert (code, result['writes']) == (0, ['/sys/bus/pci/devices/0000:86:00.0/sriov_numvfs = 0',
                                            '/sys/bus/pci/devices/0000:86:00.0/sriov_numvfs = 4'])


def test_sriov_vfs_refuses_a_pf_under_a_vlan_on_a_bond(run_module, node):
    code, result = run_module(sriov_vfs, {'root': node, '_ansible_check_mode': True, 'pf': '0000:5e:00.0',
                                          'numvfs': 4, 'management_interfaces': ['bond0.120']})
    assert code == 1
    assert result['problems'] == [
        '0000:5e:00.0 carries the management connection [0000:5e:00.0 (ens2f0) -> bond0 -> bond0.120 '
        '(management_interfaces)]: changing its VF count from 0 to 4 would cut it (set allow_management to do it '
        'anyway)']


def test_sriov_vfs_refuses_removing_the_vf_that_holds_the_address(run_module, tmp_path, monkeypatch):
    """The SSH session's address on VF 1 of the ixgbe PF itself: 2 -> 0 VFs removes it."""
    root, _bindir = make_node(tmp_path, monkeypatch, synthhost.stacked(), {'ens1f0v1': ['10.4.0.8/24']})
    monkeypatch.setenv('SSH_CONNECTION', '10.4.0.1 60000 10.4.0.8 22')
    code, result = run_module(sriov_vfs, {'root': root, '_ansible_check_mode': True, 'pf': '0000:3b:00.0',
                                          'numvfs': 0})
    assert code == 1
    assert result['problems'] == [
        '0000:3b:00.0 carries the management connection [0000:3b:00.0 (ens1f0) -> VF 0000:3b:10.2 (ens1f0v1: '
        '10.4.0.8, this SSH session)]: changing its VF count from 2 to 0 would cut it (set allow_management to do it '
        'anyway)']


def test_sriov_vfs_refuses_resetting_the_pf_under_the_default_route(run_module, tmp_path, monkeypatch):
    """Nothing but the default route (on a VLAN of the PF) names the management connection: the PF is protected."""
    builder = synthhost.stacked()
    builder.default_route('ens1f0.100')
    root, _bindir = make_node(tmp_path, monkeypatch, builder, {})
    code, result = run_module(sriov_vfs, {'root': root, '_ansible_check_mode': True, 'netdev': 'ens1f0',
                                          'numvfs': 4})
    assert code == 1
    assert result['problems'] == [
        '0000:3b:00.0 carries the management connection [0000:3b:00.0 (ens1f0) -> ens1f0.100 (default route)]: '
        'changing its VF count from 2 to 4 would cut it (set allow_management to do it anyway)']
    # Another PF's count is free to change.
    code, result = run_module(sriov_vfs, {'root': root, '_ansible_check_mode': True, 'pf': '0000:af:00.0',
                                          'numvfs': 4})
    assert (code, result['changed'], result['management']['identified']) == (0, True, True)


# ---------------------------------------------------------------- devlink_eswitch

CX_PF = '0000:17:00.0'


def connectx(vfs=('0000:17:00.2', '0000:17:00.3')):
    """The stacked host plus a ConnectX-6 Dx PF ens6f0np0 (mlx5_core, VFs on mlx5_core too) with VLAN ens6f0np0.200
    on the PF."""
    builder = synthhost.stacked()
    builder.pci(CX_PF, '0x15b3', '0x101d', '0x020000', driver='mlx5_core', netdev='ens6f0np0', totalvfs=8,
                vfs=list(vfs), vf_device='0x101e', vf_driver='mlx5_core')
    builder.upper('ens6f0np0.200', ['ens6f0np0'])
    builder.class_net()
    return builder


@pytest.fixture
def cx_node(tmp_path, monkeypatch):
    """(root, calls): the ConnectX host with `devlink` showing the PF in legacy mode (or $ESWITCH_MODE) and `ethtool`
    reading hw-tc-offload off; calls() lists the devlink/ethtool invocations."""
    root, bindir = make_node(tmp_path, monkeypatch, connectx(), {
        'ens6f0np0.200': ['10.20.0.5/24'], 'ens6f0np0v1': ['10.30.0.7/24'], 'eno1': ['172.16.0.9/24']})
    log = tmp_path / 'calls'
    tool(bindir, 'devlink', 'echo "devlink $*" >> %s\n'
         'echo \'{"dev":{"pci/%s":{"mode":"\'${ESWITCH_MODE:-legacy}\'"}}}\'\n' % (log, CX_PF))
    tool(bindir, 'ethtool', 'echo "ethtool $*" >> %s\necho "hw-tc-offload: off"\n' % log)
    monkeypatch.delenv('ESWITCH_MODE', raising=False)
    return root, lambda: log.read_text().splitlines() if log.exists() else []


SWITCHDEV_ACTION = 'changing its eSwitch to switchdev (the uplink resets, the VFs are unbound) would cut it (set ' \
                   'allow_management to do it anyway)'


def test_devlink_eswitch_refuses_switchdev_on_the_pf_under_the_ssh_session(run_module, cx_node, monkeypatch):
    root, calls = cx_node
    monkeypatch.setenv('SSH_CONNECTION', '10.20.0.200 40022 10.20.0.5 22')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True,
                                                'device': 'pci/' + CX_PF, 'numvfs': 2})
    assert code == 1
    assert result['problems'] == [
        '%s carries the management connection [%s (ens6f0np0) -> ens6f0np0.200 (10.20.0.5, this SSH session)]: %s'
        % (CX_PF, CX_PF, SWITCHDEV_ACTION)]
    assert result['msg'] == 'nothing changed: ' + result['problems'][0]
    assert result['device'] == 'pci/' + CX_PF
    assert result['management']['identified'] is True
    assert list(result['management']['devices']) == [CX_PF]
    # Only the read of the mode ran; no devlink set, no ethtool.
    assert calls() == ['devlink -j dev eswitch show pci/' + CX_PF]


def test_devlink_eswitch_refuses_a_mode_change_under_one_of_the_vfs(run_module, cx_node, monkeypatch):
    """The management address on VF 1: switchdev unbinds the VFs, legacy from switchdev too. Same VF count."""
    root, calls = cx_node
    args = {'root': root, '_ansible_check_mode': True, 'device': 'pci/' + CX_PF,
            'management_addresses': ['10.30.0.7']}
    path = '%s (ens6f0np0) -> VF 0000:17:00.3 (ens6f0np0v1: 10.30.0.7, management_addresses)' % CX_PF
    code, result = run_module(devlink_eswitch, args)
    assert code == 1
    assert result['problems'] == ['%s carries the management connection [%s]: %s' % (CX_PF, path, SWITCHDEV_ACTION)]
    monkeypatch.setenv('ESWITCH_MODE', 'switchdev')
    code, result = run_module(devlink_eswitch, dict(args, mode='legacy'))
    assert code == 1
    assert result['problems'] == [
        '%s carries the management connection [%s]: changing its eSwitch to legacy (the uplink resets, the VFs are '
        'unbound) would cut it (set allow_management to do it anyway)' % (CX_PF, path)]
    # Nothing to change (switchdev already, the VF count kept): the guard is not asked, nothing refused.
    code, result = run_module(devlink_eswitch, args)
    assert (code, result['changed'], result['steps']) == (0, True, ['-K ens6f0np0 hw-tc-offload on'])
    assert 'management' not in result
    assert not any(' set ' in c for c in calls())


def test_devlink_eswitch_allow_management_plans_the_change(run_module, cx_node, monkeypatch):
    root, _calls = cx_node
    monkeypatch.setenv('SSH_CONNECTION', '10.20.0.200 40022 10.20.0.5 22')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True, 'device': 'pci/' + CX_PF,
                                                'allow_management': True})
    assert code == 0, result
    assert result['steps'][:3] == ['unbind the VFs from their driver',
                                   'devlink dev eswitch set pci/%s mode switchdev' % CX_PF,
                                   'bind the VFs back to their driver']
    assert list(result['management']['devices']) == [CX_PF]


def test_devlink_eswitch_refusal_changes_nothing_outside_check_mode(run_module, cx_node, monkeypatch, tmp_path):
    """A real run (the tree stands in for /): refused before the VF count is written or devlink set runs."""
    root, calls = cx_node
    monkeypatch.setattr(devlink_eswitch, 'refuse_test_root_outside_check_mode', lambda module: module.params['root'])
    monkeypatch.setenv('SSH_CONNECTION', '10.20.0.200 40022 10.20.0.5 22')
    numvfs = os.path.join(root, 'sys/bus/pci/devices/%s/sriov_numvfs' % CX_PF)
    code, result = run_module(devlink_eswitch, {'root': root, 'device': 'pci/' + CX_PF, 'numvfs': 4})
    assert code == 1 and result['msg'].startswith('nothing changed: %s carries the management connection' % CX_PF)
    assert open(numvfs).read() == '2\n'
    assert calls() == ['devlink -j dev eswitch show pci/' + CX_PF]
    assert not os.path.exists(os.path.join(root, 'sys/bus/pci/devices/0000:17:00.2/driver/unbind'))


# ---------------------------------------------------------------- ovs_settings (the ovn_dpu role's restart)

OVS_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))), 'fixtures', 'dpu', 'ovs-vsctl-list-fresh.json')


@pytest.fixture
def ovs_node(tmp_path, monkeypatch):
    """(root, args, calls): the stacked host, OVN-Kubernetes shared-gateway style: br-ex (OVS, the ice PF ens5f0 as
    its port) holds 192.168.5.10; `ovs-vsctl` answers the table reads and bridge listings and logs every call; the
    restart command is a script that logs too."""
    root, bindir = make_node(tmp_path, monkeypatch, synthhost.stacked(),
                             {'br-ex': ['192.168.5.10/24'], 'eno1': ['172.16.0.9/24']})
    log = tmp_path / 'calls'
    tool(bindir, 'ovs-vsctl', 'echo "ovs-vsctl $*" >> %s\ncase "$*" in\n'
         '  *"list Open_vSwitch"*) cat %s;;\n'
         '  *list-br) echo br-ex;;\n'
         '  *"list-ifaces br-ex") echo ens5f0;;\n'  # as ovs-vsctl prints it: no local port
         '  *) exit 0;;\nesac\n' % (log, OVS_FIXTURE))
    tool(bindir, 'restart-ovs', 'echo "restart" >> %s\n' % log)
    args = {'root': root, '_ansible_check_mode': True, 'other_config': {'hw-offload': True},
            'restart_command': [str(bindir / 'restart-ovs')]}
    return root, args, lambda: log.read_text().splitlines() if log.exists() else []


OVS_REFUSAL = ('the management connection runs through Open vSwitch (0000:d8:00.0 (ens5f0) -> br-ex (%s)): '
               'restarting ovs-vswitchd (hw-offload changed) would cut it (set allow_management to do it anyway)')


def test_ovs_settings_refuses_the_restart_when_management_sits_on_br_ex(run_module, ovs_node):
    """What the ovn_dpu role passes: ansible_host resolved on the controller as management_addresses."""
    _root, args, calls = ovs_node
    code, result = run_module(ovs_settings, dict(args, management_addresses=['192.168.5.10']))
    assert code == 1
    assert result['problems'] == [OVS_REFUSAL % '192.168.5.10, management_addresses']
    assert result['msg'] == 'nothing changed: ' + result['problems'][0]
    assert list(result['management']['devices']) == ['0000:d8:00.0']
    # Read-only calls only: the table and the bridges the guard walks.
    assert calls() == ['ovs-vsctl --timeout=30 --format=json --columns=other_config,external_ids list Open_vSwitch',
                       'ovs-vsctl --timeout=5 list-br', 'ovs-vsctl --timeout=5 list-ifaces br-ex']


def test_ovs_settings_restart_allowed_off_ovs_or_with_the_override(run_module, ovs_node, monkeypatch):
    _root, args, _calls = ovs_node
    # Management on eno1 (not an OVS port): the restart is planned.
    code, result = run_module(ovs_settings, dict(args, management_addresses=['172.16.0.9']))
    assert (code, result['restarted'], result['management']['identified']) == (0, True, True)
    # No restart (only external_ids change): the guard is not asked.
    code, result = run_module(ovs_settings, dict(args, other_config={}, external_ids={'ovn-encap-type': 'geneve'},
                                                 management_addresses=['192.168.5.10']))
    assert (code, result['restarted'], 'management' in result) == (0, False, False)
    monkeypatch.setenv('SSH_CONNECTION', '192.168.5.1 50000 192.168.5.10 22')
    code, result = run_module(ovs_settings, dict(args, allow_management=True))
    assert (code, result['restarted']) == (0, True)
    assert result['commands'][-1] == args['restart_command']


def test_ovs_settings_refusal_restarts_nothing_outside_check_mode(run_module, ovs_node, monkeypatch):
    """A real run (the tree stands in for /) over the SSH session on br-ex: no ovs-vsctl set, no restart."""
    root, args, calls = ovs_node
    monkeypatch.setattr(ovs_settings, 'refuse_test_root_outside_check_mode', lambda module: module.params['root'])
    monkeypatch.setenv('SSH_CONNECTION', '192.168.5.1 50000 192.168.5.10 22')
    code, result = run_module(ovs_settings, dict(args, _ansible_check_mode=False, system_id='worker1'))
    assert code == 1
    assert result['problems'] == [OVS_REFUSAL % '192.168.5.10, this SSH session']
    assert 'restart' not in calls() and not any(' set ' in c for c in calls())
    assert not os.path.exists(os.path.join(root, 'etc/openvswitch/system-id.conf'))


def test_ovs_settings_refuses_adding_a_port_that_carries_management(run_module, ovs_node):
    """A NIC made an OVS port stops carrying its own addresses (and the VLANs or bonds above it): refused too."""
    _root, args, calls = ovs_node
    args = dict(args, other_config={}, bridge='br-dpdk', ports=['eno1'], management_addresses=['172.16.0.9'])
    code, result = run_module(ovs_settings, args)
    assert code == 1
    assert result['problems'] == [
        'eno1 carries the management connection [eno1 (172.16.0.9, management_addresses)]: adding it to the OVS '
        'bridge br-dpdk would cut it (set allow_management to do it anyway)']
    assert not any('add-' in c for c in calls())
    # A port that carries nothing, or the override: planned.
    code, result = run_module(ovs_settings, dict(args, ports=['ens4f0']))
    assert (code, result['commands'][1]) == (0, ['ovs-vsctl', '--may-exist', 'add-port', 'br-dpdk', 'ens4f0'])
    code, result = run_module(ovs_settings, dict(args, allow_management=True))
    assert (code, result['commands'][1]) == (0, ['ovs-vsctl', '--may-exist', 'add-port', 'br-dpdk', 'eno1'])


# ---------------------------------------------------------------- node_facts: the preflight sees the same seeds

def facts_of(run_module, root, **args):
    code, result = run_module(node_facts, dict(args, root=root, gather_subset=['all', '!kubelet']))
    assert code == 0, result
    return result['ansible_facts']['dataplane']


def test_node_facts_seed_the_preflight_with_the_session_and_the_addresses(run_module, node, monkeypatch):
    """br0 over the VF 0000:86:02.0 holds the management address; the default route is elsewhere. The facts walk
    it down as sriov_vfs and pci_driver will, so the preflight refuses binding that VF before the run starts."""
    management = facts_of(run_module, node, management_addresses=['10.9.0.5'])['management']
    assert management['devices']['0000:86:02.0'] == ['0000:86:02.0 (ens3f0v0) -> br0 (10.9.0.5, management_addresses)']
    assert management['devices']['0000:86:00.0'] == [
        '0000:86:00.0 (ens3f0) -> VF 0000:86:02.0 (ens3f0v0) -> br0 (10.9.0.5, management_addresses)']
    options = pf.role_options(load_role_specs(os.path.join(COLLECTION_ROOT, 'roles')))
    values = {'sriov_vfio_devices': ['0000:86:02.0']}
    facts = facts_of(run_module, node, management_addresses=['10.9.0.5'])
    problems = pf.check_host(values, options, facts)['problems']
    assert problems == [
        'sriov_vfio_devices[0]: 0000:86:02.0 carries the management connection [0000:86:02.0 (ens3f0v0) -> br0 '
        '(10.9.0.5, management_addresses)]: binding it to vfio-pci would cut it (set sriov_allow_management to do it '
        'anyway)']
    # Without the address nothing on the node leads there: the preflight would have let the run cut the session.
    assert '0000:86:02.0' not in facts_of(run_module, node)['management']['devices']
    # The SSH session alone (no address given) is a seed too, as in the modules.
    monkeypatch.setenv('SSH_CONNECTION', '10.9.0.77 40000 10.9.0.5 22')
    management = facts_of(run_module, node)['management']
    assert management['devices']['0000:86:02.0'] == ['0000:86:02.0 (ens3f0v0) -> br0 (10.9.0.5, this SSH session)']


def test_node_facts_keep_the_default_routes_when_the_addresses_cannot_be_listed(run_module, tmp_path, monkeypatch):
    builder = synthhost.stacked()
    builder.default_route('bond0.120')
    root, bindir = make_node(tmp_path, monkeypatch, builder, ADDRESSES)
    tool(bindir, 'ip', 'echo "Cannot open netlink socket" >&2; exit 2\n')
    management = facts_of(run_module, root, management_addresses=['10.9.0.5'])['management']
    assert sorted(management['devices']) == ['0000:5e:00.0', '0000:5e:00.1']  # the default route's bond, not br0
    assert management['warnings'] == [
        'cannot list the addresses to protect the management connection (ip -json addr show: Cannot open netlink '
        'socket): the SSH session and the management addresses are not in these facts']
