# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build synthetic host trees laid out like the kernel's sysfs and procfs.

Used for hosts no VM here can be: a 2-socket server with 1G pools, an AMD host,
and the large tree the benchmark reads. Symlinks are placed where the kernel
places them (bus/pci/devices -> devices/..., driver, iommu_group, virtfn/physfn),
so the host model walks them exactly as on a live host.

    python3 tests/tools/synthhost.py server2s DEST     # write one named host under DEST
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import posixpath
import sys

from hosttree import write_tree

_NODE = 'sys/devices/system/node'
_CPU = 'sys/devices/system/cpu'


def cpulist(ids):
    ids = sorted(ids)
    parts = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else '%d-%d' % (ids[i], ids[j]))
        i = j + 1
    return ','.join(parts)


class HostBuilder:
    """Collects entries (dirs, links, files) of one host; write() materializes them."""

    def __init__(self):
        self.entries = {'dirs': set(), 'links': {}, 'files': {}}
        self.mounts = ['sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0',
                       'proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0']
        self.nodes = {}
        self._next_group = 0
        self.netdev_dirs = {}  # netdev -> its real directory (under a PCI device, or devices/virtual/net)

    # -- primitives
    def file(self, rel, text):
        self.entries['files'][rel] = text if text.endswith('\n') or text == '' else text + '\n'

    def dir(self, rel):
        self.entries['dirs'].add(rel)

    def link(self, rel, target_rel):
        self.entries['links'][rel] = posixpath.relpath(target_rel, posixpath.dirname(rel))
        self.dir(target_rel)

    # -- host parts
    def kernel(self, release, cmdline):
        self.file('proc/sys/kernel/osrelease', release)
        self.file('proc/cmdline', cmdline)

    def cpuinfo(self, vendor_id, model_name, flags):
        self.file('proc/cpuinfo', 'processor\t: 0\nvendor_id\t: %s\nmodel name\t: %s\nflags\t\t: %s\n\n'
                  'processor\t: 1\nvendor_id\t: %s\n' % (vendor_id, model_name, ' '.join(flags), vendor_id))

    def os_release(self, **fields):
        self.file('etc/os-release', ''.join('%s="%s"\n' % (k.upper(), v) for k, v in fields.items()))

    def cpus_and_nodes(self, sockets, cores_per_socket, threads, node_memory_kb, distances=None,
                       isolated=None):
        """Number CPUs the way x86 Linux does: first thread of every core, then the second threads.

        One NUMA node per socket. node_memory_kb: {node: (total_kb, free_kb)}.
        """
        cores = sockets * cores_per_socket
        node_cpus = dict((s, []) for s in range(sockets))
        for thread in range(threads):
            for core in range(cores):
                cpu = thread * cores + core
                socket = core // cores_per_socket
                node_cpus[socket].append(cpu)
                siblings = [t * cores + core for t in range(threads)]
                topo = '%s/cpu%d/topology' % (_CPU, cpu)
                self.file(topo + '/physical_package_id', str(socket))
                self.file(topo + '/core_id', str(core % cores_per_socket))
                self.file(topo + '/thread_siblings_list', cpulist(siblings))
        all_cpus = list(range(cores * threads))
        self.file(_CPU + '/online', cpulist(all_cpus))
        self.file(_CPU + '/possible', cpulist(all_cpus))
        self.file(_CPU + '/isolated', cpulist(isolated or []))
        self.file(_CPU + '/nohz_full', '(null)')
        nodes = sorted(node_memory_kb)
        if distances is None:
            distances = [[10 if a == b else 21 for b in nodes] for a in nodes]
        for node in nodes:
            total, free = node_memory_kb[node]
            base = '%s/node%d' % (_NODE, node)
            self.file(base + '/cpulist', cpulist(node_cpus.get(node, [])))
            self.file(base + '/meminfo', 'Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n'
                      'Node %d MemUsed:        %d kB\n' % (node, total, node, free, node, total - free))
            self.file(base + '/distance', ' '.join(str(d) for d in distances[nodes.index(node)]))
        self.file(_NODE + '/online', cpulist(nodes))
        self.file(_NODE + '/possible', cpulist(nodes))
        self.file(_NODE + '/has_cpu', cpulist([n for n in nodes if node_cpus.get(n)]))
        self.file(_NODE + '/has_memory', cpulist([n for n in nodes if node_memory_kb[n][0]]))
        self.nodes = node_memory_kb
        return node_cpus

    def hugepages(self, default_kb, pools, free=None, reserved=None, surplus=None):
        """pools: {size_kb: {node: nr}}; free/reserved/surplus: same shape, default all free."""
        total_kb = 0
        for size_kb, per_node in sorted(pools.items()):
            base = 'sys/kernel/mm/hugepages/hugepages-%dkB' % size_kb
            nr = sum(per_node.values())
            nr_free = sum((free or {}).get(size_kb, per_node).values())
            resv = (reserved or {}).get(size_kb, 0)
            surp = sum((surplus or {}).get(size_kb, {}).values())
            for name, value in (('nr_hugepages', nr), ('free_hugepages', nr_free), ('resv_hugepages', resv),
                                ('surplus_hugepages', surp), ('nr_overcommit_hugepages', 0),
                                ('nr_hugepages_mempolicy', nr)):
                self.file('%s/%s' % (base, name), str(value))
            for node in sorted(self.nodes):
                if not self.nodes[node][0]:
                    continue
                node_base = '%s/node%d/hugepages/hugepages-%dkB' % (_NODE, node, size_kb)
                self.file(node_base + '/nr_hugepages', str(per_node.get(node, 0)))
                self.file(node_base + '/free_hugepages', str((free or {}).get(size_kb, per_node).get(node, 0)))
                self.file(node_base + '/surplus_hugepages', str((surplus or {}).get(size_kb, {}).get(node, 0)))
            total_kb += nr * size_kb
        default_pool = pools.get(default_kb, {})
        nr_default = sum(default_pool.values())
        mem_total = sum(t for t, _f in self.nodes.values())
        mem_free = sum(f for _t, f in self.nodes.values())
        self.file('proc/meminfo', ''.join('%-16s%8d kB\n' % (k + ':', v) for k, v in (
            ('MemTotal', mem_total), ('MemFree', mem_free), ('MemAvailable', mem_free))) +
            'HugePages_Total: %8d\nHugePages_Free:  %8d\nHugePages_Rsvd:  %8d\nHugePages_Surp:  %8d\n'
            'Hugepagesize:   %8d kB\nHugetlb:        %8d kB\n' % (
                nr_default, sum((free or {}).get(default_kb, default_pool).values()),
                (reserved or {}).get(default_kb, 0), 0, default_kb, total_kb))

    def thp(self, enabled='always', defrag='madvise'):
        for name, value, choices in (('enabled', enabled, ('always', 'madvise', 'never')),
                                     ('defrag', defrag, ('always', 'defer', 'defer+madvise', 'madvise', 'never'))):
            self.file('sys/kernel/mm/transparent_hugepage/' + name,
                      ' '.join('[%s]' % c if c == value else c for c in choices))

    def mount(self, line):
        self.mounts.append(line)

    def iommu(self, units, group_type='DMA'):
        self.file('sys/firmware/acpi/tables/' + ('IVRS' if units and units[0].startswith('ivhd') else 'DMAR'), '')
        self.dir('sys/kernel/iommu_groups')
        for unit in units:
            self.link('sys/class/iommu/' + unit, 'sys/devices/virtual/iommu/' + unit)
        self.group_type = group_type

    def new_iommu_group(self):
        group = self._next_group
        self._next_group += 1
        base = 'sys/kernel/iommu_groups/%d' % group
        self.file(base + '/type', getattr(self, 'group_type', 'DMA'))
        self.dir(base + '/devices')
        return group

    def pci(self, address, vendor, device, pci_class, driver=None, numa_node=-1, netdev=None, iommu=True,
            group=None, totalvfs=None, vfs=(), vf_device=None, vf_driver=None, override=None):
        """Add a PCI device; vfs: VF addresses to create under an SR-IOV PF (numvfs = len(vfs))."""
        domain_bus = address[:7]
        real = 'sys/devices/pci%s/%s' % (domain_bus, address)
        self.link('sys/bus/pci/devices/' + address, real)
        for name, value in (('class', pci_class), ('vendor', vendor), ('device', device),
                            ('subsystem_vendor', vendor), ('subsystem_device', '0x0000'),
                            ('numa_node', str(numa_node)), ('driver_override', override or '(null)')):
            self.file('%s/%s' % (real, name), value)
        if driver:
            self.link(real + '/driver', 'sys/bus/pci/drivers/' + driver)
        if netdev:
            self.dir('%s/net/%s' % (real, netdev))
            self.netdev_dirs[netdev] = '%s/net/%s' % (real, netdev)
        if iommu:
            if group is None:
                group = self.new_iommu_group()
            group_dir = 'sys/kernel/iommu_groups/%d' % group
            self.link(real + '/iommu_group', group_dir)
            self.link('%s/devices/%s' % (group_dir, address), real)
        if totalvfs is not None:
            self.file(real + '/sriov_totalvfs', str(totalvfs))
            self.file(real + '/sriov_numvfs', str(len(vfs)))
            self.file(real + '/sriov_drivers_autoprobe', '1')
            for index, vf in enumerate(vfs):
                vf_real = 'sys/devices/pci%s/%s' % (vf[:7], vf)
                self.link('%s/virtfn%d' % (real, index), vf_real)
                vf_netdev = '%sv%d' % (netdev, index) if netdev and vf_driver not in (None, 'vfio-pci') else None
                self.pci(vf, vendor, vf_device or device, pci_class, driver=vf_driver, numa_node=numa_node,
                         netdev=vf_netdev, iommu=iommu)
                self.link(vf_real + '/physfn', real)
        return real

    # -- netdevs and the layers above them (as the kernel links them in sys/class/net)
    def class_net(self):
        """sys/class/net/<name> links for every netdev made so far, and each PCI netdev's `device` link."""
        for name, real in self.netdev_dirs.items():
            self.link('sys/class/net/' + name, real)
            parent = posixpath.dirname(posixpath.dirname(real))
            if not parent.startswith('sys/devices/virtual'):
                # The kernel's form: ../../../0000:3b:00.0 (it names the device, unlike the shortest path '../..').
                self.entries['links'][real + '/device'] = '../../../' + posixpath.basename(parent)

    def upper(self, name, lowers, kind=None):
        """A netdev over `lowers`: VLAN/macvlan/ipvlan (kind None), 'bond' (slaves, master links) or 'bridge'
        (brif ports, master links). Call class_net() after the last layer."""
        real = 'sys/devices/virtual/net/' + name
        self.dir(real)
        self.netdev_dirs[name] = real
        for lower in lowers:
            lower_real = self.netdev_dirs[lower]
            self.link('%s/lower_%s' % (real, lower), lower_real)
            self.link('%s/upper_%s' % (lower_real, name), real)
            if kind in ('bond', 'bridge'):
                self.link(lower_real + '/master', real)
            if kind == 'bridge':
                self.link('%s/brif/%s' % (real, lower), lower_real + '/brport')
        if kind == 'bond':
            self.file(real + '/bonding/slaves', ' '.join(lowers))
        elif kind == 'bridge':
            self.dir(real + '/bridge')
        return real

    def ovs(self, bridge, ports):
        """An OVS bridge: the internal port `bridge` and the NICs `ports`, all with master -> ovs-system (OVS links
        no lower_*: which NIC a bridge uses is known only to ovsdb). Returns captured-style ovs-vsctl output."""
        for name in ['ovs-system', bridge]:
            if name not in self.netdev_dirs:
                self.dir('sys/devices/virtual/net/' + name)
                self.netdev_dirs[name] = 'sys/devices/virtual/net/' + name
        system = self.netdev_dirs['ovs-system']
        for name in [bridge] + list(ports):
            self.link(self.netdev_dirs[name] + '/master', system)
        # As ovs-vsctl prints them: list-ifaces leaves out the bridge's own local port.
        return {'list-br': bridge + '\n', 'list-ifaces': {bridge: '\n'.join(sorted(ports)) + '\n'}}

    def ip_addr(self, addresses):
        """`ip -json addr show` as the node prints it: addresses {netdev: [address/prefix, ...]} (lo added)."""
        links = [{'ifindex': 1, 'ifname': 'lo', 'addr_info': [
            {'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8, 'scope': 'host'},
            {'family': 'inet6', 'local': '::1', 'prefixlen': 128, 'scope': 'host'}]}]
        for index, (name, addrs) in enumerate(sorted(addresses.items()), 2):
            info = []
            for addr in addrs:
                local, _sep, prefix = addr.partition('/')
                info.append({'family': 'inet6' if ':' in local else 'inet', 'local': local,
                             'prefixlen': int(prefix or (64 if ':' in local else 24)), 'scope': 'global'})
            links.append({'ifindex': index, 'ifname': name, 'addr_info': info})
        return links

    def default_route6(self, netdev):
        """Only an IPv6 default route (::/0 via fe80::1): an IPv6-only management network."""
        self.file('proc/net/route', 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n')
        self.file('proc/net/ipv6_route', '00000000000000000000000000000000 00 00000000000000000000000000000000 00 '
                  'fe800000000000000000000000000001 00000400 00000001 00000000 00000003 %8s\n' % netdev)

    def process(self, pid, ppid, environ=None):
        """proc/<pid>/status and environ: an ancestor chain (sshd -> sudo -> python) for SSH_CONNECTION."""
        self.file('proc/%d/status' % pid, 'Name:\tproc%d\nPid:\t%d\nPPid:\t%d\n' % (pid, pid, ppid))
        self.entries['files']['proc/%d/environ' % pid] = ''.join('%s=%s\0' % kv for kv in sorted((environ or {}).items()))

    def default_route(self, netdev):
        self.file('proc/net/route', 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
                  '%s\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n'
                  '%s\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n' % (netdev, netdev))
        self.file('proc/net/ipv6_route', '')

    def grub(self, default_grub=None, dropins=None, tools=(), bls_entries=None, efi=False):
        if default_grub is not None:
            self.file('etc/default/grub', default_grub)
        for name, text in (dropins or {}).items():
            self.file('etc/default/grub.d/' + name, text)
        for tool in tools:
            self.file(tool, '#!/bin/sh\n')
        for name, text in (bls_entries or {}).items():
            self.file('boot/loader/entries/' + name, text)
        if efi:
            self.dir('sys/firmware/efi')

    def write(self, dest):
        self.file('proc/mounts', '\n'.join(self.mounts))
        return write_tree(dest, self.entries)


# ---------------------------------------------------------------- named hosts

INTEL_FLAGS = ('fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', 'sep', 'pge', 'cmov', 'pat',
               'pse36', 'clflush', 'mmx', 'fxsr', 'sse', 'sse2', 'ht', 'syscall', 'nx', 'pdpe1gb', 'rdtscp', 'lm',
               'constant_tsc', 'vmx', 'sse4_2', 'avx2', 'avx512f')
AMD_FLAGS = ('fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', 'sep', 'pge', 'cmov', 'pat',
             'pse36', 'clflush', 'mmx', 'fxsr', 'sse', 'sse2', 'ht', 'syscall', 'nx', 'mmxext', 'pdpe1gb', 'rdtscp',
             'lm', 'svm', 'sse4_2', 'avx2')


def server2s():
    """A 2-socket Intel server: 2M and 1G pools on both nodes, NICs on both nodes, one with numa_node -1."""
    b = HostBuilder()
    b.kernel('5.14.0-427.13.1.el9_4.x86_64',
             'BOOT_IMAGE=(hd0,gpt2)/vmlinuz-5.14.0-427.13.1.el9_4.x86_64 root=/dev/mapper/rhel-root ro '
             'crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root '
             'intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=0:8,1:8 hugepagesz=2M '
             'hugepages=1024 isolcpus=managed_irq,domain,2-15,18-31 nohz_full=2-15,18-31 rcu_nocbs=2-15,18-31')
    b.cpuinfo('GenuineIntel', 'Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz', INTEL_FLAGS)
    b.os_release(id='rhel', version_id='9.4', id_like='fedora', pretty_name='Red Hat Enterprise Linux 9.4 (Plow)')
    b.cpus_and_nodes(sockets=2, cores_per_socket=8, threads=2,
                     node_memory_kb={0: (65536000, 40000000), 1: (65536000, 42000000)},
                     isolated=list(range(2, 16)) + list(range(18, 32)))
    b.hugepages(default_kb=1048576,
                pools={2048: {0: 512, 1: 512}, 1048576: {0: 8, 1: 8}},
                free={2048: {0: 512, 1: 500}, 1048576: {0: 4, 1: 8}},
                reserved={1048576: 2}, surplus={2048: {1: 0}})
    b.thp(enabled='never', defrag='never')
    b.mount('hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=1024M 0 0')
    b.mount('hugetlbfs /mnt/huge-2M hugetlbfs rw,relatime,pagesize=2M,mode=1770,gid=1001 0 0')
    b.iommu(['dmar0', 'dmar1'])
    # LOM on node 0 carries the management connection.
    b.pci('0000:18:00.0', '0x8086', '0x1563', '0x020000', driver='ixgbe', numa_node=0, netdev='eno1')
    # E810 PF on node 1 with 4 VFs: 2 on iavf, 2 on vfio-pci.
    b.pci('0000:af:00.0', '0x8086', '0x159b', '0x020000', driver='ice', numa_node=1, netdev='ens2f0',
          totalvfs=128, vfs=['0000:af:01.0', '0000:af:01.1'], vf_device='0x1889', vf_driver='iavf')
    b.pci('0000:af:01.2', '0x8086', '0x1889', '0x020000', driver='vfio-pci', numa_node=1, override='vfio-pci')
    b.pci('0000:af:01.3', '0x8086', '0x1889', '0x020000', driver='vfio-pci', numa_node=1, override='vfio-pci')
    link_vfs(b, '0000:af:00.0', ['0000:af:01.2', '0000:af:01.3'], start=2, numvfs=4)
    # ConnectX-6 Dx on node 0 (bifurcated mlx5), and an accelerator whose firmware gave no NUMA affinity.
    b.pci('0000:3b:00.0', '0x15b3', '0x101d', '0x020000', driver='mlx5_core', numa_node=0, netdev='ens1f0np0',
          totalvfs=8)
    b.pci('0000:d8:00.0', '0x8086', '0x0d5c', '0x120000', driver=None, numa_node=-1)
    # Not reported: storage controller.
    b.pci('0000:00:17.0', '0x8086', '0xa182', '0x010601', driver='ahci', numa_node=0)
    b.default_route('eno1')
    b.grub(default_grub='GRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="$(sed \'s, release .*$,,g\' /etc/system-release)"\n'
                        'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M '
                        'resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root"\nGRUB_ENABLE_BLSCFG=true\n',
           tools=('usr/sbin/grubby', 'usr/sbin/grub2-mkconfig', 'usr/sbin/grub2-reboot', 'usr/bin/grub2-editenv'),
           bls_entries={'8a1c-5.14.0-427.13.1.el9_4.x86_64.conf': 'title Red Hat Enterprise Linux (5.14.0-427.13.1.el9_4.x86_64) 9.4\n'
                        'linux /vmlinuz-5.14.0-427.13.1.el9_4.x86_64\noptions root=/dev/mapper/rhel-root ro\n'},
           efi=True)
    return b


def link_vfs(b, pf, vf_addresses, start, numvfs):
    """Attach already-built VF devices to a PF (a PF whose VFs sit on different drivers)."""
    pf_real = 'sys/devices/pci%s/%s' % (pf[:7], pf)
    for offset, vf in enumerate(vf_addresses):
        vf_real = 'sys/devices/pci%s/%s' % (vf[:7], vf)
        b.link('%s/virtfn%d' % (pf_real, start + offset), vf_real)
        b.link(vf_real + '/physfn', pf_real)
    b.file(pf_real + '/sriov_numvfs', str(numvfs))


def amd_epyc():
    """A 1-socket AMD EPYC host with 2 NUMA nodes (NPS2), ivhd IOMMU in passthrough, no hugepages yet."""
    b = HostBuilder()
    b.kernel('6.8.0-45-generic', 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=0f1e2d3c ro iommu=pt '
             'amd_iommu=force_isolation quiet splash')
    b.cpuinfo('AuthenticAMD', 'AMD EPYC 7313P 16-Core Processor', AMD_FLAGS)
    b.os_release(id='ubuntu', version_id='24.04', id_like='debian', pretty_name='Ubuntu 24.04.1 LTS')
    b.cpus_and_nodes(sockets=2, cores_per_socket=4, threads=2,
                     node_memory_kb={0: (32768000, 30000000), 1: (32768000, 31000000)},
                     distances=[[10, 12], [12, 10]])
    # NPS2 on one socket: both "sockets" above are one package in reality.
    for cpu in range(16):
        b.file('%s/cpu%d/topology/physical_package_id' % (_CPU, cpu), '0')
    b.hugepages(default_kb=2048, pools={2048: {0: 0, 1: 0}, 1048576: {0: 0, 1: 0}})
    b.thp(enabled='madvise', defrag='madvise')
    b.mount('hugetlbfs /dev/hugepages hugetlbfs rw,nosuid,nodev,relatime,pagesize=2M 0 0')
    b.iommu(['ivhd0', 'ivhd1'], group_type='identity')
    b.pci('0000:41:00.0', '0x8086', '0x1593', '0x020000', driver='ice', numa_node=1, netdev='enp65s0f0',
          totalvfs=64)
    b.pci('0000:c1:00.0', '0x14e4', '0x16d7', '0x020000', driver='bnxt_en', numa_node=0, netdev='eno1np0')
    b.default_route('eno1np0')
    b.grub(default_grub='GRUB_DEFAULT=0\nGRUB_TIMEOUT_STYLE=hidden\nGRUB_TIMEOUT=0\n'
                        'GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\nGRUB_CMDLINE_LINUX=""\n',
           dropins={'50-cloudimg-settings.cfg': 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 console=ttyS0"\n'},
           tools=('usr/sbin/update-grub', 'usr/sbin/grub-mkconfig', 'usr/sbin/grub-reboot'))
    return b


def large(nodes=8, cpus=256, devices=500, vfs=128):
    """The benchmark host: 8 NUMA nodes, 256 CPUs, 500 PCI devices of which 128 are VFs."""
    b = HostBuilder()
    b.kernel('6.1.0-26-amd64', 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=UUID=abcd ro intel_iommu=on iommu=pt '
             'default_hugepagesz=1G hugepagesz=1G hugepages=16 isolcpus=8-127,136-255')
    b.cpuinfo('GenuineIntel', 'Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz', INTEL_FLAGS)
    b.os_release(id='debian', version_id='12', pretty_name='Debian GNU/Linux 12 (bookworm)')
    cores_per_socket = cpus // nodes // 2
    b.cpus_and_nodes(sockets=nodes, cores_per_socket=cores_per_socket, threads=2,
                     node_memory_kb=dict((n, (131072000, 100000000)) for n in range(nodes)))
    b.hugepages(default_kb=1048576, pools={2048: dict((n, 1024) for n in range(nodes)),
                                           1048576: dict((n, 2) for n in range(nodes))})
    b.thp()
    b.iommu(['dmar%d' % i for i in range(nodes)])
    pfs = 8
    per_pf = vfs // pfs
    made = 0
    for pf in range(pfs):
        bus = 0x10 + pf * 0x10
        vf_addrs = ['0000:%02x:%02x.%d' % (bus + 1, i // 8, i % 8) for i in range(per_pf)]
        b.pci('0000:%02x:00.0' % bus, '0x8086', '0x159b', '0x020000', driver='ice', numa_node=pf % nodes,
              netdev='ens%df0' % pf, totalvfs=128, vfs=vf_addrs, vf_device='0x1889',
              vf_driver='vfio-pci' if pf % 2 else 'iavf')
        made += 1 + per_pf
    index = 0
    while made < devices:
        bus = 0x90 + index // 32
        address = '0000:%02x:%02x.0' % (bus, index % 32)
        if index % 3 == 0:
            b.pci(address, '0x8086', '0x1572', '0x020000', driver='i40e', numa_node=index % nodes,
                  netdev='enp%ds%d' % (bus, index % 32))
        else:
            b.pci(address, '0x8086', '0x2021', '0x088000', driver=None, numa_node=index % nodes)
        index += 1
        made += 1
    b.default_route('ens0f0')
    b.grub(default_grub='GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n', tools=('usr/sbin/update-grub',))
    return b


def stacked():
    """A DPDK worker whose management rides stacked netdevs, one stack per NIC (the management guard's cases):

    - ixgbe PF ens1f0 (0000:3b:00.0) with two VFs; VLAN ens1f0.100 on the PF
    - ixgbe PFs ens2f0 + ens2f1 (0000:5e:00.0/.1) in bond0, VLAN bond0.120 on the bond
    - i40e PF ens3f0 (0000:86:00.0) with VFs; a Linux bridge br0 over its VF ens3f0v0 (0000:86:02.0)
    - ice PF ens4f0 (0000:af:00.0): macvlan mv0 on it
    - ice PF ens5f0 (0000:d8:00.0): an OVS bridge br-ex with the PF as a port
    - e1000e eno1 (0000:00:1f.6): spare, carries nothing
    Which netdev holds the management address is the test's choice (ip_addr()); no default route by default.
    """
    b = HostBuilder()
    b.kernel('6.1.0-26-amd64', 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-26-amd64 root=UUID=abcd ro intel_iommu=on iommu=pt')
    b.cpuinfo('GenuineIntel', 'Intel(R) Xeon(R) Gold 6338N CPU @ 2.20GHz', INTEL_FLAGS)
    b.os_release(id='debian', version_id='12', pretty_name='Debian GNU/Linux 12 (bookworm)')
    b.cpus_and_nodes(sockets=1, cores_per_socket=4, threads=1, node_memory_kb={0: (16384000, 12000000)})
    b.iommu(['dmar0'])
    b.pci('0000:3b:00.0', '0x8086', '0x10fb', '0x020000', driver='ixgbe', netdev='ens1f0', totalvfs=63,
          vfs=['0000:3b:10.0', '0000:3b:10.2'], vf_device='0x10ed', vf_driver='ixgbevf')
    b.pci('0000:5e:00.0', '0x8086', '0x10fb', '0x020000', driver='ixgbe', netdev='ens2f0', totalvfs=63)
    b.pci('0000:5e:00.1', '0x8086', '0x10fb', '0x020000', driver='ixgbe', netdev='ens2f1', totalvfs=63)
    b.pci('0000:86:00.0', '0x8086', '0x1572', '0x020000', driver='i40e', netdev='ens3f0', totalvfs=64,
          vfs=['0000:86:02.0', '0000:86:02.1'], vf_device='0x154c', vf_driver='iavf')
    b.pci('0000:af:00.0', '0x8086', '0x159b', '0x020000', driver='ice', netdev='ens4f0', totalvfs=128)
    b.pci('0000:d8:00.0', '0x8086', '0x159b', '0x020000', driver='ice', netdev='ens5f0', totalvfs=128)
    b.pci('0000:00:1f.6', '0x8086', '0x15bb', '0x020000', driver='e1000e', netdev='eno1')
    b.upper('ens1f0.100', ['ens1f0'])
    b.upper('bond0', ['ens2f0', 'ens2f1'], kind='bond')
    b.upper('bond0.120', ['bond0'])
    b.upper('br0', ['ens3f0v0'], kind='bridge')
    b.upper('mv0', ['ens4f0'])
    b.ovs_output = b.ovs('br-ex', ['ens5f0'])
    b.class_net()
    b.file('proc/net/route', 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n')
    b.file('proc/net/ipv6_route', '')
    b.grub(default_grub='GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=""\n', tools=('usr/sbin/update-grub',))
    return b


HOSTS = {'server2s': server2s, 'amd-epyc': amd_epyc, 'large': large, 'stacked': stacked}


def main(argv=None):
    parser = argparse.ArgumentParser(description='Write a synthetic host tree')
    parser.add_argument('name', choices=sorted(HOSTS))
    parser.add_argument('dest')
    args = parser.parse_args(argv)
    HOSTS[args.name]().write(args.dest)
    print(args.dest)


if __name__ == '__main__':
    sys.exit(main())
