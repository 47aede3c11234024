# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark the site playbook on a testbed VM: the first converge (with its reboot) and the idempotent re-run.

    python tests/bench/bench_rerun.py [--no-pipelining] [--check-first] [--compare] [--timings FILE]
                                      [--write-section FILE]

Boots a VM (QEMU/TCG, 2 NUMA nodes), runs dataplane.node.site twice with the demo's variables, and reports
wall time, tasks, changed tasks and reboots of each run, with the connection settings it used (the recommended
ones by default: SSH pipelining and a persistent SSH master connection). --compare adds a third run, a re-run
with pipelining off, to show what the setting is worth. --check-first runs `--check --diff` on the fresh VM before
the first converge and compares the tasks it reports as changed with the ones the converge changed. --timings writes every task's duration of every run
(from the json callback) to FILE. A script, not a test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
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

# The connection settings docs/benchmarks.md recommends (and AWX's defaults match): ansible-core's own SSH
# arguments, spelled out so the benchmark says exactly what it used, plus pipelining.
SSH_ARGS = '-C -o ControlMaster=auto -o ControlPersist=60s'


def settings_env(pipelining):
    return {'ANSIBLE_PIPELINING': 'True' if pipelining else 'False', 'ANSIBLE_SSH_ARGS': SSH_ARGS}


def _seconds(stamp):
    return datetime.datetime.strptime(stamp, '%Y-%m-%dT%H:%M:%S.%fZ')


def task_timings(report):
    """[(seconds, task name, status)] of every task that ran on the host, in run order."""
    rows = []
    for play in report['plays']:
        for task in play['tasks']:
            results = list(task['hosts'].values())
            if not results or all(r.get('skipped') for r in results):
                continue
            duration = task['task'].get('duration') or {}
            if not duration.get('end'):
                continue
            seconds = (_seconds(duration['end']) - _seconds(duration['start'])).total_seconds()
            status = 'changed' if any(r.get('changed') for r in results) else 'ok'
            rows.append((seconds, task['task']['name'], status))
    return rows


def run_site(inventory, pipelining, extra=()):
    """One ansible-playbook run with the json callback: a dict of its figures."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CALLBACK_RESULT_FORMAT='json',
               **settings_env(pipelining))
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, 'dataplane.node.site',
           '-e', '@' + os.path.join(REPO, 'tests', 'vm', 'demo_vars.yml')] + list(extra)
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=False)
    seconds = time.monotonic() - start
    # The VM has 2 vCPUs under TCG on a 2-core machine: a load well above 2 means something else shared the cores.
    load = (load_before, os.getloadavg()[0])
    report = json.loads(proc.stdout.decode('utf-8'))
    if proc.returncode != 0:
        raise SystemExit('site playbook failed (rc=%d): %s' % (proc.returncode, json.dumps(report['stats'])))
    tasks = [t for play in report['plays'] for t in play['tasks']]
    # ansible.builtin.reboot is the only module that returns 'rebooted'.
    reboots = sum(1 for t in tasks for r in t['hosts'].values() if r.get('rebooted') is True)
    stats = list(report['stats'].values())[0]
    executed = sum(1 for t in tasks for r in t['hosts'].values() if not r.get('skipped'))
    changed = sorted(set(t['task']['name'] for t in tasks if any(r.get('changed') for r in t['hosts'].values())))
    return {'seconds': seconds, 'stats': stats, 'reboots': reboots, 'executed': executed,
            'pipelining': pipelining, 'timings': task_timings(report), 'changed_tasks': changed, 'load': load}


PING_TASKS = 10


def ping_floor(inventory, pipelining, directory):
    """Seconds one module run costs on the VM with nothing to do: the mean of PING_TASKS ansible.builtin.ping tasks
    (SSH, Python start-up in the guest, the module wrapper), the floor under every task that runs on the node."""
    playbook = os.path.join(directory, 'ping.yml')
    with open(playbook, 'w') as handle:
        handle.write('- hosts: all\n  gather_facts: false\n  tasks:\n' + ''.join(
            '    - name: ping %d\n      ansible.builtin.ping:\n' % i for i in range(PING_TASKS)))
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               **settings_env(pipelining))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, playbook,
                           '-e', 'ansible_python_interpreter=/usr/bin/python3'],
                          env=env, stdout=subprocess.PIPE, check=True)
    timings = task_timings(json.loads(proc.stdout.decode('utf-8')))
    return sum(t[0] for t in timings) / len(timings)


def timing_text(name, run):
    lines = ['### %s (%.1f s, pipelining %s)' % (name, run['seconds'], 'on' if run['pipelining'] else 'off'), '',
             '| s | task | result |', '|---|---|---|']
    for seconds, task, status in run['timings']:
        lines.append('| %.1f | %s | %s |' % (seconds, task, status))
    lines.append('| %.1f | sum of the tasks | |' % sum(t[0] for t in run['timings']))
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--write-section', help='append the results as a markdown section to this file')
    parser.add_argument('--no-pipelining', action='store_true', help='run without SSH pipelining')
    parser.add_argument('--compare', action='store_true', help='add a re-run with pipelining off')
    parser.add_argument('--check-first', action='store_true',
                        help='run --check --diff on the fresh VM first and compare its changes with the converge')
    parser.add_argument('--timings', help='write the duration of every task of every run to this file')
    args = parser.parse_args(argv)
    reason = testbed.preflight()
    if reason:
        raise SystemExit('cannot run the VM: %s' % reason)
    pipelining = not args.no_pipelining
    bed = testbed.Testbed()
    inst = bed.up('bench', mem_per_node=4096)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = demo.write_inventory(inst, tmp)
            if args.check_first:
                check = run_site(inventory, pipelining, ['--check', '--diff'])
            runs.append(('first converge', run_site(inventory, pipelining)))
            runs.append(('idempotent re-run', run_site(inventory, pipelining)))
            if args.compare:
                runs.append(('idempotent re-run, pipelining %s' % ('off' if pipelining else 'on'),
                             run_site(inventory, not pipelining)))
            floor = ping_floor(inventory, pipelining, tmp)
    finally:
        bed.down('bench')
    first, second = runs[0][1], runs[1][1]
    if args.check_first:
        runs.insert(0, ('dry run (`--check --diff`, fresh node)', check))
    lines = ['| run | pipelining | wall s | tasks run | ok | changed | reboots | load before/after |',
             '|---|---|---|---|---|---|---|---|']
    for name, run in runs:
        lines.append('| %s | %s | %.1f | %d | %d | %d | %d | %.1f / %.1f |' % (
            name, 'on' if run['pipelining'] else 'off', run['seconds'], run['executed'], run['stats']['ok'],
            run['stats']['changed'], run['reboots'], run['load'][0], run['load'][1]))
    lines.append('')
    lines.append('Re-run / first run: %.0f%% (target: under 25%%). Load: the 1-minute load average of the machine '
                 'before and after each run (the VM alone keeps it between 1 and 2; higher means something else '
                 'shared the cores).' % (100.0 * second['seconds'] / first['seconds']))
    remote = sum(1 for t in second['timings'] if t[0] >= 1.0)
    lines.append('')
    lines.append('One module run with nothing to do (`ansible.builtin.ping`, mean of %d) costs %.1f s on this VM; the '
                 're-run ran %d tasks on the node (1 s or more each) and spent %.1f s in tasks.' % (
                     PING_TASKS, floor, remote, sum(t[0] for t in second['timings'])))
    lines.append('')
    lines.append('Settings: `ANSIBLE_PIPELINING=%s`, `ANSIBLE_SSH_ARGS="%s"`; ansible-core %s.' % (
        'True' if pipelining else 'False', SSH_ARGS, ansible_version()))
    if args.check_first:
        only_check = sorted(set(check['changed_tasks']) - set(first['changed_tasks']))
        only_real = sorted(set(first['changed_tasks']) - set(check['changed_tasks']))
        lines.append('')
        lines.append('Dry run vs first converge: %d tasks reported changed by the dry run, %d by the converge; '
                     'only in the dry run: %s; only in the converge: %s.' % (
                         len(check['changed_tasks']), len(first['changed_tasks']),
                         ', '.join('"%s"' % t for t in only_check) or 'none',
                         ', '.join('"%s"' % t for t in only_real) or 'none'))
    text = '\n'.join(lines)
    print(text)
    if args.timings:
        with open(args.timings, 'w') as handle:
            handle.write('\n'.join(timing_text(name, run) for name, run in runs))
    if args.write_section:
        with open(args.write_section, 'a') as handle:
            handle.write('\n## site playbook on the QEMU testbed (%s)\n\n%s\n' % (time.strftime('%Y-%m-%d'), text))
    return 0 if second['stats']['changed'] == 0 and second['reboots'] == 0 else 1


def ansible_version():
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), '--version'],
                         stdout=subprocess.PIPE, check=False).stdout.decode('utf-8')
    first = out.splitlines()[0] if out else ''
    return first.split('[core')[-1].strip(' ]') if '[core' in first else first


if __name__ == '__main__':
    sys.exit(main())
