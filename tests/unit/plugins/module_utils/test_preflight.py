# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet preflight: the roles' real argument specs, shapes, profiles, and checks against fixture hosts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.dataplane.node.plugins.action.preflight import COLLECTION_ROOT, load_role_specs
from ansible_collections.dataplane.node.plugins.module_utils import _preflight as pf
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host


@pytest.fixture(scope='module')
def options():
    return pf.role_options(load_role_specs(os.path.join(COLLECTION_ROOT, 'roles')))


@pytest.fixture
def facts(host_root):
    return lambda name: gather(Host(host_root(name)), SUBSETS)


def test_role_options_come_from_every_role(options):
    for name in ('hugepages_pools', 'kernel_cmdline_iommu', 'sriov_pfs', 'kubelet_mode', 'reboot_allowed'):
        assert name in options
    assert options['kubelet_mode']['choices'] == ['file', 'dropin']


def test_types_and_choices_from_the_specs(options):
    problems = pf.check_types({'kubelet_mode': 'sideways', 'hugepages_retries': 'lots', 'reboot_allowed': 'yes',
                               'not_a_role_var': object()}, options)
    # The type message is ansible-core's own validator's, worded differently by version (2.16: "<class 'str'>").
    assert len(problems) == 2
    assert re.match(r"argument 'hugepages_retries' is of type (<class ')?str('>)? and we were unable to convert to int",
                    problems[0]), problems[0]
    assert problems[1] == 'value of kubelet_mode must be one of: file, dropin, got: sideways'


def test_shapes_of_pools_pfs_mounts_and_play_vars():
    problems = pf.shape_problems({
        'hugepages_pools': [{'size': '2M', 'count': -4}, {'size': '7Q', 'count': 1}, 'x',
                            {'size': '2M', 'count': 2, 'node': 0, 'near': '3b:00.0'}, {'size': '2M', 'nodes': {'a': 1}},
                            {'size': '2M', 'count': 1, 'near': 'eth0', 'colour': 'red'}],
        'hugepages_mounts': [{'path': '/dev/hugepages', 'pagesize': '1G'}, {'path': '/mnt/h'}],
        'sriov_pfs': [{'numvfs': 4}, {'pf': '0000:af:00.0', 'numvfs': 2, 'vfio_vfs': [1, 2]}],
        'sriov_vfio_devices': ['nope'],
        'kernel_cmdline_isolated_cpus': '4-2',
        'kernel_cmdline_iommu': 'maybe',
        'dataplane_serial': '0%',
        'dataplane_max_fail_percentage': 101,
    })
    assert problems == [
        'hugepages_pools[0].count: must be a non-negative integer, got -4',
        "hugepages_pools[1].size: unknown unit 'Q' in size '7Q'",
        "hugepages_pools[2]: must be a dict with size and count, got 'x'",
        'hugepages_pools[3]: give one of node, nodes, near (got node, near)',
        "hugepages_pools[4].nodes: 'a' is not a NUMA node id",
        'hugepages_pools[5]: unknown key(s) colour (size, count, node, nodes, near)',
        "hugepages_pools[5].near: not a PCI address: 'eth0'",
        'hugepages_mounts[0].path: /dev/hugepages belongs to systemd (default page size); use e.g. /dev/hugepages1G',
        'hugepages_mounts[1]: needs path and pagesize',
        'sriov_pfs[0]: name the PF with pf (PCI address), netdev, or vendor and device',
        'sriov_pfs[1].vfio_vfs: indexes 2 do not exist with numvfs 2',
        "sriov_vfio_devices[0]: not a PCI address: 'nope'",
        "kernel_cmdline_isolated_cpus: descending range '4-2' in cpulist '4-2'",
        "kernel_cmdline_iommu: must be on, passthrough or off, got 'maybe'",
        "dataplane_serial: a batch size (positive integer), a percentage (e.g. \"25%\") or a list of them, got '0%'",
        'dataplane_max_fail_percentage: must be an integer from 0 to 100, got 101',
    ]


@pytest.mark.parametrize('serial,valid', [(1, True), ('2', True), ('30%', True), ([1, '50%'], True), (0, False),
                                          (True, False), ('abc', False), ([], False), ('101%', False)])
def test_serial_values(serial, valid):
    assert (pf.shape_problems({'dataplane_serial': serial}) == []) is valid


def test_extra_vars_arrive_as_strings(options):
    values = {'dataplane_max_fail_percentage': '10', 'dataplane_serial': '2', 'dataplane_allow_partial': 'true'}
    assert pf.check_host(values, options)['problems'] == []
    assert pf.check_host({'dataplane_max_fail_percentage': '250'}, options)['problems'] == [
        'dataplane_max_fail_percentage: must be an integer from 0 to 100, got 250']


def test_profile_fills_only_undefined_variables():
    merged, added, forbid, problems = pf.effective_vars({'dataplane_node_profile': 'dpdk-worker',
                                                         'kernel_cmdline_iommu': 'on'})
    assert problems == [] and forbid is False
    assert added == {'hugepages_transparent': 'never', 'dataplane_numa_locality': 'place'}
    assert merged['kernel_cmdline_iommu'] == 'on'


def test_unknown_and_custom_profiles():
    assert pf.effective_vars({'dataplane_node_profile': 'gpu'})[3] == [
        "dataplane_node_profile: unknown profile 'gpu' (known: dpdk-worker, dpu, dpu-host)"]
    merged, added, forbid, problems = pf.effective_vars(
        {'dataplane_node_profile': 'edge'}, {'edge': {'vars': {'hugepages_retries': 5}, 'forbid_vfio': True}})
    assert (added, forbid, problems) == ({'hugepages_retries': 5}, True, [])


def test_dpu_profiles_refuse_vfio(options):
    result = pf.check_host({'dataplane_node_profile': 'dpu-host', 'sriov_vfio_devices': ['0000:3b:00.0'],
                            'sriov_pfs': [{'pf': '0000:3b:00.0', 'numvfs': 4, 'vfio_vfs': [0]}]}, options)
    assert result['problems'] == [
        'sriov_pfs[0].vfio_vfs: this node profile keeps VFs on mlx5_core (bifurcated driver, no vfio-pci)',
        'sriov_vfio_devices: this node profile binds nothing to vfio-pci (mlx5 is bifurcated)']


def test_values_checked_against_the_two_socket_server(options, facts):
    result = pf.check_host({
        'hugepages_pools': [{'size': '2M', 'nodes': {0: 10, 5: 3}}, {'size': '16G', 'count': 1}],
        'sriov_pfs': [{'pf': '0000:af:00.0', 'numvfs': 129}, {'netdev': 'eth9', 'numvfs': 1},
                      {'pf': '0000:3b:00.0', 'numvfs': 2, 'vfio_vfs': [0]}, {'pf': '0000:18:00.0', 'numvfs': 1}],
        'sriov_vfio_devices': ['0000:18:00.0', '0000:00:17.0'],
        'kernel_cmdline_isolated_cpus': '2-15,60-63',
        'hugepages_default_size': '16G',
    }, options, facts('server2s'))
    assert result['checked_against_node'] is True and result['plan'] is None
    assert result['problems'] == [
        'hugepages_pools: 2M pool: NUMA node 5 does not exist (nodes: 0, 1)',
        'hugepages_pools: 16G pool: page size not supported by this host (supported: 2M, 1G)',
        'kernel command line: hugepage size 16G is not supported by this host (supported: 2M, 1G)',
        'sriov_pfs[0]: 0000:af:00.0 supports 128 VFs, 129 asked',
        'sriov_pfs[1]: no PCI device has the netdev eth9',
        'sriov_pfs[2]: 0000:3b:00.0 runs mlx5_core (bifurcated): its VFs serve DPDK on that driver, not vfio-pci',
        'sriov_pfs[3]: 0000:18:00.0 (ixgbe) has no SR-IOV capability',
        'sriov_vfio_devices[0]: 0000:18:00.0 carries the management connection [0000:18:00.0 (eno1: default '
        'route)]: binding it to vfio-pci would cut it (set sriov_allow_management to do it anyway)',
        'sriov_vfio_devices[1]: no network/accelerator device at 0000:00:17.0',
        'kernel_cmdline_isolated_cpus: CPUs 60,61,62,63 do not exist (online: 0-31)',
    ]


def test_preflight_plans_the_management_guard_on_a_stacked_default_route(options, tmp_path):
    """The default route on a VLAN over a bond of two PFs: the plan refuses a VF count change on a bond slave,
    with the path, as the real run's sriov_vfs would; sriov_allow_management lets it through."""
    import synthhost

    builder = synthhost.stacked()
    builder.default_route('bond0.120')
    facts = gather(Host(builder.write(str(tmp_path / 'stacked'))), SUBSETS)
    assert sorted(facts['management']['devices']) == ['0000:5e:00.0', '0000:5e:00.1']
    values = {'sriov_pfs': [{'pf': '0000:5e:00.1', 'numvfs': 4}, {'pf': '0000:af:00.0', 'numvfs': 4}]}
    result = pf.check_host(values, options, facts)
    assert result['problems'] == [
        'sriov_pfs[0]: 0000:5e:00.1 carries the management connection [0000:5e:00.1 (ens2f1) -> bond0 -> bond0.120 '
        '(default route)]: changing its VF count would cut it (set sriov_allow_management to do it anyway)']
    assert pf.check_host(dict(values, sriov_allow_management=True), options, facts)['problems'] == []


def test_valid_host_gets_a_plan_and_placed_pools(options, facts):
    result = pf.check_host({'dataplane_node_profile': 'dpdk-worker',
                            'sriov_pfs': [{'pf': '0000:af:00.0', 'numvfs': 4, 'vfio_vfs': [2, 3]}],
                            'hugepages_pools': [{'size': '2M', 'count': 1024}]}, options, facts('server2s'))
    assert result['problems'] == []
    assert result['set_vars'] == {'kernel_cmdline_iommu': 'passthrough', 'hugepages_transparent': 'never',
                                  'dataplane_numa_locality': 'place',
                                  'hugepages_pools': [{'size': '2M', 'nodes': {1: 1024}}]}
    assert result['plan']['nic_nodes'] == [1]


def test_strict_locality_split_fails_the_host(options, facts):
    result = pf.check_host({'dataplane_numa_locality': 'strict',
                            'sriov_pfs': [{'pf': '0000:af:00.0', 'numvfs': 4}],
                            'hugepages_pools': [{'size': '2M', 'node': 0, 'count': 512}]}, options, facts('server2s'))
    assert result['problems'] == [
        'NUMA locality (strict): 2M pool: 512 page(s) on node(s) 0, away from the NICs (node 1)',
        'NUMA locality (strict): NIC 0000:af:00.0 (node 1) has no hugepages on its NUMA node']


def test_without_facts_only_the_variables_are_checked(options):
    result = pf.check_host({'hugepages_pools': [{'size': '2M', 'nodes': {0: 10, 5: 3}}]}, options, None)
    assert result == {'problems': [], 'vars': {'hugepages_pools': [{'size': '2M', 'nodes': {0: 10, 5: 3}}]},
                      'set_vars': {}, 'checked_against_node': False, 'plan': None}


def test_fleet_message_names_every_host_and_problem(options, facts):
    results = pf.check_fleet({
        'good': {'vars': {'hugepages_pools': [{'size': '2M', 'count': 64}]}, 'facts': facts('qemu-igb')},
        'bad1': {'vars': {'kubelet_mode': 'x', 'sriov_pfs': [{'netdev': 'ens9', 'numvfs': 2}]}, 'facts': facts('qemu-igb')},
        'bad2': {'vars': {'hugepages_pools': [{'size': '2M', 'count': 9999999}]}, 'facts': facts('qemu-igb')},
    }, options)
    assert [h for h in results if results[h]['problems']] == ['bad1', 'bad2']
    message = pf.fleet_message(results)
    assert message.splitlines()[0] == 'preflight: 2 of 3 host(s) have invalid variables; nothing was changed:'
    assert '  bad1: value of kubelet_mode must be one of: file, dropin, got: x' in message
    assert '  bad2: hugepages_pools: ' in message and 'good' not in message.split(':', 1)[1]
    assert pf.fleet_message(results, partial=True).splitlines()[0].endswith('they are left out, the valid hosts proceed:')
    assert pf.fleet_message({'good': results['good']}) is None


def test_the_default_scenario_passes_on_the_qemu_guest(options, facts):
    """The variables of molecule/default on the captured testbed guest: valid, no reboot surprise."""
    import yaml
    with open(os.path.join(COLLECTION_ROOT, 'molecule', 'default', 'molecule.yml')) as handle:
        scenario = yaml.safe_load(handle)
    values = dict(scenario['provisioner']['inventory']['group_vars']['all'])
    values.pop('ansible_python_interpreter')
    result = pf.check_host(values, options, facts('qemu-igb'))
    assert result['problems'] == []
    assert result['plan']['reboot']['needed'] is True  # the capture booted with 2M default pages


def test_auto_isolation_resolves_on_the_nic_node(options, facts):
    result = pf.check_host({'kernel_cmdline_isolated_cpus': 'auto', 'sriov_pfs': [{'pf': '0000:af:00.0', 'numvfs': 2}]},
                           options, facts('server2s'))
    assert result['problems'] == []
    assert result['set_vars'] == {'kernel_cmdline_isolated_cpus': '9-15,25-31'}
    assert result['plan']['isolated_cpus'] == {'1': '9-15,25-31'} and result['plan']['findings'] == []
    # server2s booted with 2-15,18-31 isolated: the forecast sees the change.
    assert 'isolcpus=9-15,25-31' in result['plan']['reboot']['missing']


def test_auto_isolation_needs_facts_and_a_second_core(options, facts):
    assert pf.check_host({'kernel_cmdline_isolated_cpus': 'auto'}, options)['problems'] == [
        "kernel_cmdline_isolated_cpus: auto needs the node's dataplane facts (node_facts)"]
    # The QEMU guest has one CPU per NUMA node.
    assert pf.check_host({'kernel_cmdline_isolated_cpus': 'auto'}, options, facts('qemu-igb'))['problems'] == [
        'kernel_cmdline_isolated_cpus: auto finds no CPU to isolate on this node (the NUMA nodes it would use have '
        'one core each)']


# ---------------------------------------------------------------- the management connection in the fleet plan

def test_management_plan_shows_what_ansible_host_resolved_to(monkeypatch):
    import socket

    from ansible_collections.dataplane.node.plugins.action import preflight as action

    def getaddrinfo(name, port, family=0, kind=0, *args):
        if name == 'dpdk-node-1':
            return [(socket.AF_INET, kind, 6, '', ('10.0.0.5', 0)), (socket.AF_INET6, kind, 6, '', ('fd00::5', 0, 0, 0))]
        raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')

    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    facts = {'management': {'identified': True, 'sources': [
        {'source': 'default route', 'value': 'bond0.120', 'netdevs': ['bond0.120']}]}}
    plan = action._management('worker1', {}, {'ansible_host': 'dpdk-node-1'}, facts)
    assert plan['line'] == ("  management: dpdk-node-1 -> 10.0.0.5, fd00::5 (resolved on the controller); the SSH "
                            "session's address; default route: bond0.120")
    assert (plan['addresses'], plan['identified'], plan['warning']) == (['10.0.0.5', 'fd00::5'], True, None)
    # No ansible_host: the inventory name is resolved, as the roles do.
    plan = action._management('dpdk-node-1', {}, {}, None)
    assert plan['line'] == ("  management: dpdk-node-1 -> 10.0.0.5, fd00::5 (resolved on the controller); the SSH "
                            "session's address; default routes unknown (no dataplane facts)")
    # A name the controller cannot resolve is said, not passed over.
    plan = action._management('worker9', {}, {'ansible_host': 'worker9.example.com'}, facts)
    assert plan['line'].startswith('  management: worker9.example.com does not resolve on the controller: not '
                                   'protected by address; ')
    assert plan['unresolved'] == ['worker9.example.com'] and plan['identified'] is True  # the session, the route


def test_management_plan_explicit_addresses_and_literal_ansible_host():
    plan = pf.management_plan('w1', '192.168.1.7', ['192.168.1.7'])
    assert plan['line'] == "  management: 192.168.1.7 (ansible_host); the SSH session's address; default routes " \
                           "unknown (no dataplane facts)"
    defined = {'sriov_management_addresses': ['10.1.2.3', 'node1.example.com'],
               'sriov_management_interfaces': ['bond0.120']}
    target, explicit, addresses, interfaces = pf.management_inputs('w1', defined, {'ansible_host': '192.168.1.7'})
    assert (target, explicit, addresses, interfaces) == (None, 'sriov_management_addresses',
                                                         ['10.1.2.3', 'node1.example.com'], ['bond0.120'])
    plan = pf.management_plan('w1', target, addresses, explicit, interfaces, 'ssh', {'management': {'sources': []}})
    assert plan['line'] == (
        "  management: 10.1.2.3 (sriov_management_addresses); node1.example.com (sriov_management_addresses) not an "
        "address: not protected (resolve names with the dataplane.node.management_addresses filter); interfaces "
        "bond0.120; the SSH session's address; default route: none")
    # Interfaces alone keep ansible_host as the addresses' source.
    assert pf.management_inputs('w1', {'ovn_dpu_management_interfaces': ['br-ex']}, {}) == ('w1', None, None, ['br-ex'])


def test_management_plan_says_when_nothing_identifies_it():
    """A local (or docker, kubectl) connection, a name that does not resolve, no default route in the facts."""
    facts = {'management': {'identified': False, 'sources': []}}
    plan = pf.management_plan('edge1', 'edge1', ['edge1'], connection='local', facts=facts)
    assert plan['identified'] is False
    assert plan['warning'] == (
        'nothing identifies the management connection (no SSH connection, edge1 does not resolve, no management '
        'address or interface, no default route): the management guard cannot protect it; name the netdev with '
        'sriov_management_interfaces')
    assert plan['line'] == '  management: ' + plan['warning']
    # Without the facts the default routes are unknown: said so, no warning.
    plan = pf.management_plan('edge1', 'edge1', ['edge1'], connection='local')
    assert (plan['identified'], plan['warning']) == (None, None)
    assert plan['line'].endswith('default routes unknown (no dataplane facts)')
