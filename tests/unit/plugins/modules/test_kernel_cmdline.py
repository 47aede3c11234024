# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kernel_cmdline as Ansible runs it, in check mode on host trees (it refuses real writes under a test root)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.dataplane.node.plugins.modules import kernel_cmdline

import hosttree
import synthhost


@pytest.fixture
def ubuntu_root(tmp_path):
    """The AMD/Ubuntu tree: debian-grub loader, cloud-image drop-in, 2 NUMA nodes, Linux 6.8."""
    return synthhost.amd_epyc().write(str(tmp_path))


def test_check_mode_predicts_files_commands_and_reboot(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {
        'root': ubuntu_root, '_ansible_check_mode': True, '_ansible_diff': True,
        'iommu': 'passthrough', 'default_hugepagesz': '1G', 'hugepages': [{'size': '1G', 'nodes': {'0': 2, '1': 2}}]})
    assert code == 0, result
    assert result['changed'] is True
    assert result['loader'] == 'debian-grub'
    assert result['wanted'] == {'present': ['iommu=pt', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:2,1:2'],
                                'absent': ['amd_iommu=off']}
    assert result['files'] == ['/etc/default/grub.d/99-dataplane-node.cfg']
    assert result['commands'] == ['update-grub']
    assert result['missing'] == ['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:2,1:2']
    assert result['reboot_required'] is True
    assert result['diff']['before'] == 'console=tty1 console=ttyS0\n'
    assert result['diff']['after'] == ('iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=0:2,1:2 '
                                       'console=tty1 console=ttyS0\n')
    assert not os.path.exists(os.path.join(ubuntu_root, 'etc/default/grub.d/99-dataplane-node.cfg'))


def test_bad_input_is_refused_before_anything(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {
        'root': ubuntu_root, '_ansible_check_mode': True,
        'hugepages': [{'size': '1G', 'nodes': {'0': 40, '7': 1}}], 'isolated_cpus': '0-15', 'args': ['x=$(id)']})
    assert code == 1
    assert result['msg'].startswith('invalid kernel arguments, nothing changed: ')
    assert result['problems'] == ["unsafe or malformed kernel argument 'x=$(id)' (whole tokens only: no spaces, "
                                  "quotes or shell characters)"]
    code, result = run_module(kernel_cmdline, {
        'root': ubuntu_root, '_ansible_check_mode': True,
        'hugepages': [{'size': '1G', 'nodes': {'0': 40, '7': 1}}], 'isolated_cpus': '0-15'})
    assert result['problems'] == [
        'hugepages for NUMA node 7, which does not exist (nodes: 0, 1); the kernel would ignore the whole parameter',
        'boot hugepages on node 0 need 40.0 GiB but the node has 31.2 GiB: more than 90% of it',
        'isolcpus would isolate every CPU (0-15): leave at least one for the system',
        'nohz_full would isolate every CPU (0-15): leave at least one for the system',
        'rcu_nocbs would isolate every CPU (0-15): leave at least one for the system',
    ]


def test_negative_and_incomplete_pools(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, '_ansible_check_mode': True,
                                               'hugepages': [{'size': '1G', 'count': -1}]})
    assert (code, result['problems']) == (1, ['hugepages count for 1G is negative'])
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, '_ansible_check_mode': True,
                                               'hugepages': [{'size': '1G'}]})
    assert (code, result['problems']) == (1, ['hugepages entry for 1G needs count or nodes'])


def test_real_run_under_a_test_root_is_refused(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, 'iommu': 'on'})
    assert code == 1
    assert 'is for tests in check mode only' in result['msg']


def test_ostree_host_is_refused(run_module, tmp_path):
    builder = synthhost.server2s()
    builder.file('run/ostree-booted', '')
    root = builder.write(str(tmp_path))
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True, 'iommu': 'on'})
    assert code == 1
    assert result['msg'].startswith('ostree hosts manage the kernel command line through their image tools')


def test_iommu_kind_comes_from_the_firmware_table_not_the_cpu(run_module, tmp_path):
    # Seen on the QEMU testbed: TCG's 'max' CPU reports AuthenticAMD next to an emulated Intel IOMMU (DMAR).
    builder = synthhost.amd_epyc()
    del builder.entries['files']['sys/firmware/acpi/tables/IVRS']
    builder.file('sys/firmware/acpi/tables/DMAR', '')
    root = builder.write(str(tmp_path))
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True, 'iommu': 'passthrough'})
    assert code == 0, result
    assert result['wanted'] == {'present': ['intel_iommu=on', 'iommu=pt'], 'absent': []}


# ---------------------------------------------------------------- trial mode (one-time boot)

TRIAL_FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                              'fixtures', 'boot')


def with_grub_menu(root, cmdline=None, state=None, next_entry=None):
    with open(os.path.join(TRIAL_FIXTURES, 'grub-debian12-testbed.cfg')) as handle:
        cfg = handle.read()
    files = {'boot/grub/grub.cfg': cfg,
             'boot/grub/grubenv': '# GRUB Environment Block\n%s#####\n' % (
                 'next_entry=%s\n' % next_entry if next_entry else '')}
    if cmdline is not None:
        files['proc/cmdline'] = cmdline + '\n'
    if state is not None:
        files['var/lib/dataplane-node/kernel-cmdline-trial.json'] = json.dumps(state)
    return hosttree.write_tree(root, {'dirs': set(), 'links': {}, 'files': files})


def test_trial_stage_predicts_the_one_time_entry_and_leaves_the_default(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {
        'root': with_grub_menu(ubuntu_root), '_ansible_check_mode': True, '_ansible_diff': True,
        'isolated_cpus': '4-7', 'trial': 'stage'})
    assert code == 0, result
    assert result['changed'] is True
    assert result['trial']['state'] == 'staged'
    assert result['trial']['args'][-4:] == ['isolcpus=4-7', 'nohz_full=4-7', 'rcu_nocbs=4-7', 'panic=10']
    assert result['trial']['previous'][:2] == ['BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic', 'root=UUID=0f1e2d3c']
    assert result['files'] == ['/etc/grub.d/42_dataplane_node_trial', '/var/lib/dataplane-node/kernel-cmdline-trial.json']
    assert result['commands'] == ['update-grub', 'grub-reboot dataplane-node-trial']
    # The default entry keeps its arguments: only the one-time entry has the new ones.
    assert result['configured'] == ['console=tty1', 'console=ttyS0']
    assert result['reboot_required'] is True
    assert result['diff']['after_header'] == 'one-time boot entry dataplane-node-trial'


def test_trial_stage_after_the_trial_booted_changes_nothing(run_module, ubuntu_root):
    booted = 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=0f1e2d3c ro isolcpus=4-7 nohz_full=4-7 rcu_nocbs=4-7'
    root = with_grub_menu(ubuntu_root, cmdline=booted, state={'present': ['isolcpus=4-7'], 'absent': [],
                                                              'previous': ['root=UUID=0f1e2d3c', 'ro']})
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True,
                                               'isolated_cpus': '4-7', 'trial': 'stage'})
    assert code == 0, result
    assert result['changed'] is False
    assert result['trial']['state'] == 'booted'
    assert result['reboot_required'] is False


def test_trial_commit_refuses_when_the_trial_did_not_boot(run_module, ubuntu_root):
    root = with_grub_menu(ubuntu_root, state={'present': ['isolcpus=4-7'], 'absent': []})
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True, 'trial': 'commit'})
    assert code == 1
    assert result['msg'] == ('the booted kernel lacks the staged arguments (missing: isolcpus=4-7; unexpected: -): '
                             'the trial did not boot, nothing committed; nothing changed')


def test_trial_commit_makes_the_staged_change_permanent_and_removes_the_entry(run_module, ubuntu_root):
    booted = 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=0f1e2d3c ro isolcpus=4-7'
    root = with_grub_menu(ubuntu_root, cmdline=booted, state={'present': ['isolcpus=4-7'], 'absent': []})
    os.makedirs(os.path.join(root, 'etc/grub.d'), exist_ok=True)
    with open(os.path.join(root, 'etc/grub.d/42_dataplane_node_trial'), 'w') as handle:
        handle.write('#!/bin/sh\n')
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True, 'trial': 'commit'})
    assert code == 0, result
    assert result['trial']['state'] == 'committed'
    assert result['configured'] == ['isolcpus=4-7', 'console=tty1', 'console=ttyS0']
    assert result['files'] == ['/etc/default/grub.d/99-dataplane-node.cfg', '/etc/grub.d/42_dataplane_node_trial',
                               '/var/lib/dataplane-node/kernel-cmdline-trial.json']
    assert result['commands'] == ['update-grub']  # one regeneration for both
    assert result['reboot_required'] is False


def test_trial_discard_and_leftover_cleanup(run_module, ubuntu_root):
    root = with_grub_menu(ubuntu_root, state={'present': ['isolcpus=4-7'], 'absent': []},
                          next_entry='dataplane-node-trial')
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True, 'trial': 'discard'})
    assert code == 0, result
    assert result['trial']['state'] == 'discarded'
    assert result['files'] == ['/var/lib/dataplane-node/kernel-cmdline-trial.json']
    assert result['commands'] == ['grub-editenv /boot/grub/grubenv unset next_entry']
    # A normal run removes a leftover trial as part of its own change.
    code, result = run_module(kernel_cmdline, {'root': root, '_ansible_check_mode': True})
    assert result['trial'] == {'mode': 'off', 'state': 'discarded', 'entry': 'dataplane-node-trial'}
    assert result['changed'] is True


def test_trial_timeout_shorter_than_the_last_boot_is_refused(ubuntu_root):
    from ansible_collections.dataplane.node.plugins.module_utils._host import Host
    from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import ArgError

    root = with_grub_menu(ubuntu_root)
    params = {'iommu': None, 'hugepages': None, 'default_hugepagesz': None, 'isolated_cpus': '4-7',
              'isolation_params': ['isolcpus'], 'isolation_flags': [], 'args': [], 'absent': [], 'loader': 'auto',
              'trial': 'stage', 'trial_panic': 10, 'trial_timeout': 60}

    def run(argv):
        import subprocess
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    host = Host(root)
    with pytest.raises(ArgError, match=r"trial_timeout=60 s is shorter than this host's last boot \(95 s"):
        kernel_cmdline.plan_trial(params, host, run, [], boot_seconds=lambda: 95.2)
    result = kernel_cmdline.plan_trial(dict(params, trial_timeout=300), host, run, [], boot_seconds=lambda: 95.2)[4]
    assert result['state'] == 'staged' and result['boot_seconds'] == 95.2


# ---------------------------------------------------------------- a user's own arguments (issue #26)

def with_user_line(root, booted):
    with open(os.path.join(root, 'etc/default/grub'), 'a') as handle:
        handle.write("GRUB_CMDLINE_LINUX='console=tty0 dyndbg=\"module igb +p\" console=ttyS0,115200 -- "
                     "dataplane_initarg'\n")
    with open(os.path.join(root, 'proc/cmdline'), 'w') as handle:
        handle.write(booted + '\n')
    return root


def test_the_issues_booted_line_is_not_taken_for_converged(run_module, ubuntu_root):
    # What the issue saw booted: the arguments after `--` went to init. They are missing, and the drop-in
    # carries the user's quoted value escaped for sh, with the new arguments before `--`.
    with_user_line(ubuntu_root, 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=UUID=0f1e2d3c ro console=tty0 '
                                '"dyndbg=module igb +p" console=ttyS0,115200 -- dataplane_initarg iommu=pt isolcpus=1 '
                                'nohz_full=1 rcu_nocbs=1')
    code, result = run_module(kernel_cmdline, {
        'root': ubuntu_root, '_ansible_check_mode': True, '_ansible_diff': True,
        'iommu': 'passthrough', 'isolated_cpus': '1'})
    assert code == 0, result
    assert result['missing'] == ['iommu=pt', 'isolcpus=1', 'nohz_full=1', 'rcu_nocbs=1']
    assert result['reboot_required'] is True
    assert result['configured'][:3] == ['console=tty0', 'dyndbg="module igb +p"', 'console=ttyS0,115200']
    assert result['configured'][3:8] == ['iommu=pt', 'isolcpus=1', 'nohz_full=1', 'rcu_nocbs=1', '--']
    assert result['configured'][8] == 'dataplane_initarg'
    assert result['lint'] == ['isolcpus=1 without irqaffinity=: device interrupts may still be routed to the isolated '
                              'CPUs; irqaffinity=0,2-15 keeps them on the others']


def test_the_other_vendors_iommu_argument_is_refused(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, '_ansible_check_mode': True,
                                               'args': ['intel_iommu=on']})
    assert code == 1
    assert result['problems'] == ['intel_iommu=on is for Intel IOMMUs but this node has an AMD one (from its DMAR/IVRS '
                                  'table or CPU vendor): the kernel would ignore it']


def test_a_line_longer_than_command_line_size_is_refused(run_module, ubuntu_root):
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, '_ansible_check_mode': True,
                                               'args': ['dataplane_pad%d=%s' % (i, 'x' * 100) for i in range(20)]})
    assert code == 1
    assert result['msg'].startswith('invalid kernel arguments, nothing changed: the kernel command line would be ')
    assert 'more than the 2047 this x86_64 kernel keeps (COMMAND_LINE_SIZE 2048)' in result['msg']


def test_a_line_already_too_long_is_reported_not_refused_when_nothing_changes(run_module, ubuntu_root):
    padding = ' '.join('dataplane_pad%d=%s' % (i, 'x' * 100) for i in range(20))
    with open(os.path.join(ubuntu_root, 'etc/default/grub'), 'a') as handle:
        handle.write('GRUB_CMDLINE_LINUX="%s"\n' % padding)
    code, result = run_module(kernel_cmdline, {'root': ubuntu_root, '_ansible_check_mode': True})
    assert code == 0, result
    assert result['changed'] is False
    assert result['lint'][0].startswith('the kernel command line would be ')
