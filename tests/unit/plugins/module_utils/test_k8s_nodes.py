# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight, Kubernetes side: which (kubeconfig, Node) pairs a host uses, and the problems from the API servers'
answers (the answers themselves come from a real kube-apiserver in tests/integration/test_site_k8s_nodes.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils import _k8s_nodes as kn

ADMIN = '/etc/k8s/admin.conf'


def test_no_kubeconfig_no_check():
    assert kn.node_checks('w1', {}) == []
    assert kn.node_checks('w1', {'reboot_kubeconfig': None, 'kubelet_kubeconfig': '', 'reboot_kubernetes_node': 'x'}) == []


def test_node_name_defaults_to_the_inventory_name():
    assert kn.node_checks('w1', {'reboot_kubeconfig': ADMIN}) == [
        {'kubeconfig': ADMIN, 'node': 'w1', 'variables': ['reboot_kubeconfig'], 'node_variables': ['reboot_kubernetes_node']}]


def test_one_check_when_both_roles_name_the_same_pair():
    checks = kn.node_checks('w1', {'reboot_kubeconfig': ADMIN, 'kubelet_kubeconfig': ADMIN})
    assert checks == [{'kubeconfig': ADMIN, 'node': 'w1', 'variables': ['reboot_kubeconfig', 'kubelet_kubeconfig'],
                       'node_variables': ['reboot_kubernetes_node', 'kubelet_kubernetes_node']}]


def test_two_checks_when_the_roles_name_different_nodes_or_servers():
    checks = kn.node_checks('w1', {'reboot_kubeconfig': ADMIN, 'kubelet_kubeconfig': ADMIN,
                                   'kubelet_kubernetes_node': 'w1.example.com'})
    assert [(c['node'], c['variables']) for c in checks] == [
        ('w1', ['reboot_kubeconfig']), ('w1.example.com', ['kubelet_kubeconfig'])]
    checks = kn.node_checks('w1', {'reboot_kubeconfig': ADMIN, 'kubelet_kubeconfig': '/other.conf'})
    assert [c['kubeconfig'] for c in checks] == [ADMIN, '/other.conf']


def test_values_of_the_wrong_type_are_left_to_the_type_checks():
    assert kn.node_checks('w1', {'reboot_kubeconfig': ['a'], 'kubelet_kubeconfig': ADMIN,
                                 'kubelet_kubernetes_node': 7}) == []


def test_each_kubeconfig_is_asked_once():
    checks = dict((h, kn.node_checks(h, {'reboot_kubeconfig': ADMIN, 'kubelet_kubeconfig': ADMIN}))
                  for h in ('w1', 'w2', 'w3'))
    checks['w4'] = kn.node_checks('w4', {'kubelet_kubeconfig': '/b.conf'})
    assert kn.kubeconfigs(checks) == ['/b.conf', ADMIN]


def test_known_node_no_problem():
    checks = kn.node_checks('w1', {'reboot_kubeconfig': ADMIN})
    assert kn.node_problems(checks, {ADMIN: {'nodes': ['w0', 'w1']}}) == []


def test_unknown_node_names_variables_kubeconfig_node_and_what_to_set():
    checks = kn.node_checks('w9', {'reboot_kubeconfig': ADMIN, 'kubelet_kubeconfig': ADMIN})
    assert kn.node_problems(checks, {ADMIN: {'nodes': ['a1', 'b2']}}) == [
        "reboot_kubeconfig and kubelet_kubeconfig /etc/k8s/admin.conf: the API server has no Node 'w9' (it knows a1, "
        "b2); register the node first, or set reboot_kubernetes_node and kubelet_kubernetes_node to the name its "
        "kubelet registers (kubectl get nodes)"]


def test_near_names_are_suggested():
    # kubelet registers the lower-cased host name; inventories often hold the FQDN or the short name.
    assert kn.near_names('Worker-1.example.com', ['worker-1', 'worker-2']) == ['worker-1']
    assert kn.near_names('worker-1', ['worker-1.example.com', 'worker-10.example.com']) == ['worker-1.example.com']
    assert kn.near_names('wroker-1', ['worker-1', 'db']) == ['worker-1']
    assert kn.near_names('gpu7', ['worker-1', 'worker-2']) == []
    checks = kn.node_checks('Worker-1.example.com', {'kubelet_kubeconfig': ADMIN})
    assert '(did you mean worker-1?)' in kn.node_problems(checks, {ADMIN: {'nodes': ['worker-1', 'worker-2']}})[0]


def test_many_nodes_are_cut_short_and_an_empty_cluster_said():
    checks = kn.node_checks('x', {'kubelet_kubeconfig': ADMIN})
    names = ['n%02d' % i for i in range(12)]
    assert '(it knows n00, n01, n02, n03, n04 and 7 more)' in kn.node_problems(checks, {ADMIN: {'nodes': names}})[0]
    assert '(it knows no Node yet)' in kn.node_problems(checks, {ADMIN: {'nodes': []}})[0]


def test_an_api_server_error_is_the_problem_of_every_host_using_it():
    answers = {ADMIN: {'error': 'the API server did not answer: connection refused'}}
    for host in ('w1', 'w2'):
        assert kn.node_problems(kn.node_checks(host, {'reboot_kubeconfig': ADMIN}), answers) == [
            'reboot_kubeconfig /etc/k8s/admin.conf: the API server did not answer: connection refused']
    assert kn.node_problems(kn.node_checks('w1', {'reboot_kubeconfig': '/x'}), answers) == [
        'reboot_kubeconfig /x: the API server was not asked']


def test_plan_lines():
    assert kn.plan_lines({ADMIN: {'nodes': ['a', 'b']}, '/b': {'error': 'no such file on the controller'}}) == [
        'kubeconfig /b: no such file on the controller',
        'kubeconfig /etc/k8s/admin.conf: the API server knows 2 Node(s)']
