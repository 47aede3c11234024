# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node_facts module as Ansible runs it: arguments in, JSON out, exit code."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.dataplane.node.plugins.modules import node_facts


def test_returns_namespaced_facts(run_module, host_root):
    root = host_root('server2s')
    code, result = run_module(node_facts, {'root': root, 'gather_subset': ['hugepages', 'pci']})
    assert code == 0
    assert result['changed'] is False
    facts = result['ansible_facts']['dataplane']
    assert facts['gather_subset'] == ['hugepages', 'pci']
    assert facts['root'] == root
    assert facts['hugepages']['pools']['1G']['nodes']['1']['nr'] == 8
    assert sorted(facts) == ['gather_subset', 'hugepages', 'management', 'pci', 'root', 'summary']


def test_check_mode_gives_the_same_facts(run_module, host_root):
    root = host_root('amd-epyc')
    _code, normal = run_module(node_facts, {'root': root})
    code, checked = run_module(node_facts, {'root': root, '_ansible_check_mode': True})
    assert code == 0
    assert checked['ansible_facts'] == normal['ansible_facts']


def test_unknown_subset_is_refused(run_module, host_root):
    code, result = run_module(node_facts, {'root': host_root('devbox'), 'gather_subset': ['numa', 'hugepage']})
    assert code == 1
    assert result['failed'] is True
    assert result['msg'].startswith('value of gather_subset must be one or more of: all, hugepages')
    assert result['msg'].endswith('Got no match for: hugepage')


def test_missing_root_is_refused(run_module, tmp_path):
    code, result = run_module(node_facts, {'root': str(tmp_path / 'missing')})
    assert code == 1
    assert result['msg'] == 'host root %s does not exist or is not a directory' % (tmp_path / 'missing')
