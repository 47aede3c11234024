# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site playbook's verify step through ansible-playbook on this machine (local connection, check mode): the
facts are gathered again only when a task of the run changed the node; otherwise the report says the facts from the
start stand. Also: every notification a role sends is one the site playbook's change handler listens to."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

import yaml

from playbook_json import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GATHER = 'Verify - gather dataplane facts (after; only when a task changed the node)'
SHOW = 'Verify - the run on this node (changes, and every effect still pending)'
DUMP = 'Verify - every fact field that changed (-v)'
KEEP = "Verify - keep the restarts still pending on the node until they are done (this run's and earlier runs')"
HANDLER = 'Note that this run changed the node'
UNCHANGED = 'no task changed this node in this run: the facts from its start stand for the end (not gathered again)'

INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
  hosts:
    node1:
'''


def site(tmp_path, *args):
    code, report, tail = run_playbook(tmp_path, INVENTORY, 'dataplane.node.site', ('--check',) + args)
    assert code == 0, tail
    return dict((t['task']['name'].split(' : ', 1)[-1], t['hosts']['node1'])
                for p in report['plays'] for t in p['tasks'] if 'node1' in t['hosts'])


def fake_kubelet(tmp_path):
    """A kubelet binary for the node (this machine has none): the pools' change then asks for its restart."""
    path = tmp_path / 'kubelet'
    path.write_text('#!/bin/sh\necho Kubernetes v1.30.2\n')
    path.chmod(0o755)
    return str(path)


def current_thp():
    with open('/sys/kernel/mm/transparent_hugepage/enabled') as handle:
        return handle.read().split('[', 1)[1].split(']', 1)[0]


def test_a_run_that_changes_nothing_reuses_the_facts_and_says_so(tmp_path):
    ran = site(tmp_path, '--tags', 'verify')
    assert HANDLER not in ran
    assert ran[GATHER].get('skipped') is True
    assert ran[SHOW]['msg'] == ['node1: unchanged']
    assert ran[DUMP].get('skipped') is True  # the field-by-field dump is for -v


def test_the_field_by_field_dump_is_kept_at_verbosity_1():
    with open(os.path.join(REPO, 'playbooks', 'site.yml')) as handle:
        plays = yaml.safe_load(handle)
    dump = next(t for p in plays for t in p['tasks'] if t['name'] == DUMP)
    assert dump['ansible.builtin.debug']['verbosity'] == 1
    assert 'node_changes' in dump['ansible.builtin.debug']['msg']


def test_a_change_gathers_the_facts_again(tmp_path):
    # The hugepages role asks for another THP mode than this machine has: in check mode the module reports the
    # change it would make, the handler notes it, and the verify step gathers the facts again.
    other = 'never' if current_thp() != 'never' else 'madvise'
    ran = site(tmp_path, '--tags', 'hugepages', '-e', 'hugepages_transparent=%s' % other, '-e', 'hugepages_persist=false',
               '-e', 'kubelet_binary=%s' % fake_kubelet(tmp_path))
    changed = [name for name, result in ran.items() if result.get('changed')]
    assert 'Allocate the runtime pools per NUMA node, reading every value back; mount hugetlbfs per page size' in changed
    assert ran[HANDLER]['ansible_facts'] == {'dataplane_node_run_changed': True}
    assert not ran[GATHER].get('skipped') and 'dataplane' in ran[GATHER]['ansible_facts']
    # Check mode changed nothing, so the node's facts are the same; only the unchanged-run note is absent.
    # The pools' change asks for a kubelet restart, which this run (tags hugepages) does not reach: it is pending.
    assert ran[SHOW]['msg'][0] == 'node1: pending'
    assert '  PENDING kubelet restart: hugepage pools changed' in ran[SHOW]['msg']
    # Kept on the node until kubelet restarts: check mode predicts the state file and writes nothing.
    kept = ran[KEEP]
    assert kept['changed'] is True and [p['what'] for p in kept['pending']] == ['kubelet restart']
    assert not os.path.exists('/var/lib/dataplane-node/pending.json')


def test_a_node_without_kubelet_has_no_kubelet_restart_pending(tmp_path):
    other = 'never' if current_thp() != 'never' else 'madvise'
    ran = site(tmp_path, '--tags', 'hugepages', '-e', 'hugepages_transparent=%s' % other, '-e', 'hugepages_persist=false',
               '-e', 'kubelet_binary=/nonexistent/kubelet')
    assert ran[SHOW]['msg'][0] == 'node1: changed'
    assert ran[KEEP]['pending'] == [] and ran[KEEP]['settled'][0]['why'] == 'no kubelet on the node (nothing to restart)'


def test_every_role_notification_is_heard_by_the_change_handler():
    with open(os.path.join(REPO, 'playbooks', 'site.yml')) as handle:
        plays = yaml.safe_load(handle)
    play = next(p for p in plays if p.get('handlers'))
    handler = next(h for h in play['handlers'] if h['name'] == HANDLER)
    block = next(t for t in play['tasks'] if 'block' in t)
    heard = set(handler['listen'])
    assert block['notify'] in heard
    sent = set()
    for path in glob.glob(os.path.join(REPO, 'roles', '*', 'tasks', '*.yml')):
        with open(path) as handle:
            stack = list(yaml.safe_load(handle) or [])
        while stack:
            task = stack.pop()
            for key in ('block', 'rescue', 'always'):
                stack.extend(task.get(key) or [])
            notify = task.get('notify')
            sent.update([notify] if isinstance(notify, str) else notify or [])
    assert sent and sent <= heard, 'role notifications the site playbook does not hear: %s' % sorted(sent - heard)


def test_pending_effects_fail_the_run_with_dataplane_fail_on_pending(tmp_path):
    # As above: the pools' change leaves a kubelet restart pending (the run's tags leave the kubelet role out).
    other = 'never' if current_thp() != 'never' else 'madvise'
    out = tmp_path / 'summary'
    code, report, tail = run_playbook(tmp_path, INVENTORY, 'dataplane.node.site', (
        '--check', '--tags', 'hugepages', '-e', 'hugepages_transparent=%s' % other, '-e', 'hugepages_persist=false',
        '-e', 'dataplane_fail_on_pending=true', '-e', 'dataplane_summary_path=%s' % out,
        '-e', 'kubelet_binary=%s' % fake_kubelet(tmp_path)))
    assert code != 0, tail
    ran = dict((t['task']['name'], t['hosts']) for p in report['plays'] for t in p['tasks'])
    fail = ran['Fail on what is still pending (dataplane_fail_on_pending)']['localhost']
    assert fail['failed'] and fail['msg'] == 'still pending: node1 pending kubelet restart'
    assert ran['One line per node, changed, unchanged, failed or pending']['localhost']['msg'][1].split() == [
        'node1', 'pending', 'kubelet', 'restart']
    written = json.loads((out / 'node1.json').read_text())
    assert written['status'] == 'pending' and [dict(p, since=None) for p in written['pending']] == [
        {'what': 'kubelet restart', 'reason': 'hugepage pools changed', 'since': None, 'carried': False}]
    assert 'changes' in written


def test_a_run_that_fails_after_the_pools_changed_keeps_the_kubelet_restart(tmp_path):
    # The pools' change raises a kubelet restart; then the kubelet role refuses its settings (a CPU this machine does
    # not have). The rescue keeps the restart for the next run (here in check mode: predicted, not written) and the
    # host fails with the step's own message.
    other = 'never' if current_thp() != 'never' else 'madvise'
    code, report, tail = run_playbook(tmp_path, INVENTORY, 'dataplane.node.site', (
        '--check', '--tags', 'hugepages,kubelet', '-e', 'hugepages_transparent=%s' % other, '-e', 'hugepages_persist=false',
        '-e', 'kubelet_binary=%s' % fake_kubelet(tmp_path), '-e', '{"kubelet_settings": {"reservedSystemCPUs": "999"}}'))
    assert code == 2, tail
    ran = dict((t['task']['name'].split(' : ', 1)[-1], t['hosts']['node1'])
               for p in report['plays'] for t in p['tasks'] if 'node1' in t['hosts'])
    kept = ran['A step failed - keep the restarts this run raised before it on the node']
    assert kept['changed'] is True and kept['pending'][0]['what'] == 'kubelet restart'
    # What the module returns, not its invocation (ansible-core 2.21's json callback leaves the invocation out).
    assert kept['pending'][0]['reason'] == 'hugepage pools changed' and kept['pending'][0]['carried'] is False
    assert [s['reasons'] for s in kept['stored']] == [['hugepage pools changed']]
    failed = ran['A step failed - fail as it did']
    assert failed['failed'] and failed['msg'].startswith('Merge the kubelet settings, validated against the node failed: ')
    assert 'CPUs 999 do not exist' in failed['msg']
    assert failed['msg'].endswith('; still pending: kubelet restart (check mode: not kept)')
    assert SHOW not in ran  # the failed host gets no summary
    assert report['stats']['node1']['failures'] == 1 and report['stats']['node1']['rescued'] == 1
    assert not os.path.exists('/var/lib/dataplane-node/pending.json')
