# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for DPDK pods and the Node's hugepages capacity (logic in module_utils/_kubelet.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    KubeletConfigError,
    capacity_difference,
    pod_resources,
)


def dpdk_pod_resources(needs, facts, version=None, feature_gates=None):
    """needs + the dataplane fact -> resources, volumes, volumeMounts, securityContext, notes."""
    if not isinstance(needs, dict):
        raise AnsibleFilterError('dpdk_pod_resources expects a mapping of needs (cpu, memory, hugepages, shm, devices)')
    try:
        return pod_resources(needs, facts, version, feature_gates)
    except KubeletConfigError as exc:
        raise AnsibleFilterError('dpdk_pod_resources: %s' % '; '.join(exc.problems))


def node_hugepages_difference(node_status, wanted):
    """Lines for each hugepages resource the Node reports otherwise than the host's pools (empty: all equal)."""
    if not isinstance(wanted, dict):
        raise AnsibleFilterError('node_hugepages_difference expects the hugepage capacity of kubelet_info')
    return capacity_difference(wanted, node_status or {})


class FilterModule(object):
    def filters(self):
        return {
            'dpdk_pod_resources': dpdk_pod_resources,
            'node_hugepages_difference': node_hugepages_difference,
        }
