#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_config
short_description: Merge settings into the kubelet's KubeletConfiguration, validated against the host
version_added: 0.1.0
description:
  - "O(mode=file) merges O(settings) into the KubeletConfiguration file O(path) (kubeadm:
    C(/var/lib/kubelet/config.yaml)), keeping every key it does not set."
  - "O(mode=dropin) writes O(settings) as a drop-in O(dropin_name) in the kubelet's C(--config-dir) O(config_dir)
    (kubelet 1.28 or later). C(kubeadm upgrade) rewrites C(/var/lib/kubelet/config.yaml) but leaves drop-ins alone.
    The drop-in belongs to this module: it holds exactly O(settings)."
  - "Validates the configuration kubelet would run with (the file, plus every drop-in in name order) against the host
    before writing anything, and lists every problem: C(cpuManagerPolicy: static) needs reserved CPUs; reserved and
    isolated CPUs exist and do not overlap; with C(memoryManagerPolicy: Static), C(reservedMemory) names existing NUMA
    nodes and sums exactly to C(kubeReserved) + C(systemReserved) + C(evictionHard) C(memory.available);
    topology manager policy and scope values; feature gates removed, not yet present or locked in the kubelet
    O(version)."
  - A file that is not valid YAML or not a KubeletConfiguration (C(kind), C(apiVersion)) is left untouched and the
    task fails.
  - Never restarts kubelet. RV(restart_required) and RV(state_reset_required) tell the C(dataplane.node.kubelet)
    role what to do.
author:
  - dataplane.node contributors (@dataplane-node)
requirements:
  - PyYAML on the node (C(python3-yaml); the C(dataplane.node.kubelet) role installs it).
options:
  settings:
    description:
      - "KubeletConfiguration fields (camelCase, as in the file), merged as a JSON merge patch (RFC 7386):
        mappings merge key by key, lists and scalars replace, a V(null) value removes the key."
      - In O(mode=dropin), the drop-in's whole content (nulls are left out).
    type: dict
    required: true
  mode:
    description: Edit the config file, or write a drop-in into the C(--config-dir) directory.
    type: str
    choices: [file, dropin]
    default: file
  path:
    description: The kubelet's C(--config) file. In O(mode=dropin) it is read to validate the merged result.
    type: path
    default: /var/lib/kubelet/config.yaml
  config_dir:
    description: The kubelet's C(--config-dir) directory (O(mode=dropin)).
    type: path
    default: /etc/kubernetes/kubelet.conf.d
  dropin_name:
    description: File name of the drop-in; must end in C(.conf). Drop-ins sorting after it win over it.
    type: str
    default: 90-dataplane-node.conf
  version:
    description:
      - The kubelet's version (C(kubelet --version) output such as V(Kubernetes v1.29.3), or V(1.29)).
      - Unset skips the feature gate and version rules (a warning says so); O(mode=dropin) needs it.
    type: str
  isolated_cpus:
    description:
      - CPUs isolated for DPDK (cpulist); reserved CPUs must not overlap them.
      - Unset reads the kernel's isolated CPUs (C(/sys/devices/system/cpu/isolated), else C(isolcpus=)).
    type: str
  backup:
    description: Copy the file to a timestamped backup before changing it.
    type: bool
    default: true
extends_documentation_fragment:
  - dataplane.node.node
notes:
  - PyYAML does not keep comments, blank lines or quotes that were not needed. In O(mode=file) a changed file is
    written without the comments it had; keys keep their order, new keys come last, and strings are double-quoted only
    where YAML needs it, as kubeadm writes them (a kubeadm-written file keeps every byte). The diff shows what goes.
    An unchanged file is not rewritten. O(mode=dropin) leaves the kubeadm file as it is.
  - "In kubelet 1.28 and 1.29 C(--config-dir) is alpha: kubelet also needs the environment variable
    C(KUBELET_CONFIG_DROPIN_DIR_ALPHA) (any value), or it refuses to start. From 1.30 it is beta and on by default,
    GA in 1.35."
  - Feature gates absent from the collection's table are not checked (a warning names them).
seealso:
  - name: Kubelet configuration file
    description: KubeletConfiguration and the drop-in directory.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/
  - name: Memory Manager
    description: reservedMemory and the Static policy.
    link: https://kubernetes.io/docs/tasks/administer-cluster/memory-manager/
"""

EXAMPLES = r"""
- name: Static CPU and memory managers, single-numa-node alignment
  dataplane.node.kubelet_config:
    version: "{{ kubelet_version_output }}"
    settings:
      cpuManagerPolicy: static
      reservedSystemCPUs: "0-1,16-17"
      memoryManagerPolicy: Static
      topologyManagerPolicy: single-numa-node
      topologyManagerScope: pod
      systemReserved: {memory: 1Gi}
      kubeReserved: {memory: 924Mi}
      evictionHard: {memory.available: 100Mi}
      reservedMemory:
        - {numaNode: 0, limits: {memory: 1Gi}}
        - {numaNode: 1, limits: {memory: 1Gi}}
  register: kubelet_cfg

- name: The same as a drop-in that survives kubeadm upgrade (kubelet 1.30+)
  dataplane.node.kubelet_config:
    mode: dropin
    version: "1.31.2"
    settings:
      topologyManagerPolicy: best-effort

- name: Remove a feature gate that a newer kubelet no longer knows
  dataplane.node.kubelet_config:
    version: "1.29.3"
    settings:
      featureGates:
        HugePageStorageMediumSize: null
"""

RETURN = r"""
path:
  description: The file written (or that would be written in check mode).
  type: str
  returned: always
  sample: /var/lib/kubelet/config.yaml
backup:
  description: Backup copy of the file made before writing it.
  type: str
  returned: when a file was changed and O(backup) is true
  sample: /var/lib/kubelet/config.yaml.20260101-120000.dataplane-node.bak
config:
  description: The configuration kubelet runs with after the change (the file merged with every drop-in).
  type: dict
  returned: always
restart_required:
  description: True when anything changed; kubelet reads its configuration only at start.
  type: bool
  returned: always
state_reset_required:
  description:
    - True when kubelet must be stopped and its CPU/memory manager checkpoints removed before it starts again
      (RV(state_files)), otherwise it refuses its state and crash-loops.
  type: bool
  returned: always
state_reset_reasons:
  description: What made the reset necessary.
  type: list
  elements: str
  returned: always
  sample: [cpuManagerPolicy none -> static]
state_files:
  description: Checkpoint file names under the kubelet's root directory (C(/var/lib/kubelet)) to remove.
  type: list
  elements: str
  returned: always
  sample: [cpu_manager_state]
version:
  description: The kubelet version the rules were checked against (V(null) when unknown).
  type: str
  returned: always
  sample: "1.29.3"
problems:
  description: Every validation problem found (the task failed and nothing was written).
  type: list
  elements: str
  returned: failure
"""

import os
import shutil
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dataplane.node.plugins.module_utils._apply import backup_path, write_atomic
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostFS, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    API_VERSION,
    DROPIN_ALPHA_LAST,
    DROPIN_MIN_VERSION,
    HAS_YAML,
    KIND,
    ConfigFileError,
    KubeletConfigError,
    dump_config,
    format_version,
    load_config,
    merge,
    normalize_settings,
    overlay,
    overridden_keys,
    parse_version,
    state_files,
    state_reset_reasons,
    validate,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, parse_cpulist

try:
    import yaml  # noqa: F401  pylint: disable=unused-import
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    YAML_IMPORT_ERROR = None

DROPIN_HEADER = '# Managed by dataplane.node (kubelet_config): edits here are overwritten at the next run.\n'


def _read(root, path):
    """(text or None when missing or unreadable, host path), through the host model."""
    return HostFS(root).read(path.lstrip('/')), os.path.join(root, path.lstrip('/'))


def isolated_cpus(host, param):
    if param is not None:
        try:
            return parse_cpulist(param)
        except ParseError as exc:
            raise KubeletConfigError(['isolated_cpus: %s' % exc])
    isolated = host.cpus()['isolated']
    return isolated['kernel'] or isolated['isolcpus'] or []


def plan_file(params, root):
    text, _full = _read(root, params['path'])
    before = load_config(text, params['path'])
    after = merge(before, params['settings'])
    return {'path': params['path'], 'before_text': text or '', 'before': before, 'after': after,
            'changed': text is None or before != after, 'effective_before': before, 'effective_after': after,
            'problems': []}


def plan_dropin(params, root, version):
    problems = []
    if version is None:
        raise KubeletConfigError(['mode dropin needs the kubelet version (--config-dir exists from 1.28)'])
    if version[:2] < DROPIN_MIN_VERSION:
        raise KubeletConfigError(['mode dropin needs kubelet %s or later (--config-dir); kubelet %s has no drop-in '
                                  'directory: use mode file' % (format_version(DROPIN_MIN_VERSION),
                                                                format_version(version))])
    name = params['dropin_name']
    if '/' in name or not name.endswith('.conf'):
        raise KubeletConfigError(['dropin_name %r must be a file name ending in .conf (kubelet reads only *.conf)'
                                  % name])
    main_text, _full = _read(root, params['path'])
    base = load_config(main_text, params['path']) if main_text is not None else {}
    directory = os.path.join(root, params['config_dir'].lstrip('/'))
    names = sorted(n for n in (os.listdir(directory) if os.path.isdir(directory) else [])
                   if n.endswith('.conf') and n != name)
    others = {}
    for other in names:
        where = os.path.join(params['config_dir'], other)
        text, _full = _read(root, where)
        try:
            others[other] = load_config(text, where) if text and text.strip() else {}
        except ConfigFileError as exc:
            problems.append('%s (kubelet fails on it too)' % exc)
            others[other] = {}
    path = os.path.join(params['config_dir'], name)
    old_text, _full = _read(root, path)
    old = load_config(old_text, path) if old_text is not None else None
    new = merge({'apiVersion': API_VERSION, 'kind': KIND}, params['settings'])

    def effective(ours):
        config = base
        for other in sorted(names + [name]):
            if other == name:
                if ours is not None:
                    config = overlay(config, ours)
            else:
                config = overlay(config, others[other])
        return config

    for other in names:
        if other > name:
            keys = overridden_keys(new, others[other])
            if keys:
                problems.append('%s overrides %s set by %s (drop-ins are merged in name order): rename one of them'
                                % (os.path.join(params['config_dir'], other), ', '.join(keys), name))
    return {'path': path, 'before_text': old_text or '', 'before': old, 'after': new,
            'changed': old is None or old != new or not (old_text or '').startswith(DROPIN_HEADER),
            'effective_before': effective(old), 'effective_after': effective(new), 'problems': problems}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            settings=dict(type='dict', required=True),
            mode=dict(type='str', default='file', choices=['file', 'dropin']),
            path=dict(type='path', default='/var/lib/kubelet/config.yaml'),
            config_dir=dict(type='path', default='/etc/kubernetes/kubelet.conf.d'),
            dropin_name=dict(type='str', default='90-dataplane-node.conf'),
            version=dict(type='str'),
            isolated_cpus=dict(type='str'),
            backup=dict(type='bool', default=True),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib('PyYAML', reason='to read the KubeletConfiguration') +
                         ' On the node: install python3-yaml (the dataplane.node.kubelet role does).',
                         exception=YAML_IMPORT_ERROR)
    params = module.params
    root = refuse_test_root_outside_check_mode(module)
    params['settings'] = normalize_settings(params['settings'])

    try:
        version = parse_version(params['version']) if params['version'] else None
    except ParseError as exc:
        module.fail_json(msg='invalid kubelet version, nothing changed: %s' % exc, problems=[str(exc)])
    try:
        host = Host(root)
        isolated = isolated_cpus(host, params['isolated_cpus'])
        for key in ('apiVersion', 'kind'):
            if key in params['settings'] and params['settings'][key] != {'apiVersion': API_VERSION, 'kind': KIND}[key]:
                raise KubeletConfigError(['settings %s must be %s (or left out)'
                                          % (key, {'apiVersion': API_VERSION, 'kind': KIND}[key])])
        if params['mode'] == 'dropin':
            plan = plan_dropin(params, root, version)
        else:
            plan = plan_file(params, root)
        problems, notes = validate(plan['effective_after'], host.cpus(), host.numa(), isolated, version)
        problems = plan['problems'] + problems
        if problems:
            raise KubeletConfigError(problems)
    except ConfigFileError as exc:
        module.fail_json(msg=str(exc), problems=[str(exc)])
    except KubeletConfigError as exc:
        module.fail_json(msg='invalid kubelet configuration, nothing changed: %s' % exc, problems=exc.problems)
    except HostRootError as exc:
        module.fail_json(msg=str(exc))

    for note in notes:
        module.warn(note)
    if params['mode'] == 'dropin' and version[:2] <= DROPIN_ALPHA_LAST:
        module.warn('kubelet %s: --config-dir is alpha and needs the environment variable '
                    'KUBELET_CONFIG_DROPIN_DIR_ALPHA set for kubelet' % format_version(version))

    changed = plan['changed']
    reasons = state_reset_reasons(plan['effective_before'], plan['effective_after']) if changed else []
    after_text = plan['before_text']
    if changed:
        after_text = dump_config(plan['after'], DROPIN_HEADER if params['mode'] == 'dropin' else None)
    result = dict(
        changed=changed,
        path=plan['path'],
        config=plan['effective_after'],
        restart_required=changed,
        state_reset_required=bool(reasons),
        state_reset_reasons=reasons,
        state_files=state_files(reasons),
        version='%d.%d.%d' % version if version else None,
    )
    if module._diff:
        result['diff'] = {'before': plan['before_text'], 'after': after_text,
                          'before_header': plan['path'], 'after_header': plan['path']}
    if module.check_mode or not changed:
        module.exit_json(**result)

    full = os.path.join(root, plan['path'].lstrip('/'))
    try:
        if params['backup'] and os.path.exists(full):
            result['backup'] = backup_path(full)
            shutil.copy2(full, result['backup'])
        write_atomic(full, after_text, mode=0o644)
    except (IOError, OSError) as exc:
        module.fail_json(msg='writing %s failed: %s' % (plan['path'], exc), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
