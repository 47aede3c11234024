# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time applier: re-applies runtime state (hugepages, THP, ...) early at every boot, before kubelet.

Private to the dataplane.node collection: names may change without notice.

Roles write one JSON file per concern into a state directory (/etc/dataplane-node/state.d);
dataplane-node.service runs this module on the node with the same module_utils the modules
use, in file-name order (hugepages first, while memory is least fragmented), and exits non-zero
when a read-back is short, so kubelet (RequiredBy) does not start on a node without its pools.

    PYTHONPATH=/usr/lib/dataplane-node python3 -m \\
        ansible_collections.dataplane.node.plugins.module_utils._boot_apply /etc/dataplane-node/state.d
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible_collections.dataplane.node.plugins.module_utils._apply import SysfsWriter, WriteError
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._hugepages import apply, plan, shortfall_table
from ansible_collections.dataplane.node.plugins.module_utils._parse import parse_bracketed_choice

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


HANDLERS = {'hugepages': apply_hugepages, 'thp': apply_thp}


def run(state_dir, root='/', log=print, writer=None):
    """Apply every state file in name order; returns the problems found (empty = success)."""
    host = Host(root)
    writer = writer or SysfsWriter(root)
    problems = []
    names = sorted(n for n in os.listdir(state_dir) if n.endswith('.json')) if os.path.isdir(state_dir) else []
    for name in names:
        with open(os.path.join(state_dir, name)) as handle:
            try:
                state = json.load(handle)
            except ValueError as exc:
                problems.append('%s: not valid JSON: %s' % (name, exc))
                continue
        for kind, section in sorted(state.items()):
            handler = HANDLERS.get(kind)
            if handler is None:
                problems.append('%s: unknown section %r' % (name, kind))
                continue
            try:
                problems.extend('%s: %s' % (name, p) for p in handler(section, host, writer, log))
            except WriteError as exc:
                problems.append('%s: %s' % (name, exc))
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    state_dir = argv[0] if argv else '/etc/dataplane-node/state.d'
    problems = run(state_dir)
    for problem in problems:
        print('dataplane-node: ' + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
