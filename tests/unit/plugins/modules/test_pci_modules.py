# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sriov_vfs and pci_driver as Ansible runs them, in check mode on the captured QEMU guest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import os

from ansible_collections.dataplane.node.plugins.filter.sriov import sriov_vfio_selection
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._pci import predict_vfs, vf_address
from ansible_collections.dataplane.node.plugins.modules import pci_driver, sriov_vfs

MGMT_REFUSAL = ('0000:00:02.0 carries the management connection [0000:00:02.0 (enp0s2: default route)]: moving it '
                'to vfio-pci would cut it (set allow_management to do it anyway)')


def test_sriov_vfs_check_mode(run_module, host_root):
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          '_ansible_diff': True, 'netdev': 'enp0s3', 'numvfs': 4})
    assert code == 0, result
    assert (result['changed'], result['pf']) == (True, '0000:00:03.0')
    assert result['writes'] == ['/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 0',
                                '/sys/bus/pci/devices/0000:00:03.0/sriov_numvfs = 4']
    assert result['diff'] == {'before': {'numvfs': 3, 'drivers_autoprobe': True},
                              'after': {'numvfs': 4, 'drivers_autoprobe': True}}


def test_sriov_vfs_refuses_too_many_and_no_sriov(run_module, host_root):
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          'pf': '0000:00:03.0', 'numvfs': 9})
    assert (code, result['problems']) == (1, ['0000:00:03.0 supports 0 to 7 VFs, 9 asked'])
    code, result = run_module(sriov_vfs, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                          'pf': '0000:00:04.0', 'numvfs': 1})
    assert (code, result['problems']) == (1, ['0000:00:04.0 (e1000e) has no SR-IOV capability'])


def test_pci_driver_check_mode(run_module, host_root):
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vfs_of': '0000:00:03.0', 'vf_indexes': [0, 1], 'driver': 'vfio-pci',
                                           'expect': 2})
    assert code == 0, result
    assert result['devices'] == {'0000:00:13.0': {'before': 'igbvf', 'after': 'vfio-pci'},
                                 '0000:00:13.2': {'before': 'igbvf', 'after': 'vfio-pci'}}
    assert len(result['writes']) == 6 and result['noiommu'] is False


def test_pci_driver_refuses_management_nic_and_surprises(run_module, host_root):
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vendor_device': '1af4:1000', 'driver': 'vfio-pci'})
    assert code == 1
    assert result['problems'] == [MGMT_REFUSAL]
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vendor_device': '8086:10ca', 'driver': 'vfio-pci', 'expect': 2})
    assert code == 1
    assert result['msg'] == ('nothing changed: 3 device(s) selected (0000:00:13.0, 0000:00:13.2, 0000:00:13.4), '
                             '2 expected')
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'devices': ['0000:00:04.0'], 'driver': 'vfio;rm'})
    assert (code, result['problems']) == (1, ["driver name 'vfio;rm' is not a driver name"])


def fresh_node(tmp_path, host_root):
    """The captured QEMU guest as a fresh node: the igb PF with no VFs yet, its SR-IOV offset and stride filled in
    from the captured VF links (the kernel placed virtfn0..2 at 00:13.0, 00:13.2, 00:13.4 behind the PF 00:03.0:
    routing IDs 0x98, 0x9a, 0x9c from 0x18, so offset 128 and stride 2). Returns (root, captured VF addresses)."""
    import shutil

    root = str(tmp_path / 'fresh')
    shutil.copytree(host_root('qemu-igb'), root, symlinks=True)
    pf_dir = os.path.join(root, 'sys/devices/pci0000:00/0000:00:03.0')
    captured = [os.path.basename(os.readlink(os.path.join(pf_dir, 'virtfn%d' % i))) for i in range(3)]
    for i in range(3):
        os.unlink(os.path.join(pf_dir, 'virtfn%d' % i))
    for name, value in (('sriov_numvfs', '0'), ('sriov_offset', '128'), ('sriov_stride', '2')):
        with open(os.path.join(pf_dir, name), 'w') as handle:
            handle.write(value + '\n')
    return root, captured


def test_vf_addresses_follow_offset_and_stride(tmp_path, host_root):
    root, captured = fresh_node(tmp_path, host_root)
    host = Host(root)
    assert predict_vfs(host, host.pci()['devices']['0000:00:03.0'], 3) == dict(enumerate(captured))
    # Past the slot's eight functions the device number goes up; past devfn ff, the bus.
    assert vf_address('0000:3b:00.0', 16, 1, 7) == '0000:3b:02.7'
    assert vf_address('0000:3b:00.0', 16, 1, 8) == '0000:3b:03.0'
    assert vf_address('0000:3b:1f.7', 1, 1, 0) == '0000:3c:00.0'


def test_pci_driver_check_mode_predicts_the_vfs_of_a_fresh_node(run_module, tmp_path, host_root):
    """sriov role --check on a fresh node: sriov_vfs plans 4 VFs, pci_driver predicts the bindings of VFs 0 and 1."""
    root, captured = fresh_node(tmp_path, host_root)
    code, result = run_module(sriov_vfs, {'root': root, '_ansible_check_mode': True, 'netdev': 'enp0s3', 'numvfs': 4})
    assert code == 0 and result['vfs'] == [] and result['changed'] is True
    selection = sriov_vfio_selection(dict(result, item={'vfio_vfs': [1, 0]}))
    code, result = run_module(pci_driver, dict(selection, root=root, _ansible_check_mode=True, _ansible_diff=True,
                                               driver='vfio-pci'))
    assert code == 0, result
    assert result['changed'] is True and result['predicted'] == captured[:2]
    assert result['devices'] == dict((a, {'before': '(not created yet)', 'after': 'vfio-pci'}) for a in captured[:2])
    assert result['writes'] == [
        '/sys/bus/pci/devices/0000:00:13.0/driver_override = vfio-pci',
        '/sys/bus/pci/devices/0000:00:13.0/driver/unbind = 0000:00:13.0',
        '/sys/bus/pci/drivers_probe = 0000:00:13.0',
        '/sys/bus/pci/devices/0000:00:13.2/driver_override = vfio-pci',
        '/sys/bus/pci/devices/0000:00:13.2/driver/unbind = 0000:00:13.2',
        '/sys/bus/pci/drivers_probe = 0000:00:13.2']
    assert result['diff']['after'] == {captured[0]: 'vfio-pci', captured[1]: 'vfio-pci'}


def test_pci_driver_check_mode_predicts_re_created_vfs(run_module, host_root):
    """3 VFs now, 4 planned: sriov_vfs destroys and re-creates them all, so VF 0 needs binding again."""
    code, result = run_module(pci_driver, {'root': host_root('qemu-igb'), '_ansible_check_mode': True,
                                           'vfs_of': '0000:00:03.0', 'vf_indexes': [0], 'vfs_planned': 3,
                                           'driver': 'vfio-pci'})
    assert code == 0 and result['predicted'] == []   # as many as planned: the VFs that exist are the ones bound
    assert result['devices'] == {'0000:00:13.0': {'before': 'igbvf', 'after': 'vfio-pci'}}


def test_pci_driver_prediction_refusals(run_module, tmp_path, host_root):
    root, _captured = fresh_node(tmp_path, host_root)
    args = {'root': root, '_ansible_check_mode': True, 'vfs_of': '0000:00:03.0', 'driver': 'vfio-pci'}
    code, result = run_module(pci_driver, dict(args, vf_indexes=[0, 4], vfs_planned=4))
    assert (code, result['problems']) == (1, ['0000:00:03.0 will have 4 VFs: no VF index 4'])
    code, result = run_module(pci_driver, dict(args, vf_indexes=[0, 1], vfs_planned=4, expect=3))
    assert (code, result['msg']) == (1, 'nothing changed: 2 device(s) selected (0000:00:13.0, 0000:00:13.2), '
                                        '3 expected')
    # The captured tree has empty offset/stride files: no guessing.
    code, result = run_module(pci_driver, dict(args, root=host_root('qemu-igb'), vf_indexes=[0], vfs_planned=4))
    assert code == 1
    assert result['problems'] == ['0000:00:03.0: sysfs has no usable sriov_offset/sriov_stride (None/None): cannot '
                                  'tell the addresses of VFs it has not created yet']


def test_pci_driver_several_bindings_in_one_call(run_module, tmp_path, host_root):
    """The sriov role's one call: predicted VFs of the fresh PF and the spare e1000e together, results per binding."""
    root, captured = fresh_node(tmp_path, host_root)
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [{'vfs_of': '0000:00:03.0', 'vf_indexes': [0, 1],
                                                         'vfs_planned': 4, 'expect': 2},
                                                        {'devices': ['0000:00:04.0'], 'expect': 1}]})
    assert code == 0, result
    assert result['changed'] is True and result['predicted'] == captured[:2]
    assert [(b['selection'], sorted(b['devices']), b['predicted']) for b in result['bindings']] == [
        ('0000:00:03.0', captured[:2], captured[:2]), ('0000:00:04.0', ['0000:00:04.0'], [])]
    assert result['bindings'][1]['devices'] == {'0000:00:04.0': {'before': 'e1000e', 'after': 'vfio-pci'}}
    assert len(result['writes']) == 9


def test_pci_driver_bindings_name_every_bad_selection_and_guard_all_devices(run_module, host_root):
    root = host_root('qemu-igb')
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [{'vfs_of': '0000:00:03.0', 'vf_indexes': [0], 'expect': 2},
                                                        {'devices': ['0000:00:04.0'], 'expect': 1},
                                                        {'vendor_device': 'dead:beef'}]})
    assert code == 1
    assert result['problems'] == ['binding 1 (0000:00:03.0): 1 device(s) selected (0000:00:13.0), 2 expected',
                                  'binding 3 (dead:beef): the selectors match no device']
    # One selection is fine, the other one is the management NIC: the call writes nothing.
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [{'devices': ['0000:00:04.0']},
                                                        {'vendor_device': '1af4:1000'}]})
    assert code == 1
    assert result['problems'] == [MGMT_REFUSAL]
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [], })
    assert (code, result['changed'], result['bindings']) == (0, False, [])
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [{'devices': ['0000:00:04.0']}], 'vfs_of': '0000:00:03.0'})
    assert code == 1 and 'mutually exclusive' in result['msg']


def test_pci_driver_bindings_already_in_place(run_module, tmp_path, host_root):
    """The spare e1000e already on vfio-pci with its override (a converged node): no write, before = after."""
    import shutil

    root = str(tmp_path / 'bound')
    shutil.copytree(host_root('qemu-igb'), root, symlinks=True)
    dev = os.path.join(root, 'sys/devices/pci0000:00/0000:00:04.0')
    os.makedirs(os.path.join(root, 'sys/bus/pci/drivers/vfio-pci'), exist_ok=True)
    os.unlink(os.path.join(dev, 'driver'))
    os.symlink(os.path.relpath(os.path.join(root, 'sys/bus/pci/drivers/vfio-pci'), dev), os.path.join(dev, 'driver'))
    with open(os.path.join(dev, 'driver_override'), 'w') as handle:
        handle.write('vfio-pci\n')
    code, result = run_module(pci_driver, {'root': root, '_ansible_check_mode': True, 'driver': 'vfio-pci',
                                           'bindings': [{'devices': ['0000:00:04.0'], 'expect': 1}]})
    assert (code, result['changed'], result['writes']) == (0, False, [])
    assert result['bindings'] == [{'selection': '0000:00:04.0', 'predicted': [],
                                   'devices': {'0000:00:04.0': {'before': 'vfio-pci', 'after': 'vfio-pci'}}}]
