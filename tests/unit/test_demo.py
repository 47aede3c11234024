# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/vm/demo.py's picture of the Node, on the Node status captured from the testbed's real kubelet 1.20.2."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS, 'vm'))

import demo  # noqa: E402


def captured(name):
    with open(os.path.join(TESTS, 'fixtures', 'kubelet', name)) as handle:
        return {'status': json.load(handle)}


def test_capacity_table_shows_every_hugepage_size_before_and_after_the_restart():
    before = demo.capacity_table(captured('node-status-1.20.2-stale.json')).splitlines()
    after = demo.capacity_table(captured('node-status-1.20.2-restarted.json')).splitlines()
    assert before[0].split() == ['resource', 'capacity', 'allocatable']
    assert [line.split()[0] for line in after[1:]] == ['hugepages-1Gi', 'hugepages-2Mi', 'memory', 'cpu']
    assert after[2].split()[1:] == ['32Mi', '32Mi']
    assert before[2].split()[1:] == ['0', '0']
