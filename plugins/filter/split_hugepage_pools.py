# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: which hugepage pools belong on the kernel command line and which are allocated at runtime."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._hugepages import HugepageError, split_pools


def split_hugepage_pools(pools, facts=None):
    if not isinstance(pools, list):
        raise AnsibleFilterError('split_hugepage_pools expects a list of pools')
    try:
        boot, runtime = split_pools(pools, facts)
    except HugepageError as exc:
        raise AnsibleFilterError(str(exc))
    return {'boot': boot, 'runtime': runtime}


class FilterModule(object):
    def filters(self):
        return {'split_hugepage_pools': split_hugepage_pools}
