# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NUMA-locality plan on fixture hosts: the 2-socket server (NICs on both nodes), the QEMU guest, the AMD host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._locality import (
    plan, plan_lines, reboot_forecast, selected_nics, suggest_isolated)

E810 = {'pf': '0000:af:00.0', 'numvfs': 4, 'vfio_vfs': [2, 3]}  # node 1 on server2s


@pytest.fixture
def facts(host_root):
    return lambda name: gather(Host(host_root(name)), SUBSETS)


def test_selected_nics_name_their_use_and_node(facts):
    nics = selected_nics(facts('server2s'), {
        'sriov_pfs': [E810], 'sriov_vfio_devices': ['d8:00.0'],
        'hugepages_pools': [{'size': '2M', 'count': 8, 'near': '0000:3b:00.0'}]})
    assert [(n['address'], n['uses'], n['numa_node'], n['driver']) for n in nics] == [
        ('0000:3b:00.0', ['hugepages near'], 0, 'mlx5_core'),
        ('0000:af:00.0', ['sriov'], 1, 'ice'),
        ('0000:d8:00.0', ['vfio-pci'], None, None)]
    assert nics[1]['vfio_vfs'] == [2, 3] and nics[1]['netdevs'] == ['ens2f0']


def test_place_puts_unplaced_pools_on_the_nic_node(facts):
    result = plan(facts('server2s'), {'sriov_pfs': [E810], 'hugepages_pools': [
        {'size': '2M', 'count': 1025}, {'size': '1G', 'count': 4}, {'size': '2M', 'count': 0}]}, 'place')
    assert result['nic_nodes'] == [1]
    assert result['hugepages_pools'] == [{'size': '2M', 'nodes': {1: 1025}}, {'size': '1G', 'nodes': {1: 4}},
                                         {'size': '2M', 'count': 0}]
    assert [(p['placement'], p['nodes']) for p in result['pools']] == [
        ('placed', {'1': 1025}), ('placed', {'1': 4}), ('spread', {'0': 0, '1': 0})]
    assert result['findings'] == []
    assert result['suggested_isolated_cpus'] == '9-15,25-31'


def test_warn_reports_the_default_spread_away_from_the_nics(facts):
    result = plan(facts('server2s'), {'sriov_pfs': [E810], 'hugepages_pools': [{'size': '2M', 'count': 1025}]})
    assert result['mode'] == 'warn' and result['hugepages_pools'] is None
    assert result['pools'][0]['nodes'] == {'0': 513, '1': 512}
    assert result['findings'] == [{'level': 'warning', 'text': (
        '2M pool: 513 page(s) on node(s) 0, away from the NICs (node 1): spread evenly by default; '
        'set near, node(s) or dataplane_numa_locality=place')}]


def test_strict_fails_explicit_splits_only(facts):
    values = {'sriov_pfs': [E810], 'kernel_cmdline_isolated_cpus': '2-7,18-23',
              'hugepages_pools': [{'size': '2M', 'nodes': {0: 256, 1: 256}}, {'size': '1G', 'count': 2}]}
    result = plan(facts('server2s'), values, 'strict')
    assert result['isolated_cpus'] == {'0': '2-7,18-23'}
    assert result['findings'] == [
        {'level': 'error', 'text': '2M pool: 256 page(s) on node(s) 0, away from the NICs (node 1)'},
        {'level': 'warning', 'text': '1G pool: 1 page(s) on node(s) 0, away from the NICs (node 1): spread evenly '
                                     'by default; set near, node(s) or dataplane_numa_locality=place'},
        {'level': 'error', 'text': 'isolated CPUs 2-7,18-23 are on node(s) 0, away from the NICs (node 1)'},
        {'level': 'error', 'text': "no isolated CPU on the NICs' node 1"}]
    assert [f['level'] for f in plan(facts('server2s'), values, 'warn')['findings']] == ['warning'] * 4


def test_nics_on_both_nodes_and_unknown_node(facts):
    result = plan(facts('server2s'), {
        'sriov_pfs': [E810, {'pf': '0000:3b:00.0', 'numvfs': 2}], 'sriov_vfio_devices': ['0000:d8:00.0'],
        'hugepages_pools': [{'size': '2M', 'node': 1, 'count': 64}]}, 'strict')
    assert result['nic_nodes'] == [0, 1]
    assert result['findings'] == [
        {'level': 'warning', 'text': 'NUMA node unknown (numa_node -1) for 0000:d8:00.0: locality cannot be checked for it'},
        {'level': 'warning', 'text': 'the selected NICs sit on NUMA nodes 0, 1: each needs its own hugepages and CPUs'},
        {'level': 'error', 'text': 'NIC 0000:3b:00.0 (node 0) has no hugepages on its NUMA node'}]


def test_off_makes_no_findings_but_still_forecasts(facts):
    result = plan(facts('server2s'), {'sriov_pfs': [E810], 'hugepages_pools': [{'size': '2M', 'node': 0, 'count': 8}],
                                      'kernel_cmdline_iommu': 'passthrough'}, 'off')
    assert result['findings'] == [] and result['nics'] == []
    assert result['reboot'] == {'known': True, 'needed': False, 'missing': [], 'unexpected': []}


def test_qemu_guest_knows_no_pci_numa_node(facts):
    # q35 puts every device on the root bus without a proximity domain: numa_node -1.
    result = plan(facts('qemu-igb'), {'sriov_pfs': [{'pf': '0000:00:03.0', 'numvfs': 2}],
                                      'hugepages_pools': [{'size': '2M', 'count': 64}]}, 'place')
    assert result['nic_nodes'] == [] and result['hugepages_pools'] is None
    assert result['findings'] == [{'level': 'warning', 'text': (
        'NUMA node unknown (numa_node -1) for 0000:00:03.0: locality cannot be checked for it')}]


def test_reboot_forecast_matches_the_booted_command_line(facts):
    server = facts('server2s')
    # What server2s booted with: nothing to do.
    assert reboot_forecast(server, {'kernel_cmdline_iommu': 'passthrough', 'kernel_cmdline_isolated_cpus': '2-15,18-31',
                                    'kernel_cmdline_isolation_flags': ['managed_irq', 'domain']})['needed'] is False
    forecast = reboot_forecast(server, {'kernel_cmdline_iommu': True, 'hugepages_default_size': '1G',
                                        'hugepages_pools': [{'size': '1G', 'nodes': {0: 4, 1: 4}}]})
    assert forecast['needed'] is True
    assert forecast['missing'] == ['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:4,1:4']
    # True is YAML's unquoted 'on': IOMMU on without passthrough, so iommu=pt goes.
    assert forecast['unexpected'] == ['iommu=pt', 'hugepages=0:8,1:8', 'hugepagesz=2M', 'hugepages=1024']
    qemu = facts('qemu-igb')
    # The capture has no ACPI tables and TCG's CPU says AuthenticAMD: the module renders AMD arguments too.
    assert qemu['iommu']['platform'] is None and qemu['numa']['cpus']['vendor'] == 'amd'
    assert reboot_forecast(qemu, {'kernel_cmdline_iommu': 'off'})['missing'] == ['amd_iommu=off']
    assert reboot_forecast({'cmdline': {'raw': None}}, {})['known'] is False


def test_suggested_isolation_leaves_each_node_its_first_core(facts):
    assert suggest_isolated(facts('server2s'), [0]) == '1-7,17-23'
    assert suggest_isolated(facts('server2s'), [0, 1]) == '1-7,9-15,17-23,25-31'


def test_plan_lines(facts):
    result = plan(facts('server2s'), {'sriov_pfs': [E810], 'kernel_cmdline_iommu': 'on',
                                      'hugepages_pools': [{'size': '2M', 'count': 8}]}, 'place')
    assert plan_lines('node1', result) == [
        'node1: locality place; NICs on node 1; reboot: yes (unexpected iommu=pt)',
        '  NIC 0000:af:00.0 ens2f0 node 1 driver ice: sriov (4 VFs, vfio 2-3)',
        '  hugepages 2M (placed): node1=8',
        "  isolated CPUs: none set; on the NICs' node: kernel_cmdline_isolated_cpus=9-15,25-31",
    ]
