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


def test_mounts_planned_with_fstab_diff_and_pools_unchanged(run_module, tmp_path):
    builder = synthhost.server2s()
    builder.file('etc/fstab', 'UUID=1 / ext4 defaults 0 1\n')
    builder.file('etc/group', 'root:x:0:\ndpdk:x:991:\n')
    builder.mount('none /mnt/huge1G hugetlbfs rw,relatime,pagesize=1G 0 0')
    root = builder.write(str(tmp_path))
    args = {'root': root, '_ansible_check_mode': True, '_ansible_diff': True,
            'pools': [{'size': '2M', 'count': 1024}],
            'mounts': [{'path': '/dev/hugepages2M', 'pagesize': '2M', 'mode': '1770', 'gid': 'dpdk'},
                       {'path': '/mnt/huge1G', 'pagesize': '1G'}]}
    code, result = run_module(hugepages, args)
    assert code == 0, result
    assert (result['changed'], result['pools_changed'], result['actions']) == (True, False, [])
    assert [(m['path'], m['mount'], m['fstab']) for m in result['mounts']] == [
        ('/dev/hugepages2M', 'mount', 'added'), ('/mnt/huge1G', 'none', 'added')]
    fstab_diff = result['diff'][-1]
    assert fstab_diff['after'] == ('UUID=1 / ext4 defaults 0 1\n'
                                   'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770,gid=dpdk 0 0\n'
                                   'none /mnt/huge1G hugetlbfs pagesize=1G 0 0\n')
    assert result['diff'][1] == {'before': {'mounts': {'/dev/hugepages2M': 'not mounted', '/mnt/huge1G': 'mounted'}},
                                 'after': {'mounts': {'/dev/hugepages2M': 'mounted (pagesize=2M,mode=1770,gid=dpdk)',
                                                      '/mnt/huge1G': 'mounted'}}}


def test_mounts_converged_is_not_a_change(run_module, tmp_path):
    builder = synthhost.server2s()
    builder.file('etc/fstab', 'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770 0 0\n')
    builder.mount('none /dev/hugepages2M hugetlbfs rw,relatime,mode=1770,pagesize=2M 0 0')
    root = builder.write(str(tmp_path))
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'mounts': [{'path': '/dev/hugepages2M', 'pagesize': '2M', 'mode': '1770'}]})
    assert (code, result['changed'], result['mounts'][0]['mount']) == (0, False, 'none')


def test_mount_of_a_size_without_pool_is_refused_before_anything(run_module, root):
    code, result = run_module(hugepages, {'root': root, '_ansible_check_mode': True,
                                          'pools': [{'size': '2M', 'count': 2}],
                                          'mounts': [{'path': '/mnt/h16', 'pagesize': '16M'},
                                                     {'path': '/mnt/h2', 'pagesize': '2M', 'uid': 'dpdk'}]})
    assert code == 1
    assert result['msg'].startswith('invalid hugepage request, nothing changed: ')
    assert result['problems'] == [
        'mount /mnt/h16: the host has no 16M hugepage pool, so hugetlbfs cannot mount that page size (pools: 2M, 1G)',
        'mount /mnt/h2: uid dpdk not found on the node']
