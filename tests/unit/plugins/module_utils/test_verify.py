# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Post-boot verification on captured hosts: the QEMU guest's kernel really put node 0's 1G page on node 1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.filter.cmdline_difference import boot_problems, cmdline_difference
from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host

# What the capture's boot asked for (tests/fixtures/hosts/qemu-igb.tree, 3 GiB per node, nokaslr).
ASKED = ['intel_iommu=on', 'iommu=pt', 'default_hugepagesz=2M', 'hugepagesz=1G', 'hugepages=0:1,1:1', 'nokaslr']


def test_qemu_guest_misplaced_pages_are_reported(host_root):
    facts = gather(Host(host_root('qemu-igb')), SUBSETS)
    assert facts['hugepages']['pools']['1G']['nodes'] == {'0': {'nr': 0, 'free': 0, 'surplus': 0},
                                                          '1': {'nr': 2, 'free': 2, 'surplus': 0}}
    assert boot_problems(facts, {'present': ASKED, 'absent': []}) == [
        "1G pages per node differ from the command line: node0 asked 1 got 0, node1 asked 1 got 2 (the kernel may "
        "place a node's pages on another node, or fewer when memory is fragmented)"]


def test_qemu_guest_iommu_and_cmdline_pass(host_root):
    facts = gather(Host(host_root('qemu-igb')), SUBSETS)
    assert facts['iommu']['enabled'] and facts['iommu']['passthrough']
    assert boot_problems(facts, {'present': ASKED[:2] + ['nokaslr'], 'absent': ['quiet']}) == []
    assert cmdline_difference(facts['cmdline']['raw'], {'present': ASKED, 'absent': []}) == {
        'missing': [], 'unexpected': []}


def test_missing_tokens_and_iommu_off(host_root):
    facts = gather(Host(host_root('devbox')), SUBSETS)
    assert boot_problems(facts, {'present': ['intel_iommu=on'], 'absent': ['quiet']}) == [
        'booted without intel_iommu=on', 'booted with quiet, asked to be absent']
    raw = facts['cmdline']['raw']
    # After `--` (this capture has one) the token went to init: the kernel did not get it.
    facts['cmdline']['raw'] = raw + ' intel_iommu=on'
    assert boot_problems(facts, {'present': ['intel_iommu=on'], 'absent': []}) == ['booted without intel_iommu=on']
    facts['cmdline']['raw'] = raw.replace(' -- ', ' intel_iommu=on -- ', 1)
    assert boot_problems(facts, {'present': ['intel_iommu=on'], 'absent': []}) == [
        'IOMMU asked for (intel_iommu=on) but not enabled after boot: %s (ACPI tables: no DMAR/IVRS; units: none)'
        % facts['iommu']['reason']]


def test_short_total_and_default_size(host_root):
    facts = gather(Host(host_root('server2s')), SUBSETS)
    facts['cmdline']['raw'] = 'default_hugepagesz=2M hugepagesz=1G hugepages=32'
    assert boot_problems(facts, {'present': ['default_hugepagesz=2M', 'hugepagesz=1G', 'hugepages=32'],
                                 'absent': []}) == ['default hugepage size is 1G, asked 2M', '1G pages: asked 32 got 16']


# ---------------------------------------------------------------- by effect, not by text (issue #26)

ISOLATION = ['isolcpus=managed_irq,domain,2-15,18-31', 'nohz_full=2-15,18-31', 'rcu_nocbs=2-15,18-31']


def test_isolation_is_read_back_from_the_kernels_files(host_root):
    # server2s booted with isolcpus/nohz_full/rcu_nocbs: the kernel isolated the CPUs, but its nohz_full file is
    # "(null)": the tick was not stopped anywhere. The tokens are all there; the check must still fail.
    facts = gather(Host(host_root('server2s')), ['cmdline', 'iommu', 'hugepages'])
    assert facts['cmdline']['effect']['isolated'] == list(range(2, 16)) + list(range(18, 32))
    assert facts['cmdline']['effect']['nohz_full'] == []
    assert boot_problems(facts, {'present': ISOLATION, 'absent': []}) == [
        "nohz_full=2-15,18-31 booted but /sys/devices/system/cpu/nohz_full is ''"]
    assert boot_problems(facts, {'present': ISOLATION[:1] + ISOLATION[2:], 'absent': []}) == []
    facts['cmdline']['effect']['isolated'] = []
    assert boot_problems(facts, {'present': ISOLATION[:1], 'absent': []}) == [
        "isolcpus=managed_irq,domain,2-15,18-31 booted but /sys/devices/system/cpu/isolated is '': the kernel did not "
        "isolate 2-15,18-31"]
    # managed_irq alone leaves the scheduler domains (and the isolated file) alone: nothing to compare there.
    facts['cmdline']['raw'] = facts['cmdline']['raw'].replace('managed_irq,domain,', 'managed_irq,')
    assert boot_problems(facts, {'present': ['isolcpus=managed_irq,2-15,18-31'], 'absent': []}) == []


def test_nohz_full_on_a_kernel_without_it(host_root):
    facts = gather(Host(host_root('server2s')), ['cmdline', 'iommu', 'hugepages'])
    facts['cmdline']['effect']['nohz_full'] = None
    assert boot_problems(facts, {'present': ISOLATION[1:2], 'absent': []}) == [
        'nohz_full=2-15,18-31 booted but /sys/devices/system/cpu/nohz_full is missing: this kernel has no '
        'CONFIG_NO_HZ_FULL and ignores it']


def test_passthrough_is_read_from_the_group_types(host_root):
    facts = gather(Host(host_root('qemu-igb')), SUBSETS)
    assert facts['iommu']['group_types'] == ['identity']
    assert boot_problems(facts, {'present': ['intel_iommu=on', 'iommu=pt'], 'absent': []}) == []
    # iommu=pt on the line but translated groups (a kernel that ignored it): the text alone would pass.
    facts['iommu']['group_types'] = ['DMA-FQ', 'identity']
    assert boot_problems(facts, {'present': ['intel_iommu=on', 'iommu=pt'], 'absent': []}) == [
        'iommu=pt booted but the IOMMU groups are not in passthrough: their type is DMA-FQ, identity, not identity']


def test_effect_facts_come_from_sysfs_and_meminfo(host_root):
    effect = Host(host_root('qemu-igb')).cmdline()['effect']
    assert effect['default_hugepage_kb'] == 2048
    assert set(effect) == {'isolated', 'nohz_full', 'default_hugepage_kb'}


def test_facts_name_kernel_arguments_that_went_to_init(tmp_path):
    # The booted line, as a tree: the fact keeps init's part apart and says what went there by mistake.
    (tmp_path / 'proc').mkdir()
    (tmp_path / 'proc' / 'cmdline').write_text(
        'BOOT_IMAGE=/vmlinuz ro console=ttyS0 "dyndbg=module igb +p" -- dataplane_initarg intel_iommu=on iommu=pt '
        'isolcpus=1\n')
    facts = gather(Host(str(tmp_path)), ['cmdline'])
    assert facts['cmdline']['init_args'] == ['dataplane_initarg', 'intel_iommu=on', 'iommu=pt', 'isolcpus=1']
    assert facts['cmdline']['params']['dyndbg'] == ['module igb +p']
    assert 'isolcpus' not in facts['cmdline']['params']
    assert facts['cmdline']['effect'] == {'isolated': None, 'nohz_full': None, 'default_hugepage_kb': None}
    assert facts['summary'] == ['kernel arguments after `--` went to init, not the kernel: intel_iommu=on iommu=pt '
                                'isolcpus=1']
