#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: devlink_eswitch
short_description: Put a NIC's eSwitch in switchdev (or legacy) mode, in the order the hardware needs
version_added: 0.1.0
description:
  - Reads the eSwitch mode with C(devlink -j dev eswitch show) and the VFs from sysfs, then, only when they differ,
    runs the documented order for ConnectX and BlueField NICs (kernel datapath) - VFs created through
    C(sriov_numvfs) and waited for (polling their C(virtfn) links, never a fixed sleep), the VFs unbound from their
    driver, C(devlink dev eswitch set HANDLE mode MODE), the VFs bound back - and reads the mode back.
  - Writing 0 VFs while in switchdev silently returns the eSwitch to legacy, and VFs created afterwards get no
    representors; so a VF count change is always followed by setting the mode again, and switchdev with 0 VFs
    is refused.
  - Refuses switchdev on a PCI device that is not Mellanox/NVIDIA (vendor C(15b3)). The kernel's C(netdevsim)
    devices (C(netdevsim/netdevsimN)) are accepted for tests; they prove the order, not any offload.
  - Returns the representors found on the device's switch (by C(phys_port_name)) and fails when switchdev shows
    fewer than one per VF after O(wait_timeout).
  - "Refuses, before anything changes, a mode or VF count change on a device that carries the management
    connection at any layer (see O(management_addresses)): switchdev resets the uplink and the VFs are unbound.
    O(allow_management) overrides. Check mode refuses the same way."
  - Not for a BlueField host in DPU mode, where the Arm side owns the eSwitch (the C(dataplane.node.ovn_dpu)
    role only verifies it there).
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
  - dataplane.node.node.management
options:
  device:
    description: devlink handle of the PF, V(pci/0000:03:00.0), or V(netdevsim/netdevsim10).
    type: str
    required: true
  mode:
    description: Wanted eSwitch mode.
    type: str
    choices: [legacy, switchdev]
    default: switchdev
  numvfs:
    description: VFs the PF must have (created before the mode change); unset keeps the current count.
    type: int
  hw_tc_offload:
    description:
      - Turn C(hw-tc-offload) on for the device's uplink netdevs (with C(ethtool -K)) after switchdev, and read it
        back (the module fails when the driver keeps it off).
      - VF and PF representors are left as their driver sets them.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the VFs and then for their representors.
    type: int
    default: 60
"""

EXAMPLES = r"""
- name: BlueField Arm side, or a ConnectX in full mode - switchdev with 8 VFs
  dataplane.node.devlink_eswitch:
    device: pci/0000:03:00.0
    numvfs: 8
    mode: switchdev

- name: Test device (netdevsim, loaded out of tree on the QEMU testbed)
  dataplane.node.devlink_eswitch:
    device: netdevsim/netdevsim10
    numvfs: 2
"""

RETURN = r"""
device:
  description: The devlink handle.
  type: str
  returned: always
mode:
  description: eSwitch mode after the run (planned in check mode).
  type: str
  returned: always
  sample: switchdev
numvfs:
  description: VF count after the run (planned in check mode).
  type: int
  returned: always
steps:
  description: The steps taken (planned in check mode), in order.
  type: list
  elements: str
  returned: always
  sample: ["/sys/bus/pci/devices/0000:03:00.0/sriov_numvfs = 8", "wait for 8 VFs", "unbind the VFs from their driver",
           "devlink dev eswitch set pci/0000:03:00.0 mode switchdev", "bind the VFs back to their driver"]
representors:
  description: Switchdev ports on the device's switch by phys_port_name (C(uplinks), C(pfs), C(vfs)), as read after
    the run (before it in check mode).
  type: dict
  returned: always
  sample: {"uplinks": ["p0"], "pfs": {"pf0": "pf0hpf"}, "vfs": {"pf0vf0": "pf0vf0", "pf0vf1": "pf0vf1"}}
problems:
  description: On failure, every reason (a refusal before any change starts its message with C(nothing changed)).
  type: list
  elements: str
  returned: failure
  sample: ["pci/0000:00:03.0 supports 0 to 7 VFs, 9 asked"]
failed_step:
  description: On a failed run, the step that failed (a wait or read-back of the end state included).
  type: str
  returned: failure after a change started
  sample: devlink dev eswitch set pci/0000:03:00.0 mode switchdev
undone:
  description: On a failed run, the steps undone, last first (VFs unbound for the mode change are bound back).
  type: list
  elements: str
  returned: failure after a change started
  sample: ["unbind the VFs from their driver"]
management:
  description: What the management guard found (as M(dataplane.node.pci_driver) returns it in RV(management)).
  type: dict
  returned: when the mode or the VF count changes
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._change import Context, apply_plan
from ansible_collections.dataplane.node.plugins.module_utils._devlink import (
    DevlinkDevice, eswitch_steps, mode_check, read_mode, representors_for_return, representors_wait,
    tc_offload_steps)
from ansible_collections.dataplane.node.plugins.module_utils._dpu import DpuError, eswitch_problems, plan_eswitch
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._netstack import (
    MANAGEMENT_ARGS, guard_problems, module_stack, summary)
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse, refuse_test_root_outside_check_mode)


def plan(module, dev, devlink):
    """(before, steps): the eSwitch and VF steps, then hw-tc-offload on the uplinks; refuses bad input first."""
    params = module.params
    total = dev.totalvfs()
    if params['numvfs'] is not None and (params['numvfs'] < 0 or (total is not None and params['numvfs'] > total)):
        raise DpuError(['%s supports 0 to %s VFs, %d asked' % (dev.handle, total, params['numvfs'])])
    problems = eswitch_problems(dev.handle, params['mode'], params['numvfs'], dev.vendor, dev.bus)
    if problems:
        raise DpuError(problems)
    before = {'mode': read_mode(module.run_command, devlink, dev.handle), 'numvfs': dev.numvfs()}
    tagged = plan_eswitch(dev.handle, before['mode'], params['mode'], before['numvfs'], params['numvfs'],
                          vendor=dev.vendor, bus=dev.bus, numvfs_path=dev.numvfs_path)
    return before, eswitch_steps(dev, tagged, devlink, params['wait_timeout'])


def guard(module, root, dev):
    """What carries the management connection; refuses a change of this device's eSwitch under it."""
    stack = module_stack(module, Host(root))
    for warning in stack['warnings']:
        module.warn(warning)
    management = summary(stack)
    # The handle's device: pci/0000:03:00.0 -> 0000:03:00.0, netdevsim/netdevsim10 -> netdevsim10.
    problems = guard_problems(stack, [dev.handle.split('/', 1)[-1]], 'changing its eSwitch to %s (the uplink '
                              'resets, the VFs are unbound)' % module.params['mode'], module.params['allow_management'])
    if problems:
        refuse(module, problems, {'device': dev.handle, 'management': management})
    return management


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='str', required=True),
            mode=dict(type='str', default='switchdev', choices=['legacy', 'switchdev']),
            numvfs=dict(type='int'),
            hw_tc_offload=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=60),
            root=ROOT_ARG,
            **MANAGEMENT_ARGS
        ),
        supports_check_mode=True,
    )
    params = module.params
    root = refuse_test_root_outside_check_mode(module)
    devlink = module.get_bin_path('devlink', required=True)
    try:
        dev = DevlinkDevice(Host(root), params['device'])
        before, steps = plan(module, dev, devlink)
    except (DpuError, HostRootError) as exc:
        refuse(module, getattr(exc, 'problems', [str(exc)]))
    numvfs = before['numvfs'] if params['numvfs'] is None else params['numvfs']
    result = dict(device=dev.handle, mode=params['mode'], numvfs=numvfs,
                  representors=representors_for_return(dev.representors()))
    if steps:
        result['management'] = guard(module, root, dev)
    ethtool = module.get_bin_path('ethtool')
    if params['hw_tc_offload'] and params['mode'] == 'switchdev' and ethtool:
        steps += tc_offload_steps(dev, module.run_command, ethtool)
    checks = [mode_check(dev, devlink, params['mode'])]
    if params['mode'] == 'switchdev' and numvfs:
        checks.append(representors_wait(dev, numvfs, params['wait_timeout']))
    apply_plan(module, steps, Context(root, module.run_command), result, before,
               {'mode': params['mode'], 'numvfs': numvfs}, checks,
               end_state=lambda: {'representors': representors_for_return(dev.representors())})
    module.exit_json(**result)


if __name__ == '__main__':
    main()
