# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML node report on fixture hosts: findings as data, and a page that is one file with nothing external."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.dataplane.node.plugins.filter.node_report_html import node_report_html
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._html_report import (
    esc, node_findings, render_host, render_page)
from ansible_collections.dataplane.node.plugins.module_utils._locality import plan

E810 = {'pf': '0000:af:00.0', 'numvfs': 4, 'vfio_vfs': [2, 3]}


@pytest.fixture
def facts(host_root):
    return lambda name: gather(Host(host_root(name)), SUBSETS)


def test_qemu_guest_partial_boot_allocation(facts):
    # The capture booted with hugepages=0:1,1:1 and the kernel put both 1G pages on node 1.
    found = node_findings(facts('qemu-igb'))
    assert found[0] == ('error', "partial boot allocation: 1G pages per node differ from the command line: node0 asked "
                                 "1 got 0, node1 asked 1 got 2 (the kernel may place a node's pages on another node, "
                                 "or fewer when memory is fragmented)")


def test_runtime_shortfall_far_nic_and_pending_reboot(facts):
    server = facts('server2s')
    result = plan(server, {'sriov_pfs': [E810], 'kernel_cmdline_iommu': 'on',
                           'hugepages_pools': [{'size': '2M', 'nodes': {0: 512, 1: 600}}]})
    found = node_findings(server, result, ['kubelet_mode: bad'])
    assert found[:3] == [
        ('error', 'invalid variables: kubelet_mode: bad'),
        ('error', 'partial allocation: 2M pages on node 1: 600 configured, 512 allocated'),
        ('warning', 'reboot pending: the booted command line differs from the configuration (to remove iommu=pt)')]
    assert ('warning', 'NUMA locality: 2M pool: 512 page(s) on node(s) 0, away from the NICs (node 1)') in found


def test_nic_far_from_its_hugepages(facts):
    server = facts('server2s')
    for pool in server['hugepages']['pools'].values():
        pool['nodes']['1']['nr'] = 0  # every page on node 0, the E810 on node 1
    found = node_findings(server, plan(server, {'sriov_pfs': [E810]}, 'off'))
    assert ('warning', 'NIC 0000:af:00.0 (ens2f0) is on NUMA node 1, its hugepages are on node 0') in found
    # Without a plan the NICs that look used count: the E810 has VFs, the vfio-pci VFs are listed under it.
    assert ('warning', 'NIC 0000:af:00.0 (ens2f0) is on NUMA node 1, its hugepages are on node 0') in node_findings(server)


def test_host_section_draws_the_topology(facts):
    server = facts('server2s')
    html = render_host('server2s', server, plan(server, {'sriov_pfs': [E810]}))
    panels = re.findall(r'data-numa-node="([^"]+)"', html)
    assert panels == ['0', '1', 'unknown']
    node1 = html.split('data-numa-node="1"')[1].split('data-numa-node="unknown"')[0]
    assert 'data-pool="2M" data-nr="512"' in node1 and 'data-pool="1G" data-nr="8"' in node1
    assert 'data-nic="0000:af:00.0"' in node1 and '<span class="badge use">sriov</span>' in node1
    assert re.findall(r'<span class="vf ([^"]+)"', node1) == ['iavf', 'iavf', 'vfio-pci', 'vfio-pci']
    assert node1.count('class="cpu isolated"') == 16  # the kernel isolated 2-15,18-31: all of node 1
    assert 'data-nic="0000:18:00.0"' in html.split('data-numa-node="1"', maxsplit=1)[0]  # the LOM on node 0
    assert '<span class="badge mgmt">management</span>' in html
    unknown = html.split('data-numa-node="unknown"')[1]
    assert 'data-nic="0000:d8:00.0"' in unknown
    assert 'data-iommu="on"' in html and 'passthrough' in html


def test_host_without_facts_and_escaping():
    html = render_host('<b>x</b>', None)
    assert '<b>x</b>' not in html and '&lt;b&gt;x&lt;/b&gt;' in html
    assert 'no dataplane facts gathered' in html
    assert esc('a"b\'c&') == 'a&quot;b&#x27;c&amp;'


def test_page_is_self_contained(facts):
    page = render_page([{'name': 'qemu', 'facts': facts('qemu-igb')}, {'name': 'server', 'facts': facts('server2s')}],
                       generated='now')
    assert page.startswith('<!DOCTYPE html>') and page.rstrip().endswith('</html>')
    for external in ('<script', '<link', 'src=', 'url(', '@import', 'http://', 'https://'):
        assert external not in page
    rows = re.findall(r'<tr data-host="([^"]+)">(.*?)</tr>', page)
    assert [r[0] for r in rows] == ['qemu', 'server']
    assert '<td>2M: 192, 1G: 2</td>' in rows[0][1] and '1 errors, 0 warnings' in rows[0][1]


def test_filter_reads_hostvars_and_the_preflight(facts):
    hostvars = {'a': {'ansible_facts': {'dataplane': facts('qemu-igb')}}, 'b': {}}
    page = node_report_html(['a', 'b'], hostvars, {'hosts': {'b': {'problems': ['x: bad'], 'plan': None}}})
    assert 'id="host-a"' in page and 'invalid variables: x: bad' in page and 'no dataplane facts gathered' in page
