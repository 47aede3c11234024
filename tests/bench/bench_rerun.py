# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the site playbook on a testbed VM: the first converge (with its reboot) and the idempotent re-run.

    python tests/bench/bench_rerun.py [--write-section docs/benchmarks.md]

Boots a VM (QEMU/TCG, 2 NUMA nodes), runs dataplane.node.site twice with the demo's variables, and reports
wall time, tasks, changed tasks and reboots of each run. A script, not a test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tests', 'vm'))
import demo  # noqa: E402  pylint: disable=wrong-import-position
import testbed  # noqa: E402  pylint: disable=wrong-import-position


def run_site(inventory):
    """One ansible-playbook run with the json callback: (seconds, stats, reboots)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CALLBACK_RESULT_FORMAT='json')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, 'dataplane.node.site',
           '-e', '@' + os.path.join(REPO, 'tests', 'vm', 'demo_vars.yml')]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=False)
    seconds = time.monotonic() - start
    report = json.loads(proc.stdout.decode('utf-8'))
    if proc.returncode != 0:
        raise SystemExit('site playbook failed (rc=%d): %s' % (proc.returncode, json.dumps(report['stats'])))
    tasks = [t for play in report['plays'] for t in play['tasks']]
    # ansible.builtin.reboot is the only module that returns 'rebooted'.
    reboots = sum(1 for t in tasks for r in t['hosts'].values() if r.get('rebooted') is True)
    stats = list(report['stats'].values())[0]
    executed = sum(1 for t in tasks for r in t['hosts'].values() if not r.get('skipped'))
    return seconds, stats, reboots, executed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--write-section', help='append the results as a markdown section to this file')
    args = parser.parse_args(argv)
    reason = testbed.preflight()
    if reason:
        raise SystemExit('cannot run the VM: %s' % reason)
    bed = testbed.Testbed()
    inst = bed.up('bench', mem_per_node=4096)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = demo.write_inventory(inst, tmp)
            first = run_site(inventory)
            second = run_site(inventory)
    finally:
        bed.down('bench')
    lines = ['| run | wall s | tasks run | ok | changed | reboots |', '|---|---|---|---|---|---|']
    for name, (seconds, stats, reboots, executed) in (('first converge', first), ('idempotent re-run', second)):
        lines.append('| %s | %.1f | %d | %d | %d | %d |' % (
            name, seconds, executed, stats['ok'], stats['changed'], reboots))
    lines.append('')
    lines.append('Re-run / first run: %.0f%%.' % (100.0 * second[0] / first[0]))
    text = '\n'.join(lines)
    print(text)
    if args.write_section:
        with open(args.write_section, 'a') as handle:
            handle.write('\n## site playbook on the QEMU testbed (%s)\n\n%s\n' % (time.strftime('%Y-%m-%d'), text))
    return 0 if second[1]['changed'] == 0 and second[2] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
