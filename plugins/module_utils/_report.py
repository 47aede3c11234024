# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text report of a node's dataplane facts, and the differences between two gatherings.

Private to the dataplane.node collection: names may change without notice.
Pure functions of the `dataplane` fact (as node_facts returns it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils._parse import format_cpulist

# Leaves that move on their own between two gatherings and say nothing about configuration.
_VOLATILE = ('memory_free_kb', 'free', 'root', 'gather_subset')


def _gib(kb):
    return '?' if kb is None else '%.1f GiB' % (kb / 1048576.0)


def _or(value, unknown='?'):
    return unknown if value is None else value


def report_lines(facts, name=None):
    """A readable summary of one node's facts, as a list of lines."""
    lines = []
    boot = facts.get('boot')
    if boot:
        lines.append('%s: %s, kernel %s, %s boot, loader %s' % (
            name or 'node', boot['os'].get('name') or boot['os'].get('id') or 'unknown OS',
            boot['kernel'], boot['firmware'], boot['loader']))
    cmdline = facts.get('cmdline')
    if cmdline and cmdline.get('raw') is not None:
        lines.append('cmdline: %s' % cmdline['raw'])
    numa = facts.get('numa')
    hugepages = facts.get('hugepages')
    if numa:
        cpus = numa.get('cpus') or {}
        lines.append('NUMA: %d node(s); CPUs %s: %s socket(s), %s core(s), %s thread(s)/core; isolated %s' % (
            numa['node_count'], cpus.get('online_list', '?'), _or(cpus.get('sockets')), _or(cpus.get('cores')),
            _or(cpus.get('threads_per_core')), format_cpulist((cpus.get('isolated') or {}).get('kernel') or []) or 'none'))
        for node_id in sorted(numa['nodes'], key=int):
            node = numa['nodes'][node_id]
            pools = []
            for size, pool in sorted(((hugepages or {}).get('pools') or {}).items(), key=lambda i: i[1]['size_kb']):
                per_node = pool['nodes'].get(node_id)
                if per_node is not None:
                    pools.append('%s %s (free %s)' % (size, _or(per_node['nr']), _or(per_node['free'])))
            lines.append('  node%s: cpus %s, memory %s (free %s), hugepages %s' % (
                node_id, _or(node['cpulist']), _gib(node['memory_total_kb']), _gib(node['memory_free_kb']),
                ', '.join(pools) or 'none'))
    if hugepages:
        mounts = ', '.join('%s (%s)' % (m['path'], m['pagesize']) for m in hugepages['mounts']) or 'none'
        lines.append('hugepages: default %s; hugetlbfs %s; THP %s' % (
            _or(hugepages['default_size']), mounts, _or(hugepages['transparent']['enabled'])))
    iommu = facts.get('iommu')
    if iommu:
        if iommu['enabled']:
            lines.append('IOMMU: enabled (%s: %s), %s, %d groups%s' % (
                iommu['vendor'], ', '.join(iommu['units']),
                'passthrough' if iommu['passthrough'] else 'translated', iommu['group_count'],
                ', vfio no-IOMMU mode ON' if iommu['vfio_noiommu'] else ''))
        else:
            lines.append('IOMMU: off (%s)' % iommu['reason'])
    pci = facts.get('pci')
    if pci:
        lines.append('devices:')
        for address in sorted(pci['devices']):
            dev = pci['devices'][address]
            if dev['physfn']:
                continue  # VFs are listed under their PF
            extra = []
            if dev['carries_default_route']:
                extra.append('default route')
            if dev['sriov'] is not None:
                extra.append('VFs %s/%s' % (_or(dev['sriov']['numvfs']), _or(dev['sriov']['totalvfs'])))
            lines.append('  %s %s:%s %s driver=%s node=%s group=%s %s%s' % (
                address, dev['vendor'], dev['device'], dev['kind'], _or(dev['driver'], 'none'),
                _or(dev['numa_node']), _or(dev['iommu_group'], '-'), ','.join(dev['netdevs']) or '-',
                ' [%s]' % '; '.join(extra) if extra else ''))
            for vf in (dev['sriov'] or {}).get('vfs', []):
                lines.append('    vf%d %s driver=%s %s' % (
                    vf['index'], vf['address'], _or(vf['driver'], 'none'), ','.join(vf['netdevs']) or '-'))
    for note in facts.get('summary') or []:
        lines.append('note: %s' % note)
    return lines


def flatten(value, prefix=''):
    """{'a': {'b': 1}, 'c': [1, 2]} -> {'a.b': 1, 'c': [1, 2]}: dicts are walked, lists kept whole."""
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(flatten(item, '%s.%s' % (prefix, key) if prefix else str(key)))
        return flat
    return {prefix: value}


def changes(before, after):
    """What differs between two gatherings: ['hugepages.pools.2M.nodes.1.nr: 0 -> 512', ...]."""
    old, new = flatten(before or {}), flatten(after or {})
    lines = []
    for key in sorted(set(old) | set(new)):
        if key.rsplit('.', 1)[-1] in _VOLATILE or key.startswith('summary'):
            continue
        if old.get(key) != new.get(key):
            lines.append('%s: %s -> %s' % (key, _short(old.get(key, '(absent)')), _short(new.get(key, '(absent)'))))
    return lines


def _short(value, limit=160):
    text = str(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'
