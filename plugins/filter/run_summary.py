# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the run summary: what a run changed per node, what is pending, and one line per node of the fleet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils import _summary


def _dict(value, what, allow_none=False):
    if value is None and allow_none:
        return None
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s expects a dict, got %s' % (what, type(value).__name__))
    return value


def run_summary(before, after=None, results=None, host=None):
    return _summary.summary(_dict(before, 'run_summary'), _dict(after, 'run_summary (after)', True),
                            _dict(results, 'run_summary (results)', True), host)


def run_summary_lines(item):
    return _summary.lines(_dict(item, 'run_summary_lines'))


def fleet_summary(hostvars, hosts, key='dataplane_node_summary'):
    items = []
    for host in hosts:
        item = (hostvars[host] if host in hostvars else {}).get(key)
        if isinstance(item, dict):
            items.append(dict(item, host=host))
        else:
            items.append({'host': host, 'status': 'failed',
                          'pending': [{'what': 'no summary (the run stopped before the end)', 'reason': ''}]})
    return _summary.fleet(items)


class FilterModule(object):
    def filters(self):
        return {'run_summary': run_summary, 'run_summary_lines': run_summary_lines, 'fleet_summary': fleet_summary}
