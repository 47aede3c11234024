# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a boot: did the kernel give what the command line asked for?

Private to the dataplane.node collection: names may change without notice.
The kernel accepts hugepages=0:1,1:1 and may place both pages on one node, or fewer
when a node has no free 1 GiB range; intel_iommu=on may meet firmware without DMAR.
These checks read the facts gathered after the boot and name every difference.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import (
    HUGEPAGE_KEYS, key_of, running_difference)
from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError, format_cpulist, format_size_kb, parse_boot_hugepages, parse_cmdline, parse_cpulist, parse_isolcpus,
    split_arg, tokenize_cmdline)


def boot_problems(facts, wanted):
    """Every way the booted node differs from `wanted` ({'present': [...], 'absent': [...]}), as sentences."""
    present = list(wanted.get('present') or [])
    absent = list(wanted.get('absent') or [])
    problems = []
    raw = (facts.get('cmdline') or {}).get('raw')
    if raw is None:
        return ['the kernel command line was not gathered']
    try:
        running = tokenize_cmdline(raw, strict=False)
    except ParseError as exc:
        return ['cannot read the booted command line: %s' % exc]
    missing, unexpected = running_difference(running, present, absent)
    if missing:
        problems.append('booted without %s' % ' '.join(missing))
    if unexpected:
        problems.append('booted with %s, asked to be absent' % ' '.join(unexpected))
    if missing or unexpected:
        return problems  # the rest only means something when the arguments reached the kernel
    # The tokens reached the kernel; now what the kernel did with them, in its own files.
    problems.extend(_isolation_problems((facts.get('cmdline') or {}).get('effect'), present))
    problems.extend(_iommu_problems(facts.get('iommu'), present))
    problems.extend(_hugepage_problems(facts.get('hugepages'), present))
    return problems


def _last_value(present, key):
    values = [split_arg(t)[1] for t in present if key_of(t) == key]
    return values[-1] if values else None


def _isolation_problems(effect, present):
    """isolcpus= against /sys/devices/system/cpu/isolated (CPUs out of the scheduler domains: only with the
    default or `domain` flag), nohz_full= against .../nohz_full. rcu_nocbs= has no file of its own."""
    if effect is None:
        return []
    problems = []
    isolcpus = _last_value(present, 'isolcpus')
    if isolcpus:
        flags, cpus = parse_isolcpus(isolcpus)
        if not flags or 'domain' in flags:
            got = effect.get('isolated')
            if got != cpus:
                problems.append('isolcpus=%s booted but /sys/devices/system/cpu/isolated is %r: the kernel did not '
                                'isolate %s' % (isolcpus, _cpus_text(got), format_cpulist(cpus)))
    nohz = _last_value(present, 'nohz_full')
    if nohz:
        cpus = parse_cpulist(nohz)
        got = effect.get('nohz_full')
        if got is None:
            problems.append('nohz_full=%s booted but /sys/devices/system/cpu/nohz_full is missing: this kernel '
                            'has no CONFIG_NO_HZ_FULL and ignores it' % nohz)
        elif got != cpus:
            problems.append('nohz_full=%s booted but /sys/devices/system/cpu/nohz_full is %r' % (nohz, _cpus_text(got)))
    return problems


def _cpus_text(cpus):
    if cpus is None:
        return 'missing'
    return format_cpulist(cpus)


def _iommu_problems(iommu, present):
    """IOMMU arguments against the units the kernel registered (dmar*/ivhd*, from the firmware's DMAR/IVRS
    table) and the default domain type of the groups (identity under passthrough)."""
    if iommu is None:
        return []
    wants_on = 'intel_iommu=on' in present or 'iommu=pt' in present or any(
        key_of(t) == 'amd_iommu' and split_arg(t)[1] != 'off' for t in present)
    if wants_on and not iommu.get('enabled'):
        return ['IOMMU asked for (%s) but not enabled after boot: %s (ACPI tables: %s; units: %s)' % (
            ' '.join(t for t in present if key_of(t) in ('intel_iommu', 'amd_iommu', 'iommu')),
            iommu.get('reason'), ', '.join(iommu.get('acpi_tables') or []) or 'no DMAR/IVRS',
            ', '.join(iommu.get('units') or []) or 'none')]
    if 'iommu=pt' in present and iommu.get('enabled'):
        types = iommu.get('group_types') or []
        if types != ['identity']:
            return ['iommu=pt booted but the IOMMU groups are not in passthrough: their type is %s, not identity' % (
                ', '.join(types) or 'unknown')]
    return []


def _hugepage_problems(hugepages, present):
    tokens = [t for t in present if key_of(t) in HUGEPAGE_KEYS]
    if hugepages is None or not tokens:
        return []
    boot = parse_boot_hugepages(parse_cmdline(' '.join(tokens)))
    problems = []
    if boot['default_size_kb'] and hugepages.get('default_size_kb') != boot['default_size_kb']:
        problems.append('default hugepage size is %s, asked %s' % (
            hugepages.get('default_size'), format_size_kb(boot['default_size_kb'])))
    for pool in boot['pools']:
        size_kb = pool['size_kb'] or boot['default_size_kb'] or hugepages.get('default_size_kb')
        got = hugepages['pools'].get(format_size_kb(size_kb)) if size_kb else None
        if got is None:
            problems.append('no %s hugepage pool after boot' % format_size_kb(size_kb or 0))
            continue
        if pool['nodes']:
            rows = []
            for node, asked in sorted(pool['nodes'].items()):
                have = (got['nodes'].get(str(node)) or {}).get('nr')
                if have != asked:
                    rows.append('node%d asked %d got %s' % (node, asked, have))
            if rows:
                problems.append('%s pages per node differ from the command line: %s (the kernel may place a '
                                "node's pages on another node, or fewer when memory is fragmented)" % (
                                    format_size_kb(size_kb), ', '.join(rows)))
        elif got['nr'] is not None and got['nr'] < pool['count']:
            problems.append('%s pages: asked %d got %d' % (format_size_kb(size_kb), pool['count'], got['nr']))
    return problems
