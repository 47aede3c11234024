# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads a devlink device's side of the host: its bus, VF count, VFs, uplink netdevs and the switchdev ports
(representors) on its switch, through the host model (sysfs under an injectable root).

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dataplane.node.plugins.module_utils._change import (
    Check, Command, HeldDrivers, SysfsWrite, WaitFor)
from ansible_collections.dataplane.node.plugins.module_utils._dpu import (
    DpuError, parse_devlink_eswitch, parse_phys_port_name, representor_problems, representors)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, normalize_pci_address

NET_DIR = 'sys/class/net'


def parse_handle(handle):
    """'pci/0000:03:00.0' -> ('pci', '0000:03:00.0'); 'netdevsim/netdevsim10' -> ('netdevsim', 'netdevsim10')."""
    m = re.match(r'^(pci|netdevsim)/(\S+)$', handle or '')
    if not m:
        raise DpuError(['%r is not a devlink handle (pci/DOMAIN:BUS:DEV.FN or netdevsim/netdevsimN)' % handle])
    if m.group(1) == 'pci':
        try:
            return 'pci', normalize_pci_address(m.group(2))
        except ParseError as exc:
            raise DpuError([str(exc)])
    if not re.match(r'^netdevsim\d+$', m.group(2)):
        raise DpuError(['%r is not a netdevsim device name' % m.group(2)])
    return 'netdevsim', m.group(2)


class DevlinkDevice(object):
    """One devlink device as sysfs shows it. host: a Host (its fs and pci() facts)."""

    def __init__(self, host, handle):
        self.host = host
        self.bus, self.name = parse_handle(handle)
        self.handle = '%s/%s' % (self.bus, self.name)
        if self.bus == 'pci':
            self.base = 'sys/bus/pci/devices/%s' % self.name
        else:
            self.base = 'sys/bus/netdevsim/devices/%s' % self.name
        if not host.fs.exists(self.base):
            raise DpuError(['no device %s (/%s is missing)' % (self.handle, self.base)])
        self.numvfs_path = self.base + '/sriov_numvfs'

    @property
    def vendor(self):
        return self.host.fs.read_value(self.base + '/vendor') if self.bus == 'pci' else None

    def numvfs(self):
        return self.host.fs.read_int(self.numvfs_path) or 0

    def totalvfs(self):
        return self.host.fs.read_int(self.base + '/sriov_totalvfs')

    def vfs(self):
        """[{'index', 'address', 'driver'}] (pci: from the virtfn links; netdevsim VFs are no devices: [])."""
        if self.bus != 'pci':
            return []
        found = []
        for entry in self.host.fs.listdir(self.base):
            m = re.match(r'^virtfn(\d+)$', entry)
            if m:
                address = self.host.fs.link_name('%s/%s' % (self.base, entry))
                found.append({'index': int(m.group(1)), 'address': address,
                              'driver': self.host.fs.link_name('sys/bus/pci/devices/%s/driver' % address)})
        return sorted(found, key=lambda v: v['index'])

    def vf_count_seen(self):
        """VFs that exist now: virtfn links (pci) or the read-back count (netdevsim)."""
        return len(self.vfs()) if self.bus == 'pci' else self.numvfs()

    def netdevs(self):
        return self.host.fs.listdir(self.base + '/net')

    def uplink_netdevs(self):
        """The device's own uplinks: port name pN in switchdev, no port name in legacy mode. VF and PF
        representors are registered under the same device (mlx5, netdevsim) and are left out: tc offload on
        representors is the driver's business (mlx5 enables it; netdevsim cannot)."""
        uplinks = []
        for name in self.netdevs():
            port = self.host.fs.read_value('%s/%s/phys_port_name' % (NET_DIR, name))
            parsed = parse_phys_port_name(port)
            if not port or (parsed and parsed['kind'] == 'uplink'):
                uplinks.append(name)
        return uplinks

    def switch_ports(self):
        """Every netdev on this device's switch (same phys_switch_id as its own netdevs), with its port name."""
        fs = self.host.fs
        own = set(fs.read_value('%s/%s/phys_switch_id' % (NET_DIR, n)) for n in self.netdevs())
        own.discard(None)
        own.discard('')
        ports = []
        for name in fs.listdir(NET_DIR):
            switch = fs.read_value('%s/%s/phys_switch_id' % (NET_DIR, name))
            if switch and switch in own:
                ports.append({'name': name, 'phys_switch_id': switch,
                              'phys_port_name': fs.read_value('%s/%s/phys_port_name' % (NET_DIR, name))})
        return ports

    def representors(self):
        """{'uplinks': [...], 'pfs': {...}, 'vfs': {...}} of this device's switch (empty ones in legacy mode)."""
        switches = representors(self.switch_ports())
        merged = {'uplinks': [], 'pfs': {}, 'vfs': {}}
        for sw in switches.values():
            merged['uplinks'].extend(sw['uplinks'])
            merged['pfs'].update(sw['pfs'])
            merged['vfs'].update(sw['vfs'])
        return merged


def representors_for_return(reps):
    """Representor map with string keys (JSON): vfs {'pf0vf1': netdev}, pfs {'pf0': netdev}."""
    def key(prefix_names, value):
        values = value if isinstance(value, tuple) else (value,)
        names = prefix_names[-len(values):] if len(values) <= len(prefix_names) else prefix_names
        return ''.join('%s%d' % (n, v) for n, v in zip(names, values))
    return {'uplinks': sorted(reps['uplinks']),
            'pfs': dict((key(('c', 'pf'), k), v) for k, v in reps['pfs'].items()),
            'vfs': dict((key(('c', 'pf', 'vf'), k), v) for k, v in reps['vfs'].items())}


# ---------------------------------------------------------------- the eSwitch change, as engine steps

def read_mode(run, devlink, handle):
    """The eSwitch mode `devlink -j dev eswitch show` reports. run(argv) -> (rc, out, err)."""
    rc, out, err = run([devlink, '-j', 'dev', 'eswitch', 'show', handle])
    if rc != 0:
        raise DpuError(['devlink dev eswitch show %s failed: %s' % (handle, (err or out).strip())])
    return parse_devlink_eswitch(out).get(handle, {}).get('mode')


def tc_offload(run, ethtool, netdev):
    """'on', 'off' (either may carry ethtool's ' [fixed]' note) or None when ethtool cannot read the netdev."""
    rc, out, _err = run([ethtool, '-k', netdev])
    for line in out.splitlines() if rc == 0 else []:
        if line.startswith('hw-tc-offload:'):
            return line.split(':', 1)[1].split()[0]
    return None


def eswitch_steps(dev, plan, devlink, timeout):
    """plan_eswitch's ordered plan for `dev` as change-engine steps: each tagged entry gets its run, read-back and
    undo here, and nowhere else. The VFs unbound before the mode change are bound back after it, or by the undo
    when a later step fails."""
    drivers = HeldDrivers(lambda ctx: dev.vfs())
    steps = []
    for entry in plan:
        kind = entry[0]
        if kind == 'numvfs':
            steps.append(SysfsWrite(entry[1], '%d' % entry[2], expect='%d' % entry[2]))
        elif kind == 'wait_vfs':
            steps.append(_wait_vfs(dev, entry[1], timeout))
        elif kind == 'unbind_vfs':
            steps.append(drivers.unbind_step())
        elif kind == 'bind_vfs':
            steps.append(drivers.rebind_step())
        elif kind == 'devlink':
            steps.append(Command([devlink] + entry[1][1:], label=' '.join(entry[1])))
        else:
            raise DpuError(['unknown eSwitch plan step %r' % (entry,)])
    return steps


def _wait_vfs(dev, count, timeout):
    def failure(_ctx):
        return '%s shows %d VFs after %ds, %d written' % (dev.handle, dev.vf_count_seen(), timeout, count)
    return WaitFor('wait for %d VFs' % count, lambda ctx: dev.vf_count_seen() == count, failure, timeout)


def tc_offload_steps(dev, run, ethtool):
    """`ethtool -K NETDEV hw-tc-offload on` for each uplink that has it off, each read back (ethtool exits 0 when the
    driver keeps a feature off)."""
    steps = []
    for netdev in dev.uplink_netdevs():
        if tc_offload(run, ethtool, netdev) == 'off':
            steps.append(Command([ethtool, '-K', netdev, 'hw-tc-offload', 'on'],
                                 label='-K %s hw-tc-offload on' % netdev,
                                 verify=_offload_read_back(ethtool, netdev)))
    return steps


def _offload_read_back(ethtool, netdev):
    def problems(ctx):
        if tc_offload(ctx.run, ethtool, netdev) != 'on':
            return ['%s: hw-tc-offload reads back off after ethtool -K (the driver refused it)' % netdev]
        return []
    return problems


def mode_check(dev, devlink, mode):
    def problems(ctx):
        now = read_mode(ctx.run, devlink, dev.handle)
        if now != mode:
            return ['%s reads back eSwitch mode %s after the steps, %s asked' % (dev.handle, now, mode)]
        return []
    return Check('%s reads back eSwitch mode %s' % (dev.handle, mode), problems)


def uplink_pf(reps):
    """The PF number whose VF representors count (BlueField Arm side and ConnectX: pf0 for function 0)."""
    keys = [k for k in reps['vfs'] if not isinstance(k, tuple) or len(k) == 2]
    pfs = sorted(set(k[0] for k in keys if isinstance(k, tuple)))
    return pfs[0] if pfs else 0


def representors_wait(dev, numvfs, timeout):
    """Switchdev shows one representor per VF on the uplink's PF within `timeout` s."""
    def missing():
        reps = dev.representors()
        return representor_problems(reps, uplink_pf(reps), numvfs)
    return WaitFor('wait for %d VF representors' % numvfs, lambda ctx: not missing(), lambda ctx: missing(),
                   timeout)
