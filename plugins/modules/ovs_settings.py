#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ovs_settings
short_description: Open vSwitch settings for OVN and hardware offload, read back, with the system-id kept in both places
version_added: 0.1.0
description:
  - Sets keys of the Open_vSwitch table's C(other_config) (C(hw-offload)) and C(external_ids) (the OVN chassis
    settings C(ovn-remote), C(ovn-encap-type), C(ovn-encap-ip), C(system-id), and the DPU keys the OVN-Kubernetes
    launcher reads) in one C(ovs-vsctl) transaction, only the keys that differ, and reads them back.
  - O(system_id) is written to C(external_ids:system-id) and to C(/etc/openvswitch/system-id.conf), because the
    Debian and RHEL start scripts copy that file into OVSDB at every start.
  - C(other_config:hw-offload) is read only when ovs-vswitchd starts; when it changes, ovs-vswitchd is restarted
    (O(restart_command)) and the value read back. The start script (C(ovs-ctl)) writes C(external_ids:hostname)
    (the system hostname) and C(system-id) back at every start; keys it rewrote are set again and returned in
    RV(rewritten_at_restart); a C(hostname) other than the system's does not survive the next restart.
  - Optionally makes a bridge holding the given ports and internal ports, with a fail mode.
  - "Refuses to restart ovs-vswitchd, before anything changes, when the management connection runs through Open
    vSwitch (an OVS bridge such as C(br-ex) holds the management address, or a NIC under it is an OVS port: see
    O(management_addresses)), and to add to O(bridge) a port that carries the management connection at any layer
    (a NIC made an OVS port no longer carries its addresses); O(allow_management) overrides. Check mode refuses the
    same way."
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
  - dataplane.node.node.management
options:
  other_config:
    description: Keys of C(other_config) (values as strings or booleans); a null value removes the key.
    type: dict
    default: {}
  external_ids:
    description: Keys of C(external_ids); a null value removes the key.
    type: dict
    default: {}
  system_id:
    description: The chassis name (C(external_ids:system-id) and C(/etc/openvswitch/system-id.conf)).
    type: str
  bridge:
    description: A bridge to make, with O(ports) and O(internal_ports) in it and O(fail_mode).
    type: str
  ports:
    description: Ports (existing netdevs) that must be in O(bridge).
    type: list
    elements: str
    default: []
  internal_ports:
    description: Internal ports that must be in O(bridge) (for example the VTEP port carrying the encap IP).
    type: list
    elements: str
    default: []
  fail_mode:
    description: Fail mode of O(bridge).
    type: str
    choices: [standalone, secure]
  restart_command:
    description: Restarts ovs-vswitchd (when C(hw-offload) changed).
    type: list
    elements: str
    default: [systemctl, restart, ovs-vswitchd.service]
"""

EXAMPLES = r"""
- name: DPU side of OVN-Kubernetes
  dataplane.node.ovs_settings:
    other_config:
      hw-offload: true
    system_id: dpu1
    external_ids:
      host-k8s-nodename: worker1
      hostname: dpu1
      ovn-encap-type: geneve
      ovn-encap-ip: 192.168.200.11
      ovn-gw-interface: brp0
      ovn-gw-nexthop: 192.168.200.1
    bridge: brp0
    ports: [p0, pf0hpf]
    internal_ports: [vtep0]
    fail_mode: standalone
"""

RETURN = r"""
changes:
  description: Keys changed (planned in check mode), by column, as C([before, after]).
  type: dict
  returned: always
  sample: {"other_config": {"hw-offload": [null, "true"]}}
commands:
  description: Commands run (planned in check mode).
  type: list
  elements: list
  returned: always
rewritten_at_restart:
  description: external_ids keys the restart of ovs-vswitchd wrote back, which were then set again.
  type: list
  elements: str
  returned: when ovs-vswitchd was restarted and rewrote keys
restarted:
  description: Whether ovs-vswitchd was restarted (would be, in check mode).
  type: bool
  returned: always
other_config:
  description: C(other_config) read back after the run (before it, in check mode).
  type: dict
  returned: always
external_ids:
  description: C(external_ids) read back after the run (before it, in check mode).
  type: dict
  returned: always
problems:
  description: Why the module refused (its message starts with C(nothing changed:)) or what failed while applying.
  type: list
  elements: str
  returned: on failure
management:
  description: What the management guard found (as M(dataplane.node.pci_driver) returns it in RV(management)).
  type: dict
  returned: when ovs-vswitchd would be restarted or ports added to O(bridge)
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._apply import write_atomic
from ansible_collections.dataplane.node.plugins.module_utils._dpu import (
    DpuError, parse_ovs_list_json, plan_bridge, plan_ovs, system_id_conf)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._netstack import (
    MANAGEMENT_ARGS, module_stack, netdev_problems, ovs_problems, summary)

SYSTEM_ID_CONF = 'etc/openvswitch/system-id.conf'


class Ovs(object):
    def __init__(self, module):
        self.module = module
        self.vsctl = module.get_bin_path('ovs-vsctl')
        if self.vsctl is None:
            raise DpuError(['ovs-vsctl is not installed: install Open vSwitch (openvswitch-switch) first'])

    def run(self, argv, check=True):
        rc, out, err = self.module.run_command([self.vsctl, '--timeout=30'] + list(argv[1:]))
        if rc != 0 and check:
            raise DpuError(['%s failed: %s' % (' '.join(argv), (err or out).strip())])
        return rc, out

    def table(self):
        return parse_ovs_list_json(self.run(['ovs-vsctl', '--format=json', '--columns=other_config,external_ids',
                                             'list', 'Open_vSwitch'])[1])

    def bridge_state(self, bridge):
        bridges = self.run(['ovs-vsctl', 'list-br'])[1].split()
        if bridge not in bridges:
            return bridges, [], None
        ports = self.run(['ovs-vsctl', 'list-ports', bridge])[1].split()
        fail_mode = self.run(['ovs-vsctl', 'get-fail-mode', bridge])[1].strip() or None
        return bridges, ports, fail_mode


def main():
    module = AnsibleModule(
        argument_spec=dict(
            other_config=dict(type='dict', default={}),
            external_ids=dict(type='dict', default={}),
            system_id=dict(type='str'),
            bridge=dict(type='str'),
            ports=dict(type='list', elements='str', default=[]),
            internal_ports=dict(type='list', elements='str', default=[]),
            fail_mode=dict(type='str', choices=['standalone', 'secure']),
            restart_command=dict(type='list', elements='str', default=['systemctl', 'restart', 'ovs-vswitchd.service']),
            root=ROOT_ARG,
            **MANAGEMENT_ARGS
        ),
        supports_check_mode=True,
    )
    params = module.params
    root = refuse_test_root_outside_check_mode(module)
    external_ids = dict(params['external_ids'])
    if params['system_id']:
        if 'system-id' in external_ids and external_ids['system-id'] != params['system_id']:
            refuse(module, ['system_id %r and external_ids.system-id %r differ' % (
                params['system_id'], external_ids['system-id'])])
        external_ids['system-id'] = params['system_id']
    if module.check_mode and module.get_bin_path('ovs-vsctl') is None:
        module.exit_json(changed=True, changes={}, commands=[], restarted=False, other_config={}, external_ids={},
                         msg='Open vSwitch is not installed yet (it would be by the run): every setting is planned')
    try:
        ovs = Ovs(module)
        before = ovs.table()
        vsctl, changes = plan_ovs(before, params['other_config'], external_ids)
        bridge_cmds = []
        if params['bridge']:
            bridges, ports, fail_mode = ovs.bridge_state(params['bridge'])
            bridge_cmds = plan_bridge(params['bridge'], bridges, ports, fail_mode, params['ports'],
                                      params['fail_mode'], params['internal_ports'])
    except DpuError as exc:
        refuse(module, exc.problems)

    conf_path = os.path.join(root, SYSTEM_ID_CONF)
    conf_change = None
    if params['system_id']:
        have = Host(root).fs.read(SYSTEM_ID_CONF)
        if have != system_id_conf(params['system_id']):
            conf_change = (have.strip() if have else None, params['system_id'])
    restart = 'hw-offload' in changes.get('other_config', {})
    # NICs made OVS ports: their addresses (and the VLANs, bonds above them) stop working there.
    new_ports = [argv[4] for argv in bridge_cmds if argv[2:4] == ['add-port', params['bridge']]
                 and argv[4] not in params['internal_ports']]
    management = None
    if restart or new_ports:
        # Traffic through OVS stops while ovs-vswitchd restarts: ask before, in check mode too.
        try:
            stack = module_stack(module, Host(root))
        except HostRootError as exc:
            refuse(module, [str(exc)])
        for warning in stack['warnings']:
            module.warn(warning)
        management = summary(stack)
        allow = module.params['allow_management']
        problems = netdev_problems(stack, new_ports, 'adding it to the OVS bridge %s' % params['bridge'], allow)
        if restart:
            problems.extend(ovs_problems(stack, 'restarting ovs-vswitchd (hw-offload changed)', allow))
        if problems:
            refuse(module, problems, {'management': management})
    commands = bridge_cmds + ([vsctl] if vsctl else []) + ([params['restart_command']] if restart else [])
    result = dict(changed=bool(commands or conf_change),
                  changes=dict((c, dict((k, list(v)) for k, v in keys.items())) for c, keys in changes.items()),
                  commands=commands, restarted=restart,
                  other_config=before.get('other_config') or {}, external_ids=before.get('external_ids') or {})
    if management is not None:
        result['management'] = management
    if conf_change:
        result['changes']['system-id.conf'] = list(conf_change)
    if module._diff:
        result['diff'] = {'before': {'other_config': before.get('other_config') or {},
                                     'external_ids': before.get('external_ids') or {}},
                          'after': {'other_config': _after(before.get('other_config'), changes.get('other_config')),
                                    'external_ids': _after(before.get('external_ids'), changes.get('external_ids'))}}
    if module.check_mode or not result['changed']:
        module.exit_json(**result)

    try:
        if conf_change:
            write_atomic(conf_path, system_id_conf(params['system_id']))
        for argv in bridge_cmds + ([vsctl] if vsctl else []):
            ovs.run(argv)
        if restart:
            rc, out, err = module.run_command(params['restart_command'])
            if rc != 0:
                raise DpuError(['%s failed: %s' % (' '.join(params['restart_command']), (err or out).strip())])
            # the start script writes hostname (and system-id from system-id.conf) into external_ids again
            again, rewritten = plan_ovs(ovs.table(), params['other_config'], external_ids)
            if again:
                ovs.run(again)
                result['commands'].append(again)
                result['rewritten_at_restart'] = sorted(rewritten.get('external_ids', {}))
        after = ovs.table()
    except (DpuError, OSError) as exc:
        module.fail_json(msg=str(exc), problems=getattr(exc, 'problems', [str(exc)]), **result)
    result['other_config'] = after.get('other_config') or {}
    result['external_ids'] = after.get('external_ids') or {}
    _unused, left = plan_ovs(after, params['other_config'], external_ids)
    if left:
        module.fail_json(msg='Open vSwitch reads back other values: %s' % left, **result)
    module.exit_json(**result)


def _after(have, changes):
    out = dict(have or {})
    for key, (_before, value) in (changes or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


if __name__ == '__main__':
    main()
