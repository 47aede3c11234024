# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only model of one host, built from a root directory.

Private to the dataplane.node collection: names may change without notice.

Every module and test reads /sys, /proc and /etc through HostFS, so a fixture
tree (or a captured copy of a real host) can stand in for '/'. Host turns what
HostFS reads into plain data (dicts, lists, ints, strings), one section per
concern, each computed once. Values the kernel reports as unknown (numa_node -1,
empty or garbage files) become None, never an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError,
    format_cpulist,
    format_size_kb,
    interrupts_remapped,
    parse_bracketed_choice,
    parse_cmdline,
    parse_cpulist,
    parse_int,
    parse_ipv6_route_table,
    parse_isolcpus,
    parse_keyed_kb,
    parse_mounts,
    parse_os_release,
    parse_route_table,
    parse_shell_assignments,
    parse_size_kb,
    cmdline_value,
)


# vfio_iommu_type1's switch for hosts without interrupt remapping (present while the module is loaded).
VFIO_UNSAFE_INTERRUPTS = 'sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts'


class HostRootError(Exception):
    """The root directory cannot serve as a host (missing, not a directory, unreadable)."""


class HostFS:
    """Reads files under a root directory. The only place that opens host paths.

    Paths are relative to the root ('sys/kernel/mm/hugepages'). Every reader
    returns None (or an empty list) when the path is missing or unreadable:
    sysfs attributes vanish and refuse reads (EINVAL, EIO) in normal operation.
    """

    def __init__(self, root='/'):
        root = os.path.abspath(root or '/')
        if not os.path.isdir(root):
            raise HostRootError('host root %s does not exist or is not a directory' % root)
        if not os.access(root, os.R_OK | os.X_OK):
            raise HostRootError('host root %s is not readable' % root)
        self.root = root
        self._prefix = root.rstrip('/') + '/'

    def path(self, rel):
        return self._prefix + rel

    def read(self, rel):
        # os.open/os.read: a sysfs attribute is one small read, and the facts read
        # thousands of them; buffered file objects cost three times as much.
        try:
            fd = os.open(self._prefix + rel, os.O_RDONLY)
        except OSError:
            return None
        try:
            chunk = os.read(fd, 65536)
            if rel.startswith('sys/'):
                # A sysfs attribute (at most a page) comes whole in one read: skip the EOF read.
                return chunk.decode('utf-8', 'replace')
            # procfs seq files hand out a page or so per read: read until EOF.
            chunks = [chunk]
            while chunk:
                chunk = os.read(fd, 65536)
                chunks.append(chunk)
            return b''.join(chunks).decode('utf-8', 'replace')
        except OSError:
            return None
        finally:
            os.close(fd)

    def read_head(self, rel, size=8192):
        """The first bytes of a file (the first CPU's block of /proc/cpuinfo, not all 256)."""
        try:
            fd = os.open(self._prefix + rel, os.O_RDONLY)
        except OSError:
            return None
        try:
            return os.read(fd, size).decode('utf-8', 'replace')
        except OSError:
            return None
        finally:
            os.close(fd)

    def read_value(self, rel):
        """A one-line sysfs value without its newline, or None."""
        text = self.read(rel)
        return None if text is None else text.strip()

    def read_int(self, rel, base=10):
        return parse_int(self.read(rel), base)

    def listdir(self, rel):
        try:
            return sorted(os.listdir(self._prefix + rel))
        except OSError:
            return []

    def names(self, rel):
        """The entries of a directory as a set (no sorting: for membership tests)."""
        try:
            return set(os.listdir(self._prefix + rel))
        except OSError:
            return set()

    def readlink(self, rel):
        try:
            return os.readlink(self._prefix + rel)
        except OSError:
            return None

    def resolve(self, rel):
        """The path a chain of symlinks leads to, relative to the root ('sys/class/net/enp0s2/device' ->
        'sys/devices/pci0000:00/0000:00:02.0/virtio0'), or None when it is missing or leaves the root."""
        real = os.path.realpath(self._prefix + rel)
        if not real.startswith(self._prefix) or not os.path.lexists(real):
            return None
        return real[len(self._prefix):]

    def link_name(self, rel):
        """Basename of a symlink's target: 'driver' -> 'igb', 'iommu_group' -> '7'."""
        target = self.readlink(rel)
        return target[target.rfind('/') + 1:] if target else None

    def exists(self, rel):
        return os.path.lexists(self._prefix + rel)

    def isdir(self, rel):
        return os.path.isdir(self._prefix + rel)


# PCI class codes the facts report: network controllers, processing accelerators, co-processors.
_REPORTED_CLASS_PREFIXES = ('0x02', '0x12', '0x0b40')
_HUGEPAGES_DIR = 'sys/kernel/mm/hugepages'
_NODE_DIR = 'sys/devices/system/node'
_CPU_DIR = 'sys/devices/system/cpu'
_PCI_DIR = 'sys/bus/pci/devices'
_BOOT_TOOLS = {
    'update-grub': ('usr/sbin/update-grub', 'sbin/update-grub'),
    'grub-mkconfig': ('usr/sbin/grub-mkconfig', 'sbin/grub-mkconfig'),
    'grub2-mkconfig': ('usr/sbin/grub2-mkconfig', 'sbin/grub2-mkconfig'),
    'grubby': ('usr/sbin/grubby', 'sbin/grubby'),
    'grub-reboot': ('usr/sbin/grub-reboot', 'sbin/grub-reboot'),
    'grub2-reboot': ('usr/sbin/grub2-reboot', 'sbin/grub2-reboot'),
    'grub-editenv': ('usr/bin/grub-editenv', 'bin/grub-editenv'),
    'grub2-editenv': ('usr/bin/grub2-editenv', 'bin/grub2-editenv'),
    'transactional-update': ('usr/sbin/transactional-update', 'sbin/transactional-update'),
}


def _cached(method):
    """Compute a section once per Host; sections read the same files (cmdline, nodes)."""
    name = '_cache_' + method.__name__

    def wrapper(self):
        if name not in self.__dict__:
            self.__dict__[name] = method(self)
        return self.__dict__[name]

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class Host:
    """Read-only view of one host. Each section returns plain data, computed once."""

    def __init__(self, root='/', fs=None):
        self.fs = fs if fs is not None else HostFS(root)

    # ------------------------------------------------------------ kernel command line

    @_cached
    def cmdline(self):
        """/proc/cmdline parsed (see _parse.parse_cmdline) as the kernel read it: `args` are the kernel's,
        `init_args` what followed `--` (init's argv). `effect`: what the kernel made of the arguments
        where it says so itself (isolated and nohz_full CPUs, the default hugepage size)."""
        raw = self.fs.read('proc/cmdline')
        if raw is None:
            return {'available': False, 'raw': None, 'args': [], 'init_args': [], 'params': {}, 'effect': {}}
        parsed = parse_cmdline(raw, strict=False)
        parsed['available'] = True
        parsed['effect'] = {
            'isolated': _cpulist_file(self.fs.read('%s/isolated' % _CPU_DIR)),
            # Missing without CONFIG_NO_HZ_FULL: nohz_full= is then ignored.
            'nohz_full': _cpulist_file(self.fs.read('%s/nohz_full' % _CPU_DIR)),
            'default_hugepage_kb': parse_keyed_kb(self.fs.read('proc/meminfo')).get('Hugepagesize'),
        }
        return parsed

    def cmdline_value(self, key, default=None):
        return cmdline_value(self.cmdline(), key, default)

    # ------------------------------------------------------------ NUMA and CPUs

    @_cached
    def numa_node_ids(self):
        """Ids of the NUMA nodes the kernel has online (empty on a kernel without NUMA)."""
        online = self.fs.read('%s/online' % _NODE_DIR)
        if online is not None:
            try:
                return parse_cpulist(online)
            except ParseError:
                pass
        return sorted(int(n[4:]) for n in self.fs.listdir(_NODE_DIR) if re.match(r'^node\d+$', n))

    @_cached
    def numa(self):
        nodes = {}
        for node in self.numa_node_ids():
            base = '%s/node%d' % (_NODE_DIR, node)
            cpus = _safe_cpulist(self.fs.read('%s/cpulist' % base))
            meminfo = parse_keyed_kb(self.fs.read('%s/meminfo' % base), strip_prefix=True)
            distance_text = self.fs.read_value('%s/distance' % base)
            distances = [int(d) for d in distance_text.split()] if distance_text else []
            nodes[str(node)] = {
                'cpus': cpus,
                'cpulist': None if cpus is None else format_cpulist(cpus),
                'cpu_count': None if cpus is None else len(cpus),
                'memory_total_kb': meminfo.get('MemTotal'),
                'memory_free_kb': meminfo.get('MemFree'),
                'has_memory': bool(meminfo.get('MemTotal')),
                'distances': distances,
            }
        ids = self.numa_node_ids()
        return {
            'available': self.fs.isdir(_NODE_DIR) and bool(ids),
            'node_count': len(ids),
            'node_ids': ids,
            'nodes': nodes,
            'has_memory': _safe_cpulist(self.fs.read('%s/has_memory' % _NODE_DIR)),
            'has_cpu': _safe_cpulist(self.fs.read('%s/has_cpu' % _NODE_DIR)),
        }

    @_cached
    def cpus(self):
        """CPU topology from sysfs: sockets, cores, thread siblings, isolation."""
        online = _safe_cpulist(self.fs.read('%s/online' % _CPU_DIR))
        if not online:
            online = sorted(int(n[3:]) for n in self.fs.listdir(_CPU_DIR) if re.match(r'^cpu\d+$', n))
        packages = set()
        sibling_groups = []
        seen = set()
        for cpu in online:
            if cpu in seen:
                continue
            topo = '%s/cpu%d/topology' % (_CPU_DIR, cpu)
            # One read per core, not per thread: siblings cover the other threads.
            siblings = _safe_cpulist(self.fs.read('%s/thread_siblings_list' % topo)) or [cpu]
            seen.update(siblings)
            seen.add(cpu)
            sibling_groups.append(siblings)
            package = self.fs.read_int('%s/physical_package_id' % topo)
            if package is not None:
                packages.add(package)
        threads = max((len(g) for g in sibling_groups), default=0)
        cpu_node = {}
        for node_id, node in self.numa()['nodes'].items():
            for cpu in node['cpus'] or ():
                cpu_node[cpu] = int(node_id)
        vendor, flags = self._cpu_identity()
        return {
            'vendor': vendor,
            'pdpe1gb': 'pdpe1gb' in flags if flags is not None else None,
            'online': online,
            'online_list': format_cpulist(online),
            'count': len(online),
            'sockets': len(packages) or None,
            'cores': len(sibling_groups),
            'threads_per_core': threads or None,
            'thread_siblings': sibling_groups,
            'isolated': self._isolated(),
            'node_of_cpu': dict((str(c), n) for c, n in sorted(cpu_node.items())),
        }

    def _cpu_identity(self):
        head = self.fs.read_head('proc/cpuinfo')
        if head is None:
            return None, None
        vendor_id, flags = None, None
        for line in head.split('\n\n', 1)[0].splitlines():
            key, _sep, value = line.partition(':')
            key = key.strip()
            if key == 'vendor_id':
                vendor_id = value.strip()
            elif key == 'flags':
                flags = value.split()
        vendor = {'GenuineIntel': 'intel', 'AuthenticAMD': 'amd', 'HygonGenuine': 'amd'}.get(vendor_id, vendor_id)
        return vendor, flags

    def _isolated(self):
        cmdline = self.cmdline()
        result = {'kernel': _safe_cpulist(self.fs.read('%s/isolated' % _CPU_DIR)),
                  'nohz_full_kernel': _safe_cpulist(self.fs.read('%s/nohz_full' % _CPU_DIR))}
        isolcpus = cmdline_value(cmdline, 'isolcpus')
        try:
            flags, cpus = parse_isolcpus(isolcpus) if isolcpus else ([], [])
        except ParseError:
            flags, cpus = [], None
        result['isolcpus'] = cpus
        result['isolcpus_flags'] = flags
        for key in ('nohz_full', 'rcu_nocbs', 'irqaffinity'):
            value = cmdline_value(cmdline, key)
            result[key] = _safe_cpulist(value) if value else []
        return result

    # ------------------------------------------------------------ hugepages

    @_cached
    def hugepage_sizes_kb(self):
        sizes = []
        for name in self.fs.listdir(_HUGEPAGES_DIR):
            try:
                sizes.append(parse_size_kb(name))
            except ParseError:
                continue
        return sorted(sizes)

    @_cached
    def hugepages(self):
        meminfo = parse_keyed_kb(self.fs.read('proc/meminfo'))
        default_kb = meminfo.get('Hugepagesize')
        pools = {}
        for size_kb in self.hugepage_sizes_kb():
            pools[format_size_kb(size_kb)] = self.hugepage_pool(size_kb)
        mounts = []
        for mount in parse_mounts(self.fs.read('proc/mounts')):
            if mount['fstype'] != 'hugetlbfs':
                continue
            pagesize = mount['options'].get('pagesize')
            try:
                page_kb = parse_size_kb(pagesize) if pagesize else default_kb
            except ParseError:
                page_kb = None
            mounts.append({
                'path': mount['path'],
                'pagesize': format_size_kb(page_kb) if page_kb else None,
                'pagesize_kb': page_kb,
                'options': mount['options'],
            })
        thp_enabled, thp_choices = parse_bracketed_choice(
            self.fs.read('sys/kernel/mm/transparent_hugepage/enabled'))
        thp_defrag, _choices = parse_bracketed_choice(
            self.fs.read('sys/kernel/mm/transparent_hugepage/defrag'))
        return {
            'supported': bool(pools),
            'default_size': format_size_kb(default_kb) if default_kb else None,
            'default_size_kb': default_kb,
            'sizes': [format_size_kb(s) for s in self.hugepage_sizes_kb()],
            'pools': pools,
            'mounts': mounts,
            'transparent': {'enabled': thp_enabled, 'defrag': thp_defrag, 'choices': thp_choices},
        }

    def hugepage_pool(self, size_kb):
        """Global and per-node counters of one page size (not cached: writers re-read it)."""
        base = '%s/hugepages-%dkB' % (_HUGEPAGES_DIR, size_kb)
        pool = {
            'size_kb': size_kb,
            'nr': self.fs.read_int(base + '/nr_hugepages'),
            'free': self.fs.read_int(base + '/free_hugepages'),
            'reserved': self.fs.read_int(base + '/resv_hugepages'),
            'surplus': self.fs.read_int(base + '/surplus_hugepages'),
            'overcommit': self.fs.read_int(base + '/nr_overcommit_hugepages'),
            'nodes': {},
        }
        for node in self.numa_node_ids():
            node_base = '%s/node%d/hugepages/hugepages-%dkB' % (_NODE_DIR, node, size_kb)
            nr = self.fs.read_int(node_base + '/nr_hugepages')
            if nr is None:
                continue  # memoryless nodes have no hugepage directory
            pool['nodes'][str(node)] = {
                'nr': nr,
                'free': self.fs.read_int(node_base + '/free_hugepages'),
                'surplus': self.fs.read_int(node_base + '/surplus_hugepages'),
            }
        pool['memory_kb'] = (pool['nr'] or 0) * size_kb
        return pool

    # ------------------------------------------------------------ IOMMU

    @_cached
    def iommu(self):
        units = self.fs.listdir('sys/class/iommu')
        groups = {}
        for group in self.fs.listdir('sys/kernel/iommu_groups'):
            if not group.isdigit():
                continue
            base = 'sys/kernel/iommu_groups/%s' % group
            groups[group] = {
                'devices': self.fs.listdir(base + '/devices'),
                'type': self.fs.read_value(base + '/type'),
            }
        if any(u.startswith('dmar') for u in units):
            vendor = 'intel'
        elif any(u.startswith('ivhd') for u in units):
            vendor = 'amd'
        elif units:
            vendor = 'other'
        else:
            vendor = None
        cmd = self.cmdline()
        flags = {}
        for key in ('intel_iommu', 'amd_iommu', 'iommu', 'iommu.passthrough', 'iommu.strict', 'vfio.enable_unsafe_noiommu_mode'):
            value = cmdline_value(cmd, key)
            if value is not None or key.replace('-', '_') in cmd['params']:
                flags[key] = value
        # The firmware's ACPI table names the IOMMU kind even while it is off; the CPU vendor cannot
        # (QEMU's TCG 'max' CPU says AuthenticAMD next to an emulated Intel IOMMU).
        tables = [t for t in ('DMAR', 'IVRS') if self.fs.exists('sys/firmware/acpi/tables/' + t)]
        platform = 'intel' if 'DMAR' in tables else 'amd' if 'IVRS' in tables else None
        noiommu = self.fs.read_value('sys/module/vfio/parameters/enable_unsafe_noiommu_mode')
        unsafe = self.fs.read_value(VFIO_UNSAFE_INTERRUPTS)
        enabled = bool(units) and bool(groups)
        group_types = sorted(set(g['type'] for g in groups.values() if g['type']))
        return {
            'enabled': enabled,
            'vendor': vendor,
            'platform': platform,
            'acpi_tables': tables,
            'units': units,
            'reason': _iommu_reason(enabled, units, groups, flags),
            'cmdline': flags,
            'passthrough': _iommu_passthrough(enabled, flags, group_types),
            'group_count': len(groups),
            'group_types': group_types,
            'groups': groups,
            'vfio_noiommu': noiommu in ('Y', '1') if noiommu is not None else False,
            # Without interrupt remapping, vfio_iommu_type1 refuses VFIO_SET_IOMMU (EPERM: DPDK's "failed to select
            # IOMMU type") unless allow_unsafe_interrupts is set; None: not known (no /proc/interrupts, no IOMMU).
            'interrupt_remapping': interrupts_remapped(self.fs.read('proc/interrupts')) if enabled else None,
            'vfio_unsafe_interrupts': unsafe in ('Y', '1') if unsafe is not None else None,
        }

    # ------------------------------------------------------------ PCI devices

    @_cached
    def pci(self):
        default_route = self.default_route_netdevs()
        devices = {}
        # One listing instead of a readlink per device: devices of other classes are reported only on vfio-pci.
        vfio_bound = set(self.fs.listdir('sys/bus/pci/drivers/vfio-pci'))
        for address in self.fs.listdir(_PCI_DIR):
            base = '%s/%s' % (_PCI_DIR, address)
            pci_class = self.fs.read_value(base + '/class')
            if not (pci_class and pci_class.startswith(_REPORTED_CLASS_PREFIXES)) and address not in vfio_bound:
                continue
            driver = self.fs.link_name(base + '/driver')
            devices[address] = self._pci_device(address, base, pci_class, driver, default_route)
        for device in devices.values():
            for vf in (device['sriov'] or {}).get('vfs', ()):
                known = devices.get(vf['address'])
                if known is None:  # a VF of a class we do not report: read just what the PF needs
                    vf_base = '%s/%s' % (_PCI_DIR, vf['address'])
                    known = {'driver': self.fs.link_name(vf_base + '/driver'),
                             'netdevs': self._netdevs(vf_base, set(self.fs.listdir(vf_base)))}
                vf['driver'] = known['driver']
                vf['netdevs'] = known['netdevs']
        return {
            'devices': devices,
            'default_route_netdevs': default_route,
            'sriov_pfs': sorted(a for a, d in devices.items() if d['sriov'] is not None),
        }

    def _pci_device(self, address, base, pci_class, driver, default_route):
        entries = self.fs.names(base)
        numa_node = self.fs.read_int(base + '/numa_node')
        netdevs = self._netdevs(base, entries)
        override = self.fs.read_value(base + '/driver_override') if 'driver_override' in entries else None
        device = {
            'address': address,
            'vendor': self.fs.read_value(base + '/vendor'),
            'device': self.fs.read_value(base + '/device'),
            'subsystem_vendor': self.fs.read_value(base + '/subsystem_vendor'),
            'subsystem_device': self.fs.read_value(base + '/subsystem_device'),
            'class': pci_class,
            'kind': _pci_kind(pci_class),
            'driver': driver,
            'driver_override': None if override in (None, '', '(null)') else override,
            # -1 means the firmware gave no affinity: report unknown, never guess.
            'numa_node': numa_node if numa_node is not None and numa_node >= 0 else None,
            'iommu_group': self.fs.link_name(base + '/iommu_group'),
            'netdevs': netdevs,
            'carries_default_route': any(n in default_route for n in netdevs),
            'physfn': self.fs.link_name(base + '/physfn') if 'physfn' in entries else None,
            'sriov': None,
        }
        if 'sriov_totalvfs' in entries:
            autoprobe = self.fs.read_value(base + '/sriov_drivers_autoprobe')
            device['sriov'] = {
                'totalvfs': self.fs.read_int(base + '/sriov_totalvfs'),
                'numvfs': self.fs.read_int(base + '/sriov_numvfs'),
                'drivers_autoprobe': None if autoprobe is None else autoprobe == '1',
                # Filled in by pci() from the VFs' own entries: no second read per VF.
                'vfs': [{'index': index, 'address': self.fs.link_name('%s/virtfn%d' % (base, index))}
                        for index in sorted(int(e[6:]) for e in entries if e.startswith('virtfn') and e[6:].isdigit())],
            }
        return device

    def _netdevs(self, base, entries):
        if 'net' in entries:
            return self.fs.listdir(base + '/net')
        # virtio-net hangs its netdev off the virtio child device (virtio0/net/eth0).
        netdevs = []
        for child in entries:
            if child.startswith('virtio') and child[6:].isdigit():
                netdevs.extend(self.fs.listdir('%s/%s/net' % (base, child)))
        return netdevs

    @_cached
    def default_route_netdevs(self):
        devices = parse_route_table(self.fs.read('proc/net/route'))
        for dev in parse_ipv6_route_table(self.fs.read('proc/net/ipv6_route')):
            if dev not in devices:
                devices.append(dev)
        return devices

    # ------------------------------------------------------------ boot

    @_cached
    def boot(self):
        os_release = parse_os_release(self.fs.read('etc/os-release') or self.fs.read('usr/lib/os-release'))
        tools = dict((name, next((p for p in paths if self.fs.exists(p)), None))
                     for name, paths in _BOOT_TOOLS.items())
        default_grub_text = self.fs.read('etc/default/grub')
        default_grub = parse_shell_assignments(default_grub_text) if default_grub_text is not None else None
        dropins = [n for n in self.fs.listdir('etc/default/grub.d') if n.endswith('.cfg')]
        bls_entries = [n for n in self.fs.listdir('boot/loader/entries') if n.endswith('.conf')]
        firmware = 'uefi' if self.fs.isdir('sys/firmware/efi') else 'bios'
        ostree = self.fs.exists('run/ostree-booted')
        kernel = self.fs.read_value('proc/sys/kernel/osrelease')
        loader = _boot_loader_flavour(os_release, tools, default_grub, bls_entries, ostree)
        return {
            'firmware': firmware,
            'loader': loader,
            'kernel': kernel,
            'kernel_version': _kernel_version(kernel),
            'os': {
                'id': os_release.get('ID'),
                'id_like': os_release.get('ID_LIKE', '').split(),
                'version_id': os_release.get('VERSION_ID'),
                'name': os_release.get('PRETTY_NAME'),
            },
            'ostree': ostree,
            'grub': {
                'default_file': default_grub is not None,
                'cmdline_linux': (default_grub or {}).get('GRUB_CMDLINE_LINUX'),
                'cmdline_linux_default': (default_grub or {}).get('GRUB_CMDLINE_LINUX_DEFAULT'),
                'default_entry': (default_grub or {}).get('GRUB_DEFAULT'),
                'enable_blscfg': (default_grub or {}).get('GRUB_ENABLE_BLSCFG'),
                'dropins': dropins,
            },
            'bls_entries': bls_entries,
            'tools': sorted(name for name, path in tools.items() if path),
        }


# ---------------------------------------------------------------- pure helpers

def _safe_cpulist(text):
    if text is not None and text.strip() == '(null)':
        return []  # sysfs prints an empty cpumask of nohz_full this way
    try:
        return parse_cpulist(text)
    except ParseError:
        return None


def _cpulist_file(text):
    """A sysfs cpulist file: None when the file is missing (the kernel lacks the feature)."""
    return None if text is None else _safe_cpulist(text)


def _pci_kind(pci_class):
    if not pci_class:
        return None
    if pci_class.startswith('0x02'):
        return 'network'
    if pci_class.startswith(('0x12', '0x0b40')):
        return 'accelerator'
    return 'other'


def _iommu_reason(enabled, units, groups, flags):
    if enabled:
        return 'IOMMU units %s active with %d groups' % (', '.join(units), len(groups))
    if flags.get('intel_iommu') == 'off' or flags.get('amd_iommu') == 'off':
        return 'disabled on the kernel command line'
    if not units:
        return ('no IOMMU unit registered (no dmar/ivhd in /sys/class/iommu): firmware has no DMAR/IVRS table '
                'or the kernel did not enable it (try intel_iommu=on on Intel)')
    return 'IOMMU units present but no IOMMU groups: DMA translation is not in use'


def _iommu_passthrough(enabled, flags, group_types):
    if not enabled:
        return None
    if flags.get('iommu') == 'pt' or flags.get('iommu.passthrough') in ('1', 'on', 'y'):
        return True
    if group_types:
        return group_types == ['identity']
    return False


def _kernel_version(release):
    m = re.match(r'^(\d+)\.(\d+)(?:\.(\d+))?', release or '')
    if not m:
        return None
    return [int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)]


def _boot_loader_flavour(os_release, tools, default_grub, bls_entries, ostree):
    """Name the way this host's kernel command line is configured.

    'ostree' and 'transactional' hosts are named so callers can refuse them;
    'grub2-bls' is RHEL 8+/Fedora (grubby edits BLS entries); 'grub2-mkconfig' is
    RHEL 7 and SUSE; 'debian-grub' is update-grub with /etc/default/grub.d.
    """
    if ostree:
        return 'ostree'
    if tools.get('transactional-update'):
        return 'transactional'
    blscfg = (default_grub or {}).get('GRUB_ENABLE_BLSCFG', '').lower() == 'true'
    if tools.get('grubby') and (blscfg or bls_entries):
        return 'grub2-bls'
    if tools.get('update-grub') or (tools.get('grub-mkconfig') and default_grub is not None):
        return 'debian-grub'
    if tools.get('grub2-mkconfig') and default_grub is not None:
        return 'grub2-mkconfig'
    return 'unknown'
