# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: add one role's boot_applier request to the run's merged one (site.yml persists once per run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.dataplane.node.plugins.module_utils._boot_install import merge_requests


def boot_applier_request(current, install=False, before_units=None, state_files=None, modules_load=None):
    if current is not None and not isinstance(current, dict):
        raise AnsibleFilterError('boot_applier_request expects the merged request (a dict) or null as input')
    if before_units is not None and (not is_sequence(before_units) or not all(isinstance(u, str) for u in before_units)):
        raise AnsibleFilterError('boot_applier_request: before_units must be a list of unit names')
    for name, value in (('state_files', state_files), ('modules_load', modules_load)):
        if value is not None and not isinstance(value, dict):
            raise AnsibleFilterError('boot_applier_request: %s must be a dict by file name' % name)
    return merge_requests(current, install, before_units, state_files, modules_load)


class FilterModule(object):
    def filters(self):
        return {'boot_applier_request': boot_applier_request}
