# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pci_driver, sriov_vfs and devlink_eswitch as Ansible runs them (check mode) on the stacked host of
tests/tools/synthhost.py: the management guard refuses with the path, before anything changes. The node's `ip`
is replaced on PATH by a script printing the tree's `ip -json addr show`; the modules are real."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.dataplane.node.plugins.modules import pci_driver, sriov_vfs

import synthhost

ADDRESSES = {'bond0.120': ['10.1.2.3/24'], 'br0': ['10.9.0.5/24'], 'eno1': ['172.16.0.9/24']}


@pytest.fixture
def node(tmp_path, monkeypatch):
    builder = synthhost.stacked()
    root = builder.write(str(tmp_path / 'stacked'))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (tmp_path / 'ip.json').write_text(json.dumps(builder.ip_addr(ADDRESSES)))
    script = bindir / 'ip'
    script.write_text('#!/bin/sh\ncat %s\n' % (tmp_path / 'ip.json'))
    os.chmod(str(script), os.stat(str(script)).st_mode | stat.S_IEXEC)
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ.get('PATH', '')))
    monkeypatch.delenv('SSH_CONNECTION', raising=False)
    return root


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
