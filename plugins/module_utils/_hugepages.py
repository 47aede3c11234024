# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime hugepage pools per NUMA node: resolve a spec, plan the writes, apply them with read-back.

Private to the dataplane.node collection: names may change without notice.

The kernel accepts a write to nr_hugepages and silently allocates fewer pages when
memory is fragmented, so every write is read back; a shortfall triggers drop_caches
and per-node compaction, then a retry, and finally either an error with a table of
asked vs got (the run's earlier writes undone) or, when allowed, a warning.
Used by the hugepages module and by the boot-time applier the role installs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, format_size_kb, parse_size_kb

NODE_DIR = 'sys/devices/system/node'


class HugepageError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


class ShortfallError(Exception):
    def __init__(self, msg, results):
        Exception.__init__(self, msg)
        self.results = results


def node_nr_path(node, size_kb):
    return '%s/node%d/hugepages/hugepages-%dkB/nr_hugepages' % (NODE_DIR, node, size_kb)


def resolve(pools, host):
    """Spec -> {(size_kb, node): count}, validated against the host; raises HugepageError with every problem.

    A pool is {'size': '2M', 'count': N} with one of:
      'node': id           -- N pages on that node
      'nodes': {id: n}     -- n pages on each listed node ('count' not used)
      'near': PCI address  -- N pages on that device's NUMA node (an error when the kernel does not know it)
      none of these        -- N pages in total, spread evenly over the nodes that have memory
    """
    problems = []
    targets = {}
    numa = host.numa()
    memory_nodes = sorted(int(n) for n, d in numa['nodes'].items() if d['has_memory'])
    supported = host.hugepage_sizes_kb()
    for index, pool in enumerate(pools):
        where = 'pool %d' % (index + 1)
        try:
            size_kb = parse_size_kb(pool.get('size'))
        except ParseError as exc:
            problems.append('%s: %s' % (where, exc))
            continue
        where = '%s pool' % format_size_kb(size_kb)
        if size_kb not in supported:
            problems.append('%s: page size not supported by this host (supported: %s)' % (
                where, ', '.join(format_size_kb(s) for s in supported) or 'none'))
            continue
        per_node, errors = _per_node(pool, host, memory_nodes, where)
        problems.extend(errors)
        for node, count in per_node.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                problems.append('%s: count for node %s must be a non-negative integer, got %r' % (where, node, count))
                continue
            node_info = numa['nodes'].get(str(node))
            if node_info is None:
                problems.append('%s: NUMA node %s does not exist (nodes: %s)' % (
                    where, node, ', '.join(numa['nodes']) or 'none'))
                continue
            if not node_info['has_memory']:
                problems.append('%s: NUMA node %s has no memory' % (where, node))
                continue
            if (size_kb, node) in targets and targets[(size_kb, node)] != count:
                problems.append('%s: node %s is given twice (%d and %d pages)' % (
                    where, node, targets[(size_kb, node)], count))
            targets[(size_kb, node)] = count
    problems.extend(_memory_problems(targets, numa))
    if problems:
        raise HugepageError(problems)
    return targets


def _per_node(pool, host, memory_nodes, where):
    count = pool.get('count')
    if pool.get('nodes') is not None:
        try:
            return dict((int(n), c) for n, c in pool['nodes'].items()), []
        except (TypeError, ValueError):
            return {}, ['%s: nodes must map NUMA node ids to counts' % where]
    if count is None:
        return {}, ['%s: needs count (or nodes)' % where]
    if pool.get('node') is not None:
        return {int(pool['node']): count}, []
    if pool.get('near'):
        device = host.pci()['devices'].get(pool['near'])
        if device is None:
            return {}, ['%s: device %s not found among network/accelerator devices' % (where, pool['near'])]
        if device['numa_node'] is None:
            return {}, ['%s: the kernel does not know the NUMA node of %s (numa_node -1): give node explicitly'
                        % (where, pool['near'])]
        return {device['numa_node']: count}, []
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return {}, ['%s: count must be a non-negative integer, got %r' % (where, count)]
    if not memory_nodes:
        return {}, ['%s: no NUMA node with memory' % where]
    # Evenly, the remainder on the lowest nodes: the same split the kernel makes for hugepages=N at boot.
    base, extra = divmod(count, len(memory_nodes))
    return dict((node, base + (1 if i < extra else 0)) for i, node in enumerate(memory_nodes)), []


def _memory_problems(targets, numa):
    problems = []
    per_node_kb = {}
    for (size_kb, node), count in targets.items():
        per_node_kb[node] = per_node_kb.get(node, 0) + size_kb * count
    for node, wanted_kb in sorted(per_node_kb.items()):
        total = numa['nodes'][str(node)]['memory_total_kb'] or 0
        if wanted_kb > total:
            problems.append('node %d: the pools need %.1f GiB but the node has %.1f GiB' % (
                node, wanted_kb / 1048576.0, total / 1048576.0))
    return problems


def plan(targets, host):
    """Writes needed, shrinking first (it frees memory for the growing pools): [{size_kb, node, before, after}]."""
    actions = []
    for (size_kb, node), count in sorted(targets.items()):
        pool = host.hugepage_pool(size_kb)
        current = (pool['nodes'].get(str(node)) or {})
        before = current.get('nr')
        if before != count:
            actions.append({'size_kb': size_kb, 'node': node, 'before': before, 'after': count,
                            'free': current.get('free'), 'surplus': current.get('surplus')})
    actions.sort(key=lambda a: (a['after'] >= (a['before'] or 0), a['size_kb'], a['node']))
    return actions


def shrink_below_use(actions):
    """Actions that ask a pool to hold fewer pages than are in use: the kernel keeps them as surplus."""
    rows = []
    for action in actions:
        if action['before'] is None or action['free'] is None:
            continue
        in_use = action['before'] - action['free']
        if action['after'] < in_use:
            rows.append('%s node%d: %d pages in use, asked for %d' % (
                format_size_kb(action['size_kb']), action['node'], in_use, action['after']))
    return rows


def apply(actions, host, writer, retries=2, compact=True):
    """Write every action and read it back; on a short node: drop caches, compact it, retry.

    Returns the results [{..., 'got': n}]. If pages are still missing after the retries, every
    write of this call is undone (the previous counts written back) and ShortfallError carries
    the results and a table of asked vs got.
    """
    results = []
    for action in actions:
        path = node_nr_path(action['node'], action['size_kb'])
        got = _write_read(writer, host, path, action['after'])
        attempts = 0
        while got is not None and got < action['after'] and attempts < retries:
            attempts += 1
            _make_room(writer, action['node'], compact)
            got = _write_read(writer, host, path, action['after'])
        results.append(dict(action, got=got, retries=attempts))
    short = [r for r in results if r['got'] is None or r['got'] < r['after']]
    return results, short


def undo(results, host, writer):
    """Write back the counts from before (best effort; returns what each node holds afterwards)."""
    restored = []
    for result in reversed(results):
        if result['before'] is None:
            continue
        got = _write_read(writer, host, node_nr_path(result['node'], result['size_kb']), result['before'])
        restored.append(dict(result, restored_to=got))
    return restored


def shortfall_table(short):
    lines = ['size  node  before  asked  got']
    for row in short:
        lines.append('%-5s %4d  %6s  %5d  %3s' % (format_size_kb(row['size_kb']), row['node'],
                                                  row['before'], row['after'], row['got']))
    return '\n'.join(lines)


def _write_read(writer, host, path, count):
    writer.write(path, '%d\n' % count)
    return host.fs.read_int(path)


def _make_room(writer, node, compact):
    # Dropping clean caches and compacting the node gives the allocator contiguous free pages.
    writer.write('proc/sys/vm/drop_caches', '3\n', ignore_errors=True)
    if compact:
        writer.write('%s/node%d/compact' % (NODE_DIR, node), '1\n', ignore_errors=True)


BOOT_ONLY_SIZES_KB = (1048576,)


def split_pools(pools, facts=None):
    """Pools -> (boot, runtime): 1G pools go on the kernel command line (contiguous 1 GiB ranges are
    reliably free only at boot), smaller ones are allocated at runtime.

    Boot pools come back in the kernel_cmdline module's form ({size, count} or {size, nodes}); a
    'near' device is resolved to its NUMA node from the dataplane facts.
    """
    boot, runtime, problems = [], [], []
    for pool in pools or []:
        try:
            size_kb = parse_size_kb(pool.get('size'))
        except ParseError as exc:
            problems.append(str(exc))
            continue
        if size_kb not in BOOT_ONLY_SIZES_KB:
            runtime.append(pool)
            continue
        entry = {'size': format_size_kb(size_kb)}
        if pool.get('nodes') is not None:
            entry['nodes'] = dict((int(n), c) for n, c in pool['nodes'].items())
        elif pool.get('node') is not None:
            entry['nodes'] = {int(pool['node']): pool.get('count')}
        elif pool.get('near'):
            device = ((facts or {}).get('pci') or {}).get('devices', {}).get(pool['near'])
            if device is None or device.get('numa_node') is None:
                problems.append('1G pool near %s: the NUMA node of that device is unknown; give node explicitly'
                                % pool['near'])
                continue
            entry['nodes'] = {device['numa_node']: pool.get('count')}
        else:
            entry['count'] = pool.get('count')
        boot.append(entry)
    if problems:
        raise HugepageError(problems)
    return boot, runtime


# hugetlbfs mounts: validated against the host's page sizes, the fstab entry and the live mount planned as data,
# and read back from /proc/mounts by the caller after mounting.

SYSTEMD_HUGEPAGES = '/dev/hugepages'
DEFAULT_MODE = 0o755  # hugetlbfs shows mode= in /proc/mounts only when it differs from this


def mount_options(spec):
    """The option string of a mount spec, in the order the role has always written it to fstab."""
    opts = ['pagesize=%s' % spec['pagesize']]
    for key in ('mode', 'uid', 'gid'):
        if spec.get(key) is not None:
            opts.append('%s=%s' % (key, spec[key]))
    return ','.join(opts)


def fstab_line(spec):
    return 'none %s hugetlbfs %s 0 0' % (_escape_mount(spec['path']), mount_options(spec))


def _escape_mount(path):
    return ''.join('\\%03o' % ord(c) if c in ' \t\n\\' else c for c in path)


def _id_value(value, kind, lookup, where, problems):
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    number = lookup(kind, text) if lookup else None
    if number is None:
        problems.append('%s: %s %s not found on the node' % (where, kind, text))
    return number


def validate_mounts(specs, supported_kb, lookup=None):
    """Mount specs -> [{path, pagesize_kb, mode, uid, gid, spec}] or HugepageError with every problem.

    lookup(kind, name) resolves a user or group name ('uid'/'gid') to its number (None when unknown).
    """
    problems, wanted, seen = [], [], set()
    for index, spec in enumerate(specs or []):
        path = spec.get('path')
        where = 'mount %s' % (path or index + 1)
        if not path or not str(path).startswith('/'):
            problems.append('%s: path must be absolute' % where)
            continue
        path = str(path).rstrip('/') or '/'
        if path == SYSTEMD_HUGEPAGES:
            problems.append('%s: %s belongs to systemd (dev-hugepages.mount, default page size); mount other sizes '
                            'elsewhere, e.g. /dev/hugepages1G' % (where, SYSTEMD_HUGEPAGES))
            continue
        if path in seen:
            problems.append('%s: given twice' % where)
            continue
        seen.add(path)
        try:
            size_kb = parse_size_kb(spec.get('pagesize'))
        except ParseError as exc:
            problems.append('%s: pagesize: %s' % (where, exc))
            continue
        if size_kb not in supported_kb:
            problems.append('%s: the host has no %s hugepage pool, so hugetlbfs cannot mount that page size '
                            '(pools: %s)' % (where, format_size_kb(size_kb),
                                             ', '.join(format_size_kb(s) for s in supported_kb) or 'none'))
            continue
        mode = None
        if spec.get('mode') is not None:
            try:
                mode = int(str(spec['mode']).strip(), 8)
            except ValueError:
                problems.append('%s: mode must be octal (e.g. "1770"), got %r' % (where, spec['mode']))
                continue
            if not 0 <= mode <= 0o7777:
                problems.append('%s: mode %s is out of range' % (where, spec['mode']))
                continue
        uid = _id_value(spec.get('uid'), 'uid', lookup, where, problems)
        gid = _id_value(spec.get('gid'), 'gid', lookup, where, problems)
        clean = dict((k, spec.get(k)) for k in ('pagesize', 'mode', 'uid', 'gid'))
        clean['path'] = path
        wanted.append({'path': path, 'pagesize_kb': size_kb, 'mode': mode, 'uid': uid, 'gid': gid, 'spec': clean})
    if problems:
        raise HugepageError(problems)
    return wanted


def mount_differences(want, mounted):
    """What a live hugetlbfs mount (an entry of Host.hugepages()['mounts'], or None) lacks: a list of strings."""
    if mounted is None:
        return ['not mounted']
    opts = mounted.get('options') or {}
    diffs = []
    if mounted.get('pagesize_kb') != want['pagesize_kb']:
        diffs.append('pagesize %s, want %s' % (mounted.get('pagesize'), format_size_kb(want['pagesize_kb'])))
    if want['mode'] is not None:
        have = opts.get('mode')
        try:
            have = int(have, 8) if isinstance(have, str) else DEFAULT_MODE
        except ValueError:
            have = None
        if have != want['mode']:
            diffs.append('mode %s, want %o' % ('%o' % have if have is not None else '?', want['mode']))
    for key in ('uid', 'gid'):
        if want[key] is not None:
            have = opts.get(key)
            have = int(have) if isinstance(have, str) and have.isdigit() else 0
            if have != want[key]:
                diffs.append('%s %d, want %d' % (key, have, want[key]))
    return diffs


def find_mount(path, mounts):
    """The mount on top at path (the last /proc/mounts entry), among hugetlbfs mounts; None when there is none."""
    found = None
    for mount in mounts:
        if mount['path'] == path:
            found = mount
    return found


def plan_fstab(wanted, fstab_text):
    """New fstab text and [{path, line, before (old line or None)}] for the entries that change."""
    lines = (fstab_text or '').splitlines()
    changes = []
    for want in wanted:
        line = fstab_line(want['spec'])
        index = None
        for i, old in enumerate(lines):
            fields = old.split()
            if fields and not fields[0].startswith('#') and len(fields) >= 2 \
                    and fields[1].replace('\\040', ' ').rstrip('/') == want['path']:
                index = i
        if index is None:
            lines.append(line)
            changes.append({'path': want['path'], 'line': line, 'before': None})
        elif lines[index].split() != line.split():
            changes.append({'path': want['path'], 'line': line, 'before': lines[index]})
            lines[index] = line
    text = '\n'.join(lines) + '\n' if lines else ''
    return text, changes


def plan_mounts(wanted, mounts, fstab_text):
    """Plan every mount: [{path, options, mount: none|mount|remount, differences, fstab: None|added|updated}], and
    the new fstab text (None when unchanged)."""
    new_fstab, fstab_changes = plan_fstab(wanted, fstab_text)
    by_path = dict((c['path'], c) for c in fstab_changes)
    plans = []
    for want in wanted:
        current = find_mount(want['path'], mounts)
        diffs = mount_differences(want, current)
        change = by_path.get(want['path'])
        plans.append({
            'path': want['path'],
            'options': mount_options(want['spec']),
            'mount': 'none' if not diffs else ('mount' if current is None else 'remount'),
            'differences': diffs,
            'fstab': None if change is None else ('added' if change['before'] is None else 'updated'),
            'fstab_before': None if change is None else change['before'],
        })
    return plans, (new_fstab if fstab_changes else None)
