# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet preflight, Kubernetes side: does the API server a host's kubeconfig names know the host's Node?

Private to the dataplane.node collection: names may change without notice.

The reboot role drains the Node (``reboot_kubeconfig``, ``reboot_kubernetes_node``) and the kubelet role reads and
drains it (``kubelet_kubeconfig``, ``kubelet_kubernetes_node``). Found only when they get there, a Node the API
server does not know (not registered yet, or registered under another name) stops a host half way: after its kernel
command line was rewritten. Pure functions: the preflight action plugin asks each API server once for its Node
names and hands the answers in as ``{kubeconfig: {'nodes': [names]} or {'error': text}}``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

# (kubeconfig variable, Node name variable), in the order of a run. The Node name defaults to the inventory name.
NODE_VARIABLES = (
    ('reboot_kubeconfig', 'reboot_kubernetes_node'),
    ('kubelet_kubeconfig', 'kubelet_kubernetes_node'),
)
# How many of an API server's Node names a problem shows when none comes close to the name asked for.
SHOWN_NODES = 5


def node_checks(host, values):
    """The (kubeconfig, Node) pairs a host's effective variables make the run use, one per distinct pair.

    Returns [{'kubeconfig': path, 'node': name, 'variables': [kubeconfig variables],
    'node_variables': [Node name variables]}]. Values of the wrong type are left to the type checks.
    """
    checks = []
    for kubeconfig_var, node_var in NODE_VARIABLES:
        kubeconfig = values.get(kubeconfig_var)
        if not isinstance(kubeconfig, str) or not kubeconfig.strip():
            continue
        node = values.get(node_var)
        node = host if node is None else node
        if not isinstance(node, str) or not node:
            continue
        for check in checks:
            if check['kubeconfig'] == kubeconfig and check['node'] == node:
                check['variables'].append(kubeconfig_var)
                check['node_variables'].append(node_var)
                break
        else:
            checks.append({'kubeconfig': kubeconfig, 'node': node, 'variables': [kubeconfig_var],
                           'node_variables': [node_var]})
    return checks


def kubeconfigs(checks_by_host):
    """{host: node_checks(...)} -> the distinct kubeconfigs to ask, sorted (one query each)."""
    return sorted(set(check['kubeconfig'] for checks in checks_by_host.values() for check in checks))


def near_names(node, names):
    """Node names the API server knows that are likely meant by `node` (case, short name vs FQDN, typos)."""
    names = sorted(names)
    lowered = node.lower()
    near = [name for name in names if name.lower() == lowered
            or name.split('.')[0].lower() == lowered or lowered.split('.')[0] == name.lower()]
    near.extend(n for n in difflib.get_close_matches(node, names, n=3, cutoff=0.75) if n not in near)
    return near


def node_problems(checks, answers):
    """Problems of one host's checks against the API servers' answers, naming variable, kubeconfig and Node."""
    problems = []
    for check in checks:
        label = '%s %s' % (' and '.join(check['variables']), check['kubeconfig'])
        answer = answers.get(check['kubeconfig'])
        if answer is None:
            problems.append('%s: the API server was not asked' % label)
        elif answer.get('error'):
            problems.append('%s: %s' % (label, answer['error']))
        elif check['node'] not in answer.get('nodes', []):
            names = sorted(answer.get('nodes', []))
            near = near_names(check['node'], names)
            if near:
                known = 'did you mean %s?' % ' or '.join(near)
            elif names:
                known = 'it knows %s%s' % (', '.join(names[:SHOWN_NODES]),
                                           ' and %d more' % (len(names) - SHOWN_NODES) if len(names) > SHOWN_NODES else '')
            else:
                known = 'it knows no Node yet'
            problems.append(
                "%s: the API server has no Node %r (%s); register the node first, or set %s to the name its kubelet "
                "registers (kubectl get nodes)" % (label, check['node'], known, ' and '.join(check['node_variables'])))
    return problems


def plan_lines(answers):
    """One readable line per API server asked, for the fleet plan."""
    lines = []
    for kubeconfig in sorted(answers):
        answer = answers[kubeconfig]
        if answer.get('error'):
            lines.append('kubeconfig %s: %s' % (kubeconfig, answer['error']))
        else:
            lines.append('kubeconfig %s: the API server knows %d Node(s)' % (kubeconfig, len(answer.get('nodes', []))))
    return lines
