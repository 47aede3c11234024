# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pending_actions as Ansible runs it: in check mode on a host tree (the stored items, the node's processes, the
prediction and its diff), and for real on a state file under a temporary directory (write, keep, remove)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._pending import dump
from ansible_collections.dataplane.node.plugins.modules import pending_actions

STATE = 'var/lib/dataplane-node/pending.json'
BTIME = 1764748000


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def process(root, pid, comm, seconds_after_boot):
    write(root, 'proc/%d/comm' % pid, comm + '\n')
    fields = ['S', '1'] + ['0'] * 17 + [str(int(seconds_after_boot * 100))] + ['0'] * 10
    write(root, 'proc/%d/stat' % pid, '%d (%s) %s\n' % (pid, comm, ' '.join(fields)))


def stored(since, reasons=('hugepage pools changed',), what='kubelet restart', unit=None):
    return {'what': what, 'unit': unit, 'reasons': list(reasons), 'first': float(since), 'since': float(since)}


def node(tmp_path, items=None, kubelet_started=None, kubelet_binary=True):
    """A host tree: /proc/stat, a kubelet binary and process, the state file of an earlier run."""
    write(tmp_path, 'proc/stat', 'btime %d\n' % BTIME)
    if kubelet_binary:
        write(tmp_path, 'usr/bin/kubelet', '')
    if kubelet_started is not None:
        process(tmp_path, 100, 'kubelet', kubelet_started - BTIME)
    if items is not None:
        write(tmp_path, STATE, dump(items))  # as a run of the module wrote it
    return str(tmp_path)


def check(run_module, root, **args):
    code, result = run_module(pending_actions, dict(args, root=root, _ansible_check_mode=True, _ansible_diff=True))
    assert code == 0, result
    return result


def test_an_earlier_runs_kubelet_restart_stays_pending_and_nothing_is_written(run_module, tmp_path):
    root = node(tmp_path, [stored(BTIME + 1000)], kubelet_started=BTIME + 10)
    before = (tmp_path / STATE).read_text()
    result = check(run_module, root)
    assert result['pending'] == [{'what': 'kubelet restart', 'since': '2025-12-03T08:03:20Z', 'carried': True,
                                  'reason': 'hugepage pools changed (pending since 2025-12-03T08:03:20Z)'}]
    assert result['settled'] == [] and result['changed'] is False
    assert result['stored'] == [stored(BTIME + 1000.0)]
    assert (tmp_path / STATE).read_text() == before


def test_a_kubelet_started_after_it_settles_it_and_check_mode_predicts_the_removal(run_module, tmp_path):
    root = node(tmp_path, [stored(BTIME + 1000)], kubelet_started=BTIME + 2000)
    result = check(run_module, root)
    assert result['changed'] is True and result['pending'] == []
    assert result['settled'] == [{'what': 'kubelet restart', 'unit': None, 'reasons': ['hugepage pools changed'],
                                  'raised': False,
                                  'why': 'kubelet started at 2025-12-03T08:20:00Z, after 2025-12-03T08:03:20Z'}]
    assert result['diff']['after'] == '' and '"hugepage pools changed"' in result['diff']['before']
    assert os.path.exists(str(tmp_path / STATE))  # check mode: not removed


def test_no_kubelet_binary_or_process_raises_no_kubelet_restart(run_module, tmp_path):
    root = node(tmp_path, kubelet_binary=False)
    result = check(run_module, root, kubelet_restart_reasons=['hugepage pools changed'])
    assert result['changed'] is False and result['pending'] == [] and result['stored'] == []
    assert result['settled'][0]['why'] == 'no kubelet on the node (nothing to restart)'


def test_this_runs_events_are_predicted_as_the_real_run_writes_them(run_module, tmp_path):
    root = node(tmp_path, kubelet_started=BTIME + 10)
    write(tmp_path, 'usr/lib/systemd/system/containerd.service', '[Service]\n')
    process(tmp_path, 200, 'sriovdp', 20)
    result = check(run_module, root, kubelet_restart_reasons=['hugepage pools changed'],
                   memlock_units=['containerd.service'], device_plugin_changed=True)
    assert result['changed'] is True
    assert [(p['what'], p['carried']) for p in result['pending']] == [
        ('runtime restart', False), ('device plugin restart', False), ('kubelet restart', False)]
    assert [i['what'] for i in json.loads(result['diff']['after'])['pending']] == [
        'runtime restart', 'device plugin restart', 'kubelet restart']
    assert not os.path.exists(str(tmp_path / STATE))


def test_a_state_file_it_did_not_write_is_replaced_with_a_warning(run_module, tmp_path):
    root = node(tmp_path)
    write(tmp_path, STATE, 'garbage')
    warnings = []
    with mock.patch.object(AnsibleModule, 'warn', lambda self, text: warnings.append(text)):
        result = check(run_module, root)
    assert result['changed'] is True and result['diff']['after'] == ''
    assert warnings == ['/var/lib/dataplane-node/pending.json is not a state file of this module (not JSON: '
                        'Expecting value: line 1 column 1 (char 0)): replaced']


def test_refuses_a_real_run_on_a_test_root(run_module, tmp_path):
    code, result = run_module(pending_actions, {'root': node(tmp_path)})
    assert code == 1 and 'check mode only' in result['msg']


def test_a_real_run_writes_keeps_and_removes_the_state_file(run_module, tmp_path):
    # On this machine's / (its /proc), with the state file and a kubelet binary (an absolute path) under tmp_path.
    path, binary = str(tmp_path / 'state' / 'pending.json'), str(tmp_path / 'kubelet')
    write(tmp_path, 'kubelet', '')
    args = {'path': path, 'kubelet_binary': binary}
    code, first = run_module(pending_actions, dict(args, kubelet_restart_reasons=['hugepage pools changed']))
    assert code == 0 and first['changed'] is True
    assert [i['reasons'] for i in json.load(open(path))['pending']] == [['hugepage pools changed']]
    code, second = run_module(pending_actions, args)  # the next run raises nothing: still pending, nothing written
    assert code == 0 and second['changed'] is False
    assert [(p['what'], p['carried']) for p in second['pending']] == [('kubelet restart', True)]
    code, third = run_module(pending_actions, dict(args, kubelet_restarted=True))
    assert code == 0 and third['changed'] is True and third['pending'] == []
    assert not os.path.exists(path)
