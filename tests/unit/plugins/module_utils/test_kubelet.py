# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeletConfiguration rules: quantities, versions, feature gates, merging, validation on a host tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from fractions import Fraction

import pytest
import yaml

from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    ConfigFileError,
    dump_config,
    format_memory,
    gate_problems,
    gate_stage,
    load_config,
    merge,
    normalize_settings,
    overlay,
    overridden_keys,
    parse_memory,
    parse_quantity,
    parse_version,
    state_files,
    state_reset_reasons,
    validate,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'kubelet')
GI = 2 ** 30
MI = 2 ** 20


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# ---------------------------------------------------------------- quantities

@pytest.mark.parametrize('text, value', [
    ('1Gi', GI), ('500Mi', 500 * MI), ('100M', 10 ** 8), ('1.5Gi', 3 * GI // 2), ('2Ki', 2048),
    ('1k', 1000), ('500m', Fraction(1, 2)), ('0', 0), ('1e3', 1000), ('1E-3', Fraction(1, 1000)),
    ('.5Ki', 512), ('+1Mi', MI), ('-1Mi', -MI), (1024, 1024), (0.5, Fraction(1, 2)), (' 1Gi ', GI),
    ('3u', Fraction(3, 10 ** 6)), ('2Ti', 2 ** 41),
])
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize('text', ['1GB', '1 Gi', '10%', '', None, True, 'Gi', '1gi', '1.2.3', '0x10', '1Ki5'])
def test_not_quantities(text):
    with pytest.raises(ParseError) as info:
        parse_quantity(text)
    assert str(info.value) == 'not a Kubernetes quantity: %r' % (text,)


def test_memory_rounds_up_to_a_byte_and_formats_shortest():
    assert parse_memory('500m') == 1
    assert parse_memory('1.5') == 2
    assert parse_memory('100M') == 100000000
    assert [format_memory(v) for v in (GI, 1124 * MI, 10 ** 8, 1536, 0, 1000)] == \
        ['1Gi', '1124Mi', '100M', '1536', '0', '1k']


# ---------------------------------------------------------------- versions and feature gates

@pytest.mark.parametrize('text, version', [
    ('Kubernetes v1.29.3', (1, 29, 3)), ('v1.30.0-rc.1', (1, 30, 0)), ('1.28', (1, 28, 0)),
    ('Kubernetes v1.32.1+k3s1\n', (1, 32, 1)),
])
def test_versions(text, version):
    assert parse_version(text) == version


def test_not_a_version():
    with pytest.raises(ParseError) as info:
        parse_version('kubelet: command not found')
    assert str(info.value) == "not a Kubernetes version: 'kubelet: command not found'"


def test_gate_stages():
    assert gate_stage('HugePages', (1, 16, 0))[0] == 'ga'
    assert gate_stage('HugePages', (1, 17, 0)) == 'removed'
    assert gate_stage('HugePageStorageMediumSize', (1, 24, 9))[0] == 'ga'
    assert gate_stage('HugePageStorageMediumSize', (1, 25, 0)) == 'removed'
    assert gate_stage('SizeMemoryBackedVolumes', (1, 22, 0))[0] == 'beta'
    assert gate_stage('SizeMemoryBackedVolumes', (1, 35, 0))[0] == 'ga'
    assert gate_stage('MemoryManager', (1, 20, 0)) == 'future'
    assert gate_stage('TopologyManager', (1, 29, 0)) == 'removed'
    assert gate_stage('NoSuchGate', (1, 29, 0)) is None


def test_removed_gates_make_kubelet_refuse_to_start():
    problems, notes = gate_problems({'HugePages': True, 'HugePageStorageMediumSize': True}, (1, 29, 3))
    assert problems == [
        'featureGates HugePageStorageMediumSize was removed after Kubernetes 1.24: kubelet 1.29 refuses to start '
        'with it; remove it from featureGates',
        'featureGates HugePages was removed after Kubernetes 1.16: kubelet 1.29 refuses to start with it; remove it '
        'from featureGates',
    ]
    assert notes == []
    assert gate_problems({'HugePageStorageMediumSize': True}, (1, 24, 0)) == ([], [])


def test_locked_gate_refuses_the_other_value():
    assert gate_problems({'SizeMemoryBackedVolumes': False}, (1, 31, 0)) == ([], [])
    assert gate_problems({'SizeMemoryBackedVolumes': True}, (1, 32, 0)) == ([], [])
    assert gate_problems({'SizeMemoryBackedVolumes': False}, (1, 32, 0))[0] == [
        'featureGates SizeMemoryBackedVolumes is GA and locked to true since 1.32: kubelet 1.32 refuses '
        'SizeMemoryBackedVolumes=false']


def test_future_unknown_and_non_boolean_gates():
    problems, notes = gate_problems({'MemoryManager': True, 'CPUManagerPolicyAlphaOptions': True, 'CPUManager': 'yes'},
                                    (1, 20, 5))
    assert problems == [
        "featureGates CPUManager: 'yes' is not true or false",
        'featureGates MemoryManager does not exist yet in kubelet 1.20 (from 1.21): kubelet refuses to start with an '
        'unrecognized gate']
    assert notes == ["featureGates CPUManagerPolicyAlphaOptions: not in the collection's table, not checked against "
                     "kubelet 1.20"]


# ---------------------------------------------------------------- files and merging

def test_load_refuses_broken_yaml_and_other_kinds():
    with pytest.raises(ConfigFileError) as info:
        load_config(fixture('broken.yaml.txt'), '/var/lib/kubelet/config.yaml')
    assert str(info.value) == ('/var/lib/kubelet/config.yaml is not valid YAML, left untouched: line 4, column 19: '
                               'mapping values are not allowed here')
    with pytest.raises(ConfigFileError) as info:
        load_config(fixture('kube-proxy.yaml'), 'c.yaml')
    assert str(info.value) == ("c.yaml is not a KubeletConfiguration (kind 'KubeProxyConfiguration', apiVersion "
                               "'kubeproxy.config.k8s.io/v1alpha1'; expected kind KubeletConfiguration, apiVersion "
                               "kubelet.config.k8s.io/v1beta1), left untouched")
    with pytest.raises(ConfigFileError) as info:
        load_config('- a\n- b\n', 'c.yaml')
    assert str(info.value) == ('c.yaml is not a KubeletConfiguration (a YAML mapping is expected, found list), '
                               'left untouched')
    assert load_config('', 'c.yaml') == {'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'kind': 'KubeletConfiguration'}


def test_merge_keeps_unknown_keys_and_their_order():
    base = load_config(fixture('kubeadm-1.29-config.yaml'), 'config.yaml')
    merged = merge(base, {'cpuManagerPolicy': 'static', 'authorization': {'mode': 'AlwaysAllow'},
                          'clusterDNS': ['10.96.0.11'], 'memorySwap': None, 'featureGates': {'A': True}})
    assert list(merged)[:len(base) - 1] == [k for k in base if k != 'memorySwap']
    assert list(merged)[-2:] == ['cpuManagerPolicy', 'featureGates']
    assert merged['authorization'] == {'mode': 'AlwaysAllow', 'webhook': base['authorization']['webhook']}
    assert merged['clusterDNS'] == ['10.96.0.11']
    assert 'memorySwap' not in merged
    assert 'memorySwap' in base  # the base is not modified
    assert merge(base, {}) == base


def test_dump_keeps_order_and_values_but_drops_comments_and_quoting():
    text = fixture('hand-edited-static.yaml')
    data = load_config(text, 'c.yaml')
    out = dump_config(data)
    assert yaml.safe_load(out) == data  # nothing but formatting is lost
    assert '#' not in out  # comments (whole-line and trailing) are gone
    assert out.splitlines()[:3] == ['apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration',
                                    'cgroupDriver: systemd']
    assert 'containerRuntimeEndpoint: ""' in out
    # Quotes that were not needed go: "0-1,16-17" is a plain string.
    assert 'reservedSystemCPUs: 0-1,16-17' in out
    # kubeadm's own file (Go's encoder: no comments, double quotes only where needed) comes back byte for byte.
    kubeadm = fixture('kubeadm-1.29-config.yaml')
    assert dump_config(load_config(kubeadm, 'c.yaml')) == kubeadm
    assert dump_config({'a': '0', 'b': 'it\'s', 'c': True, 'd': 'true'}) == 'a: "0"\nb: it\'s\nc: true\nd: "true"\n'


def test_overlay_is_how_kubelet_merges_dropins():
    base = {'evictionHard': {'memory.available': '100Mi', 'nodefs.available': '10%'}, 'clusterDNS': ['a', 'b']}
    assert overlay(base, {'evictionHard': {'memory.available': '200Mi'}, 'clusterDNS': ['c']}) == \
        {'evictionHard': {'memory.available': '200Mi', 'nodefs.available': '10%'}, 'clusterDNS': ['c']}
    assert overridden_keys({'kind': 'K', 'cpuManagerPolicy': 'static', 'evictionHard': {'memory.available': '1Gi'}},
                           {'kind': 'K', 'cpuManagerPolicy': 'none', 'evictionHard': {'memory.available': '2Gi'}}) == \
        ['cpuManagerPolicy', 'evictionHard.memory.available']


def test_reserved_cpus_given_as_a_number_become_a_string():
    assert normalize_settings({'reservedSystemCPUs': 0}) == {'reservedSystemCPUs': '0'}


# ---------------------------------------------------------------- validation on server2s (CPUs 0-31, isolated 2-15,18-31)

@pytest.fixture(scope='module')
def host(host_root):
    host = Host(host_root('server2s'))
    return host


ISOLATED = list(range(2, 16)) + list(range(18, 32))
GOOD = {
    'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '0-1,16-17', 'memoryManagerPolicy': 'Static',
    'topologyManagerPolicy': 'single-numa-node', 'topologyManagerScope': 'pod',
    'systemReserved': {'memory': '1Gi'}, 'kubeReserved': {'memory': '924Mi'},
    'evictionHard': {'memory.available': '100Mi'},
    'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1Gi'}}, {'numaNode': 1, 'limits': {'memory': '1Gi'}}],
}


def check(host, settings, version=(1, 29, 3), isolated=None):
    return validate(merge({'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'kind': 'KubeletConfiguration'}, settings),
                    host.cpus(), host.numa(), ISOLATED if isolated is None else isolated, version)


def test_a_dpdk_node_configuration_is_valid(host):
    assert check(host, GOOD) == ([], [])


def test_static_cpu_policy_needs_reserved_cpus(host):
    problems, _notes = check(host, {'cpuManagerPolicy': 'static'})
    assert problems == ['cpuManagerPolicy static needs reserved CPUs: set reservedSystemCPUs (or a cpu quantity in '
                        'kubeReserved or systemReserved)']
    assert check(host, {'cpuManagerPolicy': 'static', 'kubeReserved': {'cpu': '500m'}})[0] == []
    assert check(host, {'cpuManagerPolicy': 'static', 'systemReserved': {'cpu': '0'}})[0] == problems
    assert check(host, {'cpuManagerPolicy': 'Static'})[0] == ["cpuManagerPolicy 'Static' is not one of none, static"]


def test_reserved_cpus_exist_and_do_not_overlap_isolated(host):
    problems, _notes = check(host, {'reservedSystemCPUs': '0-3,40-41'})
    assert problems == [
        'reservedSystemCPUs 0-3,40-41: CPUs 40-41 do not exist on this host (online: 0-31)',
        'reservedSystemCPUs 0-3,40-41 overlaps the isolated CPUs 2-15,18-31 on 2-3: reserved CPUs run the system and '
        'kubelet, isolated CPUs are for DPDK poll-mode threads']
    assert check(host, {'reservedSystemCPUs': '0-1'}, isolated=[1, 64])[0] == [
        'isolated CPUs 1,64: CPUs 64 do not exist on this host (online: 0-31)',
        'reservedSystemCPUs 0-1 overlaps the isolated CPUs 1,64 on 1: reserved CPUs run the system and kubelet, '
        'isolated CPUs are for DPDK poll-mode threads']
    assert check(host, {'reservedSystemCPUs': '0-31'}, isolated=[])[0] == [
        'reservedSystemCPUs 0-31 takes every online CPU: none is left for pods']
    assert check(host, {'reservedSystemCPUs': '3-1'})[0] == ["reservedSystemCPUs: descending range '3-1' in cpulist '3-1'"]


def test_reserved_memory_must_sum_to_what_node_allocatable_reserves(host):
    settings = dict(GOOD, kubeReserved={'memory': '1Gi'})
    assert check(host, settings)[0] == [
        'reservedMemory memory sums to 2Gi, but kubeReserved + systemReserved + evictionHard memory.available = '
        '2148Mi (1Gi + 1Gi + 100Mi): kubelet refuses to start unless they are equal']
    # Decimal and binary units mix: 100M is not 100Mi.
    assert check(host, dict(GOOD, evictionHard={'memory.available': '100M'}))[0] == [
        'reservedMemory memory sums to 2Gi, but kubeReserved + systemReserved + evictionHard memory.available = '
        '2142626048 (924Mi + 1Gi + 100M): kubelet refuses to start unless they are equal']
    # Without evictionHard kubelet's default memory.available<100Mi counts.
    no_eviction = dict(GOOD)
    del no_eviction['evictionHard']
    assert check(host, no_eviction)[0] == []
    # A set evictionHard without memory.available reserves nothing for eviction.
    assert check(host, dict(GOOD, evictionHard={'nodefs.available': '10%'}))[0] == [
        'reservedMemory memory sums to 2Gi, but kubeReserved + systemReserved + evictionHard memory.available = '
        '1948Mi (924Mi + 1Gi + 0): kubelet refuses to start unless they are equal']


def test_reserved_memory_nodes_entries_and_quantities(host):
    settings = dict(GOOD, kubeReserved={'memory': '1GB'}, evictionHard={'memory.available': '5%'},
                    reservedMemory=[{'numaNode': 0, 'limits': {'memory': '1Gi', 'hugepages-1Gi': '1Gi'}},
                                    {'numaNode': 2, 'limits': {'memory': '1Gi'}},
                                    {'numaNode': 0, 'limits': {'memory': '0'}},
                                    {'limits': {'memory': '1Gi'}}])
    assert check(host, settings)[0] == [
        'reservedMemory node 0 hugepages-1Gi is 1Gi: kubelet accepts only 0 for hugepages (keep the system\'s '
        'hugepages out of the pools instead)',
        'reservedMemory: NUMA node 2 does not exist on this host (nodes: 0, 1)',
        'reservedMemory: NUMA node 0 is listed twice',
        'reservedMemory[3]: numaNode must be a NUMA node id',
        "kubeReserved memory: not a Kubernetes quantity: '1GB'",
        'evictionHard memory.available is a percentage (5%): give an absolute quantity (e.g. 100Mi) so reservedMemory '
        'can be checked against it']


def test_static_memory_policy_needs_reserved_memory_and_exact_case(host):
    assert check(host, {'memoryManagerPolicy': 'Static'})[0] == [
        'memoryManagerPolicy Static needs reservedMemory (memory reserved per NUMA node)']
    assert check(host, {'memoryManagerPolicy': 'static'})[0] == [
        "memoryManagerPolicy 'static' is not one of None, Static (case matters)"]


def test_topology_manager_values(host):
    assert check(host, {'topologyManagerPolicy': 'numa', 'topologyManagerScope': 'node'})[0] == [
        "topologyManagerPolicy 'numa' is not one of none, best-effort, restricted, single-numa-node",
        "topologyManagerScope 'node' is not one of container, pod"]
    for policy in ('none', 'best-effort', 'restricted', 'single-numa-node'):
        assert check(host, {'topologyManagerPolicy': policy, 'topologyManagerScope': 'container'})[0] == []


def test_version_rules(host):
    assert check(host, GOOD, version=(1, 20, 0))[0] == [
        'memoryManagerPolicy needs kubelet 1.21 or later: kubelet 1.20 does not know the field and silently runs '
        'without it (lenient decoding); remove it or upgrade kubelet',
        'reservedMemory needs kubelet 1.21 or later: kubelet 1.20 does not know the field and silently runs '
        'without it (lenient decoding); remove it or upgrade kubelet']
    assert check(host, GOOD, version=(1, 21, 0))[0] == [
        'memoryManagerPolicy Static needs the MemoryManager feature gate in kubelet 1.21 (alpha in 1.21: set '
        'featureGates MemoryManager: true)']
    assert check(host, dict(GOOD, featureGates={'MemoryManager': True}), version=(1, 21, 0))[0] == []
    assert check(host, dict(GOOD, featureGates={'MemoryManager': False}), version=(1, 25, 0))[0] == [
        'memoryManagerPolicy Static needs the MemoryManager feature gate in kubelet 1.25 (alpha in 1.21: set '
        'featureGates MemoryManager: true)']
    assert check(host, dict(GOOD, featureGates={'MemoryManager': False}), version=(1, 32, 0))[0] == [
        'featureGates MemoryManager is GA and locked to true since 1.32: kubelet 1.32 refuses MemoryManager=false']
    assert check(host, {'topologyManagerPolicy': 'restricted'}, version=(1, 17, 0))[0] == [
        'topologyManagerPolicy restricted needs the TopologyManager feature gate in kubelet 1.17']
    assert check(host, {'topologyManagerPolicy': 'restricted', 'featureGates': {'TopologyManager': True}},
                 version=(1, 29, 0))[0] == [
        'featureGates TopologyManager was removed after Kubernetes 1.28: kubelet 1.29 refuses to start with it; '
        'remove it from featureGates']
    assert check(host, GOOD, version=None) == ([], ['kubelet version unknown: feature gates and version rules not '
                                                    'checked'])


# ---------------------------------------------------------------- what a change needs

def test_state_reset_when_a_manager_policy_changes():
    none = {}
    static = {'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '0-1', 'memoryManagerPolicy': 'Static',
              'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1Gi'}}]}
    reasons = state_reset_reasons(none, static)
    assert reasons == ['cpuManagerPolicy none -> static', 'memoryManagerPolicy None -> Static']
    assert state_files(reasons) == ['cpu_manager_state', 'memory_manager_state']
    # Spelling out the defaults is no change of policy.
    assert state_reset_reasons(none, {'cpuManagerPolicy': 'none', 'memoryManagerPolicy': 'None'}) == []
    assert state_reset_reasons(static, dict(static, reservedSystemCPUs='0-1,16-17')) == [
        'reservedSystemCPUs changed under the static CPU manager policy']
    assert state_files(['reservedMemory changed under the Static memory manager policy']) == ['memory_manager_state']
    assert state_reset_reasons(static, dict(static, topologyManagerPolicy='restricted')) == []
