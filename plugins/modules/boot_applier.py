#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: boot_applier
short_description: Install the boot-time applier of runtime state and write the state files it re-applies
version_added: 0.1.0
description:
  - "Installs, in one call: the collection's own apply code (the C(module_utils) this module carries, so the node
    runs exactly the planning and read-back code the modules run), its entry point, C(dataplane-node.service)
    (early: hugepages per NUMA node, THP) and C(dataplane-node-devices.service) (after udev: VFs, then driver
    bindings), and an C(After=)/C(Requires=) drop-in for each unit in O(before_units), which also get the applier
    units as C(RequiredBy=)."
  - Writes or removes the state files the applier reads at boot (O(state_files)) and C(modules-load.d) files
    (O(modules_load)).
  - Compares every file and every symlink C(systemctl enable) makes with what should be there; on a converged node
    it writes nothing and runs no command. When a unit file changed or a symlink is missing it runs
    C(systemctl daemon-reload) and C(systemctl reenable) for both units.
  - Used by the C(dataplane.node.hugepages) and C(dataplane.node.sriov) roles (through the
    C(dataplane.node.boot_applier) role or directly).
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
options:
  install:
    description: Install (or check) the applier's code and units. V(false) only writes O(state_files) and O(modules_load).
    type: bool
    default: true
  before_units:
    description: Units that start after the applier and require it (C(RequiredBy=) and a drop-in).
    type: list
    elements: str
    default: [kubelet.service]
  lib_dir:
    description: Where the applier's Python code is installed.
    type: path
    default: /usr/lib/dataplane-node
  state_dir:
    description: Directory of the state files, applied in name order at boot.
    type: path
    default: /etc/dataplane-node/state.d
  state_files:
    description:
      - State files to write into O(state_dir), by file name (C(NN-name.json)); the value is the state (written as
        JSON), or V(null) to remove the file.
    type: dict
    default: {}
  modules_load:
    description:
      - Files in C(/etc/modules-load.d) by file name (C(name.conf)), each a list of kernel modules to load at boot;
        an empty list or V(null) removes the file.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Install the applier and re-apply 2M pools at every boot before kubelet
  dataplane.node.boot_applier:
    before_units: [kubelet.service]
    state_files:
      10-hugepages.json: {hugepages: {pools: {"2048": {"0": 64, "1": 256}}, retries: 2}}

- name: Forget the VF state (the applier stays installed)
  dataplane.node.boot_applier:
    install: false
    state_files:
      20-sriov.json: null
    modules_load:
      dataplane-node-vfio.conf: []
"""

RETURN = r"""
files:
  description: Files written or removed (planned in check mode).
  type: list
  elements: str
  returned: always
  sample: ["/etc/dataplane-node/state.d/10-hugepages.json"]
commands:
  description: Commands run (planned in check mode).
  type: list
  elements: str
  returned: always
  sample: ["systemctl daemon-reload", "systemctl reenable dataplane-node.service dataplane-node-devices.service"]
reasons:
  description: Why the units are (re-)enabled.
  type: list
  elements: str
  returned: always
"""

import importlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils import _boot_apply  # noqa: F401 pylint: disable=unused-import
from ansible_collections.dataplane.node.plugins.module_utils._boot_install import (
    APPLIER_MODULES, InstallError, apply, plan)
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)

PACKAGE = 'ansible_collections.dataplane.node.plugins.module_utils'


def applier_sources():
    """The source of the applier's module_utils as this module carries them (imported above, so they are in its
    payload): the node gets the very code the controller's collection has."""
    sources = {}
    for name in APPLIER_MODULES:
        module = importlib.import_module('%s.%s' % (PACKAGE, name))
        source = module.__loader__.get_source(module.__name__)
        if not source:
            raise InstallError(['cannot read the source of %s from this module' % module.__name__])
        sources[name] = source
    return sources


def main():
    module = AnsibleModule(
        argument_spec=dict(
            install=dict(type='bool', default=True),
            before_units=dict(type='list', elements='str', default=['kubelet.service']),
            lib_dir=dict(type='path', default='/usr/lib/dataplane-node'),
            state_dir=dict(type='path', default='/etc/dataplane-node/state.d'),
            state_files=dict(type='dict', default={}),
            modules_load=dict(type='dict', default={}),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = refuse_test_root_outside_check_mode(module)
    try:
        sources = applier_sources() if p['install'] else {}
        planned = plan(root, p['install'], p['lib_dir'], p['state_dir'], p['before_units'], sources,
                       p['state_files'], p['modules_load'])
    except InstallError as exc:
        module.fail_json(msg='nothing changed: %s' % exc, problems=exc.problems)
    commands = [' '.join(argv) for argv in planned['commands']]
    result = dict(changed=bool(planned['files'] or commands), files=['/' + r for r in sorted(planned['files'])],
                  commands=commands, reasons=planned['reasons'])
    if module._diff:
        result['diff'] = [{'before_header': '/' + rel, 'after_header': '/' + rel,
                           'before': before or '', 'after': after or ''}
                          for rel, (before, after) in sorted(planned['files'].items())]
    if module.check_mode or not result['changed']:
        module.exit_json(**result)
    try:
        apply(root, planned, module.run_command)
    except InstallError as exc:
        module.fail_json(msg=str(exc), problems=exc.problems, **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg='writing the applier failed: %s' % exc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
