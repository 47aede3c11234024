# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EAL and testpmd output of DPDK 22.11 (captured and assembled fixtures, tests/fixtures/dpdk/README.md) as data."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._dpdk import (
    clean_lines,
    parse_testpmd,
    report_lines,
    workload_problems,
)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'dpdk')
WANT_2M = {'page_size': '2M', 'numa_node': 0, 'memory_mb': 64, 'device': None, 'driver': None,
           'device_numa_node': None}
WANT_VF = {'page_size': '2M', 'numa_node': 1, 'memory_mb': 64, 'device': '0000:af:01.2', 'driver': 'vfio-pci',
           'device_numa_node': 1}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_captured_run_on_one_cpu():
    run = parse_testpmd(fixture('null-2m-1cpu.log'))
    assert run['started'] and run['finished'] and run['failure'] is None
    assert (run['cpu_lcores'], run['numa_nodes'], run['iova_mode']) == (2, 1, 'PA')
    assert run['cpu_sockets'] == {0: 0, 1: 0}
    assert run['memory_types'] == [{'socket': 0, 'page_size_kb': 2048}]
    assert run['hugepages'] == {0: {2048: {'pages': 32, 'mb': 64}}}
    assert run['heap_mb'] == {0: 64}
    assert run['vfio'] == {'modules_loaded': False, 'initialized': None, 'iommu_type': None, 'errors': []}
    assert run['devices'] == []
    # Two lcores on the one CPU the container has: the main one and a forwarding one.
    assert run['lcores'] == {'main': 0, 'cpusets': {0: [1], 1: [1]},
                             'forwarding': [{'lcore': 1, 'socket': 0, 'streams': 2}]}
    assert run['ports'] == [{'port': 0, 'socket': 0}, {'port': 1, 'socket': 0}]
    assert run['forward_mode'] == 'io'
    assert run['marker'] == ['cpus=1 vf=none']
    assert workload_problems(run, WANT_2M) == []


def test_captured_run_on_two_cpus_and_without_hugepages():
    run = parse_testpmd(fixture('null-2m-2cpu.log'))
    assert run['lcores']['cpusets'] == {0: [0], 1: [1]}
    assert workload_problems(run, WANT_2M) == []
    nohuge = parse_testpmd(fixture('null-nohuge.log'))
    assert nohuge['hugepages'] == {} and nohuge['heap_mb'] == {0: 64}
    assert workload_problems(nohuge, dict(WANT_2M, page_size=None, numa_node=None)) == []
    # The same run judged against a request for 2M pages: EAL mapped none.
    assert workload_problems(nohuge, WANT_2M)[0].startswith('EAL mapped no 2M hugepages (no "Allocating N pages"')


@pytest.mark.parametrize('name, message, said', [
    ('null-2m-nopages-fail.log', 'Cannot get hugepage information.; Cannot init EAL: Permission denied',
     ['EAL said: EAL: No free 2048 kB hugepages reported on node 0']),
    ('null-2m-short-fail.log', 'Cannot init memory; Cannot init EAL: Cannot allocate memory',
     ['EAL said: EAL: Not enough memory available on socket 0! Requested: 128MB, available: 64MB']),
    ('nohuge-default-mbufs-fail.log', 'Creation of mbuf pool for socket 0 failed: Cannot allocate memory', []),
    ('one-lcore-fail.log', 'No cores defined for forwarding', []),
])
def test_captured_failures_give_eals_own_message(name, message, said):
    run = parse_testpmd(fixture(name))
    assert run['failure']['code'] == 1
    assert run['failure']['message'] == message
    assert workload_problems(run, WANT_2M) == ['DPDK could not start: ' + message] + said
    assert report_lines('w1', run, WANT_2M)[0] == 'w1: DPDK did not start: ' + message


def test_eal_init_failure_is_told_apart():
    assert parse_testpmd(fixture('null-2m-short-fail.log'))['failure']['eal_init'] is True
    assert parse_testpmd(fixture('one-lcore-fail.log'))['failure']['eal_init'] is False


def test_assembled_vf_run_on_node1():
    run = parse_testpmd(fixture('assembled-vf-vfio-node1.log'))
    assert run['devices'] == [{'address': '0000:af:01.2', 'driver': 'net_iavf', 'id': '8086:1889', 'socket': 1}]
    assert run['device_sockets'] == {'0000:af:01.2': 1}
    assert run['vfio']['initialized'] is True
    assert run['vfio']['iommu_type'] == {'id': 1, 'name': 'Type 1'}
    assert run['hugepages'] == {1: {2048: {'pages': 32, 'mb': 64}}}
    assert workload_problems(run, WANT_VF) == []
    assert report_lines('w1', run, WANT_VF) == [
        'w1: DPDK ran (2 NUMA nodes, IOVA VA)',
        '  hugepages: 2M 32 pages (64 MB) on node 1 (heap 64 MB on node 1)',
        '  device 0000:af:01.2 (8086:1889): net_iavf, socket 1, vfio with IOMMU Type 1',
        '  lcores: main 0 (cpus 9); forwarding 1 (cpus 9) on socket 1',
    ]


def test_judgement_against_other_requests():
    run = parse_testpmd(fixture('assembled-vf-vfio-node1.log'))
    assert workload_problems(run, dict(WANT_VF, numa_node=0)) == [
        'EAL mapped 2M hugepages on socket 1, not on NUMA node 0',
        'memory on NUMA node 0, the device on node 1']
    assert workload_problems(run, dict(WANT_VF, page_size='1G')) == [
        'EAL mapped no 1G hugepages (it mapped 2M on socket 1)']
    assert workload_problems(run, dict(WANT_VF, memory_mb=128)) == [
        'EAL mapped 64 MB of 2M hugepages on NUMA node 1, 128 MB were asked']
    assert workload_problems(run, dict(WANT_VF, device='0000:af:01.3')) == ['no driver probed 0000:af:01.3']


def _edited(old, new):
    return fixture('assembled-vf-vfio-node1.log').replace(old, new)


def test_device_on_the_other_node_and_no_vfio():
    run = parse_testpmd(_edited('Logical Core 1 (socket 1)', 'Logical Core 1 (socket 0)'))
    assert workload_problems(run, WANT_VF) == ['forwarding lcore 1 runs on socket 0, the device is on 1']
    run = parse_testpmd(_edited('EAL: Using IOMMU type 1 (Type 1)\n', ''))
    assert workload_problems(run, WANT_VF) == ['0000:af:01.2 was probed but EAL reported no IOMMU type: not '
                                               'through vfio']
    # EAL's "not NUMA-aware" device: socket -1, the facts' node is used when known.
    run = parse_testpmd(_edited('(socket 1)\ntestpmd', '(socket -1)\ntestpmd'))
    assert run['devices'][0]['socket'] is None
    assert workload_problems(run, dict(WANT_VF, device_numa_node=None)) == []
    assert workload_problems(run, dict(WANT_VF, device_numa_node=0)) == [
        'memory on NUMA node 1, the device on node 0', 'forwarding lcore 1 runs on socket 1, the device is on 0']


def test_vfio_errors_are_quoted():
    # Formats of librte_eal.so.23 (22.11): "%s VFIO group is not viable! ..." and "Requested device ... cannot be used".
    text = _edited('EAL: Using IOMMU type 1 (Type 1)\nEAL: Probe PCI driver: net_iavf (8086:1889) device: '
                   '0000:af:01.2 (socket 1)\n',
                   'EAL: 0000:af:01.2 VFIO group is not viable! Not all devices in IOMMU group bound to VFIO or '
                   'unbound\nEAL: Requested device 0000:af:01.2 cannot be used\n')
    run = parse_testpmd(text)
    assert run['unusable_devices'] == ['0000:af:01.2']
    assert workload_problems(run, WANT_VF)[0] == (
        'no driver probed 0000:af:01.2; EAL said: EAL: 0000:af:01.2 VFIO group is not viable! Not all devices in '
        'IOMMU group bound to VFIO or unbound; EAL said: EAL: Requested device 0000:af:01.2 cannot be used')


def test_older_lowercase_iommu_line_and_cut_logs():
    assert parse_testpmd('EAL:   using IOMMU type 1 (Type 1)')['vfio']['iommu_type'] == {'id': 1, 'name': 'Type 1'}
    assert workload_problems(parse_testpmd(''), WANT_2M) == [
        'no sign that EAL initialised (no mbuf pool created): the log is cut short or testpmd did not run']


def test_clean_lines_drop_screen_clearing():
    assert clean_lines('a\r\n\x1b[2J\x1b[1;1H\nPort statistics ==== \n') == ['a', '', '', 'Port statistics ====', '']


# Captured on the QEMU testbed (tests/fixtures/dpdk/README.md): testpmd in the workload check's pod, kubelet 1.20.2.
WANT_TESTBED = {'page_size': '2M', 'numa_node': 0, 'memory_mb': 64, 'device': '0000:00:13.0', 'driver': 'vfio-pci',
                'device_numa_node': None}


def test_captured_igb_vf_through_vfio_on_the_testbed():
    run = parse_testpmd(fixture('qemu-igbvf-vfio-node0.log'))
    assert run['started'] and run['failure'] is None
    assert run['devices'] == [{'address': '0000:00:13.0', 'driver': 'net_e1000_igb_vf', 'id': '8086:10ca',
                               'socket': None}]
    assert run['vfio']['iommu_type'] == {'id': 1, 'name': 'Type 1'}
    assert run['hugepages'] == {0: {2048: {'pages': 32, 'mb': 64}}}
    assert workload_problems(run, WANT_TESTBED) == []
    assert report_lines('demo', run, WANT_TESTBED) == [
        'demo: DPDK ran (2 NUMA nodes, IOVA VA)',
        '  hugepages: 2M 32 pages (64 MB) on node 0 (heap 64 MB on node 0)',
        '  device 0000:00:13.0 (8086:10ca): net_e1000_igb_vf, socket unknown, vfio with IOMMU Type 1',
        '  lcores: main 0 (cpus 0); forwarding 1 (cpus 0) on socket 0']


def test_captured_type1_refused_without_interrupt_remapping():
    """The same VF before sriov_vfio_allow_unsafe_interrupts, with lcores on both NUMA nodes (before the script kept
    them on the memory's node): EPERM from VFIO_SET_IOMMU, then the mbuf pool of socket 1 could not be created."""
    run = parse_testpmd(fixture('qemu-igbvf-no-intremap-fail.log'))
    assert run['failure']['message'] == 'Creation of mbuf pool for socket 1 failed: Cannot allocate memory'
    assert run['vfio']['set_iommu_failed'][0] == {'id': 1, 'name': 'Type 1', 'errno': 1,
                                                  'error': 'Operation not permitted'}
    problems = workload_problems(run, WANT_TESTBED)
    assert 'EAL said: EAL: 0000:00:13.0 failed to select IOMMU type' in problems
    assert any(p.startswith('the kernel refused the type 1 IOMMU (VFIO_SET_IOMMU: Operation not permitted): the '
                            'host has no interrupt remapping') and 'sriov_vfio_allow_unsafe_interrupts' in p
               for p in problems), problems
