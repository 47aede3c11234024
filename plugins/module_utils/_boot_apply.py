# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time applier: re-applies runtime state (hugepages, THP, VFs, driver bindings) at every boot, before kubelet.

Private to the dataplane.node collection: names may change without notice.

Roles write one JSON file per concern into a state directory (/etc/dataplane-node/state.d).
Two phases run the same code the modules use: 'early' (dataplane-node.service, before sysinit:
hugepages while memory is least fragmented, THP) and 'devices' (dataplane-node-devices.service,
after udev has probed the NICs: VFs, then driver bindings). Each exits non-zero when a read-back
is short, so kubelet (RequiredBy) does not start on a node without its pools or devices.

The entry point is main(), called by a two-line script the boot_applier module installs beside this code
(_boot_install.entry_point_text).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys
import time

from ansible_collections.dataplane.node.plugins.module_utils._apply import SysfsWriter, WriteError
from ansible_collections.dataplane.node.plugins.module_utils._change import ChangeError, Context, run_steps
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostFS
from ansible_collections.dataplane.node.plugins.module_utils._hugepages import apply, plan, shortfall_table
from ansible_collections.dataplane.node.plugins.module_utils._parse import parse_bracketed_choice
from ansible_collections.dataplane.node.plugins.module_utils._pci import (
    PCI_DIR, PciError, VfsReady, bind_steps, bound_check, plan_bind, plan_vfs, select_pf, vf_steps)

THP_PATH = 'sys/kernel/mm/transparent_hugepage/enabled'


def apply_hugepages(section, host, writer, log):
    """section: {'pools': {'2048': {'0': 64, '1': 512}}, 'retries': 2}; returns a list of problems."""
    targets = {}
    for size_kb, nodes in section.get('pools', {}).items():
        for node, count in nodes.items():
            targets[(int(size_kb), int(node))] = int(count)
    actions = plan(targets, host)
    if not actions:
        log('hugepages: pools already as configured')
        return []
    results, short = apply(actions, host, writer, retries=int(section.get('retries', 2)))
    for result in results:
        log('hugepages: %dkB node%d %s -> %s (got %s)' % (
            result['size_kb'], result['node'], result['before'], result['after'], result['got']))
    if short:
        return ['hugepages short after compaction:\n' + shortfall_table(short)]
    return []


def apply_thp(section, host, writer, log):
    mode = section.get('enabled')
    if not mode:
        return []
    writer.write(THP_PATH, mode + '\n')
    got = parse_bracketed_choice(host.fs.read(THP_PATH))[0]
    log('transparent hugepages: %s (asked %s)' % (got, mode))
    return [] if got == mode else ['transparent hugepages stayed %s, asked %s' % (got, mode)]


def _wait_for(host_factory, rel, timeout, sleep):
    """At boot a NIC may still be probing: wait for its sysfs entry rather than fail at once."""
    waited = 0.0
    while not host_factory().fs.exists(rel) and waited < timeout:
        sleep(0.5)
        waited += 0.5
    return host_factory().fs.exists(rel)


def apply_sriov(section, host, writer, log, host_factory=None, sleep=None):
    """section: {'pfs': [{'address', 'numvfs', 'drivers_autoprobe'}], 'timeout': s}."""
    host_factory = host_factory or (lambda: Host(host.fs.root))
    sleep = sleep or time.sleep
    timeout = float(section.get('timeout', 60))
    problems = []
    for entry in section.get('pfs', []):
        address = entry['address']
        if not _wait_for(host_factory, '%s/%s/sriov_numvfs' % (PCI_DIR, address), timeout, sleep):
            problems.append('sriov: PF %s did not appear within %ds' % (address, timeout))
            continue
        try:
            pf = select_pf(host_factory().pci(), address=address)
            writes = plan_vfs(pf, entry['numvfs'], entry.get('drivers_autoprobe'), force=True)
        except PciError as exc:
            problems.append('sriov: %s' % exc)
            continue
        ready = VfsReady(lambda: host_factory().pci()['devices'][address], address, entry['numvfs'],
                         entry.get('drivers_autoprobe', True), timeout)
        try:
            run_steps(vf_steps(writes) + [ready], Context(host.fs.root, writer=writer, sleep=sleep))
        except ChangeError as exc:
            problems.extend('sriov: %s' % p for p in exc.problems)
        if ready.pf is not None:
            log('sriov: %s has %s VFs (asked %d)' % (address, ready.pf['sriov']['numvfs'], entry['numvfs']))
    return problems


def apply_drivers(section, host, writer, log, host_factory=None, sleep=None):
    """section: {'devices': {address: driver}, 'timeout': s}; VFs must exist already (sriov runs first)."""
    host_factory = host_factory or (lambda: Host(host.fs.root))
    sleep = sleep or time.sleep
    timeout = float(section.get('timeout', 60))
    problems = []

    def driver_of(address):
        return host_factory().fs.link_name('%s/%s/driver' % (PCI_DIR, address))

    for address, driver in sorted(section.get('devices', {}).items()):
        if not _wait_for(host_factory, '%s/%s' % (PCI_DIR, address), timeout, sleep):
            problems.append('drivers: %s did not appear within %ds' % (address, timeout))
            continue
        if driver and not host_factory().fs.exists('sys/bus/pci/drivers/' + driver):
            problems.append('drivers: driver %s is not loaded (modules-load.d should load it)' % driver)
            continue
        steps = bind_steps(plan_bind(host_factory(), address, driver)) + [bound_check(driver_of, [address], driver)]
        try:
            run_steps(steps, Context(host.fs.root, writer=writer, sleep=sleep))
        except ChangeError as exc:
            problems.extend('drivers: %s' % p for p in exc.problems)
        log('drivers: %s on %s (asked %s)' % (address, driver_of(address), driver or 'default'))
    return problems


HANDLERS = {'hugepages': apply_hugepages, 'thp': apply_thp, 'sriov': apply_sriov, 'drivers': apply_drivers}
PHASES = {'early': ('hugepages', 'thp'), 'devices': ('sriov', 'drivers')}
# Within a file: VFs before the drivers of those VFs.
ORDER = ('hugepages', 'thp', 'sriov', 'drivers')


def run(state_dir, log, root='/', writer=None, phase='early'):
    """Apply the phase's sections of every state file in name order; returns the problems (empty = success)."""
    host = Host(root)
    writer = writer or SysfsWriter(root)
    problems = []
    names = sorted(n for n in os.listdir(state_dir) if n.endswith('.json')) if os.path.isdir(state_dir) else []
    for name in names:
        text = HostFS(state_dir).read(name)
        try:
            state = json.loads(text) if text is not None else None
        except ValueError as exc:
            problems.append('%s: not valid JSON: %s' % (name, exc))
            continue
        if not isinstance(state, dict):
            problems.append('%s: %s' % (name, 'cannot be read' if text is None else 'not a JSON object'))
            continue
        for kind in sorted(state, key=lambda k: ORDER.index(k) if k in ORDER else len(ORDER)):
            section = state[kind]
            handler = HANDLERS.get(kind)
            if handler is None:
                problems.append('%s: unknown section %r' % (name, kind))
                continue
            if kind not in PHASES[phase]:
                continue
            try:
                problems.extend('%s: %s' % (name, p) for p in handler(section, host, writer, log))
            except WriteError as exc:
                problems.append('%s: %s' % (name, exc))
    return problems


def main(argv, out=None, err=None):
    """The units' entry point: `dataplane_node_apply.py early|devices [STATE_DIR]`; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    phase = argv[0] if argv else 'early'
    if phase not in PHASES:
        err.write('dataplane-node: unknown phase %r (early, devices)\n' % phase)
        return 2
    state_dir = argv[1] if len(argv) > 1 else '/etc/dataplane-node/state.d'

    def log(msg):
        out.write('dataplane-node: %s\n' % msg)
        out.flush()

    problems = run(state_dir, log, phase=phase)
    for problem in problems:
        err.write('dataplane-node: %s\n' % problem)
    err.flush()
    return 1 if problems else 0
