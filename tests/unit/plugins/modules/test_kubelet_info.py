# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet_info module as Ansible runs it, on host trees (the binary is not run under a test root)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.modules import kubelet_info, node_facts

import synthhost

# The testbed's kubelet unit (molecule/kubelet/prepare.yml) as /proc shows it.
TESTBED_ARGV = ['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml', '--kubeconfig=/etc/kubernetes/kubelet.conf',
                '--container-runtime=remote', '--container-runtime-endpoint=unix:///run/containerd/containerd.sock',
                '--hostname-override=k8s-node-1']


def running_kubelet_tree(tmp_path):
    """A 2-socket host tree with the testbed's kubelet running as pid 812."""
    b = synthhost.server2s()
    b.file('usr/bin/kubelet', '')
    root = b.write(str(tmp_path))
    (tmp_path / 'proc' / '812').mkdir()
    (tmp_path / 'proc' / '812' / 'cmdline').write_bytes(('\0'.join(TESTBED_ARGV) + '\0').encode())
    return root


def test_running_kubelet_on_a_tree(run_module, tmp_path):
    root = running_kubelet_tree(tmp_path)
    code, result = run_module(kubelet_info, {'root': root, '_ansible_check_mode': True})
    assert code == 0, result
    assert result['changed'] is False
    assert result['installed'] is True and result['version'] is None  # not run under a test root
    assert result['running'] is True and result['pid'] == 812
    assert result['args'] == TESTBED_ARGV[1:]
    assert result['hostname_override'] == 'k8s-node-1'
    assert result['flags']['container-runtime-endpoint'] == 'unix:///run/containerd/containerd.sock'
    assert result['hugepage_capacity'] == {'hugepages-2Mi': '2Gi', 'hugepages-1Gi': '16Gi'}
    assert result['pending_restart'] is None  # no restart kept by an earlier run


def test_no_kubelet(run_module, tmp_path):
    root = synthhost.amd_epyc().write(str(tmp_path))
    code, result = run_module(kubelet_info, {'root': root})
    assert code == 0, result
    assert result['installed'] is False and result['binary'] is None and result['running'] is False
    assert result['hugepage_capacity'] == {'hugepages-2Mi': '0', 'hugepages-1Gi': '0'}


def test_missing_root_fails(run_module, tmp_path):
    code, result = run_module(kubelet_info, {'root': str(tmp_path / 'nope')})
    assert code == 1
    assert 'does not exist' in result['msg']


def test_node_facts_kubelet_subset_is_kubelet_info(run_module, tmp_path):
    """The kubelet role takes node_facts' kubelet subset instead of running kubelet_info: they must agree."""
    root = running_kubelet_tree(tmp_path)
    code, info = run_module(kubelet_info, {'root': root})
    assert code == 0, info
    code, facts = run_module(node_facts, {'root': root, 'gather_subset': ['kubelet']})
    assert code == 0, facts
    gathered = facts['ansible_facts']['dataplane']
    assert gathered['gather_subset'] == ['kubelet']
    expected = dict((k, v) for k, v in info.items() if k not in ('changed', 'invocation', 'warnings'))
    assert gathered['kubelet'] == expected and expected['hostname_override'] == 'k8s-node-1'
    code, facts = run_module(node_facts, {'root': root, 'gather_subset': ['!kubelet']})
    assert 'kubelet' not in facts['ansible_facts']['dataplane']
