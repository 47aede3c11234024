"""Boot one testbed VM and check it looks like a DPDK node.

Run: python3 -m pytest tests/vm/test_testbed.py -v   (about 2 minutes
with a cached image; the first run also builds the image).
"""
import time

import pytest

import testbed

pytestmark = pytest.mark.vm

REASON = testbed.preflight()
TOKEN = "dataplane_testbed_token=1"


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    if REASON:
        pytest.skip(REASON)
    bed = testbed.Testbed(tmp_path_factory.mktemp("vms"))
    name = "pytest"
    try:
        yield bed.up(name)
    finally:
        bed.down(name, graceful_timeout=0)  # overlay is thrown away anyway


def sh(vm, script):
    return vm.ssh("sh", "-c", script).stdout.strip()


def test_two_numa_nodes(vm):
    assert sh(vm, "test -d /sys/devices/system/node/node1 && echo yes") == "yes"
    assert sh(vm, "cat /sys/devices/system/node/online") == "0-1"


def test_iommu_with_groups(vm):
    assert sh(vm, "test -e /sys/class/iommu/dmar0 && echo yes") == "yes"
    assert int(sh(vm, "ls /sys/kernel/iommu_groups | wc -l")) > 0


def test_igb_pf_has_seven_vfs(vm):
    totals = sh(vm, "cat /sys/bus/pci/drivers/igb/*/sriov_totalvfs").split()
    assert totals == ["7"]


def test_spare_e1000e_present(vm):
    assert sh(vm, "ls /sys/bus/pci/drivers/e1000e | grep -c :") == "1"


def test_grub_cmdline_survives_reboot(vm):
    """The kernel command line comes from GRUB, not from QEMU -append."""
    sh(vm, "mkdir -p /etc/default/grub.d && printf '%s\\n' "
           "'GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX " + TOKEN + "\"' "
           "> /etc/default/grub.d/99-testbed.cfg && update-grub")
    old = vm.boot_id()
    start = time.monotonic()
    vm.reboot()
    print(f"reboot to SSH: {time.monotonic() - start:.0f} s")
    assert vm.boot_id() != old
    assert TOKEN in sh(vm, "cat /proc/cmdline").split()
