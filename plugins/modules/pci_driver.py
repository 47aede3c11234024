#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pci_driver
short_description: Bind PCI devices to a driver (vfio-pci for DPDK) or back to their default driver, safely
version_added: 0.1.0
description:
  - Binds each selected device with C(driver_override), unbind and C(drivers_probe) (never C(new_id), which takes
    every device of that model), loads the driver's kernel module when needed, and reads the binding back.
  - "Refuses, before touching anything, unless explicitly allowed: a device that carries the management connection
    at any layer (its own netdev, a bond, VLAN, bridge or OVS bridge above it, or, for a PF, one of its VFs: see
    O(management_addresses)); vfio-pci while the IOMMU is off (no-IOMMU mode taints the kernel); an IOMMU group
    with other devices still on host drivers; Mellanox/NVIDIA mlx5 devices (bifurcated: DPDK uses mlx5_core)."
  - Bindings do not survive a reboot by themselves; the C(dataplane.node.sriov) role re-applies them at boot.
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
  - dataplane.node.node.management
options:
  devices:
    description: PCI addresses to bind.
    type: list
    elements: str
    default: []
  vendor_device:
    description: Select every device with this C(vendor:device) id (V(8086:10ca)).
    type: str
  vfs_of:
    description: Select the VFs of this PF (PCI address).
    type: str
  vf_indexes:
    description: With O(vfs_of), only these VF indexes.
    type: list
    elements: int
  vfs_planned:
    description:
      - With O(vfs_of), the number of VFs the PF has once the C(dataplane.node.sriov_vfs) step before this one ran.
      - "In check mode, when the PF has a different number of VFs now (none yet on a fresh node), that step creates
        or re-creates them all: the selected VFs are predicted from the PF's C(sriov_offset) and C(sriov_stride) in
        sysfs and reported as bindings to make (see RV(predicted)), so a dry run on a fresh node shows what a real run
        does. The guards that need the VF itself (its IOMMU group) run in the real run."
      - Outside check mode the PF must have exactly this many VFs.
    type: int
  iommu_group:
    description: Select every device of this IOMMU group.
    type: str
  expect:
    description: Fail unless exactly this many devices are selected (guards against selectors matching too much).
    type: int
  driver:
    description: Driver to bind to; an empty string returns the devices to their default driver.
    type: str
    required: true
  bindings:
    description:
      - Several selections bound in one call, each a dict of the selectors above (O(devices), O(vendor_device),
        O(vfs_of), O(vf_indexes), O(vfs_planned), O(iommu_group), O(expect)); instead of the top-level selectors.
      - Every selection is resolved and checked first (a selection matching nothing or not O(expect) devices is an
        error naming it); the guards then run over all the selected devices together, so nothing is written unless
        every binding is allowed. RV(bindings) reports the devices of each selection.
      - An empty list binds nothing.
    type: list
    elements: dict
    suboptions:
      devices:
        description: PCI addresses to bind.
        type: list
        elements: str
        default: []
      vendor_device:
        description: Select every device with this C(vendor:device) id.
        type: str
      vfs_of:
        description: Select the VFs of this PF (PCI address).
        type: str
      vf_indexes:
        description: With O(bindings[].vfs_of), only these VF indexes.
        type: list
        elements: int
      vfs_planned:
        description: With O(bindings[].vfs_of), the number of VFs the PF has once the VFs step ran (see O(vfs_planned)).
        type: int
      iommu_group:
        description: Select every device of this IOMMU group.
        type: str
      expect:
        description: Fail unless exactly this many devices are selected by this selection.
        type: int
  include_group:
    description: Bind the other devices of the IOMMU group too, instead of refusing.
    type: bool
    default: false
  allow_noiommu:
    description: Allow vfio-pci without an IOMMU by enabling vfio's unsafe no-IOMMU mode (taints the kernel).
    type: bool
    default: false
  allow_unsafe_interrupts:
    description:
      - "On a host without interrupt remapping (no C(IR-) interrupt chip in C(/proc/interrupts): C(intremap=off),
        firmware without it, or a virtual IOMMU without it), the kernel's type1 IOMMU driver refuses every device
        bound to vfio-pci unless its C(allow_unsafe_interrupts) parameter is set: DPDK then fails with C(failed to
        select IOMMU type) although the bind worked."
      - When true and the host needs it, sets C(/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts)
        (read back) and writes C(/etc/modprobe.d/dataplane-node-vfio.conf) so every later load (at boot) has it.
        It gives up the isolation of device MSIs from the host.
      - When false and the host needs it, the module warns (the bind is done; the devices are not usable by DPDK).
    type: bool
    default: false
  allow_bifurcated:
    description: Bind mlx5 devices to vfio-pci anyway.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: VFs 0 and 1 of the igb PF to vfio-pci
  dataplane.node.pci_driver:
    vfs_of: "0000:00:03.0"
    vf_indexes: [0, 1]
    driver: vfio-pci
    management_addresses: "{{ ansible_host | dataplane.node.management_addresses }}"

- name: VFs of two PFs and a whole NIC to vfio-pci in one call (nothing written unless all are allowed)
  dataplane.node.pci_driver:
    bindings:
      - {vfs_of: "0000:3b:00.0", vf_indexes: [0, 1], expect: 2}
      - {vfs_of: "0000:3b:00.1", vf_indexes: [0], expect: 1}
      - {devices: ["0000:5e:00.0"], expect: 1}
    driver: vfio-pci
    management_addresses: "{{ ansible_host | dataplane.node.management_addresses }}"

- name: The spare NIC back to its kernel driver
  dataplane.node.pci_driver:
    devices: ["0000:00:04.0"]
    driver: ""
"""

RETURN = r"""
devices:
  description: Per selected device, the driver before and after (planned in check mode).
  type: dict
  returned: always
  sample: {"0000:00:13.0": {"before": "igbvf", "after": "vfio-pci"}}
writes:
  description: sysfs writes made (planned in check mode), in order.
  type: list
  elements: str
  returned: always
predicted:
  description: VFs that do not exist yet (check mode with O(vfs_planned)), with the addresses they will have.
  type: list
  elements: str
  returned: always
  sample: ["0000:00:13.0", "0000:00:13.2"]
bindings:
  description: Per selection (in the order given; one entry without O(bindings)), its devices as in RV(devices) and
    the VFs predicted for it.
  type: list
  elements: dict
  returned: always
  sample: [{"selection": "0000:00:03.0", "predicted": [], "devices": {"0000:00:13.0": {"before": "igbvf",
            "after": "vfio-pci"}}}]
failed_step:
  description: On a failed run, what failed (a write, a modprobe, or the read-back of the bindings).
  type: str
  returned: failure after a change started
  sample: the devices read back on vfio-pci
undone:
  description: On a failed run, what was undone, last first (the modprobe.d file put back as it was).
  type: list
  elements: str
  returned: failure after a change started
  sample: []
noiommu:
  description: True when vfio's unsafe no-IOMMU mode was enabled (the kernel is tainted).
  type: bool
  returned: always
unsafe_interrupts:
  description:
    - For vfio-pci - C(needed) (the host has no interrupt remapping), C(runtime) (the module parameter was or would
      be set now), C(conf) (the modprobe.d file was or would be written), C(warning) (why the devices are not usable
      by DPDK when O(allow_unsafe_interrupts) is off, else null).
  type: dict
  returned: always
  sample: {"needed": true, "runtime": false, "conf": false, "warning": null}
management:
  description:
    - What the management guard found - C(identified) (false when nothing identifies the management connection,
      with a warning), C(sources) (each address or netdev, where it came from, the netdevs holding it),
      C(devices) (device -> the paths that carry the management connection over it), C(unmatched) (addresses no
      netdev holds) and C(warnings).
  type: dict
  returned: when devices were selected
  sample: {"identified": true, "devices": {"0000:3b:00.0": ["0000:3b:00.0 (ens1f0) -> bond0 -> bond0.120
           (10.1.2.3, this SSH session)"]}, "sources": [], "unmatched": [], "warnings": []}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._change import (
    Command, Context, FileWrite, SysfsWrite, apply_plan)
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._host import VFIO_UNSAFE_INTERRUPTS, Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._netstack import MANAGEMENT_ARGS, module_stack, summary
from ansible_collections.dataplane.node.plugins.module_utils._pci import (
    PCI_DIR, UNSAFE_INTERRUPTS_CONF, UNSAFE_INTERRUPTS_TEXT, PciError, bind_steps, binding_problems, bound_check,
    plan_bind, plan_bind_new_vf,
    predict_vfs, predicted_binding_problems, select_devices, select_pf, unsafe_interrupts_plan)

NOIOMMU = 'sys/module/vfio/parameters/enable_unsafe_noiommu_mode'


SELECTORS = ('devices', 'vendor_device', 'vfs_of', 'vf_indexes', 'vfs_planned', 'iommu_group', 'expect')


def selection_label(sel):
    return sel.get('vfs_of') or sel.get('vendor_device') or sel.get('iommu_group') or ','.join(sel.get('devices') or [])


def resolve_selection(host, sel, check_mode):
    """One selection -> (selected addresses, VFs predicted in check mode, their PF); PciError with the problems."""
    predicted = {}
    pf = None
    vfs_of = sel.get('vfs_of')
    if sel.get('vf_indexes') is not None and not vfs_of:
        raise PciError(['vf_indexes needs vfs_of'])
    if sel.get('vfs_planned') is not None and not vfs_of:
        raise PciError(['vfs_planned needs vfs_of'])
    if vfs_of and sel.get('vfs_planned') is not None:
        pf = select_pf(host.pci(), address=vfs_of)
        current = pf['sriov']['numvfs'] or 0
        if current != sel['vfs_planned']:
            if not check_mode:
                raise PciError(['%s has %d VFs, %d planned (did the sriov_vfs step run?)' % (
                    pf['address'], current, sel['vfs_planned'])])
            # The sriov_vfs step creates (or re-creates) every VF: predict the selected ones.
            predicted = predict_vfs(host, pf, sel['vfs_planned'], sel.get('vf_indexes'))
            vfs_of = None
    selected = select_devices(host.pci(), host.iommu(), sel.get('devices') or [], sel.get('vendor_device'), vfs_of,
                              sel.get('vf_indexes'), sel.get('iommu_group'))
    new_vfs = [a for _i, a in sorted(predicted.items())]
    selected = [a for a in selected if a not in new_vfs]
    if not selected and not new_vfs:
        raise PciError(['the selectors match no device'])
    if sel.get('expect') is not None and len(selected) + len(new_vfs) != sel['expect']:
        raise PciError(['%d device(s) selected (%s), %d expected' % (
            len(selected) + len(new_vfs), ', '.join(selected + new_vfs), sel['expect'])])
    return selected, new_vfs, pf


def plan_steps(host, driver, writes, unsafe, noiommu):
    """The change as engine steps: the driver's module loaded when missing, the unsafe-interrupts parameter (the
    modprobe.d file for later loads, then the live value, read back), no-IOMMU mode, then the binding writes."""
    if not (writes or unsafe['runtime'] or unsafe['conf']):
        return []
    steps = []
    if driver and not host.fs.exists('sys/bus/pci/drivers/' + driver):
        steps.append(Command(['modprobe', driver], listed=False))
    if unsafe['runtime'] and not host.fs.exists(VFIO_UNSAFE_INTERRUPTS):
        steps.append(Command(['modprobe', 'vfio_iommu_type1'], listed=False))
    if unsafe['conf']:
        steps.append(FileWrite(UNSAFE_INTERRUPTS_CONF, UNSAFE_INTERRUPTS_TEXT, description='/%s (options '
                               'vfio_iommu_type1 allow_unsafe_interrupts=1)' % UNSAFE_INTERRUPTS_CONF))
    if unsafe['runtime']:
        steps.append(SysfsWrite(VFIO_UNSAFE_INTERRUPTS, 'Y', expect='Y'))
    if noiommu and writes:
        steps.append(SysfsWrite(NOIOMMU, 'Y', expect='Y', listed=False))
    return steps + bind_steps(writes)


SELECTION_SPEC = dict(
    devices=dict(type='list', elements='str', default=[]),
    vendor_device=dict(type='str'),
    vfs_of=dict(type='str'),
    vf_indexes=dict(type='list', elements='int'),
    vfs_planned=dict(type='int'),
    iommu_group=dict(type='str'),
    expect=dict(type='int'),
)


def resolve_all(module, host, selections, several):
    """Every selection resolved, or the module fails naming each one that is wrong (nothing changed)."""
    resolved, problems = [], []
    for index, sel in enumerate(selections):
        try:
            resolved.append(resolve_selection(host, sel, module.check_mode))
        except PciError as exc:
            where = 'binding %d (%s): ' % (index + 1, selection_label(sel)) if several else ''
            problems.extend(where + problem for problem in exc.problems)
    if problems:
        module.fail_json(msg='nothing changed: %s' % '; '.join(problems), problems=problems)
    return resolved


def guard(module, host, resolved, driver):
    """(the devices to move, the management summary): the guards over every device of the call at once (a group
    moved whole by two selections is whole), against the management stack (SSH session, addresses, interfaces,
    default routes, down every layer to the devices); the module fails before any change when one refuses."""
    p = module.params
    selected = []
    for sel_selected, _new, _pf in resolved:
        selected.extend(a for a in sel_selected if a not in selected)
    stack = module_stack(module, host)
    for warning in stack['warnings']:
        module.warn(warning)
    problems, targets = binding_problems(host, selected, driver, (), p['allow_management'], p['include_group'],
                                         p['allow_noiommu'], p['allow_bifurcated'], stack=stack) if selected else ([], [])
    for _selected, sel_new, pf in resolved:
        if sel_new:
            problems.extend(predicted_binding_problems(pf, sel_new, driver, host.iommu(), p['allow_noiommu'],
                                                       p['allow_bifurcated']))
    if problems:
        module.fail_json(msg='nothing changed: %s' % '; '.join(problems), problems=problems, selected=targets,
                         management=summary(stack))
    return targets, summary(stack)


def plan_writes(host, targets, resolved, driver):
    """(driver before per device, the binding writes, the VFs still to be created) for the guarded devices."""
    before = dict((a, host.fs.link_name('%s/%s/driver' % (PCI_DIR, a))) for a in targets)
    writes, new_vfs = [], []
    for address in targets:
        writes.extend(plan_bind(host, address, driver))
    for _selected, sel_new, pf in resolved:
        for address in sel_new:
            if address not in new_vfs:
                new_vfs.append(address)
                before[address] = '(not created yet)'
                writes.extend(plan_bind_new_vf(pf, address, driver))
    return before, writes, new_vfs


def main():
    module = AnsibleModule(
        argument_spec=dict(
            SELECTION_SPEC,
            bindings=dict(type='list', elements='dict', options=SELECTION_SPEC),
            driver=dict(type='str', required=True),
            include_group=dict(type='bool', default=False),
            allow_noiommu=dict(type='bool', default=False),
            allow_bifurcated=dict(type='bool', default=False),
            allow_unsafe_interrupts=dict(type='bool', default=False),
            root=ROOT_ARG,
            **MANAGEMENT_ARGS
        ),
        required_by={'vf_indexes': 'vfs_of', 'vfs_planned': 'vfs_of'},
        mutually_exclusive=[('bindings', 'devices'), ('bindings', 'vendor_device'), ('bindings', 'vfs_of'),
                            ('bindings', 'iommu_group'), ('bindings', 'expect')],
        supports_check_mode=True,
    )
    p = module.params
    root = refuse_test_root_outside_check_mode(module)
    driver = p['driver'].strip()
    several = p['bindings'] is not None
    selections = p['bindings'] if several else [dict((k, p[k]) for k in SELECTORS)]
    if several and not selections:
        module.exit_json(changed=False, devices={}, bindings=[], predicted=[], writes=[], noiommu=False,
                         unsafe_interrupts=unsafe_interrupts_plan({}, driver, False, None))
    try:
        host = Host(root)
    except HostRootError as exc:
        module.fail_json(msg='nothing changed: %s' % exc, problems=[str(exc)])
    resolved = resolve_all(module, host, selections, several)
    targets, management = guard(module, host, resolved, driver)
    before, writes, new_vfs = plan_writes(host, targets, resolved, driver)
    targets = targets + new_vfs
    unsafe = unsafe_interrupts_plan(host.iommu(), driver, p['allow_unsafe_interrupts'],
                                    host.fs.read(UNSAFE_INTERRUPTS_CONF)) if targets else unsafe_interrupts_plan(
                                        {}, driver, False, None)
    if unsafe['warning']:
        module.warn(unsafe['warning'])
    # Without writes every device stays where it is (a VF still to be created is bound when it appears).
    devices = dict((a, {'before': before[a],
                        'after': (driver or '(default)') if writes or a in new_vfs else before[a]}) for a in targets)

    def end_state():
        for address in targets:
            devices[address]['after'] = Host(root).fs.link_name('%s/%s/driver' % (PCI_DIR, address))
        return {'devices': devices}

    noiommu = driver == 'vfio-pci' and not host.iommu()['enabled']
    steps = plan_steps(host, driver, writes, unsafe, noiommu)
    checks = [bound_check(lambda a: Host(root).fs.link_name('%s/%s/driver' % (PCI_DIR, a)), targets, driver)] \
        if steps else []
    result = dict(devices=devices, predicted=new_vfs, noiommu=noiommu and bool(writes), unsafe_interrupts=unsafe,
                  management=management)
    apply_plan(module, steps, Context(root, module.run_command), result, before,
               dict((a, devices[a]['after']) for a in targets), checks, end_state, listed_as='writes')
    result['bindings'] = [{'selection': selection_label(sel), 'predicted': sel_new,
                           'devices': dict((a, devices[a]) for a in sel_selected + sel_new if a in devices)}
                          for sel, (sel_selected, sel_new, _pf) in zip(selections, resolved)]
    if module._diff and unsafe['conf']:
        result['diff'] = [result['diff'], {'before_header': '/' + UNSAFE_INTERRUPTS_CONF,
                                           'after_header': '/' + UNSAFE_INTERRUPTS_CONF,
                                           'before': host.fs.read(UNSAFE_INTERRUPTS_CONF) or '',
                                           'after': UNSAFE_INTERRUPTS_TEXT}]
    if steps and not module.check_mode:
        if unsafe['runtime']:
            module.warn('vfio_iommu_type1 allow_unsafe_interrupts set: this host has no interrupt remapping, so '
                        'device MSIs are not isolated from the host')
        if result['noiommu']:
            module.warn('vfio unsafe no-IOMMU mode enabled: the kernel is tainted and devices can DMA anywhere')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
