# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vfio-pci on a host without interrupt remapping: the facts, the plan and pci_driver in check mode.

Found by dataplane.node.workload_check on the testbed: the VF was on vfio-pci, yet DPDK said "Set IOMMU type 1 (Type
1) failed, error 1 (Operation not permitted)" and "failed to select IOMMU type"; the guest's kernel log said
"vfio_iommu_type1_attach_group: No interrupt remapping support".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.dataplane.node.plugins.module_utils._host import VFIO_UNSAFE_INTERRUPTS, Host
from ansible_collections.dataplane.node.plugins.module_utils._parse import interrupts_remapped
from ansible_collections.dataplane.node.plugins.module_utils._pci import (
    UNSAFE_INTERRUPTS_CONF, UNSAFE_INTERRUPTS_TEXT, unsafe_interrupts_plan)
from ansible_collections.dataplane.node.plugins.modules import pci_driver

HERE = os.path.dirname(os.path.abspath(__file__))
CAPTURED = os.path.join(HERE, '..', '..', '..', 'fixtures', 'interrupts', 'qemu-intel-iommu-intremap-off.txt')
REMAPPED = ('           CPU0       CPU1\n'
            '  0:         44          0  IR-IO-APIC    2-edge      timer\n'
            ' 25:          0       1290  IR-PCI-MSI 512000-edge      ahci[0000:00:1f.2]\n'
            'DMAR:          0          0   DMAR-MSI    0-edge      dmar0\n')


def captured():
    with open(CAPTURED) as handle:
        return handle.read()


def test_interrupts_remapped_reads_the_chips():
    assert interrupts_remapped(captured()) is False
    assert interrupts_remapped(REMAPPED) is True
    assert interrupts_remapped(None) is None


def test_plan():
    off = {'enabled': True, 'interrupt_remapping': False, 'vfio_unsafe_interrupts': False}
    assert unsafe_interrupts_plan(off, 'vfio-pci', True, None) == {
        'needed': True, 'runtime': True, 'conf': True, 'warning': None}
    done = dict(off, vfio_unsafe_interrupts=True)
    assert unsafe_interrupts_plan(done, 'vfio-pci', True, UNSAFE_INTERRUPTS_TEXT) == {
        'needed': True, 'runtime': False, 'conf': False, 'warning': None}
    warned = unsafe_interrupts_plan(off, 'vfio-pci', False, None)
    assert (warned['needed'], warned['runtime'], warned['conf']) == (True, False, False)
    assert 'failed to select IOMMU type' in warned['warning'] and 'sriov_vfio_allow_unsafe_interrupts' in warned['warning']
    # Not needed: interrupt remapping on, unknown, no IOMMU (no-IOMMU mode is its own switch), or another driver.
    for iommu, driver in ((dict(off, interrupt_remapping=True), 'vfio-pci'), (dict(off, interrupt_remapping=None),
                          'vfio-pci'), (dict(off, enabled=False), 'vfio-pci'), (off, 'igbvf'), (off, '')):
        assert unsafe_interrupts_plan(iommu, driver, True, None) == {
            'needed': False, 'runtime': False, 'conf': False, 'warning': None}


def tree(tmp_path, host_root, interrupts, param=None, conf=None):
    root = str(tmp_path / 'host')
    shutil.copytree(host_root('qemu-igb'), root, symlinks=True)
    with open(os.path.join(root, 'proc', 'interrupts'), 'w') as handle:
        handle.write(interrupts)
    if param is not None:
        os.makedirs(os.path.join(root, os.path.dirname(VFIO_UNSAFE_INTERRUPTS)))
        with open(os.path.join(root, VFIO_UNSAFE_INTERRUPTS), 'w') as handle:
            handle.write(param + '\n')
    if conf is not None:
        os.makedirs(os.path.join(root, os.path.dirname(UNSAFE_INTERRUPTS_CONF)), exist_ok=True)
        with open(os.path.join(root, UNSAFE_INTERRUPTS_CONF), 'w') as handle:
            handle.write(conf)
    return root


def test_facts_of_the_testbed(tmp_path, host_root):
    iommu = Host(tree(tmp_path, host_root, captured(), 'N')).iommu()
    assert iommu['enabled'] and iommu['interrupt_remapping'] is False and iommu['vfio_unsafe_interrupts'] is False
    assert Host(host_root('qemu-igb')).iommu()['interrupt_remapping'] is None  # a tree without /proc/interrupts


ARGS = {'_ansible_check_mode': True, '_ansible_diff': True, 'vfs_of': '0000:00:03.0', 'vf_indexes': [0],
        'driver': 'vfio-pci', 'expect': 1}


def test_pci_driver_sets_and_persists_the_parameter_when_allowed(run_module, tmp_path, host_root):
    root = tree(tmp_path, host_root, captured(), 'N')
    code, result = run_module(pci_driver, dict(ARGS, root=root, allow_unsafe_interrupts=True))
    assert code == 0, result
    assert result['changed'] and result['unsafe_interrupts'] == {'needed': True, 'runtime': True, 'conf': True,
                                                                 'warning': None}
    assert result['writes'][:2] == ['/%s (options vfio_iommu_type1 allow_unsafe_interrupts=1)' % UNSAFE_INTERRUPTS_CONF,
                                    '/%s = Y' % VFIO_UNSAFE_INTERRUPTS]
    assert result['diff'][1]['after'] == UNSAFE_INTERRUPTS_TEXT and result['diff'][1]['before'] == ''
    assert not os.path.exists(os.path.join(root, UNSAFE_INTERRUPTS_CONF))  # check mode wrote nothing


def test_pci_driver_is_idempotent_once_set(run_module, tmp_path, host_root):
    root = tree(tmp_path, host_root, captured(), 'Y', UNSAFE_INTERRUPTS_TEXT)
    code, result = run_module(pci_driver, dict(ARGS, root=root, allow_unsafe_interrupts=True))
    assert code == 0, result
    assert result['unsafe_interrupts'] == {'needed': True, 'runtime': False, 'conf': False, 'warning': None}
    assert not any('allow_unsafe_interrupts' in w or 'modprobe.d' in w for w in result['writes'])


def test_pci_driver_warns_when_not_allowed_and_leaves_hosts_with_remapping_alone(run_module, tmp_path, host_root):
    code, result = run_module(pci_driver, dict(ARGS, root=tree(tmp_path, host_root, captured(), 'N')))
    assert code == 0, result
    unsafe = result['unsafe_interrupts']
    assert (unsafe['needed'], unsafe['runtime'], unsafe['conf']) == (True, False, False)
    assert 'no interrupt remapping' in unsafe['warning']
    code, result = run_module(pci_driver, dict(ARGS, root=tree(tmp_path / 'ir', host_root, REMAPPED, 'N'),
                                               allow_unsafe_interrupts=True))
    assert code == 0, result
    assert result['unsafe_interrupts'] == {'needed': False, 'runtime': False, 'conf': False, 'warning': None}
