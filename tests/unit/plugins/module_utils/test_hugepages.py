# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime hugepage pools on host trees, against a kernel stand-in that gives fewer pages than asked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._apply import SysfsWriter
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._hugepages import (
    HugepageError, apply, node_nr_path, plan, resolve, shortfall_table, shrink_below_use, undo)

import synthhost


class ShortKernel(SysfsWriter):
    """Stands in for the kernel's semantics of the files written: a write to nr_hugepages succeeds and the
    pool gets min(asked, what the node can give); compacting a node makes `gain` more pages available;
    transparent_hugepage/enabled shows the chosen mode in brackets."""

    def __init__(self, root, limits, gain=None):
        SysfsWriter.__init__(self, root)
        self.root = root
        self.limits = dict(limits)
        self.gain = dict(gain or {})

    def write(self, rel, text, ignore_errors=False):
        parts = rel.split('/')
        if rel.endswith('transparent_hugepage/enabled'):
            # The kernel shows every mode with the selected one in brackets.
            shown = ' '.join('[%s]' % m if m == text.strip() else m for m in ('always', 'madvise', 'never'))
            with open(os.path.join(self.root, rel), 'w') as handle:
                handle.write(shown + '\n')
            self.writes.append((rel, text.strip()))
            return True
        if rel.endswith('/compact'):
            node = int(parts[4][4:])
            for key in list(self.limits):
                if key[1] == node:
                    self.limits[key] += self.gain.get(key, 0)
            self.writes.append((rel, text.strip()))
            return True
        if rel.endswith('/nr_hugepages') and parts[3] == 'node':
            node, size_kb = int(parts[4][4:]), int(parts[6][len('hugepages-'):-2])
            asked = int(text)
            given = min(asked, self.limits.get((size_kb, node), asked))
            base = os.path.dirname(os.path.join(self.root, rel))
            for name in ('nr_hugepages', 'free_hugepages'):
                with open(os.path.join(base, name), 'w') as handle:
                    handle.write('%d\n' % given)
            self.writes.append((rel, text.strip()))
            return True
        return SysfsWriter.write(self, rel, text, ignore_errors)


@pytest.fixture
def server(tmp_path):
    """2 nodes of 62.5 GiB; 2M pools 512/512 (node 1: 12 in use); 1G pools 8/8."""
    return Host(synthhost.server2s().write(str(tmp_path)))


# ---------------------------------------------------------------- resolve

def test_resolve_forms(server):
    targets = resolve([{'size': '2M', 'node': 1, 'count': 600},
                       {'size': '1G', 'count': 5},
                       {'size': '2048kB', 'nodes': {'0': 100}}], server)
    assert targets == {(2048, 1): 600, (2048, 0): 100, (1048576, 0): 3, (1048576, 1): 2}


def test_resolve_near_a_nic(server):
    assert resolve([{'size': '2M', 'count': 256, 'near': '0000:af:00.0'}], server) == {(2048, 1): 256}
    with pytest.raises(HugepageError) as err:
        resolve([{'size': '2M', 'count': 256, 'near': '0000:d8:00.0'}, {'size': '2M', 'count': 1, 'near': '0000:00:00.9'}],
                server)
    assert err.value.problems == [
        '2M pool: the kernel does not know the NUMA node of 0000:d8:00.0 (numa_node -1): give node explicitly',
        '2M pool: device 0000:00:00.9 not found among network/accelerator devices']


def test_resolve_refuses_bad_requests(server):
    with pytest.raises(HugepageError) as err:
        resolve([{'size': '16G', 'count': 1},
                 {'size': 'huge', 'count': 1},
                 {'size': '2M', 'node': 4, 'count': 1},
                 {'size': '2M', 'node': 0, 'count': -3},
                 {'size': '2M', 'nodes': {'0': 10, '1': 'x'}},
                 {'size': '1G', 'node': 0, 'count': 70},
                 {'size': '2M'}], server)
    assert err.value.problems == [
        '16G pool: page size not supported by this host (supported: 2M, 1G)',
        "pool 2: not a size: 'huge'",
        '2M pool: NUMA node 4 does not exist (nodes: 0, 1)',
        '2M pool: count for node 0 must be a non-negative integer, got -3',
        "2M pool: count for node 1 must be a non-negative integer, got 'x'",
        '2M pool: needs count (or nodes)',
        'node 0: the pools need 70.0 GiB but the node has 62.5 GiB',
    ]


def test_resolve_refuses_memoryless_node(tmp_path):
    builder = synthhost.server2s()
    builder.cpus_and_nodes(sockets=2, cores_per_socket=8, threads=2, node_memory_kb={0: (65536000, 1), 1: (0, 0)})
    host = Host(builder.write(str(tmp_path)))
    with pytest.raises(HugepageError, match='NUMA node 1 has no memory'):
        resolve([{'size': '2M', 'node': 1, 'count': 1}], host)
    assert resolve([{'size': '2M', 'count': 3}], host) == {(2048, 0): 3}


# ---------------------------------------------------------------- plan

def test_plan_shrinks_first_and_skips_what_is_right(server):
    actions = plan({(2048, 0): 512, (2048, 1): 800, (1048576, 0): 2}, server)
    assert [(a['size_kb'], a['node'], a['before'], a['after']) for a in actions] == [
        (1048576, 0, 8, 2), (2048, 1, 512, 800)]


def test_shrink_below_use_is_reported(server):
    # node 0 of the 1G pool: 8 pages, 4 free -> 4 in use.
    assert shrink_below_use(plan({(1048576, 0): 2, (2048, 1): 0}, server)) == [
        '2M node1: 12 pages in use, asked for 0', '1G node0: 4 pages in use, asked for 2']


# ---------------------------------------------------------------- apply with read-back

def test_apply_reads_back(server):
    writer = ShortKernel(server.fs.root, {})
    results, short = apply(plan({(2048, 0): 700, (2048, 1): 100}, server), server, writer)
    assert short == []
    assert [(r['node'], r['got'], r['retries']) for r in results] == [(1, 100, 0), (0, 700, 0)]
    assert server.hugepage_pool(2048)['nodes']['0']['nr'] == 700


def test_compaction_rescues_a_short_node(server):
    writer = ShortKernel(server.fs.root, {(2048, 1): 600}, gain={(2048, 1): 150})
    results, short = apply(plan({(2048, 1): 700}, server), server, writer, retries=2)
    assert short == []
    assert (results[0]['got'], results[0]['retries']) == (700, 1)
    assert ('sys/devices/system/node/node1/compact', '1') in writer.writes


def test_persistent_shortfall_is_reported_and_undone(server):
    writer = ShortKernel(server.fs.root, {(2048, 1): 600}, gain={(2048, 1): 10})
    results, short = apply(plan({(2048, 0): 600, (2048, 1): 900}, server), server, writer, retries=2)
    assert [(r['node'], r['after'], r['got'], r['retries']) for r in short] == [(1, 900, 620, 2)]
    assert shortfall_table(short) == ('size  node  before  asked  got\n'
                                      '2M       1     512    900  620')
    restored = undo(results, server, writer)
    assert [(r['node'], r['restored_to']) for r in restored] == [(1, 512), (0, 512)]
    assert server.hugepage_pool(2048)['nodes'] == {'0': {'nr': 512, 'free': 512, 'surplus': 0},
                                                   '1': {'nr': 512, 'free': 512, 'surplus': 0}}


def test_missing_attribute_is_an_error_not_a_new_file(tmp_path):
    writer = SysfsWriter(str(tmp_path))
    with pytest.raises(Exception, match='cannot open /' + node_nr_path(0, 2048)):
        writer.write(node_nr_path(0, 2048), '1\n')
    assert not os.path.exists(os.path.join(str(tmp_path), node_nr_path(0, 2048)))


# ---------------------------------------------------------------- boot vs runtime

def test_split_pools_hands_1g_to_the_command_line(server):
    from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
    from ansible_collections.dataplane.node.plugins.module_utils._hugepages import split_pools
    facts = gather(server, SUBSETS)
    pools = [{'size': '1G', 'nodes': {'0': 2}}, {'size': '1G', 'count': 4, 'near': '0000:af:00.0'},
             {'size': '1048576kB', 'count': 3}, {'size': '2M', 'count': 64, 'node': 1}]
    boot, runtime = split_pools(pools, facts)
    assert boot == [{'size': '1G', 'nodes': {0: 2}}, {'size': '1G', 'nodes': {1: 4}}, {'size': '1G', 'count': 3}]
    assert runtime == [{'size': '2M', 'count': 64, 'node': 1}]
    with pytest.raises(HugepageError, match='near 0000:d8:00.0: the NUMA node of that device is unknown'):
        split_pools([{'size': '1G', 'count': 1, 'near': '0000:d8:00.0'}], facts)
