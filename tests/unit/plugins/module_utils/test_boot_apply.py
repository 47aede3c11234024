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
    assert run(state_dir, log.append, root, writer=ShortKernel(root, {})) == []
    host = Host(root)
    assert [host.hugepage_pool(2048)['nodes'][n]['nr'] for n in ('0', '1')] == [64, 700]
    assert log == ['hugepages: 2048kB node0 512 -> 64 (got 64)', 'hugepages: 2048kB node1 512 -> 700 (got 700)',
                   'transparent hugepages: madvise (asked madvise)']


def test_short_kernel_fails_the_unit(tmp_path):
    root = synthhost.server2s().write(str(tmp_path / 'root'))
    state_dir = state(tmp_path, '10-hugepages.json', {'hugepages': {'pools': {'2048': {'1': 900}}, 'retries': 1}})
    problems = run(state_dir, lambda _msg: None, root, writer=ShortKernel(root, {(2048, 1): 600}))
    assert problems == ['10-hugepages.json: hugepages short after compaction:\n'
                        'size  node  before  asked  got\n2M       1     512    900  600']
    assert Host(root).hugepage_pool(2048)['nodes']['1']['nr'] == 600  # at boot the pages the kernel gave are kept


def test_bad_state_files_are_problems_not_crashes(tmp_path):
    root = synthhost.server2s().write(str(tmp_path / 'root'))
    state_dir = state(tmp_path, '10-a.json', '{not json')
    state(tmp_path, '20-b.json', {'vfs': {}})
    problems = run(state_dir, lambda _msg: None, root)
    assert problems[0].startswith('10-a.json: not valid JSON: ')
    assert problems[1] == "20-b.json: unknown section 'vfs'"
    assert run(str(tmp_path / 'missing'), lambda _msg: None, root) == []
    state(tmp_path, '30-c.json', '["hugepages"]')
    assert run(state_dir, lambda _msg: None, root)[2] == '30-c.json: not a JSON object'


def test_devices_phase_recreates_vfs_then_binds(tmp_path, host_root):
    import shutil
    from test_pci import PciKernel  # pylint: disable=import-error
    root = str(tmp_path / 'guest')
    shutil.copytree(host_root('qemu-igb'), root, symlinks=True)
    state_dir = state(tmp_path, '20-sriov.json', {
        'drivers': {'devices': {'0000:00:13.0': 'vfio-pci', '0000:00:04.0': 'vfio-pci'}, 'timeout': 0},
        'sriov': {'pfs': [{'address': '0000:00:03.0', 'numvfs': 4, 'drivers_autoprobe': True}], 'timeout': 0}})
    log = []
    assert run(state_dir, log.append, root, writer=PciKernel(root), phase='early') == []
    assert log == []  # nothing of the early phase in this file
    assert run(state_dir, log.append, root, writer=PciKernel(root), phase='devices') == [
        '20-sriov.json: drivers: driver vfio-pci is not loaded (modules-load.d should load it)',
        '20-sriov.json: drivers: driver vfio-pci is not loaded (modules-load.d should load it)']
    import os
    os.makedirs(os.path.join(root, 'sys/bus/pci/drivers/vfio-pci'))  # the module is loaded now
    log[:] = []
    assert run(state_dir, log.append, root, writer=PciKernel(root), phase='devices') == []
    assert log == ['sriov: 0000:00:03.0 has 4 VFs (asked 4)', 'drivers: 0000:00:04.0 on vfio-pci (asked vfio-pci)',
                   'drivers: 0000:00:13.0 on vfio-pci (asked vfio-pci)']
    pf = Host(root).pci()['devices']['0000:00:03.0']
    assert [v['driver'] for v in pf['sriov']['vfs']] == ['vfio-pci', 'igbvf', 'igbvf', 'igbvf']
    log[:] = []
    assert run(state_dir, log.append, root, writer=PciKernel(root), phase='devices') == []  # idempotent at boot


def test_devices_phase_reports_a_missing_pf(tmp_path, host_root):
    state_dir = state(tmp_path, '20-sriov.json', {'sriov': {'pfs': [{'address': '0000:00:09.0', 'numvfs': 2}],
                                                            'timeout': 0}})
    assert run(state_dir, lambda _m: None, host_root('qemu-igb'), phase='devices') == [
        '20-sriov.json: sriov: PF 0000:00:09.0 did not appear within 0s']
