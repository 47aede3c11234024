# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the facts: the module body on host trees, and whole Ansible runs against setup.

    python tests/bench/bench_facts.py [--runs 5] [--write docs/benchmarks.md]

A script, not a test: figures depend on the machine, so nothing here passes or fails on time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests'))
import conftest  # noqa: E402,F401  pylint: disable=unused-import,wrong-import-position
import synthhost  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather  # noqa: E402
from ansible_collections.dataplane.node.plugins.module_utils._host import Host  # noqa: E402


def time_body(root, runs):
    """Wall time of gather() on a fresh Host (no cache), in ms: every run reads the whole tree."""
    samples = []
    for _run in range(runs):
        start = time.perf_counter()
        gather(Host(root), SUBSETS)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def time_ansible(modules, runs):
    """Wall time in ms of `ansible localhost -m MODULE`, the modules interleaved round by round so that
    background load falls on all of them alike: {module: [ms per round]}."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='False')
    ansible = os.path.join(os.path.dirname(sys.executable), 'ansible')
    samples = dict((m, []) for m in modules)
    for _round in range(runs):
        for module in modules:
            start = time.perf_counter()
            subprocess.run([ansible, 'localhost', '-c', 'local', '-m', module], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            samples[module].append((time.perf_counter() - start) * 1000)
    return samples


def row(name, samples):
    return '| %s | %.1f | %.1f | %.1f |' % (name, min(samples), statistics.median(samples), max(samples))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=9)
    parser.add_argument('--write', help='write the results as markdown to this file')
    args = parser.parse_args(argv)
    lines = ['Machine: %s, %d CPUs, Python %s, %s' % (platform.node(), os.cpu_count(), platform.python_version(),
                                                      time.strftime('%Y-%m-%d')), '',
             '| what | min ms | median ms | max ms |', '|---|---|---|---|']
    with tempfile.TemporaryDirectory() as tmp:
        large = synthhost.large().write(os.path.join(tmp, 'large'))
        server = synthhost.server2s().write(os.path.join(tmp, 'server2s'))
        time_body(large, 2)  # warm the page cache: we measure parsing, not the disk
        lines.append(row('module body, large tree (8 nodes, 256 CPUs, 500 PCI devices, 128 VFs)',
                         time_body(large, args.runs * 4)))
        lines.append(row('module body, 2-socket server tree', time_body(server, args.runs * 4)))
    lines.append(row('module body, this host (/)', time_body('/', args.runs * 4)))
    runs = time_ansible(['ansible.builtin.ping', 'dataplane.node.node_facts', 'ansible.builtin.setup'], args.runs)
    ping, facts, setup = runs['ansible.builtin.ping'], runs['dataplane.node.node_facts'], runs['ansible.builtin.setup']
    lines.append(row('`ansible localhost -m ansible.builtin.ping` (CLI + module transfer baseline)', ping))
    lines.append(row('`ansible localhost -m dataplane.node.node_facts`', facts))
    lines.append(row('`ansible localhost -m ansible.builtin.setup`', setup))
    # Paired per round: what each facts module adds over ping in the same round.
    facts_added = statistics.median(f - p for f, p in zip(facts, ping))
    setup_added = statistics.median(s_ - p for s_, p in zip(setup, ping))
    lines.append('')
    lines.append('Whole runs, medians: node_facts / setup = %.0f%%. Added over ping in the same round (median of %d '
                 'rounds): node_facts %.0f ms, setup %.0f ms, ratio %.0f%%.' % (
                     100.0 * statistics.median(facts) / statistics.median(setup), args.runs, facts_added, setup_added,
                     100.0 * max(facts_added, 0) / max(setup_added, 1)))
    text = '\n'.join(lines)
    print(text)
    if args.write:
        write_section(args.write, '## node_facts (tests/bench/bench_facts.py)\n\n' + text + '\n\n')
    return 0


def write_section(path, section):
    """Replace this script's section of the benchmarks file (up to the next '## ' heading), keeping the others."""
    heading = section.split('\n', 1)[0]
    try:
        with open(path) as handle:
            old = handle.read()
    except IOError:
        old = ('# Benchmarks\n\nProduced by `make bench` (tests/bench/). Figures from this project\'s CI-class '
               'machine: 2 cores, nested VM, QEMU under TCG for the VM runs.\n\n')
    if heading in old:
        start = old.index(heading)
        following = old.find('\n## ', start + len(heading))
        new = old[:start] + section + (old[following + 1:] if following >= 0 else '')
    else:
        new = old.rstrip('\n') + '\n\n' + section
    with open(path, 'w') as handle:
        handle.write(new)


if __name__ == '__main__':
    sys.exit(main())
