# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loader flavours on boot files as the distributions ship them.

The GRUB defaults are sourced by real bash, as grub-mkconfig does. Only the tools that
would change this machine's boot (update-grub, grub2-mkconfig, grubby) are stood in for by a
recorder that returns their captured output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._apply import ApplyError, apply_files_then_commands
from ansible_collections.dataplane.node.plugins.module_utils._bootloader import (
    DROPIN_HEADER, BootLoaderError, flavour_for, parse_grubby_info, set_assignment)
from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import ArgError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'boot')

DEBIAN_DEFAULT_GRUB = '''# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200"
'''

RHEL7_DEFAULT_GRUB = '''GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
GRUB_DEFAULT=saved
GRUB_DISABLE_SUBMENU=true
GRUB_TERMINAL_OUTPUT="console"
GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet hugepages=8"
GRUB_DISABLE_RECOVERY="true"
'''


class Recorder:
    """Runs bash for real; records every other command and answers with canned output."""

    def __init__(self, outputs=None, fail=()):
        self.calls = []
        self.outputs = outputs or {}
        self.fail = fail

    def __call__(self, argv):
        if argv[0] == '/bin/bash':
            proc = subprocess.run(argv, capture_output=True, text=True, check=False)
            return proc.returncode, proc.stdout, proc.stderr
        self.calls.append(argv)
        if argv[0] in self.fail:
            return 1, '', '/boot/grub/grub.cfg.new: syntax error'
        return 0, self.outputs.get(' '.join(argv), ''), ''


def make_root(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path)


def debian_root(tmp_path, extra=None):
    files = {'etc/default/grub': DEBIAN_DEFAULT_GRUB, 'usr/sbin/update-grub': '#!/bin/sh\n'}
    files.update(extra or {})
    return make_root(tmp_path, files)


# ---------------------------------------------------------------- Debian / Ubuntu

def test_debian_dropin_then_idempotent(tmp_path):
    root = debian_root(tmp_path)
    run = Recorder()
    flavour = flavour_for('debian-grub', HostFS(root), run, 'bios')
    plan = flavour.plan(['intel_iommu=on', 'iommu=pt'], [])
    assert plan.before == ['console=ttyS0,115200', 'quiet']
    assert plan.after == ['console=ttyS0,115200', 'intel_iommu=on', 'iommu=pt', 'quiet']
    assert plan.files == {'etc/default/grub.d/99-dataplane-node.cfg':
                          DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="console=ttyS0,115200 intel_iommu=on iommu=pt"\n'}
    assert plan.commands == [['update-grub']]
    apply_files_then_commands(root, plan.files, plan.commands, run)
    assert run.calls == [['update-grub']]
    assert (tmp_path / 'etc/default/grub').read_text() == DEBIAN_DEFAULT_GRUB  # the user's file is untouched
    again = flavour.plan(['intel_iommu=on', 'iommu=pt'], [])
    assert not again.changed
    assert again.before == plan.after


def test_debian_hugepage_block_replaced_and_default_cleaned(tmp_path):
    root = debian_root(tmp_path, {'etc/default/grub.d/50-cloudimg-settings.cfg':
                                  'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 hugepages=64 quiet"\n'})
    plan = flavour_for('debian-grub', HostFS(root), Recorder(), 'bios').plan(
        ['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:2,1:2'], ['quiet'])
    assert plan.files['etc/default/grub.d/99-dataplane-node.cfg'] == DROPIN_HEADER + (
        'GRUB_CMDLINE_LINUX="console=ttyS0,115200 default_hugepagesz=1G hugepagesz=1G hugepages=0:2,1:2"\n'
        'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1"\n')


def test_debian_nothing_managed_removes_the_dropin(tmp_path):
    root = debian_root(tmp_path, {'etc/default/grub.d/99-dataplane-node.cfg':
                                  DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="console=ttyS0,115200 iommu=pt"\n'})
    flavour = flavour_for('debian-grub', HostFS(root), Recorder(), 'bios')
    plan = flavour.plan([], ['iommu=pt'])
    assert plan.before == ['console=ttyS0,115200', 'iommu=pt', 'quiet']
    assert plan.files == {'etc/default/grub.d/99-dataplane-node.cfg': None}
    apply_files_then_commands(root, plan.files, plan.commands, Recorder())
    assert not (tmp_path / 'etc/default/grub.d/99-dataplane-node.cfg').exists()
    assert not flavour.plan([], ['iommu=pt']).changed


def test_debian_failed_update_grub_restores_previous_dropin(tmp_path):
    old = DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="console=ttyS0,115200 iommu=pt"\n'
    root = debian_root(tmp_path, {'etc/default/grub.d/99-dataplane-node.cfg': old})
    run = Recorder(fail=('update-grub',))
    plan = flavour_for('debian-grub', HostFS(root), run, 'bios').plan(['intel_iommu=on'], [])
    with pytest.raises(ApplyError, match=r'update-grub failed \(rc=1\); restored .*99-dataplane-node.cfg'):
        apply_files_then_commands(root, plan.files, plan.commands, run)
    assert (tmp_path / 'etc/default/grub.d/99-dataplane-node.cfg').read_text() == old


def test_debian_failed_update_grub_removes_new_dropin(tmp_path):
    root = debian_root(tmp_path)
    run = Recorder(fail=('update-grub',))
    plan = flavour_for('debian-grub', HostFS(root), run, 'bios').plan(['intel_iommu=on'], [])
    with pytest.raises(ApplyError) as err:
        apply_files_then_commands(root, plan.files, plan.commands, run)
    assert not (tmp_path / 'etc/default/grub.d/99-dataplane-node.cfg').exists()
    assert err.value.record['backups'] == []


# ---------------------------------------------------------------- RHEL 7 and SUSE (grub2-mkconfig)

def test_rhel7_bios_edits_default_grub_in_place(tmp_path):
    root = make_root(tmp_path, {'etc/default/grub': RHEL7_DEFAULT_GRUB, 'boot/grub2/grub.cfg': 'menuentry x {}\n'})
    run = Recorder()
    plan = flavour_for('grub2-mkconfig', HostFS(root), run, 'bios').plan(
        ['intel_iommu=on', 'hugepagesz=1G', 'hugepages=4'], ['rhgb', 'quiet'])
    assert plan.commands == [['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg']]
    assert plan.files == {'etc/default/grub': RHEL7_DEFAULT_GRUB.replace(
        'GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet hugepages=8"',
        'GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap hugepagesz=1G hugepages=4 '
        'intel_iommu=on"')}
    record = apply_files_then_commands(root, plan.files, plan.commands, run)
    assert len(record['backups']) == 1
    assert open(record['backups'][0]).read() == RHEL7_DEFAULT_GRUB
    assert not flavour_for('grub2-mkconfig', HostFS(root), run, 'bios').plan(
        ['intel_iommu=on', 'hugepagesz=1G', 'hugepages=4'], ['rhgb', 'quiet']).changed


def test_rhel7_uefi_writes_the_vendor_grub_cfg(tmp_path):
    root = make_root(tmp_path, {'etc/default/grub': RHEL7_DEFAULT_GRUB,
                                'boot/efi/EFI/BOOT/BOOTX64.EFI': '',
                                'boot/efi/EFI/centos/grub.cfg': '### BEGIN /etc/grub.d/10_linux ###\nmenuentry x {}\n'})
    plan = flavour_for('grub2-mkconfig', HostFS(root), Recorder(), 'uefi').plan(['iommu=pt'], [])
    assert plan.commands == [['grub2-mkconfig', '-o', '/boot/efi/EFI/centos/grub.cfg']]


def test_suse_uefi_never_overwrites_the_efi_stub(tmp_path):
    stub = ("search --fs-uuid --set=root 1234-ABCD\nset prefix=($root)/boot/grub2\nconfigfile $prefix/grub.cfg\n")
    root = make_root(tmp_path, {'etc/default/grub': 'GRUB_CMDLINE_LINUX_DEFAULT="splash=silent quiet"\n'
                                                    'GRUB_CMDLINE_LINUX=""\n',
                                'boot/efi/EFI/opensuse/grub.cfg': stub})
    plan = flavour_for('grub2-mkconfig', HostFS(root), Recorder(), 'uefi').plan(['intel_iommu=on'], ['quiet'])
    assert plan.commands == [['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg']]
    assert plan.files['etc/default/grub'] == ('GRUB_CMDLINE_LINUX_DEFAULT="splash=silent"\n'
                                              'GRUB_CMDLINE_LINUX="intel_iommu=on"\n')


def test_grub2_mkconfig_refuses_shell_expansion(tmp_path):
    root = make_root(tmp_path, {'etc/default/grub': 'GRUB_CMDLINE_LINUX="$EXTRA quiet"\n'})
    with pytest.raises(BootLoaderError, match='uses shell expansion'):
        flavour_for('grub2-mkconfig', HostFS(root), Recorder(), 'bios').plan(['iommu=pt'], [])


def test_set_assignment():
    assert set_assignment('A=1\nB="x"\nB="y"\n', 'B', 'z w') == 'A=1\nB="x"\nB="z w"\n'
    assert set_assignment('A=1', 'C', '') == 'A=1\nC=""\n'


# ---------------------------------------------------------------- RHEL 8+/Fedora (BLS + grubby)

def grubby_info():
    with open(os.path.join(FIXTURES, 'grubby-info-default-rhel9.txt')) as handle:
        return handle.read()


def test_parse_grubby_info_keeps_grubenv_variables():
    entries = parse_grubby_info(grubby_info() + 'index=4\nnon linux entry\n')
    assert len(entries) == 1
    assert entries[0]['args'] == ('ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap '
                                  'rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap hugepages=8 $tuned_params')
    assert entries[0]['index'] == 0


def test_bls_grubby_commands_and_mirrored_default(tmp_path):
    root = make_root(tmp_path, {'etc/default/grub': 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX="crashkernel=1G-4G:192M,'
                                                    '4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap '
                                                    'rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap hugepages=8"\n'
                                                    'GRUB_ENABLE_BLSCFG=true\n'})
    run = Recorder(outputs={'grubby --info=DEFAULT': grubby_info()})
    plan = flavour_for('grub2-bls', HostFS(root), run, 'uefi').plan(
        ['intel_iommu=on', 'iommu=pt', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=16'], [])
    assert plan.before[-2:] == ['hugepages=8', '$tuned_params']
    assert plan.after == ['ro', 'crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M', 'resume=/dev/mapper/rhel-swap',
                          'rd.lvm.lv=rhel/root', 'rd.lvm.lv=rhel/swap', 'default_hugepagesz=1G', 'hugepagesz=1G',
                          'hugepages=16', '$tuned_params', 'intel_iommu=on', 'iommu=pt']
    assert plan.commands == [
        ['grubby', '--update-kernel=ALL', '--remove-args=hugepages=8'],
        ['grubby', '--update-kernel=ALL',
         '--args=default_hugepagesz=1G hugepagesz=1G hugepages=16 intel_iommu=on iommu=pt'],
    ]
    assert 'hugepagesz=1G hugepages=16 intel_iommu=on iommu=pt"' in plan.files['etc/default/grub']


def test_bls_refuses_two_boot_hugepage_sizes(tmp_path):
    run = Recorder(outputs={'grubby --info=DEFAULT': grubby_info()})
    with pytest.raises(ArgError, match='one hugepage size'):
        flavour_for('grub2-bls', HostFS(str(tmp_path)), run, 'bios').plan(
            ['hugepagesz=1G', 'hugepages=4', 'hugepagesz=2M', 'hugepages=512'], [])


@pytest.mark.parametrize('loader, message', [
    ('ostree', 'rpm-ostree kargs'), ('transactional', 'transactional-update'), ('unknown', 'no supported boot loader'),
])
def test_unsupported_loaders_are_refused(tmp_path, loader, message):
    with pytest.raises(BootLoaderError, match=message):
        flavour_for(loader, HostFS(str(tmp_path)), Recorder(), 'bios')


# ---------------------------------------------------------------- a real node's own arguments (issue #26)

USER_GRUB = ("GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"
             "GRUB_CMDLINE_LINUX='console=tty0 dyndbg=\"module igb +p\" console=ttyS0,115200 -- dataplane_initarg'\n")
USER_TOKENS = ['console=tty0', 'dyndbg="module igb +p"', 'console=ttyS0,115200']
NEW = ['intel_iommu=on', 'iommu=pt', 'isolcpus=1', 'nohz_full=1', 'rcu_nocbs=1']


def sourced(root, *files):
    script = 'for f in "$@"; do . "$f"; done; printf "%s\\0%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"'
    out = subprocess.run(['/bin/sh', '-c', script, 'sh'] + [os.path.join(root, f) for f in files],
                         capture_output=True, text=True, check=True).stdout
    return out.split('\0')


def test_debian_dropin_quotes_the_users_value_and_keeps_init_args_last(tmp_path):
    root = debian_root(tmp_path, {'etc/default/grub': USER_GRUB})
    run = Recorder()
    flavour = flavour_for('debian-grub', HostFS(root), run, 'bios')
    plan = flavour.plan(NEW, [])
    text = plan.files['etc/default/grub.d/' + '99-dataplane-node.cfg']
    # Escaped for sh: before, the value's own quotes ended the shell string and grub-mkconfig failed (igb: not found).
    assert 'dyndbg=\\"module igb +p\\"' in text
    assert plan.after == USER_TOKENS + NEW + ['--', 'dataplane_initarg', 'quiet']
    apply_files_then_commands(root, plan.files, plan.commands, run)
    linux, default = sourced(root, 'etc/default/grub', 'etc/default/grub.d/99-dataplane-node.cfg')
    assert linux == ' '.join(USER_TOKENS + NEW) + ' -- dataplane_initarg'
    assert default == 'quiet'  # all of it after `--`: init's, untouched
    assert flavour.plan(NEW, []).changed is False


def test_grub2_mkconfig_rewrites_only_its_line_with_the_users_tokens_intact(tmp_path):
    text = RHEL7_DEFAULT_GRUB.replace(
        'GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet hugepages=8"',
        'GRUB_CMDLINE_LINUX="crashkernel=auto dyndbg=\\"module igb +p\\" console=tty0 console=ttyS0 -- single"')
    root = make_root(tmp_path, {'etc/default/grub': text, 'boot/grub2/grub.cfg': 'menuentry x {\n}\n'})
    plan = flavour_for('grub2-mkconfig', HostFS(root), Recorder(), 'bios').plan(['iommu=pt', 'console=ttyS1'], [])
    new_text = plan.files['etc/default/grub']
    assert [l for l in new_text.splitlines() if l not in text.splitlines()] == [
        'GRUB_CMDLINE_LINUX="crashkernel=auto dyndbg=\\"module igb +p\\" console=ttyS1 iommu=pt -- single"']
    path = os.path.join(root, 'etc/default/grub')
    with open(path, 'w') as handle:
        handle.write(new_text)
    # console= is one key given twice: asked for, it replaces both at the first one's place.
    assert sourced(root, 'etc/default/grub')[0] == 'crashkernel=auto dyndbg="module igb +p" console=ttyS1 iommu=pt -- single'


def test_bls_keeps_init_args_after_the_new_ones(tmp_path):
    info = grubby_info().replace('hugepages=8 $tuned_params', 'hugepages=8 $tuned_params -- single')
    root = make_root(tmp_path, {})
    run = Recorder(outputs={'grubby --info=DEFAULT': info})
    plan = flavour_for('grub2-bls', HostFS(root), run, 'uefi').plan(['iommu=pt'], [])
    assert plan.after[-3:] == ['iommu=pt', '--', 'single']
    # grubby appends at the end: init's part comes off and goes back after the new argument.
    assert plan.commands == [['grubby', '--update-kernel=ALL', '--remove-args=-- single'],
                             ['grubby', '--update-kernel=ALL', '--args=iommu=pt -- single']]
