# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A per-node summary of one run: what changed, what was booted, what is still pending.

Private to the dataplane.node collection: names may change without notice.
Pure functions (no I/O) of the `dataplane` fact before and after the run (as node_facts returns it) and of the
roles' results, which dataplane.node.site collects into one dict (every key optional):

  hugepages_pools         the pools asked for (hugepages_pools, as the preflight placed them)
  reboot_allowed          bool (or its string form, as -e key=value gives it)
  reboot_reasons          the reasons still on dataplane_node_reboot_reasons at the end (the reboot role clears them)
  rebooted                the reboot role rebooted the node in this run
  cmdline_trial           dataplane_node_cmdline_trial (a staged trial: its state)
  kubelet_restarted_for   the reasons kubelet was restarted for in this run
  kubelet_restart_reasons the reasons still pending (kubelet not restarted)
  kubelet_capacity        {'before': {'hugepages-2Mi': '1Gi', ...}, 'after': {...}} as the Node reports it
  memlock_changed         the container runtime's memlock drop-in changed (takes effect at its next restart)
  memlock_units           the runtime units of that drop-in
  device_plugin_changed   the sriov-network-device-plugin config changed (the plugin re-reads it on restart)
  kubelet_installed       the node has kubelet (the facts' kubelet subset); false: no kubelet restart is pending
  pending_actions         the `pending` of dataplane.node.pending_actions: the restarts still pending on the node,
                          this run's and the ones earlier runs left (kept in a state file until done); when given,
                          it stands for memlock_*, device_plugin_changed and kubelet_restart_reasons
  firmware_power_cycle    a BlueField firmware change that needs a power cycle (reason text)
  boot_applier            {'persisted': bool, 'installed': bool}
  pending_settled         the `settled` of dataplane.node.pending_actions (what it dropped, and why)
  dpu_mode                ovn_dpu_mode
  check_mode              the run was a dry run (a reboot it would do is pending)
  changed, failed         the run changed / failed the node
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_TRUE = ('true', 'yes', 'on', '1', 'y', 't')


def as_bool(value, default=False):
    """The `| bool` of Jinja: 'false' from -e key=value is False."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in _TRUE


def _pools(facts):
    """{('2M', '0'): nr, ...} of the dataplane fact."""
    out = {}
    for size, pool in (((facts or {}).get('hugepages') or {}).get('pools') or {}).items():
        for node, per_node in (pool.get('nodes') or {}).items():
            out[(size, str(node))] = per_node.get('nr')
    return out


def _asked(pools):
    """{('2M', '0'): count} of hugepages_pools entries that name their NUMA node(s); ('2M', '*') otherwise."""
    out = {}
    for pool in pools or []:
        size = str(pool.get('size'))
        if pool.get('nodes'):
            for node, count in pool['nodes'].items():
                out[(size, str(node))] = out.get((size, str(node)), 0) + int(count)
        elif pool.get('node') is not None:
            out[(size, str(pool['node']))] = out.get((size, str(pool['node'])), 0) + int(pool.get('count') or 0)
        else:
            out[(size, '*')] = out.get((size, '*'), 0) + int(pool.get('count') or 0)
    return out


def _size_kb(size):
    text = str(size).upper().rstrip('B')
    unit = {'K': 1, 'M': 1024, 'G': 1048576}.get(text[-1:], None)
    try:
        return int(text[:-1]) * unit if unit else int(text)
    except ValueError:
        return 0


def _hugepages(before, after, asked):
    old, new = _pools(before), _pools(after)
    rows = []
    for key in sorted(set(old) | set(new) | set(asked), key=lambda k: (_size_kb(k[0]), k[1] != '*', k[1])):
        size, node = key
        if node == '*':
            total_after = sum(v or 0 for (s, _n), v in new.items() if s == size)
            total_before = sum(v or 0 for (s, _n), v in old.items() if s == size)
            row = {'size': size, 'node': None, 'asked': asked[key], 'before': total_before, 'after': total_after}
        else:
            row = {'size': size, 'node': node, 'asked': asked.get(key), 'before': old.get(key), 'after': new.get(key)}
        if row['asked'] is None and not row['before'] and not row['after']:
            continue  # a size nobody asked for and no page of it: noise
        row['short'] = row['asked'] is not None and (row['after'] or 0) < row['asked']
        rows.append(row)
    return rows


def _devices(facts):
    return (((facts or {}).get('pci') or {}).get('devices')) or {}


def _vfs(before, after):
    old, new = _devices(before), _devices(after)
    rows = []
    for address in sorted(set(old) | set(new)):
        dev_new, dev_old = new.get(address) or {}, old.get(address) or {}
        if (dev_new or dev_old).get('physfn'):
            continue
        sr_new, sr_old = dev_new.get('sriov'), dev_old.get('sriov')
        if sr_new is None and sr_old is None:
            continue
        drivers = {}
        for vf in (sr_new or {}).get('vfs') or []:
            name = vf.get('driver') or 'none'
            drivers[name] = drivers.get(name, 0) + 1
        rows.append({'pf': address, 'netdevs': list(dev_new.get('netdevs') or dev_old.get('netdevs') or []),
                     'before': (sr_old or {}).get('numvfs'), 'after': (sr_new or {}).get('numvfs'),
                     'drivers': drivers})
    return rows


def _vfio(before, after):
    def bound(facts):
        return sorted(a for a, d in _devices(facts).items() if d.get('driver') == 'vfio-pci')
    old, new = bound(before), bound(after)
    return {'bound': new, 'added': [a for a in new if a not in old], 'removed': [a for a in old if a not in new]}


def _mounts(facts):
    return sorted('%s (%s)' % (m.get('path'), m.get('pagesize'))
                  for m in (((facts or {}).get('hugepages') or {}).get('mounts') or []))


def _cmdline(before, after, results):
    old = ((before or {}).get('cmdline') or {}).get('raw')
    new = ((after or {}).get('cmdline') or {}).get('raw')
    trial = results.get('cmdline_trial') or {}
    state = trial.get('state') if isinstance(trial, dict) else None
    return {
        'before': old, 'after': new, 'changed': old != new,
        'booted': as_bool(results.get('rebooted')),
        'trial': {'booted': 'pending', 'committed': 'committed', 'rolled_back': 'rolled back'}.get(state, state),
    }


def _capacity(value):
    return dict(sorted((k, v) for k, v in (value or {}).items() if str(k).startswith('hugepages-')))


def pending_items(results):
    """Every effect the run could not complete, each {'what': ..., 'reason': ...}."""
    pending = []
    reasons = [r for r in results.get('reboot_reasons') or [] if r]
    if reasons:
        allowed = as_bool(results.get('reboot_allowed'), True)
        why = ('withheld by reboot_allowed: false' if not allowed else
               'check mode' if as_bool(results.get('check_mode')) else 'not done in this run')
        pending.append({'what': 'reboot', 'reason': '%s: %s' % (why, '; '.join(reasons))})
    if results.get('firmware_power_cycle'):
        pending.append({'what': 'power cycle', 'reason': str(results['firmware_power_cycle'])})
    kept = results.get('pending_actions')
    if isinstance(kept, list):
        # What dataplane.node.pending_actions keeps on the node: this run's restarts and the ones earlier runs left.
        pending.extend(dict((k, v) for k, v in entry.items() if k in ('what', 'reason', 'since', 'carried'))
                       for entry in kept if isinstance(entry, dict) and entry.get('what'))
        return pending
    if as_bool(results.get('memlock_changed')):
        units = ', '.join(results.get('memlock_units') or []) or 'the container runtime'
        pending.append({'what': 'runtime restart', 'reason': 'the memlock drop-in of %s takes effect at its next '
                                                             'restart' % units})
    if as_bool(results.get('device_plugin_changed')):
        pending.append({'what': 'device plugin restart', 'reason': 'the sriov-network-device-plugin config changed: '
                                                                   'the plugin re-reads it when restarted'})
    left = [r for r in results.get('kubelet_restart_reasons') or [] if r]
    # No kubelet on the node (the facts' kubelet subset says so): nothing to restart.
    if left and results.get('kubelet_installed') is not False:
        pending.append({'what': 'kubelet restart', 'reason': '; '.join(left)})
    return pending


def summary(before, after, results=None, host=None):
    """The run summary of one node (JSON-friendly). after=None: the run gathered no facts again (nothing changed)."""
    results = results or {}
    after = before if after is None else after
    restarted_for = [r for r in results.get('kubelet_restarted_for') or [] if r]
    capacity = results.get('kubelet_capacity') or {}
    out = {
        'host': host,
        'changed': as_bool(results.get('changed')),
        'failed': as_bool(results.get('failed')),
        'cmdline': _cmdline(before, after, results),
        'hugepages': _hugepages(before, after, _asked(results.get('hugepages_pools'))),
        'vfs': _vfs(before, after),
        'vfio': _vfio(before, after),
        'mounts': {'before': _mounts(before), 'after': _mounts(after)},
        'boot_applier': results.get('boot_applier') or {},
        'kubelet': {'restarted': bool(restarted_for), 'why': restarted_for,
                    'capacity_before': _capacity(capacity.get('before')),
                    'capacity_after': _capacity(capacity.get('after'))},
        'dpu_mode': results.get('dpu_mode'),
        'pending': pending_items(results),
        # Restarts an earlier run left pending that are done now (dataplane.node.pending_actions' settled).
        'settled': [{'what': s.get('what'), 'why': s.get('why')} for s in results.get('pending_settled') or []
                    if isinstance(s, dict) and not s.get('raised')],
    }
    out['status'] = status(out)
    return out


def status(item):
    if item.get('failed'):
        return 'failed'
    if item.get('pending'):
        return 'pending'
    return 'changed' if item.get('changed') else 'unchanged'


def _count(value):
    return '-' if value is None else str(value)


def lines(item):
    """Short human lines of one summary."""
    name = item.get('host') or 'node'
    out = ['%s: %s' % (name, item['status'])]
    cmd = item['cmdline']
    if cmd['changed']:
        out.append('  cmdline: %s -> %s (booted: %s)' % (cmd['before'], cmd['after'], 'yes' if cmd['booted'] else 'no'))
    elif cmd['booted']:
        out.append('  cmdline: unchanged, rebooted')
    if cmd.get('trial'):
        out.append('  cmdline trial: %s' % cmd['trial'])
    for row in item['hugepages']:
        out.append('  hugepages %s %s: asked %s, %s -> %s%s' % (
            row['size'], 'node%s' % row['node'] if row['node'] is not None else 'all nodes', _count(row['asked']),
            _count(row['before']), _count(row['after']), ' SHORT' if row['short'] else ''))
    for row in item['vfs']:
        drivers = ', '.join('%d %s' % (n, d) for d, n in sorted(row['drivers'].items())) or 'none'
        out.append('  VFs %s%s: %s -> %s (%s)' % (
            row['pf'], ' (%s)' % ','.join(row['netdevs']) if row['netdevs'] else '',
            _count(row['before']), _count(row['after']), drivers))
    vfio = item['vfio']
    if vfio['added'] or vfio['removed']:
        out.append('  vfio-pci: %d bound (+%d, -%d)' % (len(vfio['bound']), len(vfio['added']), len(vfio['removed'])))
    if item['mounts']['before'] != item['mounts']['after']:
        out.append('  hugetlbfs: %s -> %s' % (', '.join(item['mounts']['before']) or 'none',
                                              ', '.join(item['mounts']['after']) or 'none'))
    applier = [k for k in sorted(item['boot_applier']) if item['boot_applier'][k]]
    if applier:
        out.append('  boot-time applier: %s' % ', '.join(applier))
    kubelet = item['kubelet']
    if kubelet['restarted']:
        out.append('  kubelet: restarted (%s)' % '; '.join(kubelet['why']))
    if kubelet['capacity_before'] != kubelet['capacity_after'] and kubelet['capacity_after']:
        out.append('  Node hugepage capacity: %s -> %s' % (_caps(kubelet['capacity_before']),
                                                           _caps(kubelet['capacity_after'])))
    if item.get('dpu_mode'):
        out.append('  DPU mode: %s' % item['dpu_mode'])
    for entry in item.get('settled') or []:
        out.append('  done since an earlier run: %s (%s)' % (entry['what'], entry['why']))
    for entry in item['pending']:
        out.append('  PENDING %s: %s' % (entry['what'], entry['reason']))
    return out


def _caps(value):
    return ', '.join('%s=%s' % kv for kv in sorted(value.items())) or 'none'


def fleet(items):
    """One line per node, and a total: [{host, status, pending}, ...] -> lines."""
    rows = sorted(items, key=lambda i: str(i.get('host')))
    width = max([len(str(i.get('host'))) for i in rows] + [4])
    out = ['%-*s  %-9s  %s' % (width, 'node', 'status', 'pending')]
    for item in rows:
        out.append('%-*s  %-9s  %s' % (width, item.get('host'), item.get('status'),
                                       '; '.join(p['what'] for p in item.get('pending') or []) or '-'))
    counts = {}
    for item in rows:
        counts[item.get('status')] = counts.get(item.get('status'), 0) + 1
    out.append('total: ' + ', '.join('%d %s' % (counts[s], s) for s in ('changed', 'unchanged', 'failed', 'pending')
                                     if counts.get(s)) if rows else 'total: no node')
    return out
