# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel arguments: render a declarative spec, validate against the host, edit token lists.

Private to the dataplane.node collection: names may change without notice.
Pure: takes host facts (as _host.Host returns them) and token lists, returns token
lists or raises ArgError with every problem found, so nothing is written on bad input.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError,
    format_cpulist,
    format_size_kb,
    grub_boot_form,
    normalize_key,
    parse_boot_hugepages,
    parse_cmdline,
    parse_cpulist,
    parse_isolcpus,
    parse_size_kb,
    join_init,
    kernel_tokens,
    split_arg,
    split_init,
)

# Whole tokens only: no whitespace, quotes or shell metacharacters can reach a boot loader config.
_SAFE_TOKEN = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.\-]*(=[A-Za-z0-9_.,:/@+%\-=]*)?')
HUGEPAGE_KEYS = ('default_hugepagesz', 'hugepagesz', 'hugepages')
ISOLATION_KEYS = ('isolcpus', 'nohz_full', 'rcu_nocbs')
ISOLCPUS_FLAGS = ('nohz', 'domain', 'managed_irq')
IOMMU_MODES = ('on', 'passthrough', 'off')
# Keep this share of a node's memory out of boot-time hugepages: the kernel itself must boot in it.
HUGEPAGE_MEMORY_LIMIT = 0.9
PER_NODE_HUGEPAGES_KERNEL = (5, 16)
# The kernel keeps COMMAND_LINE_SIZE - 1 bytes of the line and silently drops the rest (x86 and arm64: 2048,
# arch/*/include/asm/setup.h). Architectures not listed are not checked.
COMMAND_LINE_SIZE = {'x86_64': 2048, 'i686': 2048, 'aarch64': 2048}
IOMMU_VENDOR_KEYS = {'intel_iommu': 'intel', 'amd_iommu': 'amd'}
# Added by the boot loader in front of the configured arguments, and counted by the kernel like them.
LOADER_KEYS = ('BOOT_IMAGE', 'root', 'ro', 'rw')


class ArgError(ValueError):
    """Invalid kernel arguments; .problems lists every one found."""

    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


def key_of(token):
    return normalize_key(split_arg(token)[0])


# ---------------------------------------------------------------- rendering

def render(spec, cpu_vendor):
    """Turn the declarative spec into (present tokens, absent entries).

    spec keys (None = leave that concern alone):
      iommu: 'on' | 'passthrough' | 'off'
      hugepages: [{'size': '1G', 'count': 8} | {'size': '1G', 'nodes': {0: 4, 1: 4}}]; [] removes boot pools
      default_hugepagesz: '1G'
      isolated_cpus: '2-7' ('' removes isolation); isolation_flags: ['domain', 'managed_irq']
      isolation_params: which of isolcpus/nohz_full/rcu_nocbs to set
      args: extra tokens; absent: tokens or keys to remove
    """
    present = []
    absent = list(spec.get('absent') or [])
    iommu = spec.get('iommu')
    if iommu is not None:
        if cpu_vendor == 'amd':
            # AMD has no amd_iommu=on: the IOMMU is on whenever firmware has an IVRS table.
            if iommu == 'off':
                present.append('amd_iommu=off')
            else:
                absent.append('amd_iommu=off')
        else:
            present.append('intel_iommu=off' if iommu == 'off' else 'intel_iommu=on')
        if iommu == 'passthrough':
            present.append('iommu=pt')
        else:
            absent.append('iommu=pt')
    hugepages = spec.get('hugepages')
    if hugepages is not None:
        block = render_hugepages(hugepages, spec.get('default_hugepagesz'))
        if block:
            present.extend(block)
        else:
            absent.extend(HUGEPAGE_KEYS)
    isolated = spec.get('isolated_cpus')
    if isolated is not None:
        params = spec.get('isolation_params') or list(ISOLATION_KEYS)
        if str(isolated).strip():
            cpus = format_cpulist(parse_cpulist(str(isolated)))
            for param in params:
                if param == 'isolcpus' and spec.get('isolation_flags'):
                    present.append('isolcpus=%s,%s' % (','.join(spec['isolation_flags']), cpus))
                else:
                    present.append('%s=%s' % (param, cpus))
        else:
            absent.extend(params)
    present.extend(spec.get('args') or [])
    return present, absent


def render_hugepages(pools, default_size=None):
    """Boot hugepage arguments in the order the kernel needs: default size first, then size/count pairs."""
    tokens = []
    if default_size:
        tokens.append('default_hugepagesz=%s' % format_size_kb(parse_size_kb(default_size)))
    for pool in pools:
        size = format_size_kb(parse_size_kb(pool['size']))
        tokens.append('hugepagesz=%s' % size)
        if pool.get('nodes'):
            tokens.append('hugepages=%s' % ','.join('%d:%d' % (int(n), int(c)) for n, c in sorted(
                pool['nodes'].items(), key=lambda item: int(item[0]))))
        else:
            tokens.append('hugepages=%d' % int(pool.get('count') or 0))
    return tokens


# ---------------------------------------------------------------- validation

def validate(present, absent, host=None):
    """Every problem with the requested arguments, checked against the host facts when given.

    host: {'cpus': Host.cpus(), 'numa': Host.numa(), 'hugepage_sizes_kb': [...], 'kernel_version': [5, 14, 0]}
    """
    problems = []
    for token in list(present) + list(absent):
        if not isinstance(token, str) or not _SAFE_TOKEN.fullmatch(token):
            problems.append('unsafe or malformed kernel argument %r (whole tokens only: no spaces, quotes or '
                            'shell characters)' % (token,))
    if problems:
        raise ArgError(problems)
    seen = {}
    for token in present:
        key = key_of(token)
        if key in HUGEPAGE_KEYS:
            continue
        if key in seen and seen[key] != token:
            problems.append('conflicting values for %s: %s and %s' % (key, seen[key], token))
        seen[key] = token
    for entry in absent:
        if '=' in entry:
            if entry in present:
                problems.append('%s is asked to be both present and absent' % entry)
        elif entry in seen or (entry in HUGEPAGE_KEYS and any(key_of(t) == entry for t in present)):
            problems.append('%s is asked to be both present and absent' % entry)
    problems.extend(_validate_iommu_vendor(present, (host or {}).get('iommu_vendor')))
    problems.extend(_validate_hugepages(present, host))
    problems.extend(_validate_cpus(present, host))
    if problems:
        raise ArgError(problems)


def _validate_iommu_vendor(present, vendor):
    """amd_iommu= on an Intel node (or intel_iommu= on AMD) is ignored by the kernel: the IOMMU the request
    means would not change."""
    if vendor not in ('intel', 'amd'):
        return []
    problems = []
    for token in present:
        wanted = IOMMU_VENDOR_KEYS.get(key_of(token))
        if wanted and wanted != vendor:
            problems.append('%s is for %s IOMMUs but this node has an %s one (from its DMAR/IVRS table or CPU '
                            'vendor): the kernel would ignore it' % (token, wanted.upper() if wanted == 'amd' else
                                                                     'Intel', 'AMD' if vendor == 'amd' else 'Intel'))
    return problems


def boot_line_length(after, running):
    """Bytes of the command line the kernel would get: what the boot loader adds in front (BOOT_IMAGE=, root=,
    ro, as on the booted line) and the configured tokens as GRUB renders them (quoted and escaped)."""
    loader = [t for t in kernel_tokens(running) if key_of(t) in LOADER_KEYS and t not in after]
    return len(' '.join(loader + [grub_boot_form(t) for t in after]))


def lint(after, running, spec, arch, online=None):
    """(errors, warnings) about the whole planned line, before anything is written.

    errors: the line is longer than the architecture's COMMAND_LINE_SIZE (the kernel would cut it).
    warnings: isolcpus without its partners when the request asks for isolation (nohz_full, rcu_nocbs with the
    same CPUs; irqaffinity keeping device interrupts on the other CPUs).
    """
    errors = []
    warnings = []
    size = COMMAND_LINE_SIZE.get(arch or '')
    if size:
        length = boot_line_length(after, running)
        if length > size - 1:
            errors.append('the kernel command line would be %d bytes, more than the %d this %s kernel keeps '
                          '(COMMAND_LINE_SIZE %d): it would drop the end silently' % (length, size - 1, arch, size))
    isolated = spec.get('isolated_cpus')
    if isolated is not None and str(isolated).strip():
        kernel = kernel_tokens(after)
        cpus = parse_cpulist(str(isolated))
        values = dict((key_of(t), split_arg(t)[1]) for t in kernel)
        if 'isolcpus' in values:
            for partner, why in (('nohz_full', 'the scheduler tick still interrupts them'),
                                 ('rcu_nocbs', 'RCU callbacks still run on them')):
                value = values.get(partner)
                try:
                    same = value is not None and parse_cpulist(value) == cpus
                except ParseError:
                    same = False
                if not same:
                    text = format_cpulist(cpus)
                    warnings.append('isolcpus=%s without %s=%s: %s' % (text, partner, text, why))
            if 'irqaffinity' not in values:
                rest = sorted(set(online or []) - set(cpus))
                warnings.append('isolcpus=%s without irqaffinity=: device interrupts may still be routed to the '
                                'isolated CPUs%s' % (format_cpulist(cpus), (
                                    '; irqaffinity=%s keeps them on the others' % format_cpulist(rest)) if rest else ''))
    return errors, warnings


def _validate_hugepages(present, host):
    problems = []
    hp_tokens = [t for t in present if key_of(t) in HUGEPAGE_KEYS]
    if not hp_tokens:
        return problems
    try:
        boot = parse_boot_hugepages(parse_cmdline(' '.join(hp_tokens)))
    except ParseError as exc:
        return [str(exc)]
    sizes = [p['size_kb'] for p in boot['pools']]
    if None in sizes:
        problems.append('hugepages= must follow a hugepagesz= (the kernel would apply it to the default size)')
    if len(set(s for s in sizes if s)) != len([s for s in sizes if s]):
        problems.append('each hugepagesz= may appear once')
    if host is None:
        return problems
    supported = host.get('hugepage_sizes_kb') or []
    wanted = set(s for s in sizes if s)
    if boot['default_size_kb']:
        wanted.add(boot['default_size_kb'])
    for size in sorted(wanted):
        if size not in supported:
            hint = ' (1G pages need the pdpe1gb CPU flag)' if size == 1048576 else ''
            problems.append('hugepage size %s is not supported by this host (supported: %s)%s' % (
                format_size_kb(size), ', '.join(format_size_kb(s) for s in supported) or 'none', hint))
    nodes = host.get('numa', {}).get('nodes', {})
    node_ids = set(int(n) for n in nodes)
    per_node_kb = dict((n, 0) for n in node_ids)
    total_kb = 0
    for pool in boot['pools']:
        size = pool['size_kb'] or boot['default_size_kb'] or 2048
        if pool['nodes'] is not None:
            version = tuple(host.get('kernel_version') or (0, 0))[:2]
            if version < PER_NODE_HUGEPAGES_KERNEL:
                problems.append('per-node hugepages=%s needs Linux 5.16 or later (this kernel: %s); use the '
                                'hugepages role for per-node runtime pools' % (
                                    ','.join('%d:%d' % i for i in sorted(pool['nodes'].items())),
                                    '.'.join(str(v) for v in version)))
            for node, count in pool['nodes'].items():
                if node not in node_ids:
                    problems.append('hugepages for NUMA node %d, which does not exist (nodes: %s); the kernel '
                                    'would ignore the whole parameter' % (node, ', '.join(str(n) for n in sorted(node_ids))))
                else:
                    per_node_kb[node] += count * size
        total_kb += (pool['count'] or 0) * size
    for node, wanted_kb in sorted(per_node_kb.items()):
        memory = nodes[str(node)].get('memory_total_kb') or 0
        if wanted_kb and wanted_kb > memory * HUGEPAGE_MEMORY_LIMIT:
            problems.append('boot hugepages on node %d need %s but the node has %s: more than %d%% of it' % (
                node, _human_kb(wanted_kb), _human_kb(memory), int(HUGEPAGE_MEMORY_LIMIT * 100)))
    memory_total = sum((n.get('memory_total_kb') or 0) for n in nodes.values())
    if memory_total and total_kb > memory_total * HUGEPAGE_MEMORY_LIMIT:
        problems.append('boot hugepages need %s but the host has %s: more than %d%% of it' % (
            _human_kb(total_kb), _human_kb(memory_total), int(HUGEPAGE_MEMORY_LIMIT * 100)))
    return problems


def _validate_cpus(present, host):
    problems = []
    online = set((host or {}).get('cpus', {}).get('online') or [])
    for token in present:
        key, value = split_arg(token)
        key = normalize_key(key)
        if key not in ISOLATION_KEYS + ('irqaffinity',) or value is None:
            continue
        try:
            if key == 'isolcpus':
                unknown_flags = [f for f in value.split(',') if f.replace('_', '').isalpha() and f not in ISOLCPUS_FLAGS]
                if unknown_flags:
                    problems.append('unknown isolcpus flag(s) %s' % ', '.join(unknown_flags))
                    continue
                cpus = parse_isolcpus(value)[1]
            else:
                cpus = parse_cpulist(value)
        except ParseError as exc:
            problems.append('%s: %s' % (key, exc))
            continue
        if not cpus:
            problems.append('%s names no CPU' % key)
            continue
        if not online:
            continue
        missing = sorted(set(cpus) - online)
        if missing:
            problems.append('%s names CPUs that do not exist: %s (online: %s)' % (
                key, format_cpulist(missing), format_cpulist(online)))
        elif key != 'irqaffinity' and set(cpus) >= online:
            problems.append('%s would isolate every CPU (%s): leave at least one for the system' % (
                key, format_cpulist(online)))
    return problems


def _human_kb(kb):
    return '%.1f GiB' % (kb / 1048576.0)


# ---------------------------------------------------------------- editing

def edit(current, present, absent):
    """Apply present/absent to a token list, whole token by whole token, before its `--`.

    Tokens after a `--` are init's arguments: kept as they are and never matched; new kernel
    arguments go before the `--`. Every token the request does not name is kept byte for byte.

    - key=value replaces every earlier value of that key, at the first one's place;
    - a bare flag is added once;
    - hugepage arguments are one ordered block: if any is present, the whole old block is
      replaced by the new one (hugepagesz=1G hugepages=16 stay together and in order);
    - an absent 'key' removes every token of that key, an absent 'key=value' only that token.
    """
    current, init, separator = split_init(current)
    absent_tokens = set(a for a in absent if '=' in a)
    absent_keys = set(normalize_key(a) for a in absent if '=' not in a)
    hp_block = [t for t in present if key_of(t) in HUGEPAGE_KEYS]
    singles = [t for t in present if key_of(t) not in HUGEPAGE_KEYS]
    wanted = dict((key_of(t), t) for t in singles)
    out = []
    placed_block = False
    for token in current:
        key = key_of(token)
        if token in absent_tokens or key in absent_keys:
            continue
        if hp_block and key in HUGEPAGE_KEYS:
            if not placed_block:
                out.extend(hp_block)
                placed_block = True
            continue
        if key in wanted:
            if wanted[key] not in out:
                out.append(wanted[key])
            continue
        out.append(token)
    # What is new goes to the end, in the order asked (the hugepage block as one unit).
    for token in present:
        if key_of(token) in HUGEPAGE_KEYS:
            if not placed_block:
                out.extend(hp_block)
                placed_block = True
        elif token not in out:
            out.append(token)
    return join_init(out, init, separator)


def running_difference(running, present, absent):
    """Compare the booted command line with what is wanted: (missing, unexpected) token lists.
    Only the kernel's part counts: a token after `--` went to init and does not count as booted."""
    running = kernel_tokens(running)
    running_set = set(running)
    running_keys = set(key_of(t) for t in running)
    missing = [t for t in present if t not in running_set]
    unexpected = []
    for entry in absent:
        if '=' in entry:
            if entry in running_set:
                unexpected.append(entry)
        elif normalize_key(entry) in running_keys:
            unexpected.extend(t for t in running if key_of(t) == normalize_key(entry))
    hp_block = [t for t in present if key_of(t) in HUGEPAGE_KEYS]
    if hp_block:
        running_block = [t for t in running if key_of(t) in HUGEPAGE_KEYS]
        if running_block != hp_block:
            missing = [t for t in missing if key_of(t) not in HUGEPAGE_KEYS] + hp_block
            unexpected.extend(t for t in running_block if t not in hp_block)
    return missing, unexpected
