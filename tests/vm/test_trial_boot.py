"""Fail-safe kernel command line changes on the QEMU testbed, through GRUB on disk (issue: trial mode).

One VM, three runs of the kernel_cmdline and reboot roles with kernel_cmdline_trial=true:
  (b) an unbootable argument set (a root device that does not exist, no panic= fallback): the trial boot hangs in
      the initramfs, the testbed's power hook (QEMU monitor system_reset) fires, GRUB boots the previous entry,
      the role fails the host with the reason and the boot configuration is byte for byte what it was;
  (c) arguments that boot but fail the health check: rolled back the same way (one more reboot);
  (a) good arguments: one trial reboot, verified, made permanent; a second run changes nothing and does not reboot.
About 8 minutes under TCG. Logs (JSON callback): tests/output/trial-<case>.json.
"""
import hashlib
import os
import sys

import pytest

import testbed
from roles_run import one_vm, reboots, results, run_playbook, sh

pytestmark = pytest.mark.vm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "tests", "vm", "playbooks", "cmdline_trial.yml")
REASON = testbed.preflight()
RUN_TIMEOUT = 900
BOOT_CONFIG = ["/boot/grub/grub.cfg", "/boot/grub/grubenv", "/etc/default/grub"]


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    yield from one_vm(tmp_path_factory, "trial", REASON)


def boot_state(vm):
    """What a rollback must leave unchanged: the boot files' hashes, our drop-ins, the trial leftovers."""
    files = {}
    for path in BOOT_CONFIG:
        files[path] = hashlib.sha256(vm.ssh("cat", path, timeout=60).stdout.encode()).hexdigest()
    files["grub.d"] = sh(vm, "ls /etc/grub.d /etc/default/grub.d 2>/dev/null | sort | tr '\\n' ' '")
    files["state"] = sh(vm, "ls /var/lib/dataplane-node 2>/dev/null || true")
    files["next_entry"] = sh(vm, "grub-editenv /boot/grub/grubenv list | grep ^next_entry || true")
    return files


def run_roles(bed_info, case, extra):
    bed, vm, state = bed_info
    hook = "%s %s reset %s --state-dir %s" % (
        sys.executable, os.path.join(REPO, "tests", "vm", "testbed.py"), vm.name, state)
    return run_playbook(vm, state, PLAYBOOK, extra, "trial-%s" % case, RUN_TIMEOUT,
                        hostvars={"reboot_power_hook_command": hook}, keepalive=5)


def failure(report, vm_name):
    """The message of the host's last failed task (rescued failures come before it)."""
    failed = [res for _name, res in results(report, vm_name) if res.get("failed")]
    return failed[-1].get("msg") if failed else None


def test_b_unbootable_trial_is_reset_by_the_power_hook_and_rolled_back(bed):
    _bed, vm, _state = bed
    before, cmdline = boot_state(vm), sh(vm, "cat /proc/cmdline")
    rc, report, log = run_roles(bed, "b-unbootable", {
        "kernel_cmdline_trial": True, "kernel_cmdline_trial_timeout": 150, "kernel_cmdline_trial_panic": 0,
        "kernel_cmdline_args": ["root=/dev/disk/by-label/does-not-exist", "rootdelay=5"]})
    msg = failure(report, vm.name)
    assert rc != 0 and msg, "the run should fail the host; log: %s" % log
    assert "did not come back within 150 s" in msg, msg
    assert "reset through the power hook" in msg, msg
    assert "on its previous command line" in msg and "NOT" not in msg, msg
    assert sh(vm, "cat /proc/cmdline") == cmdline
    assert boot_state(vm) == before, "the boot configuration changed; log: %s" % log


def test_c_trial_that_fails_the_health_check_is_rolled_back(bed):
    _bed, vm, _state = bed
    before, cmdline = boot_state(vm), sh(vm, "cat /proc/cmdline")
    rc, report, log = run_roles(bed, "c-unhealthy", {
        "kernel_cmdline_trial": True, "kernel_cmdline_trial_timeout": 300,
        "kernel_cmdline_args": ["dataplane_trial=unhealthy"],
        "reboot_health_command": "test -e /run/dataplane-trial-healthy"})
    msg = failure(report, vm.name)
    assert rc != 0 and msg, "the run should fail the host; log: %s" % log
    assert "failed its checks: health check `test -e /run/dataplane-trial-healthy` failed (rc=1)" in msg, msg
    assert "is on its previous command line" in msg, msg
    assert reboots(report, vm.name) == 2, "trial boot + rollback boot; log: %s" % log
    assert sh(vm, "cat /proc/cmdline") == cmdline
    assert boot_state(vm) == before, "the boot configuration changed; log: %s" % log


def test_a_good_trial_is_committed_then_idempotent(bed):
    _bed, vm, _state = bed
    extra = {"kernel_cmdline_trial": True, "kernel_cmdline_trial_timeout": 300,
             "kernel_cmdline_iommu": "passthrough", "kernel_cmdline_args": ["nosoftlockup"],
             "reboot_health_command": "test -d /sys/kernel/iommu_groups/0"}
    rc, report, log = run_roles(bed, "a-good", extra)
    assert rc == 0, "log: %s" % log
    assert reboots(report, vm.name) == 1, log
    running = sh(vm, "cat /proc/cmdline").split()
    assert {"iommu=pt", "nosoftlockup"} <= set(running)
    # Committed in place, without a second reboot: the running kernel is the trial's (with its panic=10) until the
    # next boot, which uses the default entry. panic= must not become permanent.
    assert "panic=10" in running
    # Permanent now: in the default entry (through our drop-in), with the trial entry and its state gone.
    assert "iommu=pt nosoftlockup" in sh(vm, "cat /etc/default/grub.d/99-dataplane-node.cfg")
    default_linux = sh(vm, "grep -m1 -P '^\\tlinux\\t' /boot/grub/grub.cfg")
    assert "iommu=pt" in default_linux and "nosoftlockup" in default_linux and "panic=" not in default_linux
    state = boot_state(vm)
    assert "42_dataplane_node_trial" not in state["grub.d"] and state["state"] == "" and state["next_entry"] == ""
    assert "dataplane-node-trial" not in sh(vm, "cat /boot/grub/grub.cfg")

    rc, report, log = run_roles(bed, "a-good-again", extra)
    assert rc == 0, "log: %s" % log
    stats = report["stats"][vm.name]
    assert stats["changed"] == 0, "second run changed something; log: %s" % log
    assert reboots(report, vm.name) == 0
