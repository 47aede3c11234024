# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet preflight: every host's variables validated before any host changes, node profiles.

Private to the dataplane.node collection: names may change without notice.

Pure functions: the caller (the preflight action plugin) reads the inventory and the roles'
argument specs and hands them in as plain data. Three layers of checks, all run for every host
so that one run reports every problem of every host:

1. the roles' own ``meta/argument_specs.yml`` (types, choices, list elements), through
   ansible-core's ArgumentSpecValidator, for the variables the host defines;
2. the shape of structured values the specs only call ``list of dict`` (pools, PFs, mounts) and the
   run's own variables (profile, locality mode, batch size);
3. when the host's ``dataplane`` facts are known, the values against the node: NUMA nodes and their
   memory, page sizes, PFs and their VF limits, CPUs, devices for vfio (the same resolvers the
   modules use, so the preflight and the real run cannot disagree).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dataplane.node.plugins.module_utils._hugepages import HugepageError, resolve, split_pools
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import ArgError, render, validate
from ansible_collections.dataplane.node.plugins.module_utils._locality import cmdline_spec, iommu_kind, plan
from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError,
    normalize_pci_address,
    parse_cpulist,
    parse_size_kb,
)
from ansible_collections.dataplane.node.plugins.module_utils._pci import BIFURCATED_DRIVERS, PciError, select_pf

LOCALITY_MODES = ('off', 'warn', 'place', 'strict')

# The run's own variables (the roles' variables are validated from their argument specs).
PLAY_SPEC = {
    'dataplane_node_profile': {'type': 'str'},
    'dataplane_node_profiles': {'type': 'dict'},
    'dataplane_numa_locality': {'type': 'str', 'choices': list(LOCALITY_MODES)},
    'dataplane_allow_partial': {'type': 'bool'},
    'dataplane_serial': {'type': 'raw'},
    'dataplane_max_fail_percentage': {'type': 'int'},
    'dataplane_hosts': {'type': 'str'},
}

# Node profiles: defaults per kind of node, applied only to variables the inventory leaves undefined.
# 'forbid_vfio': BlueField/ConnectX (mlx5) ports are bifurcated: DPDK runs on mlx5_core, vfio-pci is wrong there.
PROFILES = {
    'dpdk-worker': {
        'description': 'Kubernetes worker running DPDK pods: IOMMU in passthrough, hugepages and VFs (vfio-pci) '
                       'placed on the NUMA node of the selected NICs, THP off',
        'vars': {'kernel_cmdline_iommu': 'passthrough', 'hugepages_transparent': 'never',
                 'dataplane_numa_locality': 'place'},
        'forbid_vfio': False,
    },
    'dpu-host': {
        'description': 'host of a BlueField DPU (OVN-Kubernetes dpu-host mode): IOMMU in passthrough, VFs of the '
                       'mlx5 PF stay on mlx5_core (no vfio-pci), hugepages near the DPU',
        'vars': {'kernel_cmdline_iommu': 'passthrough', 'dataplane_numa_locality': 'place', 'ovn_dpu_mode': 'dpu-host'},
        'forbid_vfio': True,
    },
    'dpu': {
        'description': 'the BlueField DPU itself (Arm, OVN-Kubernetes dpu mode): no IOMMU or vfio changes, one NUMA '
                       'node, so no locality plan',
        'vars': {'dataplane_numa_locality': 'off', 'ovn_dpu_mode': 'dpu'},
        'forbid_vfio': True,
    },
}


def role_options(specs):
    """{role: argument_specs document} -> {variable: option spec} over every entry point of every role."""
    options = {}
    for role in sorted(specs):
        for entry in (specs[role] or {}).get('argument_specs', {}).values():
            for name, option in (entry.get('options') or {}).items():
                options.setdefault(name, option)
    return options


def _bare(option):
    """An option spec without what must not apply to a partial set of variables (defaults, required)."""
    bare = {}
    for key in ('type', 'elements', 'choices', 'options', 'no_log'):
        if key in option:
            bare[key] = option[key]
    if 'options' in bare:
        bare['options'] = dict((k, _bare(v)) for k, v in bare['options'].items())
    return bare


def check_types(values, options):
    """Problems of the defined variables against their option specs (types, choices, elements)."""
    spec = dict((name, _bare(options[name])) for name in values if name in options)
    if not spec:
        return []
    params = dict((name, copy.deepcopy(values[name])) for name in spec)
    result = ArgumentSpecValidator(spec).validate(params)
    return sorted(set(result.error_messages))


def profile_defaults(profile, custom_profiles=None):
    """(vars, problems) of a profile name; custom profiles (dataplane_node_profiles) add or replace."""
    profiles = dict(PROFILES)
    for name, body in (custom_profiles or {}).items():
        profiles[name] = {'description': (body or {}).get('description', ''), 'vars': dict((body or {}).get('vars') or {}),
                          'forbid_vfio': bool((body or {}).get('forbid_vfio', False))}
    if profile is None:
        return {}, False, []
    if profile not in profiles:
        return {}, False, ['dataplane_node_profile: unknown profile %r (known: %s)' % (profile, ', '.join(sorted(profiles)))]
    return dict(profiles[profile]['vars']), profiles[profile]['forbid_vfio'], []


def effective_vars(defined, custom_profiles=None):
    """(variables after the profile, the profile's additions, forbid_vfio, problems).

    `defined` holds the variables the inventory (or -e) defines for the host; a profile only fills
    the ones left undefined, so group_vars and host_vars always win over it.
    """
    additions, forbid_vfio, problems = profile_defaults(defined.get('dataplane_node_profile'), custom_profiles)
    additions = dict((k, v) for k, v in additions.items() if k not in defined)
    merged = dict(additions)
    merged.update(defined)
    return merged, additions, forbid_vfio, problems


# ---------------------------------------------------------------- shapes

def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _pool_problems(index, pool):
    where = 'hugepages_pools[%d]' % index
    if not isinstance(pool, dict):
        return ['%s: must be a dict with size and count, got %r' % (where, pool)]
    problems = []
    unknown = sorted(set(pool) - {'size', 'count', 'node', 'nodes', 'near'})
    if unknown:
        problems.append('%s: unknown key(s) %s (size, count, node, nodes, near)' % (where, ', '.join(unknown)))
    try:
        parse_size_kb(pool.get('size'))
    except ParseError as exc:
        problems.append('%s.size: %s' % (where, exc))
    placements = [k for k in ('node', 'nodes', 'near') if pool.get(k) is not None]
    if len(placements) > 1:
        problems.append('%s: give one of node, nodes, near (got %s)' % (where, ', '.join(placements)))
    if pool.get('nodes') is not None:
        nodes = pool['nodes']
        if not isinstance(nodes, dict) or not nodes:
            problems.append('%s.nodes: must map NUMA node ids to page counts' % where)
        else:
            for node, count in nodes.items():
                if not str(node).isdigit():
                    problems.append('%s.nodes: %r is not a NUMA node id' % (where, node))
                if not _is_count(count):
                    problems.append('%s.nodes[%s]: must be a non-negative integer, got %r' % (where, node, count))
    elif not _is_count(pool.get('count')):
        problems.append('%s.count: must be a non-negative integer, got %r' % (where, pool.get('count')))
    if pool.get('node') is not None and not _is_count(pool['node']):
        problems.append('%s.node: must be a NUMA node id, got %r' % (where, pool['node']))
    if pool.get('near') is not None:
        try:
            normalize_pci_address(str(pool['near']))
        except ParseError as exc:
            problems.append('%s.near: %s' % (where, exc))
    return problems


def _pf_problems(index, pf, forbid_vfio):
    where = 'sriov_pfs[%d]' % index
    if not isinstance(pf, dict):
        return ['%s: must be a dict naming the PF and numvfs, got %r' % (where, pf)]
    problems = []
    unknown = sorted(set(pf) - {'pf', 'netdev', 'vendor', 'device', 'index', 'numvfs', 'vfio_vfs',
                                'drivers_autoprobe', 'force'})
    if unknown:
        problems.append('%s: unknown key(s) %s' % (where, ', '.join(unknown)))
    if pf.get('pf'):
        try:
            normalize_pci_address(str(pf['pf']))
        except ParseError as exc:
            problems.append('%s.pf: %s' % (where, exc))
    elif not pf.get('netdev') and not (pf.get('vendor') and pf.get('device')):
        problems.append('%s: name the PF with pf (PCI address), netdev, or vendor and device' % where)
    if not _is_count(pf.get('numvfs')):
        problems.append('%s.numvfs: must be a non-negative integer, got %r' % (where, pf.get('numvfs')))
    vfio = pf.get('vfio_vfs') or []
    if not isinstance(vfio, list) or not all(_is_count(i) for i in vfio):
        problems.append('%s.vfio_vfs: must be a list of VF indexes, got %r' % (where, vfio))
    elif _is_count(pf.get('numvfs')) and any(i >= pf['numvfs'] for i in vfio):
        problems.append('%s.vfio_vfs: indexes %s do not exist with numvfs %d' % (
            where, ', '.join(str(i) for i in vfio if i >= pf['numvfs']), pf['numvfs']))
    if forbid_vfio and vfio:
        problems.append('%s.vfio_vfs: this node profile keeps VFs on mlx5_core (bifurcated driver, no vfio-pci)' % where)
    return problems


def shape_problems(values, forbid_vfio=False):
    """Problems of the structured values (what list-of-dict specs cannot say) and of the run's variables."""
    problems = []
    pools = values.get('hugepages_pools')
    if isinstance(pools, list):
        for index, pool in enumerate(pools):
            problems.extend(_pool_problems(index, pool))
    mounts = values.get('hugepages_mounts')
    if isinstance(mounts, list):
        for index, mount in enumerate(mounts):
            where = 'hugepages_mounts[%d]' % index
            if not isinstance(mount, dict) or not mount.get('path') or not mount.get('pagesize'):
                problems.append('%s: needs path and pagesize' % where)
                continue
            if str(mount['path']).rstrip('/') == '/dev/hugepages':
                problems.append('%s.path: /dev/hugepages belongs to systemd (default page size); use e.g. /dev/hugepages%s'
                                % (where, mount['pagesize']))
            try:
                parse_size_kb(mount['pagesize'])
            except ParseError as exc:
                problems.append('%s.pagesize: %s' % (where, exc))
    pfs = values.get('sriov_pfs')
    if isinstance(pfs, list):
        for index, pf in enumerate(pfs):
            problems.extend(_pf_problems(index, pf, forbid_vfio))
    devices = values.get('sriov_vfio_devices')
    if isinstance(devices, list):
        for index, address in enumerate(devices):
            try:
                normalize_pci_address(str(address))
            except ParseError as exc:
                problems.append('sriov_vfio_devices[%d]: %s' % (index, exc))
        if forbid_vfio and devices:
            problems.append('sriov_vfio_devices: this node profile binds nothing to vfio-pci (mlx5 is bifurcated)')
    for name in ('kernel_cmdline_isolated_cpus', 'kubelet_isolated_cpus'):
        value = values.get(name)
        if name == 'kernel_cmdline_isolated_cpus' and str(value).strip() == 'auto':
            continue  # resolved by the locality plan from the facts
        if value is not None:
            try:
                parse_cpulist(str(value))
            except ParseError as exc:
                problems.append('%s: %s' % (name, exc))
    iommu = values.get('kernel_cmdline_iommu')
    if iommu is not None and not isinstance(iommu, bool) and iommu not in ('on', 'passthrough', 'off'):
        problems.append('kernel_cmdline_iommu: must be on, passthrough or off, got %r' % (iommu,))
    serial = values.get('dataplane_serial')
    if serial is not None and not _valid_serial(serial):
        problems.append('dataplane_serial: a batch size (positive integer), a percentage (e.g. "25%%") or a list of '
                        'them, got %r' % (serial,))
    pct = values.get('dataplane_max_fail_percentage')
    if isinstance(pct, str) and pct.strip().isdigit():
        pct = int(pct)  # -e dataplane_max_fail_percentage=10 arrives as a string
    if pct is not None and (not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100):
        problems.append('dataplane_max_fail_percentage: must be an integer from 0 to 100, got %r' % (pct,))
    return problems


def _valid_serial(value):
    if isinstance(value, list):
        return bool(value) and all(_valid_serial(v) for v in value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    text = str(value).strip()
    if text.endswith('%'):
        text = text[:-1]
        return text.isdigit() and 0 < int(text) <= 100
    return text.isdigit() and int(text) > 0


# ---------------------------------------------------------------- against the node

class FactsHost(object):
    """The parts of _host.Host that the resolvers use, served from a gathered `dataplane` fact."""

    def __init__(self, facts):
        self.facts = facts

    def numa(self):
        return self.facts['numa']

    def pci(self):
        return self.facts['pci']

    def hugepage_sizes_kb(self):
        return sorted(p['size_kb'] for p in self.facts['hugepages']['pools'].values())

    def cpus(self):
        return self.facts['numa']['cpus']


def facts_complete(facts):
    return isinstance(facts, dict) and all(k in facts for k in ('numa', 'hugepages', 'pci'))


def node_problems(values, facts, forbid_vfio=False):
    """Problems of the values against the node's facts (only call with complete facts)."""
    host = FactsHost(facts)
    problems = []
    pools = [dict(p) for p in values.get('hugepages_pools') or [] if isinstance(p, dict)]
    try:
        _boot, runtime = split_pools(pools, facts)
        if runtime:
            resolve(runtime, host)
    except HugepageError as exc:
        problems.extend('hugepages_pools: %s' % p for p in exc.problems)
    spec = cmdline_spec(facts, values)
    spec['isolated_cpus'] = None  # checked below, once rather than per isolation argument
    try:
        present, absent = render(spec, iommu_kind(facts))
        validate(present, absent, {'cpus': facts['numa'].get('cpus') or {}, 'numa': facts['numa'],
                                   'hugepage_sizes_kb': host.hugepage_sizes_kb(),
                                   'kernel_version': (facts.get('boot') or {}).get('kernel_version')})
    except ArgError as exc:
        problems.extend('kernel command line: %s' % p for p in exc.problems)
    except (ParseError, ValueError, TypeError) as exc:
        problems.append('kernel command line: %s' % exc)
    for index, pf in enumerate(values.get('sriov_pfs') or []):
        if not isinstance(pf, dict):
            continue
        try:
            found = select_pf(facts['pci'], address=pf.get('pf'), netdev=pf.get('netdev'), vendor=pf.get('vendor'),
                              device=pf.get('device'), index=pf.get('index') or 0)
        except PciError as exc:
            problems.extend('sriov_pfs[%d]: %s' % (index, p) for p in exc.problems)
            continue
        total = found['sriov'].get('totalvfs')
        if _is_count(pf.get('numvfs')) and total is not None and pf['numvfs'] > total:
            problems.append('sriov_pfs[%d]: %s supports %d VFs, %d asked' % (index, found['address'], total, pf['numvfs']))
        if pf.get('vfio_vfs') and found['driver'] in BIFURCATED_DRIVERS:
            problems.append('sriov_pfs[%d]: %s runs %s (bifurcated): its VFs serve DPDK on that driver, not vfio-pci'
                            % (index, found['address'], found['driver']))
        if _is_count(pf.get('numvfs')) and pf['numvfs'] != (found['sriov'].get('numvfs') or 0) and \
                not values.get('sriov_allow_management'):
            problems.extend('sriov_pfs[%d]: %s carries the management connection [%s]: changing its VF count would '
                            'cut it (set sriov_allow_management to do it anyway)' % (index, found['address'], path)
                            for path in _management_paths(facts, found['address']))
    for index, address in enumerate(values.get('sriov_vfio_devices') or []):
        try:
            address = normalize_pci_address(str(address))
        except ParseError:
            continue
        device = facts['pci']['devices'].get(address)
        if device is None:
            problems.append('sriov_vfio_devices[%d]: no network/accelerator device at %s' % (index, address))
        elif _management_paths(facts, address) and not values.get('sriov_allow_management'):
            problems.extend('sriov_vfio_devices[%d]: %s carries the management connection [%s]: binding it to '
                            'vfio-pci would cut it (set sriov_allow_management to do it anyway)' % (index, address, path)
                            for path in _management_paths(facts, address))
        elif device['driver'] in BIFURCATED_DRIVERS:
            problems.append('sriov_vfio_devices[%d]: %s runs %s (bifurcated): no vfio-pci' % (index, address, device['driver']))
    online = set((facts['numa'].get('cpus') or {}).get('online') or [])
    isolated = values.get('kernel_cmdline_isolated_cpus')
    if str(isolated).strip() == 'auto':
        isolated = None  # resolved (and checked) by the locality plan
    if isolated and online:
        try:
            cpus = set(parse_cpulist(str(isolated)))
        except ParseError:
            cpus = set()
        missing = sorted(cpus - online)
        if missing:
            problems.append('kernel_cmdline_isolated_cpus: CPUs %s do not exist (online: %s)' % (
                ','.join(str(c) for c in missing), facts['numa']['cpus'].get('online_list')))
        if online and cpus >= online:
            problems.append('kernel_cmdline_isolated_cpus: isolates every CPU; leave some for the system')
    return problems


def _management_paths(facts, address):
    """The paths over which `address` carries the management connection, from the facts' management section (the
    default routes down every layer, node_facts); the device's own default route when the facts predate it."""
    management = facts.get('management')
    if isinstance(management, dict):
        return list((management.get('devices') or {}).get(address) or [])
    device = facts['pci']['devices'].get(address) or {}
    return ['%s (default route)' % address] if device.get('carries_default_route') else []


# ---------------------------------------------------------------- the management connection (the guard's seeds)

# Connections over which the modules see SSH_CONNECTION (the session's address on the node is then protected).
SSH_CONNECTIONS = ('ssh', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh',
                   'ansible.netcommon.libssh')
# Explicit management variables of the roles, by precedence; their absence means ansible_host resolved.
MANAGEMENT_VARS = (('sriov_management_addresses', 'sriov_management_interfaces'),
                   ('ovn_dpu_management_addresses', 'ovn_dpu_management_interfaces'))
NOTHING_IDENTIFIES = ('nothing identifies the management connection (no SSH connection, %s, no management address '
                      'or interface, no default route): the management guard cannot protect it; name the netdev '
                      'with sriov_management_interfaces')


def management_plan(host, target, addresses, explicit=None, interfaces=(), connection=None, facts=None):
    """What the management guard will start from on `host`, as the preflight can tell it on the controller.

    target: what the roles resolve (ansible_host, or the inventory name); addresses: the management_addresses
    filter's answer for it (a name that does not resolve comes back as it is); explicit: the variable name when the
    inventory sets the addresses itself (then `addresses` are its value); interfaces: management interfaces given;
    connection: ansible_connection (None: the default, ssh); facts: the dataplane fact (its management section
    names the default routes). Returns {'line', 'warning' (or None), 'addresses', 'unresolved', 'identified'}.
    """
    from ansible_collections.dataplane.node.plugins.module_utils._netstack import is_address, normalize_address

    literal = [a for a in addresses or () if is_address(a)]
    unresolved = [str(a) for a in addresses or () if not is_address(a)]
    parts = []
    if explicit:
        if literal:
            parts.append('%s (%s)' % (', '.join(literal), explicit))
        if unresolved:
            parts.append('%s (%s) not an address: not protected (resolve names with the '
                         'dataplane.node.management_addresses filter)' % (', '.join(unresolved), explicit))
        if not addresses:
            parts.append('no address (%s is empty)' % explicit)
    elif target and is_address(target):
        parts.append('%s (ansible_host)' % normalize_address(target))
    elif literal:
        parts.append('%s -> %s (resolved on the controller)' % (target, ', '.join(literal)))
    else:
        parts.append('%s does not resolve on the controller: not protected by address' % target)
    if interfaces:
        parts.append('interfaces %s' % ', '.join(interfaces))
    ssh = (connection or 'ssh') in SSH_CONNECTIONS
    if ssh:
        parts.append("the SSH session's address")
    management = (facts or {}).get('management') if isinstance(facts, dict) else None
    routes = []
    if isinstance(management, dict):
        routes = [s.get('value') for s in management.get('sources') or [] if s.get('source') == 'default route']
        parts.append('default route: %s' % (', '.join(r for r in routes if r) or 'none'))
    else:
        parts.append('default routes unknown (no dataplane facts)')
    identified = bool(literal or interfaces or ssh or routes)
    warning = None
    if not identified and isinstance(management, dict):
        warning = NOTHING_IDENTIFIES % ('no address in %s' % explicit if explicit else '%s does not resolve' % target)
        parts = [warning]
    return {'line': '  management: %s' % '; '.join(parts), 'warning': warning, 'addresses': literal,
            'unresolved': unresolved,
            'identified': True if identified else (False if isinstance(management, dict) else None)}


def management_inputs(host, defined, host_vars):
    """(target, explicit variable or None, its value, interfaces) the roles will use for `host`: an explicit
    sriov_/ovn_dpu_management_addresses of the inventory, else ansible_host (or the inventory name) to resolve."""
    for addresses_var, interfaces_var in MANAGEMENT_VARS:
        if addresses_var in defined or interfaces_var in defined:
            interfaces = list(defined.get(interfaces_var) or [])
            if addresses_var in defined:
                value = defined[addresses_var]
                value = list(value) if isinstance(value, (list, tuple)) else [value] if value else []
                return None, addresses_var, [str(v) for v in value], interfaces
            return host_vars.get('ansible_host') or host, None, None, interfaces
    return host_vars.get('ansible_host') or host, None, None, []


def check_host(defined, options, facts=None, custom_profiles=None):
    """Everything the preflight knows about one host.

    Returns {'problems': [...], 'vars': effective variables, 'set_vars': what the run sets for the host
    (the profile's additions, the placed pools), 'checked_against_node': bool, 'plan': the NUMA-locality
    plan (_locality.plan) or None when the facts are missing or the values invalid}.
    """
    merged, additions, forbid_vfio, problems = effective_vars(defined, custom_profiles)
    problems.extend(check_types(merged, options) + check_types(merged, PLAY_SPEC))
    problems.extend(shape_problems(merged, forbid_vfio))  # defensive about types: every problem in one run
    against_node = facts_complete(facts)
    locality = None
    if against_node and not problems:
        problems.extend(node_problems(merged, facts, forbid_vfio))
    if against_node and not problems:
        locality = plan(facts, merged)
        problems.extend('NUMA locality (strict): %s' % f['text'] for f in locality['findings'] if f['level'] == 'error')
        if locality['hugepages_pools'] is not None:
            additions = dict(additions, hugepages_pools=locality['hugepages_pools'])
        if str(merged.get('kernel_cmdline_isolated_cpus')).strip() == 'auto':
            if locality['auto_isolated_cpus']:
                additions = dict(additions, kernel_cmdline_isolated_cpus=locality['auto_isolated_cpus'])
            else:
                problems.append('kernel_cmdline_isolated_cpus: auto finds no CPU to isolate on this node (the NUMA '
                                'nodes it would use have one core each)')
    elif str(merged.get('kernel_cmdline_isolated_cpus')).strip() == 'auto' and not against_node and not problems:
        problems.append('kernel_cmdline_isolated_cpus: auto needs the node\'s dataplane facts (node_facts)')
    return {'problems': problems, 'vars': merged, 'set_vars': additions, 'checked_against_node': against_node,
            'plan': locality}


def check_fleet(hosts, options, custom_profiles=None):
    """{host: {'vars': defined variables, 'facts': dataplane fact or None}} -> {host: check_host result}."""
    return dict((name, check_host(data.get('vars') or {}, options, data.get('facts'), custom_profiles))
                for name, data in sorted(hosts.items()))


def fleet_message(results, partial=False):
    """One message naming every invalid host and variable, or None when all are valid."""
    bad = [(name, r['problems']) for name, r in sorted(results.items()) if r['problems']]
    if not bad:
        return None
    lines = ['preflight: %d of %d host(s) have invalid variables; %s:' % (
        len(bad), len(results), 'they are left out, the valid hosts proceed' if partial else 'nothing was changed')]
    for name, problems in bad:
        for problem in problems:
            lines.append('  %s: %s' % (name, problem))
    return '\n'.join(lines)
