# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pod filters: the docs' example pod rendered from its needs; errors as Ansible shows them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.filter.kubelet_pods import FilterModule

DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'docs', 'kubelet.md')
FILTERS = FilterModule().filters()
# The testbed node after the kubelet scenario's hugepages role: 8 + 8 pages of 2M, no 1G pages.
TESTBED = {'hugepages': {'pools': {'2M': {'size_kb': 2048, 'nr': 16}, '1G': {'size_kb': 1048576, 'nr': 0}}}}


def test_the_docs_example_is_what_the_filter_renders():
    text = open(DOCS).read()
    example = yaml.safe_load(re.search(r'<!-- example: dpdk-2m -->\s*```yaml\n(.*?)```', text, re.S).group(1))
    container = example['spec']['containers'][0]
    rendered = FILTERS['dpdk_pod_resources']({'cpu': '1', 'memory': '256Mi', 'hugepages': {'2M': '8Mi'},
                                              'shm': '64Mi'}, TESTBED, '1.20.2', {'SizeMemoryBackedVolumes': True})
    assert rendered['resources'] == container['resources']
    assert rendered['volumeMounts'] == container['volumeMounts']
    assert rendered['securityContext'] == container['securityContext']
    assert rendered['volumes'] == example['spec']['volumes']
    assert rendered['notes'] == []


def test_filter_errors_name_every_problem():
    with pytest.raises(AnsibleFilterError) as err:
        FILTERS['dpdk_pod_resources']({'cpu': 1, 'memory': '1Gi', 'hugepages': {'1G': '1Gi'}}, TESTBED)
    assert str(err.value).startswith('dpdk_pod_resources: hugepages-1Gi 1Gi is more than the node has (0 pages, 0)')
    with pytest.raises(AnsibleFilterError):
        FILTERS['dpdk_pod_resources']('2 CPUs', TESTBED)


def test_node_hugepages_difference():
    diff = FILTERS['node_hugepages_difference']
    assert diff({'capacity': {'hugepages-2Mi': '32Mi'}, 'allocatable': {'hugepages-2Mi': '32Mi'}},
                {'hugepages-2Mi': '32Mi'}) == []
    assert diff(None, {'hugepages-2Mi': '0'}) == ['capacity hugepages-2Mi: node reports None, the host has 0',
                                                  'allocatable hugepages-2Mi: node reports None, the host has 0']
