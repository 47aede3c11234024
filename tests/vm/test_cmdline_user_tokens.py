"""A user's own kernel arguments survive a change byte for byte, and the booted kernel shows the change (issue #26).

On the QEMU testbed, booted through GRUB on disk: /etc/default/grub is hand-edited first as a real node's often is
(a quoted value, two console= keys, an init argument after `--`); then the kernel_cmdline and reboot roles run with
iommu=passthrough and isolated_cpus=1. After their one reboot:
  - /proc/cmdline holds each user token exactly once, in the form GRUB boots it (grub_create_loader_cmdline wraps a
    word with a space in double quotes: dyndbg="module igb +p" boots as "dyndbg=module igb +p"); init's argument is
    still the only thing after `--`, and every new argument is before it;
  - the kernel's own files show the effect: /sys/devices/system/cpu/isolated and nohz_full are "1", and every IOMMU
    group's default domain is identity (passthrough);
  - /etc/default/grub is byte for byte what the user wrote (the change lives in the drop-in).
A second run changes nothing and does not reboot. About 4 minutes under TCG (one boot, one reboot, two runs).
Logs (JSON callback): tests/output/cmdline-user-tokens-<run>.json.
"""
import hashlib
import os
import sys

import pytest

import testbed
from roles_run import one_vm, reboots, results, run_playbook, sh

pytestmark = pytest.mark.vm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))
from ansible_collections.dataplane.node.plugins.module_utils._parse import (  # noqa: E402
    grub_boot_form, split_init, tokenize_cmdline)

PLAYBOOK = os.path.join(REPO, "tests", "vm", "playbooks", "cmdline_trial.yml")
REASON = testbed.preflight()
RUN_TIMEOUT = 600
# As a user writes it: single-quoted, so the double quotes are part of the value grub-mkconfig sources.
USER_LINE = "GRUB_CMDLINE_LINUX='console=tty0 dyndbg=\"module igb +p\" console=ttyS0,115200 -- dataplane_initarg'"
USER_KERNEL_TOKENS = ["console=tty0", 'dyndbg="module igb +p"', "console=ttyS0,115200"]
USER_INIT_TOKENS = ["dataplane_initarg"]
NEW_TOKENS = ["intel_iommu=on", "iommu=pt", "isolcpus=1", "nohz_full=1", "rcu_nocbs=1"]
EXTRA = {"kernel_cmdline_iommu": "passthrough", "kernel_cmdline_isolated_cpus": "1"}


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    yield from one_vm(tmp_path_factory, "usertokens", REASON)


def run_roles(bed_info, run, extra):
    _bed, vm, state = bed_info
    return run_playbook(vm, state, PLAYBOOK, extra, "cmdline-user-tokens-%s" % run, RUN_TIMEOUT)


def module_result(report, vm_name):
    task = "Configure the kernel command line through the boot loader"
    found = [res for name, res in results(report, vm_name) if name == task]
    assert found, "the kernel_cmdline task did not run"
    return found[0]


def sha(vm, path):
    return hashlib.sha256(vm.ssh("cat", path, timeout=60).stdout.encode()).hexdigest()


def test_user_tokens_survive_and_the_kernel_shows_the_change(bed):
    _bed, vm, _state = bed
    # The hand edit: replace the image's GRUB_CMDLINE_LINUX line and boot nothing yet (the roles' one reboot does).
    sh(vm, "sed -i '/^GRUB_CMDLINE_LINUX=/d' /etc/default/grub && "
           "printf '%%s\\n' %s >> /etc/default/grub" % shell_word(USER_LINE))
    user_grub = sha(vm, "/etc/default/grub")
    sourced = sh(vm, ". /etc/default/grub && printf '%s' \"$GRUB_CMDLINE_LINUX\"")
    assert tokenize_cmdline(sourced) == USER_KERNEL_TOKENS + ["--"] + USER_INIT_TOKENS

    rc, report, log = run_roles(bed, "first", EXTRA)
    assert rc == 0, "log: %s" % log
    assert reboots(report, vm.name) == 1, log
    first = module_result(report, vm.name)
    assert first["changed"] and first["missing"] == NEW_TOKENS, log

    booted = vm.ssh("cat", "/proc/cmdline", timeout=60).stdout
    kernel, init, separator = split_init(tokenize_cmdline(booted, strict=False))
    assert separator and init == USER_INIT_TOKENS, booted
    for token in USER_KERNEL_TOKENS:
        assert kernel.count(grub_boot_form(token)) == 1, (token, booted)
    assert kernel.count('"dyndbg=module igb +p"') == 1, booted  # GRUB's own rendering, spelled out
    for token in NEW_TOKENS:
        assert kernel.count(token) == 1, (token, booted)
    # The two console= keys keep their order (the last one is /dev/console).
    assert kernel.index("console=tty0") < kernel.index("console=ttyS0,115200")

    # The effect, from the kernel's own files.
    assert sh(vm, "cat /sys/devices/system/cpu/isolated") == "1"
    assert sh(vm, "cat /sys/devices/system/cpu/nohz_full") == "1"
    types = sh(vm, "cat /sys/kernel/iommu_groups/*/type | sort -u")
    assert types == "identity", types
    assert sh(vm, "ls /sys/class/iommu") == "dmar0"
    # The user's file is untouched; sourcing our drop-in after it gives the user's tokens back unchanged.
    assert sha(vm, "/etc/default/grub") == user_grub
    sourced = sh(vm, ". /etc/default/grub && . /etc/default/grub.d/99-dataplane-node.cfg && "
                     "printf '%s' \"$GRUB_CMDLINE_LINUX\"")
    assert tokenize_cmdline(sourced) == USER_KERNEL_TOKENS + NEW_TOKENS + ["--"] + USER_INIT_TOKENS, sourced

    rc, report, log = run_roles(bed, "second", EXTRA)
    assert rc == 0, "log: %s" % log
    assert report["stats"][vm.name]["changed"] == 0, "second run changed something; log: %s" % log
    assert reboots(report, vm.name) == 0, log
    second = module_result(report, vm.name)
    assert second["missing"] == [] and second["unexpected"] == [] and not second["reboot_required"]


def shell_word(text):
    """One sh word holding `text` exactly (single quotes, each ' as '\\'')."""
    return "'%s'" % text.replace("'", "'\\''")
