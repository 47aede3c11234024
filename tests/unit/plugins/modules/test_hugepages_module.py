# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hugepages module as Ansible runs it, in check mode on a host tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dataplane.node.plugins.modules import hugepages

import synthhost


@pytest.fixture
def root(tmp_path):
    return synthhost.server2s().write(str(tmp_path))


def test_check_mode_plans_and_diffs(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True, '_ansible_diff': True,
                                          'pools': [{'size': '2M', 'nodes': {'0': 64, '1': 512}}]})
    assert code == 0, result
    assert result['changed'] is True
    assert result['pools'] == {'2M': {'0': 64, '1': 512}}
    assert result['diff'] == {'before': {'2M': {'0': 512, '1': 512}, 'transparent': 'never'},
                              'after': {'2M': {'0': 64, '1': 512}, 'transparent': 'never'}}
    assert result['targets'] == {'2048': {'0': 64, '1': 512}}
    assert [(a['node'], a['before'], a['after']) for a in result['actions']] == [(0, 512, 64)]


def test_nothing_to_do_is_not_a_change(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '2M', 'count': 1024}]})
    assert (code, result['changed'], result['actions']) == (0, False, [])


def test_sysctl_for_the_default_pool_is_refused(run_module, tmp_path):
    builder = synthhost.server2s()
    builder.file('etc/sysctl.d/90-hugepages.conf', '# reserve\nvm.nr_hugepages = 16\n')
    root = builder.write(str(tmp_path))
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '1G', 'node': 1, 'count': 4}]})
    assert code == 1
    assert result['problems'] == ['/etc/sysctl.d/90-hugepages.conf sets vm.nr_hugepages = 16']
    # A pool of another size than the default one is not affected by vm.nr_hugepages.
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '2M', 'node': 1, 'count': 4}]})
    assert code == 0


def test_bad_request_lists_every_problem(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '3M', 'count': 1}, {'size': '2M', 'node': 9, 'count': 1}]})
    assert code == 1
    assert result['msg'].startswith('invalid hugepage request, nothing changed: ')
    assert result['problems'] == ['3M pool: page size not supported by this host (supported: 2M, 1G)',
                                  '2M pool: NUMA node 9 does not exist (nodes: 0, 1)']


def test_mutually_exclusive_placements(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '2M', 'count': 1, 'node': 0, 'near': '0000:af:00.0'}]})
    assert code == 1
    assert 'mutually exclusive' in result['msg']


def test_transparent_mode_change_is_planned(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True, 'transparent': 'madvise'})
    assert (code, result['changed'], result['transparent'], result['actions']) == (0, True, 'madvise', [])
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True, 'transparent': 'never'})
    assert (code, result['changed']) == (0, False)
