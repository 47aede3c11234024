# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the workload check: the testpmd pod of a node, and its log as per-node report lines (logic in
module_utils/_dpdk.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._dpdk import (
    WorkloadError,
    parse_testpmd,
    pod_status_problems,
    report_lines,
    testpmd_pod,
    workload_problems,
)


def dpdk_testpmd_pod(needs, facts, node_name, version=None, feature_gates=None):
    """needs + the dataplane fact + the Kubernetes node name -> manifest, wanted, notes."""
    if not isinstance(needs, dict):
        raise AnsibleFilterError('dpdk_testpmd_pod expects a mapping of needs (cpu, memory, hugepages, numa_node, vf, '
                                 'image)')
    if not isinstance(facts, dict):
        raise AnsibleFilterError('dpdk_testpmd_pod expects the dataplane fact of the node (node_facts)')
    try:
        return testpmd_pod(needs, facts, node_name, version, feature_gates)
    except WorkloadError as exc:
        raise AnsibleFilterError('dpdk_testpmd_pod: %s' % '; '.join(exc.problems))


def dpdk_workload_report(log, wanted, name, status=None):
    """A testpmd pod's log + what was asked (+ the pod's status) -> lines, problems, failure (EAL's own message) and
    the parsed run."""
    if not isinstance(wanted, dict):
        raise AnsibleFilterError('dpdk_workload_report expects the wanted mapping that dpdk_testpmd_pod returned')
    if isinstance(log, (list, tuple)):
        log = '\n'.join(str(line) for line in log)
    result = parse_testpmd(log or '')
    problems = workload_problems(result, wanted)
    failure = result['failure']
    lines = report_lines(name, result, wanted)
    if status is not None and failure is None and not result['started']:
        # Nothing of DPDK in the log: the pod's status says why (not admitted, image missing, still pending).
        extra = pod_status_problems(status)
        problems = extra + problems
        lines[1:1] = ['  problem: %s' % problem for problem in extra]
    return {
        'lines': lines,
        'problems': problems,
        'ok': not problems,
        'failure': failure['message'] if failure else None,
        'result': result,
    }


class FilterModule(object):
    def filters(self):
        return {
            'dpdk_testpmd_pod': dpdk_testpmd_pod,
            'dpdk_workload_report': dpdk_workload_report,
        }
