# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kubelet_configz module as Ansible runs it, with the real kubernetes client, against a local HTTP server that
answers the node proxy path as an API server does (the captured EKS /configz, a missing Node, RBAC refusal, a
kubelet the API server cannot reach yet). The real API server and kubelet: molecule/kubelet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import threading

import pytest

from http.server import BaseHTTPRequestHandler, HTTPServer

from ansible_collections.dataplane.node.plugins.modules import kubelet_configz

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'kubelet')
with open(os.path.join(FIXTURES, 'configz-1.30.2-eks.json')) as _handle:
    EKS_CONFIGZ = _handle.read()


def status(code, reason, message, **details):
    return code, json.dumps({'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure', 'message': message,
                             'reason': reason, 'details': details, 'code': code})


class FakeAPIServer(BaseHTTPRequestHandler):
    unreachable_left = {}
    seen = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        parts = self.path.split('/')
        node = parts[4] if len(parts) > 6 and parts[1:4] == ['api', 'v1', 'nodes'] else None
        if node is None or parts[5:] != ['proxy', 'configz']:
            code, body = status(404, 'NotFound', 'the server could not find the requested resource')
        elif node == 'worker-1':
            code, body = 200, EKS_CONFIGZ
        elif node == 'forbidden':
            code, body = status(403, 'Forbidden', 'nodes "forbidden" is forbidden: User "ci" cannot get resource '
                                '"nodes/proxy" in API group "" at the cluster scope', name=node, kind='nodes')
        elif node == 'html':
            code, body = 200, '<html>login</html>'
        elif node == 'restarting':
            left = self.unreachable_left.get(node, 0)
            if left:
                self.unreachable_left[node] = left - 1
                code, body = status(503, 'ServiceUnavailable', 'error trying to reach service: dial tcp '
                                    '10.0.2.15:10250: connect: connection refused')
            else:
                code, body = 200, EKS_CONFIGZ
        else:
            code, body = status(404, 'NotFound', 'nodes "%s" not found' % node, name=node, kind='nodes')
        data = body.encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def server():
    httpd = HTTPServer(('127.0.0.1', 0), FakeAPIServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def kubeconfig(server, tmp_path):
    path = tmp_path / 'kubeconfig'
    path.write_text(json.dumps({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'test',
        'clusters': [{'name': 'test', 'cluster': {'server': server}}],
        'users': [{'name': 'ci', 'user': {'token': 'not-checked'}}],
        'contexts': [{'name': 'test', 'context': {'cluster': 'test', 'user': 'ci'}}]}))
    return str(path)


def test_reads_and_compares_the_running_configuration(run_module, kubeconfig):
    code, result = run_module(kubelet_configz, {
        'kubeconfig': kubeconfig, 'node': 'worker-1', '_ansible_check_mode': True,
        'settings': {'cpuManagerPolicy': 'none', 'maxPods': 737, 'reservedSystemCPUs': 0, 'memorySwap': None},
        'flags': {'cpu-manager-policy': 'static'}, 'version': 'v1.30.2-eks-1552ad0'})
    assert code == 0, result
    assert result['changed'] is False and result['matches'] is False
    assert result['url'] == '/api/v1/nodes/worker-1/proxy/configz'
    assert result['configz']['maxPods'] == 737 and len(result['configz']) == 84
    assert [(d['setting'], d['flag'], d['absent']) for d in result['differences']] == [
        ('cpuManagerPolicy', '--cpu-manager-policy=static', False),
        ('reservedSystemCPUs', None, True)]  # 0 from YAML is compared as the string kubelet wants
    assert result['difference'][1].startswith('reservedSystemCPUs: set to "0", absent from /configz (kubelet 1.30 ')
    # Restarting into these settings changes the CPU manager policy: its checkpoint must go first.
    assert result['state_reset_reasons'] == ['cpuManagerPolicy static -> none']
    assert result['state_files'] == ['cpu_manager_state']


def test_matches(run_module, kubeconfig):
    code, result = run_module(kubelet_configz, {
        'kubeconfig': kubeconfig, 'node': 'worker-1',
        'settings': {'cpuManagerPolicy': 'static', 'topologyManagerPolicy': 'single-numa-node',
                     'kubeReserved': {'memory': '8362Mi'}}})
    assert code == 0, result
    assert result['matches'] is True and result['differences'] == [] and result['difference'] == []
    assert result['state_reset_reasons'] == [] and result['state_files'] == []


def test_waits_while_the_api_server_cannot_reach_the_kubelet(run_module, kubeconfig):
    FakeAPIServer.unreachable_left['restarting'] = 1
    code, result = run_module(kubelet_configz, {'kubeconfig': kubeconfig, 'node': 'restarting', 'wait': 10,
                                                'settings': {'maxPods': 737}})
    assert code == 0, result
    assert result['matches'] is True
    FakeAPIServer.unreachable_left['restarting'] = 5
    code, result = run_module(kubelet_configz, {'kubeconfig': kubeconfig, 'node': 'restarting'})
    assert code == 1
    assert result['msg'] == ('the API server could not reach the kubelet of restarting (HTTP 503): {"kind": "Status", '
                             '"apiVersion": "v1", "status": "Failure", "message": "error trying to reach service: dial '
                             'tcp 10.0.2.15:10250: connect: connection refused", "reason": "ServiceUnavailable", '
                             '"details": {}, "code": 503}')


@pytest.mark.parametrize('node, msg', [
    ('no-such-node', 'the API server has no Node no-such-node'),
    ('forbidden', 'GET /api/v1/nodes/forbidden/proxy/configz is forbidden (403): the kubeconfig\'s user needs "get" '
                  'on "nodes/proxy"'),
    ('html', '/api/v1/nodes/html/proxy/configz is not JSON: '),
])
def test_refusals_of_the_api_server(run_module, kubeconfig, node, msg):
    code, result = run_module(kubelet_configz, {'kubeconfig': kubeconfig, 'node': node})
    assert code == 1
    assert result['msg'].startswith(msg), result['msg']


def test_invalid_arguments_are_refused_before_any_request(run_module, kubeconfig, tmp_path):
    FakeAPIServer.seen[:] = []
    code, result = run_module(kubelet_configz, {
        'kubeconfig': str(tmp_path / 'nope'), 'node': 'Worker_1', 'wait': -1, 'version': 'latest',
        'flags': {'max-pods': 30}})
    assert code == 1
    assert result['problems'] == [
        "node 'Worker_1' is not a Kubernetes node name (lower-case DNS subdomain)",
        'wait must be 0 or more seconds, not -1',
        'kubeconfig %s is not a file' % (tmp_path / 'nope'),
        "version: not a Kubernetes version: 'latest'",
        "flags max-pods: 30 is not a string (give kubelet_info's flags)"]
    assert result['msg'].startswith('invalid arguments, nothing read: ')
    assert FakeAPIServer.seen == []


def test_an_api_server_that_does_not_answer(run_module, tmp_path):
    path = tmp_path / 'kubeconfig'
    path.write_text(json.dumps({
        'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'test',
        'clusters': [{'name': 'test', 'cluster': {'server': 'http://127.0.0.1:9'}}],
        'users': [{'name': 'ci', 'user': {'token': 'x'}}],
        'contexts': [{'name': 'test', 'context': {'cluster': 'test', 'user': 'ci'}}]}))
    code, result = run_module(kubelet_configz, {'kubeconfig': str(path), 'node': 'worker-1', 'request_timeout': 2})
    assert code == 1
    assert result['msg'].startswith('the API server did not answer: ')
