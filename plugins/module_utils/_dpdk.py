# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What DPDK's EAL and dpdk-testpmd printed, as data, and whether that is what the node was prepared for.

Pure functions over the text of a testpmd run (a pod's log). The line formats are those of DPDK 22.11 as Debian 12
ships it (the format strings in librte_eal.so.23, librte_bus_pci.so.23 and /usr/bin/dpdk-testpmd of
22.11.11-0+deb12u1; tests/fixtures/dpdk/README.md says which fixture was captured and which was assembled).
Most memory and lcore lines are EAL debug messages: the workload pod runs testpmd with --log-level=lib.eal:debug.

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    KubeletConfigError,
    parse_memory,
    pod_resources,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError

# ANSI sequences testpmd's --stats-period output clears the screen with.
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
_PCI = r'([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])'

_LINES = [
    ('cpu_lcores', re.compile(r'^EAL: Detected CPU lcores: (\d+)$')),
    ('numa_nodes', re.compile(r'^EAL: Detected NUMA nodes: (\d+)$')),
    ('detected_lcore', re.compile(r'^EAL: Detected lcore (\d+) as core (\d+) on socket (\d+)$')),
    ('iova', re.compile(r"^EAL: Selected IOVA mode '(\w+)'$")),
    ('memory_type', re.compile(r'^EAL: Detected memory type: socket_id:(\d+) hugepage_sz:(\d+)$')),
    ('allocating', re.compile(r'^EAL: Allocating (\d+) pages of size (\d+)M on socket (-?\d+)$')),
    ('heap_added', re.compile(r'^EAL: Added (\d+)M to heap on socket (-?\d+)$')),
    ('heap_expanded', re.compile(r'^EAL: Heap on socket (-?\d+) was expanded by (\d+)MB$')),
    ('heap_shrunk', re.compile(r'^EAL: Heap on socket (-?\d+) was shrunk by (\d+)MB$')),
    ('no_free', re.compile(r'^EAL: No free (\d+) kB hugepages reported on node (\d+)$')),
    ('no_available', re.compile(r'^EAL: No available (\d+) kB hugepages reported$')),
    ('no_mount', re.compile(r'^EAL: (\d+) hugepages of size (\d+) reserved, but no mounted hugetlbfs found for that '
                            r'size$')),
    ('not_enough', re.compile(r'^EAL: Not enough memory available on socket (\d+)! Requested: (\d+)MB, available: '
                              r'(\d+)MB$')),
    ('vfio_none', re.compile(r'^EAL: VFIO modules not loaded, skipping VFIO support\.\.\.$')),
    ('vfio_ok', re.compile(r'^EAL: VFIO support initialized$')),
    ('vfio_failed', re.compile(r'^EAL: VFIO support could not be initialized$')),
    # 22.11 prints "Using"; releases before 21.11 printed "  using" (both seen in DPDK's history).
    ('iommu_type', re.compile(r'^EAL:\s+[Uu]sing IOMMU type (\d+) \(([^)]*)\)$')),
    # EAL debug: the kernel's answer to VFIO_SET_IOMMU per type (EPERM for type 1: no interrupt remapping).
    ('set_iommu_failed', re.compile(r'^EAL: Set IOMMU type (\d+) \(([^)]*)\) failed, error (\d+) \(([^)]*)\)$')),
    ('probe', re.compile(r'^EAL: Probe PCI driver: (\S+) \(([0-9a-fA-F]+):([0-9a-fA-F]+)\) device: ' + _PCI
                         + r' \(socket (-?\d+)\)$')),
    ('pci_socket', re.compile(r'^EAL: PCI device ' + _PCI + r' on NUMA socket (-?\d+)$')),
    ('not_numa_aware', re.compile(r'^EAL: Device ' + _PCI + r' is not NUMA-aware')),
    ('cannot_use', re.compile(r'^EAL: Requested device ' + _PCI + r' cannot be used$')),
    ('main_lcore', re.compile(r'^EAL: Main lcore (\d+) is ready \(tid=[0-9a-f]+;cpuset=\[([^\]]*)\]\)$')),
    ('lcore', re.compile(r'^EAL: lcore (\d+) is ready \(tid=[0-9a-f]+;cpuset=\[([^\]]*)\]\)$')),
    ('exit', re.compile(r'^EAL: Error - exiting with code: (\d+)$')),
    ('cause', re.compile(r'^\s*Cause: (.*)$')),
    ('fatal', re.compile(r'^EAL: FATAL: (.*)$')),
    ('forwarding', re.compile(r'^Logical Core (\d+) \(socket (\d+)\) forwards packets on (\d+) streams:$')),
    ('port', re.compile(r'^Configuring Port (\d+) \(socket (\d+)\)$')),
    ('fwd_mode', re.compile(r'^(\S+) packet forwarding - ports=(\d+) - cores=(\d+) - streams=(\d+)')),
    ('mbuf_pool', re.compile(r'^testpmd: create a new mbuf pool <[^>]*>: n=(\d+), size=(\d+), socket=(\d+)$')),
    ('no_ports', re.compile(r'^testpmd: No probed ethernet devices$')),
    ('bye', re.compile(r'^Bye\.\.\.$')),
    ('marker', re.compile(r'^dataplane-workload: (.*)$')),
]
# EAL lines naming why a device or vfio could not be used: kept verbatim for the report.
_DEVICE_ERRORS = re.compile(
    r'^EAL: (?:.*not managed by VFIO driver|.*VFIO group is not viable|.*cannot get IOMMU group|Failed to open VFIO '
    r'group|Cannot open VFIO container|Cannot request VFIO (?:group|container) fd|.*failed to select IOMMU type|'
    r'Requested device .* cannot be used|Cannot open /dev/vfio|.*setup device failed|Getting a vfio_dev_fd for .* '
    r'failed|.*Not managed by a supported kernel driver, skipped|No supported IOMMU extensions found!|'
    r'Cannot (?:register|map) vaddr for IOMMU.*)')


def clean_lines(text):
    """The log's lines without carriage returns and the screen-clearing ANSI sequences of --stats-period."""
    return [_ANSI.sub('', line).rstrip() for line in (text or '').replace('\r', '\n').split('\n')]


def _socket(value):
    value = int(value)
    return None if value < 0 else value


def _cpulist(text):
    cpus = []
    for part in (text or '').split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            start, end = part.split('-', 1)
            cpus.extend(range(int(start), int(end) + 1))
        else:
            cpus.append(int(part))
    return cpus


def parse_testpmd(text):
    """A testpmd run's log -> what EAL mapped, probed and started (plain data; unknown lines are ignored).

    hugepages: {socket: {page size kB: {'pages', 'mb'}}} from "Allocating N pages of size SM on socket S" (EAL
    debug, printed when --socket-mem preallocates); heap_mb: {socket: MB} from the heap lines (also dynamic memory);
    devices: the PCI devices a driver probed, with vendor:device and socket (None for EAL's -1); vfio: loaded,
    initialized, the IOMMU type; lcores: the main lcore and the others with their cpusets (EAL debug), forwarding
    lcores with their sockets (testpmd); failure: EAL's exit code, its FATAL lines and testpmd's Cause, or None.
    """
    result = {
        'started': False, 'cpu_lcores': None, 'numa_nodes': None, 'cpu_sockets': {}, 'iova_mode': None,
        'memory_types': [], 'hugepages': {}, 'heap_mb': {}, 'hugepage_messages': [], 'vfio': {
            'modules_loaded': None, 'initialized': None, 'iommu_type': None, 'errors': []},
        'devices': [], 'device_sockets': {}, 'not_numa_aware': [], 'unusable_devices': [], 'lcores': {
            'main': None, 'cpusets': {}, 'forwarding': []},
        'ports': [], 'forward_mode': None, 'no_ports': False, 'finished': False, 'failure': None, 'marker': [],
    }
    failure = None
    fatal = []
    for line in clean_lines(text):
        if _DEVICE_ERRORS.match(line):
            result['vfio']['errors'].append(line)
        for kind, pattern in _LINES:
            match = pattern.match(line)
            if match is None:
                continue
            groups = match.groups()
            if kind in ('cpu_lcores', 'numa_nodes'):
                result[kind] = int(groups[0])
            elif kind == 'detected_lcore':
                result['cpu_sockets'][int(groups[0])] = int(groups[2])
            elif kind == 'iova':
                result['iova_mode'] = groups[0]
            elif kind == 'memory_type':
                entry = {'socket': int(groups[0]), 'page_size_kb': int(groups[1]) // 1024}
                if entry not in result['memory_types']:
                    result['memory_types'].append(entry)
            elif kind == 'allocating':
                socket, size_kb = _socket(groups[2]), int(groups[1]) * 1024
                slot = result['hugepages'].setdefault(socket, {}).setdefault(size_kb, {'pages': 0, 'mb': 0})
                slot['pages'] += int(groups[0])
                slot['mb'] += int(groups[0]) * int(groups[1])
            elif kind in ('heap_added', 'heap_expanded', 'heap_shrunk'):
                mb, socket = (groups[0], groups[1]) if kind == 'heap_added' else (groups[1], groups[0])
                sign = -1 if kind == 'heap_shrunk' else 1
                socket = _socket(socket)
                result['heap_mb'][socket] = result['heap_mb'].get(socket, 0) + sign * int(mb)
            elif kind in ('no_free', 'no_available', 'no_mount', 'not_enough'):
                result['hugepage_messages'].append(line)
            elif kind == 'vfio_none':
                result['vfio']['modules_loaded'] = False
            elif kind == 'vfio_ok':
                result['vfio'].update(modules_loaded=True, initialized=True)
            elif kind == 'vfio_failed':
                result['vfio'].update(modules_loaded=True, initialized=False)
            elif kind == 'iommu_type':
                result['vfio']['iommu_type'] = {'id': int(groups[0]), 'name': groups[1]}
            elif kind == 'set_iommu_failed':
                result['vfio'].setdefault('set_iommu_failed', []).append(
                    {'id': int(groups[0]), 'name': groups[1], 'errno': int(groups[2]), 'error': groups[3]})
            elif kind == 'probe':
                result['devices'].append({'address': groups[3].lower(), 'driver': groups[0],
                                          'id': '%s:%s' % (groups[1].lower(), groups[2].lower()),
                                          'socket': _socket(groups[4])})
            elif kind == 'pci_socket':
                result['device_sockets'][groups[0].lower()] = _socket(groups[1])
            elif kind == 'not_numa_aware':
                result['not_numa_aware'].append(groups[0].lower())
            elif kind == 'cannot_use':
                result['unusable_devices'].append(groups[0].lower())
            elif kind == 'main_lcore':
                result['lcores']['main'] = int(groups[0])
                result['lcores']['cpusets'][int(groups[0])] = _cpulist(groups[1])
            elif kind == 'lcore':
                result['lcores']['cpusets'][int(groups[0])] = _cpulist(groups[1])
            elif kind == 'exit':
                failure = {'code': int(groups[0]), 'cause': None}
            elif kind == 'cause' and failure is not None and failure['cause'] is None:
                failure['cause'] = groups[0]
            elif kind == 'fatal':
                fatal.append(groups[0])
            elif kind == 'forwarding':
                result['lcores']['forwarding'].append({'lcore': int(groups[0]), 'socket': int(groups[1]),
                                                       'streams': int(groups[2])})
            elif kind == 'port':
                result['ports'].append({'port': int(groups[0]), 'socket': int(groups[1])})
            elif kind == 'fwd_mode':
                result['forward_mode'] = groups[0]
            elif kind in ('mbuf_pool', 'no_ports', 'bye'):
                if kind == 'mbuf_pool':
                    result['started'] = True  # testpmd's own code runs only after rte_eal_init returned
                elif kind == 'no_ports':
                    result['no_ports'] = True
                else:
                    result['finished'] = True
            elif kind == 'marker':
                result['marker'].append(groups[0])
            break
    if failure is not None:
        failure['fatal'] = fatal
        failure['eal_init'] = bool(failure['cause'] and failure['cause'].startswith('Cannot init EAL'))
        failure['message'] = eal_message(failure)
    result['failure'] = failure
    return result


def eal_message(failure):
    """EAL's own words for a failed start: its FATAL lines, then testpmd's Cause (deduplicated, in order)."""
    parts = []
    for text in list(failure.get('fatal') or []) + ([failure['cause']] if failure.get('cause') else []):
        if text not in parts:
            parts.append(text)
    return '; '.join(parts) or 'exited with code %s' % failure.get('code')


def _size_kb(size):
    """'2M', '2Mi', '1G', '1Gi', 2048 (kB) -> kB."""
    if isinstance(size, int):
        return size
    text = str(size).strip().rstrip('iB')
    units = {'K': 1, 'M': 1024, 'G': 1024 * 1024}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def size_name(size_kb):
    return '%dG' % (size_kb // 1048576) if size_kb % 1048576 == 0 else '%dM' % (size_kb // 1024) \
        if size_kb % 1024 == 0 else '%dk' % size_kb


def workload_problems(result, wanted):
    """What the run shows against what was asked (empty: DPDK ran as the node was prepared for).

    wanted: page_size ('2M', '1G'; None for --no-huge), numa_node (None: any), memory_mb (the --socket-mem amount),
    device (PCI address or None), driver (the kernel driver the device was bound to: 'vfio-pci' needs EAL's vfio),
    device_numa_node (from the node's facts, None when unknown).
    """
    wanted = dict(wanted or {})
    problems = []
    failure = result.get('failure')
    if failure is not None:
        problems.append('DPDK could not start: %s' % failure['message'])
        for line in result['vfio']['errors'] + result['hugepage_messages']:
            problems.append('EAL said: %s' % line)
        problems.extend(_set_iommu_problems(result))
        return problems
    if not result.get('started'):
        problems.append('no sign that EAL initialised (no mbuf pool created): the log is cut short or testpmd did '
                        'not run')
        return problems
    page = wanted.get('page_size')
    node = wanted.get('numa_node')
    if page is not None:
        size_kb = _size_kb(page)
        mapped = dict((socket, sizes[size_kb]) for socket, sizes in result['hugepages'].items() if size_kb in sizes)
        if not mapped:
            mapped_sizes = sorted(result['hugepages'].items(), key=str)
            other = ', '.join('%s on socket %s' % (size_name(kb), s) for s, sizes in mapped_sizes for kb in sizes)
            hint = (' (it mapped %s)' % other if other else
                    ' (no "Allocating N pages" line: run testpmd with --socket-mem and --log-level=lib.eal:debug)')
            problems.append('EAL mapped no %s hugepages%s' % (size_name(size_kb), hint))
        elif node is not None and node not in mapped:
            problems.append('EAL mapped %s hugepages on socket %s, not on NUMA node %s' % (
                size_name(size_kb), ', '.join(str(s) for s in sorted(mapped, key=str)), node))
        elif node is not None and wanted.get('memory_mb') and mapped[node]['mb'] < wanted['memory_mb']:
            problems.append('EAL mapped %d MB of %s hugepages on NUMA node %s, %d MB were asked' % (
                mapped[node]['mb'], size_name(size_kb), node, wanted['memory_mb']))
    device = (wanted.get('device') or '').lower() or None
    probed = None
    if device:
        probed = next((d for d in result['devices'] if d['address'] == device), None)
        if probed is None:
            problems.append('no driver probed %s%s' % (device, ''.join(
                '; EAL said: %s' % line for line in result['vfio']['errors']) or (
                ' (EAL cannot use it)' if device in result['unusable_devices'] else '')))
            problems.extend(_set_iommu_problems(result))
        if wanted.get('driver') == 'vfio-pci':
            if result['vfio']['modules_loaded'] is False:
                problems.append('EAL found no vfio modules: the container sees no /sys/module/vfio')
            elif result['vfio']['iommu_type'] is None and probed is not None:
                problems.append('%s was probed but EAL reported no IOMMU type: not through vfio' % device)
        if not result['ports']:
            problems.append('testpmd configured no port')
    known_sockets = set()
    if probed is not None and probed['socket'] is not None:
        known_sockets.add(probed['socket'])
    elif wanted.get('device_numa_node') is not None:
        known_sockets.add(wanted['device_numa_node'])
    for nic_socket in known_sockets:
        if node is not None and node != nic_socket:
            problems.append('memory on NUMA node %s, the device on node %s' % (node, nic_socket))
        for fwd in result['lcores']['forwarding']:
            if fwd['socket'] != nic_socket:
                problems.append('forwarding lcore %d runs on socket %d, the device is on %d' % (
                    fwd['lcore'], fwd['socket'], nic_socket))
    if not result['lcores']['forwarding']:
        problems.append('testpmd started no forwarding lcore')
    return problems


def _set_iommu_problems(result):
    """Why the kernel refused the type 1 IOMMU, when EAL's debug lines say it did with EPERM."""
    if result['vfio'].get('iommu_type') is not None:
        return []
    for failed in result['vfio'].get('set_iommu_failed') or []:
        if failed['id'] == 1 and failed['errno'] == 1:
            return ['the kernel refused the type 1 IOMMU (VFIO_SET_IOMMU: %s): the host has no interrupt remapping '
                    '(its log says "No interrupt remapping support"); set sriov_vfio_allow_unsafe_interrupts (the '
                    'sriov role; vfio_iommu_type1 allow_unsafe_interrupts) or enable interrupt remapping'
                    % failed['error']]
    return []


def report_lines(name, result, wanted=None):
    """Per-node lines for a run: what EAL mapped and probed, the lcores, then the problems."""
    wanted = dict(wanted or {})
    failure = result.get('failure')
    if failure is not None:
        head = '%s: DPDK did not start: %s' % (name, failure['message'])
    else:
        head = '%s: DPDK %s (%s NUMA node%s, IOVA %s)' % (
            name, 'ran' if result.get('started') else 'did not report a start', result.get('numa_nodes'),
            '' if result.get('numa_nodes') == 1 else 's', result.get('iova_mode'))
    if failure is None and not result.get('started'):
        head = '%s: DPDK did not run (no EAL output in the log)' % name
    lines = [head]
    if failure is None and result.get('started'):
        pages = ['%s %d pages (%d MB) on node %s' % (size_name(kb), slot['pages'], slot['mb'], socket)
                 for socket, sizes in sorted(result['hugepages'].items(), key=str)
                 for kb, slot in sorted(sizes.items())]
        heap = ', '.join('%d MB on node %s' % (mb, s) for s, mb in sorted(result['heap_mb'].items(), key=str))
        lines.append('  hugepages: %s%s' % ('; '.join(pages) or 'none mapped', ' (heap %s)' % heap if heap else ''))
        for device in result['devices']:
            iommu = result['vfio']['iommu_type']
            lines.append('  device %s (%s): %s, socket %s%s' % (
                device['address'], device['id'], device['driver'],
                'unknown' if device['socket'] is None else device['socket'],
                ', vfio with IOMMU %s' % iommu['name'] if iommu else ''))
        if not result['devices']:
            asked = ' (%s asked)' % wanted['device'] if wanted.get('device') else ''
            lines.append('  devices: none probed%s' % asked)
        cpusets = result['lcores']['cpusets']
        main = result['lcores']['main']
        lcores = ['main %s%s' % (main, ' (cpus %s)' % ','.join(str(c) for c in cpusets[main])
                                 if main in cpusets else '')] if main is not None else []
        for fwd in result['lcores']['forwarding']:
            cpus = cpusets.get(fwd['lcore'])
            lcores.append('forwarding %d%s on socket %d' % (
                fwd['lcore'], ' (cpus %s)' % ','.join(str(c) for c in cpus) if cpus else '', fwd['socket']))
        lines.append('  lcores: %s' % ('; '.join(lcores) or 'none reported'))
    for problem in workload_problems(result, wanted):
        lines.append('  problem: %s' % problem)
    return lines


# ---------------------------------------------------------------- the testpmd pod of the workload check

POD_NAME = 'dataplane-workload-check'
VF_ENV = 'DATAPLANE_VF'
_PCI_ADDRESS = re.compile(r'^' + _PCI + r'$')
_NEEDS = ('cpu', 'memory', 'hugepages', 'shm', 'numa_node', 'vf', 'image', 'image_pull_policy', 'name', 'namespace',
          'duration', 'stats_period', 'mbufs', 'host_network', 'privileged', 'hugepages_path')


class WorkloadError(ValueError):
    def __init__(self, problems):
        ValueError.__init__(self, '; '.join(problems))
        self.problems = problems


def _int(value, name, problems, minimum):
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or str(number) != str(value).strip():
        problems.append('%s: %r is not a whole number of %d or more' % (name, value, minimum))
        return None
    return number


# The container's allowed CPUs that are on the memory's NUMA node (two cpulists intersected; mawk is in every
# Debian image): testpmd creates an mbuf pool on the socket of every forwarding lcore, and with --socket-mem giving
# one node only, a lcore on another node fails it ("Creation of mbuf pool for socket 1 failed", seen on the testbed
# with a pod allowed both CPUs). Without an allowed CPU there, all allowed CPUs are used and the report flags it.
_PICK_CPUS = (
    "pick=$(awk -v a=\"$cpus\" -v b=\"%s\" 'function ex(s, set, n, i, r, p, lo, hi, c) {"
    " n = split(s, r, \",\"); for (i = 1; i <= n; i++) { p = index(r[i], \"-\");"
    " if (p) { lo = substr(r[i], 1, p - 1) + 0; hi = substr(r[i], p + 1) + 0 } else { lo = hi = r[i] + 0 }"
    " for (c = lo; c <= hi; c++) set[c] = 1; if (hi > M) M = hi } }"
    " BEGIN { M = 0; ex(a, A); ex(b, B); o = \"\";"
    " for (c = 0; c <= M; c++) if ((c in A) && (c in B)) o = o (o == \"\" ? \"\" : \",\") c;"
    " print o }')")


def testpmd_command(page_size_kb, huge_dir, socket_mem, vf, duration, stats_period, mbufs, node_cpus=None):
    """The container's shell script: testpmd on the container's own CPUs, stopped by SIGINT after `duration` s.

    node_cpus: the cpulist of the NUMA node that holds the memory (--socket-mem); the lcores are taken from the
    container's CPUs on that node. One CPU (a Guaranteed pod on the static CPU manager asking cpu 1) gets two lcores
    mapped onto it: testpmd needs a forwarding lcore besides the main one ("No cores defined for forwarding"
    otherwise, captured on 22.11). testpmd exits 0 on SIGINT; timeout --preserve-status keeps that, -k kills a
    testpmd that hangs.
    """
    if page_size_kb is None:
        memory = '--no-huge -m %d' % socket_mem[-1]
    else:
        memory = '--huge-dir=%s --socket-mem=%s' % (huge_dir, ','.join(str(mb) for mb in socket_mem))
    devices = '-a "$%s"' % VF_ENV if vf else '--no-pci --vdev=net_null0 --vdev=net_null1'
    pick = []
    if node_cpus:
        pick = [_PICK_CPUS % node_cpus,
                'if [ -n "$pick" ]; then cpus=$pick; else echo "dataplane-workload: no allowed CPU on the memory\'s NUMA '
                'node (cpus %s): lcores on $cpus"; fi' % node_cpus]
    return '\n'.join([
        "cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)"] + pick + [
        'case "$cpus" in *[,-]*) lcores="-l $cpus" ;; *) lcores="--lcores=0@$cpus,1@$cpus" ;; esac',
        'echo "dataplane-workload: cpus=$cpus vf=${%s:-none}"' % VF_ENV,
        'exec timeout --preserve-status -k 10 -s INT %d dpdk-testpmd $lcores --log-level=lib.eal:debug %s %s '
        '-- --stats-period %d --total-num-mbufs=%d' % (duration, memory, devices, stats_period, mbufs),
    ]) + '\n'


def testpmd_pod(needs, facts, node_name, version=None, feature_gates=None):
    """A complete Pod manifest running testpmd on one node, validated against that node's facts first.

    needs: cpu, memory, hugepages ({size: amount}, one size; none for --no-huge), numa_node (None: the VF's node,
    else the first node with enough pages), vf (PCI address of a device bound to vfio-pci, or None for null vdevs),
    image, and optional shm, image_pull_policy, name, namespace, duration, stats_period, mbufs, host_network,
    privileged (default: with a VF, for the device cgroup), hugepages_path.
    Returns {'manifest', 'wanted' (for workload_problems), 'notes'}; raises WorkloadError with every problem.
    """
    needs = dict(needs or {})
    facts = facts or {}
    problems, notes = [], []
    unknown = sorted(set(needs) - set(_NEEDS))
    if unknown:
        problems.append('unknown needs %s (known: %s)' % (', '.join(unknown), ', '.join(_NEEDS)))
    if not node_name:
        problems.append('the Kubernetes node name is required: the pod is pinned with nodeName')
    image = needs.get('image')
    if not image:
        problems.append('image is required: an image with dpdk-testpmd (Debian 12: dpdk-dev, librte-net-e1000-23 '
                        'for Intel 1G NICs)')
    duration = _int(needs.get('duration', 10), 'duration', problems, 1)
    stats_period = _int(needs.get('stats_period', 5), 'stats_period', problems, 1)
    mbufs = _int(needs.get('mbufs', 2048), 'mbufs', problems, 512)

    hugepages = needs.get('hugepages') or {}
    if isinstance(hugepages, list):
        hugepages = dict((entry.get('size'), entry.get('amount')) for entry in hugepages if isinstance(entry, dict))
    page_kb, amount_mb = None, None
    if len(hugepages) > 1:
        problems.append('hugepages: give one page size (testpmd maps one --huge-dir), got %s'
                        % ', '.join(sorted(str(s) for s in hugepages)))
    elif hugepages:
        size, amount = list(hugepages.items())[0]
        try:
            page_kb = _size_kb(size)
            amount_mb = parse_memory(amount) // (1024 * 1024)
        except (ParseError, ValueError, IndexError) as exc:
            problems.append('hugepages %s: %s' % (size, exc))
    pools = (facts.get('hugepages') or {}).get('pools') or {}
    pool = next((p for p in pools.values() if p.get('size_kb') == page_kb), None) if page_kb else None
    numa_ids = [int(n) for n in ((facts.get('numa') or {}).get('nodes') or {})]

    vf = needs.get('vf')
    device = None
    devices = (facts.get('pci') or {}).get('devices') or {}
    if vf == 'auto':
        vf = next((a for a, d in sorted(devices.items()) if d.get('driver') == 'vfio-pci' and d.get('physfn')), None)
        notes.append('vf auto: %s' % (vf or 'no VF on vfio-pci, null virtual devices instead'))
    if vf:
        vf = str(vf).lower()
        if not _PCI_ADDRESS.match(vf):
            problems.append('vf %s is not a PCI address (0000:00:13.0)' % vf)
        elif vf not in devices:
            problems.append('vf %s: the node has no such PCI device' % vf)
        else:
            device = devices[vf]
            if device.get('driver') != 'vfio-pci':
                problems.append('vf %s is bound to %s, not vfio-pci: bind it first (the sriov role, '
                                'sriov_vfio_devices)' % (vf, device.get('driver') or 'no driver'))
            if not device.get('physfn'):
                notes.append('%s is not a VF (no physfn): it is passed in all the same' % vf)
            iommu = facts.get('iommu') or {}
            if iommu and not iommu.get('enabled') and not iommu.get('vfio_noiommu'):
                problems.append('the node has no IOMMU (and vfio no-IOMMU mode is off): vfio cannot take %s' % vf)
            if device.get('iommu_group') is None:
                problems.append('vf %s has no IOMMU group' % vf)
    device_node = device.get('numa_node') if device else None

    node = needs.get('numa_node')
    if node is not None:
        node = _int(node, 'numa_node', problems, 0)
        if node is not None and numa_ids and node not in numa_ids:
            problems.append('numa_node %d: the node has NUMA nodes %s' % (node, ', '.join(str(n) for n in numa_ids)))
            node = None
    if pool is not None and amount_mb:
        per_node = pool.get('nodes') or {}
        pages = (int(amount_mb) * 1024 + page_kb - 1) // page_kb  # rounded up
        if node is None:
            candidates = ([device_node] if device_node is not None else []) + sorted(int(n) for n in per_node)
            node = next((n for n in candidates if (per_node.get(str(n)) or {}).get('nr', 0) >= pages),
                        candidates[0] if candidates else 0)
        have = (per_node.get(str(node)) or {}).get('nr')
        if per_node and (have or 0) < pages:
            problems.append('NUMA node %d has %d %s pages, %d needed for %d MB: allocate them there first (the '
                            'hugepages role, per-node pools)' % (node, have or 0, size_name(page_kb), pages,
                                                                 amount_mb))
        elif per_node and ((per_node.get(str(node)) or {}).get('free') or 0) < pages:
            notes.append('NUMA node %d has %d %s pages but only %d free now' % (
                node, have, size_name(page_kb), (per_node.get(str(node)) or {}).get('free') or 0))
    if node is None:
        node = device_node if device_node is not None else 0
    if device_node is not None and node != device_node:
        notes.append('memory on NUMA node %s, %s on node %s: the report will flag it' % (node, vf, device_node))

    resource_needs = dict((k, needs[k]) for k in ('cpu', 'memory', 'shm', 'hugepages_path') if k in needs)
    resource_needs['hugepages'] = hugepages
    try:
        resources = pod_resources(resource_needs, facts, version, feature_gates)
    except KubeletConfigError as exc:
        problems.extend(exc.problems)
        resources = None
    if problems:
        raise WorkloadError(problems)

    notes.extend(resources['notes'])
    mounts = list(resources['volumeMounts'])
    volumes = list(resources['volumes'])
    huge_dir = mounts[0]['mountPath'] if page_kb else None
    node_cpus = ((facts.get('numa') or {}).get('nodes') or {}).get(str(node), {}).get('cpulist')
    socket_mem = [0] * node + [amount_mb] if page_kb else [64]
    security = {'capabilities': resources['securityContext']['capabilities']}
    privileged = needs.get('privileged', bool(vf))
    if privileged:
        security['privileged'] = True
    env = []
    if vf:
        mounts.append({'name': 'vfio', 'mountPath': '/dev/vfio'})
        volumes.append({'name': 'vfio', 'hostPath': {'path': '/dev/vfio', 'type': 'Directory'}})
        env.append({'name': VF_ENV, 'value': vf})
        if not privileged:
            notes.append('privileged is off: the container runtime\'s device cgroup lets no container open '
                         '/dev/vfio/* unless a device plugin adds the devices')
    container = {
        'name': 'testpmd',
        'image': image,
        'imagePullPolicy': needs.get('image_pull_policy') or 'IfNotPresent',
        'command': ['/bin/sh', '-c', testpmd_command(page_kb, huge_dir, socket_mem, vf, duration, stats_period,
                                                     mbufs, node_cpus if page_kb else None)],
        'resources': resources['resources'],
        'volumeMounts': mounts,
        'securityContext': security,
    }
    if env:
        container['env'] = env
    spec = {
        'nodeName': node_name,
        'restartPolicy': 'Never',
        'terminationGracePeriodSeconds': 5,
        'activeDeadlineSeconds': duration + 300,
        'containers': [container],
        'volumes': volumes,
    }
    if needs.get('host_network'):
        spec['hostNetwork'] = True
    manifest = {
        'apiVersion': 'v1',
        'kind': 'Pod',
        'metadata': {
            'name': needs.get('name') or POD_NAME,
            'namespace': needs.get('namespace') or 'default',
            'labels': {'app.kubernetes.io/name': POD_NAME, 'app.kubernetes.io/managed-by': 'dataplane.node'},
        },
        'spec': spec,
    }
    wanted = {'page_size': size_name(page_kb) if page_kb else None, 'numa_node': node if page_kb else None,
              'memory_mb': amount_mb, 'device': vf or None, 'driver': device.get('driver') if device else None,
              'device_numa_node': device_node}
    return {'manifest': manifest, 'wanted': wanted, 'notes': notes}


def pod_status_problems(status):
    """Why a pod did not run to the end, from its status: not admitted (OutOfhugepages-2Mi), image, timeouts."""
    status = status or {}
    problems = []
    phase = status.get('phase')
    if phase == 'Failed' and status.get('reason'):
        message = ': %s' % status['message'] if status.get('message') else ''
        problems.append('the pod was refused: %s%s' % (status['reason'], message))
    for container in status.get('containerStatuses') or []:
        state = container.get('state') or {}
        waiting = state.get('waiting')
        terminated = state.get('terminated')
        if waiting:
            problems.append('container %s waits: %s%s' % (container.get('name'), waiting.get('reason'),
                                                          ': %s' % waiting['message'] if waiting.get('message')
                                                          else ''))
        elif terminated and terminated.get('exitCode'):
            problems.append('container %s exited with %s (%s)' % (container.get('name'), terminated.get('exitCode'),
                                                                  terminated.get('reason')))
    if phase in (None, 'Pending', 'Running') and not problems:
        problems.append('the pod did not finish (phase %s)' % (phase or 'unknown'))
    return problems
