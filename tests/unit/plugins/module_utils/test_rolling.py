# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._rolling import (
    batches, default_serial, may_disrupt, plan_line, rounds)


@pytest.mark.parametrize('serial,count,expected', [
    (1, 3, [1, 1, 1]), ('100%', 5, [5]), ('20%', 10, [2, 2, 2, 2, 2]), ('20%', 3, [1, 1, 1]),
    ('2', 5, [2, 2, 1]), ([1, '50%'], 5, [1, 2, 2]), (1, 0, []),
])
def test_batches_as_ansible_forms_them(serial, count, expected):
    assert batches(serial, count) == expected


def test_default_serial():
    assert default_serial([], {'w1': {}, 'w2': {'hugepages_pools': []}}) == '100%'
    assert default_serial(['w1'], {'w1': {}, 'w2': {}}) == 1
    assert default_serial([], {'w1': {'reboot_kubeconfig': '/k'}, 'w2': {}}) == 1
    assert may_disrupt(['w1'], {'w1': {'kubelet_kubeconfig': '/k'}}) == [
        'reboot planned on 1 host(s)', 'kubelet_kubeconfig given for 1 host(s)']


def test_plan_line():
    assert plan_line(1, False, 3, ['reboot planned on 1 host(s)']) == (
        'rolling: serial 1 -> 3 round(s) for 3 host(s) (default: one node at a time, the run may reboot or drain '
        '(reboot planned on 1 host(s)))')
    assert plan_line('100%', False, 3, []) == (
        'rolling: serial 100% -> 1 round(s) for 3 host(s) (default: the run neither reboots nor drains)')
    assert plan_line('2', True, 3, []) == 'rolling: serial 2 -> 2 round(s) for 3 host(s) (dataplane_serial)'
    assert rounds('lots', 3) is None
