#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovn_dpu_check
short_description: Validate an OVN-Kubernetes node mode (full, dpu, dpu-host) before any change, and report its health
version_added: 0.1.0
description:
  - Read-only. With O(phase=preflight) it refuses, listing every problem, what must not reach the node - an unknown
    mode, Open vSwitch installed and running on a C(dpu-host) (the DPU's eSwitch forwards for it), a DPU without its
    paired host, missing or malformed Open_vSwitch keys the OVN-Kubernetes DPU launcher needs, an C(ovn-encap-ip)
    that is not an address of this node, an C(ovn-remote) that is not an OVN connection string, a management VF
    index beyond the VFs requested, and too old kernel, iproute2 or Open vSwitch.
  - The C(external_ids:hostname) of a C(dpu) or C(full) node must be the system hostname (the OVS start script
    writes it back at every start); unset, the system hostname is used.
  - With O(phase=health) it reads the state back and fails with what differs - C(dpu-host) - VFs gone (as after a
    DPU reset), the management VF missing, the eSwitch in switchdev on the host, the node publishing another
    address than the host's; C(dpu) and C(full) - eSwitch mode by devlink, C(hw-offload) read back from OVS,
    ovn-controller connected to its southbound database, representors per VF named after the host's numbering.
  - Returns the pairing facts of a C(dpu-host) - the management-port VF by PCI address and netdev, and the
    C(k8s.ovn.org/node-mgmt-port) annotation value the DPU uses to find its representor.
  - Targets OVN-Kubernetes 1.1 (flags and annotations moved between releases).
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node.read_only
options:
  mode:
    description: The node's ovnkube-node mode.
    type: str
    required: true
  phase:
    description: V(preflight) (validate inputs and the node) or V(health) (read the result back).
    type: str
    choices: [preflight, health]
    default: preflight
  pf:
    description: PCI address of the BlueField PF on a C(dpu-host).
    type: str
  numvfs:
    description: VFs requested on O(pf) (C(dpu-host)).
    type: int
  mgmt_vf:
    description: Index of the management-port VF (C(dpu-host)).
    type: int
  host_node:
    description: Node name of the C(dpu-host) a DPU serves (C(dpu)).
    type: str
  external_ids:
    description: The Open_vSwitch C(external_ids) the node will carry (C(dpu), C(full)).
    type: dict
    default: {}
  eswitch_device:
    description: devlink handle whose eSwitch must be in switchdev (C(dpu); C(full) with offload).
    type: str
  expected_representors:
    description: VF representors expected on O(eswitch_device) (named C(pf0vfN)).
    type: int
  published_address:
    description: The address the Kubernetes node publishes (health of a C(dpu-host)).
    type: str
  host_cluster_api:
    description: The host cluster's API endpoint a DPU watches (V(https://HOST:PORT)); checked for C(dpu).
    type: str
"""

EXAMPLES = r"""
- name: Refuse bad settings on a dpu-host before anything changes
  dataplane.node.ovn_dpu_check:
    mode: dpu-host
    pf: "0000:03:00.0"
    numvfs: 8
    mgmt_vf: 0

- name: DPU health
  dataplane.node.ovn_dpu_check:
    mode: dpu
    phase: health
    host_node: worker1
    eswitch_device: pci/0000:03:00.0
    expected_representors: 8
"""

RETURN = r"""
ovs:
  description: Open vSwitch on the node (C(installed), C(running), C(pid), C(version)).
  type: dict
  returned: always
versions:
  description: Versions found (C(kernel), C(iproute2), C(ovs)) as text.
  type: dict
  returned: always
eswitch_owner:
  description: On a C(dpu-host), who owns the PF's eSwitch (V(dpu), V(host-legacy), V(host-switchdev)).
  type: str
  returned: when O(pf) is set
mgmt_port:
  description: The management-port VF (C(pf), C(vf_index), C(address), C(netdevs), C(annotation)).
  type: dict
  returned: when O(mode=dpu-host) and the VF exists
hostname:
  description: The system hostname (C(external_ids:hostname) of a C(dpu) or C(full) node when not given).
  type: str
  returned: always
problems:
  description: Every problem found (the task fails when there is one).
  type: list
  elements: str
  returned: always
health:
  description: What was checked in the health phase, by name, with the value read.
  type: dict
  returned: always
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._devlink import DevlinkDevice
from ansible_collections.dataplane.node.plugins.module_utils._dpu import (
    MODES, DpuError, addresses_of, dpu_host_health, eswitch_owner, iproute2_version, mgmt_port_annotation,
    parse_devlink_eswitch, parse_ovs_list_json, representor_problems, validate_settings, version_problems,
    version_tuple)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._module import ROOT_ARG, refuse
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, normalize_pci_address


def ovs_state(host):
    """Installed (binaries) and running (pidfile naming a live ovs-vswitchd), read from the host tree."""
    fs = host.fs
    installed = any(fs.exists(p) for p in ('usr/sbin/ovs-vswitchd', 'usr/bin/ovs-vsctl'))
    pid = fs.read_value('run/openvswitch/ovs-vswitchd.pid')
    running = bool(pid and pid.isdigit() and fs.read_value('proc/%s/comm' % pid) == 'ovs-vswitchd')
    return {'installed': installed, 'running': running, 'pid': int(pid) if running else None}


def command_out(module, argv):
    path = module.get_bin_path(argv[0])
    if path is None:
        return None, ''
    rc, out, err = module.run_command([path] + argv[1:])
    return rc, out if rc == 0 else (err or out)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', required=True),
            phase=dict(type='str', default='preflight', choices=['preflight', 'health']),
            pf=dict(type='str'),
            numvfs=dict(type='int'),
            mgmt_vf=dict(type='int'),
            host_node=dict(type='str'),
            external_ids=dict(type='dict', default={}),
            eswitch_device=dict(type='str'),
            expected_representors=dict(type='int'),
            published_address=dict(type='str'),
            host_cluster_api=dict(type='str'),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    p = module.params
    mode = p['mode']
    result = dict(changed=False, ovs={}, versions={}, problems=[], health={})
    if mode not in MODES:
        refuse(module, ['mode %r is not one of %s' % (mode, ', '.join(MODES))], result)
    try:
        host = Host(p['root'])
    except HostRootError as exc:
        module.fail_json(msg=str(exc), **result)
    problems = []

    rc, out = command_out(module, ['ip', '-j', 'addr', 'show'])
    local = addresses_of(json.loads(out)) if rc == 0 else None
    ids = dict(p['external_ids'] or {})
    if mode == 'dpu' and p['host_node']:
        ids.setdefault('host-k8s-nodename', p['host_node'])
        if ids['host-k8s-nodename'] != p['host_node']:
            problems.append('external_ids host-k8s-nodename %r differs from host_node %r' % (
                ids['host-k8s-nodename'], p['host_node']))
    system_hostname = host.fs.read_value('proc/sys/kernel/hostname')
    if mode in ('dpu', 'full') and system_hostname:
        if not ids.get('hostname'):
            ids['hostname'] = system_hostname
        elif ids['hostname'] != system_hostname:
            problems.append('external_ids:hostname %r differs from the system hostname %r: the OVS start script '
                            'writes the system hostname back at every start; rename the system instead' % (
                                ids['hostname'], system_hostname))
    result['hostname'] = system_hostname
    settings = {'host_node': p['host_node'], 'external_ids': ids, 'mgmt_vf': p['mgmt_vf']}
    if mode == 'dpu' and p['phase'] == 'preflight':
        settings['host_cluster_api'] = p['host_cluster_api']
    problems.extend(validate_settings(mode, settings, local, p['numvfs']))

    ovs = ovs_state(host)
    result['ovs'] = ovs
    kernel = host.fs.read_value('proc/sys/kernel/osrelease')
    _rc, ip_v = command_out(module, ['ip', '-V'])
    versions = {'kernel': version_tuple(kernel), 'iproute2': iproute2_version(ip_v)}
    result['versions'] = {'kernel': kernel, 'iproute2': (ip_v or '').strip() or None}
    if mode in ('dpu', 'full') and (ovs['installed'] or p['phase'] == 'health'):
        _rc, ovs_v = command_out(module, ['ovs-vswitchd', '--version'])
        versions['ovs'] = version_tuple(ovs_v)
        result['versions']['ovs'] = (ovs_v or '').splitlines()[0] if ovs_v else None
        ovs['version'] = result['versions']['ovs']
    problems.extend(version_problems(versions))

    if mode == 'dpu-host':
        if ovs['running']:
            problems.append('Open vSwitch is installed and running (ovs-vswitchd pid %d): a dpu-host has no OVS, the '
                            'DPU\'s eSwitch forwards its traffic and a host OVS would take the VFs\' traffic; stop '
                            'and remove openvswitch-switch first' % ovs['pid'])
        if not p['pf']:
            problems.append('a dpu-host needs the PCI address of the BlueField PF (pf)')
    pf = None
    if p['pf']:
        try:
            address = normalize_pci_address(p['pf'])
            pf = host.pci()['devices'].get(address)
            if pf is None or pf['sriov'] is None:
                problems.append('%s is no SR-IOV PF on this node' % address)
                pf = None
        except ParseError as exc:
            problems.append(str(exc))
    if pf is not None:
        if pf['sriov']['totalvfs'] is not None and p['numvfs'] is not None and p['numvfs'] > pf['sriov']['totalvfs']:
            problems.append('%s supports %d VFs, %d asked' % (pf['address'], pf['sriov']['totalvfs'], p['numvfs']))
        rc, out = command_out(module, ['devlink', '-j', 'dev', 'eswitch', 'show', 'pci/' + pf['address']])
        result['eswitch_owner'] = eswitch_owner(rc if rc is not None else 1, out, 'pci/' + pf['address'])
        if mode == 'dpu-host' and result['eswitch_owner'] == 'host-switchdev':
            problems.append('the eSwitch of %s is in switchdev on this host: in dpu-host mode the DPU owns it (is the '
                            'BlueField in NIC mode?); this role does not change it' % pf['address'])
        vf = [v for v in pf['sriov']['vfs'] if v['index'] == p['mgmt_vf']]
        if mode == 'dpu-host' and vf:
            result['mgmt_port'] = {'pf': pf['address'], 'vf_index': p['mgmt_vf'], 'address': vf[0]['address'],
                                   'netdevs': vf[0]['netdevs'],
                                   'annotation': mgmt_port_annotation(pf['address'], p['mgmt_vf'])}

    if p['phase'] == 'health' and not problems:
        health = result['health']
        if mode == 'dpu-host' and pf is not None:
            problems.extend(dpu_host_health(pf, p['numvfs'], p['mgmt_vf'], result.get('eswitch_owner'),
                                            set(local or {}), p['published_address']))
            health['vfs'] = len(pf['sriov']['vfs'])
        if mode in ('dpu', 'full'):
            if not ovs['running']:
                problems.append('ovs-vswitchd is not running')
            rc, out = command_out(module, ['ovs-vsctl', '--timeout=10', '--format=json',
                                           '--columns=other_config,external_ids', 'list', 'Open_vSwitch'])
            table = {}
            if rc == 0:
                try:
                    table = parse_ovs_list_json(out)
                except DpuError as exc:
                    problems.extend(exc.problems)
            else:
                problems.append('ovs-vsctl cannot read the Open_vSwitch table: %s' % (out or 'not installed').strip())
            health['hw-offload'] = (table.get('other_config') or {}).get('hw-offload')
            health['external_ids'] = table.get('external_ids') or {}
            for key, value in sorted(ids.items()):
                if value is not None and health['external_ids'].get(key) != str(value):
                    problems.append('external_ids:%s reads %r, %r expected' % (
                        key, health['external_ids'].get(key), str(value)))
            rc, out = command_out(module, ['ovn-appctl', '-t', 'ovn-controller', 'connection-status'])
            health['ovn-controller'] = (out or '').strip() or None
            if rc != 0 or health['ovn-controller'] != 'connected':
                problems.append('ovn-controller is not connected to its southbound database (%s)' % (
                    health['ovn-controller'] or 'not running'))
        if p['eswitch_device']:
            try:
                dev = DevlinkDevice(host, p['eswitch_device'])
            except DpuError as exc:
                problems.extend(exc.problems)
                dev = None
            if dev is not None:
                rc, out = command_out(module, ['devlink', '-j', 'dev', 'eswitch', 'show', dev.handle])
                health['eswitch_mode'] = parse_devlink_eswitch(out).get(dev.handle, {}).get('mode') if rc == 0 else None
                if mode == 'dpu' or p['expected_representors']:
                    if health['eswitch_mode'] != 'switchdev':
                        problems.append('the eSwitch of %s is %s, switchdev expected' % (
                            dev.handle, health['eswitch_mode'] or 'unreadable (%s)' % (out or '').strip()))
                    if mode == 'dpu' and health['hw-offload'] != 'true':
                        problems.append('other_config:hw-offload reads %r, "true" expected' % health['hw-offload'])
                reps = dev.representors()
                health['representors'] = sorted(reps['vfs'].values())
                if p['expected_representors'] is not None:
                    problems.extend(representor_problems(reps, 0, p['expected_representors']))
    result['problems'] = problems
    if problems and p['phase'] == 'preflight':
        refuse(module, problems, result)
    if problems:
        module.fail_json(msg='; '.join(problems), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
