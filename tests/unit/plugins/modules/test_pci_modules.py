# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_vfs and pci_driver as Ansible runs them, in check mode on the captured QEMU guest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.dataplane.node.plugins.modules import pci_driver, sriov_vfs


def test_sriov_vfs_check_mode(run_module, host_root):
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          '_ansible_diff': True, 'netdev': 'enp0s3', 'numvfs': 4})
    assert code == 0, result
    assert (result['changed'], result['pf']) == (True, '0000:00:03.0')
    assert result['writes'] == ['/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 0',
                                '/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 4']
    assert result['diff'] == {'before': {'numvfs': 3, 'drivers_autoprobe': True},
                              'after': {'numvfs': 4, 'drivers_autoprobe': True}}


def test_sriov_vfs_refuses_too_many_and_no_sriov(run_module, host_root):
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          'pf': '0000:00:03.0', 'numvfs': 9})
    assert (code, result['problems']) == (1, ['0000:00:03.0 supports 0 to 7 VFs, 9 asked'])
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          'pf': '0000:00:04.0', 'numvfs': 1})
    assert (code, result['problems']) == (1, ['0000:00:04.0 (e1000e) has no SR-IOV capability'])


def test_pci_driver_check_mode(run_module, host_root):
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vfs_of': '0000:00:03.0', 'vf_indexes': [0, 1], 'driver': 'vfio-pci',
                                           'expect': 2})
    assert code == 0, result
    assert result['devices'] == {'0000:00:13.0': {'before': 'igbvf', 'after': 'vfio-pci'},
                                 '0000:00:13.2': {'before': 'igbvf', 'after': 'vfio-pci'}}
    assert len(result['writes']) == 6 and result['noiommu'] is False


def test_pci_driver_refuses_management_nic_and_surprises(run_module, host_root):
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vendor_device': '1af4:1000', 'driver': 'vfio-pci'})
    assert code == 1
    assert result['problems'] == ['0000:00:02.0 carries the management connection (enp0s2): moving it to vfio-pci '
                                  'would cut this session']
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vendor_device': '8086:10ca', 'driver': 'vfio-pci', 'expect': 2})
    assert code == 1
    assert result['msg'] == ('nothing changed: 3 device(s) selected (0000:00:13.0, 0000:00:13.2, 0000:00:13.4), '
                             '2 expected')
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'devices': ['0000:00:04.0'], 'driver': 'vfio;rm'})
    assert (code, result['problems']) == (1, ["driver name 'vfio;rm' is not a driver name"])
