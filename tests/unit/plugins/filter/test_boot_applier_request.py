# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.filter.boot_applier_request import boot_applier_request


def test_roles_requests_merge_into_one_call():
    run = boot_applier_request(None, install=True, before_units=['kubelet.service'],
                               state_files={'10-hugepages.json': {'hugepages': {'pools': {}}}})
    run = boot_applier_request(run, install=False, before_units=['kubelet.service'],
                               state_files={'20-sriov.json': None}, modules_load={'dataplane-node-vfio.conf': []})
    assert run == {'install': True, 'before_units': ['kubelet.service'],
                   'state_files': {'10-hugepages.json': {'hugepages': {'pools': {}}}, '20-sriov.json': None},
                   'modules_load': {'dataplane-node-vfio.conf': []}}


@pytest.mark.parametrize('current, kwargs, words', [
    ('x', {}, 'merged request'),
    (None, {'before_units': 'kubelet.service'}, 'before_units'),
    (None, {'state_files': ['10-hugepages.json']}, 'state_files must be a dict'),
    (None, {'modules_load': 'vfio-pci'}, 'modules_load must be a dict'),
])
def test_bad_input_is_refused(current, kwargs, words):
    with pytest.raises(AnsibleFilterError, match=words):
        boot_applier_request(current, **kwargs)
