# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management-stack resolver on host trees laid out like the kernel's sysfs (tests/tools/synthhost.py
stacked(): a VLAN on a PF, a VLAN on a bond of two PFs, a bridge over a VF, a macvlan, an OVS br-ex), with
ovs-vsctl output in the captured shape (tests/fixtures/netstack)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils import _netstack as ns
from ansible_collections.dataplane.node.plugins.module_utils._host import Host

import synthhost

NETSTACK = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'netstack')
ADDRESSES = {'ens1f0.100': ['10.100.0.2/24'], 'bond0.120': ['10.1.2.3/24', 'fd00:120::3/64'],
             'br0': ['10.9.0.5/24'], 'mv0': ['10.3.0.1/24'], 'br-ex': ['192.168.5.10/24'], 'eno1': ['172.16.0.9/24']}


def fixture(name):
    with open(os.path.join(NETSTACK, name)) as handle:
        return handle.read()


def captured_ovs():
    return ns.parse_ovs_bridges(fixture('ovs-vsctl-list-br.txt'),
                                {'br-ex': fixture('ovs-vsctl-list-ifaces-br-ex.txt'),
                                 'br-int': fixture('ovs-vsctl-list-ifaces-br-int.txt')})


@pytest.fixture
def stacked(tmp_path):
    """(Host, builder) of the stacked node; the builder's ip_addr() gives the node's `ip -json addr show`."""
    builder = synthhost.stacked()
    return Host(builder.write(str(tmp_path / 'stacked'))), builder


def devices_for(host, builder, address, ovs=None, source='addresses'):
    seeds = {'addresses': dict(addresses=[address]), 'ssh': dict(ssh=[(address, 'environment')])}[source]
    stack = ns.resolve(host.fs, ns.management_sources(**seeds), builder.ip_addr(ADDRESSES), ovs)
    return stack, stack['devices']


def test_vlan_on_a_pf(stacked):
    host, builder = stacked
    stack, devices = devices_for(host, builder, '10.100.0.2')
    assert devices == {'0000:3b:00.0': ['0000:3b:00.0 (ens1f0) -> ens1f0.100 (10.100.0.2, management_addresses)']}
    # The PF's VFs do not carry the VLAN: they stay free.
    assert ns.guard_problems(stack, ['0000:3b:10.0', '0000:3b:10.2'], 'binding it to vfio-pci') == []
    assert ns.guard_problems(stack, ['0000:3b:00.0'], 'binding it to vfio-pci') == [
        '0000:3b:00.0 carries the management connection [0000:3b:00.0 (ens1f0) -> ens1f0.100 (10.100.0.2, '
        'management_addresses)]: binding it to vfio-pci would cut it (set allow_management to do it anyway)']
    assert ns.guard_problems(stack, ['0000:3b:00.0'], 'binding it to vfio-pci', allow=True) == []


def test_vlan_on_a_bond_of_two_pfs_from_the_ssh_session(stacked):
    host, builder = stacked
    stack, devices = devices_for(host, builder, '10.1.2.3', source='ssh')
    assert devices == {
        '0000:5e:00.0': ['0000:5e:00.0 (ens2f0) -> bond0 -> bond0.120 (10.1.2.3, this SSH session)'],
        '0000:5e:00.1': ['0000:5e:00.1 (ens2f1) -> bond0 -> bond0.120 (10.1.2.3, this SSH session)']}
    assert stack['netdevs'] == {'bond0.120': ['10.1.2.3, this SSH session']}
    assert (stack['identified'], stack['crosses_ovs'], stack['warnings']) == (True, False, [])


def test_bond_slaves_are_read_without_lower_links(tmp_path):
    """Older kernels and some teams expose only bonding/slaves: the slaves are found through it alone."""
    builder = synthhost.stacked()
    for name in ('ens2f0', 'ens2f1'):
        del builder.entries['links']['sys/devices/virtual/net/bond0/lower_' + name]
    host = Host(builder.write(str(tmp_path / 'h')))
    _stack, devices = devices_for(host, builder, '10.1.2.3')
    assert sorted(devices) == ['0000:5e:00.0', '0000:5e:00.1']


def test_bridge_over_a_vf_protects_the_vf_and_its_pf(stacked):
    host, builder = stacked
    stack, devices = devices_for(host, builder, '10.9.0.5')
    assert devices == {
        '0000:86:02.0': ['0000:86:02.0 (ens3f0v0) -> br0 (10.9.0.5, management_addresses)'],
        # Unbinding the PF or changing its VF count removes the VF, and the bridge's only port with it.
        '0000:86:00.0': ['0000:86:00.0 (ens3f0) -> VF 0000:86:02.0 (ens3f0v0) -> br0 (10.9.0.5, '
                         'management_addresses)']}
    assert ns.guard_problems(stack, ['0000:86:02.1'], 'x') == []  # the PF's other VF


def test_macvlan_on_a_pf(stacked):
    host, builder = stacked
    _stack, devices = devices_for(host, builder, '10.3.0.1')
    assert devices == {'0000:af:00.0': ['0000:af:00.0 (ens4f0) -> mv0 (10.3.0.1, management_addresses)']}


def test_ovs_bridge_holding_the_address_with_captured_ovs_vsctl(tmp_path):
    builder = synthhost.stacked()
    builder.ovs('br-int', ['eno1'])  # another bridge of the same datapath, not carrying management
    builder.class_net()
    host = Host(builder.write(str(tmp_path / 'h')))
    assert captured_ovs() == {'br-ex': ['br-ex', 'ens5f0', 'patch-br-ex_worker1-to-br-int'],
                              'br-int': ['br-int', 'ens4f0_0', 'ovn-k8s-mp0', 'patch-br-int-to-br-ex_worker1']}
    stack, devices = devices_for(host, builder, '192.168.5.10', ovs=captured_ovs())
    assert devices == {'0000:d8:00.0': ['0000:d8:00.0 (ens5f0) -> br-ex (192.168.5.10, management_addresses)']}
    assert stack['crosses_ovs'] is True
    assert ns.ovs_problems(stack, 'restarting ovs-vswitchd') == [
        'the management connection runs through Open vSwitch (0000:d8:00.0 (ens5f0) -> br-ex (192.168.5.10, '
        'management_addresses)): restarting ovs-vswitchd would cut it (set allow_management to do it anyway)']
    # Without ovs-vsctl (OVS down, or not asked) every NIC of the ovs-system datapath is assumed to carry it.
    _stack, devices = devices_for(host, builder, '192.168.5.10', ovs=None)
    assert sorted(devices) == ['0000:00:1f.6', '0000:d8:00.0']


def test_ipv6_only_management(tmp_path):
    builder = synthhost.stacked()
    builder.default_route6('bond0.120')
    host = Host(builder.write(str(tmp_path / 'h')))
    assert host.default_route_netdevs() == ['bond0.120']
    ssh = ns.ssh_connection_addresses({'SSH_CONNECTION': 'fd00:120::99 50022 FD00:120:0::3 22'})
    assert ssh == [('fd00:120::3', 'environment')]
    stack = ns.host_stack(host, ssh=ssh, ip_addr_json=builder.ip_addr(ADDRESSES))
    assert stack['netdevs'] == {'bond0.120': ['fd00:120::3, this SSH session', 'default route']}
    assert stack['devices']['0000:5e:00.0'] == [
        '0000:5e:00.0 (ens2f0) -> bond0 -> bond0.120 (fd00:120::3, this SSH session; default route)']


def test_ssh_connection_from_an_ancestor_under_sudo(tmp_path):
    """sudo scrubs SSH_CONNECTION from the module's environment; the login shell above it still has it."""
    builder = synthhost.stacked()
    builder.process(4242, 4100, {'PATH': '/usr/bin', 'SUDO_USER': 'ops'})               # python (the module)
    builder.process(4100, 4000, {'PATH': '/usr/bin', 'SUDO_COMMAND': '/bin/sh -c ...'})  # sudo
    builder.process(4000, 3999, {'SSH_CONNECTION': '10.1.2.200 51514 10.1.2.3 22', 'USER': 'ops'})  # login shell
    builder.process(3999, 1, {})                                                          # sshd
    host = Host(builder.write(str(tmp_path / 'h')))
    assert ns.ssh_connection_addresses({'PATH': '/usr/bin'}, host.fs, 4242) == [('10.1.2.3', 'process 4000')]
    assert ns.ssh_connection_addresses({}, host.fs, 4100) == [('10.1.2.3', 'process 4000')]
    assert ns.ssh_connection_addresses({}, host.fs, 3999) == []  # nothing above sshd
    stack = ns.host_stack(host, ssh=ns.ssh_connection_addresses({}, host.fs, 4242),
                          ip_addr_json=builder.ip_addr(ADDRESSES))
    assert sorted(stack['devices']) == ['0000:5e:00.0', '0000:5e:00.1']


def test_nothing_identifies_the_management_connection(stacked):
    host, builder = stacked
    stack = ns.host_stack(host, addresses=['198.51.100.7'], ip_addr_json=builder.ip_addr(ADDRESSES))
    assert (stack['identified'], stack['devices'], stack['unmatched']) == (False, {}, ['198.51.100.7'])
    assert stack['warnings'] == [
        'nothing identifies the management connection on this node (no SSH_CONNECTION, no management address held '
        'by a netdev, no management interface, no default route): the management guard cannot protect it']
    # One match is enough to protect it; the other address is reported.
    stack = ns.host_stack(host, addresses=['198.51.100.7', '172.16.0.9'], ip_addr_json=builder.ip_addr(ADDRESSES))
    assert sorted(stack['devices']) == ['0000:00:1f.6']
    assert stack['warnings'] == ['no netdev holds 198.51.100.7: that management address is not protected']


def test_default_route_and_interface_seeds_on_the_captured_guest(host_root):
    """The captured guest has no sys/class/net: the netdevs' devices come from the host model's PCI section."""
    host = Host(host_root('qemu-igb'))
    stack = ns.host_stack(host, interfaces=['enp0s4', 'nosuch0'])
    assert stack['devices'] == {'0000:00:02.0': ['0000:00:02.0 (enp0s2: default route)'],
                                '0000:00:04.0': ['0000:00:04.0 (enp0s4: management_interfaces)']}


def test_pure_parsers():
    assert ns.normalize_address('::ffff:10.0.0.1') == '10.0.0.1'
    assert ns.normalize_address('fe80::1%enp0s3') == 'fe80::1'
    assert ns.normalize_address('[2001:DB8:0::1]') == '2001:db8::1'
    assert ns.normalize_address('node1.example.com') == 'node1.example.com'
    assert (ns.is_address('10.0.0.1'), ns.is_address('fd00::1'), ns.is_address('node1')) == (True, True, False)
    assert ns.ssh_server_address('10.0.0.9 5000 10.0.0.1 22') == '10.0.0.1'
    assert ns.ssh_server_address('garbage') is None
    assert ns.parse_environ('A=1\0SSH_CONNECTION=a b c d\0\0') == {'A': '1', 'SSH_CONNECTION': 'a b c d'}
    assert ns.parse_ppid('Name:\tsh\nPid:\t10\nPPid:\t7\n') == 7
    assert ns.parse_ppid('') is None
    links = [{'ifname': 'eth0', 'addr_info': [{'local': '10.0.0.1'}, {'local': 'FD00::1'}]}]
    assert ns.address_netdevs(links, ['fd00:0::1', '10.0.0.2']) == {'fd00::1': ['eth0'], '10.0.0.2': []}


def _with_class_net(root):
    """The captured QEMU guest with sys/class/net as the kernel lays it out: class/net/enp0s2 links into the
    PCI function's virtio0 child and its `device` link is relative ('../../../virtio0'). The capture left
    class/net out; the VM run of 2026-12-02 found the guard blind to exactly this shape."""
    net = os.path.join(root, 'sys/class/net')
    os.makedirs(net)
    os.symlink('../../devices/pci0000:00/0000:00:02.0/virtio0/net/enp0s2', os.path.join(net, 'enp0s2'))
    os.symlink('../../../virtio0', os.path.join(root, 'sys/devices/pci0000:00/0000:00:02.0/virtio0/net/enp0s2/device'))
    return root


@pytest.fixture
def qemu_guest(tmp_path):
    import hosttree
    root = str(tmp_path / 'qemu')
    hosttree.load_tree(os.path.join(os.path.dirname(NETSTACK), 'hosts', 'qemu-igb.tree'), root)
    return _with_class_net(root)


@pytest.mark.parametrize('by_host_model', [True, False])
def test_virtio_management_nic_by_default_route_alone(qemu_guest, by_host_model):
    """No SSH_CONNECTION, no management address: the default route alone must protect the virtio NIC under it,
    whether the host model names its netdev or only sysfs' relative `device` link does."""
    host = Host(qemu_guest)
    pci_netdevs = ns.pci_netdev_map(host) if by_host_model else {}
    graph = ns.NetGraph(host.fs, None, pci_netdevs)
    assert graph.device('enp0s2') == '0000:00:02.0'
    stack = ns.resolve(host.fs, ns.management_sources(default_routes=host.default_route_netdevs()), [], None,
                       pci_netdevs)
    assert stack['identified']
    assert stack['devices'] == {'0000:00:02.0': ['0000:00:02.0 (enp0s2: default route)']}
    problems = ns.guard_problems(stack, ['0000:00:02.0'], 'binding it to vfio-pci')
    assert len(problems) == 1 and 'default route' in problems[0]


def test_virtio_management_nic_by_ssh_session(qemu_guest):
    host = Host(qemu_guest)
    ip_json = [{'ifname': 'enp0s2', 'addr_info': [{'local': '10.0.2.15', 'prefixlen': 24}]}]
    stack = ns.host_stack(host, ssh=[('10.0.2.15', 'environment')], ip_addr_json=ip_json)
    assert stack['devices']['0000:00:02.0'][0].startswith('0000:00:02.0 (enp0s2: 10.0.2.15, this SSH session')
