# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.filter.node_report import node_changes, node_report
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host


@pytest.fixture(scope='module')
def server(host_root):
    return gather(Host(host_root('server2s')), SUBSETS)


def test_report_lines(server):
    lines = node_report(server, 'w1')
    assert lines[0] == ('w1: Red Hat Enterprise Linux 9.4 (Plow), kernel 5.14.0-427.13.1.el9_4.x86_64, '
                        'uefi boot, loader grub2-bls')
    assert '  node1: cpus 8-15,24-31, memory 62.5 GiB (free 40.1 GiB), hugepages 2M 512 (free 500), 1G 8 (free 8)' in lines
    assert 'IOMMU: enabled (intel: dmar0, dmar1), passthrough, 9 groups' in lines
    assert '  0000:af:00.0 0x8086:0x159b network driver=ice node=1 group=1 ens2f0 [VFs 4/128]' in lines
    assert '    vf2 0000:af:01.2 driver=vfio-pci -' in lines
    assert lines[-1] == 'note: NUMA node unknown (numa_node -1) for 0000:d8:00.0'


def test_changes_list_configuration_not_counters(server):
    after = copy.deepcopy(server)
    after['hugepages']['pools']['2M']['nodes']['1']['nr'] = 600
    after['hugepages']['pools']['2M']['nodes']['1']['free'] = 1  # counters move on their own: not a change
    after['numa']['nodes']['0']['memory_free_kb'] = 5
    after['iommu']['enabled'] = False
    assert node_changes(server, after) == ['hugepages.pools.2M.nodes.1.nr: 512 -> 600', 'iommu.enabled: True -> False']
    assert node_changes(server, server) == []


def test_filters_refuse_non_facts():
    with pytest.raises(AnsibleFilterError, match='node_report expects the dataplane fact'):
        node_report('text')
