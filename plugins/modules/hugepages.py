#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hugepages
short_description: Set hugepage pools per NUMA node at runtime, with read-back
version_added: 0.1.0
description:
  - "Writes C(/sys/devices/system/node/nodeN/hugepages/hugepages-<size>kB/nr_hugepages) for each pool and reads
    every value back: the kernel accepts a write and silently allocates fewer pages when memory is fragmented."
  - On a shortfall it drops the page cache, compacts the node's memory and retries; if pages are still missing it
    writes back the previous counts and fails with a table of asked vs got per node, unless O(allow_shortfall) is set.
  - "Validates before writing anything: page sizes the host supports, NUMA nodes that exist and have memory,
    counts, pools that fit in the node's memory, and no C(vm.nr_hugepages) sysctl for the same pool."
  - 1G pools are reliable only from the kernel command line; see the C(dataplane.node.kernel_cmdline) role.
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
options:
  pools:
    description:
      - Pools to set. Sizes and nodes not listed are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      size:
        description: Page size (V(2M), V(1G), V(2048kB)).
        type: str
        required: true
      count:
        description: Pages; on O(pools[].node), near O(pools[].near), or in total spread evenly over the nodes with memory.
        type: int
      node:
        description: NUMA node for O(pools[].count) pages.
        type: int
      nodes:
        description: Pages per NUMA node id (instead of O(pools[].count)).
        type: dict
      near:
        description:
          - PCI address of a device (a NIC); its NUMA node gets O(pools[].count) pages.
          - A device whose NUMA node the kernel does not know (C(numa_node) -1) is an error.
        type: str
  transparent:
    description: Transparent hugepage mode to set (C(/sys/kernel/mm/transparent_hugepage/enabled)), read back.
    type: str
    choices: [always, madvise, never]
  allow_shortfall:
    description: Keep what the kernel gave and warn, instead of undoing the writes and failing.
    type: bool
    default: false
  retries:
    description: Retries per node after dropping caches and compacting memory.
    type: int
    default: 2
  compact:
    description: Compact the node's memory before each retry.
    type: bool
    default: true
  check_sysctl:
    description: Refuse when C(vm.nr_hugepages) is set in C(/etc/sysctl.conf) or C(/etc/sysctl.d) (one mechanism only).
    type: bool
    default: true
  mounts:
    description:
      - "hugetlbfs mounts, each mounted now (the mount point created) and written to C(/etc/fstab)
        (C(none PATH hugetlbfs OPTIONS 0 0)), then read back from C(/proc/mounts)."
      - A mount with other options than asked is unmounted and mounted again (this fails while files on it are open).
      - Validated before anything is written; a page size the host has no pool for is refused (hugetlbfs cannot mount it).
      - Not C(/dev/hugepages), which systemd mounts for the default page size.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Mount point.
        type: str
        required: true
      pagesize:
        description: Page size of the mount (V(2M), V(1G)).
        type: str
        required: true
      mode:
        description: Permissions of the mount's root directory, octal (V(1770)).
        type: raw
      uid:
        description: Owner of the mount's root directory (number or user name).
        type: raw
      gid:
        description: Group of the mount's root directory (number or group name).
        type: raw
"""

EXAMPLES = r"""
- name: 512 2M pages on node 1, 64 on node 0
  dataplane.node.hugepages:
    pools:
      - size: 2M
        nodes: {0: 64, 1: 512}

- name: Mount the 1G pages for DPDK at /dev/hugepages1G
  dataplane.node.hugepages:
    mounts:
      - path: /dev/hugepages1G
        pagesize: 1G
        mode: "1770"
        gid: dpdk

- name: 1 GiB of 2M pages on the NUMA node of the DPDK NIC
  dataplane.node.hugepages:
    pools:
      - size: 2M
        count: 512
        near: "0000:3b:00.0"

- name: 1024 pages spread evenly, keeping what the kernel gives
  dataplane.node.hugepages:
    pools:
      - size: 2M
        count: 1024
    allow_shortfall: true
"""

RETURN = r"""
pools:
  description: Pages per size and node after the run (what the kernel holds; in check mode, what was planned).
  type: dict
  returned: always
  sample: {"2M": {"0": 64, "1": 512}}
actions:
  description: Writes made (planned in check mode), shrinking pools first; with C(got) after a real write.
  type: list
  elements: dict
  returned: always
  sample: [{"size_kb": 2048, "node": 1, "before": 0, "after": 512, "got": 512, "retries": 0}]
transparent:
  description: Transparent hugepage mode after the run.
  type: str
  returned: always
  sample: never
targets:
  description: The request resolved to pages per size (in kB) and NUMA node; the boot-time applier's state.
  type: dict
  returned: always
  sample: {"2048": {"0": 64, "1": 512}}
shrink_below_use:
  description: Pools asked to hold fewer pages than are in use (the kernel keeps the rest as surplus pages).
  type: list
  elements: str
  returned: always
pools_changed:
  description: Whether a pool or the transparent hugepage mode changed (kubelet reads hugepage capacity only at start).
  type: bool
  returned: always
mounts:
  description:
    - Each asked mount, with what was done (planned in check mode) to the live mount (C(none), C(mount), C(remount))
      and to its C(/etc/fstab) entry (C(added), C(updated) or null).
  type: list
  elements: dict
  returned: always
  sample: [{"path": "/dev/hugepages2M", "options": "pagesize=2M,mode=1770", "mount": "mount",
            "differences": ["not mounted"], "fstab": "added", "fstab_before": null}]
shortfall:
  description: Nodes that got fewer pages than asked (only with O(allow_shortfall), or in the failure).
  type: list
  elements: dict
  returned: when the kernel gave fewer pages than asked
"""


import grp
import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._apply import SysfsWriter, WriteError, write_atomic
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._hugepages import (
    HugepageError,
    apply,
    find_mount,
    mount_differences,
    plan,
    plan_mounts,
    resolve,
    shortfall_table,
    shrink_below_use,
    undo,
    validate_mounts,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import format_size_kb


def sysctl_conflicts(host, targets):
    """vm.nr_hugepages in sysctl config sets the default-size pool too: two mechanisms fight at every boot."""
    default_kb = host.hugepages()['default_size_kb']
    if not any(size_kb == default_kb for size_kb, _node in targets):
        return []
    found = []
    files = ['etc/sysctl.conf'] + ['etc/sysctl.d/' + n for n in host.fs.listdir('etc/sysctl.d') if n.endswith('.conf')]
    for rel in files:
        text = host.fs.read(rel) or ''
        for line in text.splitlines():
            key, sep, value = line.partition('=')
            if sep and key.strip().replace('/', '.') in ('vm.nr_hugepages', 'vm.nr_hugepages_mempolicy') \
                    and not key.strip().startswith(('#', ';')) and value.strip() not in ('', '0'):
                found.append('/%s sets %s = %s' % (rel, key.strip(), value.strip()))
    return found


def resolved_targets(targets):
    """{(size_kb, node): count} -> {'2048': {'0': 64}}: the form the boot-time applier's state file takes."""
    out = {}
    for (size_kb, node), count in sorted(targets.items()):
        out.setdefault(str(size_kb), {})[str(node)] = count
    return out


def summary(host, sizes):
    out = {}
    for size_kb in sorted(sizes):
        pool = host.hugepage_pool(size_kb)
        out[format_size_kb(size_kb)] = dict((n, v['nr']) for n, v in pool['nodes'].items())
    return out


def id_lookup(root):
    """Resolve user and group names on the node (NSS on a real node; the tree's passwd/group files for a test root)."""
    def lookup(kind, name):
        if os.path.abspath(root) == '/':
            try:
                return pwd.getpwnam(name).pw_uid if kind == 'uid' else grp.getgrnam(name).gr_gid
            except KeyError:
                return None
        text = Host(root).fs.read('etc/passwd' if kind == 'uid' else 'etc/group') or ''
        for line in text.splitlines():
            fields = line.split(':')
            if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                return int(fields[2])
        return None
    return lookup


def apply_mounts(module, root, wanted, plans, new_fstab, result):
    """fstab first (atomic), then each mount that differs, then every mount read back from /proc/mounts."""
    if new_fstab is not None:
        try:
            write_atomic(os.path.join(root, 'etc/fstab'), new_fstab)
        except OSError as exc:
            module.fail_json(msg='writing /etc/fstab failed: %s' % exc, **result)
    for want, step in zip(wanted, plans):
        if step['mount'] == 'none':
            continue
        path = want['path']
        if step['mount'] == 'remount':
            rc, out, err = module.run_command(['umount', path])
            if rc != 0:
                module.fail_json(msg='hugetlbfs at %s has other options (%s) and umount failed (files in use?): %s'
                                     % (path, '; '.join(step['differences']), (err or out).strip()), **result)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            module.fail_json(msg='creating the mount point %s failed: %s' % (path, exc), **result)
        rc, out, err = module.run_command(['mount', '-t', 'hugetlbfs', '-o', step['options'], 'none', path])
        if rc != 0:
            module.fail_json(msg='mount -t hugetlbfs -o %s none %s failed: %s'
                             % (step['options'], path, (err or out).strip()), **result)
    mounts = Host(root).hugepages()['mounts']
    problems = []
    for want in wanted:
        diffs = mount_differences(want, find_mount(want['path'], mounts))
        if diffs:
            problems.append('%s: %s' % (want['path'], '; '.join(diffs)))
    if problems:
        module.fail_json(msg='hugetlbfs mounts read back from /proc/mounts differ from what was asked: %s'
                             % '; '.join(problems), problems=problems, **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            transparent=dict(type='str', choices=['always', 'madvise', 'never']),
            pools=dict(type='list', elements='dict', default=[], options=dict(
                size=dict(type='str', required=True),
                count=dict(type='int'),
                node=dict(type='int'),
                nodes=dict(type='dict'),
                near=dict(type='str'),
            ), mutually_exclusive=[('node', 'nodes', 'near')]),
            allow_shortfall=dict(type='bool', default=False),
            retries=dict(type='int', default=2),
            compact=dict(type='bool', default=True),
            check_sysctl=dict(type='bool', default=True),
            mounts=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='str', required=True),
                pagesize=dict(type='str', required=True),
                mode=dict(type='raw'),
                uid=dict(type='raw'),
                gid=dict(type='raw'),
            )),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    root = refuse_test_root_outside_check_mode(module)
    try:
        host = Host(root)
        targets = resolve(module.params['pools'], host)
        wanted_mounts = validate_mounts(module.params['mounts'], host.hugepage_sizes_kb(), id_lookup(root))
    except (HugepageError, HostRootError) as exc:
        module.fail_json(msg='invalid hugepage request, nothing changed: %s' % exc,
                         problems=getattr(exc, 'problems', [str(exc)]))
    if module.params['check_sysctl']:
        conflicts = sysctl_conflicts(host, targets)
        if conflicts:
            module.fail_json(msg='the default-size pool is also configured through sysctl (%s): use one mechanism '
                                 'only, nothing changed' % '; '.join(conflicts), problems=conflicts)
    sizes = set(size_kb for size_kb, _node in targets)
    before = summary(host, sizes)
    actions = plan(targets, host)
    planned = dict((k, dict(v)) for k, v in before.items())
    for action in actions:
        planned[format_size_kb(action['size_kb'])][str(action['node'])] = action['after']
    thp = host.hugepages()['transparent']['enabled']
    thp_wanted = module.params['transparent']
    thp_change = thp_wanted is not None and thp_wanted != thp
    mount_plans, new_fstab = plan_mounts(wanted_mounts, host.hugepages()['mounts'], host.fs.read('etc/fstab'))
    mounts_change = new_fstab is not None or any(p['mount'] != 'none' for p in mount_plans)
    pools_changed = bool(actions) or thp_change
    result = dict(changed=pools_changed or mounts_change, pools_changed=pools_changed, actions=actions,
                  shrink_below_use=shrink_below_use(actions), pools=planned, targets=resolved_targets(targets),
                  transparent=thp_wanted if thp_change else thp, mounts=mount_plans)
    if module._diff:
        mounts_before = dict((p['path'], 'mounted' if p['mount'] == 'none' else '; '.join(p['differences']))
                             for p in mount_plans)
        mounts_after = dict((p['path'], 'mounted' if p['mount'] == 'none' else 'mounted (%s)' % p['options'])
                            for p in mount_plans)
        result['diff'] = [{'before': dict(before, transparent=thp), 'after': dict(planned, transparent=result['transparent'])}]
        if mount_plans:
            result['diff'].append({'before': {'mounts': mounts_before}, 'after': {'mounts': mounts_after}})
        if new_fstab is not None:
            result['diff'].append({'before_header': '/etc/fstab', 'after_header': '/etc/fstab',
                                   'before': host.fs.read('etc/fstab') or '', 'after': new_fstab})
        if len(result['diff']) == 1:
            result['diff'] = result['diff'][0]
    if module.check_mode or not result['changed']:
        module.exit_json(**result)
    writer = SysfsWriter(root)
    if thp_change:
        try:
            writer.write('sys/kernel/mm/transparent_hugepage/enabled', thp_wanted + '\n')
        except WriteError as exc:
            module.fail_json(msg=str(exc), **result)
        got = Host(root).hugepages()['transparent']['enabled']
        if got != thp_wanted:
            module.fail_json(msg='transparent hugepages stayed %s, asked %s' % (got, thp_wanted), **result)

    if actions:
        try:
            results, short = apply(actions, host, writer, module.params['retries'], module.params['compact'])
        except WriteError as exc:
            module.fail_json(msg=str(exc), **result)
        result['actions'] = results
        if short and not module.params['allow_shortfall']:
            restored = undo(results, host, writer)
            module.fail_json(msg='the kernel gave fewer hugepages than asked (after dropping caches and compacting); '
                                 'previous counts written back:\n%s' % shortfall_table(short),
                             shortfall=short, restored=restored, **result)
        if short:
            result['shortfall'] = short
            module.warn('the kernel gave fewer hugepages than asked, kept as allowed:\n%s' % shortfall_table(short))
        result['pools'] = summary(host, sizes)
    if mounts_change:
        apply_mounts(module, root, wanted_mounts, mount_plans, new_fstab, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
