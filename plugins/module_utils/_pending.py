# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restarts a run asked for and nobody did yet, kept on the node until they are done.

Private to the dataplane.node collection: names may change without notice.

A run raises a restart when it changes something a daemon reads only when it starts: the hugepage pools (kubelet
reports the capacity it found at its start), the memlock drop-in of a container runtime, the config of the
sriov-network-device-plugin. The run summary used to know them from that run's events only: the next run changes
nothing, raises nothing, and the restart nobody did was forgotten. Here they are kept in a state file
(/var/lib/dataplane-node/pending.json) until the evidence says they are done: a process of the daemon started
after the event that raised the restart (or the kubelet role restarted kubelet in this run). A restart of
something the node does not have is no restart to wait for: no kubelet binary or process, no unit file or process
of the runtime, no device plugin process (the plugin reads its config when it starts).

merge() is pure (previous items + this run's events + evidence -> the items still pending); ProcessStarts reads the
evidence through a HostFS (so a host tree stands in for /).

An item (as stored): {'what': KUBELET | RUNTIME | DEVICE_PLUGIN, 'unit': the runtime's unit (RUNTIME only, else
None), 'reasons': [text], 'first': epoch of the first event, 'since': epoch of the last event (a start after it
completes the item)}.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

KUBELET = 'kubelet restart'
RUNTIME = 'runtime restart'
DEVICE_PLUGIN = 'device plugin restart'
ORDER = (RUNTIME, DEVICE_PLUGIN, KUBELET)  # the run summary's order (after a reboot and a power cycle)

STATE_FILE = '/var/lib/dataplane-node/pending.json'
STATE_VERSION = 1
DEVICE_PLUGIN_PROCESSES = ('sriovdp',)
# The process name (/proc/PID/comm) of a runtime unit's main process; other units: the unit's name.
RUNTIME_PROCESSES = {'containerd': ('containerd',), 'crio': ('crio',), 'docker': ('dockerd',),
                     'cri-docker': ('cri-dockerd',)}
UNIT_DIRS = ('etc/systemd/system', 'run/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system')

MEMLOCK_REASON = 'the memlock drop-in of %s takes effect at its next restart'
DEVICE_PLUGIN_REASON = 'the sriov-network-device-plugin config changed: the plugin re-reads it when restarted'


def clock_ticks():
    """The kernel's clock ticks per second (/proc/PID/stat counts start times in them)."""
    try:
        return os.sysconf('SC_CLK_TCK')
    except (AttributeError, OSError, ValueError):
        return 100


class StateError(Exception):
    """The state file is not one this module wrote."""


def unit_name(unit):
    """'containerd' -> 'containerd.service' (the form the drop-in directory has)."""
    unit = str(unit)
    return unit if '.' in unit else unit + '.service'


def runtime_processes(unit):
    base = unit_name(unit).rsplit('.', 1)[0]
    return RUNTIME_PROCESSES.get(base, (base,))


def raised(kubelet_restart_reasons=(), memlock_units=(), device_plugin_changed=False):
    """This run's events as items without times: [{'what', 'unit', 'reasons'}]."""
    items = []
    for unit in memlock_units or []:
        if unit:
            items.append({'what': RUNTIME, 'unit': unit_name(unit), 'reasons': [MEMLOCK_REASON % unit_name(unit)]})
    if device_plugin_changed:
        items.append({'what': DEVICE_PLUGIN, 'unit': None, 'reasons': [DEVICE_PLUGIN_REASON]})
    reasons = [str(r) for r in kubelet_restart_reasons or [] if r]
    if reasons:
        items.append({'what': KUBELET, 'unit': None, 'reasons': _unique(reasons)})
    return items


def _unique(values):
    out = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _key(item):
    return (item.get('what'), item.get('unit'))


def _stamp(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch)) if epoch is not None else None


def _started_after(starts, since):
    """Every process of the daemon started after `since` (the oldest one counts: it still runs the old state)."""
    return bool(starts) and since is not None and min(starts) > since


def _absent(item, evidence):
    """Why the node has nothing to restart for this item (no such daemon), or None."""
    what = item['what']
    if what == KUBELET and not (evidence.get('kubelet') or {}).get('present'):
        return 'no kubelet on the node (nothing to restart)'
    if what == RUNTIME and not ((evidence.get('runtimes') or {}).get(item.get('unit')) or {}).get('present'):
        return 'no %s on the node (nothing to restart)' % item.get('unit')
    if what == DEVICE_PLUGIN and not (evidence.get('device_plugin') or {}).get('starts'):
        return 'no sriov-network-device-plugin runs on the node (it reads its config when it starts)'
    return None


def _done(item, evidence):
    """Why a stored item is done (its daemon started after the item's last event), or None."""
    what, since = item['what'], item.get('since')
    if what == KUBELET:
        kubelet = evidence.get('kubelet') or {}
        if kubelet.get('restarted'):
            return 'kubelet restarted by this run'
        starts, name = kubelet.get('starts'), 'kubelet'
    elif what == RUNTIME:
        starts = (((evidence.get('runtimes') or {}).get(item.get('unit')) or {}).get('starts'))
        name = item.get('unit')
    else:
        starts, name = (evidence.get('device_plugin') or {}).get('starts'), 'the device plugin'
    if _started_after(starts, since):
        return '%s started at %s, after %s' % (name, _stamp(min(starts)), _stamp(since))
    return None


def merge(previous, events, evidence, now):
    """The items still pending after this run, and the ones settled: (pending, settled).

    previous: the stored items (from earlier runs); events: raised() of this run (not done at its end); evidence:
    {'kubelet': {'present', 'restarted', 'starts'}, 'runtimes': {unit: {'present', 'starts'}},
    'device_plugin': {'starts'}} with `starts` the start times (epoch) of the daemon's running processes;
    now: this run's time (epoch), the `since` of its events.
    Each settled item: {'what', 'unit', 'reasons', 'why', 'raised'} (raised: an event of this run that asks nothing
    of the node, which has no such daemon).
    """
    pending, settled = {}, []
    for item in previous or []:
        item = _normal(item)
        if item is None:
            continue
        why = _absent(item, evidence) or _done(item, evidence)
        if why:
            settled.append({'what': item['what'], 'unit': item['unit'], 'reasons': item['reasons'], 'why': why,
                            'raised': False})
        elif _key(item) in pending:
            kept = pending[_key(item)]
            kept.update(reasons=_unique(kept['reasons'] + item['reasons']), first=min(kept['first'], item['first']),
                        since=max(kept['since'], item['since']))
        else:
            pending[_key(item)] = item
    for event in events or []:
        item = {'what': event['what'], 'unit': event.get('unit'), 'reasons': list(event.get('reasons') or []),
                'first': now, 'since': now}
        # This run did not do it (else the role would not have raised it): only a daemon the node lacks settles it.
        why = _absent(item, evidence)
        if why:
            settled.append({'what': item['what'], 'unit': item['unit'], 'reasons': item['reasons'], 'why': why,
                            'raised': True})
            continue
        kept = pending.get(_key(item))
        if kept is not None:
            kept.update(reasons=_unique(kept['reasons'] + item['reasons']), since=now)
        else:
            pending[_key(item)] = item
    return sorted(pending.values(), key=lambda i: (ORDER.index(i['what']), str(i['unit']))), settled


def _normal(item):
    """A stored item, checked; None when it is not one (a hand-edited file loses the broken entry, not the run)."""
    if not isinstance(item, dict) or item.get('what') not in ORDER:
        return None
    try:
        since = float(item.get('since'))
        first = float(item.get('first', since))
    except (TypeError, ValueError):
        return None
    reasons = item.get('reasons')
    reasons = [str(r) for r in reasons] if isinstance(reasons, list) else []
    unit = item.get('unit')
    return {'what': item['what'], 'unit': str(unit) if unit else None, 'reasons': reasons,
            'first': first, 'since': since}


def summary_items(items, now=None):
    """The stored items as the run summary lists them: [{'what', 'reason', 'since', 'carried'}], the runtime units
    in one entry (one restart of each). since: the first event (UTC); carried: an earlier run raised it."""
    out, runtimes = [], []
    for item in items or []:
        if item['what'] == RUNTIME:
            runtimes.append(item)
            continue
        out.append(_entry(item['what'], '; '.join(item['reasons']), [item], now))
    if runtimes:
        units = ', '.join(i['unit'] for i in runtimes)
        out.insert(0, _entry(RUNTIME, MEMLOCK_REASON % units, runtimes, now))
    return out


def _entry(what, reason, items, now):
    first = min(i['first'] for i in items)
    carried = now is not None and first < now
    if carried:
        reason = '%s (pending since %s)' % (reason, _stamp(first))
    return {'what': what, 'reason': reason, 'since': _stamp(first), 'carried': carried}


def load(text):
    """The stored items of a state file's text ([] for no file); StateError when it is not ours."""
    if text is None or not text.strip():
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError('not JSON: %s' % exc)
    if not isinstance(data, dict) or not isinstance(data.get('pending'), list):
        raise StateError('no "pending" list')
    return [i for i in (_normal(i) for i in data['pending']) if i is not None]


def stored_kubelet_restart(fs, clock_ticks=100):
    """The kubelet restart an earlier run left pending on the node and nobody did since ({'reasons', 'since',
    'first'}, UTC), read-only through a HostFS; None when there is none, when a kubelet process started after it
    (a reboot or someone did it), or when the file is not ours (pending_actions says so). The kubelet role does it
    on the next run: a run that changes nothing would otherwise never restart kubelet for the pools an earlier,
    interrupted run changed."""
    try:
        items = load(fs.read(STATE_FILE.lstrip('/')))
    except StateError:
        return None
    for item in items:
        if item['what'] != KUBELET:
            continue
        if _started_after(ProcessStarts(fs, clock_ticks).starts(['kubelet'])['kubelet'], item['since']):
            return None
        return {'reasons': item['reasons'], 'since': _stamp(item['since']), 'first': _stamp(item['first'])}
    return None


def dump(items):
    """The state file's text for these items (None: no file, nothing pending)."""
    if not items:
        return None
    return json.dumps({'version': STATE_VERSION, 'written_by': 'dataplane.node.pending_actions',
                       'pending': [dict((k, i[k]) for k in ('what', 'unit', 'reasons', 'first', 'since'))
                                   for i in items]}, indent=2, sort_keys=True) + '\n'


# ---------------------------------------------------------------- evidence from the node

class ProcessStarts:
    """When the running processes of some names (/proc/PID/comm) started, as epochs, read through a HostFS."""

    def __init__(self, fs, clock_ticks=100):
        self.fs = fs
        self.clock_ticks = clock_ticks

    def boot_time(self):
        for line in (self.fs.read('proc/stat') or '').splitlines():
            if line.startswith('btime '):
                try:
                    return int(line.split()[1])
                except (IndexError, ValueError):
                    return None
        return None

    def starts(self, names):
        """{name: [epoch, ...]} of the processes whose comm is one of `names` (every name a key)."""
        found = dict((n, []) for n in names)
        btime = self.boot_time()
        if btime is None:
            return found
        for entry in self.fs.listdir('proc'):
            if not entry.isdigit():
                continue
            comm = self.fs.read_value('proc/%s/comm' % entry)
            if comm not in found:
                continue
            start = _stat_start(self.fs.read('proc/%s/stat' % entry))
            if start is not None:
                found[comm].append(btime + start / float(self.clock_ticks))
        return found


def _stat_start(text):
    """Field 22 of /proc/PID/stat (starttime, clock ticks after boot); the name in parentheses may hold spaces."""
    if not text or ')' not in text:
        return None
    fields = text.rsplit(')', 1)[1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def unit_present(fs, unit):
    return any(fs.exists('%s/%s' % (d, unit_name(unit))) for d in UNIT_DIRS)


def evidence(fs, kubelet_present, kubelet_restarted, units, device_plugin_processes=DEVICE_PLUGIN_PROCESSES,
             clock_ticks=100):
    """What the node says now, in the form merge() takes. kubelet_present: the kubelet role's own test (a binary or
    a running process, _kubelet.KubeletHost); units: the runtime units of the stored and raised items."""
    names = {'kubelet': ('kubelet',), 'plugin': tuple(device_plugin_processes)}
    for unit in units:
        names[unit_name(unit)] = runtime_processes(unit)
    wanted = sorted(set(n for group in names.values() for n in group))
    starts = ProcessStarts(fs, clock_ticks).starts(wanted)

    def of(group):
        return sorted(s for n in names[group] for s in starts.get(n, []))

    kubelet_starts = of('kubelet')
    runtimes = {}
    for unit in units:
        runtime_starts = of(unit_name(unit))
        runtimes[unit_name(unit)] = {'present': bool(runtime_starts) or unit_present(fs, unit),
                                     'starts': runtime_starts}
    return {'kubelet': {'present': bool(kubelet_present) or bool(kubelet_starts), 'restarted': bool(kubelet_restarted),
                        'starts': kubelet_starts},
            'runtimes': runtimes,
            'device_plugin': {'starts': of('plugin')}}
