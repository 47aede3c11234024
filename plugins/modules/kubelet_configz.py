#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_configz
short_description: Compare what a running kubelet applied (its /configz) with the settings it was given
version_added: 0.1.0
description:
  - "Reads the KubeletConfiguration a running kubelet applied, C(GET /api/v1/nodes/<node>/proxy/configz) through the
    API server (what C(kubectl get --raw) reads), and compares it with O(settings): every field after defaulting, with
    the config file, its drop-ins and the command-line flags applied."
  - "Names each setting the kubelet does not run as asked, what was asked, what runs, and the likely cause: a flag on
    the running kubelet's command line (O(flags); flags win over the file, and a restart does not change them), a
    drop-in in its C(--config-dir) (O(config_dir)), a field this kubelet version does not know (an older kubelet drops
    it when decoding its file and runs without it), or a file changed after kubelet started."
  - Reads only; it never fails on a difference. The C(dataplane.node.kubelet) role decides what a difference means.
  - Runs where the kubeconfig is, usually the controller (C(delegate_to) V(localhost)).
author:
  - dataplane.node contributors (@dataplane-node)
requirements:
  - The Python C(kubernetes) client (as for C(kubernetes.core)).
  - "RBAC: C(get) on C(nodes/proxy) for the kubeconfig's user."
options:
  kubeconfig:
    description: Kubeconfig file of the cluster.
    type: path
    required: true
  context:
    description: Context of O(kubeconfig) to use; unset uses its current context.
    type: str
  node:
    description: The Kubernetes node name of the kubelet.
    type: str
    required: true
  settings:
    description:
      - KubeletConfiguration fields (camelCase) the kubelet should run with, as given to
        M(dataplane.node.kubelet_config). V(null) values (removals) and C(apiVersion)/C(kind) are not compared.
      - Mappings compare key by key, lists whole, CPU lists as sets, quantities by value (V(1Gi) equals V(1073741824)).
    type: dict
    default: {}
  flags:
    description: The running kubelet's flags (RV(dataplane.node.kubelet_info#module:flags)), to name a flag that overrides a setting.
    type: dict
    default: {}
  config_dir:
    description: The running kubelet's C(--config-dir), when it has one (a drop-in there may override a setting).
    type: str
  version:
    description: The kubelet's version (C(1.20.2) or C(Kubernetes v1.20.2)), named in the causes.
    type: str
  wait:
    description:
      - Seconds to keep trying while the API server cannot reach the kubelet (HTTP 502 or 503, as right after a
        restart); V(0) tries once.
    type: int
    default: 0
  request_timeout:
    description: Seconds one request may take.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode returns the same result.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    platforms: posix
    support: full
    description: Runs wherever the kubeconfig and the Python kubernetes client are.
notes:
  - "C(/configz) leaves out empty values: a setting asked with a value and absent from C(/configz) is one the kubelet
    runs without."
seealso:
  - module: dataplane.node.kubelet_config
  - module: dataplane.node.kubelet_info
  - name: Kubelet configuration file
    description: Flags win over the file; drop-ins are merged over it in name order.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubelet-config-file/
"""

EXAMPLES = r"""
- name: Find the kubelet
  dataplane.node.kubelet_info:
  register: kubelet

- name: Compare what the running kubelet applied with the settings
  dataplane.node.kubelet_configz:
    kubeconfig: ~/.kube/config
    node: "{{ inventory_hostname }}"
    settings:
      cpuManagerPolicy: static
      reservedSystemCPUs: "0-1"
    flags: "{{ kubelet.flags }}"
    config_dir: "{{ kubelet.config_dir }}"
    version: "{{ kubelet.version }}"
    wait: 60
  delegate_to: localhost
  register: applied

- name: Fail on what it does not run as asked
  ansible.builtin.assert:
    that: applied.differences | length == 0
    fail_msg: "{{ applied.difference | join('; ') }}"
"""

RETURN = r"""
configz:
  description: The configuration the kubelet runs with (the C(kubeletconfig) object of C(/configz)).
  type: dict
  returned: success
  sample: {cpuManagerPolicy: static, reservedSystemCPUs: "0", maxPods: 110}
matches:
  description: Whether the kubelet runs every setting as asked.
  type: bool
  returned: success
difference:
  description: One line per setting not run as asked, with its likely cause.
  type: list
  elements: str
  returned: success
  sample:
    - "maxPods: set to 50, kubelet runs with 30 (the flag --max-pods=30 on kubelet's command line overrides the config
      file ...)"
differences:
  description: The same as data.
  type: list
  elements: dict
  returned: success
  contains:
    setting:
      description: The setting (dotted path for nested fields, C(featureGates.Name)).
      type: str
    asked:
      description: The value asked.
      type: raw
    running:
      description: The value the kubelet runs with (V(null) when absent from C(/configz)).
      type: raw
    absent:
      description: Whether C(/configz) lacks the setting.
      type: bool
    flag:
      description: The flag that overrides it (C(--name=value)), V(null) when no flag does. A restart does not change those.
      type: str
    cause:
      description: The likely cause.
      type: str
    summary:
      description: The setting and both values in one line.
      type: str
    line:
      description: The summary with the cause.
      type: str
state_reset_reasons:
  description:
    - What a restart into the settings changes in the CPU or memory manager (policy, reserved CPUs or memory under a
      static policy); kubelet must be stopped and RV(state_files) removed before it starts with them.
  type: list
  elements: str
  returned: success
  sample: [cpuManagerPolicy none -> static]
state_files:
  description: Checkpoint file names under kubelet's root directory that a restart into the settings must remove.
  type: list
  elements: str
  returned: success
  sample: [cpu_manager_state]
url:
  description: The API path read.
  type: str
  returned: always
  sample: /api/v1/nodes/worker-1/proxy/configz
"""

import os
import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    ConfigFileError,
    explain_differences,
    merge,
    normalize_settings,
    parse_configz,
    parse_version,
    state_files,
    state_reset_reasons,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError

try:
    from kubernetes import client as k8s_client, config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
except ImportError:
    K8S_IMPORT_ERROR = traceback.format_exc()
else:
    K8S_IMPORT_ERROR = None

# A Node name is a DNS subdomain (RFC 1123), at most 253 characters.
NODE_NAME_RE = re.compile(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')
RETRY_STATUS = (502, 503, 504)


def check_params(params):
    """Problems of the arguments, before anything is read."""
    problems = []
    node = params['node']
    if not node or len(node) > 253 or not NODE_NAME_RE.match(node):
        problems.append('node %r is not a Kubernetes node name (lower-case DNS subdomain)' % node)
    if params['wait'] < 0:
        problems.append('wait must be 0 or more seconds, not %d' % params['wait'])
    if params['request_timeout'] < 1:
        problems.append('request_timeout must be 1 second or more, not %d' % params['request_timeout'])
    if not os.path.isfile(params['kubeconfig']):
        problems.append('kubeconfig %s is not a file' % params['kubeconfig'])
    if params['version']:
        try:
            parse_version(params['version'])
        except ParseError as exc:
            problems.append('version: %s' % exc)
    for name, value in sorted(params['flags'].items()):
        if not isinstance(value, str):
            problems.append('flags %s: %r is not a string (give kubelet_info\'s flags)' % (name, value))
    return problems


def api_error(exc, node, url):
    """A readable reason for an API error on the configz path."""
    status = getattr(exc, 'status', None)
    body = (getattr(exc, 'body', None) or '')
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    detail = ' '.join(body.split())[:400]
    if status == 404 and 'nodes' in detail and 'not found' in detail:
        return 'the API server has no Node %s' % node
    if status == 403:
        return ('GET %s is forbidden (403): the kubeconfig\'s user needs "get" on "nodes/proxy" (%s)' % (url, detail))
    if status in RETRY_STATUS:
        return 'the API server could not reach the kubelet of %s (HTTP %s): %s' % (node, status, detail)
    return 'GET %s failed (HTTP %s): %s' % (url, status, detail or exc)


def read_configz(api, node, wait, request_timeout):
    """The /configz text, retried for `wait` seconds while the API server cannot reach the kubelet."""
    url = '/api/v1/nodes/%s/proxy/configz' % node
    deadline = time.monotonic() + wait
    while True:
        try:
            response = api.connect_get_node_proxy_with_path(node, 'configz', _preload_content=False,
                                                            _request_timeout=request_timeout)
            data = response.data
            return data.decode('utf-8', 'replace') if isinstance(data, bytes) else data
        except ApiException as exc:
            if exc.status not in RETRY_STATUS or time.monotonic() >= deadline:
                raise
        except Exception as exc:  # urllib3 connection errors: the API server itself did not answer
            if time.monotonic() >= deadline:
                raise RuntimeError('the API server did not answer: %s' % exc)
        time.sleep(min(3, max(deadline - time.monotonic(), 0.1)))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type='path', required=True),
            context=dict(type='str'),
            node=dict(type='str', required=True),
            settings=dict(type='dict', default={}),
            flags=dict(type='dict', default={}),
            config_dir=dict(type='str'),
            version=dict(type='str'),
            wait=dict(type='int', default=0),
            request_timeout=dict(type='int', default=20),
        ),
        supports_check_mode=True,
    )
    params = module.params
    url = '/api/v1/nodes/%s/proxy/configz' % params['node']
    if K8S_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('kubernetes', reason='to read the kubelet\'s /configz'),
                         exception=K8S_IMPORT_ERROR, url=url)
    problems = check_params(params)
    if problems:
        module.fail_json(msg='invalid arguments, nothing read: %s' % '; '.join(problems), problems=problems, url=url)
    version = parse_version(params['version']) if params['version'] else None

    try:
        api = k8s_client.CoreV1Api(k8s_config.new_client_from_config(config_file=params['kubeconfig'],
                                                                     context=params['context']))
    except (ConfigException, ValueError, TypeError, IOError) as exc:
        module.fail_json(msg='kubeconfig %s: %s' % (params['kubeconfig'], exc), url=url)
    try:
        text = read_configz(api, params['node'], params['wait'], params['request_timeout'])
    except ApiException as exc:
        module.fail_json(msg=api_error(exc, params['node'], url), status=exc.status, url=url)
    except RuntimeError as exc:
        module.fail_json(msg=str(exc), url=url)
    try:
        running = parse_configz(text, url)
    except ConfigFileError as exc:
        module.fail_json(msg=str(exc), url=url)

    settings = normalize_settings(params['settings'])
    differences = explain_differences(settings, running, params['flags'], params['config_dir'], version)
    # Starting kubelet with the settings from what it runs now: a policy change needs its checkpoints removed.
    reasons = state_reset_reasons(running, merge(running, settings)) if differences else []
    module.exit_json(changed=False, url=url, configz=running, matches=not differences, differences=differences,
                     difference=[d['line'] for d in differences], state_reset_reasons=reasons,
                     state_files=state_files(reasons))


if __name__ == '__main__':
    main()
