# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet_config module as Ansible runs it, in check mode on server2s (CPUs 0-31, isolated 2-15,18-31)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from unittest import mock

import pytest
import yaml

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.modules import kubelet_config

import synthhost

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'kubelet')
CONFIG = 'var/lib/kubelet/config.yaml'
DROPINS = 'etc/kubernetes/kubelet.conf.d'
DPDK = {
    'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '0-1,16-17', 'memoryManagerPolicy': 'Static',
    'topologyManagerPolicy': 'single-numa-node', 'systemReserved': {'memory': '1Gi'},
    'kubeReserved': {'memory': '924Mi'}, 'evictionHard': {'memory.available': '100Mi'},
    'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '1Gi'}}, {'numaNode': 1, 'limits': {'memory': '1Gi'}}],
}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def make_root(tmp_path, files):
    builder = synthhost.server2s()
    for rel, text in files.items():
        builder.file(rel, text)
    return builder.write(str(tmp_path))


@pytest.fixture
def run(run_module):
    """run(args, check_mode=True, diff=True) -> (exit code, result with the module's warnings as given)."""

    def call(args, check_mode=True, diff=True):
        # How warnings reach the result depends on what else the test process imported (controller code sends
        # them to the display): record them as the module gives them.
        warnings = []
        original = AnsibleModule.warn

        def warn(self, warning):
            warnings.append(warning)
            original(self, warning)

        with mock.patch.object(AnsibleModule, 'warn', warn):
            code, result = run_module(kubelet_config, dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff))
        result['warnings'] = warnings
        return code, result

    return call


def read(root, rel):
    with open(os.path.join(root, rel)) as handle:
        return handle.read()


def test_check_mode_merges_into_the_kubeadm_file_with_a_yaml_diff(run, tmp_path):
    original = fixture('kubeadm-1.29-config.yaml')
    root = make_root(tmp_path, {CONFIG: original})
    code, result = run({'root': root, 'version': 'Kubernetes v1.29.3', 'settings': DPDK})
    assert code == 0, result
    assert result['changed'] is True
    assert result['restart_required'] is True
    assert result['state_reset_required'] is True
    assert result['state_reset_reasons'] == ['cpuManagerPolicy none -> static', 'memoryManagerPolicy None -> Static']
    assert result['state_files'] == ['cpu_manager_state', 'memory_manager_state']
    assert result['path'] == '/var/lib/kubelet/config.yaml'
    assert result['version'] == '1.29.3'
    assert result['diff']['before'] == original
    # kubeadm's file comes back byte for byte, our keys are appended.
    assert result['diff']['after'].startswith(original)
    after = yaml.safe_load(result['diff']['after'])
    before = yaml.safe_load(original)
    # Everything kubeadm wrote is kept, in its order; ours comes after.
    assert list(after)[:len(before)] == list(before)
    assert dict((k, after[k]) for k in before) == before
    assert dict((k, after[k]) for k in DPDK) == DPDK
    assert result['config'] == after
    assert 'backup' not in result
    assert read(root, CONFIG) == original  # check mode wrote nothing


def test_settings_already_there_change_nothing(run, tmp_path):
    original = fixture('hand-edited-static.yaml')
    root = make_root(tmp_path, {CONFIG: original})
    code, result = run({'root': root, 'version': '1.29.3', 'settings': DPDK})
    assert (code, result['changed'], result['restart_required'], result['state_reset_required']) == \
        (0, False, False, False)
    # Not rewritten, so the comments stay.
    assert result['diff']['before'] == result['diff']['after'] == original


def test_comments_are_lost_when_the_file_changes(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('hand-edited-static.yaml')})
    code, result = run({'root': root, 'version': '1.29.3',
                        'settings': {'topologyManagerPolicy': 'restricted'}})
    assert (code, result['changed'], result['state_reset_required']) == (0, True, False)
    assert '# housekeeping cores' in result['diff']['before']
    assert '#' not in result['diff']['after']
    assert 'topologyManagerPolicy: restricted' in result['diff']['after'].splitlines()


def test_policy_change_back_to_none_resets_state(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('hand-edited-static.yaml')})
    code, result = run({'root': root, 'version': '1.29.3', 'settings': {
        'cpuManagerPolicy': 'none', 'memoryManagerPolicy': None, 'reservedMemory': None}})
    assert code == 0, result
    assert result['state_reset_reasons'] == ['cpuManagerPolicy static -> none', 'memoryManagerPolicy Static -> None']
    assert 'reservedMemory' not in result['config'] and 'memoryManagerPolicy' not in result['config']


def test_a_missing_file_is_created(run, tmp_path):
    root = make_root(tmp_path, {})
    code, result = run({'root': root, 'version': '1.29.3',
                        'settings': {'topologyManagerPolicy': 'best-effort'}})
    assert (code, result['changed']) == (0, True)
    assert result['diff']['before'] == ''
    assert result['diff']['after'] == ('apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n'
                                       'topologyManagerPolicy: best-effort\n')


@pytest.mark.parametrize('name, msg', [
    ('broken.yaml.txt', '/var/lib/kubelet/config.yaml is not valid YAML, left untouched: line 4, column 19: '
                        'mapping values are not allowed here'),
    ('kube-proxy.yaml', "/var/lib/kubelet/config.yaml is not a KubeletConfiguration (kind 'KubeProxyConfiguration', "
                        "apiVersion 'kubeproxy.config.k8s.io/v1alpha1'; expected kind KubeletConfiguration, apiVersion "
                        "kubelet.config.k8s.io/v1beta1), left untouched"),
])
def test_a_file_that_is_not_a_kubelet_configuration_is_left_untouched(run, tmp_path, name, msg):
    root = make_root(tmp_path, {CONFIG: fixture(name)})
    code, result = run({'root': root, 'version': '1.29.3', 'settings': DPDK})
    assert code == 1
    assert result['msg'] == msg
    assert read(root, CONFIG) == fixture(name)


def test_every_problem_is_listed_before_anything_is_written(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    settings = dict(DPDK, reservedSystemCPUs='0-2', kubeReserved={'memory': '1Gi'},
                    featureGates={'HugePageStorageMediumSize': True})
    code, result = run({'root': root, 'version': 'v1.29.3', 'settings': settings})
    assert code == 1
    assert result['msg'].startswith('invalid kubelet configuration, nothing changed: ')
    assert result['problems'] == [
        'reservedSystemCPUs 0-2 overlaps the isolated CPUs 2-15,18-31 on 2: reserved CPUs run the system and kubelet, '
        'isolated CPUs are for DPDK poll-mode threads',
        'reservedMemory memory sums to 2Gi, but kubeReserved + systemReserved + evictionHard memory.available = 2148Mi '
        '(1Gi + 1Gi + 100Mi): kubelet refuses to start unless they are equal',
        'featureGates HugePageStorageMediumSize was removed after Kubernetes 1.24: kubelet 1.29 refuses to start with '
        'it; remove it from featureGates']


def test_a_removed_gate_already_in_the_file_is_found_and_can_be_removed(run, tmp_path):
    text = fixture('kubeadm-1.29-config.yaml') + 'featureGates:\n  HugePageStorageMediumSize: true\n'
    root = make_root(tmp_path, {CONFIG: text})
    code, result = run({'root': root, 'version': '1.29.3', 'settings': {}})
    assert code == 1
    assert result['problems'][0].startswith('featureGates HugePageStorageMediumSize was removed after Kubernetes 1.24')
    code, result = run({'root': root, 'version': '1.29.3',
                        'settings': {'featureGates': {'HugePageStorageMediumSize': None}}})
    assert (code, result['changed']) == (0, True)
    assert result['config']['featureGates'] == {}


def test_isolated_cpus_parameter_replaces_the_kernels(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    settings = {'cpuManagerPolicy': 'static', 'reservedSystemCPUs': '2-3'}
    code, result = run({'root': root, 'version': '1.29.3', 'settings': settings})
    assert code == 1
    code, result = run({'root': root, 'version': '1.29.3', 'settings': settings,
                        'isolated_cpus': '4-15,20-31'})
    assert code == 0, result
    code, result = run({'root': root, 'version': '1.29.3', 'settings': settings, 'isolated_cpus': 'x'})
    assert result['problems'] == ["isolated_cpus: bad element 'x' in cpulist 'x'"]


def test_unknown_version_skips_version_rules_with_a_warning(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    code, result = run({'root': root, 'settings': {'featureGates': {'HugePages': True}}})
    assert code == 0, result
    assert result['warnings'] == ['kubelet version unknown: feature gates and version rules not checked']
    code, result = run({'root': root, 'version': 'none', 'settings': {}})
    assert (code, result['problems']) == (1, ["not a Kubernetes version: 'none'"])


def test_settings_cannot_change_the_kind(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    code, result = run({'root': root, 'settings': {'kind': 'KubeProxyConfiguration'}})
    assert (code, result['problems']) == (1, ['settings kind must be KubeletConfiguration (or left out)'])


def test_another_root_than_slash_only_in_check_mode(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    code, result = run({'root': root, 'settings': {}}, check_mode=False)
    assert (code, result['msg']) == (1, 'root=%s is for tests in check mode only: writes and commands would reach '
                                        'this host' % root)


def test_without_pyyaml_the_message_says_what_to_install(run, tmp_path, monkeypatch):
    monkeypatch.setattr(kubelet_config, 'HAS_YAML', False)
    code, result = run({'root': str(tmp_path), 'settings': {}})
    assert code == 1
    assert 'PyYAML' in result['msg'] and 'install python3-yaml' in result['msg']


# ---------------------------------------------------------------- drop-in mode

def test_dropin_holds_exactly_the_settings_and_leaves_kubeadms_file_alone(run, tmp_path):
    original = fixture('kubeadm-1.29-config.yaml')
    root = make_root(tmp_path, {CONFIG: original, DROPINS + '/10-cluster.conf':
                                'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n'
                                'evictionHard:\n  memory.available: 100Mi\n  nodefs.available: 10%\n'})
    settings = dict(DPDK, evictionHard=None, memoryManagerPolicy=None, reservedMemory=None)
    code, result = run({'root': root, 'mode': 'dropin', 'version': '1.31.2', 'settings': settings})
    assert code == 0, result
    assert result['path'] == '/etc/kubernetes/kubelet.conf.d/90-dataplane-node.conf'
    assert result['diff']['before'] == ''
    assert result['diff']['after'] == (
        '# Managed by dataplane.node (kubelet_config): edits here are overwritten at the next run.\n'
        'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncpuManagerPolicy: static\n'
        "reservedSystemCPUs: 0-1,16-17\ntopologyManagerPolicy: single-numa-node\n"
        'systemReserved:\n  memory: 1Gi\nkubeReserved:\n  memory: 924Mi\n')
    # The effective configuration: kubeadm's file, then 10-cluster.conf, then ours.
    assert result['config']['evictionHard'] == {'memory.available': '100Mi', 'nodefs.available': '10%'}
    assert result['config']['staticPodPath'] == '/etc/kubernetes/manifests'
    assert result['config']['cpuManagerPolicy'] == 'static'
    assert result['state_reset_reasons'] == ['cpuManagerPolicy none -> static']
    assert result['warnings'] == []
    assert read(root, CONFIG) == original


def test_dropin_is_idempotent(run, tmp_path):
    text = ('# Managed by dataplane.node (kubelet_config): edits here are overwritten at the next run.\n'
            'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ntopologyManagerPolicy: restricted\n')
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml'),
                                DROPINS + '/90-dataplane-node.conf': text})
    code, result = run({'root': root, 'mode': 'dropin', 'version': '1.30.0',
                        'settings': {'topologyManagerPolicy': 'restricted'}})
    assert (code, result['changed'], result['restart_required']) == (0, False, False)


def test_dropin_validates_the_merged_result(run, tmp_path):
    # Drop-ins carry memoryManagerPolicy; the reservations come from kubeadm's file: their sum is checked together.
    kubeadm = fixture('kubeadm-1.29-config.yaml') + 'systemReserved:\n  memory: 2Gi\n'
    root = make_root(tmp_path, {CONFIG: kubeadm})
    settings = {'memoryManagerPolicy': 'Static', 'reservedMemory': DPDK['reservedMemory']}
    code, result = run({'root': root, 'mode': 'dropin', 'version': '1.31.0', 'settings': settings})
    assert result['problems'] == [
        'reservedMemory memory sums to 2Gi, but kubeReserved + systemReserved + evictionHard memory.available = 2148Mi '
        '(0 + 2Gi + 100Mi): kubelet refuses to start unless they are equal']


def test_a_later_dropin_overriding_ours_is_refused(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml'), DROPINS + '/99-site.conf':
                                'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n'
                                'topologyManagerPolicy: none\n'})
    code, result = run({'root': root, 'mode': 'dropin', 'version': '1.31.0',
                        'settings': {'topologyManagerPolicy': 'restricted'}})
    assert result['problems'] == [
        '/etc/kubernetes/kubelet.conf.d/99-site.conf overrides topologyManagerPolicy set by 90-dataplane-node.conf '
        '(drop-ins are merged in name order): rename one of them']


def test_dropin_needs_kubelet_128_and_warns_about_the_alpha(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml')})
    args = {'root': root, 'mode': 'dropin', 'settings': {'topologyManagerPolicy': 'restricted'}}
    code, result = run(dict(args, version='1.27.4'))
    assert result['problems'] == ['mode dropin needs kubelet 1.28 or later (--config-dir); kubelet 1.27 has no drop-in '
                                  'directory: use mode file']
    code, result = run(args)
    assert result['problems'] == ['mode dropin needs the kubelet version (--config-dir exists from 1.28)']
    code, result = run(dict(args, version='1.29.0'))
    assert code == 0
    assert result['warnings'] == ['kubelet 1.29: --config-dir is alpha and needs the environment variable '
                                  'KUBELET_CONFIG_DROPIN_DIR_ALPHA set for kubelet']
    code, result = run(dict(args, version='1.30.0', dropin_name='dataplane.yaml'))
    assert result['problems'] == ["dropin_name 'dataplane.yaml' must be a file name ending in .conf (kubelet reads "
                                  "only *.conf)"]


def test_a_broken_foreign_dropin_is_reported(run, tmp_path):
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.29-config.yaml'),
                                DROPINS + '/20-broken.conf': 'cpuManagerPolicy: none\n'})
    code, result = run({'root': root, 'mode': 'dropin', 'version': '1.31.0', 'settings': {}})
    assert result['problems'] == [
        "/etc/kubernetes/kubelet.conf.d/20-broken.conf is not a KubeletConfiguration (kind None, apiVersion None; "
        "expected kind KubeletConfiguration, apiVersion kubelet.config.k8s.io/v1beta1), left untouched (kubelet fails "
        "on it too)"]


# ---------------------------------------------------------------- on files captured from newer kubelets (fixtures README)

def test_check_mode_on_kubeadm_1_32_keeps_kubeadms_file_byte_for_byte(run, tmp_path):
    original = fixture('kubeadm-1.32.13-config.yaml')
    root = make_root(tmp_path, {CONFIG: original})
    code, result = run({'root': root, 'version': 'Kubernetes v1.32.13', 'settings': DPDK})
    assert code == 0, result
    assert (result['changed'], result['version'], result['warnings']) == (True, '1.32.13', [])
    assert result['diff']['after'].startswith(original)
    assert yaml.safe_load(result['diff']['after'])['crashLoopBackOff'] == {}
    assert result['state_files'] == ['cpu_manager_state', 'memory_manager_state']
    # The second run sees the merged file: nothing to do.
    root2 = make_root(tmp_path / 'again', {CONFIG: result['diff']['after']})
    code, result = run({'root': root2, 'version': 'Kubernetes v1.32.13', 'settings': DPDK})
    assert (code, result['changed'], result['state_reset_required']) == (0, False, False)


def test_dropin_next_to_kubeadm_1_32_is_beta_and_needs_no_environment(run, tmp_path):
    original = fixture('kubeadm-1.32.13-config.yaml')
    root = make_root(tmp_path, {CONFIG: original})
    settings = {'topologyManagerPolicy': 'single-numa-node', 'topologyManagerScope': 'pod'}
    code, result = run({'root': root, 'mode': 'dropin', 'version': 'v1.32.13', 'settings': settings})
    assert code == 0, result
    assert result['warnings'] == []
    assert result['config']['crashLoopBackOff'] == {} and result['config']['topologyManagerScope'] == 'pod'
    assert read(root, CONFIG) == original
    # The same drop-in for a 1.29 kubelet: alpha, kubelet needs KUBELET_CONFIG_DROPIN_DIR_ALPHA.
    code, result = run({'root': root, 'mode': 'dropin', 'version': 'v1.29.3', 'settings': settings})
    assert result['warnings'] == ['kubelet 1.29: --config-dir is alpha and needs the environment variable '
                                  'KUBELET_CONFIG_DROPIN_DIR_ALPHA set for kubelet']


def test_published_memory_manager_layout_through_the_module(run, tmp_path):
    # The layout from the memory manager notes (kubelet 1.22) merged into kubeadm 1.32's file, on a 2-node host.
    root = make_root(tmp_path, {CONFIG: fixture('kubeadm-1.32.13-config.yaml')})
    settings = yaml.safe_load(fixture('memory-manager-static-1.22.yaml'))
    code, result = run({'root': root, 'version': '1.32.13', 'settings': settings})
    assert code == 0, result
    assert result['state_reset_reasons'] == ['cpuManagerPolicy none -> static', 'memoryManagerPolicy None -> Static']
    # The attempt kubelet refused (reservedMemory 16548Mi against 16Gi + the default 100Mi) is refused here first.
    wrong = {'memoryManagerPolicy': 'Static', 'kubeReserved': {'memory': '16Gi'},
             'reservedMemory': [{'numaNode': 0, 'limits': {'memory': '16548Mi'}}]}
    code, result = run({'root': root, 'version': '1.22.0', 'settings': wrong})
    assert code == 1
    assert result['problems'] == [
        'reservedMemory memory sums to 16548Mi, but kubeReserved + systemReserved + evictionHard memory.available = '
        '16484Mi (16Gi + 0 + 100Mi): kubelet refuses to start unless they are equal']
