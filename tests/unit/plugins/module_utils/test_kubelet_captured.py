# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet rules on data captured from newer kubelets by others (sources in tests/fixtures/kubelet/README.md).

- kubeadm v1.32.13's /var/lib/kubelet/config.yaml and kubeadm-flags.env;
- an EKS kubelet v1.30.2's /configz (static CPU manager, single-numa-node) and its cpu_manager_state;
- a Static memory manager layout and the memory_manager_state it produced (kubelet 1.22), with the two start
  failures kubelet logged on the way (reservedMemory that does not sum up).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostFS
from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    API_VERSION,
    KIND,
    ConfigFileError,
    KubeletHost,
    applied_difference,
    cpu_assignments,
    dump_config,
    field_problems,
    gate_problems,
    load_config,
    memory_state_reserved,
    merge,
    overlay,
    parse_configz,
    parse_cpu_manager_state,
    parse_memory,
    parse_version,
    reserved_memory_bytes,
    state_files,
    state_reset_reasons,
    validate,
)

import synthhost

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'kubelet')
HEADER = {'apiVersion': API_VERSION, 'kind': KIND}
DPDK = {
    'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '0-1,16-17', 'memoryManagerPolicy': 'Static',
    'topologyManagerPolicy': 'single-numa-node', 'systemReserved': {'memory': '1Gi'},
    'kubeReserved': {'memory': '924Mi'}, 'evictionHard': {'memory.available': '100Mi'},
    'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1Gi'}}, {'numaNode': 1, 'limits': {'memory': '1Gi'}}],
}
ISOLATED = list(range(2, 16)) + list(range(18, 32))


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope='module')
def host(host_root):
    """server2s: 2 sockets, NUMA nodes 0 and 1, CPUs 0-31 (isolated 2-15,18-31)."""
    return Host(host_root('server2s'))


# ---------------------------------------------------------------- kubeadm v1.32.13's config.yaml

def test_kubeadm_132_file_comes_back_byte_for_byte():
    text = fixture('kubeadm-1.32.13-config.yaml')
    config = load_config(text, '/var/lib/kubelet/config.yaml')
    # Fields the written 1.29 fixture does not have: kubeadm 1.32 writes them too, and they must survive.
    assert config['crashLoopBackOff'] == {}
    assert config['logging']['options'] == {'json': {'infoBufferSize': '0'}, 'text': {'infoBufferSize': '0'}}
    assert dump_config(config) == text


def test_merge_into_kubeadm_132_keeps_everything_it_does_not_own():
    text = fixture('kubeadm-1.32.13-config.yaml')
    before = load_config(text, 'config.yaml')
    after = merge(before, dict(DPDK, logging={'verbosity': 2}))
    out = dump_config(after)
    assert list(after)[:len(before)] == list(before)
    unchanged = [k for k in before if k != 'logging']
    assert dict((k, after[k]) for k in unchanged) == dict((k, before[k]) for k in unchanged)
    # A mapping merges key by key: kubeadm's logging options stay, only verbosity changes.
    assert after['logging'] == {'flushFrequency': 0, 'options': before['logging']['options'], 'verbosity': 2}
    assert list(after)[len(before):] == list(DPDK)
    # kubeadm's lines are all still there, in order, with its quoting ("0", "").
    kubeadm_lines = [line for line in text.splitlines() if line != '  verbosity: 0']
    out_lines = out.splitlines()
    assert [line for line in out_lines if line in kubeadm_lines] == kubeadm_lines
    assert '      infoBufferSize: "0"' in out_lines and 'containerRuntimeEndpoint: ""' in out_lines


def test_kubeadm_132_merged_configuration_is_valid_for_1_32_on_a_dpdk_node(host):
    version = parse_version('v1.32.13')  # the Node's kubeletVersion in the capture
    config = merge(load_config(fixture('kubeadm-1.32.13-config.yaml'), 'c'), DPDK)
    assert validate(config, host.cpus(), host.numa(), ISOLATED, version) == ([], [])
    # 1.32: MemoryManager and SizeMemoryBackedVolumes are GA and locked on; HugePageStorageMediumSize is long gone.
    problems, _notes = validate(merge(config, {'featureGates': {'MemoryManager': False,
                                                                'SizeMemoryBackedVolumes': False,
                                                                'HugePageStorageMediumSize': True}}),
                                host.cpus(), host.numa(), ISOLATED, version)
    assert problems == [
        'featureGates HugePageStorageMediumSize was removed after Kubernetes 1.24: kubelet 1.32 refuses to start with '
        'it; remove it from featureGates',
        'featureGates MemoryManager is GA and locked to true since 1.32: kubelet 1.32 refuses MemoryManager=false',
        'featureGates SizeMemoryBackedVolumes is GA and locked to true since 1.32: kubelet 1.32 refuses '
        'SizeMemoryBackedVolumes=false']


def test_zero_values_of_newer_fields_in_kubeadms_file_are_not_problems():
    # kubeadm 1.32 writes containerRuntimeEndpoint: "" (1.27+) and memorySwap: {} (1.22+): an older kubelet that
    # drops them loses nothing, so the file stays usable with it; a set value is still refused.
    config = load_config(fixture('kubeadm-1.32.13-config.yaml'), 'c')
    assert field_problems(config, (1, 21, 0)) == []
    assert field_problems(merge(config, {'memorySwap': {'swapBehavior': 'LimitedSwap'}}), (1, 21, 0)) == [
        'memorySwap needs kubelet 1.22 or later: kubelet 1.21 does not know the field and silently runs without it '
        '(lenient decoding); remove it or upgrade kubelet']


def test_kubeadm_132_flag_file_gives_no_config_dir(tmp_path):
    # kubeadm 1.32 passes --config through its unit drop-in and no --config-dir: the layout is kubeadm's defaults.
    b = synthhost.server2s()
    b.file('var/lib/kubelet/kubeadm-flags.env', fixture('kubeadm-flags-1.32.13.env'))
    b.file('var/lib/kubelet/config.yaml', fixture('kubeadm-1.32.13-config.yaml'))
    info = KubeletHost(HostFS(b.write(str(tmp_path)))).describe('kubelet')
    assert info['flags_from'] == 'flag files' and info['running'] is False
    assert info['flags'] == {'container-runtime-endpoint': 'unix:///run/containerd/containerd.sock',
                             'node-ip': '192.168.10.100', 'pod-infra-container-image': 'registry.k8s.io/pause:3.10'}
    assert (info['config_path'], info['config_dir'], info['root_dir']) == \
        ('/var/lib/kubelet/config.yaml', None, '/var/lib/kubelet')


def test_dropin_over_kubeadm_132_is_merged_field_by_field():
    # What kubelet 1.30+ runs with when our drop-in sits in --config-dir next to kubeadm's file: kubeadm's
    # structures keep their other fields, our lists replace.
    base = load_config(fixture('kubeadm-1.32.13-config.yaml'), 'c')
    ours = merge(HEADER, {'evictionHard': {'memory.available': '500Mi'}, 'clusterDNS': ['10.96.0.11'],
                          'authentication': {'webhook': {'cacheTTL': '2m0s'}}})
    effective = overlay(base, ours)
    assert effective['authentication'] == {'anonymous': {'enabled': False},
                                           'webhook': {'cacheTTL': '2m0s', 'enabled': True},
                                           'x509': {'clientCAFile': '/etc/kubernetes/pki/ca.crt'}}
    assert effective['clusterDNS'] == ['10.96.0.11']
    assert effective['evictionHard'] == {'memory.available': '500Mi'}
    assert dict((k, v) for k, v in effective.items() if k not in ('authentication', 'clusterDNS', 'evictionHard')) \
        == dict((k, v) for k, v in base.items() if k not in ('authentication', 'clusterDNS'))


# ---------------------------------------------------------------- /configz of an EKS kubelet v1.30.2

def test_configz_is_the_effective_configuration_without_type_fields():
    running = parse_configz(fixture('configz-1.30.2-eks.json'))
    assert len(running) == 84 and 'kind' not in running and 'apiVersion' not in running
    assert (running['cpuManagerPolicy'], running['topologyManagerPolicy'], running['memoryManagerPolicy']) == \
        ('static', 'single-numa-node', 'None')
    # Defaults are filled in (kubeadm's file above writes 0s; the running kubelet shows what it uses).
    assert running['evictionHard'] == {'memory.available': '100Mi', 'nodefs.available': '10%', 'nodefs.inodesFree': '5%'}
    assert running['topologyManagerScope'] == 'container'


@pytest.mark.parametrize('text, msg', [
    ('<html>403</html>', '/configz is not JSON: '),
    ('{"kind": "Status", "code": 404}', '/configz has no "kubeletconfig" object (found code, kind)'),
    ('[]', '/configz has no "kubeletconfig" object (found list)'),
])
def test_configz_refuses_other_answers(text, msg):
    with pytest.raises(ConfigFileError) as info:
        parse_configz(text)
    assert str(info.value).startswith(msg)


def test_configz_of_1_30_passes_the_rules_of_1_30():
    running = parse_configz(fixture('configz-1.30.2-eks.json'))
    version = parse_version('v1.30.2-eks-1552ad0')  # the Node's kubeletVersion in the capture
    assert version == (1, 30, 2)
    config = merge(HEADER, running)
    # No host sections: the capture comes from a 192-CPU EKS node, not from one of our trees.
    problems, notes = validate(config, {}, {}, [], version)
    assert problems == []
    # The one gate it sets is not one the collection tracks.
    assert notes == ["featureGates RotateKubeletServerCertificate: not in the collection's table, not checked "
                     "against kubelet 1.30"]
    # Static CPU manager with only kubeReserved cpu (550m) is enough reservation for kubelet.
    assert validate(merge(config, {'kubeReserved': None}), {}, {}, [], version)[0] == [
        'cpuManagerPolicy static needs reserved CPUs: set reservedSystemCPUs (or a cpu quantity in kubeReserved or '
        'systemReserved)']


def test_applied_difference_against_a_running_kubelet():
    running = parse_configz(fixture('configz-1.30.2-eks.json'))
    # What this node was configured with (kubelet flags --cpu-manager-policy=static
    # --topology-manager-policy=single-numa-node), written as settings: all applied; quantities compare by value.
    assert applied_difference({'cpuManagerPolicy': 'static', 'topologyManagerPolicy': 'single-numa-node',
                               'kubeReserved': {'cpu': '0.55', 'memory': '8362Mi'},
                               'evictionHard': {'memory.available': '100Mi'}, 'maxPods': 737,
                               'enforceNodeAllocatable': ['pods'], 'featureGates': {'RotateKubeletServerCertificate': True},
                               'kind': KIND, 'memorySwap': None}, running) == []
    assert applied_difference(DPDK, running) == [
        'kubeReserved.memory: set to "924Mi", kubelet runs with "8362Mi"',
        'memoryManagerPolicy: set to "Static", kubelet runs with "None"',
        'reservedMemory: set to [{"numaNode": 0, "limits": {"memory": "1Gi"}}, {"numaNode": 1, "limits": '
        '{"memory": "1Gi"}}], absent from /configz',
        'reservedSystemCPUs: set to "0-1,16-17", absent from /configz',
        'systemReserved: set to {"memory": "1Gi"}, absent from /configz',
    ]


def test_applied_difference_compares_cpu_lists_and_list_items():
    running = {'reservedSystemCPUs': '0,1,16,17', 'clusterDNS': ['10.96.0.10'],
               'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1073741824'}}]}
    assert applied_difference({'reservedSystemCPUs': '0-1,16-17', 'clusterDNS': ['10.96.0.10'],
                               'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1Gi'}}]}, running) == []
    assert applied_difference({'clusterDNS': ['10.96.0.10', '10.96.0.11'],
                               'reservedMemory': [{'numaNode': 1, 'limits': {'memory': '1Gi'}}]}, running) == [
        'clusterDNS: set to ["10.96.0.10", "10.96.0.11"], kubelet runs with ["10.96.0.10"]',
        'reservedMemory: set to [{"numaNode": 1, "limits": {"memory": "1Gi"}}], kubelet runs with [{"numaNode": 0, '
        '"limits": {"memory": "1073741824"}}]']


# ---------------------------------------------------------------- the EKS node's cpu_manager_state

def test_cpu_manager_checkpoint_of_a_static_node(tmp_path):
    b = synthhost.server2s()
    b.file('var/lib/kubelet/cpu_manager_state', fixture('cpu_manager_state-1.30.2-eks'))
    info = KubeletHost(HostFS(b.write(str(tmp_path)))).describe('kubelet')
    state = info['state']['cpu_manager_state']
    assert state['checksum'] == 4076905443 and info['state']['memory_manager_state'] is None
    cpus = cpu_assignments(state)
    assert cpus['policy'] == 'static'
    assert cpus['containers'] == {'823ca0b5-ed9e-421a-bfca-76fa078f3195/ubuntu-netutils': [96],
                                  'b8292fdc-57b1-4bc4-937b-34cd3dd1bcb8/ubuntu-netutils': [1]}
    assert cpus['exclusive'] == [1, 96]
    # The shared pool and the exclusive CPUs never overlap and together cover the node's 192 CPUs.
    assert not set(cpus['shared']) & set(cpus['exclusive'])
    assert sorted(cpus['shared'] + cpus['exclusive']) == list(range(192))
    # kubeReserved cpu 550m reserves one whole CPU, the lowest: CPU 0 stays in the shared pool, never exclusive.
    assert 0 in cpus['shared']


def test_cpu_assignments_of_other_checkpoints():
    assert cpu_assignments(parse_cpu_manager_state('{"policyName":"none","defaultCpuSet":"","checksum":1}')) == \
        {'policy': 'none', 'shared': [], 'containers': {}, 'exclusive': []}
    assert cpu_assignments(None) is None
    assert cpu_assignments({'policyName': 'static', 'defaultCpuSet': '0-x'}) is None


# ---------------------------------------------------------------- a Static memory manager layout (kubelet 1.22)

def memory_layout():
    """The published working configuration (a fragment of the kubelet's file, without apiVersion and kind)."""
    import yaml
    return merge(HEADER, yaml.safe_load(fixture('memory-manager-static-1.22.yaml')))


def test_published_memory_manager_layout_is_valid_on_a_two_node_host(host):
    config = memory_layout()
    # 16Gi + 4Gi + 512Mi = 2 x 10496Mi; a cpu quantity in kubeReserved is the static CPU policy's reservation.
    assert validate(config, host.cpus(), host.numa(), ISOLATED, (1, 22, 0)) == ([], [])
    # The same layout on the versions around it: 1.21 needs the alpha gate, 1.20 knows neither field.
    assert validate(config, host.cpus(), host.numa(), ISOLATED, (1, 21, 0))[0] == [
        'memoryManagerPolicy Static needs the MemoryManager feature gate in kubelet 1.21 (alpha in 1.21: set '
        'featureGates MemoryManager: true)']
    assert [p.split(' needs ')[0] for p in validate(config, host.cpus(), host.numa(), ISOLATED, (1, 20, 0))[0]] == \
        ['memoryManagerPolicy', 'reservedMemory']


def test_the_two_failures_kubelet_logged_are_refused_first(host):
    # From the same notes, kubelet's own words on each attempt (kubeReserved memory 16Gi, nothing else reserved):
    #   the total amount "0" of type "memory" is not equal to the value "16484Mi" determined by Node Allocatable
    base = merge(HEADER, {'cpuManagerPolicy': 'static', 'kubeReserved': {'cpu': '4000m', 'memory': '16Gi'},
                          'memoryManagerPolicy': 'Static'})
    assert validate(base, host.cpus(), host.numa(), ISOLATED, (1, 22, 0))[0] == [
        'memoryManagerPolicy Static needs reservedMemory (memory reserved per NUMA node)']
    #   the total amount "16548Mi" of type "memory" is not equal to the value "16484Mi" ...
    wrong = merge(base, {'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '16548Mi'}}]})
    assert validate(wrong, host.cpus(), host.numa(), ISOLATED, (1, 22, 0))[0] == [
        'reservedMemory memory sums to 16548Mi, but kubeReserved + systemReserved + evictionHard memory.available = '
        '16484Mi (16Gi + 0 + 100Mi): kubelet refuses to start unless they are equal']
    right = merge(base, {'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '16484Mi'}}]})
    assert validate(right, host.cpus(), host.numa(), ISOLATED, (1, 22, 0))[0] == []
    # The second published layout: 1Gi system, 200Mi eviction, split over both nodes (8804Mi each).
    split = merge(base, {'systemReserved': {'memory': '1Gi'}, 'evictionHard': {'memory.available': '200Mi'},
                         'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '8804Mi'}},
                                            {'numaNode': 1, 'limits': {'memory': '8804Mi'}}]})
    assert validate(split, host.cpus(), host.numa(), ISOLATED, (1, 22, 0))[0] == []


def captured_memory_state():
    """Node 0 of the published memory_manager_state (the excerpt ends after it: the other nodes were cut)."""
    text = fixture('memory_manager_state-1.22-excerpt.txt')
    head = json.loads(text[:text.index('"machineState"')] + '"machineState": {}}')
    cell, _end = json.JSONDecoder().raw_decode(text, text.index('"0": ') + len('"0": '))
    return dict(head, machineState={'0': cell})


def test_memory_checkpoint_records_the_reservation_kubelet_checks():
    state = captured_memory_state()
    assert state['policyName'] == 'Static'
    reserved = memory_state_reserved(state)
    # The checkpoint written with reservedMemory node 0 = 16484Mi (16Gi kubeReserved + the default 100Mi eviction).
    assert reserved == {0: {'hugepages-1Gi': 0, 'hugepages-2Mi': 0, 'memory': parse_memory('16484Mi')}}
    assert reserved[0]['memory'] == reserved_memory_bytes(
        {'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '16484Mi'}}]})[0]['memory']
    # total = systemReserved + allocatable, per resource.
    memory = state['machineState']['0']['memoryMap']['memory']
    assert memory['total'] == memory['systemReserved'] + memory['allocatable']
    assert memory['allocatable'] == memory['reserved'] + memory['free']
    assert memory_state_reserved({'policyName': 'None', 'machineState': {}, 'checksum': 4236770233}) == {}


def test_moving_to_the_published_layout_resets_the_memory_checkpoint():
    before = merge(HEADER, {'cpuManagerPolicy': 'static', 'memoryManagerPolicy': 'Static',
                            'kubeReserved': {'cpu': '4000m', 'memory': '16Gi'},
                            'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '16484Mi'}}]})
    after = memory_layout()
    reasons = state_reset_reasons(before, after)
    assert reasons == ['reservedMemory changed under the Static memory manager policy']
    assert state_files(reasons) == ['memory_manager_state']
    # The checkpoint shows why: what it recorded is not what the new layout reserves.
    assert memory_state_reserved(captured_memory_state())[0]['memory'] != reserved_memory_bytes(after)[0]['memory']


def test_gates_of_the_capture_versions():
    # 1.22 (memory manager notes), 1.30 (EKS), 1.32 (kubeadm): SizeMemoryBackedVolumes beta then GA.
    assert gate_problems({'SizeMemoryBackedVolumes': True, 'MemoryManager': True}, (1, 22, 0)) == ([], [])
    assert gate_problems({'SizeMemoryBackedVolumes': False}, (1, 30, 2)) == ([], [])
    assert gate_problems({'TopologyManager': True}, (1, 30, 2))[0] == [
        'featureGates TopologyManager was removed after Kubernetes 1.28: kubelet 1.30 refuses to start with it; '
        'remove it from featureGates']
