# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""boot_applier as Ansible runs it, in check mode on a host tree: the plan, its diff, refusals."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.dataplane.node.plugins.modules import boot_applier


def test_check_mode_plans_the_install_with_a_diff(run_module, tmp_path):
    code, result = run_module(boot_applier, {'root': str(tmp_path), '_ansible_check_mode': True, '_ansible_diff': True,
                                             'state_files': {'10-hugepages.json': {'hugepages': {'pools': {}}}}})
    assert code == 0, result
    assert result['changed'] is True
    assert '/etc/systemd/system/dataplane-node.service' in result['files']
    assert '/etc/dataplane-node/state.d/10-hugepages.json' in result['files']
    assert result['commands'] == ['systemctl daemon-reload',
                                  'systemctl reenable dataplane-node.service dataplane-node-devices.service']
    shipped = [d for d in result['diff'] if d['after_header'].endswith('/module_utils/_pci.py')][0]
    with open(os.path.join(os.path.dirname(boot_applier.__file__), '..', 'module_utils', '_pci.py')) as handle:
        assert (shipped['before'], shipped['after']) == ('', handle.read())
    assert os.listdir(str(tmp_path)) == []


def test_refuses_bad_names_and_real_runs_on_a_test_root(run_module, tmp_path):
    code, result = run_module(boot_applier, {'root': str(tmp_path), '_ansible_check_mode': True,
                                             'install': False, 'state_files': {'sriov': None}})
    assert (code, result['problems']) == (1, ["state_files: 'sriov' is not a file name ending in .json"])
    code, result = run_module(boot_applier, {'root': str(tmp_path), 'install': False})
    assert code == 1 and 'check mode only' in result['msg']
