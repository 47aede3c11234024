# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assemble the dataplane facts from the host model.

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SUBSETS = ('hugepages', 'numa', 'iommu', 'pci', 'cmdline', 'boot', 'kubelet')
# Kernel parameters this collection manages: seen after `--`, they went to init and did nothing.
_KERNEL_KEYS = ('intel_iommu', 'amd_iommu', 'iommu', 'iommu.passthrough', 'isolcpus', 'nohz_full', 'rcu_nocbs',
                'irqaffinity', 'default_hugepagesz', 'hugepagesz', 'hugepages')


class SubsetError(ValueError):
    pass


def resolve_subsets(requested):
    """Expand 'all' and '!name' the way ansible.builtin.setup does; unknown names are errors."""
    requested = list(requested or ['all'])
    unknown = sorted(set(r.lstrip('!') for r in requested) - set(SUBSETS + ('all',)))
    if unknown:
        raise SubsetError('unknown gather_subset %s; valid: all, %s' % (', '.join(unknown), ', '.join(SUBSETS)))
    chosen = set()
    excluded = set()
    for item in requested:
        if item == 'all':
            chosen.update(SUBSETS)
        elif item == '!all':
            excluded.update(SUBSETS)
        elif item.startswith('!'):
            excluded.add(item[1:])
        else:
            chosen.add(item)
    if not chosen and excluded:
        chosen = set(SUBSETS)  # '!pci' alone means everything but pci
    return [s for s in SUBSETS if s in chosen and s not in excluded]


def gather(host, subsets, kubelet_binary='kubelet', run_command=None, warn=None, read_management=None):
    """The `dataplane` fact for the given subsets, read through `host` (a _host.Host).

    The kubelet subset is kubelet_info's result (run_command runs `kubelet --version`), so that a play which gathers
    facts first can give the kubelet role what it needs without a module run of its own.
    read_management(host) -> the management stack (_netstack.facts_stack with the module's session and addresses);
    without it, what the tree alone tells (the default routes).
    """
    facts = {'root': host.fs.root, 'gather_subset': list(subsets)}
    if 'hugepages' in subsets:
        facts['hugepages'] = host.hugepages()
    if 'numa' in subsets:
        numa = dict(host.numa())
        numa['cpus'] = host.cpus()
        facts['numa'] = numa
    if 'iommu' in subsets:
        facts['iommu'] = host.iommu()
    if 'pci' in subsets:
        facts['pci'] = host.pci()
        # The management stack from the same seeds the guarded modules use (the SSH session, the management
        # addresses and interfaces, the default routes, down every layer): the preflight plans their refusals from it.
        from ansible_collections.dataplane.node.plugins.module_utils._netstack import host_stack, summary
        facts['management'] = summary(read_management(host) if read_management else host_stack(host))
    if 'cmdline' in subsets:
        facts['cmdline'] = host.cmdline()
    if 'boot' in subsets:
        facts['boot'] = host.boot()
    if 'kubelet' in subsets:
        # Imported here: the kubelet code is the largest module_utils, compiled on every run of a module.
        from ansible_collections.dataplane.node.plugins.module_utils._kubelet_probe import probe
        facts['kubelet'] = probe(host, kubelet_binary, run_command, warn)
    facts['summary'] = summarize(facts)
    return facts


def summarize(facts):
    """Plain-language findings a node owner should see first (no NUMA, no IOMMU, ...)."""
    notes = []
    numa = facts.get('numa')
    if numa is not None and not numa['available']:
        notes.append('no NUMA topology exposed by the kernel (single node or CONFIG_NUMA off)')
    elif numa is not None and numa['node_count'] == 1:
        notes.append('single NUMA node')
    iommu = facts.get('iommu')
    if iommu is not None and not iommu['enabled']:
        notes.append('IOMMU not enabled: %s' % iommu['reason'])
    hugepages = facts.get('hugepages')
    if hugepages is not None:
        if not hugepages['supported']:
            notes.append('no hugepage support in this kernel (no /sys/kernel/mm/hugepages)')
        elif not any(p['nr'] for p in hugepages['pools'].values()):
            notes.append('no hugepages allocated')
    cmdline = facts.get('cmdline')
    if cmdline is not None:
        stray = [t for t in cmdline.get('init_args') or [] if t.partition('=')[0].replace('-', '_') in _KERNEL_KEYS]
        if stray:
            notes.append('kernel arguments after `--` went to init, not the kernel: %s' % ' '.join(stray))
    pci = facts.get('pci')
    if pci is not None:
        if not pci['sriov_pfs']:
            notes.append('no SR-IOV capable device found')
        unknown = sorted(a for a, d in pci['devices'].items() if d['numa_node'] is None)
        if unknown and numa is not None and numa.get('node_count', 0) > 1:
            notes.append('NUMA node unknown (numa_node -1) for %s' % ', '.join(unknown))
    return notes
