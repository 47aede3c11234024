# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""BlueField DPU and OVN-Kubernetes node modes: parsers of devlink, ovs-vsctl and mstconfig output, validation of
the settings ovnkube-node needs, and the plans (data) for the eSwitch, OVS and firmware. No I/O here.

Private to the dataplane.node collection: names may change without notice.

Targets OVN-Kubernetes 1.1 (interconnect zones, `--ovnkube-node-mode {full|dpu|dpu-host}`), OVS >= 2.13,
iproute2 >= 4.12 (devlink eswitch), Linux >= 5.7 (switchdev representors named by phys_port_name).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

MODES = ('full', 'dpu', 'dpu-host')
ESWITCH_MODES = ('legacy', 'switchdev')
MIN_VERSIONS = {'ovs': (2, 13), 'iproute2': (4, 12), 'kernel': (5, 7)}
OVNKUBE_VERSION = '1.1'
# Keys the upstream DPU launcher turns into ovnkube-node flags: missing ones make it exit.
DPU_REQUIRED_EXTERNAL_IDS = ('host-k8s-nodename', 'hostname', 'ovn-encap-ip', 'ovn-encap-type',
                             'ovn-gw-interface', 'ovn-gw-nexthop')
DPU_OPTIONAL_EXTERNAL_IDS = ('ovn-gw-router-subnet', 'ovn-gw-vlanid')
ENCAP_TYPES = ('geneve', 'vxlan')


class DpuError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


# ---------------------------------------------------------------- versions

def version_tuple(text):
    """(major, minor) from the first dotted number in text ('ovs-vswitchd (Open vSwitch) 3.1.0' -> (3, 1))."""
    m = re.search(r'(\d+)\.(\d+)', text or '')
    return (int(m.group(1)), int(m.group(2))) if m else None


def iproute2_version(text):
    """`ip -V`: 'ip utility, iproute2-6.1.0, libbpf 1.1.0' (new) or 'ip utility, iproute2-ss200127' (old)."""
    m = re.search(r'iproute2-(\d+)\.(\d+)', text or '')
    if m:
        return (int(m.group(1)), int(m.group(2)))
    m = re.search(r'iproute2-ss(\d{2})(\d{2})\d{2}', text or '')
    if m:  # snapshot dates: 4.12 was released as ss170705
        year, month = int(m.group(1)), int(m.group(2))
        return (4, 12) if (year, month) >= (17, 7) else (4, 0)
    return None


def version_problems(versions):
    """versions: {'ovs': (3, 1) or None (not checked), 'iproute2': ..., 'kernel': ...}."""
    names = {'ovs': 'Open vSwitch', 'iproute2': 'iproute2', 'kernel': 'Linux'}
    problems = []
    for key in ('kernel', 'iproute2', 'ovs'):
        have = versions.get(key, None)
        if key not in versions:
            continue
        if have is None:
            problems.append('%s version unknown (%s >= %d.%d needed)' % ((names[key], names[key]) + MIN_VERSIONS[key]))
        elif tuple(have) < MIN_VERSIONS[key]:
            problems.append('%s %d.%d is too old: %d.%d or newer is needed for switchdev offload' % (
                (names[key],) + tuple(have) + MIN_VERSIONS[key]))
    return problems


# ---------------------------------------------------------------- validation of the settings

def _ip(text):
    import ipaddress
    try:
        return ipaddress.ip_address(u'%s' % text)
    except ValueError:
        return None


def ovn_remote_problems(remote):
    """An OVN connection string: comma-separated tcp:IP:PORT, ssl:IP:PORT or unix:PATH (IPv6 in brackets)."""
    if not remote or not isinstance(remote, str):
        return ['ovn-remote is empty']
    problems = []
    for part in remote.split(','):
        m = re.match(r'^(tcp|ssl):(\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)$', part)
        if m:
            host = m.group(2).strip('[]')
            port = int(m.group(3))
            if _ip(host) is None or (m.group(2).startswith('[') != (':' in host)):
                problems.append('ovn-remote %r: %r is not an IP address (IPv6 goes in brackets)' % (part, host))
            if not 0 < port < 65536:
                problems.append('ovn-remote %r: port %d is out of range' % (part, port))
        elif re.match(r'^unix:/\S+$', part):
            continue
        else:
            problems.append('ovn-remote %r is not an OVN connection string (tcp:IP:PORT, ssl:IP:PORT or unix:PATH)'
                            % part)
    return problems


def addresses_of(ip_addr_json):
    """{address: netdev} from `ip -j addr show` output (parsed)."""
    found = {}
    for link in ip_addr_json or []:
        for info in link.get('addr_info', []):
            if info.get('local'):
                found[info['local']] = link.get('ifname')
    return found


def validate_settings(mode, settings, local_addresses=None, numvfs=None):
    """Every problem of a node's mode settings, before anything changes. settings keys (all optional):
    host_node (the dpu-host a DPU serves), external_ids (dict), mgmt_vf (index), host_cluster_api (checked when
    the key is present)."""
    problems = []
    if mode not in MODES:
        return ['mode %r is not one of %s' % (mode, ', '.join(MODES))]
    ids = dict(settings.get('external_ids') or {})
    if mode == 'dpu':
        if not settings.get('host_node'):
            problems.append('a DPU must name the dpu-host node it serves (host-k8s-nodename)')
        missing = [k for k in DPU_REQUIRED_EXTERNAL_IDS if not ids.get(k)]
        if missing:
            problems.append('the DPU launcher needs the Open_vSwitch external_ids %s' % ', '.join(missing))
        if ids.get('host-k8s-nodename') and ids.get('hostname') and ids['host-k8s-nodename'] == ids['hostname']:
            problems.append('host-k8s-nodename %r is the DPU\'s own hostname: it must be the paired host\'s node '
                            'name' % ids['hostname'])
        if ids.get('ovn-gw-nexthop') and _ip(ids['ovn-gw-nexthop']) is None:
            problems.append('ovn-gw-nexthop %r is not an IP address' % ids['ovn-gw-nexthop'])
        if ids.get('ovn-gw-router-subnet'):
            import ipaddress
            try:
                ipaddress.ip_interface(u'%s' % ids['ovn-gw-router-subnet'])
            except ValueError:
                problems.append('ovn-gw-router-subnet %r is not an address/prefix' % ids['ovn-gw-router-subnet'])
        vlan = ids.get('ovn-gw-vlanid')
        if vlan not in (None, '') and not (str(vlan).isdigit() and 1 <= int(vlan) <= 4094):
            problems.append('ovn-gw-vlanid %r is not a VLAN id (1-4094)' % (vlan,))
        api = settings.get('host_cluster_api')
        if 'host_cluster_api' in settings and not (api and re.match(r'^https://[^/\s:]+(:\d+)?/?$', api)):
            problems.append('the host cluster API endpoint %r is not an https://HOST[:PORT] URL' % (api,))
    if mode == 'full' and not ids.get('ovn-encap-ip'):
        problems.append('ovn-controller needs external_ids ovn-encap-ip (the tunnel address of this node)')
    if mode in ('dpu', 'full'):
        if ids.get('ovn-encap-type') and ids['ovn-encap-type'] not in ENCAP_TYPES:
            problems.append('ovn-encap-type %r is not one of %s' % (ids['ovn-encap-type'], ', '.join(ENCAP_TYPES)))
        encap = ids.get('ovn-encap-ip')
        if encap:
            if _ip(encap) is None:
                problems.append('ovn-encap-ip %r is not an IP address' % encap)
            elif local_addresses is not None and encap not in local_addresses:
                problems.append('ovn-encap-ip %s is not an address of this node (it has %s)' % (
                    encap, ', '.join(sorted(local_addresses)) or 'none'))
        if 'ovn-remote' in ids:
            problems.extend(ovn_remote_problems(ids['ovn-remote']))
    if mode == 'dpu-host':
        if settings.get('host_node'):
            problems.append('host_node is for a DPU (mode dpu), not for the dpu-host itself')
        vf = settings.get('mgmt_vf')
        if vf is None:
            problems.append('a dpu-host needs a management-port VF index')
        elif numvfs is not None and not 0 <= vf < numvfs:
            problems.append('management VF %d is beyond the %d VFs requested (0-%d)' % (vf, numvfs, numvfs - 1))
    return problems


# ---------------------------------------------------------------- devlink

def parse_devlink_eswitch(text):
    """`devlink -j dev eswitch show HANDLE` -> {handle: {'mode': ..., 'inline-mode': ..., 'encap-mode': ...}}."""
    try:
        data = json.loads(text)
    except ValueError:
        raise DpuError(['devlink printed no JSON: %r' % (text or '')[:200]])
    return dict((handle, dict(values)) for handle, values in (data.get('dev') or {}).items())


def parse_devlink_ports(text):
    """`devlink -j port show` -> [{'port': 'pci/...:/1', 'netdev': .., 'flavour': .., 'pfnum': .., 'vfnum': ..}]."""
    try:
        data = json.loads(text)
    except ValueError:
        raise DpuError(['devlink printed no JSON: %r' % (text or '')[:200]])
    ports = []
    for name, values in sorted((data.get('port') or {}).items()):
        entry = dict(values)
        entry['port'] = name
        ports.append(entry)
    return ports


_PORT_NAME = re.compile(r'^(?:c(?P<controller>\d+))?(?:pf(?P<pf>\d+)(?:vf(?P<vf>\d+)|(?P<sf>sf\d+))?|p(?P<port>\d+))$')


def parse_phys_port_name(name):
    """Representor numbering from phys_port_name: 'p0' uplink, 'pf0' (host PF), 'pf0vf3', 'c1pf0vf3' (external
    controller = the host of a BlueField). None for names that are no switchdev port."""
    m = _PORT_NAME.match(name or '')
    if not m:
        return None
    d = m.groupdict()
    controller = int(d['controller']) if d['controller'] is not None else None
    if d['port'] is not None:
        return {'kind': 'uplink', 'port': int(d['port']), 'controller': controller}
    if d['sf']:
        return {'kind': 'sf', 'pf': int(d['pf']), 'sf': int(d['sf'][2:]), 'controller': controller}
    if d['vf'] is not None:
        return {'kind': 'vf', 'pf': int(d['pf']), 'vf': int(d['vf']), 'controller': controller}
    return {'kind': 'pf', 'pf': int(d['pf']), 'controller': controller}


def representors(netdevs):
    """netdevs: [{'name', 'phys_port_name', 'phys_switch_id'}] -> the switchdev ports, grouped by switch id:
    {switch_id: {'uplinks': [...], 'pfs': {pf: name}, 'vfs': {(pf, vf): name}}} (controller kept in the key
    of external controllers: (controller, pf, vf))."""
    switches = {}
    for dev in netdevs:
        parsed = parse_phys_port_name(dev.get('phys_port_name'))
        if parsed is None or not dev.get('phys_switch_id'):
            continue
        sw = switches.setdefault(dev['phys_switch_id'], {'uplinks': [], 'pfs': {}, 'vfs': {}})
        if parsed['kind'] == 'uplink':
            sw['uplinks'].append(dev['name'])
        elif parsed['kind'] == 'pf':
            sw['pfs'][_key(parsed, 'pf')] = dev['name']
        elif parsed['kind'] == 'vf':
            sw['vfs'][_key(parsed, 'pf', 'vf')] = dev['name']
    return switches


def _key(parsed, *names):
    values = tuple(parsed[n] for n in names)
    if parsed['controller'] is not None:
        values = (parsed['controller'],) + values
    return values if len(values) > 1 else values[0]


def representor_problems(switch, pf, numvfs, controller=None):
    """The representors a switch must show for numvfs VFs of PF `pf` (named pf<pf>vf<n>, or c<c>pf<pf>vf<n> for
    the host side of a BlueField), and what is missing or extra."""
    problems = []
    if switch is None:
        return ['no switchdev representors at all (eSwitch in legacy mode, or the VFs are gone)'] if numvfs else []
    prefix = (controller,) if controller is not None else ()
    have = sorted(k[-1] for k in switch['vfs'] if k[:-1] == prefix + (pf,))
    want = list(range(numvfs))
    missing = [n for n in want if n not in have]
    extra = [n for n in have if n not in want]
    name = ('c%dpf%dvf' % (controller, pf)) if controller is not None else ('pf%dvf' % pf)
    if missing:
        problems.append('representors missing for %s%s (%d of %d present)' % (
            name, ','.join(str(n) for n in missing), len(want) - len(missing), len(want)))
    if extra:
        problems.append('representors for VFs that should not exist: %s%s' % (name, ','.join(str(n) for n in extra)))
    return problems


def eswitch_problems(handle, want_mode, numvfs, vendor=None, bus='pci'):
    """What forbids asking for want_mode on this device, known before the device is queried."""
    problems = []
    if want_mode not in ESWITCH_MODES:
        problems.append('eSwitch mode %r is not one of %s' % (want_mode, ', '.join(ESWITCH_MODES)))
    if want_mode == 'switchdev' and bus == 'pci' and vendor not in ('0x15b3',):
        problems.append('%s is not a Mellanox/NVIDIA device (vendor %s): switchdev is only set on ConnectX and '
                        'BlueField NICs' % (handle, vendor or 'unknown'))
    if want_mode == 'switchdev' and numvfs == 0:
        problems.append('switchdev with 0 VFs: writing 0 VFs returns the eSwitch to legacy; ask for at least one VF')
    return problems


def plan_eswitch(handle, current_mode, want_mode, current_vfs, numvfs, vendor=None, bus='pci', numvfs_path=None):
    """The ordered steps to reach want_mode with numvfs VFs, as data (_devlink.eswitch_steps makes them engine
    steps): ('numvfs', path, n) write; ('wait_vfs', n); ('unbind_vfs',); ('devlink', argv); ('bind_vfs',).

    Order (ConnectX/BlueField, kernel datapath): VFs created and waited for, VFs unbound from their driver, eSwitch
    mode set, VFs bound back. Writing 0 VFs while in switchdev silently returns the eSwitch to legacy (and VFs made
    afterwards get no representors), so a VF count change is followed by setting switchdev again."""
    problems = eswitch_problems(handle, want_mode, numvfs, vendor, bus)
    if problems:
        raise DpuError(problems)
    target = current_vfs if numvfs is None else numvfs
    steps = []
    vfs_change = numvfs is not None and numvfs != current_vfs
    if vfs_change:
        if current_vfs:
            steps.append(('numvfs', numvfs_path, 0))  # the kernel refuses N -> M; 0 also resets switchdev
        if numvfs:
            steps.append(('numvfs', numvfs_path, numvfs))
            steps.append(('wait_vfs', numvfs))
    mode_after_vfs = 'legacy' if (vfs_change and current_vfs) else current_mode
    if want_mode != mode_after_vfs or (vfs_change and want_mode == 'switchdev'):
        if bus == 'pci' and target:
            steps.append(('unbind_vfs',))  # the VFs there at that point, each driver remembered
        steps.append(('devlink', ['devlink', 'dev', 'eswitch', 'set', handle, 'mode', want_mode]))
        if bus == 'pci' and target:
            steps.append(('bind_vfs',))
    return steps


# ---------------------------------------------------------------- OVS

def parse_ovs_list_json(text):
    """`ovs-vsctl --format=json --columns=C1,C2 list Open_vSwitch` -> {column: value} of the one row; OVSDB maps
    become dicts, sets lists, uuids strings."""
    try:
        data = json.loads(text)
    except ValueError:
        raise DpuError(['ovs-vsctl printed no JSON: %r' % (text or '')[:200]])
    headings = data.get('headings') or []
    rows = data.get('data') or []
    if len(rows) != 1:
        raise DpuError(['the Open_vSwitch table has %d rows, 1 expected' % len(rows)])
    return dict((h, _ovsdb_value(v)) for h, v in zip(headings, rows[0]))


def _ovsdb_value(value):
    if isinstance(value, list) and len(value) == 2 and value[0] in ('map', 'set', 'uuid', 'named-uuid'):
        if value[0] == 'map':
            return dict((_ovsdb_value(k), _ovsdb_value(v)) for k, v in value[1])
        if value[0] == 'set':
            return [_ovsdb_value(v) for v in value[1]]
        return value[1]
    return value


def plan_ovs(current, other_config=None, external_ids=None):
    """ovs-vsctl arguments (one transaction) for the wanted keys; None as a value removes the key.
    Returns (args, changes) where changes = {column: {key: (before, after)}}."""
    args = []
    changes = {}
    for column, wanted in (('other_config', other_config), ('external_ids', external_ids)):
        have = current.get(column) or {}
        for key in sorted(wanted or {}):
            value = wanted[key]
            value = None if value is None else _ovs_text(value)
            if have.get(key) == value:
                continue
            changes.setdefault(column, {})[key] = (have.get(key), value)
            if value is None:
                args.append(['--', 'remove', 'Open_vSwitch', '.', column, key])
            else:
                args.append(['--', 'set', 'Open_vSwitch', '.', '%s:%s=%s' % (column, key, _ovs_quote(value))])
    flat = ['ovs-vsctl']
    for part in args:
        flat.extend(part)
    return (flat if args else []), changes


def _ovs_text(value):
    if isinstance(value, bool) or str(value) in ('True', 'False'):
        return 'true' if str(value) == 'True' else 'false'
    return str(value)


def _ovs_quote(value):
    """ovs-vsctl parses values as OVSDB atoms: quote anything but plain words."""
    if re.match(r'^[A-Za-z0-9_.\-/]+$', value):
        return value
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


def plan_bridge(bridge, have_bridges, have_ports, have_fail_mode, ports, fail_mode=None, internal=()):
    """ovs-vsctl commands for a bridge holding `ports` (plus `internal` ports); existing extra ports are left."""
    commands = []
    if bridge not in have_bridges:
        commands.append(['ovs-vsctl', '--may-exist', 'add-br', bridge])
    for port in ports:
        if port not in have_ports:
            commands.append(['ovs-vsctl', '--may-exist', 'add-port', bridge, port])
    for port in internal:
        if port not in have_ports:
            commands.append(['ovs-vsctl', '--may-exist', 'add-port', bridge, port, '--', 'set', 'Interface', port,
                             'type=internal'])
    if fail_mode and fail_mode != have_fail_mode:
        commands.append(['ovs-vsctl', 'set-fail-mode', bridge, fail_mode])
    return commands


def system_id_conf(system_id):
    """Content of /etc/openvswitch/system-id.conf, which the Debian/RHEL init scripts copy into external_ids at
    every start (so writing only OVSDB is undone by the next restart)."""
    return system_id + '\n'


# ---------------------------------------------------------------- firmware (mstconfig / mlxconfig)

_CFG_LINE = re.compile(r'^\s*(\*)?\s*([A-Z][A-Za-z0-9_]+(?:\[\d+(?:\.\.\d+)?\])?)\s+(.+?)\s*$')
_VALUE = re.compile(r'^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\((?P<num>-?\d+)\)$')


def parse_fw_value(text):
    """'True(1)' -> ('True', 1); 'EMBEDDED_CPU(1)' -> ('EMBEDDED_CPU', 1); '16' -> (None, 16); other -> (text, None)."""
    text = text.strip()
    m = _VALUE.match(text)
    if m:
        return (m.group('name'), int(m.group('num')))
    if re.match(r'^-?\d+$', text):
        return (None, int(text))
    if re.match(r'^0x[0-9a-fA-F]+$', text):
        return (None, int(text, 16))
    return (text, None)


def parse_mstconfig_query(text):
    """`mstconfig -d DEV q` / `mlxconfig -d DEV q` (and `-e q`) -> {'device_type', 'name', 'device', 'columns',
    'params': {NAME: {column: (name, number)}}, 'modified': [NAME]}. Columns: 'next' alone, or default/current/next
    with -e."""
    info = {'device_type': None, 'name': None, 'device': None, 'columns': [], 'params': {}, 'modified': []}
    in_cfg = False
    for line in (text or '').splitlines():
        if not in_cfg:
            m = re.match(r'^\s*(Device type|Name|Device):\s*(.*?)\s*$', line)
            if m:
                info[m.group(1).lower().replace(' ', '_')] = m.group(2)
                continue
            m = re.match(r'^\s*Configurations:\s*(.*?)\s*$', line)
            if m:
                in_cfg = True
                header = m.group(1).lower()
                cols = [c for c in ('default', 'current', 'next boot') if c in header]
                info['columns'] = [c.replace('next boot', 'next') for c in cols] or ['next']
            continue
        m = _CFG_LINE.match(line)
        if not m:
            continue
        values = re.split(r'\s{2,}|\t+', m.group(3).strip())
        if len(values) != len(info['columns']):
            values = m.group(3).split()
        if len(values) != len(info['columns']):
            continue
        info['params'][m.group(2)] = dict(zip(info['columns'], [parse_fw_value(v) for v in values]))
        if m.group(1):
            info['modified'].append(m.group(2))
    if not info['params']:
        raise DpuError(['no configuration parameters in the firmware query output: %r' % (text or '')[:200]])
    return info


def fw_wanted(device_type, sriov_en=None, num_of_vfs=None, dpu_mode=None):
    """The firmware parameters (by number) for the asked settings. dpu_mode: 'dpu' (the Arm cores own the
    eSwitch) or 'nic' (BlueField as a plain ConnectX)."""
    wanted = {}
    if sriov_en is not None:
        wanted['SRIOV_EN'] = 1 if sriov_en else 0
    if num_of_vfs is not None:
        wanted['NUM_OF_VFS'] = int(num_of_vfs)
    if dpu_mode is not None:
        if dpu_mode not in ('dpu', 'nic'):
            raise DpuError(['dpu_mode %r is not dpu or nic' % dpu_mode])
        nic = 1 if dpu_mode == 'nic' else 0
        kind = (device_type or '').lower().replace('-', '').replace(' ', '')
        if 'bluefield3' in kind:
            wanted['INTERNAL_CPU_OFFLOAD_ENGINE'] = nic
        elif 'bluefield2' in kind or 'bluefield' == kind:
            wanted['INTERNAL_CPU_MODEL'] = 1  # EMBEDDED_CPU: the Arm cores exist in both modes on BlueField-2
            for key in ('INTERNAL_CPU_PAGE_SUPPLIER', 'INTERNAL_CPU_ESWITCH_MANAGER', 'INTERNAL_CPU_IB_VPORT0',
                        'INTERNAL_CPU_OFFLOAD_ENGINE'):
                wanted[key] = nic
        else:
            raise DpuError(['device type %r is not a BlueField: DPU/NIC mode does not apply' % device_type])
    return wanted


def plan_firmware(query, wanted):
    """(set arguments ['K=V'], pending): set what the next-boot value lacks; pending lists parameters whose
    next-boot value is right but the running (current) one is not yet (a power cycle is still due)."""
    problems = []
    sets = []
    pending = []
    for key in sorted(wanted):
        entry = query['params'].get(key)
        if entry is None:
            problems.append('the firmware of %s has no parameter %s' % (query.get('device') or 'the device', key))
            continue
        nxt = entry.get('next', (None, None))[1]
        if nxt != wanted[key]:
            sets.append('%s=%d' % (key, wanted[key]))
        elif 'current' in entry and entry['current'][1] != wanted[key]:
            pending.append(key)
    if problems:
        raise DpuError(problems)
    return sets, pending


# ---------------------------------------------------------------- pairing and health (dpu-host)

def mgmt_port_annotation(pf_address, vf_index):
    """k8s.ovn.org/node-mgmt-port value the host publishes: the DPU finds the representor pf<PfId>vf<FuncId>.
    PfId is the PCI function of the PF (BlueField host PFs are functions 0 and 1 of one device)."""
    function = int(pf_address.rsplit('.', 1)[1], 16)
    return {'PfId': function, 'FuncId': vf_index}


def eswitch_owner(devlink_rc, devlink_out, handle):
    """Who owns a host PF's eSwitch from `devlink -j dev eswitch show`: 'dpu' when the host may not query or
    change it (DPU mode: the Arm side is the eSwitch manager), 'host-legacy', or 'host-switchdev'."""
    if devlink_rc != 0:
        return 'dpu'
    mode = parse_devlink_eswitch(devlink_out).get(handle, {}).get('mode')
    return 'host-switchdev' if mode == 'switchdev' else 'host-legacy'


def dpu_host_health(pf, expected_vfs, mgmt_vf, owner, host_addresses=(), published_address=None):
    """Plain statements of the known field failures of a dpu-host (empty when healthy). pf: the PF from the
    facts (sriov.numvfs, sriov.vfs)."""
    problems = []
    vfs = pf['sriov']['vfs'] if pf and pf.get('sriov') else []
    count = len(vfs)
    if expected_vfs and count == 0:
        problems.append('the VFs of %s are gone (0 of %d): a DPU reset removes every host VF; pods on them lost '
                        'their interface and nothing recreates them until this role (or the boot applier) runs'
                        % (pf['address'], expected_vfs))
    elif expected_vfs and count < expected_vfs:
        problems.append('%s has %d of %d VFs' % (pf['address'], count, expected_vfs))
    if mgmt_vf is not None and expected_vfs and not any(v['index'] == mgmt_vf for v in vfs):
        problems.append('the management-port VF %d of %s is missing: ovnkube-node (dpu-host) cannot start its '
                        'management port' % (mgmt_vf, pf['address']))
    if owner == 'host-switchdev':
        problems.append('the eSwitch of %s is in switchdev on the host: the BlueField is in NIC mode (or was set by '
                        'hand); in dpu-host mode the DPU owns the eSwitch' % pf['address'])
    if published_address and host_addresses and published_address not in host_addresses:
        problems.append('the node publishes %s, which is not an address of this host (%s): the DPU may be '
                        'publishing its own address instead of the host\'s' % (
                            published_address, ', '.join(sorted(host_addresses))))
    return problems
