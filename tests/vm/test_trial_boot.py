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
import json
import os
import subprocess
import sys
import time

import pytest

import testbed

pytestmark = pytest.mark.vm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "tests", "vm", "playbooks", "cmdline_trial.yml")
OUTPUT = os.path.join(REPO, "tests", "output")
REASON = testbed.preflight()
RUN_TIMEOUT = 900
BOOT_CONFIG = ["/boot/grub/grub.cfg", "/boot/grub/grubenv", "/etc/default/grub"]


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    if REASON:
        pytest.skip(REASON)
    state = tmp_path_factory.mktemp("vms")
    bed = testbed.Testbed(state)
    name = "trial"
    try:
        vm = bed.up(name)
        yield bed, vm, state
    finally:
        bed.down(name, graceful_timeout=0)


def sh(vm, script):
    return vm.ssh("sh", "-c", script, timeout=60).stdout.strip()


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
    inventory = os.path.join(str(state), "inventory-%s.json" % case)
    hook = "%s %s reset %s --state-dir %s" % (
        sys.executable, os.path.join(REPO, "tests", "vm", "testbed.py"), vm.name, state)
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": {vm.name: {
            "ansible_host": vm.address, "ansible_port": vm.port, "ansible_user": vm.user,
            "ansible_ssh_private_key_file": vm.identity_file,
            # ServerAlive: a session opened just before the guest hung must not wait forever.
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                       "-o ServerAliveInterval=5 -o ServerAliveCountMax=4",
            "ansible_python_interpreter": "/usr/bin/python3",
            "reboot_power_hook_command": hook,
        }}}}, handle)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"), ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_INJECT_FACT_VARS="False", ANSIBLE_TIMEOUT="30",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    proc = subprocess.run([playbook, "-i", inventory, PLAYBOOK, "-e", json.dumps(extra)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    elapsed = time.monotonic() - start
    os.makedirs(OUTPUT, exist_ok=True)
    log = os.path.join(OUTPUT, "trial-%s.json" % case)
    with open(log, "w") as handle:
        handle.write(proc.stdout + proc.stderr)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook (%s) printed no JSON (rc=%d); log: %s\n%s" % (
            case, proc.returncode, log, proc.stderr[-3000:]))
    print("%s: rc=%d in %.0f s" % (case, proc.returncode, elapsed))
    return proc.returncode, report, log


def results(report, vm_name):
    """[(task name, result)] for the host, in order."""
    out = []
    for play in report["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get(vm_name)
            if res is not None:
                out.append((task["task"]["name"].split(" : ")[-1], res))  # without the role's prefix
    return out


def failure(report, vm_name):
    """The message of the host's last failed task (rescued failures come before it)."""
    failed = [res for _name, res in results(report, vm_name) if res.get("failed")]
    return failed[-1].get("msg") if failed else None


def reboots(report, vm_name):
    return sum(1 for name, res in results(report, vm_name)
               if name.startswith("Reboot") and res.get("rebooted"))


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
