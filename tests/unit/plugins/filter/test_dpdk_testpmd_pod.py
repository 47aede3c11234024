# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload check's filters: the testpmd pod from a node's facts, its refusals, and the log as report lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.filter.dpdk_testpmd_pod import FilterModule
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host

FILTERS = FilterModule().filters()
POD = FILTERS['dpdk_testpmd_pod']
REPORT = FILTERS['dpdk_workload_report']
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'dpdk')
NEEDS = {'cpu': 1, 'memory': '256Mi', 'hugepages': {'2M': '64Mi'}, 'image': 'localhost/dataplane-dpdk:22.11'}


@pytest.fixture(scope='module')
def server(host_root):
    """Two NUMA nodes, 512 x 2M pages on each, VFs 0000:af:01.2 and .3 on vfio-pci (node 1), .0 and .1 on iavf."""
    return gather(Host(host_root('server2s')), SUBSETS)


@pytest.fixture(scope='module')
def testbed(host_root):
    """The captured QEMU testbed: igb VFs on igbvf, NUMA node of every device unknown, 2M pages 128 + 64."""
    return gather(Host(host_root('qemu-igb')), SUBSETS)


def test_pod_with_a_vf_on_vfio(server):
    rendered = POD(dict(NEEDS, vf='0000:AF:01.2'), server, 'w1', '1.20.2', {'SizeMemoryBackedVolumes': True})
    pod = rendered['manifest']
    spec = pod['spec']
    container = spec['containers'][0]
    assert pod['metadata'] == {'name': 'dataplane-workload-check', 'namespace': 'default',
                               'labels': {'app.kubernetes.io/name': 'dataplane-workload-check',
                                          'app.kubernetes.io/managed-by': 'dataplane.node'}}
    assert (spec['nodeName'], spec['restartPolicy']) == ('w1', 'Never')
    assert 'hostNetwork' not in spec
    assert container['resources']['limits'] == {'cpu': '1', 'memory': '256Mi', 'hugepages-2Mi': '64Mi'}
    assert container['resources']['requests'] == container['resources']['limits']
    assert container['env'] == [{'name': 'DATAPLANE_VF', 'value': '0000:af:01.2'}]
    assert container['securityContext'] == {'capabilities': {'add': ['IPC_LOCK']}, 'privileged': True}
    assert container['volumeMounts'] == [{'name': 'hugepages', 'mountPath': '/hugepages'},
                                         {'name': 'vfio', 'mountPath': '/dev/vfio'}]
    assert spec['volumes'] == [{'name': 'hugepages', 'emptyDir': {'medium': 'HugePages'}},
                               {'name': 'vfio', 'hostPath': {'path': '/dev/vfio', 'type': 'Directory'}}]
    script = container['command'][2]
    assert container['command'][:2] == ['/bin/sh', '-c']
    # The VF's NUMA node (1) gets all the memory: --socket-mem 0,64.
    assert ('exec timeout --preserve-status -k 10 -s INT 10 dpdk-testpmd $lcores --log-level=lib.eal:debug '
            '--huge-dir=/hugepages --socket-mem=0,64 -a "$DATAPLANE_VF" -- --stats-period 5 '
            '--total-num-mbufs=2048') in script
    assert rendered['wanted'] == {'page_size': '2M', 'numa_node': 1, 'memory_mb': 64, 'device': '0000:af:01.2',
                                  'driver': 'vfio-pci', 'device_numa_node': 1}
    assert rendered['notes'] == []


def test_pod_without_a_vf_and_without_hugepages(server):
    rendered = POD(dict(NEEDS, numa_node=0, host_network=True, image_pull_policy='Never', duration=20), server, 'w1')
    spec = rendered['manifest']['spec']
    container = spec['containers'][0]
    assert spec['hostNetwork'] is True and container['imagePullPolicy'] == 'Never'
    assert 'env' not in container and container['securityContext'] == {'capabilities': {'add': ['IPC_LOCK']}}
    assert '--socket-mem=64 --no-pci --vdev=net_null0 --vdev=net_null1' in container['command'][2]
    assert ' -s INT 20 ' in container['command'][2] and spec['activeDeadlineSeconds'] == 320
    nohuge = POD(dict(NEEDS, hugepages={}), server, 'w1')
    assert '--no-huge -m 64 --no-pci' in nohuge['manifest']['spec']['containers'][0]['command'][2]
    assert nohuge['wanted']['page_size'] is None
    assert 'no hugepages asked: DPDK needs hugepages unless it runs with --no-huge' in nohuge['notes']


def test_refusals_before_anything_is_created(server, testbed):
    with pytest.raises(AnsibleFilterError) as err:
        POD(dict(NEEDS, vf='0000:af:09.0'), server, 'w1')
    assert str(err.value) == 'dpdk_testpmd_pod: vf 0000:af:09.0: the node has no such PCI device'
    with pytest.raises(AnsibleFilterError) as err:
        POD(dict(NEEDS, vf='0000:00:13.0'), testbed, 'vm')
    assert str(err.value) == ('dpdk_testpmd_pod: vf 0000:00:13.0 is bound to igbvf, not vfio-pci: bind it first (the '
                              'sriov role, sriov_vfio_devices)')
    with pytest.raises(AnsibleFilterError) as err:
        POD(dict(NEEDS, hugepages={'1G': '1Gi'}, numa_node=0), testbed, 'vm')
    assert str(err.value) == ('dpdk_testpmd_pod: NUMA node 0 has 0 1G pages, 1 needed for 1024 MB: allocate them '
                              'there first (the hugepages role, per-node pools)')
    with pytest.raises(AnsibleFilterError) as err:
        POD({'hugepages': {'2M': '8Mi', '1G': '1Gi'}, 'numa_node': 5, 'colour': 'red'}, server, '')
    assert str(err.value).split('; ') == [
        'dpdk_testpmd_pod: unknown needs colour (known: cpu, memory, hugepages, shm, numa_node, vf, image, '
        'image_pull_policy, name, namespace, duration, stats_period, mbufs, host_network, privileged, hugepages_path)',
        'the Kubernetes node name is required: the pod is pinned with nodeName',
        'image is required: an image with dpdk-testpmd (Debian 12: dpdk-dev, librte-net-e1000-23 for Intel 1G NICs)',
        'hugepages: give one page size (testpmd maps one --huge-dir), got 1G, 2M',
        'numa_node 5: the node has NUMA nodes 0, 1',
        'cpu is required: hugepages need a cpu or memory request, and exclusive CPUs need Guaranteed QoS (cpu and '
        'memory requests equal to limits)',
        'memory is required: hugepages need a cpu or memory request, and exclusive CPUs need Guaranteed QoS (cpu and '
        'memory requests equal to limits)']
    with pytest.raises(AnsibleFilterError):
        POD('testpmd', server, 'w1')


def test_first_node_with_pages_when_the_device_node_is_unknown(testbed):
    rendered = POD(dict(NEEDS, hugepages={'1G': '1Gi'}), testbed, 'vm')
    assert rendered['wanted']['numa_node'] == 1
    assert '--socket-mem=0,1024' in rendered['manifest']['spec']['containers'][0]['command'][2]


def test_the_script_picks_lcores_from_the_cpuset(server, tmp_path):
    """The pod's script runs in a shell with dpdk-testpmd and timeout replaced by echo (no DPDK needed)."""
    script = POD(dict(NEEDS, vf='0000:af:01.2'), server, 'w1')['manifest']['spec']['containers'][0]['command'][2]
    status = tmp_path / 'status'
    outputs = []
    for cpus in ('9', '8-9'):
        status.write_text('Name:\tsh\nCpus_allowed_list:\t%s\n' % cpus)
        shell = script.replace('/proc/self/status', str(status)).replace('exec timeout', 'echo timeout')
        outputs.append(subprocess.run(['sh', '-c', shell], env={'DATAPLANE_VF': '0000:af:01.2', 'PATH': os.defpath},
                                      capture_output=True, text=True, check=True).stdout.splitlines())
    assert outputs[0][0] == 'dataplane-workload: cpus=9 vf=0000:af:01.2'
    assert ' dpdk-testpmd --lcores=0@9,1@9 --log-level' in outputs[0][1]
    assert ' -a 0000:af:01.2 -- ' in outputs[0][1]
    assert ' dpdk-testpmd -l 8,9 --log-level' in outputs[1][1]  # the allowed CPUs of the VF's node 1, as a list


def test_the_script_keeps_the_lcores_on_the_memorys_numa_node(testbed, tmp_path):
    """On the testbed (CPU 0 on node 0, CPU 1 on node 1) a pod allowed both CPUs with its memory on node 0 ran its
    forwarding lcore on CPU 1 and failed: "Creation of mbuf pool for socket 1 failed". The script keeps the lcores on
    the memory's node, and says so when the container has no CPU there."""
    rendered = POD(dict(NEEDS, numa_node=0), testbed, 'vm')
    script = rendered['manifest']['spec']['containers'][0]['command'][2]
    status = tmp_path / 'status'
    outputs = []
    for cpus in ('0-1', '1', '0'):
        status.write_text('Name:\tsh\nCpus_allowed_list:\t%s\n' % cpus)
        shell = script.replace('/proc/self/status', str(status)).replace('exec timeout', 'echo timeout')
        outputs.append(subprocess.run(['sh', '-c', shell], env={'PATH': os.defpath}, capture_output=True, text=True,
                                      check=True).stdout.splitlines())
    assert outputs[0][0] == 'dataplane-workload: cpus=0 vf=none'
    assert ' dpdk-testpmd --lcores=0@0,1@0 --log-level' in outputs[0][1]
    assert outputs[1][0] == "dataplane-workload: no allowed CPU on the memory's NUMA node (cpus 0): lcores on 1"
    assert ' dpdk-testpmd --lcores=0@1,1@1 --log-level' in outputs[1][2]
    assert ' dpdk-testpmd --lcores=0@0,1@0 --log-level' in outputs[2][1]


def test_the_lcores_of_a_node_with_several_cpus(server, tmp_path):
    rendered = POD(dict(NEEDS, numa_node=1), server, 'w1')
    node_cpus = rendered['manifest']['spec']['containers'][0]['command'][2].split('-v b="', 1)[1].split('"', 1)[0]
    assert node_cpus == server['numa']['nodes']['1']['cpulist']
    script = rendered['manifest']['spec']['containers'][0]['command'][2]
    status = tmp_path / 'status'
    status.write_text('Cpus_allowed_list:\t0-63\n')
    shell = script.replace('/proc/self/status', str(status)).replace('exec timeout', 'echo timeout')
    out = subprocess.run(['sh', '-c', shell], env={'PATH': os.defpath}, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    picked = out[0].split('cpus=', 1)[1].split()[0]
    assert sorted(int(c) for c in picked.split(',')) == sorted(server['numa']['nodes']['1']['cpus'])


def test_report_of_a_captured_run_and_a_failure(testbed):
    wanted = POD(dict(NEEDS, numa_node=0), testbed, 'vm')['wanted']
    with open(os.path.join(FIXTURES, 'null-2m-1cpu.log')) as handle:
        report = REPORT(handle.read(), wanted, 'vm')
    assert report['ok'] and report['failure'] is None and report['problems'] == []
    assert report['lines'] == ['vm: DPDK ran (1 NUMA node, IOVA PA)',
                               '  hugepages: 2M 32 pages (64 MB) on node 0 (heap 64 MB on node 0)',
                               '  devices: none probed',
                               '  lcores: main 0 (cpus 1); forwarding 1 (cpus 1) on socket 0']
    with open(os.path.join(FIXTURES, 'null-2m-nopages-fail.log')) as handle:
        lines = handle.read().splitlines()
    report = REPORT(lines, wanted, 'vm')
    assert not report['ok']
    assert report['failure'] == 'Cannot get hugepage information.; Cannot init EAL: Permission denied'
    assert report['lines'] == [
        'vm: DPDK did not start: Cannot get hugepage information.; Cannot init EAL: Permission denied',
        '  problem: DPDK could not start: Cannot get hugepage information.; Cannot init EAL: Permission denied',
        '  problem: EAL said: EAL: No free 2048 kB hugepages reported on node 0']
    with pytest.raises(AnsibleFilterError):
        REPORT('', None, 'vm')


def test_vf_auto_and_a_pod_that_never_ran(server, testbed):
    assert POD(dict(NEEDS, vf='auto'), server, 'w1')['wanted']['device'] == '0000:af:01.2'
    none = POD(dict(NEEDS, vf='auto'), testbed, 'vm')
    assert none['wanted']['device'] is None
    assert 'vf auto: no VF on vfio-pci, null virtual devices instead' in none['notes']
    status = {'phase': 'Failed', 'reason': 'OutOfhugepages-2Mi',
              'message': 'Pod Node didn\'t have enough resource: hugepages-2Mi, requested: 67108864, used: 0, '
                         'capacity: 0'}
    report = REPORT('', none['wanted'], 'vm', status)
    assert report['lines'][:2] == ['vm: DPDK did not run (no EAL output in the log)',
                                   '  problem: the pod was refused: ' + status['reason'] + ': ' + status['message']]
    waiting = {'phase': 'Pending', 'containerStatuses': [{'name': 'testpmd', 'state': {
        'waiting': {'reason': 'ErrImageNeverPull', 'message': 'image not present with pull policy of Never'}}}]}
    assert REPORT('', none['wanted'], 'vm', waiting)['problems'][0] == (
        'container testpmd waits: ErrImageNeverPull: image not present with pull policy of Never')
