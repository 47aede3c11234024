"""The management guard holds on stacked network setups on a real kernel (issue #20).

On the QEMU testbed (igb PF 0000:00:03.0 with SR-IOV, spare e1000e 0000:00:04.0, the SSH session on virtio), each
case builds a stack in the guest that carries an address, names that address as the management address, and runs
pci_driver and sriov_vfs on the devices underneath, in check mode and for real:
  - a VLAN on the igb PF (enp0s3.100): binding the PF and changing its VF count are refused;
  - a bond of two igb VFs (bond0): binding a VF, and changing the PF's VF count (which destroys them), are refused;
  - a Linux bridge over the e1000e (br0): binding it is refused, by the modules and by the site playbook's preflight
    (its node_facts take the inventory's sriov_management_addresses), before any host changes;
  - a macvlan on the e1000e: binding it is refused.
Every refusal names the path (device -> layers -> address) and allow_management; the guest's links, drivers and VF
count are what they were (`ip -d -j link`, `lspci -k`, sriov_numvfs before and after), and the SSH session stays up.
  - an Open vSwitch br-ex (Debian's openvswitch-switch, installed in the guest by the test) with the e1000e as a port
    and the address on br-ex, as on an OVN-Kubernetes node in shared-gateway mode: binding the e1000e is refused, and
    ovs_settings refuses both turning on hw-offload (its ovs-vswitchd restart) and adding the igb PF, which holds
    another management address, to a new bridge; OVS's configuration is what it was (`ovs-vsctl show`).
Then the override: allow_management binds the e1000e under the bridge for real (the address is not the session's),
and the e1000e is given back to its driver.
One VM, 12 playbook runs and one apt install: about 4 minutes under TCG. Logs (JSON callback):
tests/output/management-guard-<case>.json; the guest's apt log on failure in the assertion message.

Run: .venv/bin/python -m pytest -v -rs tests/vm/test_management_guard.py
"""
import json
import os

import pytest

import testbed
from roles_run import one_vm, results, run_playbook, sh

pytestmark = pytest.mark.vm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "tests", "vm", "playbooks", "management_guard.yml")
SITE = os.path.join(REPO, "playbooks", "site.yml")
REASON = testbed.preflight()
RUN_TIMEOUT = 300
PF, E1000E = "0000:00:03.0", "0000:00:04.0"
NUMVFS = "/sys/bus/pci/devices/%s/sriov_numvfs" % PF
OVERRIDE = "(set allow_management to do it anyway)"


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    yield from one_vm(tmp_path_factory, "mgmtguard", REASON)


def netdev_of(vm, address):
    return sh(vm, "ls /sys/bus/pci/devices/%s/net" % address).split()[0]


def drop_timers(data):
    """A bridge's and its ports' running timers (hello_timer, forward_delay_timer, ...) tick between two reads:
    state, not configuration."""
    if isinstance(data, dict):
        for key in [k for k in data if k.endswith("_timer")]:
            data.pop(key)
        for value in data.values():
            drop_timers(value)
    elif isinstance(data, list):
        for value in data:
            drop_timers(value)


def guest_state(vm):
    """What must not change: every link (detailed, as JSON, without counters), drivers, the VF count."""
    links = json.loads(sh(vm, "ip -d -j link show"))
    for link in links:
        for key in ("stats", "stats64", "operstate", "linkinfo_stats"):
            link.pop(key, None)
        drop_timers(link)
    return {"links": links, "lspci": sh(vm, "lspci -k"), "numvfs": sh(vm, "cat %s" % NUMVFS),
            "ovs": sh(vm, "if command -v ovs-vsctl >/dev/null; then ovs-vsctl show; "
                          "ovs-vsctl get Open_vSwitch . other_config; fi")}


def wait_for_carrier(vm, netdev, timeout=40):
    """A link just set up (the e1000e negotiates for a few seconds under TCG) reaches carrier before the state the
    case must not change is taken: else NO-CARRIER -> LOWER_UP during the run reads as a change."""
    carrier = sh(vm, "for i in $(seq %d); do [ \"$(cat /sys/class/net/%s/carrier 2>/dev/null)\" = 1 ] && break; "
                     "sleep 1; done; cat /sys/class/net/%s/carrier 2>/dev/null" % (timeout, netdev, netdev))
    assert carrier == "1", "%s has no carrier %d s after it was set up (carrier %r)" % (netdev, timeout, carrier)


def run_case(bed_info, case, extra):
    _bed, vm, state = bed_info
    rc, report, log = run_playbook(vm, state, PLAYBOOK, extra, "management-guard-%s" % case, RUN_TIMEOUT)
    found = dict((name, res) for name, res in results(report, vm.name))
    return rc, found, log


def assert_refused(res, device, path, log):
    assert res.get("failed"), "%s was not refused; log: %s" % (device, log)
    assert res["msg"].startswith("nothing changed: "), log
    # The path up to the address's label: other sources may follow it ("; default route": the testbed's e1000e
    # also takes a DHCP default route, so the bridge and the macvlan above it carry one too).
    expected = "%s carries the management connection [%s" % (device, path[:-1] if path.endswith(")") else path)
    assert any(p.startswith(expected) and p.endswith(OVERRIDE) for p in res["problems"]), (res["problems"], log)


def refused_both_ways(bed_info, case, extra, checks):
    """Run the case in check mode, then for real; each time every module is refused and nothing changed."""
    _bed, vm, _state = bed_info
    before = guest_state(vm)
    runs = []
    for check in (True, False):
        _rc, found, log = run_case(bed_info, "%s-%s" % (case, "check" if check else "real"),
                                   dict(extra, guard_check=check))
        for task, device, path in checks:
            assert_refused(found[task], device, path, log)
        assert guest_state(vm) == before, "the guest changed; log: %s" % log
        assert vm.ssh("true", timeout=30).returncode == 0  # the session is still up
        runs.append((found, log))
    return runs


BIND = "Bind the devices to vfio-pci under the guard"
VFS = "Change the VF count under the guard"


def test_vlan_on_the_pf(bed):
    _bed, vm, _state = bed
    sh(vm, "echo 0 > %s" % NUMVFS)
    pf = netdev_of(vm, PF)
    sh(vm, "modprobe 8021q; ip link add link %s name %s.100 type vlan id 100 && ip addr add 192.168.100.2/24 dev %s.100"
           " && ip link set %s up && ip link set %s.100 up" % (pf, pf, pf, pf, pf))
    try:
        path = "%s (%s) -> %s.100 (192.168.100.2, management_addresses)" % (PF, pf, pf)
        refused_both_ways(bed, "vlan", {"guard_devices": [PF], "guard_pf": PF, "guard_numvfs": 2,
                                        "guard_addresses": ["192.168.100.2"]},
                          [(BIND, PF, path), (VFS, PF, path)])
    finally:
        sh(vm, "ip link del %s.100" % pf)


def test_bond_of_two_vfs(bed):
    _bed, vm, _state = bed
    sh(vm, "echo 0 > %s && echo 2 > %s && sleep 2" % (NUMVFS, NUMVFS))
    vfs = sh(vm, "for v in /sys/bus/pci/devices/%s/virtfn0 /sys/bus/pci/devices/%s/virtfn1; do "
                 "basename $(readlink $v); done" % (PF, PF)).split()
    names = [netdev_of(vm, vf) for vf in vfs]
    sh(vm, "modprobe bonding; ip link add bond0 type bond mode active-backup && "
           "ip link set %s down && ip link set %s master bond0 && ip link set %s down && ip link set %s master bond0 && "
           "ip addr add 192.168.101.2/24 dev bond0 && ip link set bond0 up" % (names[0], names[0], names[1], names[1]))
    try:
        vf_path = "%s (%s) -> bond0 (192.168.101.2, management_addresses)" % (vfs[0], names[0])
        pf_path = "%s (%s) -> VF %s" % (PF, netdev_of(vm, PF), vf_path)
        refused_both_ways(bed, "bond", {"guard_devices": [vfs[0]], "guard_pf": PF, "guard_numvfs": 3,
                                        "guard_addresses": ["192.168.101.2"]},
                          [(BIND, vfs[0], vf_path), (VFS, PF, pf_path)])
    finally:
        sh(vm, "ip link del bond0; echo 0 > %s" % NUMVFS)


def preflight_refuses_the_bind(bed_info, monkeypatch, path):
    """The site playbook with the inventory's sriov_management_addresses: its first task (node_facts) walks the
    address down as sriov_vfs and pci_driver will, so the preflight refuses sriov_vfio_devices before any host
    changes (only the preflight's tasks run: ANSIBLE_RUN_TAGS=preflight, so a missed refusal changes nothing)."""
    _bed, vm, state = bed_info
    before = guest_state(vm)
    monkeypatch.setenv("ANSIBLE_RUN_TAGS", "preflight")
    rc, report, log = run_playbook(vm, state, SITE, {}, "management-guard-site-preflight", RUN_TIMEOUT, hostvars={
        "sriov_management_addresses": ["192.168.102.2"], "sriov_vfio_devices": [E1000E]})
    monkeypatch.delenv("ANSIBLE_RUN_TAGS")
    expected = ("sriov_vfio_devices[0]: %s carries the management connection [%s" % (E1000E, path[:-1]))
    found = dict(results(report, vm.name))
    preflight = found["Validate every host's variables, plan NUMA locality, forecast reboots"]
    problems = preflight["hosts"][vm.name]["problems"]
    assert rc != 0 and preflight.get("failed"), "the site preflight let the run go on; log: %s" % log
    ending = "binding it to vfio-pci would cut it (set sriov_allow_management to do it anyway)"
    assert any(p.startswith(expected) and p.endswith(ending) for p in problems), (problems, log)
    assert guest_state(vm) == before, "the guest changed; log: %s" % log


def test_bridge_over_the_e1000e_then_the_override(bed, monkeypatch):
    _bed, vm, _state = bed
    nic = netdev_of(vm, E1000E)
    sh(vm, "ip link add br0 type bridge && ip link set %s master br0 && ip addr add 192.168.102.2/24 dev br0 && "
           "ip link set %s up && ip link set br0 up" % (nic, nic))
    try:
        wait_for_carrier(vm, "br0")
        path = "%s (%s) -> br0 (192.168.102.2, management_addresses)" % (E1000E, nic)
        extra = {"guard_devices": [E1000E], "guard_addresses": ["192.168.102.2"]}
        refused_both_ways(bed, "bridge", extra, [(BIND, E1000E, path)])
        preflight_refuses_the_bind(bed, monkeypatch, path)
        # The override, for real: the bridge's address is not the session's, so the session survives the move.
        rc, found, log = run_case(bed, "bridge-override", dict(extra, guard_check=False, guard_allow=True))
        assert rc == 0 and found[BIND]["changed"], log
        assert sh(vm, "basename $(readlink /sys/bus/pci/devices/%s/driver)" % E1000E) == "vfio-pci"
        assert vm.ssh("true", timeout=30).returncode == 0
    finally:
        sh(vm, "ip link del br0 2>/dev/null; echo > /sys/bus/pci/devices/%s/driver_override; "
               "echo %s > /sys/bus/pci/devices/%s/driver/unbind 2>/dev/null; echo %s > /sys/bus/pci/drivers_probe"
               % (E1000E, E1000E, E1000E, E1000E))
    assert sh(vm, "basename $(readlink /sys/bus/pci/devices/%s/driver)" % E1000E) == "e1000e"


def test_macvlan_on_the_e1000e(bed):
    _bed, vm, _state = bed
    nic = netdev_of(vm, E1000E)
    sh(vm, "ip link add link %s name mv0 type macvlan mode bridge && ip addr add 192.168.103.2/24 dev mv0 && "
           "ip link set %s up && ip link set mv0 up" % (nic, nic))
    try:
        wait_for_carrier(vm, "mv0")
        path = "%s (%s) -> mv0 (192.168.103.2, management_addresses)" % (E1000E, nic)
        refused_both_ways(bed, "macvlan", {"guard_devices": [E1000E], "guard_addresses": ["192.168.103.2"]},
                          [(BIND, E1000E, path)])
    finally:
        sh(vm, "ip link del mv0")


OVS = "Add a port to an OVS bridge and turn on hw-offload under the guard"
RESTART = "restarting ovs-vswitchd (hw-offload changed) would cut it %s" % OVERRIDE


def install_openvswitch(vm):
    """Debian's openvswitch-switch in the guest (not in the image: only this case needs it)."""
    res = vm.ssh("sh", "-c", "export DEBIAN_FRONTEND=noninteractive; (apt-get update -q && apt-get install -y -q "
                 "--no-install-recommends openvswitch-switch) >/var/tmp/ovs-install.log 2>&1 && "
                 "systemctl is-active --quiet ovs-vswitchd || { tail -30 /var/tmp/ovs-install.log; exit 1; }",
                 check=False, timeout=900)
    assert res.returncode == 0, "openvswitch-switch did not install and start in the guest:\n%s%s" % (
        res.stdout, res.stderr)


def test_ovs_bridge_holding_the_address(bed):
    _bed, vm, _state = bed
    install_openvswitch(vm)
    nic, pf = netdev_of(vm, E1000E), netdev_of(vm, PF)
    sh(vm, "echo 0 > %s; ovs-vsctl add-br br-ex && ovs-vsctl add-port br-ex %s && "
           "ip addr add 192.168.104.2/24 dev br-ex && ip link set %s up && ip link set br-ex up && "
           "ip addr add 192.168.105.2/24 dev %s && ip link set %s up" % (NUMVFS, nic, nic, pf, pf))
    try:
        assert sh(vm, "basename $(readlink /sys/class/net/%s/master)" % nic) == "ovs-system"
        bind_path = "%s (%s) -> br-ex (192.168.104.2, management_addresses)" % (E1000E, nic)
        extra = {"guard_devices": [E1000E], "guard_addresses": ["192.168.104.2", "192.168.105.2"],
                 "guard_ovs_bridge": "br-guard", "guard_ovs_ports": [pf]}
        port_path = "%s (192.168.105.2, management_addresses)" % pf
        for found, log in refused_both_ways(bed, "ovs", extra, [(BIND, E1000E, bind_path), (OVS, pf, port_path)]):
            restart = found[OVS]["problems"][-1]
            assert restart.startswith("the management connection runs through Open vSwitch ("), log
            assert bind_path[:-1] in restart and restart.endswith("): " + RESTART), log
        assert "br-guard" not in sh(vm, "ovs-vsctl list-br")
        assert "hw-offload" not in sh(vm, "ovs-vsctl get Open_vSwitch . other_config")
        assert vm.ssh("true", timeout=30).returncode == 0
    finally:
        sh(vm, "ovs-vsctl --if-exists del-br br-ex; ovs-vsctl --if-exists del-br br-guard; "
               "ip addr del 192.168.105.2/24 dev %s" % pf)
