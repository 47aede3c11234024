# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.filter.sriov import (
    sriov_boot_state, sriov_device_plugin_config, sriov_vfio_selection)

VFS_RESULT = {'item': {'vendor': '8086', 'device': '159b', 'numvfs': 6, 'vfio_vfs': [3, 0, 1]},
              'pf': '0000:af:00.0', 'numvfs': 6, 'drivers_autoprobe': True, 'pf_netdevs': ['ens2f0'],
              'vendor': '0x8086', 'vf_device': '0x1889'}


def test_vfio_selection():
    assert sriov_vfio_selection(VFS_RESULT) == {'vfs_of': '0000:af:00.0', 'vf_indexes': [0, 1, 3], 'expect': 3,
                                                'vfs_planned': 6}


def test_boot_state():
    bind = [{'devices': {'0000:af:01.0': {}, '0000:af:01.1': {}}}, {'skipped': True}, {'devices': {'0000:00:04.0': {}}}]
    assert sriov_boot_state([VFS_RESULT, {'skipped': True}], bind) == {
        'sriov': {'pfs': [{'address': '0000:af:00.0', 'numvfs': 6, 'drivers_autoprobe': True}], 'timeout': 60},
        'drivers': {'devices': {'0000:af:01.0': 'vfio-pci', '0000:af:01.1': 'vfio-pci', '0000:00:04.0': 'vfio-pci'},
                    'timeout': 60}}


def test_device_plugin_config():
    assert sriov_device_plugin_config([VFS_RESULT], 'example.com') == {'resourceList': [
        {'resourceName': 'ens2f0_vfio', 'resourcePrefix': 'example.com',
         'selectors': {'vendors': ['8086'], 'devices': ['1889'], 'pfNames': ['ens2f0#0-1,3'], 'drivers': ['vfio-pci']}},
        {'resourceName': 'ens2f0_netdev', 'resourcePrefix': 'example.com',
         'selectors': {'vendors': ['8086'], 'devices': ['1889'], 'pfNames': ['ens2f0#2,4-5']}},
    ]}
