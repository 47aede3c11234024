# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restarts kept on the node until done (module_utils/_pending.py): earlier runs' items + this run's events +
the node's evidence -> what is still pending."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS
from ansible_collections.dataplane.node.plugins.module_utils._pending import (
    DEVICE_PLUGIN, KUBELET, RUNTIME, ProcessStarts, StateError, dump, evidence, load, merge, raised, stored_kubelet_restart, summary_items)

T1 = 1764748800.0  # 2025-12-03T08:00:00Z: the run that raised the item
T2 = T1 + 3600     # the next run


def node(kubelet=True, kubelet_starts=(), restarted=False, runtimes=None, plugin_starts=()):
    return {'kubelet': {'present': kubelet, 'restarted': restarted, 'starts': list(kubelet_starts)},
            'runtimes': runtimes or {}, 'device_plugin': {'starts': list(plugin_starts)}}


def first_run(evidence_now, **events):
    pending, settled = merge([], raised(**events), evidence_now, T1)
    return pending, settled


def test_an_event_of_this_run_is_pending_with_its_time():
    pending, settled = first_run(node(kubelet_starts=[T1 - 500]), kubelet_restart_reasons=['hugepage pools changed'])
    assert pending == [{'what': KUBELET, 'unit': None, 'reasons': ['hugepage pools changed'], 'first': T1, 'since': T1}]
    assert settled == []
    assert summary_items(pending, T1) == [{'what': KUBELET, 'reason': 'hugepage pools changed',
                                           'since': '2025-12-03T08:00:00Z', 'carried': False}]


def test_the_next_run_that_raises_nothing_keeps_the_kubelet_restart_nobody_did():
    pending, _settled = first_run(node(kubelet_starts=[T1 - 500]), kubelet_restart_reasons=['hugepage pools changed'])
    again, settled = merge(load(dump(pending)), raised(), node(kubelet_starts=[T1 - 500]), T2)
    assert again == pending and settled == []
    assert summary_items(again, T2) == [{
        'what': KUBELET, 'reason': 'hugepage pools changed (pending since 2025-12-03T08:00:00Z)',
        'since': '2025-12-03T08:00:00Z', 'carried': True}]
    assert dump(again) == dump(pending)  # nothing to write: the run stays unchanged


def test_a_kubelet_start_after_the_event_settles_it():
    previous = first_run(node(kubelet_starts=[T1 - 500]), kubelet_restart_reasons=['hugepage pools changed'])[0]
    pending, settled = merge(previous, [], node(kubelet_starts=[T1 + 60]), T2)
    assert pending == []
    assert settled == [{'what': KUBELET, 'unit': None, 'reasons': ['hugepage pools changed'], 'raised': False,
                        'why': 'kubelet started at 2025-12-03T08:01:00Z, after 2025-12-03T08:00:00Z'}]
    assert dump(pending) is None  # the state file goes


def test_the_kubelet_roles_restart_settles_it_whatever_the_clock():
    previous = first_run(node(kubelet_starts=[T1 - 500]), kubelet_restart_reasons=['hugepage pools changed'])[0]
    pending, settled = merge(previous, [], node(kubelet_starts=[T1 - 500], restarted=True), T2)
    assert pending == [] and settled[0]['why'] == 'kubelet restarted by this run'


def test_a_kubelet_that_does_not_run_keeps_it_until_it_starts():
    previous = first_run(node(), kubelet_restart_reasons=['hugepage pools changed'])[0]
    assert merge(previous, [], node(), T2)[0] == previous
    assert merge(previous, [], node(kubelet_starts=[T2]), T2)[0] == []


def test_no_kubelet_on_the_node_raises_no_kubelet_restart_and_drops_a_stored_one():
    pending, settled = first_run(node(kubelet=False), kubelet_restart_reasons=['hugepage pools changed'])
    assert pending == []
    assert settled == [{'what': KUBELET, 'unit': None, 'reasons': ['hugepage pools changed'], 'raised': True,
                        'why': 'no kubelet on the node (nothing to restart)'}]
    stored = [{'what': KUBELET, 'unit': None, 'reasons': ['x'], 'first': T1, 'since': T1}]
    assert merge(stored, [], node(kubelet=False), T2)[0] == []


def test_a_new_event_on_a_kept_item_moves_its_since_and_adds_the_reason():
    previous = first_run(node(kubelet_starts=[T1 - 500]), kubelet_restart_reasons=['hugepage pools changed'])[0]
    pending, _settled = merge(previous, raised(kubelet_restart_reasons=['kubelet configuration changed (/x)']),
                              node(kubelet_starts=[T1 - 500]), T2)
    assert pending == [{'what': KUBELET, 'unit': None, 'first': T1, 'since': T2,
                        'reasons': ['hugepage pools changed', 'kubelet configuration changed (/x)']}]
    # A kubelet started between the two events ran the first change but not the second: still pending.
    assert merge(pending, [], node(kubelet_starts=[T1 + 60]), T2 + 10)[0] == pending


def test_runtimes_are_settled_one_unit_at_a_time_and_listed_in_one_entry():
    runtimes = {'containerd.service': {'present': True, 'starts': [T1 - 10]},
                'crio.service': {'present': True, 'starts': [T1 - 10]}}
    pending, _settled = first_run(node(runtimes=runtimes), memlock_units=['containerd.service', 'crio'])
    assert [(i['what'], i['unit']) for i in pending] == [(RUNTIME, 'containerd.service'), (RUNTIME, 'crio.service')]
    assert summary_items(pending, T1) == [{
        'what': RUNTIME, 'reason': 'the memlock drop-in of containerd.service, crio.service takes effect at its next '
                                   'restart', 'since': '2025-12-03T08:00:00Z', 'carried': False}]
    runtimes['crio.service']['starts'] = [T1 + 5]
    again, settled = merge(pending, [], node(runtimes=runtimes), T2)
    assert [i['unit'] for i in again] == ['containerd.service']
    assert settled[0]['why'] == 'crio.service started at 2025-12-03T08:00:05Z, after 2025-12-03T08:00:00Z'
    # The oldest process counts: one still running from before the drop-in has the old limit.
    runtimes['containerd.service']['starts'] = [T1 - 10, T1 + 5]
    assert merge(again, [], node(runtimes=runtimes), T2)[0] == again


def test_a_runtime_the_node_does_not_have_is_no_restart():
    pending, settled = first_run(node(runtimes={'docker.service': {'present': False, 'starts': []}}),
                                 memlock_units=['docker.service'])
    assert pending == [] and settled[0]['why'] == 'no docker.service on the node (nothing to restart)'


def test_the_device_plugin_is_pending_while_a_process_from_before_its_config_runs():
    pending, _settled = first_run(node(plugin_starts=[T1 - 100]), device_plugin_changed=True)
    assert [i['what'] for i in pending] == [DEVICE_PLUGIN]
    assert merge(pending, [], node(plugin_starts=[T1 - 100]), T2)[0] == pending
    assert merge(pending, [], node(plugin_starts=[T1 + 100]), T2)[0] == []
    # No plugin runs on the node: it reads the config when it starts.
    pending, settled = first_run(node(), device_plugin_changed=True)
    assert pending == [] and 'when it starts' in settled[0]['why']


def test_the_order_is_the_run_summarys():
    runtimes = {'containerd.service': {'present': True, 'starts': [T1 - 10]}}
    pending, _settled = first_run(node(kubelet_starts=[T1 - 9], runtimes=runtimes, plugin_starts=[T1 - 8]),
                                  kubelet_restart_reasons=['hugepage pools changed'],
                                  memlock_units=['containerd.service'], device_plugin_changed=True)
    assert [i['what'] for i in summary_items(pending, T1)] == [RUNTIME, DEVICE_PLUGIN, KUBELET]


def test_the_state_file_round_trips_and_refuses_what_it_did_not_write():
    items = [{'what': KUBELET, 'unit': None, 'reasons': ['a'], 'first': T1, 'since': T2}]
    text = dump(items)
    assert json.loads(text)['version'] == 1 and load(text) == items
    assert load(None) == [] and load('') == []
    with pytest.raises(StateError):
        load('{not json')
    with pytest.raises(StateError):
        load('[]')
    # A broken entry is dropped, not the file.
    assert load(json.dumps({'pending': [{'what': 'reboot', 'since': T1}, {'what': KUBELET, 'since': 'x'},
                                        {'what': KUBELET, 'since': T1, 'reasons': ['b']}]})) == [
        {'what': KUBELET, 'unit': None, 'reasons': ['b'], 'first': T1, 'since': T1}]


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def process(root, pid, comm, start_ticks):
    write(root, 'proc/%d/comm' % pid, comm + '\n')
    # Field 2, the name in parentheses, may hold spaces and parentheses; starttime is field 22.
    fields = ['S', '1'] + ['0'] * 17 + [str(start_ticks)] + ['0'] * 10
    write(root, 'proc/%d/stat' % pid, '%d (%s) %s\n' % (pid, comm, ' '.join(fields)))


def test_process_start_times_from_proc(tmp_path):
    write(tmp_path, 'proc/stat', 'cpu  1 2 3\nbtime 1764748000\nprocesses 10\n')
    process(tmp_path, 10, 'kubelet', 50000)         # 500 s after boot
    process(tmp_path, 11, 'containerd', 1000)
    process(tmp_path, 12, 'containerd-shim', 10)
    write(tmp_path, 'proc/13/comm', 'sriovdp\n')  # no stat: gone meanwhile
    starts = ProcessStarts(HostFS(str(tmp_path)), 100).starts(['kubelet', 'containerd', 'sriovdp', 'crio'])
    assert starts == {'kubelet': [1764748500.0], 'containerd': [1764748010.0], 'sriovdp': [], 'crio': []}


def test_evidence_of_a_node(tmp_path):
    write(tmp_path, 'proc/stat', 'btime 1764748000\n')
    process(tmp_path, 10, 'dockerd', 100)
    write(tmp_path, 'lib/systemd/system/crio.service', '[Service]\n')
    found = evidence(HostFS(str(tmp_path)), False, False, ['docker.service', 'crio.service', 'containerd.service'])
    assert found == {'kubelet': {'present': False, 'restarted': False, 'starts': []},
                     'runtimes': {'docker.service': {'present': True, 'starts': [1764748001.0]},
                                  'crio.service': {'present': True, 'starts': []},
                                  'containerd.service': {'present': False, 'starts': []}},
                     'device_plugin': {'starts': []}}
    process(tmp_path, 11, 'kubelet', 100)  # a kubelet process without a binary found still counts
    assert evidence(HostFS(str(tmp_path)), False, False, [])['kubelet']['present'] is True


def kept_kubelet_restart(root, since=T1):
    """The state file pending_actions leaves after a run whose pools changed and whose kubelet did not restart."""
    pending = first_run(node(kubelet_starts=[since - 500]), kubelet_restart_reasons=['hugepage pools changed'])[0]
    for item in pending:
        item.update(first=since, since=since)
    write(root, 'var/lib/dataplane-node/pending.json', dump(pending))


def test_the_kubelet_restart_an_earlier_run_kept_is_read_for_the_kubelet_role(tmp_path):
    write(tmp_path, 'proc/stat', 'btime %d\n' % int(T1 - 1000))
    process(tmp_path, 10, 'kubelet', 100 * 500)  # started 500 s before the event: it still runs the old pools
    kept_kubelet_restart(tmp_path)
    assert stored_kubelet_restart(HostFS(str(tmp_path))) == {
        'reasons': ['hugepage pools changed'], 'first': '2025-12-03T08:00:00Z', 'since': '2025-12-03T08:00:00Z'}


def test_a_kubelet_started_after_the_kept_restart_owes_nothing(tmp_path):
    # A reboot, or someone restarted it: the pools are in the Node already (pending_actions settles the item).
    write(tmp_path, 'proc/stat', 'btime %d\n' % int(T1 - 1000))
    process(tmp_path, 10, 'kubelet', 100 * 1060)  # 60 s after the event
    kept_kubelet_restart(tmp_path)
    assert stored_kubelet_restart(HostFS(str(tmp_path))) is None


def test_no_state_file_or_one_not_ours_owes_no_kubelet_restart(tmp_path):
    write(tmp_path, 'proc/stat', 'btime %d\n' % int(T1 - 1000))
    assert stored_kubelet_restart(HostFS(str(tmp_path))) is None
    write(tmp_path, 'var/lib/dataplane-node/pending.json', '{"something": "else"}')
    assert stored_kubelet_restart(HostFS(str(tmp_path))) is None
    items = first_run(node(runtimes={'containerd.service': {'present': True, 'starts': []}}),
                      memlock_units=['containerd.service'])[0]
    assert [i['what'] for i in items] == [RUNTIME]
    write(tmp_path, 'var/lib/dataplane-node/pending.json', dump(items))  # a runtime restart only
    assert stored_kubelet_restart(HostFS(str(tmp_path))) is None
