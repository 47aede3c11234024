# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time applier on a host tree: state files applied in order, a short kernel makes it fail."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.dataplane.node.plugins.module_utils._boot_apply import run
from ansible_collections.dataplane.node.plugins.module_utils._host import Host

import synthhost
from test_hugepages import ShortKernel  # pylint: disable=import-error


def state(tmp_path, name, content):
    directory = tmp_path / 'state.d'
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(json.dumps(content) if not isinstance(content, str) else content)
    return str(directory)


def test_applies_pools_and_thp(tmp_path):
    root = synthhost.server2s().write(str(tmp_path / 'root'))
    state_dir = state(tmp_path, '10-hugepages.json', {'hugepages': {'pools': {'2048': {'0': 64, '1': 700}}},
                                                      'thp': {'enabled': 'madvise'}})
    log = []
    assert run(state_dir, root, log.append, writer=ShortKernel(root, {})) == []
    host = Host(root)
    assert [host.hugepage_pool(2048)['nodes'][n]['nr'] for n in ('0', '1')] == [64, 700]
    assert log == ['hugepages: 2048kB node0 512 -> 64 (got 64)', 'hugepages: 2048kB node1 512 -> 700 (got 700)',
                   'transparent hugepages: madvise (asked madvise)']


def test_short_kernel_fails_the_unit(tmp_path):
    root = synthhost.server2s().write(str(tmp_path / 'root'))
    state_dir = state(tmp_path, '10-hugepages.json', {'hugepages': {'pools': {'2048': {'1': 900}}, 'retries': 1}})
    problems = run(state_dir, root, lambda _msg: None, writer=ShortKernel(root, {(2048, 1): 600}))
    assert problems == ['10-hugepages.json: hugepages short after compaction:\n'
                        'size  node  before  asked  got\n2M       1     512    900  600']
    assert Host(root).hugepage_pool(2048)['nodes']['1']['nr'] == 600  # at boot the pages the kernel gave are kept


def test_bad_state_files_are_problems_not_crashes(tmp_path):
    root = synthhost.server2s().write(str(tmp_path / 'root'))
    state_dir = state(tmp_path, '10-a.json', '{not json')
    state(tmp_path, '20-b.json', {'vfs': {}})
    problems = run(state_dir, root, lambda _msg: None)
    assert problems[0].startswith('10-a.json: not valid JSON: ')
    assert problems[1] == "20-b.json: unknown section 'vfs'"
    assert run(str(tmp_path / 'missing'), root, lambda _msg: None) == []
