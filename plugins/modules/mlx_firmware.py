#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mlx_firmware
short_description: Query and (only where it differs) set the SR-IOV and DPU/NIC mode firmware settings of a BlueField
version_added: 0.1.0
description:
  - Queries the non-volatile firmware configuration with C(mstconfig) (Debian's C(mstflint)) or NVIDIA's
    C(mlxconfig) (C(-e -d DEVICE q)), compares C(SRIOV_EN), C(NUM_OF_VFS) and the DPU-vs-NIC mode parameters
    with what is asked, and sets only the parameters whose next-boot value differs.
  - DPU/NIC mode is C(INTERNAL_CPU_OFFLOAD_ENGINE) on BlueField-3 (0 = DPU mode, 1 = NIC mode), and on
    BlueField-2 C(INTERNAL_CPU_MODEL) = C(EMBEDDED_CPU(1)) with the owner flags C(INTERNAL_CPU_PAGE_SUPPLIER),
    C(INTERNAL_CPU_ESWITCH_MANAGER), C(INTERNAL_CPU_IB_VPORT0) and C(INTERNAL_CPU_OFFLOAD_ENGINE) all 0 (DPU) or
    all 1 (NIC).
  - A change takes effect after a firmware reset or a power cycle of the server; a warm reboot may not apply it.
    The module returns RV(power_cycle_required) and the reason; the C(dataplane.node.ovn_dpu) role adds it
    to the run's one reboot. A change is refused unless O(allow_power_cycle) is set.
  - When neither tool is installed nothing is queried and RV(tool) is null.
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
options:
  device:
    description: PCI address of the BlueField/ConnectX PF (V(0000:03:00.0)), as mstconfig takes it with C(-d).
    type: str
    required: true
  sriov_en:
    description: SR-IOV enabled in firmware (C(SRIOV_EN)).
    type: bool
  num_of_vfs:
    description: VFs the firmware exposes (C(NUM_OF_VFS)).
    type: int
  dpu_mode:
    description: V(dpu) (the Arm cores own the eSwitch) or V(nic) (a plain ConnectX).
    type: str
    choices: [dpu, nic]
  allow_power_cycle:
    description: Allow a firmware change that needs a power cycle; without it, a needed change fails the task.
    type: bool
    default: false
  tool:
    description: Path of mstconfig or mlxconfig; unset looks for C(mstconfig), then C(mlxconfig).
    type: path
"""

EXAMPLES = r"""
- name: SR-IOV with 16 VFs, BlueField in DPU mode
  dataplane.node.mlx_firmware:
    device: "0000:03:00.0"
    sriov_en: true
    num_of_vfs: 16
    dpu_mode: dpu
    allow_power_cycle: true
  register: fw
"""

RETURN = r"""
tool:
  description: The query tool used, null when none is installed.
  type: str
  returned: always
device_type:
  description: Device type from the query (V(BlueField2), V(BlueField3), V(ConnectX6DX)...).
  type: str
  returned: when queried
settings:
  description: The asked parameters' next-boot (and, with C(-e), current) values, as numbers.
  type: dict
  returned: when queried
  sample: {"NUM_OF_VFS": {"next": 8, "current": 8}}
set:
  description: The C(NAME=VALUE) arguments set (planned in check mode).
  type: list
  elements: str
  returned: always
power_cycle_required:
  description: A firmware setting waits for a power cycle (set now or pending from before).
  type: bool
  returned: always
reason:
  description: Why a power cycle is needed, for the run's reboot reasons.
  type: str
  returned: always
problems:
  description: Why the module refused (its message starts with C(nothing changed:)).
  type: list
  elements: str
  returned: when refused
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._dpu import (
    DpuError, fw_wanted, parse_mstconfig_query, plan_firmware)
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, normalize_pci_address


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type='str', required=True),
            sriov_en=dict(type='bool'),
            num_of_vfs=dict(type='int'),
            dpu_mode=dict(type='str', choices=['dpu', 'nic']),
            allow_power_cycle=dict(type='bool', default=False),
            tool=dict(type='path'),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    params = module.params
    refuse_test_root_outside_check_mode(module)
    try:
        device = normalize_pci_address(params['device'])
    except ParseError as exc:
        refuse(module, [str(exc)])
    if params['num_of_vfs'] is not None and params['num_of_vfs'] < 0:
        refuse(module, ['num_of_vfs must be 0 or more'])
    tool = params['tool'] or module.get_bin_path('mstconfig') or module.get_bin_path('mlxconfig')
    result = dict(changed=False, tool=tool, set=[], power_cycle_required=False, reason='')
    if tool is None:
        module.exit_json(**result)
    rc, out, err = module.run_command([tool, '-e', '-d', device, 'q'])
    if rc != 0:  # older mstconfig lacks -e: the plain query has next-boot values only
        rc, out, err = module.run_command([tool, '-d', device, 'q'])
    if rc != 0:
        refuse(module, ['%s -d %s q failed: %s' % (tool, device, (err or out).strip())], result)
    try:
        query = parse_mstconfig_query(out)
        wanted = fw_wanted(query['device_type'], params['sriov_en'], params['num_of_vfs'], params['dpu_mode'])
        sets, pending = plan_firmware(query, wanted)
    except DpuError as exc:
        refuse(module, exc.problems, result)
    result['device_type'] = query['device_type']
    result['settings'] = dict((k, dict((c, v[1]) for c, v in query['params'][k].items())) for k in wanted)
    result['set'] = sets
    if sets and not params['allow_power_cycle']:
        refuse(module, ['the firmware of %s needs %s, which takes a power cycle; set allow_power_cycle to change it'
                        % (device, ' '.join(sets))], result)
    if sets or pending:
        result['power_cycle_required'] = True
        result['reason'] = ('firmware of %s (%s): %s; needs a power cycle or firmware reset (mlxfwreset), '
                            'a warm reboot may not apply it' % (
                                device, query['device_type'] or 'unknown type',
                                ' '.join(sets) if sets else 'pending ' + ' '.join(pending)))
    result['changed'] = bool(sets)
    if module._diff:
        result['diff'] = {'before': dict((k, v['next']) for k, v in result['settings'].items()),
                          'after': wanted}
    if module.check_mode or not sets:
        module.exit_json(**result)
    rc, out, err = module.run_command([tool, '-y', '-d', device, 'set'] + sets)
    if rc != 0:
        module.fail_json(msg='%s set %s failed: %s' % (tool, ' '.join(sets), (err or out).strip()), **result)
    rc, out, err = module.run_command([tool, '-d', device, 'q'])
    left, _pending = plan_firmware(parse_mstconfig_query(out), wanted) if rc == 0 else (sets, [])
    if left:
        module.fail_json(msg='the firmware reads back without %s' % ' '.join(left), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
