# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of dataplane.node.preflight: validates every host's variables on the controller, once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.dataplane.node.plugins.module_utils import _k8s_nodes, _rolling
from ansible_collections.dataplane.node.plugins.module_utils._locality import plan_lines
from ansible_collections.dataplane.node.plugins.module_utils._preflight import (
    PLAY_SPEC,
    check_fleet,
    fleet_message,
    management_inputs,
    management_plan,
    role_options,
)
from ansible_collections.dataplane.node.plugins.filter.management_addresses import management_addresses

try:
    from kubernetes import client as k8s_client, config as k8s_config
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False

ARGUMENT_SPEC = {
    'hosts': {'type': 'list', 'elements': 'str'},
    'allow_partial': {'type': 'bool', 'default': False},
    'profiles': {'type': 'dict'},
    'roles_dir': {'type': 'path'},
    'check_nodes': {'type': 'bool', 'default': True},
}
# Variables the roles read besides their options (set by one role for another).
EXTRA_VARS = ('kernel_cmdline_hugepages',)

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Seconds to connect to an API server and to wait for its list of Nodes; no retries (a dead server fails fast).
API_TIMEOUT = (10, 30)


def load_role_specs(roles_dir):
    """{role: its meta/argument_specs.yml} for every role of the collection."""
    specs = {}
    for role in sorted(os.listdir(roles_dir)):
        path = os.path.join(roles_dir, role, 'meta', 'argument_specs.yml')
        if os.path.isfile(path):
            with open(path) as handle:
                specs[role] = yaml.safe_load(handle) or {}
    return specs


def ask_api_server(kubeconfig, timeout=API_TIMEOUT):
    """{'nodes': [names]} of the API server a kubeconfig on the controller names, or {'error': text}."""
    if not HAS_KUBERNETES:
        return {'error': 'cannot ask the API server: the kubernetes Python library is missing on the controller '
                         '(it is in the collection\'s requirements.txt)'}
    path = os.path.expanduser(kubeconfig)
    if not os.path.isfile(path):
        return {'error': 'no such file on the controller'}
    try:
        configuration = k8s_client.Configuration()
        k8s_config.load_kube_config(config_file=path, client_configuration=configuration, persist_config=False)
        configuration.retries = False
        with k8s_client.ApiClient(configuration) as api:
            reply = k8s_client.CoreV1Api(api).list_node(_request_timeout=timeout, _preload_content=False)
            items = json.loads(reply.data).get('items') or []
    except k8s_client.ApiException as exc:
        detail = exc.reason
        try:
            detail = json.loads(exc.body).get('message') or detail
        except (TypeError, ValueError, AttributeError):
            pass
        return {'error': 'the API server refused to list the Nodes (HTTP %s): %s' % (exc.status, detail)}
    except Exception as exc:  # the client raises many kinds: bad kubeconfig, TLS, connection, timeout
        return {'error': 'the API server did not answer: %s' % (str(exc).strip() or type(exc).__name__)}
    return {'nodes': sorted(item['metadata']['name'] for item in items)}


def _var(host_vars, name):
    """A host variable, or None when it is undefined or cannot be templated (the run reports that elsewhere)."""
    try:
        return host_vars[name] if name in host_vars else None
    except Exception:
        return None


def _management(host, defined, host_vars, facts):
    """management_plan for one host: ansible_host (or the inventory name) resolved here, on the controller, as the
    roles' dataplane.node.management_addresses filter will resolve it; or the inventory's explicit addresses."""
    target, explicit, addresses, interfaces = management_inputs(host, defined, host_vars)
    if explicit is None:
        target = str(target)
        addresses = management_addresses(target)
    return management_plan(host, target, addresses, explicit, interfaces, host_vars.get('ansible_connection'), facts)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args))
        if validation.error_messages:
            return dict(result, failed=True, msg='; '.join(validation.error_messages))
        args = validation.validated_parameters
        hosts = args['hosts'] if args['hosts'] is not None else list(task_vars.get('ansible_play_hosts') or [])
        try:
            options = role_options(load_role_specs(args['roles_dir'] or os.path.join(COLLECTION_ROOT, 'roles')))
        except (OSError, yaml.YAMLError) as exc:
            raise AnsibleError('cannot read the roles\' argument specs: %s' % exc)
        names = sorted(set(options) | set(PLAY_SPEC) | set(EXTRA_VARS))
        hostvars = task_vars.get('hostvars') or {}
        fleet = {}
        template_problems = {}
        management = {}
        for host in hosts:
            if host not in hostvars:
                template_problems[host] = ['not in the inventory']
                continue
            host_vars = hostvars[host]
            defined = {}
            for name in names:
                if name not in host_vars:
                    continue
                try:
                    defined[name] = host_vars[name]
                except Exception as exc:  # a template error names the variable, whatever its kind
                    template_problems.setdefault(host, []).append('%s: cannot be templated: %s' % (name, exc))
            facts = None
            if 'ansible_facts' in host_vars:
                facts = (host_vars['ansible_facts'] or {}).get('dataplane')
            fleet[host] = {'vars': defined, 'facts': facts}
            management[host] = (defined, dict((k, _var(host_vars, k)) for k in ('ansible_host', 'ansible_connection')))
        results = check_fleet(fleet, options, args['profiles'])
        for host, problems in template_problems.items():
            results.setdefault(host, {'problems': [], 'vars': {}, 'set_vars': {}, 'checked_against_node': False,
                                      'plan': None})['problems'][:0] = problems
        # The API servers the hosts' kubeconfigs name, each asked once: does it know the host's Node?
        answers = {}
        if args['check_nodes']:
            checks = dict((host, _k8s_nodes.node_checks(host, r['vars'])) for host, r in results.items())
            answers = dict((kubeconfig, ask_api_server(kubeconfig)) for kubeconfig in _k8s_nodes.kubeconfigs(checks))
            for host, host_checks in checks.items():
                results[host]['problems'].extend(_k8s_nodes.node_problems(host_checks, answers))
        invalid = sorted(h for h, r in results.items() if r['problems'])
        # What the management guard will start from, for the hosts that run (names resolved here, once each).
        management = dict((h, _management(h, inputs[0], inputs[1], fleet[h]['facts']))
                          for h, inputs in management.items() if h not in invalid)
        lines = []
        for host in sorted(results):
            if results[host]['plan'] is not None:
                lines.extend(plan_lines(host, results[host]['plan']))
            elif results[host]['problems']:
                lines.append('%s: invalid, no plan (%d problem(s))' % (host, len(results[host]['problems'])))
            else:
                lines.append('%s: no dataplane facts, variables checked without the node' % host)
            if host in management:
                lines.append(management[host]['line'])
        reboots = sorted(h for h, r in results.items() if r['plan'] and r['plan']['reboot']['needed'])
        lines.append('reboot needed on %d of %d host(s)%s' % (
            len(reboots), len(results), ': ' + ', '.join(reboots) if reboots else ''))
        lines.extend(_k8s_nodes.plan_lines(answers))
        valid = sorted(h for h in results if h not in invalid)
        disrupt = _rolling.may_disrupt(reboots, dict((h, results[h]['vars']) for h in valid))
        serial_given = task_vars.get('dataplane_serial') is not None
        serial = task_vars['dataplane_serial'] if serial_given else (1 if disrupt else '100%')
        lines.append(_rolling.plan_line(serial, serial_given, len(valid), disrupt))
        result.update(
            changed=False,
            hosts=dict((h, {'problems': r['problems'], 'set_vars': r['set_vars'], 'plan': r['plan'],
                            'checked_against_node': r['checked_against_node'],
                            'management': dict((k, v) for k, v in management.get(h, {}).items() if k != 'line')})
                       for h, r in results.items()),
            invalid_hosts=invalid,
            valid_hosts=sorted(h for h in results if h not in invalid),
            reboot_hosts=reboots,
            serial=serial,
            rounds=_rolling.rounds(serial, len(valid)),
            api_servers=dict((k, {'nodes': len(a.get('nodes', [])), 'error': a.get('error')}) for k, a in answers.items()),
            plan=lines,
        )
        if self._task.diff:
            result['diff'] = {'before': '', 'after': '\n'.join(lines) + '\n',
                              'after_header': 'NUMA-locality plan and reboot forecast of the fleet'}
        message = fleet_message(results, args['allow_partial'])
        warnings = ['%s: %s' % (h, m['warning']) for h, m in sorted(management.items()) if m['warning']]
        if message and not args['allow_partial']:
            result.update(failed=True, msg=message)
        elif message:
            result['msg'] = message
            warnings.insert(0, message)
        else:
            result['msg'] = 'preflight: %d host(s) valid' % len(results)
        if warnings:
            result['warnings'] = warnings
        return result
