# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the sriov role: from the sriov_vfs/pci_driver results to bindings, boot state, device-plugin config."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._parse import format_cpulist


def _results(value, what):
    if not isinstance(value, list):
        raise AnsibleFilterError('%s expects a list of loop results' % what)
    return [r for r in value if not r.get('skipped')]


def sriov_vfio_selection(result):
    """One sriov_vfs loop result -> pci_driver arguments for the VFs it lists in vfio_vfs."""
    indexes = sorted(set(int(i) for i in result['item']['vfio_vfs']))
    # vfs_planned: in check mode the VFs may not exist yet (pci_driver predicts their addresses).
    return {'vfs_of': result['pf'], 'vf_indexes': indexes, 'expect': len(indexes), 'vfs_planned': result['numvfs']}


def sriov_boot_state(vfs_results, bind_results):
    """The state file of the boot-time applier: VF counts per PF, then the devices bound to vfio-pci."""
    pfs = [{'address': r['pf'], 'numvfs': r['numvfs'], 'drivers_autoprobe': r.get('drivers_autoprobe', True)}
           for r in _results(vfs_results, 'sriov_boot_state')]
    devices = {}
    for result in _results(bind_results, 'sriov_boot_state'):
        for address in sorted(result.get('devices', {})):
            devices[address] = 'vfio-pci'
    return {'sriov': {'pfs': pfs, 'timeout': 60}, 'drivers': {'devices': devices, 'timeout': 60}}


def sriov_device_plugin_config(vfs_results, prefix='intel.com'):
    """sriov-network-device-plugin config: per PF one resource for its vfio-pci VFs and one for the others."""
    resources = []
    for result in _results(vfs_results, 'sriov_device_plugin_config'):
        if not result.get('pf_netdevs') or not result.get('vf_device'):
            continue
        pf_name = result['pf_netdevs'][0]
        vfio = sorted(set(int(i) for i in result['item'].get('vfio_vfs') or []))
        kernel = [i for i in range(result['numvfs']) if i not in vfio]
        for indexes, driver_kind in ((vfio, 'vfio'), (kernel, 'netdev')):
            if not indexes:
                continue
            selectors = {'vendors': [result['vendor'][2:]], 'devices': [result['vf_device'][2:]],
                         'pfNames': ['%s#%s' % (pf_name, format_cpulist(indexes))]}
            if driver_kind == 'vfio':
                selectors['drivers'] = ['vfio-pci']
            resources.append({'resourceName': '%s_%s' % (pf_name.replace('-', '_'), driver_kind),
                              'resourcePrefix': prefix, 'selectors': selectors})
    return {'resourceList': resources}


class FilterModule(object):
    def filters(self):
        return {'sriov_vfio_selection': sriov_vfio_selection, 'sriov_boot_state': sriov_boot_state,
                'sriov_device_plugin_config': sriov_device_plugin_config}
