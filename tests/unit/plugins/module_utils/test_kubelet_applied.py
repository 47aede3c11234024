# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a running kubelet applied (/configz) against what it was given, with the likely cause of each difference.

The running side is the /configz captured from an EKS kubelet v1.30.2 started with --cpu-manager-policy=static
--topology-manager-policy=single-numa-node (tests/fixtures/kubelet/README.md), and the kubelet 1.20.2 of the testbed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    explain_differences,
    field_flag,
    parse_configz,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'kubelet')
EKS_FLAGS = {'cpu-manager-policy': 'static', 'topology-manager-policy': 'single-numa-node',
             'kubeconfig': '/var/lib/kubelet/kubeconfig', 'config': '/etc/kubernetes/kubelet/config.json'}
# The testbed's kubelet (tests/vm/playbooks/k8s_node.yml) with a systemd drop-in adding --max-pods=30.
TESTBED_FLAGS = {'config': '/var/lib/kubelet/config.yaml', 'kubeconfig': '/etc/kubernetes/kubelet.conf',
                 'container-runtime': 'remote', 'hostname-override': 'k8s-node-1', 'max-pods': '30'}


@pytest.fixture(scope='module')
def eks():
    with open(os.path.join(FIXTURES, 'configz-1.30.2-eks.json')) as handle:
        return parse_configz(handle.read())


@pytest.mark.parametrize('field, flag', [
    ('cpuManagerPolicy', 'cpu-manager-policy'),
    ('maxPods', 'max-pods'),
    ('topologyManagerScope', 'topology-manager-scope'),
    ('reservedSystemCPUs', 'reserved-cpus'),
    ('featureGates', 'feature-gates'),
    ('clusterDNS', 'cluster-dns'),
    ('evictionHard', 'eviction-hard'),
    ('staticPodPath', 'pod-manifest-path'),
    ('cpuCFSQuotaPeriod', 'cpu-cfs-quota-period'),
])
def test_field_flags(field, flag):
    assert field_flag(field) == flag


def test_nothing_to_explain_when_the_kubelet_runs_the_settings(eks):
    assert explain_differences({'cpuManagerPolicy': 'static', 'maxPods': 737, 'kubeReserved': {'cpu': '0.55'},
                                'featureGates': {'RotateKubeletServerCertificate': True}, 'memorySwap': None},
                               eks, EKS_FLAGS, None, (1, 30, 2)) == []


def test_a_flag_overrides_the_file(eks):
    """Asked for the none policy in the file; the node's --cpu-manager-policy=static wins (a restart will not help)."""
    found = explain_differences({'cpuManagerPolicy': 'none', 'topologyManagerScope': 'pod'}, eks, EKS_FLAGS,
                                None, (1, 30, 2))
    assert [(d['setting'], d['asked'], d['running'], d['flag']) for d in found] == [
        ('cpuManagerPolicy', 'none', 'static', '--cpu-manager-policy=static'),
        ('topologyManagerScope', 'pod', 'container', None)]
    assert found[0]['line'] == (
        'cpuManagerPolicy: set to "none", kubelet runs with "static" (the flag --cpu-manager-policy=static on '
        'kubelet\'s command line overrides the config file (flags win over the file and its drop-ins): remove it '
        'from the kubelet unit, its systemd drop-ins or the flag files (KUBELET_EXTRA_ARGS, kubeadm-flags.env))')
    # No flag and no --config-dir: the file changed since the start, or kubelet changed it.
    assert found[1]['cause'] == ('not a flag and no --config-dir: the file changed after kubelet started, or kubelet '
                                 'changed the value')


def test_a_drop_in_directory_is_named(eks):
    found = explain_differences({'maxPods': 110}, eks, EKS_FLAGS, '/etc/kubernetes/kubelet.conf.d', (1, 30, 2))
    assert found[0]['line'] == (
        'maxPods: set to 110, kubelet runs with 737 (not a flag: a drop-in in /etc/kubernetes/kubelet.conf.d sets it '
        '(kubelet merges the *.conf drop-ins over its file in name order, the last one wins), or the file changed '
        'after kubelet started)')
    assert found[0]['flag'] is None


def test_a_field_the_kubelet_does_not_know():
    """kubelet 1.20.2 on the testbed: memoryManagerPolicy written to its file is not in /configz (seen there)."""
    running = {'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '0', 'maxPods': 110}
    found = explain_differences({'memoryManagerPolicy': 'Static', 'reservedSystemCPUs': '0'}, running,
                                TESTBED_FLAGS, None, (1, 20, 2))
    assert found == [{
        'setting': 'memoryManagerPolicy', 'asked': 'Static', 'running': None, 'absent': True, 'flag': None,
        'cause': 'kubelet 1.20 runs without it: a kubelet older than the field drops it when decoding its file '
                 '(memoryManagerPolicy needs 1.21) (/configz also leaves out empty values)',
        'summary': 'memoryManagerPolicy: set to "Static", absent from /configz',
        'line': 'memoryManagerPolicy: set to "Static", absent from /configz (kubelet 1.20 runs without it: a kubelet '
                'older than the field drops it when decoding its file (memoryManagerPolicy needs 1.21) (/configz also '
                'leaves out empty values))'}]


def test_the_testbed_drop_in_flag_and_feature_gates():
    running = {'maxPods': 30, 'featureGates': {'SizeMemoryBackedVolumes': False, 'CPUManager': True}}
    flags = dict(TESTBED_FLAGS, **{'feature-gates': 'SizeMemoryBackedVolumes=false'})
    found = explain_differences({'maxPods': 50, 'featureGates': {'SizeMemoryBackedVolumes': True,
                                                                 'CPUManager': False}},
                                running, flags, None, (1, 20, 2))
    assert [(d['setting'], d['flag']) for d in found] == [
        ('featureGates.CPUManager', None),  # not among the gates the flag sets
        ('featureGates.SizeMemoryBackedVolumes', '--feature-gates=SizeMemoryBackedVolumes=false'),
        ('maxPods', '--max-pods=30')]
    assert found[2]['line'].startswith('maxPods: set to 50, kubelet runs with 30 (the flag --max-pods=30 ')


def test_reserved_cpus_flag_and_cpu_lists(eks):
    running = {'reservedSystemCPUs': '0,1'}
    assert explain_differences({'reservedSystemCPUs': '0-1'}, running, {'reserved-cpus': '0,1'}) == []
    found = explain_differences({'reservedSystemCPUs': '0-3'}, running, {'reserved-cpus': '0,1'})
    assert found[0]['flag'] == '--reserved-cpus=0,1'
