# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management stack: which devices carry the connection the controller manages this node through.

Private to the dataplane.node collection: names may change without notice.

On production nodes the management address rarely sits on a NIC's own netdev: it rides a VLAN on a bond of two
PFs, a Linux bridge over a VF, or OVS's br-ex with the NIC as a port. Starting from the netdevs that hold a
management address (or a default route), this walks the netdev graph *down* in sysfs (lower_*, bonding/slaves,
brif/, OVS bridge ports) to the devices underneath (the netdev's `device` link), and from a VF *up* to its PF,
because unbinding the PF or changing its VF count removes the VF. Every operation that can take a netdev down
asks `guard_problems` first.

Read-only. Parsing (ip -json output, SSH_CONNECTION, environ, ovs-vsctl lines) is pure; the graph is read through
HostFS, so a fixture tree stands in for the host. The caller runs the commands and hands in their output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import ipaddress
except ImportError:  # pragma: no cover - Python 2 without the backport: compare addresses as text
    ipaddress = None

_NET = 'sys/class/net'
_PCI_ADDRESS = re.compile(r'^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$')
# Ancestors examined for SSH_CONNECTION: sshd -> shell -> sudo -> shell -> python is five; leave room for wrappers.
_MAX_ANCESTORS = 16

SSH_SESSION = 'this SSH session'
DEFAULT_ROUTE = 'default route'
OVERRIDE = 'allow_management'


# ---------------------------------------------------------------- pure parsing

def normalize_address(text):
    """One spelling per address: '::ffff:10.0.0.1' -> '10.0.0.1', 'fe80::1%eth0' -> 'fe80::1', '2001:DB8::1' lower
    case and compressed. Text that is no address comes back stripped (a hostname the caller did not resolve)."""
    text = str(text or '').strip().strip('[]')
    text = text.split('%', 1)[0]  # an IPv6 zone names the interface, not the address
    if ipaddress is None or not text:
        return text.lower()
    try:
        addr = ipaddress.ip_address(u'%s' % text)
    except ValueError:
        return text
    mapped = getattr(addr, 'ipv4_mapped', None)
    return str(mapped or addr)


def is_address(text):
    if ipaddress is None:
        return bool(re.match(r'^[0-9.]+$|^[0-9a-fA-F:]+$', str(text or '')))
    try:
        ipaddress.ip_address(u'%s' % normalize_address(text))
        return True
    except ValueError:
        return False


def ssh_server_address(value):
    """The server (node) address of SSH_CONNECTION 'client_ip client_port server_ip server_port', or None."""
    parts = str(value or '').split()
    return normalize_address(parts[2]) if len(parts) == 4 else None


def parse_environ(data):
    """/proc/PID/environ (NUL-separated NAME=value) -> dict."""
    env = {}
    for item in (data or '').split('\0'):
        name, sep, value = item.partition('=')
        if sep and name:
            env[name] = value
    return env


def parse_ppid(status_text):
    """The PPid line of /proc/PID/status, or None."""
    for line in (status_text or '').splitlines():
        if line.startswith('PPid:'):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def address_netdevs(ip_addr_json, addresses):
    """{address: [netdevs holding it]} for each of `addresses`, from `ip -json addr show` (parsed JSON)."""
    wanted = dict((normalize_address(a), []) for a in addresses if a)
    for link in ip_addr_json or []:
        name = link.get('ifname')
        for info in link.get('addr_info') or []:
            local = normalize_address(info.get('local'))
            if local in wanted and name and name not in wanted[local]:
                wanted[local].append(name)
    return wanted


def parse_ovs_bridges(list_br, ifaces_by_bridge):
    """{bridge: [interfaces]} from `ovs-vsctl list-br` output and {bridge: `ovs-vsctl list-ifaces BRIDGE` output}.
    list-ifaces leaves out the bridge's local port (the internal port named after the bridge, which holds br-ex's
    address): it is put first."""
    bridges = {}
    for bridge in (list_br or '').split():
        listed = [i for i in (ifaces_by_bridge.get(bridge) or '').split() if i and i != bridge]
        bridges[bridge] = [bridge] + listed
    return bridges


# ---------------------------------------------------------------- the management addresses

def ssh_connection_addresses(environ, fs=None, pid=None):
    """The node's side of the SSH session: SSH_CONNECTION of the module's own environment and, because sudo and
    become scrub the environment, of its ancestors (/proc/PID/environ along the PPid chain; root can read them).
    Returns [(address, where)] without repeats."""
    found = []
    seen = set()

    def add(value, where):
        address = ssh_server_address(value)
        if address and address not in seen:
            seen.add(address)
            found.append((address, where))

    add((environ or {}).get('SSH_CONNECTION'), 'environment')
    visited = set()
    while fs is not None and pid and pid > 1 and pid not in visited and len(visited) < _MAX_ANCESTORS:
        visited.add(pid)
        ppid = parse_ppid(fs.read('proc/%d/status' % pid))
        if not ppid or ppid <= 1:
            break
        add(parse_environ(fs.read('proc/%d/environ' % ppid)).get('SSH_CONNECTION'), 'process %d' % ppid)
        pid = ppid
    return found


def management_sources(ssh=(), ansible_host=(), addresses=(), interfaces=(), default_routes=()):
    """The seeds of the stack as [{'kind': 'address'|'netdev', 'value': ..., 'source': label}] in order of weight."""
    seeds = []
    for address, _where in ssh:
        seeds.append({'kind': 'address', 'value': normalize_address(address), 'source': SSH_SESSION})
    for address in ansible_host or ():
        seeds.append({'kind': 'address', 'value': normalize_address(address), 'source': 'ansible_host'})
    for address in addresses or ():
        seeds.append({'kind': 'address', 'value': normalize_address(address), 'source': 'management_addresses'})
    for netdev in interfaces or ():
        seeds.append({'kind': 'netdev', 'value': netdev, 'source': 'management_interfaces'})
    for netdev in default_routes or ():
        seeds.append({'kind': 'netdev', 'value': netdev, 'source': DEFAULT_ROUTE})
    return [s for s in seeds if s['value']]


# ---------------------------------------------------------------- the netdev graph (read through HostFS)

class NetGraph:
    """The netdevs of sys/class/net and the edges between them that matter to the guard.

    ovs_bridges: {bridge: [interfaces]} (captured ovs-vsctl output), or None when OVS is not running or not asked.
    """

    def __init__(self, fs, ovs_bridges=None, pci_netdevs=None):
        self.fs = fs
        self.ovs = ovs_bridges
        # {netdev: PCI address} from the host model: the device of a netdev when sys/class/net lacks it (a
        # captured tree holds only what the host model reads).
        self.by_pci = dict(pci_netdevs or {})
        self.netdevs = set(fs.listdir(_NET)) | set(self.by_pci)

    def master(self, netdev):
        return self.fs.link_name('%s/%s/master' % (_NET, netdev))

    def on_ovs(self, netdev):
        return self.master(netdev) == 'ovs-system'

    def kind(self, netdev):
        base = '%s/%s' % (_NET, netdev)
        for name, kind in (('bonding', 'bond'), ('bridge', 'bridge')):
            if self.fs.isdir('%s/%s' % (base, name)):
                return kind
        if self.ovs and any(netdev in ifaces for ifaces in self.ovs.values()) and not self.device(netdev):
            return 'ovs'
        return None

    def lowers(self, netdev):
        """The netdevs `netdev` sends through: [(lower, how)]. Taking any of them down takes `netdev` down."""
        base = '%s/%s' % (_NET, netdev)
        entries = self.fs.listdir(base)
        found = []

        def add(name, how):
            if name and name != netdev and name not in [f[0] for f in found]:
                found.append((name, how))

        # lower_* covers VLAN, macvlan, ipvlan, bond, team and bridge ports alike (netdev_upper_dev_link).
        for entry in entries:
            if entry.startswith('lower_'):
                add(entry[6:], 'lower')
        for slave in (self.fs.read_value(base + '/bonding/slaves') or '').split():
            add(slave, 'bond slave')
        for port in self.fs.listdir(base + '/brif'):
            add(port, 'bridge port')
        if self.ovs is not None:
            # An OVS internal port (br-ex: a netdev with no device) rides every other interface of its bridge;
            # NICs and patch ports (no netdev) lead nowhere further.
            if netdev in self.netdevs and not self.device(netdev):
                for ifaces in self.ovs.values():
                    if netdev in ifaces:
                        for iface in ifaces:
                            add(iface, 'ovs port')
        elif netdev in self.netdevs and self.on_ovs(netdev) and not self.device(netdev):
            # OVS runs but we could not ask it: every NIC of the datapath may carry this internal port.
            for other in sorted(self.netdevs):
                if other != netdev and self.on_ovs(other):
                    add(other, 'ovs-system port')
        return found

    def device(self, netdev):
        """The device under a netdev: its PCI address (a virtio netdev's PCI parent too), another bus device's
        name (netdevsim10), or None for a virtual netdev."""
        # The host model knows which PCI function owns a netdev (virtio's netdev hangs off virtio0, a child of
        # the PCI function); the link is only asked for netdevs it does not report.
        if netdev in self.by_pci:
            return self.by_pci[netdev]
        # `device` is a relative link ('../../../virtio0'): only the resolved path names the bus address.
        target = self.fs.resolve('%s/%s/device' % (_NET, netdev))
        if not target:
            return None
        parts = [p for p in target.split('/') if p]
        for part in reversed(parts):
            if _PCI_ADDRESS.match(part):
                return part.lower()
        return parts[-1] if parts else None

    def physfn(self, address):
        return self.fs.link_name('sys/bus/pci/devices/%s/physfn' % address)

    def pci_netdevs(self, address):
        return self.fs.listdir('sys/bus/pci/devices/%s/net' % address) or sorted(
            n for n, a in self.by_pci.items() if a == address)


# ---------------------------------------------------------------- resolving

def resolve(fs, seeds, ip_addr_json=None, ovs_bridges=None, pci_netdevs=None):
    """The management stack of the host under `fs`.

    seeds: management_sources(...). ip_addr_json: `ip -json addr show` parsed (needed for address seeds).
    Returns {'seeds': [{..., 'netdevs': [...]}], 'netdevs': {netdev: [labels]}, 'devices': {device: [paths]},
    'walked': {netdev: [paths]} (every netdev on a management path, the holder included), 'unmatched': [addresses
    no netdev holds], 'identified': bool, 'crosses_ovs': bool, 'warnings': [...]}.
    A device is listed when it carries the management connection directly, through any layer above it, or (a PF)
    through one of its VFs.
    """
    graph = NetGraph(fs, ovs_bridges, pci_netdevs)
    held = address_netdevs(ip_addr_json, [s['value'] for s in seeds if s['kind'] == 'address'])
    tops = {}  # netdev -> labels: "10.1.2.3, this SSH session"
    out_seeds = []
    unmatched = []
    for seed in seeds:
        if seed['kind'] == 'address':
            netdevs = held.get(seed['value']) or []
            label = '%s, %s' % (seed['value'], seed['source'])
            if not netdevs and seed['value'] not in unmatched:
                unmatched.append(seed['value'])
        else:
            netdevs = [seed['value']] if seed['value'] in graph.netdevs else []
            label = seed['source']
        for netdev in netdevs:
            labels = tops.setdefault(netdev, [])
            if label not in labels:
                labels.append(label)
        out_seeds.append(dict(seed, netdevs=netdevs))
    devices = {}
    walked = {}
    crosses_ovs = [False]

    def walk(netdev, chain, label, seen):
        # chain: the netdevs from this one up to the management netdev (this one first).
        if netdev in seen:
            return  # a loop in sysfs (never seen, but a guard must not recurse forever)
        seen = seen | {netdev}
        text = ' -> '.join(chain[:-1] + ['%s (%s)' % (chain[-1], label)])
        if text not in walked.setdefault(netdev, []):
            walked[netdev].append(text)
        if graph.on_ovs(netdev) or graph.kind(netdev) == 'ovs':
            crosses_ovs[0] = True
        device = graph.device(netdev)
        if device:
            pci = bool(_PCI_ADDRESS.match(device))
            names = [netdev] + [n for n in (graph.pci_netdevs(device) if pci else []) if n != netdev]
            layers = ['%s (%s)' % (device, ', '.join(names))] + chain[1:]
            # The label (address, source) goes on the netdev that holds it: the last layer.
            path = layers[:-1] + ['%s: %s)' % (layers[-1][:-1], label) if len(layers) == 1
                                  else '%s (%s)' % (layers[-1], label)]
            record(device, path)
            pf = graph.physfn(device) if pci else None
            if pf:
                pf_names = graph.pci_netdevs(pf)
                record(pf, ['%s (%s)' % (pf, ', '.join(pf_names) if pf_names else 'PF')] + ['VF ' + path[0]] + path[1:])
        for lower, _how in graph.lowers(netdev):
            walk(lower, [lower] + chain, label, seen)

    def record(device, path):
        text = ' -> '.join(path)
        paths = devices.setdefault(device, [])
        if text not in paths:
            paths.append(text)

    for netdev, labels in tops.items():
        walk(netdev, [netdev], '; '.join(labels), frozenset())
    warnings = []
    if not tops:
        warnings.append('nothing identifies the management connection on this node (no SSH_CONNECTION, no '
                        'management address held by a netdev, no management interface, no default route): the '
                        'management guard cannot protect it')
    elif unmatched:
        warnings.append('no netdev holds %s: that management address is not protected' % ', '.join(unmatched))
    return {'seeds': out_seeds, 'netdevs': tops, 'devices': devices, 'walked': walked, 'unmatched': unmatched,
            'identified': bool(tops), 'crosses_ovs': crosses_ovs[0], 'warnings': warnings}


# ---------------------------------------------------------------- asking the guard

def guard_problems(stack, devices, action, allow=False):
    """The refusals for an operation on `devices` (PCI addresses or devlink device names) that `action` describes
    ('binding it to vfio-pci'): one per device that carries the management connection, naming the path."""
    if allow:
        return []
    problems = []
    for device in devices:
        key = str(device).lower()
        for path in stack['devices'].get(key, ()):
            problems.append('%s carries the management connection [%s]: %s would cut it (set %s to do it anyway)'
                            % (key, path, action, OVERRIDE))
    return problems


def netdev_problems(stack, netdevs, action, allow=False):
    """The refusals for an operation on `netdevs` by name ('adding it to the OVS bridge br0'): one per netdev on a
    management path (the netdev holding the address, or any layer under it)."""
    if allow:
        return []
    return ['%s carries the management connection [%s]: %s would cut it (set %s to do it anyway)'
            % (netdev, path, action, OVERRIDE) for netdev in netdevs for path in stack.get('walked', {}).get(netdev, ())]


def ovs_problems(stack, action, allow=False):
    """A refusal when the management path runs through Open vSwitch and `action` restarts it."""
    if allow or not stack['crosses_ovs']:
        return []
    paths = sorted(set(p for ps in stack['devices'].values() for p in ps)) or sorted(stack['netdevs'])
    return ['the management connection runs through Open vSwitch (%s): %s would cut it (set %s to do it anyway)'
            % ('; '.join(paths), action, OVERRIDE)]


def summary(stack):
    """The result field modules return: what was found, in plain data."""
    return {'identified': stack['identified'],
            'sources': [{'source': s['source'], 'value': s['value'], 'netdevs': s['netdevs']} for s in stack['seeds']],
            'devices': dict((d, list(p)) for d, p in sorted(stack['devices'].items())),
            'unmatched': list(stack['unmatched']),
            'warnings': list(stack['warnings'])}


# ---------------------------------------------------------------- reading a live node (modules)

class NetstackError(Exception):
    pass


# The options every module that can take a netdev down takes (documented once: dataplane.node.node.management).
MANAGEMENT_ARGS = dict(
    management_addresses=dict(type='list', elements='str', default=[]),
    management_interfaces=dict(type='list', elements='str', default=[]),
    allow_management=dict(type='bool', default=False),
)


def pci_netdev_map(host):
    """{netdev: PCI address} from the host model."""
    found = {}
    for address, device in host.pci()['devices'].items():
        for netdev in device.get('netdevs') or ():
            found[netdev] = address
    return found


def host_stack(host, ssh=(), addresses=(), interfaces=(), ip_addr_json=None, ovs_bridges=None):
    """resolve() over a Host: the seeds plus its IPv4 and IPv6 default routes; no command is run (the caller
    hands in `ip -json addr show` and the ovs-vsctl bridges)."""
    seeds = management_sources(ssh, (), addresses, interfaces, host.default_route_netdevs())
    return resolve(host.fs, seeds, ip_addr_json, ovs_bridges, pci_netdev_map(host))


def read_stack(host, run_command, environ, pid, addresses=(), interfaces=()):
    """The management stack of a live node (or a test tree): SSH_CONNECTION from `environ` and the ancestors of
    `pid`, `addresses` (already resolved: hostnames are the controller's business, see the management_addresses
    filter), `interfaces`, the IPv4 and IPv6 default routes. run_command(argv) -> (rc, out, err) runs `ip` and
    `ovs-vsctl`. Fails closed: when the addresses cannot be listed, NetstackError (nothing may be changed)."""
    import json

    ssh = ssh_connection_addresses(environ, host.fs, pid)
    names = [a for a in addresses or () if a]
    unresolved = [a for a in names if not is_address(a)]
    literal = [a for a in names if is_address(a)]
    ip_json = []
    if ssh or literal:
        rc, out, err = run_command(['ip', '-json', 'addr', 'show'])
        if rc != 0:
            raise NetstackError('cannot list the addresses to protect the management connection (ip -json addr '
                                'show: %s)' % (err or out or 'rc %d' % rc).strip())
        try:
            ip_json = json.loads(out or '[]')
        except ValueError as exc:
            raise NetstackError('cannot read ip -json addr show: %s' % exc)
    graph = NetGraph(host.fs, None, pci_netdev_map(host))
    ovs = _ovs_bridges(run_command) if any(graph.on_ovs(n) for n in graph.netdevs) else None
    stack = host_stack(host, ssh, literal, interfaces, ip_json, ovs)
    if unresolved:
        stack['warnings'].append('%s: not an address (resolve host names on the controller with the '
                                 'dataplane.node.management_addresses filter): not protected' % ', '.join(unresolved))
        stack['unmatched'].extend(unresolved)
    return stack


def facts_stack(host, run_command, environ, pid, addresses=(), interfaces=()):
    """read_stack for the facts: the same seeds as the modules that ask the guard, so that the preflight plans the
    refusals the run will meet. Never fails: when the addresses cannot be listed, the default routes and the
    interfaces alone, with a warning that says what is missing."""
    try:
        return read_stack(host, run_command, environ, pid, addresses, interfaces)
    except NetstackError as exc:
        stack = host_stack(host, interfaces=interfaces)
        stack['warnings'].append('%s: the SSH session and the management addresses are not in these facts' % exc)
        return stack


def _ovs_bridges(run_command):
    """{bridge: [interfaces]} from ovs-vsctl, or None when it cannot be asked (the graph then assumes every port of
    the ovs-system datapath may carry an internal port)."""
    try:
        rc, out, _err = run_command(['ovs-vsctl', '--timeout=5', 'list-br'])
    except (OSError, ValueError):
        return None
    if rc != 0:
        return None
    ifaces = {}
    for bridge in out.split():
        rc, listed, _err = run_command(['ovs-vsctl', '--timeout=5', 'list-ifaces', bridge])
        if rc != 0:
            return None
        ifaces[bridge] = listed
    return parse_ovs_bridges(out, ifaces)


def module_runner(module):
    """run_command(argv) for read_stack over an AnsibleModule: a missing tool is rc 127, not a module failure."""
    def run(argv):
        path = module.get_bin_path(argv[0])
        if not path:
            return 127, '', '%s not found' % argv[0]
        return module.run_command([path] + list(argv[1:]))
    return run


def module_stack(module, host):
    """read_stack for a module with MANAGEMENT_ARGS; fails the module (nothing changed) when it cannot tell."""
    import os

    try:
        return read_stack(host, module_runner(module), os.environ, os.getpid(),
                          module.params.get('management_addresses') or (),
                          module.params.get('management_interfaces') or ())
    except NetstackError as exc:
        module.fail_json(msg='nothing changed: %s' % exc, problems=[str(exc)])
