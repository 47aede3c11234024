# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DPU planning and parsers on command output captured in the testbed guest (tests/fixtures/dpu/README.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils import _dpu
from ansible_collections.dataplane.node.plugins.module_utils._dpu import DpuError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'dpu')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# ---------------------------------------------------------------- devlink and representors

def test_devlink_eswitch_captured_legacy_and_switchdev():
    assert _dpu.parse_devlink_eswitch(fixture('devlink-eswitch-legacy.json'))['netdevsim/netdevsim10']['mode'] == \
        'legacy'
    assert _dpu.parse_devlink_eswitch(fixture('devlink-eswitch-switchdev.json'))['netdevsim/netdevsim10']['mode'] == \
        'switchdev'
    with pytest.raises(DpuError):
        _dpu.parse_devlink_eswitch('devlink answers: Operation not supported')


def test_devlink_ports_captured():
    ports = _dpu.parse_devlink_ports(fixture('devlink-port-show.json'))
    flavours = sorted((p['port'], p.get('flavour'), p.get('netdev')) for p in ports)
    assert ('netdevsim/netdevsim10/0', 'physical', 'eni10np1') in flavours
    assert [p['netdev'] for p in ports if p.get('flavour') == 'pcivf'] == ['eni10npf0vf0', 'eni10npf0vf1']


@pytest.mark.parametrize('name, parsed', [
    ('p0', {'kind': 'uplink', 'port': 0, 'controller': None}),
    ('pf0', {'kind': 'pf', 'pf': 0, 'controller': None}),
    ('pf0vf3', {'kind': 'vf', 'pf': 0, 'vf': 3, 'controller': None}),
    ('c1pf0vf12', {'kind': 'vf', 'pf': 0, 'vf': 12, 'controller': 1}),
    ('c1pf1', {'kind': 'pf', 'pf': 1, 'controller': 1}),
    ('pf0sf88', {'kind': 'sf', 'pf': 0, 'sf': 88, 'controller': None}),
    ('', None), ('eth0', None), (None, None), ('pfvf1', None),
])
def test_phys_port_name(name, parsed):
    assert _dpu.parse_phys_port_name(name) == parsed


def netdevs_from_capture():
    """netdevs.txt: 'name phys_port_name phys_switch_id' per netdev, as the guest showed them."""
    found = []
    for line in fixture('netdevs.txt').splitlines():
        parts = line.split()
        if len(parts) == 3:
            found.append({'name': parts[0], 'phys_port_name': parts[1], 'phys_switch_id': parts[2]})
    return found


def test_representors_from_captured_netdevsim():
    switches = _dpu.representors(netdevs_from_capture())
    assert len(switches) == 1
    sw = list(switches.values())[0]
    assert sw['uplinks'] == ['eni10np1']
    assert sw['vfs'] == {(0, 0): 'eni10npf0vf0', (0, 1): 'eni10npf0vf1'}
    assert _dpu.representor_problems(sw, 0, 2) == []
    assert _dpu.representor_problems(sw, 0, 3) == ['representors missing for pf0vf2 (2 of 3 present)']
    assert _dpu.representor_problems(sw, 0, 1) == ['representors for VFs that should not exist: pf0vf1']
    assert _dpu.representor_problems(None, 0, 2)[0].startswith('no switchdev representors')


def test_representors_of_a_bluefield_host_controller():
    netdevs = [{'name': 'p0', 'phys_port_name': 'p0', 'phys_switch_id': 'ab'},
               {'name': 'pf0hpf', 'phys_port_name': 'c1pf0', 'phys_switch_id': 'ab'},
               {'name': 'pf0vf0', 'phys_port_name': 'c1pf0vf0', 'phys_switch_id': 'ab'},
               {'name': 'pf0vf1', 'phys_port_name': 'c1pf0vf1', 'phys_switch_id': 'ab'},
               {'name': 'oob_net0', 'phys_port_name': None, 'phys_switch_id': None}]
    sw = _dpu.representors(netdevs)['ab']
    assert sw['pfs'] == {(1, 0): 'pf0hpf'}
    assert _dpu.representor_problems(sw, 0, 2, controller=1) == []
    assert _dpu.representor_problems(sw, 0, 3, controller=1) == ['representors missing for c1pf0vf2 (2 of 3 present)']


# ---------------------------------------------------------------- switchdev order

def test_switchdev_order_with_new_vfs_on_a_connectx():
    steps = _dpu.plan_eswitch('pci/0000:03:00.0', 'legacy', 'switchdev', 0, 4, vendor='0x15b3',
                              numvfs_path='sys/bus/pci/devices/0000:03:00.0/sriov_numvfs')
    assert steps == [('numvfs', 'sys/bus/pci/devices/0000:03:00.0/sriov_numvfs', 4), ('wait_vfs', 4),
                     ('unbind_vfs',), ('devlink', ['devlink', 'dev', 'eswitch', 'set', 'pci/0000:03:00.0', 'mode',
                                                   'switchdev']), ('bind_vfs',)]


def test_vf_count_change_in_switchdev_goes_through_zero_and_sets_switchdev_again():
    steps = _dpu.plan_eswitch('netdevsim/netdevsim10', 'switchdev', 'switchdev', 2, 3, bus='netdevsim',
                              numvfs_path='n/sriov_numvfs')
    assert steps == [('numvfs', 'n/sriov_numvfs', 0), ('numvfs', 'n/sriov_numvfs', 3), ('wait_vfs', 3),
                     ('devlink', ['devlink', 'dev', 'eswitch', 'set', 'netdevsim/netdevsim10', 'mode', 'switchdev'])]


def test_switchdev_idempotent_and_guards():
    assert _dpu.plan_eswitch('pci/0000:03:00.0', 'switchdev', 'switchdev', 4, 4, vendor='0x15b3') == []
    assert _dpu.plan_eswitch('pci/0000:03:00.0', 'switchdev', 'switchdev', 4, None, vendor='0x15b3') == []
    with pytest.raises(DpuError) as err:
        _dpu.plan_eswitch('pci/0000:00:03.0', 'legacy', 'switchdev', 0, 0, vendor='0x8086')
    assert err.value.problems == [
        'pci/0000:00:03.0 is not a Mellanox/NVIDIA device (vendor 0x8086): switchdev is only set on ConnectX and '
        'BlueField NICs',
        'switchdev with 0 VFs: writing 0 VFs returns the eSwitch to legacy; ask for at least one VF']
    back = _dpu.plan_eswitch('pci/0000:03:00.0', 'switchdev', 'legacy', 2, None, vendor='0x15b3')
    assert [s[0] for s in back] == ['unbind_vfs', 'devlink', 'bind_vfs']


# ---------------------------------------------------------------- OVS

def test_ovs_table_captured_fresh_and_configured():
    fresh = _dpu.parse_ovs_list_json(fixture('ovs-vsctl-list-fresh.json'))
    assert fresh['other_config'] == {'ovn-chassis-idx-6ee91013-31bc-41e0-85c1-c11d2e77f5f1': '', 'vlan-limit': '0'}
    assert set(fresh['external_ids']) == {'hostname', 'rundir', 'system-id'}
    dpu = _dpu.parse_ovs_list_json(fixture('ovs-vsctl-list-dpu.json'))
    assert dpu['other_config']['hw-offload'] == 'true'
    assert dpu['external_ids']['ovn-remote'] == 'tcp:10.0.2.15:6642'
    assert dpu['external_ids']['host-k8s-nodename'] == 'worker1'


def test_ovs_plan_sets_only_what_differs_in_one_transaction():
    current = _dpu.parse_ovs_list_json(fixture('ovs-vsctl-list-dpu.json'))
    argv, changes = _dpu.plan_ovs(current, {'hw-offload': True},
                                  {'ovn-remote': 'tcp:10.0.2.15:6642', 'ovn-encap-type': 'geneve',
                                   'ovn-gw-nexthop': '10.0.2.2', 'host-k8s-nodename': None})
    assert changes == {'external_ids': {'ovn-gw-nexthop': (None, '10.0.2.2'), 'host-k8s-nodename': ('worker1', None)}}
    assert argv == ['ovs-vsctl', '--', 'remove', 'Open_vSwitch', '.', 'external_ids', 'host-k8s-nodename',
                    '--', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-gw-nexthop=10.0.2.2']
    fresh = _dpu.parse_ovs_list_json(fixture('ovs-vsctl-list-fresh.json'))
    argv, changes = _dpu.plan_ovs(fresh, {'hw-offload': True}, {'ovn-remote': 'tcp:10.0.2.15:6642'})
    assert argv == ['ovs-vsctl', '--', 'set', 'Open_vSwitch', '.', 'other_config:hw-offload=true',
                    '--', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-remote="tcp:10.0.2.15:6642"']
    assert _dpu.plan_ovs(current, {'hw-offload': 'true'}, {'hostname': current['external_ids']['hostname']}) == \
        ([], {})


def test_bridge_plan():
    assert _dpu.plan_bridge('brp0', ['br-int'], [], None, ['p0', 'pf0hpf'], 'standalone', ['vtep0']) == [
        ['ovs-vsctl', '--may-exist', 'add-br', 'brp0'],
        ['ovs-vsctl', '--may-exist', 'add-port', 'brp0', 'p0'],
        ['ovs-vsctl', '--may-exist', 'add-port', 'brp0', 'pf0hpf'],
        ['ovs-vsctl', '--may-exist', 'add-port', 'brp0', 'vtep0', '--', 'set', 'Interface', 'vtep0', 'type=internal'],
        ['ovs-vsctl', 'set-fail-mode', 'brp0', 'standalone']]
    assert _dpu.plan_bridge('brp0', ['brp0'], ['p0', 'pf0hpf', 'vtep0'], 'standalone', ['p0', 'pf0hpf'],
                            'standalone', ['vtep0']) == []


# ---------------------------------------------------------------- validation

def test_ovn_remote():
    assert _dpu.ovn_remote_problems('tcp:10.0.0.1:6642') == []
    assert _dpu.ovn_remote_problems('ssl:[fd00::1]:6642,tcp:10.0.0.2:6642') == []
    assert _dpu.ovn_remote_problems('unix:/run/ovn/ovnsb_db.sock') == []
    assert _dpu.ovn_remote_problems('10.0.0.1:6642') == [
        "ovn-remote '10.0.0.1:6642' is not an OVN connection string (tcp:IP:PORT, ssl:IP:PORT or unix:PATH)"]
    assert _dpu.ovn_remote_problems('tcp:10.0.0.300:6642') == [
        "ovn-remote 'tcp:10.0.0.300:6642': '10.0.0.300' is not an IP address (IPv6 goes in brackets)"]
    assert _dpu.ovn_remote_problems('tcp:10.0.0.1:70000') == [
        "ovn-remote 'tcp:10.0.0.1:70000': port 70000 is out of range"]


DPU_IDS = {'host-k8s-nodename': 'worker1', 'hostname': 'dpu1', 'ovn-encap-ip': '10.0.2.15', 'ovn-encap-type': 'geneve',
           'ovn-gw-interface': 'brp0', 'ovn-gw-nexthop': '10.0.2.2'}


def test_dpu_settings_validated_against_captured_addresses():
    local = _dpu.addresses_of(json.loads(fixture('ip-addr.json')))
    assert '10.0.2.15' in local and '127.0.0.1' in local
    assert _dpu.validate_settings('dpu', {'host_node': 'worker1', 'external_ids': DPU_IDS}, local) == []
    bad = dict(DPU_IDS, **{'ovn-encap-ip': '192.0.2.9', 'ovn-gw-vlanid': '5000', 'ovn-remote': 'tcp:x:1',
                           'ovn-encap-type': 'gre'})
    del bad['ovn-gw-nexthop']
    problems = _dpu.validate_settings('dpu', {'external_ids': bad}, local)
    assert problems[0] == 'a DPU must name the dpu-host node it serves (host-k8s-nodename)'
    assert problems[1] == 'the DPU launcher needs the Open_vSwitch external_ids ovn-gw-nexthop'
    assert "ovn-gw-vlanid '5000' is not a VLAN id (1-4094)" in problems
    assert "ovn-encap-type 'gre' is not one of geneve, vxlan" in problems
    assert any(p.startswith('ovn-encap-ip 192.0.2.9 is not an address of this node (it has ') for p in problems)
    assert any(p.startswith("ovn-remote 'tcp:x:1' is not an OVN connection string") for p in problems)
    same = dict(DPU_IDS, hostname='worker1')
    assert _dpu.validate_settings('dpu', {'host_node': 'worker1', 'external_ids': same}, local) == [
        "host-k8s-nodename 'worker1' is the DPU's own hostname: it must be the paired host's node name"]


def test_mode_and_dpu_host_settings():
    assert _dpu.validate_settings('dpu-hosts', {}) == ["mode 'dpu-hosts' is not one of full, dpu, dpu-host"]
    assert _dpu.validate_settings('dpu-host', {'mgmt_vf': 3}, numvfs=4) == []
    assert _dpu.validate_settings('dpu-host', {'mgmt_vf': 4}, numvfs=4) == [
        'management VF 4 is beyond the 4 VFs requested (0-3)']
    assert _dpu.validate_settings('dpu-host', {'host_node': 'x', 'mgmt_vf': None}) == [
        'host_node is for a DPU (mode dpu), not for the dpu-host itself',
        'a dpu-host needs a management-port VF index']


def test_versions_from_captured_output():
    assert _dpu.iproute2_version(fixture('ip-V.txt')) == (6, 1)
    assert _dpu.iproute2_version('ip utility, iproute2-ss170501') == (4, 0)
    assert _dpu.version_tuple(fixture('ovs-vswitchd-version.txt')) == (3, 1)
    assert _dpu.version_problems({'kernel': (6, 1), 'iproute2': (6, 1), 'ovs': (3, 1)}) == []
    assert _dpu.version_problems({'kernel': (4, 18), 'iproute2': None, 'ovs': (2, 11)}) == [
        'Linux 4.18 is too old: 5.7 or newer is needed for switchdev offload',
        'iproute2 version unknown (iproute2 >= 4.12 needed)',
        'Open vSwitch 2.11 is too old: 2.13 or newer is needed for switchdev offload']


# ---------------------------------------------------------------- firmware

def test_mstconfig_bluefield2_in_dpu_mode():
    query = _dpu.parse_mstconfig_query(fixture('mstconfig-bf2-dpu-query.txt'))
    assert (query['device_type'], query['device'], query['columns']) == ('BlueField2', '0000:03:00.0', ['next'])
    assert query['params']['INTERNAL_CPU_MODEL'] == {'next': ('EMBEDDED_CPU', 1)}
    assert query['params']['EXP_ROM_UEFI_x86_ENABLE'] == {'next': ('True', 1)}
    assert query['params']['HOST_CHAINING_DESCRIPTORS'] == {'next': ('Array[0..7]', None)}
    wanted = _dpu.fw_wanted(query['device_type'], True, 8, 'dpu')
    assert _dpu.plan_firmware(query, wanted) == ([], [])
    sets, pending = _dpu.plan_firmware(query, _dpu.fw_wanted('BlueField2', True, 16, 'nic'))
    assert sets == ['INTERNAL_CPU_ESWITCH_MANAGER=1', 'INTERNAL_CPU_IB_VPORT0=1', 'INTERNAL_CPU_OFFLOAD_ENGINE=1',
                    'INTERNAL_CPU_PAGE_SUPPLIER=1', 'NUM_OF_VFS=16']
    assert pending == []


def test_mlxconfig_bluefield3_pending_power_cycle():
    query = _dpu.parse_mstconfig_query(fixture('mlxconfig-bf3-nic-e-query.txt'))
    assert query['columns'] == ['default', 'current', 'next']
    assert query['modified'] == ['INTERNAL_CPU_OFFLOAD_ENGINE']
    # next boot already says DPU mode, the running firmware is still in NIC mode: a power cycle is due
    assert _dpu.plan_firmware(query, _dpu.fw_wanted('BlueField3', dpu_mode='dpu')) == (
        [], ['INTERNAL_CPU_OFFLOAD_ENGINE'])
    assert _dpu.plan_firmware(query, _dpu.fw_wanted('BlueField3', num_of_vfs=8)) == (['NUM_OF_VFS=8'], [])
    with pytest.raises(DpuError) as err:
        _dpu.fw_wanted('ConnectX6DX', dpu_mode='dpu')
    assert err.value.problems == ["device type 'ConnectX6DX' is not a BlueField: DPU/NIC mode does not apply"]
    with pytest.raises(DpuError):
        _dpu.plan_firmware(query, {'NO_SUCH_PARAM': 1})
    with pytest.raises(DpuError):
        _dpu.parse_mstconfig_query('-E- Failed to open device: 0000:99:00.0')


# ---------------------------------------------------------------- dpu-host pairing and health

def test_pairing_and_eswitch_owner():
    assert _dpu.mgmt_port_annotation('0000:03:00.1', 0) == {'PfId': 1, 'FuncId': 0}
    assert _dpu.eswitch_owner(0, fixture('devlink-eswitch-switchdev.json'), 'netdevsim/netdevsim10') == \
        'host-switchdev'
    assert _dpu.eswitch_owner(0, fixture('devlink-eswitch-legacy.json'), 'netdevsim/netdevsim10') == 'host-legacy'
    assert _dpu.eswitch_owner(1, '', 'pci/0000:03:00.0') == 'dpu'


def test_dpu_host_field_failures():
    pf = {'address': '0000:03:00.0', 'sriov': {'numvfs': 0, 'vfs': []}}
    problems = _dpu.dpu_host_health(pf, 4, 0, 'dpu', {'10.0.0.5'}, '10.0.0.99')
    assert problems[0].startswith('the VFs of 0000:03:00.0 are gone (0 of 4): a DPU reset removes every host VF')
    assert problems[1].startswith('the management-port VF 0 of 0000:03:00.0 is missing')
    assert problems[2].startswith('the node publishes 10.0.0.99, which is not an address of this host (10.0.0.5)')
    ok = {'address': '0000:03:00.0', 'sriov': {'numvfs': 2, 'vfs': [{'index': 0}, {'index': 1}]}}
    assert _dpu.dpu_host_health(ok, 2, 0, 'dpu', {'10.0.0.5'}, '10.0.0.5') == []
