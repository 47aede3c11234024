#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: sriov_vfs
short_description: Create SR-IOV virtual functions on a physical function
version_added: 0.1.0
description:
  - Sets C(sriov_numvfs) on a PF chosen by PCI address, netdev name, or vendor/device and index, writing 0 first
    when a non-zero count changes (the kernel refuses one non-zero count over another), sets
    C(sriov_drivers_autoprobe), waits for the VFs to appear (and be bound, with autoprobe), reads the count back,
    and returns the VFs' addresses, drivers and netdevs.
  - Refuses counts above C(sriov_totalvfs), PFs without SR-IOV, and changing the count of a PF whose VFs are bound
    to vfio-pci (possibly in use by DPDK) unless O(force) is set.
  - "Refuses, before anything changes, a VF count change that would take down the management connection (see
    O(management_addresses)): one of the PF's VFs carries it (the change destroys the VFs), or the PF carries it
    at any layer (a bond, VLAN, bridge or OVS bridge above it; drivers such as igb and ixgbe reset the PF's link
    when the count changes). O(allow_management) overrides. Check mode refuses the same way."
  - VF counts do not survive a reboot; the C(dataplane.node.sriov) role re-applies them at boot.
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
  - dataplane.node.node.management
options:
  pf:
    description: PCI address of the PF (V(0000:3b:00.0) or V(3b:00.0)).
    type: str
  netdev:
    description: Netdev name of the PF, instead of O(pf).
    type: str
  vendor:
    description: PCI vendor id of the PF (V(8086)), with O(device) and O(index), instead of O(pf).
    type: str
  device:
    description: PCI device id of the PF (V(10c9)).
    type: str
  index:
    description: Which of the PFs matching O(vendor) and O(device), in PCI address order.
    type: int
    default: 0
  numvfs:
    description: Number of VFs.
    type: int
    required: true
  drivers_autoprobe:
    description: Whether new VFs get bound to their default driver (C(sriov_drivers_autoprobe)); unset leaves it.
    type: bool
  force:
    description: Change the VF count even when VFs are bound to vfio-pci.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the VFs to appear.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: Four VFs on the igb PF
  dataplane.node.sriov_vfs:
    pf: "0000:00:03.0"
    numvfs: 4

- name: Eight VFs on the first E810, left unbound for vfio-pci
  dataplane.node.sriov_vfs:
    vendor: "8086"
    device: "159b"
    numvfs: 8
    drivers_autoprobe: false
"""

RETURN = r"""
pf:
  description: The PF's PCI address.
  type: str
  returned: always
  sample: "0000:00:03.0"
numvfs:
  description: VF count after the run (planned in check mode).
  type: int
  returned: always
vfs:
  description: The VFs (C(index), C(address), C(driver), C(netdevs)) after the run; before it, in check mode.
  type: list
  elements: dict
  returned: always
drivers_autoprobe:
  description: Whether new VFs are bound to their default driver.
  type: bool
  returned: always
pf_netdevs:
  description: Netdev names of the PF.
  type: list
  elements: str
  returned: always
vendor:
  description: PCI vendor id of the PF and its VFs.
  type: str
  returned: always
  sample: "0x8086"
vf_device:
  description: PCI device id of the VFs (null while there are none).
  type: str
  returned: always
  sample: "0x10ca"
writes:
  description: sysfs writes made (planned in check mode), in order.
  type: list
  elements: str
  returned: always
  sample: ["/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 0", "/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 4"]
failed_step:
  description: On a failed run, what failed (a write whose read-back differs, or the wait for the VFs).
  type: str
  returned: failure after a change started
  sample: 0000:00:03.0 shows 4 VFs
undone:
  description: On a failed run, the steps undone, last first (always empty here, VF writes are not reverted).
  type: list
  elements: str
  returned: failure after a change started
  sample: []
management:
  description: What the management guard found (as M(dataplane.node.pci_driver) returns it in RV(management)).
  type: dict
  returned: when the VF count changes
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._change import Context, apply_plan
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._netstack import (
    MANAGEMENT_ARGS, guard_problems, module_stack, summary)
from ansible_collections.dataplane.node.plugins.module_utils._pci import (
    PciError, VfsReady, plan_vfs, select_pf, vf_steps)


def vf_device(host, vfs):
    """The PCI device id of the VFs (read from the first one), for device-plugin selectors."""
    for vf in vfs:
        value = host.fs.read_value('sys/bus/pci/devices/%s/device' % vf['address'])
        if value:
            return value
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pf=dict(type='str'),
            netdev=dict(type='str'),
            vendor=dict(type='str'),
            device=dict(type='str'),
            index=dict(type='int', default=0),
            numvfs=dict(type='int', required=True),
            drivers_autoprobe=dict(type='bool'),
            force=dict(type='bool', default=False),
            wait_timeout=dict(type='int', default=60),
            root=ROOT_ARG,
            **MANAGEMENT_ARGS
        ),
        required_one_of=[('pf', 'netdev', 'vendor')],
        mutually_exclusive=[('pf', 'netdev', 'vendor')],
        required_together=[('vendor', 'device')],
        supports_check_mode=True,
    )
    params = module.params
    root = refuse_test_root_outside_check_mode(module)
    try:
        host = Host(root)
        pf = select_pf(host.pci(), params['pf'], params['netdev'], params['vendor'], params['device'], params['index'])
        writes = plan_vfs(pf, params['numvfs'], params['drivers_autoprobe'], params['force'])
    except (PciError, HostRootError) as exc:
        module.fail_json(msg='nothing changed: %s' % exc, problems=getattr(exc, 'problems', [str(exc)]))
    sriov = pf['sriov']
    management = None
    if any(rel.endswith('/sriov_numvfs') for rel, _value in writes):
        # Asked only when the count changes: the autoprobe flag alone touches no netdev.
        stack = module_stack(module, host)
        for warning in stack['warnings']:
            module.warn(warning)
        management = summary(stack)
        problems = guard_problems(stack, [pf['address']], 'changing its VF count from %d to %d' % (
            sriov['numvfs'] or 0, params['numvfs']), params['allow_management'])
        if problems:
            module.fail_json(msg='nothing changed: %s' % '; '.join(problems), problems=problems, pf=pf['address'],
                             management=management)
    autoprobe = sriov['drivers_autoprobe'] if params['drivers_autoprobe'] is None else params['drivers_autoprobe']
    result = dict(pf=pf['address'], numvfs=params['numvfs'], vfs=sriov['vfs'], drivers_autoprobe=autoprobe,
                  pf_netdevs=pf['netdevs'], vendor=pf['vendor'], vf_device=vf_device(host, sriov['vfs']))
    if management is not None:
        result['management'] = management
    checks = [VfsReady(lambda: Host(root).pci()['devices'][pf['address']], pf['address'], params['numvfs'], autoprobe,
                       params['wait_timeout'])] if writes else []

    def end_state():
        vfs = Host(root).pci()['devices'][pf['address']]['sriov']['vfs']
        return {'vfs': vfs, 'vf_device': vf_device(Host(root), vfs)}

    apply_plan(module, vf_steps(writes), Context(root, module.run_command), result,
               {'numvfs': sriov['numvfs'], 'drivers_autoprobe': sriov['drivers_autoprobe']},
               {'numvfs': params['numvfs'], 'drivers_autoprobe': autoprobe}, checks, end_state, listed_as='writes')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
