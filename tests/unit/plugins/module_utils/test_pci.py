# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SR-IOV and driver binding on the captured QEMU guest (igb PF with 3 VFs, e1000e, virtio management NIC),
against a stand-in for the kernel's PCI sysfs rules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._apply import SysfsWriter, WriteError
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._pci import (
    PciError, binding_problems, management_netdevs, plan_bind, plan_vfs, select_devices, select_pf, wait_for_vfs)

import synthhost

PF = '0000:00:03.0'
DEFAULT_DRIVERS = {'0x10ca': 'igbvf', '0x10c9': 'igb', '0x10d3': 'e1000e', '0x1000': 'virtio-pci'}
NET_DRIVERS = ('igbvf', 'igb', 'e1000e')


class PciKernel(SysfsWriter):
    """Stands in for the kernel's PCI sysfs: sriov_numvfs refuses N -> M (EBUSY) and creates/destroys VF
    devices; driver_override, driver/unbind and drivers_probe move driver links (and netdevs)."""

    def __init__(self, root):
        SysfsWriter.__init__(self, root)
        self.root = root

    def path(self, rel):
        return os.path.join(self.root, rel)

    def real(self, address):
        return os.path.realpath(self.path('sys/bus/pci/devices/' + address))

    def write(self, rel, text, ignore_errors=False):
        value = text.strip()
        self.writes.append((rel, value))
        if rel.endswith('/sriov_numvfs'):
            return self._numvfs(rel.split('/')[4], int(value))
        if rel.endswith('/driver_override'):
            with open(self.path(rel), 'w') as handle:
                handle.write((value or '(null)') + '\n')
            return True
        if rel.endswith('/driver/unbind'):
            self._unbind(value)
            return True
        if rel == 'sys/bus/pci/drivers_probe':
            self._probe(value)
            return True
        return SysfsWriter.write(self, rel, text, ignore_errors)

    def _numvfs(self, pf, count):
        pf_dir = self.real(pf)
        current = int(open(os.path.join(pf_dir, 'sriov_numvfs')).read())
        if current and count and current != count:
            raise WriteError('writing %d to sriov_numvfs failed: Device or resource busy' % count)
        if count == 0:
            for name in os.listdir(pf_dir):
                if name.startswith('virtfn'):
                    vf = os.path.basename(os.readlink(os.path.join(pf_dir, name)))
                    os.unlink(os.path.join(pf_dir, name))
                    shutil.rmtree(self.real(vf))
                    os.unlink(self.path('sys/bus/pci/devices/' + vf))
        else:
            for index in range(count):
                number = 0x13 * 8 + 2 * index  # QEMU's igb: VFs at 00:13.0, 13.2, ... (stride 2)
                vf = '0000:00:%02x.%d' % (number // 8, number % 8)
                vf_dir = os.path.join(os.path.dirname(pf_dir), vf)
                os.makedirs(vf_dir)
                for name, content in (('vendor', '0x8086'), ('device', '0x10ca'), ('class', '0x020000'),
                                      ('numa_node', '-1'), ('driver_override', '(null)')):
                    with open(os.path.join(vf_dir, name), 'w') as handle:
                        handle.write(content + '\n')
                os.symlink('../' + os.path.basename(pf_dir), os.path.join(vf_dir, 'physfn'))
                os.symlink('../' + vf, os.path.join(pf_dir, 'virtfn%d' % index))
                os.symlink('../../../devices/pci0000:00/' + vf, self.path('sys/bus/pci/devices/' + vf))
                if open(os.path.join(pf_dir, 'sriov_drivers_autoprobe')).read().strip() == '1':
                    self._probe(vf)
        with open(os.path.join(pf_dir, 'sriov_numvfs'), 'w') as handle:
            handle.write('%d\n' % count)
        return True

    def _unbind(self, address):
        device = self.real(address)
        os.unlink(os.path.join(device, 'driver'))
        shutil.rmtree(os.path.join(device, 'net'), ignore_errors=True)

    def _probe(self, address):
        device = self.real(address)
        if os.path.lexists(os.path.join(device, 'driver')):
            return
        override = open(os.path.join(device, 'driver_override')).read().strip()
        driver = override if override != '(null)' else DEFAULT_DRIVERS[open(os.path.join(device, 'device')).read().strip()]
        os.symlink('../../../bus/pci/drivers/' + driver, os.path.join(device, 'driver'))
        if driver in NET_DRIVERS:
            os.makedirs(os.path.join(device, 'net', 'enp0s%s' % address[-4:].replace(':', '').replace('.', 'f')))


@pytest.fixture
def guest(tmp_path, host_root):
    """A writable copy of the captured QEMU guest."""
    root = str(tmp_path / 'guest')
    shutil.copytree(host_root('qemu-igb'), root, symlinks=True)
    return root


# ---------------------------------------------------------------- selection

def test_select_pf_by_address_netdev_and_id(guest):
    pci = Host(guest).pci()
    assert select_pf(pci, address='00:03.0')['address'] == PF
    assert select_pf(pci, netdev='enp0s3')['address'] == PF
    assert select_pf(pci, vendor='8086', device='10c9')['address'] == PF


@pytest.mark.parametrize('kwargs, message', [
    ({'address': '00:03.0;reboot'}, "not a PCI address: '00:03.0;reboot'"),
    ({'address': '0000:00:09.0'}, 'no network/accelerator device at 0000:00:09.0'),
    ({'address': '0000:00:04.0'}, '0000:00:04.0 (e1000e) has no SR-IOV capability'),
    ({'netdev': 'eth9'}, 'no PCI device has the netdev eth9'),
    ({'vendor': '8086', 'device': '10c9', 'index': 1}, '1 device(s) 8086:10c9 found, index 1 asked'),
])
def test_select_pf_errors(guest, kwargs, message):
    with pytest.raises(PciError) as err:
        select_pf(Host(guest).pci(), **kwargs)
    assert err.value.problems == [message]


def test_select_devices(guest):
    host = Host(guest)
    assert select_devices(host.pci(), host.iommu(), vfs_of=PF, vf_indexes=[0, 2]) == ['0000:00:13.0', '0000:00:13.4']
    assert select_devices(host.pci(), host.iommu(), vendor_device='8086:10ca') == [
        '0000:00:13.0', '0000:00:13.2', '0000:00:13.4']
    assert select_devices(host.pci(), host.iommu(), addresses=['00:04.0'], iommu_group='4') == ['0000:00:04.0']
    with pytest.raises(PciError) as err:
        select_devices(host.pci(), host.iommu(), vendor_device='8086-10ca', vfs_of=PF, vf_indexes=[5], iommu_group=99)
    assert err.value.problems == ["vendor_device must be VVVV:DDDD, got '8086-10ca'",
                                  '0000:00:03.0 has no VF index 5 (it has 3 VFs)', 'IOMMU group 99 does not exist']


# ---------------------------------------------------------------- VFs

def test_plan_vfs_writes_zero_first(guest):
    pf = select_pf(Host(guest).pci(), address=PF)
    assert plan_vfs(pf, 4) == [('sys/bus/pci/devices/%s/sriov_numvfs' % PF, '0'),
                               ('sys/bus/pci/devices/%s/sriov_numvfs' % PF, '4')]
    assert plan_vfs(pf, 3) == []
    assert plan_vfs(pf, 0, autoprobe=False) == [('sys/bus/pci/devices/%s/sriov_drivers_autoprobe' % PF, '0'),
                                                ('sys/bus/pci/devices/%s/sriov_numvfs' % PF, '0')]
    with pytest.raises(PciError, match=r'0000:00:03.0 supports 0 to 7 VFs, 8 asked'):
        plan_vfs(pf, 8)
    with pytest.raises(PciError, match='supports 0 to 7 VFs, -1 asked'):
        plan_vfs(pf, -1)


def test_kernel_stand_in_refuses_n_to_m(guest):
    with pytest.raises(WriteError, match='Device or resource busy'):
        PciKernel(guest).write('sys/bus/pci/devices/%s/sriov_numvfs' % PF, '4\n')


def test_vfs_created_and_read_back(guest):
    kernel = PciKernel(guest)
    for rel, value in plan_vfs(select_pf(Host(guest).pci(), address=PF), 4):
        kernel.write(rel, value + '\n')
    pf, ready = wait_for_vfs(lambda: Host(guest).pci()['devices'][PF], 4, True, timeout=0)
    assert ready
    assert pf['sriov']['numvfs'] == 4
    assert [(v['address'], v['driver']) for v in pf['sriov']['vfs']] == [
        ('0000:00:13.0', 'igbvf'), ('0000:00:13.2', 'igbvf'), ('0000:00:13.4', 'igbvf'), ('0000:00:13.6', 'igbvf')]


def test_wait_for_vfs_times_out(guest):
    clock = iter(range(100))
    pf, ready = wait_for_vfs(lambda: Host(guest).pci()['devices'][PF], 5, True, timeout=3,
                             clock=lambda: next(clock), sleep=lambda _s: None)
    assert not ready and len(pf['sriov']['vfs']) == 3


def test_vfio_bound_vfs_are_not_destroyed_without_force(guest):
    kernel = PciKernel(guest)
    for rel, value in plan_bind(Host(guest), '0000:00:13.2', 'vfio-pci'):
        kernel.write(rel, value)
    pf = select_pf(Host(guest).pci(), address=PF)
    with pytest.raises(PciError, match=r'VFs bound to vfio-pci \(0000:00:13.2\), possibly in use by DPDK'):
        plan_vfs(pf, 2)
    assert len(plan_vfs(pf, 2, force=True)) == 2


# ---------------------------------------------------------------- binding

def test_bind_to_vfio_and_back(guest):
    kernel = PciKernel(guest)
    host = Host(guest)
    writes = plan_bind(host, '0000:00:13.0', 'vfio-pci')
    assert writes == [('sys/bus/pci/devices/0000:00:13.0/driver_override', 'vfio-pci'),
                      ('sys/bus/pci/devices/0000:00:13.0/driver/unbind', '0000:00:13.0'),
                      ('sys/bus/pci/drivers_probe', '0000:00:13.0')]
    for rel, value in writes:
        kernel.write(rel, value)
    host = Host(guest)
    assert host.pci()['devices']['0000:00:13.0']['driver'] == 'vfio-pci'
    assert plan_bind(host, '0000:00:13.0', 'vfio-pci') == []
    for rel, value in plan_bind(host, '0000:00:13.0', ''):
        kernel.write(rel, value)
    host = Host(guest)
    assert host.pci()['devices']['0000:00:13.0']['driver'] == 'igbvf'
    assert host.pci()['devices']['0000:00:13.0']['driver_override'] is None
    assert plan_bind(host, '0000:00:13.0', '') == []


def test_guards_protect_the_management_nic(guest):
    host = Host(guest)
    problems, _targets = binding_problems(host, ['0000:00:02.0'], 'vfio-pci')
    assert problems == ['0000:00:02.0 carries the management connection [0000:00:02.0 (enp0s2: default route)]: '
                        'moving it to vfio-pci would cut it (set allow_management to do it anyway)']
    problems, _targets = binding_problems(host, ['0000:00:04.0'], 'vfio-pci', management_netdevs=['enp0s4'])
    assert problems == ['0000:00:04.0 carries the management connection [0000:00:04.0 (enp0s4: '
                        'management_interfaces)]: moving it to vfio-pci would cut it (set allow_management to do it '
                        'anyway)']
    assert binding_problems(host, ['0000:00:04.0'], 'vfio-pci') == ([], ['0000:00:04.0'])
    assert binding_problems(host, ['0000:00:02.0'], 'vfio-pci', allow_management=True)[0] == []


def test_default_route_nic_refused_even_when_the_resolver_sees_nothing(guest):
    """A second opinion: a stack that found no device (a sysfs layout the resolver misread, as on the VM of
    2026-12-02) still leaves the NIC under the default route refused by the host model's own reading."""
    host = Host(guest)
    blind = {'devices': {}, 'netdevs': {}, 'seeds': [], 'unmatched': [], 'identified': False, 'crosses_ovs': False,
             'warnings': []}
    problems, _targets = binding_problems(host, ['0000:00:02.0'], 'vfio-pci', stack=blind)
    assert problems == ['0000:00:02.0 carries the management connection [0000:00:02.0 (enp0s2: default route)]: '
                        'moving it to vfio-pci would cut it (set allow_management to do it anyway)']
    assert binding_problems(host, ['0000:00:02.0'], 'vfio-pci', stack=blind, allow_management=True)[0] == []


def test_guard_holds_for_a_vlan_on_the_pf_issue_20(guest):
    """The issue's reproduction on the captured guest: the management netdev is enp0s3.100, a VLAN on the igb PF
    (the captured tree has no sys/class/net: the VLAN's lower link is added as the kernel makes it)."""
    vlan = os.path.join(guest, 'sys/devices/virtual/net/enp0s3.100')
    os.makedirs(vlan)
    os.symlink('../../../pci0000:00/0000:00:03.0/net/enp0s3', os.path.join(vlan, 'lower_enp0s3'))
    os.makedirs(os.path.join(guest, 'sys/class/net'))
    os.symlink('../../devices/virtual/net/enp0s3.100', os.path.join(guest, 'sys/class/net/enp0s3.100'))
    problems, _targets = binding_problems(Host(guest), ['0000:00:03.0'], 'vfio-pci', management_netdevs=['enp0s3.100'])
    assert problems == ['0000:00:03.0 carries the management connection [0000:00:03.0 (enp0s3) -> enp0s3.100 '
                        '(management_interfaces)]: moving it to vfio-pci would cut it (set allow_management to do '
                        'it anyway)']
    # The VFs of that PF do not carry the VLAN: they stay free to bind.
    assert binding_problems(Host(guest), ['0000:00:13.0'], 'vfio-pci', management_netdevs=['enp0s3.100'])[0] == []


def test_guards_iommu_off_mlx5_and_shared_groups(tmp_path, host_root):
    devbox = Host(host_root('devbox'))
    problems, _t = binding_problems(devbox, ['0000:00:03.0'], 'vfio-pci', allow_management=True)
    assert problems == ['0000:00:03.0: the IOMMU is off (%s); vfio-pci needs it (no-IOMMU mode taints the kernel and '
                        'needs allow_noiommu)' % devbox.iommu()['reason']]
    assert binding_problems(devbox, ['0000:00:03.0'], 'vfio-pci', allow_management=True, allow_noiommu=True)[0] == []
    builder = synthhost.server2s()
    group = builder.new_iommu_group()
    builder.pci('0000:5e:00.0', '0x8086', '0x1572', '0x020000', driver='i40e', numa_node=0, netdev='ens5f0',
                group=group)
    builder.pci('0000:5e:00.1', '0x8086', '0x1572', '0x020000', driver='i40e', numa_node=0, netdev='ens5f1',
                group=group)
    server = Host(builder.write(str(tmp_path / 'server')))
    problems, _t = binding_problems(server, ['0000:3b:00.0', '0000:5e:00.0'], 'vfio-pci')
    assert problems == [
        '0000:3b:00.0 is a Mellanox/NVIDIA device (mlx5_core): mlx5 is a bifurcated driver, DPDK uses it on '
        'mlx5_core without vfio-pci',
        '0000:5e:00.0 shares IOMMU group %d with 0000:5e:00.1 (on i40e): vfio needs the whole group (set '
        'include_group to bind it too)' % group]
    problems, targets = binding_problems(server, ['0000:5e:00.0'], 'vfio-pci', include_group=True)
    assert (problems, targets) == ([], ['0000:5e:00.0', '0000:5e:00.1'])


def test_management_netdevs_from_ip_json():
    links = [{'ifname': 'lo', 'addr_info': [{'family': 'inet', 'local': '127.0.0.1'}]},
             {'ifname': 'enp0s2', 'addr_info': [{'family': 'inet', 'local': '10.0.2.15'},
                                                {'family': 'inet6', 'local': 'fec0::5054:ff:fe12:3456'}]},
             {'ifname': 'enp0s4', 'addr_info': []}]
    assert management_netdevs(links, ['10.0.2.15', 'fec0::5054:ff:fe12:3456', None]) == ['enp0s2']
    assert management_netdevs(links, ['192.0.2.1']) == []


# ---------------------------------------------------------------- the same writes as change-engine steps

def engine(guest, writer=None):
    from ansible_collections.dataplane.node.plugins.module_utils._change import Context
    ticks = iter(range(1000))
    return Context(guest, writer=writer or PciKernel(guest), clock=lambda: next(ticks), sleep=lambda _s: None)


def test_vf_steps_and_their_read_back_through_the_engine(guest):
    from ansible_collections.dataplane.node.plugins.module_utils._change import run_steps
    from ansible_collections.dataplane.node.plugins.module_utils._pci import VfsReady, vf_steps
    ready = VfsReady(lambda: Host(guest).pci()['devices'][PF], PF, 4, True, timeout=5)
    steps = vf_steps(plan_vfs(select_pf(Host(guest).pci(), address=PF), 4))
    record = run_steps(steps + [ready], engine(guest))
    assert record['done'] == ['/sys/bus/pci/devices/%s/sriov_numvfs = 0' % PF,
                              '/sys/bus/pci/devices/%s/sriov_numvfs = 4' % PF]
    assert ready.pf['sriov']['numvfs'] == 4 and all(v['driver'] == 'igbvf' for v in ready.pf['sriov']['vfs'])


def test_vfs_that_never_get_a_driver_fail_the_check_with_both_counts(guest):
    from ansible_collections.dataplane.node.plugins.module_utils._change import ChangeError, run_steps
    from ansible_collections.dataplane.node.plugins.module_utils._pci import VfsReady
    # 3 VFs exist; 5 asked and never made: the check gives up after its timeout on the engine's clock
    ready = VfsReady(lambda: Host(guest).pci()['devices'][PF], PF, 5, True, timeout=3)
    with pytest.raises(ChangeError, match=r'^%s reads back 3 VFs \(3 visible, some without a driver\) after 3s, 5 '
                                          r'asked$' % PF) as info:
        run_steps([ready], engine(guest))
    assert info.value.record == {'done': [], 'failed': '%s shows 5 VFs' % PF, 'undone': []}


def test_bind_steps_and_bound_check_through_the_engine(guest):
    from ansible_collections.dataplane.node.plugins.module_utils._change import ChangeError, run_steps
    from ansible_collections.dataplane.node.plugins.module_utils._pci import bind_steps, bound_check

    def driver_of(address):
        return Host(guest).fs.link_name('sys/bus/pci/devices/%s/driver' % address)

    steps = bind_steps(plan_bind(Host(guest), '0000:00:13.0', 'vfio-pci'))
    run_steps(steps + [bound_check(driver_of, ['0000:00:13.0'], 'vfio-pci')], engine(guest))
    assert driver_of('0000:00:13.0') == 'vfio-pci'

    class Refusing(SysfsWriter):
        """Takes every write and does nothing with it, as a kernel whose driver will not probe the device."""

        def write(self, rel, text, ignore_errors=False):
            self.writes.append((rel, text.strip()))
            return True

    steps = bind_steps(plan_bind(Host(guest), '0000:00:13.2', 'vfio-pci'))
    with pytest.raises(ChangeError, match='binding did not take: 0000:00:13.2 is on igbvf, not vfio-pci'):
        run_steps(steps + [bound_check(driver_of, ['0000:00:13.2'], 'vfio-pci')],
                  engine(guest, writer=Refusing(guest)))
