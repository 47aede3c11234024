#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kernel_cmdline
short_description: Make kernel arguments present or absent through the boot loader, whole token by whole token
version_added: 0.1.0
description:
  - Renders IOMMU, boot-time hugepage pools and CPU isolation from a declarative spec (plus raw arguments),
    validates them against the host, and configures the boot loader so the next boot uses them.
  - "Boot loader flavours: C(debian-grub) (a drop-in C(/etc/default/grub.d/99-dataplane-node.cfg) plus
    C(update-grub); the user's C(/etc/default/grub) is not edited), C(grub2-mkconfig) (RHEL/CentOS 7 and SUSE:
    C(/etc/default/grub) edited in place with a backup, then C(grub2-mkconfig) to the BIOS or UEFI C(grub.cfg),
    never over an EFI stub), C(grub2-bls) (RHEL 8+/Fedora: C(grubby --update-kernel=ALL), mirrored into
    C(/etc/default/grub) so new kernels inherit it). ostree and transactional hosts are refused."
  - Never reboots. Reports RV(reboot_required) when C(/proc/cmdline) lacks what is configured; the
    C(dataplane.node.reboot) role does the one reboot of a run.
  - Files it rewrites are backed up first; if the regeneration command fails they are restored and the task fails
    with the command's output, leaving the previous boot configuration in place.
  - "Tokens are read as the kernel's C(next_arg()) reads them (double quotes anywhere in a token, repeated keys kept
    in order) and GRUB values by C(sh)'s quoting rules, and written back shell-quoted: every token the request does not
    name comes out byte for byte, a quoted value such as C(dyndbg=\"module igb +p\") included."
  - "Everything after a C(--) is init's: never edited, removed or counted as booted. New arguments go before it."
  - Managed arguments go to C(GRUB_CMDLINE_LINUX), which the normal and the recovery entries read (recovery entries
    do not read C(GRUB_CMDLINE_LINUX_DEFAULT)); on grubby hosts every entry, the rescue entry included.
  - "Before writing: a line longer than the architecture's C(COMMAND_LINE_SIZE) (2048 bytes on x86_64 and aarch64) and
    an IOMMU argument for another vendor than the node's are refused; isolation without matching C(nohz_full)/C(rcu_nocbs)
    or without C(irqaffinity) is a warning (RV(lint))."
author:
  - dataplane.node contributors (@dataplane-node)
extends_documentation_fragment:
  - dataplane.node.node
options:
  iommu:
    description:
      - V(on) enables the IOMMU (C(intel_iommu=on) on Intel; nothing on AMD, where it is on whenever firmware
        has an IVRS table), V(passthrough) adds C(iommu=pt), V(off) disables it. Unset leaves IOMMU arguments alone.
    type: str
    choices: ['on', passthrough, 'off']
  hugepages:
    description:
      - Boot-time hugepage pools, rendered as one ordered block (C(hugepagesz=1G hugepages=8)).
      - An empty list removes every hugepage argument; unset leaves them alone.
      - Per-node counts render as C(hugepages=0:4,1:4) and need Linux 5.16 or later.
    type: list
    elements: dict
    suboptions:
      size:
        description: Page size (V(2M), V(1G)); must be supported by the host.
        type: str
        required: true
      count:
        description: Pages in total (the kernel spreads them evenly over NUMA nodes).
        type: int
      nodes:
        description: Pages per NUMA node id.
        type: dict
  default_hugepagesz:
    description: Default hugepage size (C(default_hugepagesz=)); rendered first in the hugepage block.
    type: str
  isolated_cpus:
    description:
      - CPUs to take away from the scheduler and timer tick (cpulist, for example V(2-7,10-15)).
      - An empty string removes the isolation arguments; unset leaves them alone.
    type: str
  isolation_params:
    description: Which arguments carry O(isolated_cpus).
    type: list
    elements: str
    choices: [isolcpus, nohz_full, rcu_nocbs]
    default: [isolcpus, nohz_full, rcu_nocbs]
  isolation_flags:
    description: Flags put before the CPUs in C(isolcpus=).
    type: list
    elements: str
    choices: [nohz, domain, managed_irq]
    default: []
  args:
    description: Extra arguments to make present, as whole tokens (V(key=value) or a bare flag).
    type: list
    elements: str
    default: []
  absent:
    description: Arguments to remove; a bare key removes every value of it, V(key=value) only that token.
    type: list
    elements: str
    default: []
  loader:
    description: Boot loader flavour; V(auto) uses the one detected by the host model (see M(dataplane.node.node_facts)).
    type: str
    choices: [auto, debian-grub, grub2-mkconfig, grub2-bls]
    default: auto
  trial:
    description:
      - "Fail-safe changes through a one-time boot entry (GRUB C(next_entry), cleared by GRUB before the kernel
        loads, so a reset during a failed trial boots the previous command line)."
      - V(off) changes the default entry (and removes a leftover trial entry).
      - "V(stage) leaves the default entry alone: it writes a copy of it with the new arguments (a generated
        C(/etc/grub.d/42_dataplane_node_trial) plus regeneration on GRUB flavours, a BLS entry file on grubby hosts),
        records the change in C(/var/lib/dataplane-node/kernel-cmdline-trial.json) and runs C(grub-reboot)/C(grub2-reboot).
        When the booted kernel already has the arguments (the trial booted), it changes nothing and reports
        RV(trial.state=booted)."
      - V(commit) makes the staged arguments permanent through the normal path and removes the trial entry; it
        refuses unless the booted kernel has them. The spec options are ignored (the staged change is used).
      - V(discard) removes the trial entry, its state and a pending C(next_entry); the default entry is untouched.
      - "Refused where a one-time boot is impossible: no C(next_entry) support in C(grub.cfg), grubenv on LVM,
        device-mapper, RAID, btrfs or ZFS, or (BLS) no C(saved_entry)."
    type: str
    choices: ['off', stage, commit, discard]
    default: 'off'
  trial_panic:
    description:
      - Seconds after a kernel panic (including an initramfs that cannot find the root device) before the trial
        kernel reboots by itself into the previous default (C(panic=N) on the trial entry only). V(0) adds nothing.
    type: int
    default: 10
  trial_timeout:
    description:
      - With O(trial=stage), the time the caller will wait for the trial boot (seconds). Refused when it is shorter
        than the host's last boot as measured by C(systemd-analyze time).
    type: int
notes:
  - Arguments must be whole tokens without spaces, quotes or shell characters; anything else is refused before any
    change.
  - On grubby/BLS hosts only one hugepage size can be configured at boot, because grubby replaces repeated keys.
  - "Validation reads the host: hugepage sizes it supports (1G needs the pdpe1gb CPU flag), NUMA nodes and their memory
    (boot pools may use at most 90% of a node), online CPUs for isolation (at least one must stay for the system)."
"""

EXAMPLES = r"""
- name: IOMMU in passthrough mode and 1G pages on both NUMA nodes
  dataplane.node.kernel_cmdline:
    iommu: passthrough
    default_hugepagesz: 1G
    hugepages:
      - size: 1G
        nodes: {0: 4, 1: 4}
  register: cmdline

- name: Isolate CPUs 2-7 for DPDK poll-mode threads
  dataplane.node.kernel_cmdline:
    isolated_cpus: 2-7
    isolation_flags: [managed_irq, domain]

- name: Stage the change as a one-time boot; the dataplane.node.reboot role boots it and commits or rolls back
  dataplane.node.kernel_cmdline:
    iommu: passthrough
    trial: stage
    trial_timeout: 600

- name: After the trial boot passed its checks, make it the default
  dataplane.node.kernel_cmdline:
    trial: commit

- name: Raw arguments
  dataplane.node.kernel_cmdline:
    args: [nosoftlockup, "tsc=reliable"]
    absent: [quiet]
"""

RETURN = r"""
loader:
  description: The boot loader flavour used.
  type: str
  returned: always
  sample: debian-grub
configured:
  description: Arguments the boot loader gives the default entry after the change (tokens).
  type: list
  elements: str
  returned: always
  sample: [root=LABEL=root, console=ttyS0, intel_iommu=on, iommu=pt]
wanted:
  description: The rendered arguments made present, and the entries made absent.
  type: dict
  returned: always
  sample: {present: [intel_iommu=on, iommu=pt], absent: []}
running:
  description: Tokens of C(/proc/cmdline) (the booted command line).
  type: list
  elements: str
  returned: always
missing:
  description: Wanted tokens the booted command line lacks.
  type: list
  elements: str
  returned: always
unexpected:
  description: Tokens the booted command line has although they were asked to be absent (the kernel's part, before
    C(--), only).
  type: list
  elements: str
  returned: always
reboot_required:
  description: True when the booted command line differs from what is wanted (RV(missing) or RV(unexpected)).
  type: bool
  returned: always
lint:
  description: Warnings about the planned line (also shown as the task's warnings), for example isolation without
    C(irqaffinity=).
  type: list
  elements: str
  returned: always
  sample: ['isolcpus=1 without irqaffinity=: device interrupts may still be routed to the isolated CPUs; irqaffinity=0 keeps them on the others']
files:
  description: Files written or removed (planned, in check mode).
  type: list
  elements: str
  returned: always
  sample: [/etc/default/grub.d/99-dataplane-node.cfg]
commands:
  description: Commands run (planned, in check mode), in order.
  type: list
  elements: str
  returned: always
  sample: [update-grub]
backups:
  description: Backup copies made of the files before rewriting them.
  type: list
  elements: str
  returned: changed
notes:
  description: Remarks about the flavour's behaviour.
  type: list
  elements: str
  returned: always
trial:
  description: The one-time boot, when O(trial) is not V(off) or a leftover trial entry was removed.
  type: dict
  returned: always
  contains:
    mode:
      description: O(trial) as given.
      type: str
    state:
      description:
        - V(none) (nothing to do), V(not-needed) (the default entry has the arguments already), V(staged) (the next
          boot is the trial), V(booted) (the running kernel has the staged arguments), V(committed), V(discarded).
      type: str
    entry:
      description: The trial entry's id.
      type: str
    args:
      description: Arguments of the trial entry (V(stage)).
      type: list
      elements: str
    previous:
      description: The booted command line when the trial was staged (what a rollback returns to).
      type: list
      elements: str
    boot_seconds:
      description: The host's last boot time from C(systemd-analyze time), when measured.
      type: float
  sample: {mode: stage, state: staged, entry: dataplane-node-trial, args: [root=UUID=..., ro, iommu=pt, panic=10]}
"""


import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._apply import ApplyError, apply_files_then_commands
from ansible_collections.dataplane.node.plugins.module_utils._bootloader import BootLoaderError, Plan, flavour_for
from ansible_collections.dataplane.node.plugins.module_utils._module import (
    ROOT_ARG, refuse_test_root_outside_check_mode)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import (
    ArgError,
    lint,
    render,
    running_difference,
    validate,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, tokenize_cmdline
from ansible_collections.dataplane.node.plugins.module_utils._trial_boot import (
    STATE_FILE, TRIAL_ID, TrialError, parse_state, parse_systemd_analyze)


def host_limits(host):
    boot = host.boot()
    return {
        'cpus': host.cpus(),
        'numa': host.numa(),
        'hugepage_sizes_kb': host.hugepage_sizes_kb(),
        'kernel_version': boot['kernel_version'],
        'iommu_vendor': iommu_kind(host),
    }


def host_arch(host):
    """The machine the kernel runs on: /proc/sys/kernel/arch where the kernel has it, else x86_64 when
    /proc/cpuinfo names an x86 vendor; None (no size check) otherwise."""
    arch = host.fs.read_value('proc/sys/kernel/arch')
    if arch:
        return arch
    return 'x86_64' if host.cpus()['vendor'] in ('intel', 'amd') else None


def iommu_kind(host):
    """intel or amd: from the firmware's DMAR/IVRS table when there is one, else from the CPU vendor."""
    return host.iommu()['platform'] or host.cpus()['vendor']


def plan_change(params, host, run):
    """Validate and plan; raises ArgError/BootLoaderError/ParseError before anything is written."""
    spec = dict((k, params[k]) for k in ('iommu', 'hugepages', 'default_hugepagesz', 'isolated_cpus',
                                         'isolation_params', 'isolation_flags', 'args', 'absent'))
    for pool in spec['hugepages'] or []:
        if pool.get('count') is None and not pool.get('nodes'):
            raise ArgError(['hugepages entry for %s needs count or nodes' % pool['size']])
        if pool.get('count') is not None and pool['count'] < 0:
            raise ArgError(['hugepages count for %s is negative' % pool['size']])
        if pool.get('nodes'):
            try:
                pool['nodes'] = dict((int(n), int(c)) for n, c in pool['nodes'].items())
            except (TypeError, ValueError):
                raise ArgError(['hugepages nodes for %s must map node ids to counts' % pool['size']])
            if any(c < 0 for c in pool['nodes'].values()):
                raise ArgError(['hugepages counts for %s must not be negative' % pool['size']])
    present, absent = render(spec, iommu_kind(host))
    validate(present, absent, host_limits(host))
    flavour = flavour_of(params, host, run)
    plan = flavour.plan(present, absent)
    running = tokenize_cmdline(host.fs.read('proc/cmdline') or '', strict=False)
    errors, warnings = lint(plan.after, running, spec, host_arch(host), host.cpus()['online'])
    if errors and plan.changed:
        raise ArgError(errors)
    plan.warnings = errors + warnings  # a line already too long, unchanged by this request: said, not refused
    return present, absent, flavour, plan


def flavour_of(params, host, run):
    loader = params['loader'] if params['loader'] != 'auto' else host.boot()['loader']
    return flavour_for(loader, host.fs, run, host.boot()['firmware'])


def measured_boot_seconds(run):
    try:
        rc, out, _err = run(['systemd-analyze', 'time'])
    except OSError:
        return None
    return parse_systemd_analyze(out) if rc == 0 else None


def plan_trial(params, host, run, running, boot_seconds=None):
    """(present, absent, flavour, plan, trial result) for trial=stage|commit|discard.
    boot_seconds: a callable measuring the host's last boot (None for a test tree, which has no boot)."""
    mode = params['trial']
    if mode == 'discard':
        flavour = flavour_of(params, host, run)
        cleanup = flavour.trial_cleanup()
        return [], [], flavour, cleanup, {'mode': mode, 'entry': TRIAL_ID,
                                          'state': 'discarded' if cleanup.changed else 'none'}
    if mode == 'commit':
        state = parse_state(host.fs.read(STATE_FILE))
        if state is None:
            raise TrialError('no staged trial to commit (/%s is missing)' % STATE_FILE)
        present, absent = state['present'], state['absent']
        validate(present, absent, host_limits(host))
        missing, unexpected = running_difference(running, present, absent)
        if missing or unexpected:
            raise TrialError('the booted kernel lacks the staged arguments (missing: %s; unexpected: %s): the trial '
                             'did not boot, nothing committed' % (' '.join(missing) or '-', ' '.join(unexpected) or '-'))
        flavour = flavour_of(params, host, run)
        plan = flavour.plan(present, absent).then(flavour.trial_cleanup())
        return present, absent, flavour, plan, {'mode': mode, 'entry': TRIAL_ID, 'state': 'committed',
                                                'previous': state.get('previous', [])}
    # stage
    present, absent, flavour, permanent = plan_change(params, host, run)
    result = {'mode': mode, 'entry': TRIAL_ID}
    missing, unexpected = running_difference(running, present, absent)
    if not permanent.changed:
        result['state'] = 'not-needed'
        return present, absent, flavour, permanent, result
    if not (missing or unexpected):
        # Booted into the trial already (a run interrupted after the trial reboot): keep it staged for commit.
        state = parse_state(host.fs.read(STATE_FILE)) or {}
        result.update(state='booted', previous=state.get('previous', []))
        return present, absent, flavour, Plan(permanent.before, permanent.after, warnings=permanent.warnings), result
    if params['trial_timeout'] is not None and boot_seconds is not None:
        seconds = boot_seconds()
        result['boot_seconds'] = seconds
        if seconds is not None and params['trial_timeout'] < seconds:
            raise ArgError(['trial_timeout=%d s is shorter than this host\'s last boot (%.0f s by systemd-analyze '
                            'time): a healthy trial would be taken for a failure' % (params['trial_timeout'], seconds)])
    state = {'present': present, 'absent': absent, 'loader': flavour.name, 'previous': running,
             'configured_before': permanent.before}
    plan = flavour.trial_plan(present, absent, params['trial_panic'], state)
    result.update(state='staged', args=plan.after, previous=running)
    return present, absent, flavour, Plan(permanent.before, permanent.before, plan.files, plan.commands,
                                          plan.notes, plan.modes, permanent.warnings), result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            iommu=dict(type='str', choices=['on', 'passthrough', 'off']),
            hugepages=dict(type='list', elements='dict', options=dict(
                size=dict(type='str', required=True),
                count=dict(type='int'),
                nodes=dict(type='dict'),
            )),
            default_hugepagesz=dict(type='str'),
            isolated_cpus=dict(type='str'),
            isolation_params=dict(type='list', elements='str', choices=['isolcpus', 'nohz_full', 'rcu_nocbs'],
                                  default=['isolcpus', 'nohz_full', 'rcu_nocbs']),
            isolation_flags=dict(type='list', elements='str', choices=['nohz', 'domain', 'managed_irq'], default=[]),
            args=dict(type='list', elements='str', default=[]),
            absent=dict(type='list', elements='str', default=[]),
            loader=dict(type='str', default='auto', choices=['auto', 'debian-grub', 'grub2-mkconfig', 'grub2-bls']),
            trial=dict(type='str', default='off', choices=['off', 'stage', 'commit', 'discard']),
            trial_panic=dict(type='int', default=10),
            trial_timeout=dict(type='int'),
            root=ROOT_ARG,
        ),
        supports_check_mode=True,
    )
    root = refuse_test_root_outside_check_mode(module)

    def run(argv):
        return module.run_command(argv, environ_update={'LC_ALL': 'C'})

    try:
        host = Host(root)
        running = tokenize_cmdline(host.fs.read('proc/cmdline') or '', strict=False)  # as the kernel read it
        if module.params['trial'] == 'off':
            present, absent, flavour, plan = plan_change(module.params, host, run)
            trial = {'mode': 'off', 'state': 'none'}
            if flavour.trial_exists():
                plan = plan.then(flavour.trial_cleanup())
                trial.update(state='discarded', entry=TRIAL_ID)
        else:
            # Only the live host's boot time is measurable; a test tree has none.
            measure = (lambda: measured_boot_seconds(run)) if os.path.abspath(root) == '/' else None
            present, absent, flavour, plan, trial = plan_trial(module.params, host, run, running, measure)
    except ArgError as exc:
        module.fail_json(msg='invalid kernel arguments, nothing changed: %s' % exc, problems=exc.problems)
    except (BootLoaderError, HostRootError, ParseError, TrialError) as exc:
        module.fail_json(msg='%s; nothing changed' % exc)

    missing, unexpected = running_difference(running, present, absent)
    result = dict(
        changed=plan.changed,
        trial=trial,
        loader=flavour.name,
        configured=plan.after,
        wanted={'present': present, 'absent': absent},
        running=running,
        missing=missing,
        unexpected=unexpected,
        reboot_required=bool(missing or unexpected),
        files=['/' + f for f in sorted(plan.files)],
        commands=[' '.join(c) for c in plan.commands],
        notes=plan.notes,
        lint=plan.warnings,
    )
    for warning in result['lint']:
        module.warn(warning)
    if module._diff:
        # A staged trial leaves the default entry alone: show what the one-time entry boots instead.
        after, header = ((trial['args'], 'one-time boot entry %s' % TRIAL_ID) if trial.get('args')
                         else (plan.after, 'configured kernel command line'))
        result['diff'] = {'before': ' '.join(plan.before) + '\n', 'after': ' '.join(after) + '\n',
                          'before_header': 'configured kernel command line', 'after_header': header}
    if plan.changed and not module.check_mode:
        try:
            record = apply_files_then_commands(root, plan.files, plan.commands, run, plan.modes)
        except ApplyError as exc:
            result.update(changed=True, restored=exc.record['restored'])
            module.fail_json(msg=str(exc), **result)
        result['backups'] = record['backups']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
