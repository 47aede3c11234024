# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: compare a booted kernel command line with wanted arguments, token by token."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import running_difference
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, tokenize_cmdline
from ansible_collections.dataplane.node.plugins.module_utils._verify import boot_problems as _boot_problems


def cmdline_difference(cmdline, wanted):
    if not isinstance(wanted, dict):
        raise AnsibleFilterError('cmdline_difference expects wanted as {present: [...], absent: [...]}')
    try:
        tokens = tokenize_cmdline(str(cmdline or ''), strict=False)
    except ParseError as exc:
        raise AnsibleFilterError('cannot read the kernel command line: %s' % exc)
    missing, unexpected = running_difference(tokens, list(wanted.get('present') or []),
                                             list(wanted.get('absent') or []))
    return {'missing': missing, 'unexpected': unexpected}


def boot_problems(facts, wanted):
    if not isinstance(facts, dict) or not isinstance(wanted, dict):
        raise AnsibleFilterError('boot_problems expects the dataplane fact and {present: [...], absent: [...]}')
    return _boot_problems(facts, wanted)


class FilterModule(object):
    def filters(self):
        return {'cmdline_difference': cmdline_difference, 'boot_problems': boot_problems}
