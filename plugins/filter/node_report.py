# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the dataplane fact into a readable report and a list of changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._report import changes, report_lines


def _facts(value, what):
    if not isinstance(value, dict):
        raise AnsibleFilterError('%s expects the dataplane fact (a dict), got %s' % (what, type(value).__name__))
    return value


def node_report(facts, name=None):
    return report_lines(_facts(facts, 'node_report'), name)


def node_changes(before, after):
    return changes(_facts(before, 'node_changes'), _facts(after, 'node_changes'))


class FilterModule(object):
    def filters(self):
        return {'node_report': node_report, 'node_changes': node_changes}
