#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: pending_actions
short_description: Keep the restarts a run left pending on the node until they are done
version_added: 0.1.0
description:
  - "A run raises a restart when it changes what a daemon reads only at its start: the hugepage pools (kubelet),
    the memlock drop-in of a container runtime, the sriov-network-device-plugin config. This module keeps them in
    a state file on the node (O(path)), so the next run still reports them although it changes nothing."
  - "Merges the items of earlier runs with this run's (O(kubelet_restart_reasons), O(memlock_units),
    O(device_plugin_changed)) and drops each one that is done: its daemon has no process left that started before
    the item's last event (the start time of C(/proc/PID/stat)), or the kubelet role restarted kubelet in this run
    (O(kubelet_restarted))."
  - "Raises, and keeps, nothing for a daemon the node does not have: no kubelet binary (found as the
    C(dataplane.node.kubelet) role finds it, O(kubelet_binary)) and no kubelet process; no unit file and no process
    of the runtime unit; no running device plugin process (O(device_plugin_processes); the plugin reads its config
    when it starts)."
  - Never restarts anything. Writes O(path) when the items differ from what it holds, and removes it when nothing is
    pending. The site playbook (C(dataplane.node.site)) calls it at the end of each node's run and gives what it
    returns to the run summary (RV(pending) becomes the summary's restarts and C(dataplane_node_pending)).
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
options:
  kubelet_restart_reasons:
    description: Why kubelet still needs a restart at the end of this run (C(dataplane_node_kubelet_restart_reasons)).
    type: list
    elements: str
    default: []
  kubelet_restarted:
    description: The kubelet role restarted kubelet in this run (which settles every stored kubelet restart).
    type: bool
    default: false
  kubelet_binary:
    description: The kubelet binary, a name searched as M(dataplane.node.kubelet_info) searches it, or an absolute path.
    type: str
    default: kubelet
  memlock_units:
    description: The container runtime units whose memlock drop-in changed in this run (C(containerd.service)).
    type: list
    elements: str
    default: []
  device_plugin_changed:
    description: The sriov-network-device-plugin config changed in this run.
    type: bool
    default: false
  device_plugin_processes:
    description: Process names (C(/proc/PID/comm)) of the device plugin.
    type: list
    elements: str
    default: [sriovdp]
  path:
    description: The state file (JSON). The collection's node state lives in C(/var/lib/dataplane-node).
    type: path
    default: /var/lib/dataplane-node/pending.json
attributes:
  check_mode:
    support: full
    description: Returns the items a real run would keep (and the diff of the state file) and writes nothing.
  diff_mode:
    support: full
    description: The state file before and after.
notes:
  - A state file that is not JSON this module wrote is replaced (with a warning).
  - An item is settled by a process start after the item's last event; the clock is the node's (both the event time
    and the process start time).
seealso:
  - module: dataplane.node.kubelet_info
"""

EXAMPLES = r"""
- name: Keep what this run left pending (as dataplane.node.site does)
  dataplane.node.pending_actions:
    kubelet_restart_reasons: "{{ dataplane_node_kubelet_restart_reasons | default([]) }}"
    kubelet_restarted: "{{ dataplane_node_kubelet_restarted_for | default([]) | length > 0 }}"
    memlock_units: "{{ sriov_memlock_units if dataplane_node_memlock_changed | default(false) else [] }}"
    device_plugin_changed: "{{ dataplane_node_device_plugin_changed | default(false) }}"
  register: pending

- name: Only read what earlier runs left pending
  dataplane.node.pending_actions:
  check_mode: true
  register: pending

- name: Fail while a kubelet restart is pending
  ansible.builtin.assert:
    that: pending.pending | selectattr('what', 'equalto', 'kubelet restart') | list | length == 0
"""

RETURN = r"""
pending:
  description:
    - What is still pending, as the run summary lists it; C(what) (V(runtime restart), V(device plugin restart),
      V(kubelet restart)), C(reason), C(since) (the first event, UTC) and C(carried) (an earlier run raised it).
  type: list
  elements: dict
  returned: always
  sample: [{what: kubelet restart, reason: "hugepage pools changed (pending since 2026-12-03T07:40:12Z)",
            since: "2026-12-03T07:40:12Z", carried: true}]
stored:
  description: The items as the state file holds them (C(what), C(unit), C(reasons), C(first), C(since) as epochs).
  type: list
  elements: dict
  returned: always
settled:
  description:
    - The stored items done now, and this run's events that ask nothing (the daemon is not on the node); each with
      C(what), C(unit), C(reasons), C(why) and C(raised) (an event of this run).
  type: list
  elements: dict
  returned: always
  sample: [{what: kubelet restart, unit: null, reasons: [hugepage pools changed], raised: false,
            why: "kubelet started at 2026-12-03T08:01:02Z, after 2026-12-03T07:40:12Z"}]
path:
  description: The state file.
  type: str
  returned: always
  sample: /var/lib/dataplane-node/pending.json
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._apply import write_atomic
from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._kubelet import KubeletHost
from ansible_collections.dataplane.node.plugins.module_utils._module import ROOT_ARG, refuse_test_root_outside_check_mode
from ansible_collections.dataplane.node.plugins.module_utils._pending import (
    StateError, clock_ticks, dump, evidence, load, merge, raised, summary_items)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubelet_restart_reasons=dict(type='list', elements='str', default=[]),
            kubelet_restarted=dict(type='bool', default=False),
            kubelet_binary=dict(type='str', default='kubelet'),
            memlock_units=dict(type='list', elements='str', default=[]),
            device_plugin_changed=dict(type='bool', default=False),
            device_plugin_processes=dict(type='list', elements='str', default=['sriovdp']),
            path=dict(type='path', default='/var/lib/dataplane-node/pending.json'),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = refuse_test_root_outside_check_mode(module)
    if not os.path.isabs(p['path']):
        module.fail_json(msg='path %s is not absolute: nothing changed' % p['path'])
    try:
        fs = HostFS(root)
    except HostRootError as exc:
        module.fail_json(msg=str(exc))
    rel = p['path'].lstrip('/')
    before_text = fs.read(rel)
    try:
        previous = load(before_text)
    except StateError as exc:
        module.warn('%s is not a state file of this module (%s): replaced' % (p['path'], exc))
        previous = []

    now = round(time.time(), 3)
    events = raised(p['kubelet_restart_reasons'], p['memlock_units'], p['device_plugin_changed'])
    units = sorted(set(i['unit'] for i in previous + events if i.get('unit')))
    kubelet = KubeletHost(fs)
    found = evidence(fs, kubelet.binary(p['kubelet_binary']) is not None, p['kubelet_restarted'], units,
                     p['device_plugin_processes'], clock_ticks())
    items, settled = merge(previous, events, found, now)
    after_text = dump(items)
    changed = (before_text or None) != after_text
    result = dict(changed=changed, path=p['path'], pending=summary_items(items, now), stored=items, settled=settled)
    if module._diff:
        result['diff'] = {'before': before_text or '', 'after': after_text or '',
                          'before_header': p['path'], 'after_header': p['path']}
    if module.check_mode or not changed:
        module.exit_json(**result)
    full = fs.path(rel)
    try:
        if after_text is None:
            os.unlink(full)
        else:
            write_atomic(full, after_text, mode=0o644)
    except (IOError, OSError) as exc:
        module.fail_json(msg='writing %s failed: %s' % (p['path'], exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
