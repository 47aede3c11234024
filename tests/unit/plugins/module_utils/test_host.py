# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host model and the facts on every fixture tree, with exact expected values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._facts import (
    SUBSETS, SubsetError, gather, resolve_subsets)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError

import synthhost


def facts_of(root):
    return gather(Host(root), SUBSETS)


# ---------------------------------------------------------------- devbox: this dev machine (captured)

def test_devbox_reports_absence_plainly(host_root):
    facts = facts_of(host_root('devbox'))
    assert facts['numa']['node_count'] == 1
    assert facts['numa']['nodes']['0']['cpus'] == [0, 1]
    assert facts['iommu']['enabled'] is False
    assert facts['iommu']['vendor'] is None
    assert facts['iommu']['platform'] is None  # no DMAR/IVRS table on this VM
    assert facts['iommu']['groups'] == {}
    assert facts['pci']['sriov_pfs'] == []
    assert facts['hugepages']['pools']['2M']['nr'] == 0
    assert facts['summary'] == [
        'single NUMA node',
        'IOMMU not enabled: ' + facts['iommu']['reason'],
        'no hugepages allocated',
        'no SR-IOV capable device found',
    ]


def test_devbox_virtio_nic_carries_default_route(host_root):
    pci = facts_of(host_root('devbox'))['pci']
    nic = pci['devices']['0000:00:03.0']
    assert pci['default_route_netdevs'] == ['eth0']
    assert nic['kind'] == 'network'
    assert nic['driver'] == 'virtio-pci'
    assert nic['netdevs'] == ['eth0']  # found under virtio2/net, not net/
    assert nic['carries_default_route'] is True
    assert nic['numa_node'] is None  # sysfs says -1
    assert nic['iommu_group'] is None


def test_devbox_cmdline_and_boot(host_root):
    facts = facts_of(host_root('devbox'))
    assert facts['cmdline']['params']['console'] == ['ttyS0']
    assert '--firecracker-init' in facts['cmdline']['init_args']
    assert facts['boot']['loader'] == 'unknown'
    assert facts['boot']['firmware'] == 'bios'
    assert facts['boot']['os']['id'] == 'debian'


# ---------------------------------------------------------------- server2s: 2-socket RHEL 9 server (built)

@pytest.fixture(scope='module')
def server(host_root):
    return facts_of(host_root('server2s'))


def test_server_hugepages_per_size_and_node(server):
    hp = server['hugepages']
    assert hp['default_size'] == '1G'
    assert hp['sizes'] == ['2M', '1G']
    assert hp['pools']['2M'] == {
        'size_kb': 2048, 'nr': 1024, 'free': 1012, 'reserved': 0, 'surplus': 0, 'overcommit': 0,
        'memory_kb': 2097152,
        'nodes': {'0': {'nr': 512, 'free': 512, 'surplus': 0}, '1': {'nr': 512, 'free': 500, 'surplus': 0}}}
    assert hp['pools']['1G']['nodes'] == {'0': {'nr': 8, 'free': 4, 'surplus': 0},
                                          '1': {'nr': 8, 'free': 8, 'surplus': 0}}
    assert hp['pools']['1G']['reserved'] == 2
    assert hp['mounts'] == [
        {'path': '/dev/hugepages', 'pagesize': '1G', 'pagesize_kb': 1048576,
         'options': {'rw': True, 'relatime': True, 'pagesize': '1024M'}},
        {'path': '/mnt/huge-2M', 'pagesize': '2M', 'pagesize_kb': 2048,
         'options': {'rw': True, 'relatime': True, 'pagesize': '2M', 'mode': '1770', 'gid': '1001'}},
    ]
    assert hp['transparent']['enabled'] == 'never'


def test_server_numa_and_topology(server):
    numa = server['numa']
    assert numa['node_ids'] == [0, 1]
    assert numa['nodes']['0']['cpulist'] == '0-7,16-23'
    assert numa['nodes']['1']['cpus'] == list(range(8, 16)) + list(range(24, 32))
    assert numa['nodes']['1']['memory_total_kb'] == 65536000
    assert numa['nodes']['1']['memory_free_kb'] == 42000000
    assert numa['nodes']['0']['distances'] == [10, 21]
    cpus = numa['cpus']
    assert (cpus['count'], cpus['sockets'], cpus['cores'], cpus['threads_per_core']) == (32, 2, 16, 2)
    assert cpus['thread_siblings'][0] == [0, 16]
    assert cpus['node_of_cpu']['24'] == 1
    iso = cpus['isolated']
    expected = list(range(2, 16)) + list(range(18, 32))
    assert iso['kernel'] == expected
    assert iso['isolcpus'] == expected
    assert iso['isolcpus_flags'] == ['managed_irq', 'domain']
    assert iso['nohz_full'] == expected
    assert iso['nohz_full_kernel'] == []  # sysfs printed (null)


def test_server_iommu(server):
    iommu = server['iommu']
    assert iommu['enabled'] is True
    assert iommu['vendor'] == 'intel'
    assert (iommu['platform'], iommu['acpi_tables']) == ('intel', ['DMAR'])
    assert iommu['units'] == ['dmar0', 'dmar1']
    assert iommu['cmdline'] == {'intel_iommu': 'on', 'iommu': 'pt'}
    assert iommu['passthrough'] is True
    assert iommu['group_count'] == 9
    assert iommu['groups']['1'] == {'devices': ['0000:af:00.0'], 'type': 'DMA'}


def test_server_pci_sriov_and_numa(server):
    devices = server['pci']['devices']
    assert sorted(devices) == ['0000:18:00.0', '0000:3b:00.0', '0000:af:00.0', '0000:af:01.0', '0000:af:01.1',
                               '0000:af:01.2', '0000:af:01.3', '0000:d8:00.0']  # the AHCI controller is not reported
    pf = devices['0000:af:00.0']
    assert (pf['driver'], pf['numa_node'], pf['netdevs'], pf['iommu_group']) == ('ice', 1, ['ens2f0'], '1')
    assert pf['sriov'] == {
        'totalvfs': 128, 'numvfs': 4, 'drivers_autoprobe': True,
        'vfs': [{'index': 0, 'address': '0000:af:01.0', 'driver': 'iavf', 'netdevs': ['ens2f0v0']},
                {'index': 1, 'address': '0000:af:01.1', 'driver': 'iavf', 'netdevs': ['ens2f0v1']},
                {'index': 2, 'address': '0000:af:01.2', 'driver': 'vfio-pci', 'netdevs': []},
                {'index': 3, 'address': '0000:af:01.3', 'driver': 'vfio-pci', 'netdevs': []}]}
    vf = devices['0000:af:01.2']
    assert (vf['physfn'], vf['driver_override'], vf['sriov']) == ('0000:af:00.0', 'vfio-pci', None)
    accel = devices['0000:d8:00.0']
    assert (accel['kind'], accel['numa_node'], accel['driver']) == ('accelerator', None, None)
    assert devices['0000:18:00.0']['carries_default_route'] is True
    assert devices['0000:3b:00.0']['sriov']['numvfs'] == 0
    assert server['pci']['sriov_pfs'] == ['0000:3b:00.0', '0000:af:00.0']
    assert server['summary'] == ['NUMA node unknown (numa_node -1) for 0000:d8:00.0']


def test_server_boot_is_rhel9_bls_uefi(server):
    boot = server['boot']
    assert boot['loader'] == 'grub2-bls'
    assert boot['firmware'] == 'uefi'
    assert boot['kernel_version'] == [5, 14, 0]
    assert boot['os']['id'] == 'rhel'
    assert boot['grub']['enable_blscfg'] == 'true'
    assert boot['grub']['default_entry'] == 'saved'
    assert boot['tools'] == ['grub2-editenv', 'grub2-mkconfig', 'grub2-reboot', 'grubby']


def test_server_cmdline_boot_pools(server):
    params = server['cmdline']['params']
    assert params['hugepagesz'] == ['1G', '2M']
    assert params['hugepages'] == ['0:8,1:8', '1024']


# ---------------------------------------------------------------- amd-epyc: Ubuntu AMD host (built)

def test_amd_host(host_root):
    facts = facts_of(host_root('amd-epyc'))
    iommu = facts['iommu']
    assert (iommu['enabled'], iommu['vendor'], iommu['passthrough']) == (True, 'amd', True)
    assert (iommu['platform'], facts['numa']['cpus']['vendor'], facts['numa']['cpus']['pdpe1gb']) == ('amd', 'amd', True)
    assert iommu['units'] == ['ivhd0', 'ivhd1']
    assert iommu['group_types'] == ['identity']
    assert iommu['cmdline'] == {'amd_iommu': 'force_isolation', 'iommu': 'pt'}
    cpus = facts['numa']['cpus']
    assert (cpus['sockets'], cpus['cores'], cpus['threads_per_core'], facts['numa']['node_count']) == (1, 8, 2, 2)
    assert facts['numa']['nodes']['1']['distances'] == [12, 10]
    assert facts['hugepages']['default_size'] == '2M'
    assert facts['hugepages']['mounts'][0]['pagesize'] == '2M'
    boot = facts['boot']
    assert (boot['loader'], boot['firmware']) == ('debian-grub', 'bios')
    assert boot['grub']['dropins'] == ['50-cloudimg-settings.cfg']
    assert boot['grub']['cmdline_linux_default'] == 'quiet splash'
    assert facts['summary'] == ['no hugepages allocated']


# ---------------------------------------------------------------- subsets, bad roots, malformed values

def test_resolve_subsets():
    assert resolve_subsets(['all']) == list(SUBSETS)
    assert resolve_subsets(['numa', 'pci']) == ['numa', 'pci']
    assert resolve_subsets(['!pci']) == ['hugepages', 'numa', 'iommu', 'cmdline', 'boot', 'kubelet']
    assert resolve_subsets(['all', '!boot', '!cmdline']) == ['hugepages', 'numa', 'iommu', 'pci', 'kubelet']
    with pytest.raises(SubsetError, match='unknown gather_subset bogus'):
        resolve_subsets(['numa', 'bogus'])


def test_subset_limits_what_is_read(host_root):
    facts = gather(Host(host_root('server2s')), ['numa'])
    assert sorted(facts) == ['gather_subset', 'numa', 'root', 'summary']


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(HostRootError, match='does not exist'):
        Host(str(tmp_path / 'nope'))


def test_empty_root_reports_nothing_found(tmp_path):
    facts = facts_of(str(tmp_path))
    assert facts['numa']['available'] is False
    assert facts['hugepages']['supported'] is False
    assert facts['cmdline']['available'] is False
    assert facts['boot']['loader'] == 'unknown'
    assert facts['summary'] == [
        'no NUMA topology exposed by the kernel (single node or CONFIG_NUMA off)',
        'IOMMU not enabled: ' + facts['iommu']['reason'],
        'no hugepage support in this kernel (no /sys/kernel/mm/hugepages)',
        'no SR-IOV capable device found',
    ]


def test_malformed_values_become_unknown(tmp_path):
    builder = synthhost.server2s()
    root = builder.write(str(tmp_path))

    def put(rel, text):
        with open(os.path.join(root, rel), 'w') as handle:
            handle.write(text)

    put('sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '')
    put('sys/devices/system/node/node1/hugepages/hugepages-2048kB/free_hugepages', 'garbage\n')
    put('sys/devices/system/node/node0/cpulist', '0-x\n')
    put('sys/devices/pci0000:af/0000:af:00.0/numa_node', '\n')
    put('sys/devices/pci0000:af/0000:af:00.0/sriov_totalvfs', 'many')
    put('proc/cmdline', 'root=/dev/sda "unterminated\n')
    put('proc/meminfo', 'nonsense\n')
    facts = facts_of(root)
    pool = facts['hugepages']['pools']['2M']
    assert pool['nr'] is None and pool['memory_kb'] == 0
    assert pool['nodes']['1']['free'] is None
    assert facts['hugepages']['default_size'] is None
    assert facts['numa']['nodes']['0']['cpus'] is None
    assert facts['pci']['devices']['0000:af:00.0']['numa_node'] is None
    assert facts['pci']['devices']['0000:af:00.0']['sriov']['totalvfs'] is None
    assert facts['cmdline']['available'] is True
    # The kernel reads an unclosed quote to the end of the line (next_arg): so does the fact.
    assert facts['cmdline']['args'] == [{'key': 'root', 'value': '/dev/sda'}, {'key': 'unterminated', 'value': None}]
