# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change engine on host trees: writes read back, waits time out, a failed step undoes the unbinds before it,
check mode runs nothing; and the eSwitch plan of devlink_eswitch run through it against a PCI PF with bound VFs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import pytest

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils import _change
from ansible_collections.dataplane.node.plugins.module_utils._change import (
    ChangeError, Check, Command, Context, HeldDrivers, SysfsWrite, WaitFor, apply_plan, run_steps)
from ansible_collections.dataplane.node.plugins.module_utils._devlink import DevlinkDevice, eswitch_steps
from ansible_collections.dataplane.node.plugins.module_utils._dpu import plan_eswitch
from ansible_collections.dataplane.node.plugins.module_utils._host import Host

PF = '0000:03:00.0'
VFS = ('0000:03:00.2', '0000:03:00.3')


def write(root, rel, text=''):
    path = os.path.join(str(root), rel)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'w') as handle:
        handle.write(text)


def read(root, rel):
    with open(os.path.join(str(root), rel)) as handle:
        return handle.read()


def run_argv(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


class Clock(object):
    """A clock the waits advance by their sleeps: a 60 s timeout costs no real time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def context(root):
    clock = Clock()
    return Context(str(root), run_argv, clock=clock, sleep=clock.sleep)


def pci_pf_with_vfs(root, driver='mlx5_core'):
    """sysfs of a Mellanox PF with two VFs bound to `driver`, linked as the kernel links them (virtfnN -> the VF,
    VF/driver -> the driver directory with its bind and unbind files)."""
    base = 'sys/bus/pci/devices/%s' % PF
    write(root, base + '/vendor', '0x15b3\n')
    write(root, base + '/sriov_numvfs', '2\n')
    write(root, base + '/sriov_totalvfs', '8\n')
    write(root, 'sys/bus/pci/drivers/%s/bind' % driver)
    write(root, 'sys/bus/pci/drivers/%s/unbind' % driver)
    for n, vf in enumerate(VFS):
        os.makedirs(os.path.join(str(root), 'sys/bus/pci/devices', vf))
        os.symlink('../../drivers/%s' % driver, os.path.join(str(root), 'sys/bus/pci/devices', vf, 'driver'))
        os.symlink('../%s' % vf, os.path.join(str(root), base, 'virtfn%d' % n))
    return str(root)


def script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(0o755)
    return str(path)


def test_a_sysfs_write_is_read_back(tmp_path):
    write(tmp_path, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', '0\n')
    record = run_steps([SysfsWrite('sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages', 512, expect='512')],
                       context(tmp_path))
    assert read(tmp_path, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages') == '512\n'
    assert record == {'done': ['/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages = 512'], 'undone': []}


def test_a_write_the_kernel_takes_but_does_not_keep_fails_loudly(tmp_path):
    # an attribute that swallows the write and reads back nothing, as a kernel that gave less does
    os.makedirs(str(tmp_path / 'sys/class/net/eth0/device'))
    os.symlink(os.devnull, str(tmp_path / 'sys/class/net/eth0/device/sriov_numvfs'))
    with pytest.raises(ChangeError, match='sriov_numvfs reads back nothing after writing 4'):
        run_steps([SysfsWrite('sys/class/net/eth0/device/sriov_numvfs', 4, expect='4')], context(tmp_path))


def test_a_missing_attribute_is_an_error_not_a_new_file(tmp_path):
    with pytest.raises(ChangeError, match='cannot open /sys/module/vfio/parameters/enable_unsafe_noiommu_mode'):
        run_steps([SysfsWrite('sys/module/vfio/parameters/enable_unsafe_noiommu_mode', 'Y')], context(tmp_path))
    assert not os.path.exists(str(tmp_path / 'sys/module'))


def test_a_command_fails_with_its_output_and_a_verify_reads_its_effect_back(tmp_path):
    failing = script(tmp_path, 'failing', 'echo "Operation not supported" >&2; exit 1\n')
    with pytest.raises(ChangeError, match=r'devlink dev eswitch set pci/x mode switchdev failed \(rc=1\): Operation not'):
        run_steps([Command([failing], label='devlink dev eswitch set pci/x mode switchdev')], context(tmp_path))
    quiet = script(tmp_path, 'quiet', 'exit 0\n')
    with pytest.raises(ChangeError, match='^eth0: reads back off$'):
        run_steps([Command([quiet], verify=lambda ctx: ['eth0: reads back off'])], context(tmp_path))


def test_a_wait_polls_until_ready_and_gives_up_at_its_timeout(tmp_path):
    ctx = context(tmp_path)
    calls = []
    run_steps([WaitFor('wait for 3 calls', lambda c: calls.append(1) or len(calls) >= 3, lambda c: 'never', 60)], ctx)
    assert len(calls) == 3 and ctx.clock() == pytest.approx(0.4)
    with pytest.raises(ChangeError, match='^2 VFs of 4 after 5s$'):
        run_steps([WaitFor('wait for 4 VFs', lambda c: False, lambda c: '2 VFs of 4 after 5s', 5)], ctx)
    assert ctx.clock() == pytest.approx(5.4, abs=0.25)


def test_a_failed_step_rebinds_the_vfs_the_unbind_took_and_says_so(tmp_path):
    root = pci_pf_with_vfs(tmp_path / 'root')
    dev = DevlinkDevice(Host(root), 'pci/' + PF)
    drivers = HeldDrivers(lambda ctx: dev.vfs())
    failing = script(tmp_path, 'devlink', 'echo "Device busy" >&2; exit 1\n')
    with pytest.raises(ChangeError) as info:
        run_steps([drivers.unbind_step(), Command([failing], label='devlink set'), drivers.rebind_step()],
                  context(root))
    assert read(root, 'sys/bus/pci/drivers/mlx5_core/unbind') == VFS[-1]  # each VF unbound...
    assert read(root, 'sys/bus/pci/drivers/mlx5_core/bind') == VFS[-1]    # ...and bound back by the undo
    assert info.value.record == {'done': ['unbind the VFs from their driver'], 'failed': 'devlink set',
                                 'undone': ['unbind the VFs from their driver']}
    assert drivers.held == []


def test_the_eswitch_plan_runs_in_order_with_the_vfs_unbound_around_the_mode_change(tmp_path):
    root = pci_pf_with_vfs(tmp_path / 'root')
    log = tmp_path / 'calls'
    devlink = script(tmp_path, 'devlink', 'echo "$@" >> %s\n' % log)
    dev = DevlinkDevice(Host(root), 'pci/' + PF)
    tagged = plan_eswitch(dev.handle, 'legacy', 'switchdev', 2, None, vendor=dev.vendor, bus=dev.bus,
                          numvfs_path=dev.numvfs_path)
    steps = eswitch_steps(dev, tagged, devlink, timeout=5)
    assert [s.describe() for s in steps] == ['unbind the VFs from their driver',
                                             'devlink dev eswitch set pci/%s mode switchdev' % PF,
                                             'bind the VFs back to their driver']
    record = run_steps(steps, context(root))
    assert log.read_text() == 'dev eswitch set pci/%s mode switchdev\n' % PF
    assert read(root, 'sys/bus/pci/drivers/mlx5_core/bind') == VFS[-1]
    assert record['done'] == [s.describe() for s in steps]


def test_a_vf_count_change_is_written_read_back_and_waited_for(tmp_path):
    root = pci_pf_with_vfs(tmp_path / 'root')
    dev = DevlinkDevice(Host(root), 'pci/' + PF)
    tagged = plan_eswitch(dev.handle, 'legacy', 'legacy', 2, 0, vendor=dev.vendor, bus=dev.bus,
                          numvfs_path=dev.numvfs_path)
    steps = eswitch_steps(dev, tagged, 'devlink', timeout=3)
    assert [s.describe() for s in steps] == ['/sys/bus/pci/devices/%s/sriov_numvfs = 0' % PF]
    run_steps(steps, context(root))
    assert read(root, dev.numvfs_path) == '0\n'
    # 4 VFs written, but the virtfn links (what the kernel made) stay at 2: the wait gives up with both counts
    grow = eswitch_steps(dev, plan_eswitch(dev.handle, 'legacy', 'legacy', 0, 4, vendor=dev.vendor, bus=dev.bus,
                                           numvfs_path=dev.numvfs_path), 'devlink', timeout=3)
    with pytest.raises(ChangeError, match='pci/%s shows 2 VFs after 3s, 4 written' % PF):
        run_steps(grow, context(root))


def run_apply(capsys, module_args, args, steps, ctx, checks=()):
    with module_args(args):
        module = AnsibleModule(argument_spec={}, supports_check_mode=True)
        with pytest.raises(SystemExit) as info:
            module.exit_json(**apply_plan(module, steps, ctx, {'device': 'x'}, {'n': 0}, {'n': 2}, checks))
    return info.value.code, json.loads(capsys.readouterr().out)


def test_check_mode_predicts_and_runs_nothing(tmp_path, capsys, with_module_args):
    write(tmp_path, 'sys/x/sriov_numvfs', '0\n')
    steps = [SysfsWrite('sys/x/sriov_numvfs', 2, expect='2'),
             WaitFor('wait for 2 VFs', lambda c: False, lambda c: 'no VFs', 1)]
    code, result = run_apply(capsys, with_module_args, {'_ansible_check_mode': True, '_ansible_diff': True}, steps,
                             context(tmp_path))
    assert code == 0 and result['changed'] is True
    assert result['steps'] == ['/sys/x/sriov_numvfs = 2', 'wait for 2 VFs']
    assert result['diff'] == {'before': {'n': 0}, 'after': {'n': 2}}
    assert read(tmp_path, 'sys/x/sriov_numvfs') == '0\n'


def test_checks_run_when_nothing_changes_and_a_failure_names_its_step(tmp_path, capsys, with_module_args):
    checks = [Check('eSwitch reads back switchdev', lambda c: ['pci/x reads back eSwitch mode legacy'])]
    code, result = run_apply(capsys, with_module_args, {}, [], context(tmp_path), checks)
    assert code == 1 and result['changed'] is False
    assert result['problems'] == ['pci/x reads back eSwitch mode legacy']
    assert result['failed_step'] == 'eSwitch reads back switchdev' and result['undone'] == []
    assert 'diff' not in result


def test_only_waits_and_checks_are_no_change():
    assert [cls.changes for cls in (SysfsWrite, Command, WaitFor, Check)] == [True, True, False, False]
    assert _change.Step.changes is True


def test_pci_driver_steps_put_the_modprobe_conf_back_when_the_binding_does_not_take(tmp_path):
    # A fixture tree has no kernel behind drivers_probe: the device stays on igbvf, so the read-back must fail, and
    # the modprobe.d file written before it must be undone (removed: it did not exist).
    from ansible_collections.dataplane.node.plugins.modules import pci_driver
    from ansible_collections.dataplane.node.plugins.module_utils._pci import (
        UNSAFE_INTERRUPTS_CONF, bound_check, plan_bind)
    root = tmp_path / 'root'
    vf = '0000:00:13.0'
    write(root, 'sys/bus/pci/devices/%s/driver_override' % vf, '(null)\n')
    write(root, 'sys/bus/pci/drivers/igbvf/unbind')
    write(root, 'sys/bus/pci/drivers/vfio-pci/bind')
    write(root, 'sys/bus/pci/drivers_probe')
    os.symlink('../../drivers/igbvf', str(root / 'sys/bus/pci/devices' / vf / 'driver'))
    host = Host(str(root))
    writes = plan_bind(host, vf, 'vfio-pci')
    unsafe = {'needed': True, 'runtime': False, 'conf': True, 'warning': None}
    steps = pci_driver.plan_steps(host, 'vfio-pci', writes, unsafe, noiommu=False)
    assert [s.describe() for s in steps if s.listed] == [
        '/%s (options vfio_iommu_type1 allow_unsafe_interrupts=1)' % UNSAFE_INTERRUPTS_CONF,
        '/sys/bus/pci/devices/%s/driver_override = vfio-pci' % vf,
        '/sys/bus/pci/devices/%s/driver/unbind = %s' % (vf, vf),
        '/sys/bus/pci/drivers_probe = %s' % vf]
    with pytest.raises(ChangeError, match='binding did not take: %s is on igbvf, not vfio-pci' % vf) as info:
        run_steps(steps + [bound_check(lambda a: Host(str(root)).fs.link_name('sys/bus/pci/devices/%s/driver' % a),
                                       [vf], 'vfio-pci')], context(root))
    assert read(root, 'sys/bus/pci/devices/%s/driver_override' % vf) == 'vfio-pci\n'
    assert read(root, 'sys/bus/pci/drivers/igbvf/unbind') == vf + '\n'
    assert not os.path.exists(str(root / UNSAFE_INTERRUPTS_CONF))
    assert info.value.record['failed'] == 'the devices read back on vfio-pci'
    assert info.value.record['undone'] == [steps[0].describe()]


def test_a_rewritten_file_is_backed_up_and_put_back_by_the_undo(tmp_path):
    write(tmp_path, 'etc/modprobe.d/dataplane-node-vfio.conf', 'options old\n')
    failing = script(tmp_path, 'false', 'exit 1\n')
    step = _change.FileWrite('etc/modprobe.d/dataplane-node-vfio.conf', 'options new\n')
    with pytest.raises(ChangeError):
        run_steps([step, Command([failing], label='the next step')], context(tmp_path))
    assert read(tmp_path, 'etc/modprobe.d/dataplane-node-vfio.conf') == 'options old\n'
    assert read(tmp_path, step.backup[len(str(tmp_path)) + 1:]) == 'options old\n'
