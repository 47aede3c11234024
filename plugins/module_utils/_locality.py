# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NUMA-locality plan: hugepages, VFs and isolated CPUs on the NUMA node of the selected NICs.

Private to the dataplane.node collection: names may change without notice.

A pure function of the gathered `dataplane` fact and the host's (effective) variables. It names the
NICs the run uses (SR-IOV PFs, devices for vfio-pci, devices pools are placed near), finds their NUMA
nodes, and for every hugepage pool and the isolated CPUs says where they land and whether that is
on the NICs' node. Modes (``dataplane_numa_locality``):

- ``off``: no plan findings (the reboot forecast is still made);
- ``warn``: splits are warnings;
- ``place``: pools without a placement are put on the NICs' node(s) (the returned ``hugepages_pools``
  is what the roles then apply); splits the user asked for explicitly stay, as warnings;
- ``strict``: splits the user asked for explicitly are errors (the preflight fails the run).

``kernel_cmdline_isolated_cpus: auto`` isolates the CPUs of the NICs' node(s) but each node's first core (with its
thread siblings), or of every node when no NIC node is known; the plan returns the resolved list.

It also forecasts the reboot: the kernel arguments the kernel_cmdline role will ask for, rendered with
the module's own code, against the booted command line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils._hugepages import BOOT_ONLY_SIZES_KB
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import render, running_difference
from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError,
    format_cpulist,
    format_size_kb,
    normalize_pci_address,
    parse_cpulist,
    parse_size_kb,
    tokenize_cmdline,
)
from ansible_collections.dataplane.node.plugins.module_utils._pci import PciError, select_pf


def _address(text):
    try:
        return normalize_pci_address(str(text))
    except ParseError:
        return None


def selected_nics(facts, values):
    """The devices the run uses, with their NUMA node: [{'address', 'uses', 'numa_node', 'driver', ...}]."""
    devices = facts['pci']['devices']
    chosen = {}

    def add(device, use, **extra):
        entry = chosen.setdefault(device['address'], {
            'address': device['address'], 'uses': [], 'numa_node': device['numa_node'], 'driver': device['driver'],
            'netdevs': list(device['netdevs']), 'vendor': device['vendor'], 'device': device['device']})
        if use not in entry['uses']:
            entry['uses'].append(use)
        entry.update(extra)

    for pf in values.get('sriov_pfs') or []:
        if not isinstance(pf, dict):
            continue
        try:
            found = select_pf(facts['pci'], address=pf.get('pf'), netdev=pf.get('netdev'), vendor=pf.get('vendor'),
                              device=pf.get('device'), index=pf.get('index') or 0)
        except PciError:
            continue
        add(found, 'sriov', numvfs=pf.get('numvfs'), vfio_vfs=sorted(pf.get('vfio_vfs') or []))
    for address in values.get('sriov_vfio_devices') or []:
        device = devices.get(_address(address) or '')
        if device is not None:
            add(device, 'vfio-pci')
    for pool in values.get('hugepages_pools') or []:
        if isinstance(pool, dict) and pool.get('near'):
            device = devices.get(_address(pool['near']) or '')
            if device is not None:
                add(device, 'hugepages near')
    return [chosen[a] for a in sorted(chosen)]


def _memory_nodes(facts):
    return sorted(int(n) for n, d in facts['numa']['nodes'].items() if d.get('has_memory'))


def _spread(count, nodes):
    base, extra = divmod(count, len(nodes))
    return dict((node, base + (1 if i < extra else 0)) for i, node in enumerate(nodes))


def pool_placement(pool, facts):
    """(how, {node: count}) of one pool as the hugepages role will place it; how is node/nodes/near/spread."""
    if pool.get('nodes') is not None:
        return 'nodes', dict((int(n), c) for n, c in pool['nodes'].items())
    if pool.get('node') is not None:
        return 'node', {int(pool['node']): pool.get('count') or 0}
    if pool.get('near'):
        device = facts['pci']['devices'].get(_address(pool['near']) or '')
        if device is None or device['numa_node'] is None:
            return 'near', {}
        return 'near', {device['numa_node']: pool.get('count') or 0}
    nodes = _memory_nodes(facts)
    return 'spread', _spread(pool.get('count') or 0, nodes) if nodes else {}


def suggest_isolated(facts, nodes):
    """CPUs worth isolating on the given nodes: all of them but each node's first core (with its siblings)."""
    cpus = facts['numa'].get('cpus') or {}
    siblings = dict((c, g) for g in cpus.get('thread_siblings') or [] for c in g)
    chosen = []
    for node in nodes:
        node_cpus = sorted(facts['numa']['nodes'].get(str(node), {}).get('cpus') or [])
        if len(node_cpus) < 2:
            continue
        housekeeping = set(siblings.get(node_cpus[0], [node_cpus[0]]))
        chosen.extend(c for c in node_cpus if c not in housekeeping)
    return format_cpulist(sorted(chosen)) if chosen else None


def cmdline_spec(facts, values):
    """The kernel_cmdline module's spec as the site playbook builds it: the hugepages role hands the 1G pools
    (placed as the plan places them) and the default size over; the rest are kernel_cmdline_* variables."""
    boot_pools = []
    for pool in values.get('hugepages_pools') or []:
        if not isinstance(pool, dict):
            continue
        try:
            size_kb = parse_size_kb(pool.get('size'))
        except ParseError:
            continue
        if size_kb in BOOT_ONLY_SIZES_KB:
            how, nodes = pool_placement(pool, facts)
            entry = {'size': format_size_kb(size_kb)}
            if how == 'spread':
                entry['count'] = pool.get('count') or 0
            else:
                entry['nodes'] = nodes
            boot_pools.append(entry)
    default_size = values.get('hugepages_default_size')
    if boot_pools or default_size:
        hugepages = boot_pools
    else:
        hugepages = values.get('kernel_cmdline_hugepages')
    iommu = values.get('kernel_cmdline_iommu')
    if isinstance(iommu, bool):
        iommu = 'on' if iommu else 'off'
    return {
        'iommu': iommu,
        'hugepages': hugepages,
        'default_hugepagesz': default_size or values.get('kernel_cmdline_default_hugepagesz'),
        'isolated_cpus': values.get('kernel_cmdline_isolated_cpus'),
        'isolation_params': values.get('kernel_cmdline_isolation_params'),
        'isolation_flags': values.get('kernel_cmdline_isolation_flags') or [],
        'args': values.get('kernel_cmdline_args') or [],
        'absent': values.get('kernel_cmdline_absent') or [],
    }


def iommu_kind(facts):
    """intel or amd, as the kernel_cmdline module decides it: the firmware's table, else the CPU vendor."""
    return (facts.get('iommu') or {}).get('platform') or ((facts.get('numa') or {}).get('cpus') or {}).get('vendor')


def reboot_forecast(facts, values):
    """Whether the run's kernel arguments differ from the booted command line: the kernel_cmdline role's view."""
    cmdline = facts.get('cmdline') or {}
    if not cmdline.get('raw'):
        return {'known': False, 'needed': None, 'missing': [], 'unexpected': []}
    try:
        present, absent = render(cmdline_spec(facts, values), iommu_kind(facts))
    except (ParseError, ValueError, KeyError, TypeError):
        return {'known': False, 'needed': None, 'missing': [], 'unexpected': []}
    missing, unexpected = running_difference(tokenize_cmdline(cmdline['raw']), present, absent)
    return {'known': True, 'needed': bool(missing or unexpected), 'missing': missing, 'unexpected': unexpected}


def plan(facts, values, mode=None):
    """The locality plan of one node. `values` are the host's effective variables."""
    mode = mode or values.get('dataplane_numa_locality') or 'warn'
    findings = []
    auto = None
    if str(values.get('kernel_cmdline_isolated_cpus') or '').strip() == 'auto' and 'numa' in facts and 'pci' in facts:
        # 'auto': the NICs' node(s) but each node's first core; every node with CPUs when no NIC node is known.
        nodes = sorted(set(n['numa_node'] for n in selected_nics(facts, values) if n['numa_node'] is not None))
        with_cpus = sorted(int(n) for n, d in facts['numa']['nodes'].items() if d.get('cpus'))
        auto = suggest_isolated(facts, nodes or with_cpus)
        values = dict(values, kernel_cmdline_isolated_cpus=auto)
    result = {'mode': mode, 'nics': [], 'nic_nodes': [], 'pools': [], 'hugepages_pools': None,
              'isolated_cpus': None, 'suggested_isolated_cpus': None, 'auto_isolated_cpus': auto,
              'findings': findings, 'reboot': reboot_forecast(facts, values)}
    if mode == 'off' or not all(k in facts for k in ('numa', 'pci', 'hugepages')):
        return result

    def finding(explicit, text):
        findings.append({'level': 'error' if explicit and mode == 'strict' else 'warning', 'text': text})

    nics = selected_nics(facts, values)
    result['nics'] = nics
    memory_nodes = _memory_nodes(facts)
    unknown = [n['address'] for n in nics if n['numa_node'] is None]
    if unknown and len(memory_nodes) > 1:
        finding(False, 'NUMA node unknown (numa_node -1) for %s: locality cannot be checked for it' % ', '.join(unknown))
    nic_nodes = sorted(set(n['numa_node'] for n in nics if n['numa_node'] is not None))
    result['nic_nodes'] = nic_nodes
    if len(nic_nodes) > 1:
        finding(False, 'the selected NICs sit on NUMA nodes %s: each needs its own hugepages and CPUs'
                % ', '.join(str(n) for n in nic_nodes))
    local = [n for n in nic_nodes if n in memory_nodes]
    multi = len(memory_nodes) > 1 and bool(local)

    placed_pools = []
    changed = False
    nodes_with_pages = set()
    for pool in values.get('hugepages_pools') or []:
        if not isinstance(pool, dict):
            placed_pools.append(pool)
            continue
        how, nodes = pool_placement(pool, facts)
        entry = {'size': pool.get('size'), 'placement': how, 'nodes': dict((str(n), c) for n, c in sorted(nodes.items()))}
        if multi and how == 'spread' and mode == 'place' and (pool.get('count') or 0) > 0:
            placed = _spread(pool['count'], local)
            entry.update(placement='placed', nodes=dict((str(n), c) for n, c in sorted(placed.items())))
            new_pool = dict((k, v) for k, v in pool.items() if k != 'count')
            new_pool['nodes'] = dict((n, c) for n, c in sorted(placed.items()))
            placed_pools.append(new_pool)
            changed = True
            nodes = placed
        else:
            placed_pools.append(pool)
        nodes_with_pages.update(n for n, c in nodes.items() if c)
        far = sorted(n for n, c in nodes.items() if c and n not in local)
        entry['far_nodes'] = far
        if multi and far:
            finding(how != 'spread', '%s pool: %s page(s) on node(s) %s, away from the NICs (node %s)%s' % (
                entry['size'], sum(nodes[n] for n in far), ','.join(str(n) for n in far),
                ','.join(str(n) for n in local),
                '' if how != 'spread' else ': spread evenly by default; set near, node(s) or dataplane_numa_locality=place'))
        result['pools'].append(entry)
    if changed:
        result['hugepages_pools'] = placed_pools
    if multi and result['pools']:
        for nic in nics:
            if nic['numa_node'] in local and nic['numa_node'] not in nodes_with_pages:
                finding(True, 'NIC %s (node %s) has no hugepages on its NUMA node' % (nic['address'], nic['numa_node']))

    isolated = values.get('kernel_cmdline_isolated_cpus')
    if isolated:
        try:
            cpus = parse_cpulist(str(isolated))
        except ParseError:
            cpus = []
        node_of = dict((int(c), n) for c, n in ((facts['numa'].get('cpus') or {}).get('node_of_cpu') or {}).items())
        by_node = {}
        for cpu in cpus:
            by_node.setdefault(node_of.get(cpu), []).append(cpu)
        result['isolated_cpus'] = dict((str(n), format_cpulist(c)) for n, c in by_node.items())
        if multi:
            far = sorted(n for n in by_node if n is not None and n not in local)
            if far:
                finding(True, 'isolated CPUs %s are on node(s) %s, away from the NICs (node %s)' % (
                    format_cpulist(sorted(c for n in far for c in by_node[n])), ','.join(str(n) for n in far),
                    ','.join(str(n) for n in local)))
            if not any(n in local for n in by_node):
                finding(True, 'no isolated CPU on the NICs\' node %s' % ','.join(str(n) for n in local))
    elif local and len(memory_nodes) > 1:
        result['suggested_isolated_cpus'] = suggest_isolated(facts, local)
    return result


def plan_lines(name, result):
    """A readable plan of one node."""
    lines = []
    reboot = result['reboot']
    if not reboot['known']:
        reboot_text = 'unknown (no command line gathered)'
    elif reboot['needed']:
        reboot_text = 'yes (%s)' % '; '.join(
            part for part in ('missing %s' % ' '.join(reboot['missing']) if reboot['missing'] else '',
                              'unexpected %s' % ' '.join(reboot['unexpected']) if reboot['unexpected'] else '') if part)
    else:
        reboot_text = 'no'
    lines.append('%s: locality %s; NICs on node %s; reboot: %s' % (
        name, result['mode'], ','.join(str(n) for n in result['nic_nodes']) or '-', reboot_text))
    for nic in result['nics']:
        lines.append('  NIC %s %s node %s driver %s: %s%s' % (
            nic['address'], ','.join(nic['netdevs']) or '-', '?' if nic['numa_node'] is None else nic['numa_node'],
            nic['driver'] or 'none', ', '.join(nic['uses']),
            ' (%s VFs, vfio %s)' % (nic.get('numvfs'), format_cpulist(nic.get('vfio_vfs') or []) or 'none')
            if 'sriov' in nic['uses'] else ''))
    for pool in result['pools']:
        lines.append('  hugepages %s (%s): %s' % (
            pool['size'], pool['placement'],
            ', '.join('node%s=%s' % (n, c) for n, c in pool['nodes'].items()) or 'unplaced'))
    if result.get('auto_isolated_cpus'):
        lines.append('  isolated CPUs (auto): %s' % result['auto_isolated_cpus'])
    if result['isolated_cpus']:
        lines.append('  isolated CPUs: %s' % ', '.join(
            'node%s %s' % (n, c) for n, c in sorted(result['isolated_cpus'].items())))
    elif result['suggested_isolated_cpus']:
        lines.append('  isolated CPUs: none set; on the NICs\' node: kernel_cmdline_isolated_cpus=%s'
                     % result['suggested_isolated_cpus'])
    for item in result['findings']:
        lines.append('  %s: %s' % (item['level'], item['text']))
    return lines
