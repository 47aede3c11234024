# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.dataplane.node.plugins.filter.run_summary import fleet_summary, run_summary, run_summary_lines
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._summary import as_bool, summary


@pytest.fixture(scope='module')
def converged(host_root):
    """server2s as a converged node: 2M 512 on node1, 1G 8, 4 VFs on 0000:af:00.0."""
    return gather(Host(host_root('server2s')), SUBSETS)


@pytest.fixture
def fresh(converged):
    """The same node before its first converge: stock command line, no pools, no VFs."""
    before = copy.deepcopy(converged)
    before['cmdline']['raw'] = 'BOOT_IMAGE=/vmlinuz ro quiet'
    for pool in before['hugepages']['pools'].values():
        for node in pool['nodes'].values():
            node['nr'] = 0
    pf = before['pci']['devices']['0000:af:00.0']
    for vf in pf['sriov']['vfs']:
        before['pci']['devices'].pop(vf['address'], None)
    pf['sriov'] = dict(pf['sriov'], numvfs=0, vfs=[])
    return before


def test_converged_node_nothing_changed_nothing_pending(converged):
    item = summary(converged, None, {'changed': False, 'reboot_allowed': True}, 'w1')
    assert item['status'] == 'unchanged'
    assert item['pending'] == []
    assert not item['cmdline']['changed']
    assert all(row['before'] == row['after'] for row in item['hugepages'])
    assert run_summary_lines(item) == ['w1: unchanged'] + [
        line for line in run_summary_lines(item) if line.startswith('  hugepages') or line.startswith('  VFs')]
    json.dumps(item)  # JSON-friendly


def test_first_converge_cmdline_pools_vfs(fresh, converged):
    results = {'changed': True, 'rebooted': True,
               'hugepages_pools': [{'size': '2M', 'nodes': {'1': 512}}, {'size': '1G', 'count': 16}],
               'kubelet_restarted_for': ['hugepage pools changed'],
               'kubelet_capacity': {'before': {'hugepages-2Mi': '0', 'cpu': '32'},
                                    'after': {'hugepages-2Mi': '1Gi', 'cpu': '32'}},
               'boot_applier': {'persisted': True}}
    item = run_summary(fresh, converged, results, 'w1')
    assert item['status'] == 'changed'
    assert item['cmdline']['changed'] and item['cmdline']['booted']
    row = [r for r in item['hugepages'] if r['size'] == '2M' and r['node'] == '1'][0]
    assert (row['asked'], row['before'], row['after'], row['short']) == (512, 0, 512, False)
    total = [r for r in item['hugepages'] if r['size'] == '1G' and r['node'] is None][0]
    assert (total['asked'], total['before'], total['after'], total['short']) == (16, 0, 16, False)
    vfs = [r for r in item['vfs'] if r['pf'] == '0000:af:00.0'][0]
    assert (vfs['before'], vfs['after']) == (0, 4)
    assert vfs['drivers'].get('vfio-pci', 0) >= 1
    assert item['vfio']['added']
    lines = run_summary_lines(item)
    assert lines[0] == 'w1: changed'
    assert '  cmdline: BOOT_IMAGE=/vmlinuz ro quiet -> %s (booted: yes)' % converged['cmdline']['raw'] in lines
    assert '  hugepages 2M node1: asked 512, 0 -> 512' in lines
    assert '  kubelet: restarted (hugepage pools changed)' in lines
    assert '  Node hugepage capacity: hugepages-2Mi=0 -> hugepages-2Mi=1Gi' in lines
    assert not [line for line in lines if 'PENDING' in line]


def test_failed_pool_allocated_less_than_asked(fresh, converged):
    after = copy.deepcopy(converged)
    after['hugepages']['pools']['2M']['nodes']['1']['nr'] = 300
    item = summary(fresh, after, {'changed': True, 'failed': True,
                                  'hugepages_pools': [{'size': '2M', 'node': 1, 'count': 512}]}, 'w1')
    assert item['status'] == 'failed'
    row = [r for r in item['hugepages'] if r['size'] == '2M' and r['node'] == '1'][0]
    assert (row['asked'], row['after'], row['short']) == (512, 300, True)
    assert '  hugepages 2M node1: asked 512, 0 -> 300 SHORT' in run_summary_lines(item)


@pytest.mark.parametrize('allowed', [False, 'false', 'no'])
def test_withheld_reboot_is_pending(fresh, allowed):
    item = summary(fresh, fresh, {'changed': True, 'reboot_allowed': allowed,
                                  'reboot_reasons': ['kernel command line changed'],
                                  'memlock_changed': True, 'memlock_units': ['containerd'],
                                  'device_plugin_changed': True}, 'w1')
    assert item['status'] == 'pending'
    assert [p['what'] for p in item['pending']] == ['reboot', 'runtime restart', 'device plugin restart']
    assert item['pending'][0]['reason'] == 'withheld by reboot_allowed: false: kernel command line changed'
    assert '  PENDING runtime restart: the memlock drop-in of containerd takes effect at its next restart' in \
        run_summary_lines(item)


def test_as_bool():
    assert [as_bool(v) for v in (True, 'true', 'True', 'yes', 1, '1')] == [True] * 6
    assert [as_bool(v) for v in (False, 'false', 'False', 'no', 0, '0', '')] == [False] * 7
    assert as_bool(None, True) is True


def test_fleet_summary(converged):
    hostvars = {
        'w1': {'dataplane_node_summary': summary(converged, None, {}, 'w1')},
        'w2': {'dataplane_node_summary': summary(converged, None, {'changed': True, 'reboot_allowed': 'false',
                                                                   'reboot_reasons': ['x']}, 'w2')},
        'w3': {},
    }
    assert fleet_summary(hostvars, ['w1', 'w2', 'w3']) == [
        'node  status     pending',
        'w1    unchanged  -',
        'w2    pending    reboot',
        'w3    failed     no summary (the run stopped before the end)',
        'total: 1 unchanged, 1 failed, 1 pending',
    ]


def test_the_html_report_shows_the_summary_and_the_pending_items(fresh):
    from ansible_collections.dataplane.node.plugins.module_utils._html_report import render_page
    item = summary(fresh, fresh, {'changed': True, 'reboot_allowed': 'false', 'reboot_reasons': ['iommu=pt']}, 'w1')
    page = render_page([{'name': 'w1', 'facts': fresh, 'summary': item}])
    assert 'Last run: <span data-run-status="pending">pending</span>' in page
    assert '<li class="f-warning" data-level="pending">pending reboot: withheld by reboot_allowed: false: iommu=pt</li>' \
        in page
    assert 'Last run' not in render_page([{'name': 'w1', 'facts': fresh}])


def test_no_kubelet_on_the_node_leaves_no_kubelet_restart_pending(fresh):
    results = {'changed': True, 'kubelet_restart_reasons': ['hugepage pools changed']}
    assert [p['what'] for p in summary(fresh, fresh, results, 'w1')['pending']] == ['kubelet restart']
    item = summary(fresh, fresh, dict(results, kubelet_installed=False), 'w1')
    assert item['pending'] == [] and item['status'] == 'changed'


def test_the_restarts_kept_on_the_node_stand_for_this_runs_events(converged):
    # A run that changed nothing (the idempotence run) after one that left a kubelet restart: still pending.
    kept = [{'what': 'kubelet restart', 'reason': 'hugepage pools changed (pending since 2026-12-03T07:40:12Z)',
             'since': '2026-12-03T07:40:12Z', 'carried': True}]
    item = summary(converged, None, {'changed': False, 'device_plugin_changed': True, 'pending_actions': kept}, 'w1')
    assert item['status'] == 'pending' and item['pending'] == kept
    assert run_summary_lines(item)[0] == 'w1: pending'
    assert '  PENDING kubelet restart: hugepage pools changed (pending since 2026-12-03T07:40:12Z)' in \
        run_summary_lines(item)
    assert fleet_summary({'w1': {'dataplane_node_summary': item}}, ['w1'])[1].split() == [
        'w1', 'pending', 'kubelet', 'restart']
    # The reboot still comes from this run (the kernel_cmdline role finds it again each run); an empty list: done.
    settled = [{'what': 'kubelet restart', 'raised': False,
                'why': 'kubelet started at 2026-12-03T08:01:02Z, after 2026-12-03T07:40:12Z'},
               {'what': 'device plugin restart', 'raised': True, 'why': 'no sriov-network-device-plugin runs on the node'}]
    item = summary(converged, None, {'reboot_allowed': False, 'reboot_reasons': ['x'], 'pending_actions': [],
                                     'kubelet_restart_reasons': ['hugepage pools changed'], 'pending_settled': settled},
                   'w1')
    assert [p['what'] for p in item['pending']] == ['reboot']
    assert item['settled'] == [{'what': 'kubelet restart',
                                'why': 'kubelet started at 2026-12-03T08:01:02Z, after 2026-12-03T07:40:12Z'}]
    assert '  done since an earlier run: kubelet restart (kubelet started at 2026-12-03T08:01:02Z, after ' \
           '2026-12-03T07:40:12Z)' in run_summary_lines(item)
