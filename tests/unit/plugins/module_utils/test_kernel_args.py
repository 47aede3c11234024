# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering, validation and whole-token editing of kernel arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import (
    ArgError, boot_line_length, edit, lint, render, render_hugepages, running_difference, validate)
from ansible_collections.dataplane.node.plugins.modules.kernel_cmdline import host_limits


@pytest.fixture(scope='module')
def server(host_root):
    """2 nodes of 62.5 GiB, 32 CPUs, 2M and 1G pages, Linux 5.14 (RHEL 9)."""
    return host_limits(Host(host_root('server2s')))


@pytest.fixture(scope='module')
def amd(host_root):
    """2 nodes of 31 GiB, 16 CPUs, Linux 6.8."""
    return host_limits(Host(host_root('amd-epyc')))


# ---------------------------------------------------------------- render

def test_render_intel_passthrough_hugepages_isolation():
    present, absent = render({'iommu': 'passthrough', 'default_hugepagesz': '1G',
                              'hugepages': [{'size': '1G', 'nodes': {1: 4, 0: 2}}, {'size': '2048kB', 'count': 512}],
                              'isolated_cpus': '3,2,4-7', 'isolation_flags': ['managed_irq', 'domain'],
                              'args': ['nosoftlockup'], 'absent': ['quiet']}, 'intel')
    assert present == ['intel_iommu=on', 'iommu=pt', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:2,1:4',
                       'hugepagesz=2M', 'hugepages=512', 'isolcpus=managed_irq,domain,2-7', 'nohz_full=2-7',
                       'rcu_nocbs=2-7', 'nosoftlockup']
    assert absent == ['quiet']


@pytest.mark.parametrize('mode, present, absent', [
    ('on', [], ['amd_iommu=off', 'iommu=pt']),
    ('passthrough', ['iommu=pt'], ['amd_iommu=off']),
    ('off', ['amd_iommu=off'], ['iommu=pt']),
])
def test_render_amd_has_no_amd_iommu_on(mode, present, absent):
    assert render({'iommu': mode}, 'amd') == (present, absent)


def test_render_removals():
    assert render({'hugepages': [], 'isolated_cpus': '', 'isolation_params': ['isolcpus']}, 'intel') == (
        [], ['default_hugepagesz', 'hugepagesz', 'hugepages', 'isolcpus'])
    assert render({}, 'intel') == ([], [])


def test_render_hugepages_order():
    assert render_hugepages([{'size': '2M', 'count': 64}], '2M') == [
        'default_hugepagesz=2M', 'hugepagesz=2M', 'hugepages=64']


# ---------------------------------------------------------------- validate

@pytest.mark.parametrize('token', ['a b', 'x=$(reboot)', 'x=`id`', 'x=1;reboot', '"quoted"', 'x=a|b', '', 'x=\n',
                                   '-flag', 'x=a b'])
def test_validate_refuses_unsafe_tokens(token):
    with pytest.raises(ArgError, match='unsafe or malformed'):
        validate([token], [])


def test_validate_conflicts():
    with pytest.raises(ArgError) as err:
        validate(['iommu=pt', 'iommu=nopt', 'quiet'], ['quiet', 'iommu=pt'])
    assert err.value.problems == ['conflicting values for iommu: iommu=pt and iommu=nopt',
                                  'quiet is asked to be both present and absent',
                                  'iommu=pt is asked to be both present and absent']


def test_validate_good_request_passes(server):
    validate(['intel_iommu=on', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:8,1:8',
              'isolcpus=managed_irq,2-15', 'nohz_full=2-15'], [], None)
    validate(['hugepagesz=1G', 'hugepages=16', 'isolcpus=2-15'], [], server)


def test_validate_hugepages_against_host(server):
    with pytest.raises(ArgError) as err:
        validate(['hugepagesz=16G', 'hugepages=1', 'hugepagesz=1G', 'hugepages=0:2,2:1'], [], server)
    assert err.value.problems == [
        'hugepage size 16G is not supported by this host (supported: 2M, 1G)',
        'per-node hugepages=0:2,2:1 needs Linux 5.16 or later (this kernel: 5.14); use the hugepages role for '
        'per-node runtime pools',
        'hugepages for NUMA node 2, which does not exist (nodes: 0, 1); the kernel would ignore the whole parameter',
    ]


def test_validate_hugepages_memory(amd):
    with pytest.raises(ArgError) as err:
        validate(['hugepagesz=1G', 'hugepages=0:30,1:1'], [], amd)
    assert err.value.problems == ['boot hugepages on node 0 need 30.0 GiB but the node has 31.2 GiB: more than 90% of it']
    with pytest.raises(ArgError) as err:
        validate(['hugepagesz=1G', 'hugepages=60'], [], amd)
    assert err.value.problems == ['boot hugepages need 60.0 GiB but the host has 62.5 GiB: more than 90% of it']


def test_validate_1g_without_pdpe1gb():
    host = {'hugepage_sizes_kb': [2048], 'numa': {'nodes': {}}, 'cpus': {}, 'kernel_version': [6, 1, 0]}
    with pytest.raises(ArgError, match=r'1G is not supported by this host \(supported: 2M\) \(1G pages need the '
                                       r'pdpe1gb CPU flag\)'):
        validate(['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=2'], [], host)


def test_validate_hugepages_shape():
    with pytest.raises(ArgError) as err:
        validate(['hugepages=4', 'hugepagesz=2M', 'hugepages=1', 'hugepagesz=2M', 'hugepages=2'], [])
    assert err.value.problems == ['hugepages= must follow a hugepagesz= (the kernel would apply it to the default size)',
                                  'each hugepagesz= may appear once']


def test_validate_isolated_cpus(server):
    with pytest.raises(ArgError) as err:
        validate(['isolcpus=domain,30-40', 'nohz_full=0-31', 'rcu_nocbs=bogus', 'isolcpus=fancy,1'], [], server)
    assert err.value.problems == [
        'conflicting values for isolcpus: isolcpus=domain,30-40 and isolcpus=fancy,1',
        'isolcpus names CPUs that do not exist: 32-40 (online: 0-31)',
        'nohz_full would isolate every CPU (0-31): leave at least one for the system',
        "rcu_nocbs: bad element 'bogus' in cpulist 'bogus'",
        'unknown isolcpus flag(s) fancy',
    ]


# ---------------------------------------------------------------- edit

CURRENT = ['BOOT_IMAGE=/vmlinuz', 'root=LABEL=root', 'ro', 'quiet', 'hugepages=8', 'console=ttyS0', 'iommu=nopt']


def test_edit_replaces_in_place_and_appends():
    assert edit(CURRENT, ['iommu=pt', 'intel_iommu=on'], []) == [
        'BOOT_IMAGE=/vmlinuz', 'root=LABEL=root', 'ro', 'quiet', 'hugepages=8', 'console=ttyS0', 'iommu=pt',
        'intel_iommu=on']


def test_edit_hugepage_block_replaces_old_block_in_order():
    assert edit(CURRENT, ['hugepagesz=1G', 'hugepages=16'], []) == [
        'BOOT_IMAGE=/vmlinuz', 'root=LABEL=root', 'ro', 'quiet', 'hugepagesz=1G', 'hugepages=16', 'console=ttyS0',
        'iommu=nopt']


def test_edit_absent_key_and_token():
    assert edit(CURRENT + ['console=tty0'], [], ['console', 'ro=1', 'quiet']) == [
        'BOOT_IMAGE=/vmlinuz', 'root=LABEL=root', 'ro', 'hugepages=8', 'iommu=nopt']
    assert edit(CURRENT, [], ['hugepages=8', 'iommu=pt']) == [
        'BOOT_IMAGE=/vmlinuz', 'root=LABEL=root', 'ro', 'quiet', 'console=ttyS0', 'iommu=nopt']


def test_edit_dash_and_underscore_are_one_key():
    assert edit(['intel-iommu=off'], ['intel_iommu=on'], []) == ['intel_iommu=on']


def test_edit_is_idempotent():
    present = ['intel_iommu=on', 'iommu=pt', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:2,1:2', 'quiet']
    once = edit(CURRENT, present, ['console'])
    assert edit(once, present, ['console']) == once


def test_running_difference():
    running = ['root=LABEL=root', 'intel_iommu=on', 'hugepagesz=1G', 'hugepages=2', 'quiet']
    assert running_difference(running, ['intel_iommu=on', 'iommu=pt'], ['quiet']) == (['iommu=pt'], ['quiet'])
    assert running_difference(running, ['hugepagesz=1G', 'hugepages=4'], []) == (
        ['hugepagesz=1G', 'hugepages=4'], ['hugepages=2'])
    assert running_difference(running, ['intel_iommu=on', 'hugepagesz=1G', 'hugepages=2'], ['iommu=pt']) == ([], [])


# ---------------------------------------------------------------- the `--` boundary and the user's tokens (issue #26)

USER = ['BOOT_IMAGE=/vmlinuz', 'ro', 'console=tty0', 'dyndbg="module igb +p"', 'console=ttyS0,115200', 'hugepagesz=1G',
        'hugepages=1:1', '--', 'dataplane_initarg']


def test_edit_puts_new_arguments_before_the_separator_and_never_touches_init():
    after = edit(USER, ['intel_iommu=on', 'iommu=pt', 'isolcpus=1'], [])
    assert after == USER[:7] + ['intel_iommu=on', 'iommu=pt', 'isolcpus=1', '--', 'dataplane_initarg']
    # An init argument with a managed key is init's: neither replaced nor removed.
    line = ['quiet', '--', 'iommu=off', 'quiet']
    assert edit(line, ['iommu=pt'], ['quiet']) == ['iommu=pt', '--', 'iommu=off', 'quiet']
    assert edit(after, ['intel_iommu=on', 'iommu=pt', 'isolcpus=1'], []) == after


def test_running_difference_does_not_count_init_arguments():
    # The booted line: the new arguments went to init, and the run called itself converged.
    booted = ('BOOT_IMAGE=/vmlinuz ro console=ttyS0 hugepagesz=1G hugepages=1:1 -- dataplane_initarg intel_iommu=on '
              'iommu=pt isolcpus=1').split()
    assert running_difference(booted, ['intel_iommu=on', 'iommu=pt', 'isolcpus=1'], ['quiet']) == (
        ['intel_iommu=on', 'iommu=pt', 'isolcpus=1'], [])
    assert running_difference(booted, [], ['dataplane_initarg']) == ([], [])


def test_validate_refuses_the_other_vendors_iommu_argument(server, amd):
    with pytest.raises(ArgError) as err:
        validate(['amd_iommu=on'], [], dict(server, iommu_vendor='intel'))
    assert err.value.problems == ['amd_iommu=on is for AMD IOMMUs but this node has an Intel one (from its DMAR/IVRS '
                                  'table or CPU vendor): the kernel would ignore it']
    with pytest.raises(ArgError):
        validate(['intel_iommu=on'], [], amd)
    validate(['amd_iommu=force_isolation'], [], amd)


def test_lint_measures_the_line_the_kernel_gets():
    running = ['BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64', 'root=UUID=9b28b58f', 'ro', 'quiet']
    after = ['quiet', 'dyndbg="module igb +p"']
    booted = 'BOOT_IMAGE=/boot/vmlinuz-6.1.0-57-amd64 root=UUID=9b28b58f ro quiet "dyndbg=module igb +p"'
    assert boot_line_length(after, running) == len(booted) == 90
    filler = ['x%d=%s' % (i, 'y' * 60) for i in range(32)]
    long_line = after + filler
    errors, _warnings = lint(long_line, running, {}, 'x86_64')
    assert len(' '.join([booted] + filler)) == 2160
    assert errors == ['the kernel command line would be 2160 bytes, more than the 2047 this x86_64 kernel keeps '
                      '(COMMAND_LINE_SIZE 2048): it would drop the end silently']
    assert lint(long_line, running, {}, 's390x') == ([], [])  # not known here: not checked
    assert lint(long_line[:20], running, {}, 'x86_64') == ([], [])


def test_lint_warns_about_isolation_without_its_partners():
    spec = {'isolated_cpus': '2-3'}
    _errors, warnings = lint(['isolcpus=2-3'], [], spec, 'x86_64', online=[0, 1, 2, 3])
    assert warnings == [
        'isolcpus=2-3 without nohz_full=2-3: the scheduler tick still interrupts them',
        'isolcpus=2-3 without rcu_nocbs=2-3: RCU callbacks still run on them',
        'isolcpus=2-3 without irqaffinity=: device interrupts may still be routed to the isolated CPUs; '
        'irqaffinity=0-1 keeps them on the others']
    complete = ['isolcpus=2-3', 'nohz_full=2-3', 'rcu_nocbs=2,3', 'irqaffinity=0-1']
    assert lint(complete, [], spec, 'x86_64', online=[0, 1, 2, 3]) == ([], [])
    assert lint(['isolcpus=2-3'], [], {}, 'x86_64') == ([], [])  # isolation not asked by this request
