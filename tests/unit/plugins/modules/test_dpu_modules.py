# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DPU modules as Ansible runs them, in check mode, on host trees (the captured QEMU guest, and a netdevsim
device laid out as the guest's sysfs showed it). The node's tools (devlink, ip, ethtool, mstconfig) are replaced on
PATH by scripts that replay output captured in the testbed guest (tests/fixtures/dpu); the modules are real."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat

import pytest

from ansible_collections.dataplane.node.plugins.modules import devlink_eswitch, mlx_firmware, ovn_dpu_check, ovs_settings

import hosttree

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures')
DPU = os.path.join(FIXTURES, 'dpu')
SWITCH_ID = 'd3ea856e197014aca02eab0dc64343a5717753b29c2d71a29c6d6490d5e20077'


def tool(bindir, name, script):
    path = os.path.join(str(bindir), name)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n' + script)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """A bin directory first on PATH; tool(name, script) adds a replaying script to it."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    monkeypatch.setenv('PATH', '%s:%s' % (bindir, os.environ.get('PATH', '')))
    tool(bindir, 'ip', 'case "$1" in -V) cat %s/ip-V.txt;; -j) cat %s/ip-addr.json;; esac\n' % (DPU, DPU))
    return lambda name, script: tool(bindir, name, script)


def write(root, rel, text):
    path = os.path.join(str(root), rel)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'w') as handle:
        handle.write(text)


def netdevsim_tree(root, numvfs, reps=()):
    """sys as the guest showed netdevsim10 (one port, no sriov_totalvfs), with VF representors `reps`."""
    base = 'sys/bus/netdevsim/devices/netdevsim10'
    write(root, base + '/sriov_numvfs', '%d\n' % numvfs)
    for name, port in [('eni10np1', 'p1')] + [('eni10npf0vf%d' % n, 'pf0vf%d' % n) for n in reps]:
        os.makedirs(os.path.join(str(root), base, 'net', name))
        write(root, 'sys/class/net/%s/phys_port_name' % name, port + '\n')
        write(root, 'sys/class/net/%s/phys_switch_id' % name, SWITCH_ID + '\n')
    write(root, 'proc/sys/kernel/osrelease', '6.1.0-56-amd64\n')
    return str(root)


def test_devlink_eswitch_plans_the_switchdev_order(run_module, tools, tmp_path):
    root = netdevsim_tree(tmp_path / 'root', 0)
    tools('devlink', 'cat %s/devlink-eswitch-legacy.json\n' % DPU)
    tools('ethtool', 'echo "hw-tc-offload: off"\n')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True, '_ansible_diff': True,
                                                'device': 'netdevsim/netdevsim10', 'numvfs': 2})
    assert code == 0, result
    assert result['steps'] == ['/sys/bus/netdevsim/devices/netdevsim10/sriov_numvfs = 2', 'wait for 2 VFs',
                               'devlink dev eswitch set netdevsim/netdevsim10 mode switchdev',
                               '-K eni10np1 hw-tc-offload on']
    assert result['diff'] == {'before': {'mode': 'legacy', 'numvfs': 0}, 'after': {'mode': 'switchdev', 'numvfs': 2}}
    assert result['changed'] is True


def test_devlink_eswitch_idempotent_with_representors(run_module, tools, tmp_path):
    root = netdevsim_tree(tmp_path / 'root', 2, reps=(0, 1))
    tools('devlink', 'cat %s/devlink-eswitch-switchdev.json\n' % DPU)
    tools('ethtool', 'echo "hw-tc-offload: on"\n')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True,
                                                'device': 'netdevsim/netdevsim10', 'numvfs': 2})
    assert (code, result['changed'], result['steps']) == (0, False, [])
    assert result['representors'] == {'uplinks': ['eni10np1'], 'pfs': {},
                                      'vfs': {'pf0vf0': 'eni10npf0vf0', 'pf0vf1': 'eni10npf0vf1'}}


def test_devlink_eswitch_leaves_representor_offload_to_the_driver(run_module, tools, tmp_path):
    # netdevsim keeps hw-tc-offload off on VF representors whatever ethtool -K asks (seen in the testbed guest):
    # only the uplink is the module's, so a converged device plans nothing
    root = netdevsim_tree(tmp_path / 'root', 2, reps=(0, 1))
    tools('devlink', 'cat %s/devlink-eswitch-switchdev.json\n' % DPU)
    tools('ethtool', 'case "$2" in eni10np1) echo "hw-tc-offload: on";; *) echo "hw-tc-offload: off";; esac\n')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True,
                                                'device': 'netdevsim/netdevsim10', 'numvfs': 2})
    assert (code, result['changed'], result['steps']) == (0, False, [])
    tools('ethtool', 'echo "hw-tc-offload: off"\n')
    code, result = run_module(devlink_eswitch, {'root': root, '_ansible_check_mode': True,
                                                'device': 'netdevsim/netdevsim10', 'numvfs': 2})
    assert (code, result['changed'], result['steps']) == (0, True, ['-K eni10np1 hw-tc-offload on'])


def test_devlink_eswitch_refuses_before_any_change(run_module, tools, host_root):
    tools('devlink', 'echo "kernel answers: No such device" >&2; exit 1\n')
    code, result = run_module(devlink_eswitch, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                                'device': 'pci/0000:00:03.0', 'numvfs': 2, 'mode': 'legacy'})
    assert code == 1
    assert result['msg'] == ('nothing changed: devlink dev eswitch show pci/0000:00:03.0 failed: kernel answers: No '
                             'such device')
    # refused before devlink is even asked
    code, result = run_module(devlink_eswitch, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                                'device': 'pci/0000:00:03.0', 'numvfs': 2})
    assert result['problems'] == ['pci/0000:00:03.0 is not a Mellanox/NVIDIA device (vendor 0x8086): switchdev is '
                                  'only set on ConnectX and BlueField NICs']
    tools('devlink', 'cat %s/devlink-eswitch-legacy.json | sed s,netdevsim/netdevsim10,pci/0000:00:03.0,\n' % DPU)
    code, result = run_module(devlink_eswitch, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                                'device': 'pci/0000:00:03.0', 'numvfs': 9})
    assert result['problems'] == ['pci/0000:00:03.0 supports 0 to 7 VFs, 9 asked']
    code, result = run_module(devlink_eswitch, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                                'device': 'pci/0000:00:03.0', 'numvfs': 2})
    assert result['problems'] == ['pci/0000:00:03.0 is not a Mellanox/NVIDIA device (vendor 0x8086): switchdev is '
                                  'only set on ConnectX and BlueField NICs']
    code, result = run_module(devlink_eswitch, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                                'device': 'eth0'})
    assert code == 1 and 'is not a devlink handle' in result['msg']


@pytest.fixture
def igb_with_ovs(host_root, tmp_path):
    """The captured QEMU guest with a running ovs-vswitchd (pidfile naming a live process)."""
    root = str(tmp_path / 'igb')
    hosttree.load_tree(os.path.join(FIXTURES, 'hosts', 'qemu-igb.tree'), root)
    write(root, 'usr/sbin/ovs-vswitchd', '')
    write(root, 'run/openvswitch/ovs-vswitchd.pid', '4242\n')
    write(root, 'proc/4242/comm', 'ovs-vswitchd\n')
    return root


def test_dpu_host_preflight_pairing_facts(run_module, tools, host_root):
    tools('devlink', 'echo "kernel answers: No such device" >&2; exit 1\n')
    code, result = run_module(ovn_dpu_check, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                              'mode': 'dpu-host', 'pf': '00:03.0', 'numvfs': 4, 'mgmt_vf': 1})
    assert code == 0, result
    assert result['eswitch_owner'] == 'dpu'
    assert result['ovs'] == {'installed': False, 'running': False, 'pid': None}
    assert result['mgmt_port'] == {'pf': '0000:00:03.0', 'vf_index': 1, 'address': '0000:00:13.2',
                                   'netdevs': result['mgmt_port']['netdevs'], 'annotation': {'PfId': 0, 'FuncId': 1}}
    assert result['versions']['iproute2'] == 'ip utility, iproute2-6.1.0, libbpf 1.1.2'


def test_dpu_host_refused_with_ovs_running_and_bad_vf(run_module, tools, igb_with_ovs):
    tools('devlink', 'echo "kernel answers: No such device" >&2; exit 1\n')
    code, result = run_module(ovn_dpu_check, {'root': igb_with_ovs, '_ansible_check_mode': True,
                                              'mode': 'dpu-host', 'pf': '0000:00:03.0', 'numvfs': 8, 'mgmt_vf': 8})
    assert code == 1
    assert result['problems'] == [
        'management VF 8 is beyond the 8 VFs requested (0-7)',
        'Open vSwitch is installed and running (ovs-vswitchd pid 4242): a dpu-host has no OVS, the DPU\'s eSwitch '
        'forwards its traffic and a host OVS would take the VFs\' traffic; stop and remove openvswitch-switch first',
        '0000:00:03.0 supports 7 VFs, 8 asked']
    assert result['msg'].startswith('nothing changed: ')


def test_dpu_host_refused_when_the_host_owns_the_eswitch(run_module, tools, host_root):
    tools('devlink', 'sed s,netdevsim/netdevsim10,pci/0000:00:03.0, %s/devlink-eswitch-switchdev.json\n' % DPU)
    code, result = run_module(ovn_dpu_check, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                              'mode': 'dpu-host', 'pf': '0000:00:03.0', 'numvfs': 2, 'mgmt_vf': 0})
    assert code == 1 and result['eswitch_owner'] == 'host-switchdev'
    assert result['problems'][0].startswith('the eSwitch of 0000:00:03.0 is in switchdev on this host')


def test_dpu_preflight_needs_pairing_api_and_local_encap_ip(run_module, tools, host_root):
    tools('ovs-vswitchd', 'cat %s/ovs-vswitchd-version.txt\n' % DPU)
    ids = {'hostname': 'dpu-1', 'ovn-encap-ip': '10.0.2.15', 'ovn-encap-type': 'geneve', 'ovn-gw-interface': 'brp0',
           'ovn-gw-nexthop': '10.0.2.2', 'ovn-remote': 'unix:/var/run/ovn/ovnsb_db.sock'}
    args = {'root': host_root('qemu-igb'), '_ansible_check_mode': True, 'mode': 'dpu', 'external_ids': ids}
    code, result = run_module(ovn_dpu_check, dict(args, host_node='host-1', host_cluster_api='https://10.0.2.2:6443'))
    assert code == 0, result
    code, result = run_module(ovn_dpu_check, args)
    assert result['problems'] == ['a DPU must name the dpu-host node it serves (host-k8s-nodename)',
                                  'the DPU launcher needs the Open_vSwitch external_ids host-k8s-nodename',
                                  "the host cluster API endpoint None is not an https://HOST[:PORT] URL"]
    code, result = run_module(ovn_dpu_check, dict(args, mode='dpu-hosts'))
    assert result['msg'] == "nothing changed: mode 'dpu-hosts' is not one of full, dpu, dpu-host"


def test_mlx_firmware_refuses_a_change_without_power_cycle(run_module, tools, tmp_path):
    tools('mstconfig', 'case "$1" in -e) exit 3;; esac; cat %s/mstconfig-bf2-dpu-query.txt\n' % DPU)
    args = {'_ansible_check_mode': True, 'device': '03:00.0', 'sriov_en': True, 'num_of_vfs': 8, 'dpu_mode': 'dpu'}
    code, result = run_module(mlx_firmware, args)
    assert code == 0, result
    assert (result['changed'], result['set'], result['power_cycle_required']) == (False, [], False)
    assert result['tool'].endswith('/mstconfig')
    code, result = run_module(mlx_firmware, dict(args, num_of_vfs=16, dpu_mode='nic'))
    assert code == 1
    assert result['msg'].startswith('nothing changed: the firmware of 0000:03:00.0 needs INTERNAL_CPU_ESWITCH_MANAGER=1 ')
    assert result['msg'].endswith('which takes a power cycle; set allow_power_cycle to change it')
    assert result['problems'] == [result['msg'][len('nothing changed: '):]] and result['set'] == [
        'INTERNAL_CPU_ESWITCH_MANAGER=1', 'INTERNAL_CPU_IB_VPORT0=1', 'INTERNAL_CPU_OFFLOAD_ENGINE=1',
        'INTERNAL_CPU_PAGE_SUPPLIER=1', 'NUM_OF_VFS=16']
    code, result = run_module(mlx_firmware, dict(args, num_of_vfs=16, allow_power_cycle=True, _ansible_diff=True))
    assert code == 0 and result['changed'] is True and result['set'] == ['NUM_OF_VFS=16']
    assert result['reason'] == ('firmware of 0000:03:00.0 (BlueField2): NUM_OF_VFS=16; needs a power cycle or firmware '
                                'reset (mlxfwreset), a warm reboot may not apply it')
    assert result['diff'] == {'before': {'SRIOV_EN': 1, 'NUM_OF_VFS': 8, 'INTERNAL_CPU_MODEL': 1,
                                         'INTERNAL_CPU_PAGE_SUPPLIER': 0, 'INTERNAL_CPU_ESWITCH_MANAGER': 0,
                                         'INTERNAL_CPU_IB_VPORT0': 0, 'INTERNAL_CPU_OFFLOAD_ENGINE': 0},
                              'after': {'SRIOV_EN': 1, 'NUM_OF_VFS': 16, 'INTERNAL_CPU_MODEL': 1,
                                        'INTERNAL_CPU_PAGE_SUPPLIER': 0, 'INTERNAL_CPU_ESWITCH_MANAGER': 0,
                                        'INTERNAL_CPU_IB_VPORT0': 0, 'INTERNAL_CPU_OFFLOAD_ENGINE': 0}}


def test_mlx_firmware_pending_power_cycle_and_no_tool(run_module, tools, monkeypatch, tmp_path):
    tools('mlxconfig', 'cat %s/mlxconfig-bf3-nic-e-query.txt\n' % DPU)
    code, result = run_module(mlx_firmware, {'_ansible_check_mode': True, 'device': '0000:17:00.0', 'dpu_mode': 'dpu',
                                             'tool': shutil.which('mlxconfig')})
    assert (code, result['changed'], result['power_cycle_required']) == (0, False, True)
    assert result['reason'].endswith('pending INTERNAL_CPU_OFFLOAD_ENGINE; needs a power cycle or firmware reset '
                                     '(mlxfwreset), a warm reboot may not apply it')
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    code, result = run_module(mlx_firmware, {'_ansible_check_mode': True, 'device': '0000:17:00.0', 'dpu_mode': 'dpu'})
    assert (code, result['tool'], result['changed']) == (0, None, False)


OVS_VSCTL = """for arg in "$@"; do case "$arg" in
  list) cat %s/%s; exit 0;;
  list-br) echo br-int; exit 0;;
esac; done
"""


def test_ovs_settings_plans_one_transaction_restart_and_system_id(run_module, tools, tmp_path):
    tools('ovs-vsctl', OVS_VSCTL % (DPU, 'ovs-vsctl-list-fresh.json'))
    root = str(tmp_path / 'root')
    write(root, 'etc/openvswitch/system-id.conf', '6ee91013-31bc-41e0-85c1-c11d2e77f5f1\n')
    args = {'root': root, '_ansible_check_mode': True, '_ansible_diff': True, 'other_config': {'hw-offload': True},
            'external_ids': {'ovn-encap-ip': '10.0.2.15', 'ovn-remote': 'unix:/var/run/ovn/ovnsb_db.sock'},
            'system_id': 'dpu-1', 'bridge': 'brp0', 'ports': ['eni10np1'], 'internal_ports': ['vtep0'],
            'fail_mode': 'standalone'}
    code, result = run_module(ovs_settings, args)
    assert code == 0, result
    assert result['restarted'] is True and result['changed'] is True
    assert result['changes'] == {
        'other_config': {'hw-offload': [None, 'true']},
        'external_ids': {'ovn-encap-ip': [None, '10.0.2.15'], 'ovn-remote': [None, 'unix:/var/run/ovn/ovnsb_db.sock'],
                         'system-id': ['6ee91013-31bc-41e0-85c1-c11d2e77f5f1', 'dpu-1']},
        'system-id.conf': ['6ee91013-31bc-41e0-85c1-c11d2e77f5f1', 'dpu-1']}
    assert result['commands'] == [
        ['ovs-vsctl', '--may-exist', 'add-br', 'brp0'],
        ['ovs-vsctl', '--may-exist', 'add-port', 'brp0', 'eni10np1'],
        ['ovs-vsctl', '--may-exist', 'add-port', 'brp0', 'vtep0', '--', 'set', 'Interface', 'vtep0', 'type=internal'],
        ['ovs-vsctl', 'set-fail-mode', 'brp0', 'standalone'],
        ['ovs-vsctl', '--', 'set', 'Open_vSwitch', '.', 'other_config:hw-offload=true',
         '--', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.0.2.15',
         '--', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-remote="unix:/var/run/ovn/ovnsb_db.sock"',
         '--', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=dpu-1'],
        ['systemctl', 'restart', 'ovs-vswitchd.service']]
    assert result['diff']['after']['other_config']['hw-offload'] == 'true'


def test_ovs_settings_idempotent_on_the_configured_table(run_module, tools, tmp_path):
    tools('ovs-vsctl', OVS_VSCTL % (DPU, 'ovs-vsctl-list-dpu.json'))
    root = str(tmp_path / 'root')
    write(root, 'etc/openvswitch/system-id.conf', '6ee91013-31bc-41e0-85c1-c11d2e77f5f1\n')
    code, result = run_module(ovs_settings, {
        'root': root, '_ansible_check_mode': True, 'other_config': {'hw-offload': 'true'},
        'external_ids': {'ovn-encap-type': 'geneve', 'host-k8s-nodename': 'worker1'},
        'system_id': '6ee91013-31bc-41e0-85c1-c11d2e77f5f1'})
    assert (code, result['changed'], result['commands'], result['restarted']) == (0, False, [], False)
    code, result = run_module(ovs_settings, {'root': root, '_ansible_check_mode': True, 'system_id': 'a',
                                             'external_ids': {'system-id': 'b'}})
    assert result['msg'] == "nothing changed: system_id 'a' and external_ids.system-id 'b' differ"
