# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: one self-contained HTML page of the inventory's dataplane state."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._html_report import render_page


def node_report_html(hosts, hostvars, preflight=None, title='dataplane.node report', generated=None):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('node_report_html expects a list of host names')
    checked = (preflight or {}).get('hosts') or {}
    entries = []
    for name in hosts:
        if name not in hostvars:
            raise AnsibleFilterError('node_report_html: %s is not in hostvars' % name)
        host_vars = hostvars[name]
        facts = (host_vars['ansible_facts'] if 'ansible_facts' in host_vars else {}).get('dataplane')
        entry = checked.get(name) or {}
        summary = host_vars['dataplane_node_summary'] if 'dataplane_node_summary' in host_vars else None
        entries.append({'name': name, 'facts': facts, 'plan': entry.get('plan'), 'problems': entry.get('problems'),
                        'summary': summary if isinstance(summary, dict) else None})
    return render_page(entries, title, generated)


class FilterModule(object):
    def filters(self):
        return {'node_report_html': node_report_html}
