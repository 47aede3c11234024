# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The testbed's boot watchdog on a real guest (issue 21): boots under host load, hung boots reset and retried.

One VM:
  1. it boots while two busy processes load the host's cores (nice 0, each stops by itself after 120 s): SSH comes,
     on the first attempt or after the watchdog reset a stalled one (boot-watch.jsonl says which);
  2. a reboot into a one-time GRUB entry whose root does not exist hangs in the initramfs shell: the console goes
     quiet, the watchdog resets the guest through the QEMU monitor, GRUB boots the default entry, SSH is back;
  3. with that entry as the default every boot hangs: wait_for_ssh gives up with the attempts, the host's load
     and the serial log's tail in its message.
About 6 minutes under TCG (docs/testing.md, "Boot watchdog").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys
import time

import pytest

import testbed

pytestmark = pytest.mark.vm

REASON = testbed.preflight()
HOG_SECONDS = 120
HOGS = 2
# Busy loop with its own deadline: it stops even if this test is killed.
HOG = "import time\nend = time.monotonic() + %d\nwhile time.monotonic() < end:\n    pass\n" % HOG_SECONDS
# A one-time (grub-reboot) or default (grub-set-default) entry: the default entry's kernel with a root that does
# not exist. Debian's initramfs waits for it (rootdelay, at least 30 s), then stops in its (initramfs) shell: a boot
# that hangs.
HANG_ENTRY = r"""set -e
linux=$(grep -m1 -P '^\tlinux\t' /boot/grub/grub.cfg | sed 's/root=[^ ]*/root=LABEL=does-not-exist rootdelay=5/')
initrd=$(grep -m1 -P '^\tinitrd\t' /boot/grub/grub.cfg)
search=$(grep -m1 -P '^\tsearch ' /boot/grub/grub.cfg)
cat > /etc/grub.d/45_watchdog_hang <<EOF
#!/bin/sh
cat <<'ENTRY'
menuentry 'watchdog-hang' --id watchdog-hang {
    insmod part_msdos
    insmod ext2
$search
$linux
$initrd
}
ENTRY
EOF
chmod +x /etc/grub.d/45_watchdog_hang
update-grub 2>/dev/null
grep -q "menuentry 'watchdog-hang'" /boot/grub/grub.cfg
"""


BOOT_LOAD = {}


def cpu_seconds(pid):
    """User + system CPU time of a running process (from /proc/<pid>/stat), in seconds."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def attempts(vm):
    with open(os.path.join(vm.dir, "boot-watch.jsonl")) as handle:
        return [json.loads(line) for line in handle]


def summary(records):
    return ["attempt %d: %s after %.0f s, longest quiet %.0f s, load %.1f" % (
        r["attempt"], r["result"], r["elapsed"], r["max_quiet"], r["load"][0]) for r in records]


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    if REASON:
        pytest.skip(REASON)
    # The base image first (a cold cache builds it, ~3 min): the hogs must overlap the guest's boot, not the build.
    import image
    bed = testbed.Testbed(tmp_path_factory.mktemp("vms"), image=image.build())
    name = "load"
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _hog in range(HOGS)]
    start = time.monotonic()
    try:
        inst = bed.up(name, timeout=300)
        BOOT_LOAD["wall"] = time.monotonic() - start
        BOOT_LOAD["hog_cpu"] = [cpu_seconds(hog.pid) for hog in hogs]
        print("boot under %d CPU hogs: SSH after %.0f s, hog CPU %s s" % (
            HOGS, BOOT_LOAD["wall"], ", ".join("%.0f" % c for c in BOOT_LOAD["hog_cpu"])))
        yield inst
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
        bed.down(name, graceful_timeout=0)


def test_boot_under_a_cpu_hog_reaches_ssh_first_time_or_after_a_watchdog_reset(vm):
    records = attempts(vm)
    print("\n".join(summary(records)))
    assert records[-1]["result"] == "ssh"
    # Every attempt before the last is one the watchdog saw stall and reset.
    assert all(r["result"] in (testbed.STALLED, testbed.STALL_REPORTED) for r in records[:-1]), summary(records)
    assert len(records) <= 1 + testbed.BOOT_RETRIES
    # The hogs did load the host while the guest booted: each got a real share of a core for the boot's duration
    # (CPU time read from /proc, not the 1-minute load average, which lags a boot this short).
    busy = min(HOG_SECONDS, BOOT_LOAD["wall"])
    assert all(cpu >= 0.25 * busy for cpu in BOOT_LOAD["hog_cpu"]), (BOOT_LOAD, summary(records))
    # The guest booted through the default GRUB entry and its clock runs.
    assert "console=ttyS0" in vm.ssh("cat", "/proc/cmdline").stdout
    uptime = float(vm.ssh("cut", "-d", " ", "-f1", "/proc/uptime").stdout)
    time.sleep(2)
    assert float(vm.ssh("cut", "-d", " ", "-f1", "/proc/uptime").stdout) > uptime


def test_a_hung_boot_is_reset_through_the_monitor_and_retried(vm):
    vm.ssh("sh", "-c", HANG_ENTRY + "grub-reboot watchdog-hang\n", timeout=180)
    before = len(attempts(vm))
    start = time.monotonic()
    vm.reboot(timeout=300)
    print("reboot into the hung entry, reset, back on SSH after %.0f s" % (time.monotonic() - start))
    records = attempts(vm)[before:]
    print("\n".join(summary(records)))
    assert [r["result"] for r in records] == [testbed.STALLED, "ssh"], summary(records)
    # It was the initramfs that hung, and the boot after the reset is the default entry's.
    with open(vm.serial_log, errors="replace") as handle:
        hung = handle.read()[records[0]["offset"]:records[1]["offset"]]
    assert "does-not-exist" in hung and "(initramfs)" in hung
    assert "does-not-exist" not in vm.ssh("cat", "/proc/cmdline").stdout
    assert "next_entry=watchdog-hang" not in vm.ssh("grub-editenv", "/boot/grub/grubenv", "list").stdout


def test_a_boot_that_hangs_again_fails_with_the_attempts_load_and_serial_tail(vm):
    vm.ssh("grub-set-default", "watchdog-hang")
    before = len(attempts(vm))
    # A shorter quiet limit than the default (still four times a healthy boot's longest gap on a quiet host) and
    # no retry: the retry is test 2's; this one is the message.
    with pytest.raises(testbed.TestbedError) as failed:
        vm.reboot(timeout=300, quiet_limit=45, retries=0)
    msg = str(failed.value)
    print(msg[:400])
    records = attempts(vm)[before:]
    assert [r["result"] for r in records] == [testbed.STALLED]
    assert re.search(r"attempt 1: no new console output for 4[5-9] s \(limit 45 s\)", msg), msg[:300]
    assert "host load average " in msg and " on %d cores" % os.cpu_count() in msg
    assert "serial log %s:" % vm.serial_log in msg and "(initramfs)" in msg.split("serial log", 1)[1]
