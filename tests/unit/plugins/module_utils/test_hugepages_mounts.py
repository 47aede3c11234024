# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hugetlbfs mounts: validation against the host's page sizes, the fstab entry and the live mount planned,
and the read-back comparison with what /proc/mounts shows (through the host model on built trees)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._hugepages import (
    HugepageError, fstab_line, mount_differences, plan_fstab, plan_mounts, validate_mounts)

import synthhost

FSTAB = 'UUID=1234 / ext4 errors=remount-ro 0 1\n# a comment\n'


def lookup(kind, name):
    return {('uid', 'dpdk'): 990, ('gid', 'dpdk'): 991}.get((kind, name))


def host_with(tmp_path, *mount_lines):
    builder = synthhost.server2s()
    for line in mount_lines:
        builder.mount(line)
    return Host(builder.write(str(tmp_path)))


def test_every_problem_is_named_before_anything_is_planned():
    with pytest.raises(HugepageError) as info:
        validate_mounts([{'path': '/dev/hugepages', 'pagesize': '2M'},
                         {'path': 'relative', 'pagesize': '2M'},
                         {'path': '/mnt/h16', 'pagesize': '16M'},
                         {'path': '/mnt/hx', 'pagesize': 'big'},
                         {'path': '/mnt/h2', 'pagesize': '2M', 'mode': '0999'},
                         {'path': '/mnt/h3', 'pagesize': '2M', 'uid': 'nobody-here'},
                         {'path': '/mnt/h4', 'pagesize': '2M'}, {'path': '/mnt/h4/', 'pagesize': '2M'}],
                        [2048, 1048576], lookup)
    problems = info.value.problems
    assert problems[0].startswith('mount /dev/hugepages: /dev/hugepages belongs to systemd')
    assert problems[1] == 'mount relative: path must be absolute'
    assert problems[2] == ('mount /mnt/h16: the host has no 16M hugepage pool, so hugetlbfs cannot mount that page '
                           'size (pools: 2M, 1G)')
    assert problems[3].startswith('mount /mnt/hx: pagesize: ')
    assert problems[4] == "mount /mnt/h2: mode must be octal (e.g. \"1770\"), got '0999'"
    assert problems[5] == 'mount /mnt/h3: uid nobody-here not found on the node'
    assert problems[6] == 'mount /mnt/h4/: given twice'
    assert len(problems) == 7


def test_names_and_numbers_resolve_and_the_fstab_line_keeps_the_options_as_given():
    (want,) = validate_mounts([{'path': '/dev/hugepages1G', 'pagesize': '1G', 'mode': 1770, 'uid': 0,
                                'gid': 'dpdk'}], [2048, 1048576], lookup)
    assert (want['pagesize_kb'], want['mode'], want['uid'], want['gid']) == (1048576, 0o1770, 0, 991)
    assert fstab_line(want['spec']) == 'none /dev/hugepages1G hugetlbfs pagesize=1G,mode=1770,uid=0,gid=dpdk 0 0'


def test_fstab_entry_added_then_left_alone_and_updated_in_place():
    wanted = validate_mounts([{'path': '/dev/hugepages2M', 'pagesize': '2M', 'mode': '1770'}], [2048], lookup)
    text, changes = plan_fstab(wanted, FSTAB)
    assert text == FSTAB + 'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770 0 0\n'
    assert changes == [{'path': '/dev/hugepages2M', 'line': 'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770 0 0',
                        'before': None}]
    # The line ansible.posix.mount wrote before (tabs, same fields) is the same entry: nothing to change.
    same = FSTAB + 'none\t/dev/hugepages2M\thugetlbfs\tpagesize=2M,mode=1770\t0\t0\n'
    assert plan_fstab(wanted, same) == (same, [])
    other = FSTAB + 'none /dev/hugepages2M hugetlbfs pagesize=2M 0 0\n'
    text, changes = plan_fstab(wanted, other)
    assert text == FSTAB + 'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770 0 0\n'
    assert changes[0]['before'] == 'none /dev/hugepages2M hugetlbfs pagesize=2M 0 0'


def test_live_mount_read_back_from_proc_mounts(tmp_path):
    host = host_with(tmp_path, 'none /dev/hugepages2M hugetlbfs rw,relatime,mode=1770,gid=991,pagesize=2M 0 0',
                     'none /mnt/h1g hugetlbfs rw,relatime,pagesize=2M 0 0')
    mounts = host.hugepages()['mounts']
    wanted = validate_mounts([{'path': '/dev/hugepages2M', 'pagesize': '2M', 'mode': '1770', 'gid': 'dpdk'},
                              {'path': '/mnt/h1g', 'pagesize': '1G', 'mode': '0755', 'uid': 0},
                              {'path': '/mnt/new', 'pagesize': '2M'}], [2048, 1048576], lookup)
    plans, fstab = plan_mounts(wanted, mounts, FSTAB)
    assert [(p['path'], p['mount'], p['differences'], p['fstab']) for p in plans] == [
        ('/dev/hugepages2M', 'none', [], 'added'),
        ('/mnt/h1g', 'remount', ['pagesize 2M, want 1G'], 'added'),  # mode 0755 and uid 0 are what it has
        ('/mnt/new', 'mount', ['not mounted'], 'added')]
    assert fstab.endswith('none /mnt/new hugetlbfs pagesize=2M 0 0\n')


def test_mode_and_owner_differences():
    (want,) = validate_mounts([{'path': '/m', 'pagesize': '2M', 'mode': '1770', 'uid': 990, 'gid': 'dpdk'}],
                              [2048], lookup)
    mounted = {'path': '/m', 'pagesize': '2M', 'pagesize_kb': 2048, 'options': {'rw': True, 'pagesize': '2M'}}
    assert mount_differences(want, mounted) == ['mode 755, want 1770', 'uid 0, want 990', 'gid 0, want 991']
    mounted['options'].update({'mode': '1770', 'uid': '990', 'gid': '991'})
    assert mount_differences(want, mounted) == []
    assert mount_differences(want, None) == ['not mounted']


def test_converged_node_plans_nothing(tmp_path):
    host = host_with(tmp_path, 'none /dev/hugepages2M hugetlbfs rw,relatime,mode=1770,pagesize=2M 0 0')
    wanted = validate_mounts([{'path': '/dev/hugepages2M', 'pagesize': '2M', 'mode': '1770'}], [2048], lookup)
    plans, fstab = plan_mounts(wanted, host.hugepages()['mounts'],
                               FSTAB + 'none /dev/hugepages2M hugetlbfs pagesize=2M,mode=1770 0 0\n')
    assert fstab is None
    assert [(p['mount'], p['fstab']) for p in plans] == [('none', None)]
