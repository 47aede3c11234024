# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SR-IOV VFs and PCI driver binding: select devices, check the guards, plan and apply the sysfs writes.

Private to the dataplane.node collection: names may change without notice.

The sysfs rules this encodes: a non-zero sriov_numvfs cannot be changed to another non-zero
value (write 0 first, which destroys the VFs); binding uses driver_override + unbind +
drivers_probe for one device (never new_id, which grabs every device of that ID); a device
must not be moved while it carries the management connection; vfio needs the whole IOMMU
group away from host drivers; mlx5 devices are bifurcated (DPDK runs on mlx5_core, no vfio).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.dataplane.node.plugins.module_utils._change import Check, SysfsWrite
from ansible_collections.dataplane.node.plugins.module_utils._netstack import guard_problems, host_stack
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, normalize_pci_address

PCI_DIR = 'sys/bus/pci/devices'
BIFURCATED_DRIVERS = ('mlx5_core',)
MELLANOX_VENDOR = '0x15b3'
# Drivers a device may keep inside a vfio group: bridges and the stub drivers DPDK accepts.
GROUP_SAFE_DRIVERS = ('pcieport', 'vfio-pci', 'pci-stub', 'uio_pci_generic', 'igb_uio')
_SAFE_NAME = re.compile(r'^[A-Za-z0-9_.\-]+$')


class PciError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


# ---------------------------------------------------------------- selection

def select_pf(pci, address=None, netdev=None, vendor=None, device=None, index=0):
    """The SR-IOV PF named by address, netdev name, or vendor/device + index (in address order)."""
    devices = pci['devices']
    if address:
        try:
            address = normalize_pci_address(address)
        except ParseError as exc:
            raise PciError([str(exc)])
        found = devices.get(address)
        if found is None:
            raise PciError(['no network/accelerator device at %s' % address])
    elif netdev:
        matches = [d for d in devices.values() if netdev in d['netdevs']]
        if not matches:
            raise PciError(['no PCI device has the netdev %s' % netdev])
        found = matches[0]
    elif vendor and device:
        matches = sorted((d for d in devices.values() if d['vendor'] == _hex(vendor) and d['device'] == _hex(device)
                          and d['physfn'] is None), key=lambda d: d['address'])
        if len(matches) <= index:
            raise PciError(['%d device(s) %s:%s found, index %d asked' % (len(matches), vendor, device, index)])
        found = matches[index]
    else:
        raise PciError(['name the PF by address, netdev, or vendor and device'])
    if found['sriov'] is None:
        raise PciError(['%s (%s) has no SR-IOV capability' % (found['address'], found['driver'] or 'no driver')])
    return found


def select_devices(pci, iommu, addresses=(), vendor_device=None, vfs_of=None, vf_indexes=None, iommu_group=None):
    """Addresses chosen by explicit list, vendor:device, VFs of a PF (optionally some indexes), or an IOMMU group."""
    problems = []
    chosen = []
    for address in addresses or ():
        try:
            chosen.append(normalize_pci_address(address))
        except ParseError as exc:
            problems.append(str(exc))
    if vendor_device:
        m = re.match(r'^(?:0x)?([0-9a-fA-F]{4}):(?:0x)?([0-9a-fA-F]{4})$', vendor_device)
        if not m:
            problems.append('vendor_device must be VVVV:DDDD, got %r' % vendor_device)
        else:
            chosen.extend(sorted(a for a, d in pci['devices'].items()
                                 if d['vendor'] == _hex(m.group(1)) and d['device'] == _hex(m.group(2))))
    if vfs_of:
        try:
            pf = select_pf(pci, address=vfs_of)
            vfs = pf['sriov']['vfs']
            if vf_indexes:
                missing = sorted(set(vf_indexes) - set(v['index'] for v in vfs))
                if missing:
                    problems.append('%s has no VF index %s (it has %d VFs)' % (
                        pf['address'], ', '.join(str(i) for i in missing), len(vfs)))
                vfs = [v for v in vfs if v['index'] in vf_indexes]
            chosen.extend(v['address'] for v in vfs)
        except PciError as exc:
            problems.extend(exc.problems)
    if iommu_group is not None:
        group = iommu['groups'].get(str(iommu_group))
        if group is None:
            problems.append('IOMMU group %s does not exist' % iommu_group)
        else:
            chosen.extend(group['devices'])
    unique = []
    for address in chosen:
        if address not in unique:
            unique.append(address)
    if problems:
        raise PciError(problems)
    return unique


# ---------------------------------------------------------------- SR-IOV VFs

def plan_vfs(pf, numvfs, autoprobe=None, force=False):
    """Writes (rel path, value) to reach numvfs VFs on pf, and the problems that forbid it."""
    problems = []
    sriov = pf['sriov']
    base = '%s/%s' % (PCI_DIR, pf['address'])
    total = sriov['totalvfs']
    if numvfs is not None and (numvfs < 0 or (total is not None and numvfs > total)):
        problems.append('%s supports 0 to %s VFs, %d asked' % (pf['address'], total, numvfs))
    writes = []
    if autoprobe is not None and autoprobe != sriov['drivers_autoprobe']:
        writes.append((base + '/sriov_drivers_autoprobe', '1' if autoprobe else '0'))
    current = sriov['numvfs'] or 0
    if numvfs is not None and numvfs != current:
        busy = [v['address'] for v in sriov['vfs'] if v['driver'] in ('vfio-pci',)]
        if current and busy and not force:
            problems.append('%s has VFs bound to vfio-pci (%s), possibly in use by DPDK; changing the VF count '
                            'destroys them: set force to do it anyway' % (pf['address'], ', '.join(busy)))
        if current:
            writes.append((base + '/sriov_numvfs', '0'))  # the kernel refuses N -> M (EBUSY)
        if numvfs:
            writes.append((base + '/sriov_numvfs', str(numvfs)))
    if problems:
        raise PciError(problems)
    return writes


def wait_for_vfs(read_pf, numvfs, autoprobe, timeout=30.0, interval=0.5, clock=time.monotonic, sleep=time.sleep):
    """Poll until the PF shows numvfs VFs (each with a driver when autoprobe is on); returns the PF."""
    deadline = clock() + timeout
    while True:
        pf = read_pf()
        vfs = pf['sriov']['vfs']
        ready = len(vfs) == numvfs and (not autoprobe or all(v['driver'] for v in vfs))
        if ready or clock() >= deadline:
            return pf, ready
        sleep(interval)


def vf_steps(writes):
    """plan_vfs' writes as engine steps, each read back (sriov_numvfs shows the count the kernel made)."""
    return [SysfsWrite(rel, value, expect=value) for rel, value in writes]


class VfsReady(Check):
    """After the VF writes: the PF shows `numvfs` VFs, each on a driver when autoprobe is on, within `timeout` s.
    read_pf() -> the PF's pci() entry, read afresh; `pf` keeps the last one read (for the caller's log)."""

    def __init__(self, read_pf, address, numvfs, autoprobe, timeout):
        Check.__init__(self, '%s shows %d VFs' % (address, numvfs), self._problems)
        self.read_pf, self.address, self.numvfs = read_pf, address, numvfs
        self.autoprobe, self.timeout = autoprobe, timeout
        self.pf = None

    def _problems(self, ctx):
        self.pf, ready = wait_for_vfs(self.read_pf, self.numvfs, self.autoprobe, timeout=self.timeout,
                                      clock=ctx.clock, sleep=ctx.sleep)
        if self.pf['sriov']['numvfs'] == self.numvfs and ready:
            return []
        return ['%s reads back %s VFs (%d visible%s) after %ds, %d asked' % (
            self.address, self.pf['sriov']['numvfs'], len(self.pf['sriov']['vfs']),
            ', some without a driver' if self.autoprobe else '', self.timeout, self.numvfs)]


def bind_steps(writes):
    """plan_bind/plan_bind_new_vf writes as engine steps (driver_override, unbind and drivers_probe are read back
    together, by bound_check: the kernel shows the effect as the driver link)."""
    return [SysfsWrite(rel, value.rstrip('\n')) for rel, value in writes]


def bound_check(read_driver, addresses, driver):
    """Every device reads back on `driver` ('' = its default driver, whichever the kernel picked).
    read_driver(address) -> the driver the device is on now."""
    def problems(_ctx):
        wrong = dict((a, read_driver(a)) for a in addresses)
        wrong = dict((a, d) for a, d in wrong.items() if driver and d != driver)
        if not wrong:
            return []
        return ['binding did not take: %s' % ', '.join(
            '%s is on %s, not %s' % (a, d or 'no driver', driver) for a, d in sorted(wrong.items()))]
    return Check('the devices read back on %s' % (driver or 'their default driver'), problems)


# ---------------------------------------------------------------- SR-IOV VF addresses (check mode)

def vf_address(pf_address, offset, stride, index):
    """Address of VF `index` (virtfn<index>): its routing ID is the PF's + First VF Offset + index * VF Stride
    (PCIe SR-IOV; the kernel's pci_iov_virtfn_bus/devfn). The bus may be a higher one than the PF's."""
    domain, bus, rest = normalize_pci_address(pf_address).split(':')
    slot, function = rest.split('.')
    rid = (int(bus, 16) << 8 | int(slot, 16) << 3 | int(function, 16)) + offset + index * stride
    if rid > 0xffff:
        raise PciError(['%s: VF %d would be beyond bus ff (offset %d, stride %d)' % (pf_address, index, offset, stride)])
    return '%s:%02x:%02x.%x' % (domain, rid >> 8, (rid >> 3) & 0x1f, rid & 7)


def predict_vfs(host, pf, numvfs, indexes=None):
    """The VFs the PF will have after its VF count is set to numvfs ({index: address}), for check mode: read from
    the PF's sriov_offset and sriov_stride in sysfs. indexes: only these (each must be below numvfs)."""
    base = '%s/%s' % (PCI_DIR, pf['address'])
    offset = host.fs.read_int(base + '/sriov_offset')
    stride = host.fs.read_int(base + '/sriov_stride')
    wanted = sorted(set(indexes)) if indexes else list(range(numvfs))
    problems = ['%s will have %d VFs: no VF index %d' % (pf['address'], numvfs, i) for i in wanted if not 0 <= i < numvfs]
    if offset is None or stride is None or (stride == 0 and len(wanted) > 1):
        problems.append('%s: sysfs has no usable sriov_offset/sriov_stride (%s/%s): cannot tell the addresses of VFs '
                        'it has not created yet' % (pf['address'], offset, stride))
    if problems:
        raise PciError(problems)
    return dict((i, vf_address(pf['address'], offset, stride, i)) for i in wanted)


def predicted_binding_problems(pf, addresses, driver, iommu, allow_noiommu=False, allow_bifurcated=False):
    """The guards that can be checked for VFs that do not exist yet (they carry no address and no route, and take
    the PF's vendor); their IOMMU group is checked when the real run binds them."""
    problems = []
    if driver == 'vfio-pci':
        if (pf.get('driver') in BIFURCATED_DRIVERS or pf.get('vendor') == MELLANOX_VENDOR) and not allow_bifurcated:
            problems.append('%s: VFs of a Mellanox/NVIDIA device (%s): mlx5 is a bifurcated driver, DPDK uses it '
                            'on mlx5_core without vfio-pci' % (', '.join(addresses), pf.get('driver') or 'no driver'))
        if not iommu['enabled'] and not allow_noiommu:
            problems.append('%s: the IOMMU is off (%s); vfio-pci needs it (no-IOMMU mode taints the kernel and '
                            'needs allow_noiommu)' % (', '.join(addresses), iommu['reason']))
    return problems


def plan_bind_new_vf(pf, address, driver):
    """Writes to move a VF the sriov_vfs step creates to `driver`: like plan_bind on a fresh VF, which has no
    driver_override and sits on its VF driver when the PF probes new VFs (sriov_drivers_autoprobe)."""
    base = '%s/%s' % (PCI_DIR, address)
    autoprobe = pf['sriov'].get('drivers_autoprobe') is not False
    if not driver:
        return [] if autoprobe else [(base + '/driver_override', '\n'), ('sys/bus/pci/drivers_probe', address)]
    writes = [(base + '/driver_override', driver)]
    if autoprobe:
        writes.append((base + '/driver/unbind', address))
    writes.append(('sys/bus/pci/drivers_probe', address))
    return writes


# ---------------------------------------------------------------- driver binding

def binding_problems(host, addresses, driver, management_netdevs=(), allow_management=False,
                     include_group=False, allow_noiommu=False, allow_bifurcated=False, bound_with=(), stack=None):
    """Every guard a bind would break, and the full list of addresses to bind (the group members when allowed).
    bound_with: devices moved in the same call (not counted as group peers left on host drivers).
    stack: the management stack (_netstack.read_stack); without it, one from the default routes and
    management_netdevs (netdevs carrying management at any layer: a VLAN, a bond, a bridge) is resolved here."""
    pci = host.pci()
    iommu = host.iommu()
    problems = []
    if driver and not _SAFE_NAME.match(driver):
        return ['driver name %r is not a driver name' % driver], []
    if stack is None:
        stack = host_stack(host, interfaces=management_netdevs)
    targets = list(addresses)
    for address in addresses:
        device = pci['devices'].get(address) or _any_device(host, address)
        if device is None:
            problems.append('%s: no such PCI device' % address)
            continue
        # The whole stack: the device's own netdevs, a bond/VLAN/bridge/OVS bridge above them, or a VF of this PF.
        refusals = guard_problems(stack, [address], 'moving it to %s' % (driver or 'its default driver'),
                                  allow_management)
        if not refusals and not allow_management and device.get('carries_default_route'):
            # The host model's own reading, kept as a second opinion: a resolver that misreads a sysfs layout
            # must not be the only thing between the bind and the session.
            refusals = ['%s carries the management connection [%s (%s: default route)]: moving it to %s would '
                        'cut it (set allow_management to do it anyway)' % (
                            address, address, ', '.join(device.get('netdevs') or ()), driver or 'its default driver')]
        problems.extend(refusals)
        if driver == 'vfio-pci':
            if device.get('driver') in BIFURCATED_DRIVERS or device.get('vendor') == MELLANOX_VENDOR:
                if not allow_bifurcated:
                    problems.append('%s is a Mellanox/NVIDIA device (%s): mlx5 is a bifurcated driver, DPDK uses it '
                                    'on mlx5_core without vfio-pci' % (address, device.get('driver') or 'no driver'))
            if not iommu['enabled'] and not allow_noiommu:
                problems.append('%s: the IOMMU is off (%s); vfio-pci needs it (no-IOMMU mode taints the kernel and '
                                'needs allow_noiommu)' % (address, iommu['reason']))
            group = iommu['groups'].get(device.get('iommu_group') or '', {}).get('devices', [])
            for peer in group:
                if peer == address or peer in targets or peer in bound_with:
                    continue
                peer_driver = host.fs.link_name('%s/%s/driver' % (PCI_DIR, peer))
                if peer_driver and peer_driver not in GROUP_SAFE_DRIVERS:
                    if include_group:
                        targets.append(peer)
                    else:
                        problems.append('%s shares IOMMU group %s with %s (on %s): vfio needs the whole group '
                                        '(set include_group to bind it too)' % (
                                            address, device.get('iommu_group'), peer, peer_driver))
    if include_group and len(targets) > len(addresses):
        extra, _unused = binding_problems(host, targets[len(addresses):], driver, management_netdevs,
                                          allow_management, False, allow_noiommu, allow_bifurcated, bound_with=targets,
                                          stack=stack)
        problems.extend(extra)
    return problems, targets


def _any_device(host, address):
    """A device the facts do not list (not network/accelerator): what binding needs to know of it."""
    base = '%s/%s' % (PCI_DIR, address)
    if not host.fs.exists(base):
        return None
    return {'address': address, 'driver': host.fs.link_name(base + '/driver'),
            'vendor': host.fs.read_value(base + '/vendor'), 'iommu_group': host.fs.link_name(base + '/iommu_group'),
            'netdevs': [], 'carries_default_route': False}


def plan_bind(host, address, driver):
    """Writes to move one device to `driver` ('' = back to its default driver). Empty when already there."""
    base = '%s/%s' % (PCI_DIR, address)
    current = host.fs.link_name(base + '/driver')
    override = host.fs.read_value(base + '/driver_override')
    override = None if override in (None, '', '(null)') else override
    if driver and current == driver and override == driver:
        return []
    if not driver and override is None and current is not None:
        return []
    writes = [(base + '/driver_override', driver or '\n')]
    if current is not None:
        writes.append((base + '/driver/unbind', address))
    writes.append(('sys/bus/pci/drivers_probe', address))
    return writes


def management_netdevs(ip_addr_json, addresses):
    """Netdevs that hold any of `addresses`, from `ip -j addr show` output (parsed JSON)."""
    wanted = set(a for a in addresses if a)
    found = []
    for link in ip_addr_json or []:
        for info in link.get('addr_info', []):
            if info.get('local') in wanted and link.get('ifname') not in found:
                found.append(link.get('ifname'))
    return found


def _hex(text):
    text = str(text).lower()
    return text if text.startswith('0x') else '0x' + text


# Persists vfio_iommu_type1's allow_unsafe_interrupts for every later load of the module (at boot, before the boot
# applier binds the devices again).
UNSAFE_INTERRUPTS_CONF = 'etc/modprobe.d/dataplane-node-vfio.conf'
UNSAFE_INTERRUPTS_TEXT = (
    '# Managed by dataplane.node (pci_driver allow_unsafe_interrupts): this host has no interrupt remapping, and\n'
    '# vfio_iommu_type1 refuses every vfio device (VFIO_SET_IOMMU: EPERM) unless this is set.\n'
    'options vfio_iommu_type1 allow_unsafe_interrupts=1\n')


def unsafe_interrupts_plan(iommu, driver, allow, conf_text):
    """What vfio-pci on this host needs for its interrupts: {'needed', 'runtime', 'conf', 'warning'}.

    Without interrupt remapping (iommu['interrupt_remapping'] False: no IR- chip in /proc/interrupts) the kernel's
    type1 IOMMU driver refuses to attach any group, so a device bound to vfio-pci cannot be used by DPDK ("failed to
    select IOMMU type"), although the bind itself works. With `allow` the module parameter is set now (runtime:
    True when it is not yet) and in modprobe.d (conf: True when that file differs); otherwise a warning says so.
    """
    needed = driver == 'vfio-pci' and bool(iommu.get('enabled')) and iommu.get('interrupt_remapping') is False
    plan = {'needed': needed, 'runtime': False, 'conf': False, 'warning': None}
    if not needed:
        return plan
    if allow:
        plan['runtime'] = iommu.get('vfio_unsafe_interrupts') is not True
        plan['conf'] = conf_text != UNSAFE_INTERRUPTS_TEXT
    else:
        plan['warning'] = ('this host has no interrupt remapping (no IR- interrupt chip in /proc/interrupts; e.g. '
                           'intremap=off, or a virtual IOMMU without it): vfio_iommu_type1 refuses the devices bound '
                           'to vfio-pci (DPDK: "failed to select IOMMU type", VFIO_SET_IOMMU EPERM) unless '
                           'allow_unsafe_interrupts is set (sriov_vfio_allow_unsafe_interrupts; it gives up MSI '
                           'isolation between the devices and the host)')
    return plan
