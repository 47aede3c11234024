# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kubelet detection (flags, paths, checkpoints), the Node's hugepages capacity, newer fields by version, pods."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostFS
from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    FIELD_VERSIONS,
    KubeletConfigError,
    KubeletHost,
    capacity_difference,
    field_problems,
    hugepage_capacity,
    parse_memory,
    parse_kubelet_flags,
    pod_resources,
    split_args,
)

import synthhost

# kubeadm's kubelet command line: the unit's KUBELET_KUBECONFIG_ARGS and KUBELET_CONFIG_ARGS, then
# kubeadm-flags.env (written for the tests in kubeadm 1.29's layout, not captured).
KUBEADM_ARGV = ['/usr/bin/kubelet', '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
                '--kubeconfig=/etc/kubernetes/kubelet.conf', '--config=/var/lib/kubelet/config.yaml',
                '--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock',
                '--pod-infra-container-image=registry.k8s.io/pause:3.9']


def build_root(tmp_path, files, hugepages=None):
    b = synthhost.server2s()
    if hugepages is not None:
        b.hugepages(default_kb=2048, pools=hugepages)
    for rel, text in files.items():
        b.file(rel, text)
    return b.write(str(tmp_path))


def test_flags_in_both_forms_and_booleans():
    flags = parse_kubelet_flags(['--config', '/etc/k/c.yaml', '--v=2', '--fail-swap-on=false',
                                 '--register-node', '--root-dir', '/data/kubelet', '-v', '4'])
    assert flags == {'config': '/etc/k/c.yaml', 'v': '4', 'fail-swap-on': 'false', 'register-node': 'true',
                     'root-dir': '/data/kubelet'}


def test_flag_file_words_keep_quoted_values():
    assert split_args('--node-ip=10.0.0.5 --node-labels="a=b,c=d" \'--x=y z\' ""') == [
        '--node-ip=10.0.0.5', '--node-labels=a=b,c=d', '--x=y z', '']


def test_running_kubelet_wins_over_flag_files(tmp_path):
    root = build_root(tmp_path, {
        'var/lib/kubelet/kubeadm-flags.env': 'KUBELET_KUBEADM_ARGS="--config-dir=/etc/kubernetes/kubelet.conf.d"\n',
        'data/kubelet/cpu_manager_state': json.dumps({'policyName': 'static', 'defaultCpuSet': '0-31',
                                                      'checksum': 1}),
        'etc/systemd/system/kubelet.service.d/10-dataplane-node.conf': '[Unit]\n',
        'usr/bin/kubelet': '',
    })
    for pid, argv in ((4242, KUBEADM_ARGV + ['--root-dir=/data/kubelet']), (17, ['/usr/sbin/sshd', '-D'])):
        (tmp_path / 'proc' / str(pid)).mkdir(parents=True)
        (tmp_path / 'proc' / str(pid) / 'cmdline').write_bytes(('\0'.join(argv) + '\0').encode())
    info = KubeletHost(HostFS(root)).describe('kubelet')
    assert info['running'] is True and info['pid'] == 4242 and info['flags_from'] == 'running'
    assert info['config_path'] == '/var/lib/kubelet/config.yaml'
    assert info['config_dir'] is None  # the running kubelet has no --config-dir, whatever the file says
    assert info['root_dir'] == '/data/kubelet'
    assert info['kubeconfig'] == '/etc/kubernetes/kubelet.conf'
    assert info['binary'] == '/usr/bin/kubelet'
    assert info['state']['cpu_manager_state']['policyName'] == 'static'
    assert info['state']['memory_manager_state'] is None
    assert info['unit_dropins'] == ['/etc/systemd/system/kubelet.service.d/10-dataplane-node.conf']
    assert info['flag_files'] == {'/var/lib/kubelet/kubeadm-flags.env': ['--config-dir=/etc/kubernetes/kubelet.conf.d']}


def test_stopped_kubelet_reads_the_flag_files_in_order(tmp_path):
    root = build_root(tmp_path, {
        'var/lib/kubelet/kubeadm-flags.env': 'KUBELET_KUBEADM_ARGS="--config-dir=/etc/kubernetes/kubelet.conf.d '
                                             '--node-ip=10.1.1.1"\n',
        'etc/default/kubelet': 'KUBELET_EXTRA_ARGS=--root-dir=/srv/kubelet\n',
    })
    info = KubeletHost(HostFS(root)).describe('/usr/local/bin/kubelet')
    assert info['running'] is False and info['pid'] is None and info['flags_from'] == 'flag files'
    assert info['config_dir'] == '/etc/kubernetes/kubelet.conf.d'
    assert info['root_dir'] == '/srv/kubelet'
    assert info['binary'] is None
    assert info['state'] == {'cpu_manager_state': None, 'memory_manager_state': None}


def test_nothing_there_gives_kubeadm_defaults(tmp_path):
    info = KubeletHost(HostFS(build_root(tmp_path, {}))).describe('kubelet')
    assert info['flags_from'] == 'defaults'
    assert (info['config_path'], info['root_dir'], info['config_dir']) == (
        '/var/lib/kubelet/config.yaml', '/var/lib/kubelet', None)


def test_hugepage_capacity_as_the_api_server_writes_it(tmp_path):
    host = Host(build_root(tmp_path, {}))
    assert hugepage_capacity(host.hugepages()) == {'hugepages-2Mi': '2Gi', 'hugepages-1Gi': '16Gi'}
    empty = Host(build_root(tmp_path / 'e', {}, hugepages={2048: {0: 0, 1: 0}, 1048576: {0: 0, 1: 0}}))
    assert hugepage_capacity(empty.hugepages()) == {'hugepages-2Mi': '0', 'hugepages-1Gi': '0'}


def test_capacity_difference_compares_quantities():
    wanted = {'hugepages-2Mi': '32Mi', 'hugepages-1Gi': '0'}
    # A Node status before and after the kubelet restart of seed 004 (written for the test; the scenario reads the real one).
    stale = {'capacity': {'cpu': '2', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', 'memory': '8148380Ki'},
             'allocatable': {'cpu': '2', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', 'memory': '8045980Ki'}}
    fresh = {'capacity': {'hugepages-1Gi': '0', 'hugepages-2Mi': '32Mi'},
             'allocatable': {'hugepages-1Gi': '0', 'hugepages-2Mi': '33554432'}}
    assert capacity_difference(wanted, stale) == [
        'capacity hugepages-2Mi: node reports 0, the host has 32Mi',
        'allocatable hugepages-2Mi: node reports 0, the host has 32Mi']
    assert capacity_difference(wanted, fresh) == []
    assert capacity_difference(wanted, {}) == [
        'capacity hugepages-1Gi: node reports None, the host has 0',
        'capacity hugepages-2Mi: node reports None, the host has 32Mi',
        'allocatable hugepages-1Gi: node reports None, the host has 0',
        'allocatable hugepages-2Mi: node reports None, the host has 32Mi']


@pytest.mark.parametrize('version, expected', [
    ((1, 20, 2), ['memoryManagerPolicy', 'reservedMemory', 'memorySwap', 'topologyManagerPolicyOptions']),
    ((1, 21, 0), ['memorySwap', 'topologyManagerPolicyOptions']),
    ((1, 26, 0), []),
])
def test_newer_fields_are_refused_by_version(version, expected):
    config = {'memoryManagerPolicy': 'None', 'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '100Mi'}}],
              'memorySwap': {'swapBehavior': 'LimitedSwap'},
              'topologyManagerPolicyOptions': {'prefer-closest-numa-nodes': 'true'}}
    problems = field_problems(config, version)
    assert [p.split(' ', 1)[0] for p in problems] == expected
    for problem in problems:
        field = problem.split(' ', 1)[0]
        assert 'needs kubelet 1.%d or later' % FIELD_VERSIONS[field] in problem
        assert 'silently runs without it' in problem


FACTS = {'hugepages': {'pools': {'2M': {'size_kb': 2048, 'nr': 512}, '1G': {'size_kb': 1048576, 'nr': 2},
                                 '16G': {'size_kb': 16777216, 'nr': 0}}}}


def test_pod_with_one_hugepage_size_and_shm():
    pod = pod_resources({'cpu': 2, 'memory': '1Gi', 'hugepages': {'2M': '512Mi'}, 'shm': '256Mi',
                         'devices': {'intel.com/sriov_dpdk': 1}}, FACTS, version='1.20',
                        feature_gates={'SizeMemoryBackedVolumes': True})
    limits = {'cpu': '2', 'memory': '1Gi', 'hugepages-2Mi': '512Mi', 'intel.com/sriov_dpdk': '1'}
    assert pod['resources'] == {'requests': limits, 'limits': limits}
    assert pod['volumes'] == [{'name': 'hugepages', 'emptyDir': {'medium': 'HugePages'}},
                              {'name': 'shm', 'emptyDir': {'medium': 'Memory', 'sizeLimit': '256Mi'}}]
    assert pod['volumeMounts'] == [{'name': 'hugepages', 'mountPath': '/hugepages'},
                                   {'name': 'shm', 'mountPath': '/dev/shm'}]
    assert pod['securityContext'] == {'capabilities': {'add': ['IPC_LOCK']}}
    assert pod['notes'] == []


def test_pod_with_two_sizes_gets_one_volume_each_and_version_notes():
    sizes = [{'size': '1Gi', 'amount': '1Gi'}, {'size': '2MB', 'amount': '64Mi'}]
    pod = pod_resources({'cpu': '1500m', 'memory': '2Gi', 'hugepages': sizes, 'shm': '64Mi'}, FACTS, version='v1.20.2')
    assert pod['resources']['limits'] == {'cpu': '1500m', 'memory': '2Gi', 'hugepages-1Gi': '1Gi',
                                          'hugepages-2Mi': '64Mi'}
    assert [v['emptyDir']['medium'] for v in pod['volumes']] == ['HugePages-1Gi', 'HugePages-2Mi', 'Memory']
    assert [m['mountPath'] for m in pod['volumeMounts']] == ['/hugepages-1Gi', '/hugepages-2Mi', '/dev/shm']
    assert pod['notes'] == [
        'cpu 1500m is not a whole number: the static CPU manager gives exclusive CPUs only to whole-CPU Guaranteed '
        'containers',
        'kubelet 1.20 sizes /dev/shm to sizeLimit only with the SizeMemoryBackedVolumes feature gate (alpha, off by '
        'default in 1.20 and 1.21): without it the tmpfs is half the node\'s RAM']
    assert pod_resources({'cpu': 1, 'memory': '1Gi', 'hugepages': {'2M': '2Mi'}, 'shm': '1Mi'}, FACTS,
                         version='1.19')['notes'] == [
        'kubelet 1.19 cannot size a memory-backed emptyDir: /dev/shm gets the kernel default (half the node\'s RAM); '
        'sizeLimit only evicts the pod']
    assert pod_resources({'cpu': 1, 'memory': '1Gi', 'hugepages': {'2M': '2Mi'}, 'shm': '1Mi'}, FACTS,
                         version='1.22')['notes'] == []


def test_pod_problems_are_all_listed():
    with pytest.raises(KubeletConfigError) as err:
        pod_resources({'memory': '64Mi', 'hugepages': {'2M': '3Mi', '1G': '4Gi', '4M': '4Mi', '16G': '16Gi'},
                       'shm': '128Mi', 'devices': {'sriov': 1}}, FACTS)
    assert err.value.problems == [
        'cpu is required: hugepages need a cpu or memory request, and exclusive CPUs need Guaranteed QoS (cpu and '
        'memory requests equal to limits)',
        'hugepages-16Gi 16Gi is more than the node has (0 pages, 0): kubelet rejects the pod (OutOfhugepages-16Gi)',
        'hugepages-1Gi 4Gi is more than the node has (2 pages, 2Gi): kubelet rejects the pod (OutOfhugepages-1Gi)',
        'hugepages-2Mi 3Mi is not a positive multiple of the page size 2Mi',
        'hugepages-4Mi: the node has no 4Mi pages (sizes: 2Mi, 1Gi, 16Gi)',
        'shm 128Mi is more than the memory limit 64Mi: /dev/shm pages count against the container\'s memory',
        "devices sriov: 1: give an extended resource name (vendor/name) and a count of 1 or more"]


def node_status(name):
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'kubelet', name)
    with open(path) as handle:
        return json.load(handle)


def test_capacity_difference_on_the_real_kubelets_status():
    """Node statuses captured from the testbed's kubelet 1.20.2 (seed 004) against 16 pages of 2M on the host."""
    stale = node_status('node-status-1.20.2-stale.json')
    restarted = node_status('node-status-1.20.2-restarted.json')
    host = {'hugepages-2Mi': '32Mi', 'hugepages-1Gi': '0'}
    assert stale['nodeInfo']['kubeletVersion'] == restarted['nodeInfo']['kubeletVersion'] == 'v1.20.2'
    assert capacity_difference(host, stale) == [
        'capacity hugepages-2Mi: node reports 0, the host has 32Mi',
        'allocatable hugepages-2Mi: node reports 0, the host has 32Mi']
    assert capacity_difference(host, restarted) == []
    # The restarted kubelet took the pages out of allocatable memory, exactly.
    assert parse_memory(stale['allocatable']['memory']) - parse_memory(restarted['allocatable']['memory']) == 32 << 20
    # reservedSystemCPUs "0" of 2 CPUs
    assert (stale['allocatable']['cpu'], restarted['allocatable']['cpu']) == ('2', '1')
