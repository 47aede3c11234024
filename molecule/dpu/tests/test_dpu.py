# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two guests' real state after the ovn_dpu role (dpu-1: mode dpu on netdevsim with Debian's OVS/OVN;
host-1: mode dpu-host on the igb PF), read with their own tools, and the refusals of bad input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest


def name_of(host):
    return host.ansible.get_variables()['inventory_hostname']


@pytest.fixture
def dpu(host):
    if name_of(host) != 'dpu-1':
        pytest.skip('DPU checks run on dpu-1')
    return host


@pytest.fixture
def dpu_host(host):
    if name_of(host) != 'host-1':
        pytest.skip('dpu-host checks run on host-1')
    return host


def module_result(host, module, args):
    """A module's result whether it failed or not (ansible-core 2.19's --tree result may lack 'failed')."""
    try:
        return host.ansible(module, args, check=False)
    except host.ansible.AnsibleException as exc:
        return exc.result


# ---------------------------------------------------------------- dpu

def test_dpu_eswitch_in_switchdev_with_representors(dpu):
    shown = json.loads(dpu.check_output('devlink -j dev eswitch show netdevsim/netdevsim10'))
    assert shown['dev']['netdevsim/netdevsim10']['mode'] == 'switchdev'
    assert dpu.file('/sys/bus/netdevsim/devices/netdevsim10/sriov_numvfs').content_string.strip() == '2'
    for vf in (0, 1):
        assert dpu.file('/sys/class/net/eni10npf0vf%d/phys_port_name' % vf).content_string.strip() == 'pf0vf%d' % vf
    assert 'hw-tc-offload: on' in dpu.check_output('ethtool -k eni10np1')


def test_dpu_ovs_settings_read_back(dpu):
    assert dpu.check_output('ovs-vsctl get Open_vSwitch . other_config:hw-offload') == '"true"'
    ids = dpu.check_output('ovs-vsctl --format=json --columns=external_ids list Open_vSwitch')
    ids = dict(json.loads(ids)['data'][0][0][1])
    assert ids['host-k8s-nodename'] == 'host-1'
    assert ids['hostname'] == dpu.check_output('hostname')  # the start script records the system's
    assert ids['system-id'] == 'dpu-1'
    assert ids['ovn-encap-ip'] == '10.0.2.15'
    assert ids['ovn-encap-type'] == 'geneve'
    assert ids['ovn-gw-interface'] == 'brp0'
    assert ids['ovn-gw-nexthop'] == '10.0.2.2'
    assert ids['ovn-gw-router-subnet'] == '10.0.2.0/24'
    assert ids['ovn-remote'] == 'unix:/var/run/ovn/ovnsb_db.sock'
    assert dpu.file('/etc/openvswitch/system-id.conf').content_string == 'dpu-1\n'
    # the ovs-vswitchd that runs was started with hw-offload: its log names the tc flow API
    assert 'linux_tc' in dpu.check_output('grep -h linux_tc /var/log/openvswitch/ovs-vswitchd.log')


def test_dpu_bridge_holds_uplink_representor_and_vtep(dpu):
    assert sorted(dpu.check_output('ovs-vsctl list-ports brp0').split()) == ['eni10np1', 'eni10npf0vf0', 'vtep0']
    assert dpu.check_output('ovs-vsctl get-fail-mode brp0') == 'standalone'
    assert dpu.check_output('ovs-vsctl get Interface vtep0 type') == 'internal'


def test_dpu_chassis_registered_in_the_local_southbound_db(dpu):
    assert dpu.check_output('ovn-appctl -t ovn-controller connection-status') == 'connected'
    show = dpu.check_output('ovn-sbctl show')
    assert re.search(r'Chassis "?dpu-1"?\n', show), show
    assert 'geneve' in show and '10.0.2.15' in show


def test_dpu_settings_file_and_label_free_run(dpu):
    env = dpu.file('/etc/ovn-kubernetes/ovnkube-node.env').content_string
    assert 'OVNKUBE_NODE_MODE=dpu\n' in env
    assert 'OVS_EXTERNAL_IDS_HOST_K8S_NODENAME=host-1\n' in env
    assert 'K8S_APISERVER=https://10.0.2.2:6443\n' in env


def test_dpu_host_mode_refused_where_ovs_runs(dpu):
    result = module_result(dpu, 'dataplane.node.ovn_dpu_check', 'mode=dpu-host pf=0000:00:03.0 numvfs=1 mgmt_vf=0')
    assert any(p.startswith('Open vSwitch is installed and running (ovs-vswitchd pid ')
               for p in result['problems']), result


def test_bad_dpu_input_refused(dpu):
    args = ('mode=dpu host_node=host-1 host_cluster_api=https://10.0.2.2:6443 external_ids=\'{"host-k8s-nodename": '
            '"host-1", "hostname": "dpu-1", "ovn-encap-ip": "192.0.2.7", "ovn-encap-type": "geneve", '
            '"ovn-gw-interface": "brp0", "ovn-gw-nexthop": "10.0.2.2", "ovn-remote": "10.0.2.2:6642"}\'')
    result = module_result(dpu, 'dataplane.node.ovn_dpu_check', args)
    assert any(p.startswith('ovn-encap-ip 192.0.2.7 is not an address of this node') for p in result['problems'])
    assert any('is not an OVN connection string' in p for p in result['problems'])
    result = module_result(dpu, 'dataplane.node.ovn_dpu_check', 'mode=dpu external_ids={}')
    assert 'a DPU must name the dpu-host node it serves (host-k8s-nodename)' in result['problems']
    result = module_result(dpu, 'dataplane.node.devlink_eswitch', 'device=pci/0000:00:03.0 numvfs=2')
    assert 'is not a Mellanox/NVIDIA device' in result['msg']
    assert json.loads(dpu.check_output('devlink -j dev eswitch show netdevsim/netdevsim10'))['dev'][
        'netdevsim/netdevsim10']['mode'] == 'switchdev'


# ---------------------------------------------------------------- dpu-host

def test_dpu_host_has_no_ovs(dpu_host):
    assert not dpu_host.file('/usr/sbin/ovs-vswitchd').exists
    assert not dpu_host.file('/etc/openvswitch').exists


def test_dpu_host_vfs_and_management_port_by_pci_address(dpu_host):
    assert dpu_host.file('/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs').content_string.strip() == '4'
    vf1 = dpu_host.check_output('readlink /sys/bus/pci/devices/0000:00:03.0/virtfn1').rsplit('/', 1)[1]
    record = json.loads(dpu_host.file('/etc/dataplane-node/ovn-dpu.json').content_string)
    assert record['mode'] == 'dpu-host'
    assert record['mgmt_port']['address'] == vf1
    assert record['mgmt_port']['annotation'] == {'PfId': 0, 'FuncId': 1}
    netdev = record['mgmt_port']['netdevs'][0]
    assert dpu_host.file('/sys/class/net/%s/device' % netdev).linked_to.endswith(vf1)
    env = dpu_host.file('/etc/ovn-kubernetes/ovnkube-node.env').content_string
    assert 'OVNKUBE_NODE_MODE=dpu-host\n' in env
    assert 'OVNKUBE_NODE_MGMT_PORT_NETDEV=%s\n' % netdev in env
    assert 'OVNKUBE_NODE_MGMT_PORT_PCI=%s\n' % vf1 in env
    assert 'OVN_GATEWAY_INTERFACE=derive-from-mgmt-port\n' in env


def test_dpu_host_made_no_eswitch_change(dpu_host):
    # the host never runs devlink eswitch set: the PF's eSwitch (none on igb) is the DPU's to own
    health = dpu_host.ansible('dataplane.node.ovn_dpu_check',
                              'mode=dpu-host phase=health pf=0000:00:03.0 numvfs=4 mgmt_vf=1', check=False)
    assert health['eswitch_owner'] == 'dpu'
    assert health['problems'] == []


def test_dpu_host_reports_vfs_gone_and_bad_input(dpu_host):
    result = module_result(dpu_host, 'dataplane.node.ovn_dpu_check', 'mode=dpu-host pf=0000:00:03.0 numvfs=4 mgmt_vf=4')
    assert result['problems'] == ['management VF 4 is beyond the 4 VFs requested (0-3)']
    result = module_result(dpu_host, 'dataplane.node.ovn_dpu_check', 'mode=dpu-hosts')
    assert "mode 'dpu-hosts' is not one of full, dpu, dpu-host" in result['msg']
    # a DPU reset removes every host VF: simulate it, read the report, put the VFs back
    dpu_host.run_test('echo 0 > /sys/bus/pci/devices/0000:00:03.0/sriov_numvfs')
    try:
        result = module_result(dpu_host, 'dataplane.node.ovn_dpu_check',
                               'mode=dpu-host phase=health pf=0000:00:03.0 numvfs=4 mgmt_vf=1')
        assert result['problems'][0].startswith('the VFs of 0000:00:03.0 are gone (0 of 4): a DPU reset removes')
        assert result['problems'][1].startswith('the management-port VF 1 of 0000:00:03.0 is missing')
    finally:
        dpu_host.run_test('echo 4 > /sys/bus/pci/devices/0000:00:03.0/sriov_numvfs')
