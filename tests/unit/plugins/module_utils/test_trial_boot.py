# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trial (one-time) boot entries per boot loader flavour.

grub-debian12-testbed.cfg is captured from the QEMU testbed's disk (what update-grub wrote there);
grub-rhel7-bios.cfg is written in the format grub2-mkconfig produces on CentOS 7 (no such machine here).
Commands that would change this machine's boot (update-grub, grub-reboot, grubby) are recorded, not run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._apply import apply_files_then_commands
from ansible_collections.dataplane.node.plugins.module_utils._bootloader import flavour_for
from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS
from ansible_collections.dataplane.node.plugins.module_utils._trial_boot import (
    STATE_FILE, TRIAL_ID, TrialError, grubenv_problem, linux_line, parse_grub_menu, parse_grubenv,
    parse_systemd_analyze, resolve_default, supports_next_entry, trial_args, trial_menuentry)
from ansible_collections.dataplane.node.plugins.module_utils._parse import parse_mounts

from test_bootloader import Recorder, grubby_info, make_root  # pylint: disable=import-error

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                        'fixtures', 'boot')
UUID = '7e0942b6-d19f-4354-a297-7a8f67d2e6f7'
GRUBENV_EMPTY = '# GRUB Environment Block\n' + '#' * 40 + '\n'
EXT4_ROOT = '/dev/vda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n'


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def debian_tree(tmp_path, grub_default='saved', grubenv=GRUBENV_EMPTY, mounts=EXT4_ROOT, cfg=None):
    return make_root(tmp_path, {
        'etc/default/grub': 'GRUB_DEFAULT=%s\nGRUB_CMDLINE_LINUX="console=ttyS0,115200"\n' % grub_default,
        'usr/sbin/update-grub': '#!/bin/sh\n',
        'boot/grub/grub.cfg': cfg if cfg is not None else fixture('grub-debian12-testbed.cfg'),
        'boot/grub/grubenv': grubenv,
        'proc/mounts': mounts,
    })


# ---------------------------------------------------------------- grub.cfg menus

def test_menu_of_the_testbed_and_its_default_entry():
    menu = parse_grub_menu(fixture('grub-debian12-testbed.cfg'))
    assert [(e.kind, e.title) for e in menu] == [
        ('menuentry', 'Debian GNU/Linux'), ('submenu', 'Advanced options for Debian GNU/Linux')]
    assert [c.id for c in menu[1].children] == ['gnulinux-6.1.0-56-amd64-advanced-' + UUID,
                                                'gnulinux-6.1.0-56-amd64-recovery-' + UUID]
    # GRUB_DEFAULT=saved with no saved_entry boots entry 0.
    entry = resolve_default(menu, 'saved', None)
    assert entry.title == 'Debian GNU/Linux'
    assert linux_line(entry)[1:] == ('linux', '/boot/vmlinuz-6.1.0-56-amd64',
                                     ['root=UUID=' + UUID, 'ro', 'console=ttyS0,115200'])
    assert resolve_default(menu, '1>1').title.endswith('(recovery mode)')
    assert resolve_default(menu, 'gnulinux-advanced-' + UUID).title == 'Debian GNU/Linux, with Linux 6.1.0-56-amd64'
    with pytest.raises(TrialError, match='cannot find the default boot entry'):
        resolve_default(menu, '7')


def test_trial_args_edit_like_the_permanent_change_and_add_panic():
    current = ['root=UUID=x', 'ro', 'console=ttyS0,115200', 'quiet']
    assert trial_args(current, ['intel_iommu=on', 'iommu=pt'], ['quiet'], 10) == [
        'root=UUID=x', 'ro', 'console=ttyS0,115200', 'intel_iommu=on', 'iommu=pt', 'panic=10']
    assert trial_args(current, ['panic=30'], [], 10)[-1] == 'panic=30'  # the user's own panic= wins
    assert 'panic=0' not in trial_args(current, [], [], 0) and not any(t.startswith('panic') for t in
                                                                       trial_args(current, [], [], 0))


@pytest.mark.parametrize('mounts, problem', [
    (EXT4_ROOT, None),
    ('/dev/mapper/vg-root / xfs rw 0 0\n/dev/sda1 /boot xfs rw 0 0\n', None),  # /boot on a plain partition
    ('/dev/mapper/vg-root / xfs rw 0 0\n', 'LVM, device-mapper or RAID'),
    ('/dev/md0 / ext4 rw 0 0\n', 'LVM, device-mapper or RAID'),
    ('/dev/sda2 / btrfs rw 0 0\n', 'btrfs'),
    ('rpool/ROOT/ubuntu / zfs rw 0 0\nbpool/BOOT/ubuntu /boot zfs rw 0 0\n', 'zfs'),
])
def test_grubenv_must_be_writable_by_grub(mounts, problem):
    found = grubenv_problem(parse_mounts(mounts), '/boot/grub')
    assert (found is None) if problem is None else (problem in found)


def test_systemd_analyze_total():
    assert parse_systemd_analyze('Startup finished in 2.1s (kernel) + 29.9s (userspace) = 32.0s\n'
                                 'graphical.target reached after 29.8s in userspace\n') == 32.0
    assert parse_systemd_analyze('Startup finished in 12.345s (firmware) + 5.1s (loader) + 1.2s (kernel) + '
                                 '1min 3.5s (userspace) = 1min 22.145s\n') == 82.1
    assert parse_systemd_analyze('Bootup is not yet finished.\n') is None


# ---------------------------------------------------------------- Debian / Ubuntu

def test_debian_trial_stages_a_generated_entry_then_is_idempotent(tmp_path):
    root = debian_tree(tmp_path)
    run = Recorder()
    flavour = flavour_for('debian-grub', HostFS(root), run, 'bios')
    assert flavour.trial_refusal() is None
    plan = flavour.trial_plan(['intel_iommu=on', 'iommu=pt'], [], 10, {'present': ['intel_iommu=on', 'iommu=pt'],
                                                                       'absent': []})
    assert plan.after == ['root=UUID=' + UUID, 'ro', 'console=ttyS0,115200', 'intel_iommu=on', 'iommu=pt', 'panic=10']
    assert sorted(plan.files) == ['etc/grub.d/42_dataplane_node_trial', STATE_FILE]
    assert plan.commands == [['update-grub'], ['grub-reboot', TRIAL_ID]]
    script = plan.files['etc/grub.d/42_dataplane_node_trial']
    assert "menuentry 'dataplane.node trial: Debian GNU/Linux' --id dataplane-node-trial {" in script
    assert ('\tlinux\t/boot/vmlinuz-6.1.0-56-amd64 root=UUID=%s ro console=ttyS0,115200 intel_iommu=on iommu=pt '
            'panic=10\n' % UUID) in script
    assert '\tinitrd\t/boot/initrd.img-6.1.0-56-amd64\n' in script
    assert '\tsearch --no-floppy --fs-uuid --set=root %s\n' % UUID in script
    # The user's default entry and GRUB_DEFAULT are left alone.
    assert not any(rel.startswith('etc/default') for rel in plan.files)

    apply_files_then_commands(root, plan.files, plan.commands, run, plan.modes)
    assert os.stat(os.path.join(root, 'etc/grub.d/42_dataplane_node_trial')).st_mode & 0o111, 'grub.d runs executables'
    assert json.loads((tmp_path / STATE_FILE).read_text())['present'] == ['intel_iommu=on', 'iommu=pt']
    # What grub-reboot writes; the same request again changes nothing.
    (tmp_path / 'boot/grub/grubenv').write_text(GRUBENV_EMPTY.replace('#' * 40, 'next_entry=%s\n' % TRIAL_ID + '#' * 20))
    again = flavour.trial_plan(['intel_iommu=on', 'iommu=pt'], [], 10, {'present': ['intel_iommu=on', 'iommu=pt'],
                                                                        'absent': []})
    assert not again.changed


def test_debian_cleanup_removes_the_entry_and_a_pending_next_entry(tmp_path):
    root = debian_tree(tmp_path, grubenv='# GRUB Environment Block\nnext_entry=%s\n####\n' % TRIAL_ID)
    (tmp_path / 'etc/grub.d').mkdir(parents=True)
    (tmp_path / 'etc/grub.d/42_dataplane_node_trial').write_text('#!/bin/sh\n')
    (tmp_path / 'var/lib/dataplane-node').mkdir(parents=True)
    (tmp_path / STATE_FILE).write_text('{"present": [], "absent": []}')
    flavour = flavour_for('debian-grub', HostFS(root), Recorder(), 'bios')
    assert flavour.trial_exists()
    plan = flavour.trial_cleanup()
    assert plan.files == {'etc/grub.d/42_dataplane_node_trial': None, STATE_FILE: None}
    assert plan.commands == [['update-grub'], ['grub-editenv', '/boot/grub/grubenv', 'unset', 'next_entry']]
    # After the trial booted, GRUB had cleared next_entry but left `next_entry=` behind: unset it as well.
    (tmp_path / 'boot/grub/grubenv').write_text('# GRUB Environment Block\nnext_entry=\n####\n')
    assert flavour_for('debian-grub', HostFS(root), Recorder(), 'bios').trial_cleanup().commands == [
        ['update-grub'], ['grub-editenv', '/boot/grub/grubenv', 'unset', 'next_entry']]
    # With no trial files, an empty next_entry is not ours to touch.
    (tmp_path / STATE_FILE).unlink()
    (tmp_path / 'etc/grub.d/42_dataplane_node_trial').unlink()
    assert not flavour_for('debian-grub', HostFS(root), Recorder(), 'bios').trial_cleanup().changed


def test_debian_trial_follows_grub_default_to_the_booted_entry(tmp_path):
    root = debian_tree(tmp_path, grub_default='"1>1"')
    plan = flavour_for('debian-grub', HostFS(root), Recorder(), 'bios').trial_plan(['iommu=pt'], [], 0, {})
    assert plan.after == ['root=UUID=' + UUID, 'ro', 'single', 'console=ttyS0,115200', 'iommu=pt']


@pytest.mark.parametrize('kwargs, message', [
    ({'cfg': '### BEGIN /etc/grub.d/10_linux ###\nmenuentry "x" {\n\tlinux /vmlinuz ro\n}\n'},
     'does not honour next_entry'),
    ({'mounts': '/dev/mapper/vg0-root / ext4 rw 0 0\n'}, 'LVM, device-mapper or RAID'),
    ({'mounts': '/dev/sda2 / btrfs rw 0 0\n'}, 'btrfs'),
])
def test_debian_trial_is_refused_where_grub_cannot_boot_once(tmp_path, kwargs, message):
    flavour = flavour_for('debian-grub', HostFS(debian_tree(tmp_path, **kwargs)), Recorder(), 'bios')
    assert message in flavour.trial_refusal()
    with pytest.raises(TrialError, match='trial mode is not possible here: .*' + message):
        flavour.trial_plan(['iommu=pt'], [], 10, {})


# ---------------------------------------------------------------- RHEL 7 / SUSE (grub2-mkconfig)

def rhel7_tree(tmp_path, mounts='/dev/mapper/centos-root / xfs rw 0 0\n/dev/sda1 /boot xfs rw 0 0\n', efi=False):
    files = {
        'etc/default/grub': 'GRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root '
                            'rd.lvm.lv=centos/swap rhgb quiet hugepages=8"\n',
        'boot/grub2/grub.cfg': fixture('grub-rhel7-bios.cfg'),
        'boot/grub2/grubenv': '# GRUB Environment Block\nsaved_entry=CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)\n#',
        'proc/mounts': mounts,
    }
    return make_root(tmp_path, files)


def test_rhel7_trial_copies_the_saved_entry_and_uses_grub2_reboot(tmp_path):
    flavour = flavour_for('grub2-mkconfig', HostFS(rhel7_tree(tmp_path)), Recorder(), 'bios')
    plan = flavour.trial_plan(['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=16'], [], 10, {})
    # saved_entry names the older kernel (a title): that is the one copied, linux16 kept.
    assert ('\tlinux16\t/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/centos-root ro crashkernel=auto '
            'rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet default_hugepagesz=1G hugepagesz=1G hugepages=16 '
            'LANG=en_US.UTF-8 panic=10\n') in plan.files['etc/grub.d/42_dataplane_node_trial']
    assert '\tinitrd16 /initramfs-3.10.0-1160.el7.x86_64.img\n' in plan.files['etc/grub.d/42_dataplane_node_trial']
    assert plan.commands == [['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'], ['grub2-reboot', TRIAL_ID]]


def test_suse_on_btrfs_refuses_trial_mode(tmp_path):
    root = rhel7_tree(tmp_path, mounts='/dev/sda2 / btrfs rw 0 0\n/dev/sda2 /boot/grub2/x86_64-efi btrfs rw 0 0\n')
    with pytest.raises(TrialError, match='/boot/grub2 is on btrfs'):
        flavour_for('grub2-mkconfig', HostFS(root), Recorder(), 'bios').trial_plan(['iommu=pt'], [], 10, {})


# ---------------------------------------------------------------- RHEL 8+ (BLS)

def bls_tree(tmp_path, saved_entry=True):
    entry_id = '8a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e-5.14.0-427.13.1.el9_4.x86_64'
    return make_root(tmp_path, {
        'boot/loader/entries/%s.conf' % entry_id: (
            'title Red Hat Enterprise Linux (5.14.0-427.13.1.el9_4.x86_64) 9.4 (Plow)\n'
            'version 5.14.0-427.13.1.el9_4.x86_64\n'
            'linux /vmlinuz-5.14.0-427.13.1.el9_4.x86_64\n'
            'initrd /initramfs-5.14.0-427.13.1.el9_4.x86_64.img $tuned_initrd\n'
            'options root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M '
            'resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap hugepages=8 $tuned_params\n'
            'grub_users $grub_users\ngrub_arg --unrestricted\ngrub_class rhel\n'),
        'boot/grub2/grub.cfg': fixture('grub-rhel7-bios.cfg').replace(
            '### BEGIN /etc/grub.d/10_linux ###', 'blscfg\n### BEGIN /etc/grub.d/10_linux ###'),
        'boot/grub2/grubenv': '# GRUB Environment Block\n%s\n#' % ('saved_entry=' + entry_id if saved_entry else ''),
        'proc/mounts': '/dev/mapper/rhel-root / xfs rw 0 0\n/dev/vda1 /boot xfs rw 0 0\n',
    })


def test_bls_trial_is_a_copy_of_the_default_entry_file(tmp_path):
    run = Recorder(outputs={'grubby --info=DEFAULT': grubby_info()})
    flavour = flavour_for('grub2-bls', HostFS(bls_tree(tmp_path)), run, 'uefi')
    plan = flavour.trial_plan(['intel_iommu=on', 'iommu=pt'], ['hugepages'], 10, {})
    entry = plan.files['boot/loader/entries/dataplane-node-trial.conf']
    assert entry.startswith('title dataplane.node trial: Red Hat Enterprise Linux (5.14.0-427.13.1.el9_4.x86_64) 9.4')
    assert 'initrd /initramfs-5.14.0-427.13.1.el9_4.x86_64.img $tuned_initrd\n' in entry
    assert entry.endswith('options ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap '
                          'rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap $tuned_params intel_iommu=on iommu=pt panic=10\n')
    assert plan.commands == [['grub2-reboot', TRIAL_ID]]  # blscfg reads entries at boot: nothing regenerated
    cleanup_root = tmp_path
    (cleanup_root / 'boot/loader/entries/dataplane-node-trial.conf').write_text(entry)
    assert flavour.trial_cleanup().commands == []


def test_bls_without_saved_entry_refuses(tmp_path):
    run = Recorder(outputs={'grubby --info=DEFAULT': grubby_info()})
    flavour = flavour_for('grub2-bls', HostFS(bls_tree(tmp_path, saved_entry=False)), run, 'bios')
    assert 'no saved_entry' in flavour.trial_refusal()


def test_grubenv_and_next_entry_support():
    assert parse_grubenv('# GRUB Environment Block\nsaved_entry=a=b\nnext_entry=x\n###') == {
        'saved_entry': 'a=b', 'next_entry': 'x'}
    assert supports_next_entry(fixture('grub-debian12-testbed.cfg'))
    assert not supports_next_entry('menuentry "x" {\n}\n')


def test_a_removed_trial_script_is_not_backed_up_into_grub_d(tmp_path):
    """grub-mkconfig runs every executable in /etc/grub.d, `.bak` files included: a backup beside the trial
    script would put the trial entry back into grub.cfg (seen on the testbed)."""
    root = debian_tree(tmp_path)
    (tmp_path / 'etc/grub.d').mkdir(parents=True)
    script = tmp_path / 'etc/grub.d/42_dataplane_node_trial'
    script.write_text('#!/bin/sh\n')
    script.chmod(0o755)
    flavour = flavour_for('debian-grub', HostFS(root), Recorder(), 'bios')
    plan = flavour.trial_cleanup()
    record = apply_files_then_commands(root, plan.files, plan.commands, Recorder(), plan.modes)
    assert os.listdir(str(tmp_path / 'etc/grub.d')) == []
    assert len(record['backups']) == 1
    assert record['backups'][0].startswith(str(tmp_path / 'var/backups/dataplane-node/etc/grub.d/'
                                               '42_dataplane_node_trial.'))
    # A failed regeneration puts the script back from there.
    failing = Recorder(fail=('update-grub',))
    script.write_text('#!/bin/sh\n')
    with pytest.raises(Exception, match='update-grub failed'):
        apply_files_then_commands(root, plan.files, plan.commands, failing, plan.modes)
    assert script.read_text() == '#!/bin/sh\n'


def test_trial_entry_keeps_the_users_words_and_puts_new_arguments_before_init():
    cfg = ("menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {\n"
           "\tlinux\t/boot/vmlinuz-6.1.0-57-amd64 root=UUID=9b28 ro console=tty0 dyndbg=\"module igb +p\" "
           "console=ttyS0,115200 -- dataplane_initarg\n"
           "\tinitrd\t/boot/initrd.img-6.1.0-57-amd64\n}\n")
    entry = resolve_default(parse_grub_menu(cfg), '0')
    args = trial_args(linux_line(entry)[3], ['iommu=pt'], [], 10)
    assert args == ['root=UUID=9b28', 'ro', 'console=tty0', 'dyndbg="module igb +p"', 'console=ttyS0,115200',
                    'iommu=pt', 'panic=10', '--', 'dataplane_initarg']
    assert ('\tlinux\t/boot/vmlinuz-6.1.0-57-amd64 root=UUID=9b28 ro console=tty0 dyndbg="module igb +p" '
            'console=ttyS0,115200 iommu=pt panic=10 -- dataplane_initarg') in trial_menuentry(entry, args)
