# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Node the API server does not know stops a host before any change: the site playbook's preflight and the reboot
role, through ansible-playbook, against a real kube-apiserver v1.20.2 with etcd on this machine's loopback
(tests/vm/k8s_control.py; binaries from tests/vm/k8s_build.py's cache, never built here). The hosts are this
machine over the local connection (the site runs in check mode; the reboot role's reboot refuses a local
connection, so nothing here can reboot this machine)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from playbook_json import run_playbook

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'vm'))

import k8s_build  # noqa: E402  pylint: disable=wrong-import-position
import k8s_control  # noqa: E402  pylint: disable=wrong-import-position

VALIDATE = "Validate every host's variables, plan NUMA locality, forecast reboots"
NODES = ('good1', 'good2', 'drained1')
HINT = 'register the node first, or set %s to the name its kubelet registers (kubectl get nodes)'

# good1: both roles, its inventory name is its Node; good2: another Node name; ghost: no Node; fqdn: the inventory
# holds the FQDN, kubelet registered the short name; down: its API server does not run; plain: no Kubernetes.
INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %%s
  hosts:
    good1: {reboot_kubeconfig: %(admin)s, kubelet_kubeconfig: %(admin)s}
    worker-2: {kubelet_kubeconfig: %(admin)s, kubelet_kubernetes_node: good2}
    ghost: {reboot_kubeconfig: %(admin)s, kubelet_kubeconfig: %(admin)s}
    good1.example.com: {kubelet_kubeconfig: %(admin)s}
    down: {reboot_kubeconfig: %(down)s}
    plain: {}
'''


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    """A running kube-apiserver with the Nodes of NODES, its admin kubeconfig and one of a stopped server."""
    build_dir = k8s_build.result_dir()
    if not k8s_build.binary('kube-apiserver', build_dir).exists():
        pytest.skip('kube-apiserver v1.20.2 is not built (make k8s builds and caches it; this test does not)')
    for tool in ('etcd', 'openssl'):
        if shutil.which(tool) is None:
            pytest.skip('%s is missing (make k8s installs it)' % tool)
    state = tmp_path_factory.mktemp('k8s')
    control = k8s_control.Cluster(str(state / 'control'), build_dir=str(build_dir))
    try:
        info = control.start('good1')
        for node in NODES:
            subprocess.run([info['kubectl'], '--kubeconfig', info['kubeconfig'], 'create', '-f', '-'], check=True,
                           input=json.dumps({'apiVersion': 'v1', 'kind': 'Node', 'metadata': {'name': node}}),
                           capture_output=True, text=True)
        # The same credentials for a server that does not run: nothing listens on port 1.
        down = state / 'down.kubeconfig'
        with open(info['kubeconfig']) as handle:
            down.write_text(handle.read().replace(info['server'], 'https://127.0.0.1:1'))
        # A user the API server knows (signed by its CA) but RBAC gives nothing: it may not list the Nodes.
        pki = info['pki']
        for args in (['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'nobody.key', '-out', 'nobody.csr',
                      '-subj', '/CN=nobody'],
                     ['x509', '-req', '-in', 'nobody.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
                      '-out', 'nobody.crt', '-days', '1']):
            subprocess.run(['openssl'] + args, cwd=pki, check=True, capture_output=True)
        nobody = state / 'nobody.kubeconfig'
        nobody.write_text(k8s_control.kubeconfig(info['server'], os.path.join(pki, 'ca.crt'),
                                                 os.path.join(pki, 'nobody.crt'), os.path.join(pki, 'nobody.key'),
                                                 'nobody'))
        yield dict(info, down=str(down), nobody=str(nobody))
    finally:
        control.stop()


def site(tmp_path, cluster, *args):
    inventory = INVENTORY % {'admin': cluster['kubeconfig'], 'down': cluster['down']}
    code, report, tail = run_playbook(tmp_path, inventory, 'dataplane.node.site', ('--check', '--tags', 'preflight') + args)
    ran = [(p['play']['name'], t['task']['name'], t['hosts']) for p in report['plays'] for t in p['tasks']]
    return code, ran, tail


def node(cluster, name):
    out = subprocess.run([cluster['kubectl'], '--kubeconfig', cluster['kubeconfig'], 'get', 'node', name, '-o', 'json'],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_unknown_nodes_and_a_dead_api_server_stop_the_run_at_the_preflight(tmp_path, cluster):
    code, ran, tail = site(tmp_path, cluster)
    assert code != 0, tail
    # Nothing after the preflight step runs, on any host, the valid ones included.
    assert ran[-1][1] == VALIDATE and all(play.startswith('Preflight') for play, _n, _h in ran), tail
    result = next(iter(ran[-1][2].values()))
    assert result['failed']
    assert result['invalid_hosts'] == ['down', 'ghost', 'good1.example.com']
    assert result['valid_hosts'] == ['good1', 'plain', 'worker-2']
    admin = cluster['kubeconfig']
    lines = result['msg'].splitlines()
    assert lines[0] == 'preflight: 3 of 6 host(s) have invalid variables; nothing was changed:'
    assert lines[1].startswith(
        '  down: reboot_kubeconfig %s: the API server did not answer: ' % cluster['down']) and 'refused' in lines[1]
    assert lines[2:] == [
        "  ghost: reboot_kubeconfig and kubelet_kubeconfig %s: the API server has no Node 'ghost' (it knows drained1, "
        "good1, good2); %s" % (admin, HINT % 'reboot_kubernetes_node and kubelet_kubernetes_node'),
        "  good1.example.com: kubelet_kubeconfig %s: the API server has no Node 'good1.example.com' (did you mean "
        "good1?); %s" % (admin, HINT % 'kubelet_kubernetes_node'),
    ]
    # One query per kubeconfig, whatever the number of hosts naming it.
    assert result['api_servers'][admin] == {'nodes': 3, 'error': None}
    assert result['api_servers'][cluster['down']]['nodes'] == 0
    assert 'kubeconfig %s: the API server knows 3 Node(s)' % admin in result['plan']


def test_partial_run_lets_the_hosts_with_known_nodes_go_on(tmp_path, cluster):
    code, ran, tail = site(tmp_path, cluster, '-e', 'dataplane_allow_partial=true')
    assert code == 2, tail  # failed hosts
    left_out = [hosts for _p, name, hosts in ran if name.startswith('Leave out')][0]
    assert sorted(h for h, r in left_out.items() if r.get('failed')) == ['down', 'ghost', 'good1.example.com']
    assert "the API server has no Node 'ghost'" in left_out['ghost']['msg']
    second = [hosts for play, _name, hosts in ran if play == 'Prepare DPDK nodes' and hosts]
    # A kubeconfig is given (a drain may happen): the default batch is one node, each task runs for one host.
    assert second and all(len(hosts) == 1 for hosts in second)
    assert set().union(*second) == {'good1', 'plain', 'worker-2'}


def test_the_check_can_be_turned_off_in_the_module(tmp_path, cluster):
    playbook = tmp_path / 'preflight.yml'
    playbook.write_text('''
- name: Preflight without the API servers
  hosts: all
  gather_facts: false
  tasks:
    - name: Validate
      dataplane.node.preflight:
        check_nodes: false
      run_once: true
''')
    inventory = INVENTORY % {'admin': cluster['kubeconfig'], 'down': cluster['down']}
    code, report, tail = run_playbook(tmp_path, inventory, str(playbook))
    assert code == 0, tail
    result = next(iter(report['plays'][0]['tasks'][0]['hosts'].values()))
    assert result['invalid_hosts'] == [] and result['api_servers'] == {}


def test_an_api_server_that_refuses_is_named(tmp_path, cluster):
    playbook = tmp_path / 'preflight.yml'
    playbook.write_text('''
- name: Preflight only
  hosts: all
  gather_facts: false
  tasks:
    - name: Validate
      dataplane.node.preflight:
        allow_partial: true
      run_once: true
''')
    inventory = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %%s
  hosts:
    good1: {reboot_kubeconfig: %s}
    good2: {reboot_kubeconfig: %s}
''' % (cluster['nobody'], cluster['kubeconfig'])
    code, report, tail = run_playbook(tmp_path, inventory, str(playbook))
    assert code == 0, tail
    result = next(iter(report['plays'][0]['tasks'][0]['hosts'].values()))
    assert result['invalid_hosts'] == ['good1'] and result['valid_hosts'] == ['good2']
    assert result['hosts']['good1']['problems'] == [
        'reboot_kubeconfig %s: the API server refused to list the Nodes (HTTP 403): nodes is forbidden: User "nobody" '
        'cannot list resource "nodes" in API group "" at the cluster scope' % cluster['nobody']]


REBOOT_PLAYBOOK = '''
- name: The reboot role with a reboot pending
  hosts: all
  gather_facts: false
  tasks:
    - name: A boot-time role asked for the reboot  # noqa: var-naming[no-role-prefix]
      ansible.builtin.set_fact:
        dataplane_node_reboot_reasons: ['kernel command line: missing iommu=pt']
    - name: Reboot
      ansible.builtin.include_role:
        name: dataplane.node.reboot
'''
REBOOT_INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %%s
    reboot_kubeconfig: %(admin)s
  hosts:
    ghost: {}
    ghost-trial: {dataplane_node_cmdline_trial: {state: staged, previous: [ro], timeout: 60}}
    down: {reboot_kubeconfig: %(down)s}
    drained1: {}
'''


def test_the_reboot_role_checks_the_node_before_the_drain(tmp_path, cluster):
    playbook = tmp_path / 'reboot.yml'
    playbook.write_text(REBOOT_PLAYBOOK)
    inventory = REBOOT_INVENTORY % {'admin': cluster['kubeconfig'], 'down': cluster['down']}
    code, report, tail = run_playbook(tmp_path, inventory, str(playbook))
    assert code == 2, tail
    ran = dict((t['task']['name'].split(' : ', 1)[-1], t['hosts']) for p in report['plays'] for t in p['tasks'])
    failed = ran['Fail before the drain when the API server does not answer or does not know the node']
    assert sorted(h for h, r in failed.items() if r.get('failed')) == ['down', 'ghost', 'ghost-trial']
    pending = ('Changed on the host before this check (by this run or an earlier one): its boot configuration, which '
               'the next reboot applies: kernel command line: missing iommu=pt.')
    assert failed['ghost']['msg'] == (
        'ghost: not drained, not rebooted: reboot_kubeconfig %s: the API server has no Node ghost; %s. %s' % (
            cluster['kubeconfig'], HINT % 'reboot_kubernetes_node', pending))
    # What follows "did not answer:" is the HTTP client's own error (urllib3's wording differs by version).
    assert failed['down']['msg'].startswith(
        'down: not drained, not rebooted: reboot_kubeconfig %s: the API server did not answer: ' % cluster['down'])
    # kubernetes.core from Ansible 9 (ansible-core 2.16) crashes on a refused connection (MODULE FAILURE) where later
    # releases report it; either way the node is neither drained nor rebooted and the reason says the server is down.
    assert ('refused' in failed['down']['msg'] or 'MODULE FAILURE' in failed['down']['msg'])
    assert failed['down']['msg'].endswith(pending)
    assert failed['ghost-trial']['msg'].endswith(
        '%s The new kernel command line is staged as a one-time trial entry: a reboot boots it once, and only a run '
        'of this role commits it.' % pending)
    # Neither of them was drained; the known node was, and then its reboot refused the local connection.
    drain = ran['Cordon and drain the Kubernetes node']
    assert sorted(drain) == ['drained1'] and not drain['drained1'].get('failed'), drain
    assert node(cluster, 'drained1')['spec'].get('unschedulable') is True
    assert node(cluster, 'good1')['spec'].get('unschedulable') is None
    gave_up = ran['Give up when no power hook is configured']['drained1']
    assert gave_up['failed'] and 'would reboot the control node' in gave_up['msg']
