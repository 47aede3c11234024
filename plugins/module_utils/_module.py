# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces every module of the collection shares (argument spec and checks of the test root).

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

ROOT_ARG = dict(type='path', default='/')


def refuse_test_root_outside_check_mode(module):
    """A root other than '/' is a host tree for tests: real writes and commands would still hit this host."""
    root = module.params['root']
    if os.path.abspath(root) != '/' and not module.check_mode:
        module.fail_json(msg='root=%s is for tests in check mode only: writes and commands would reach this host'
                         % root)
    return root


def refuse(module, problems, result=None):
    """Fail before any change, with every problem: msg 'nothing changed: <problems joined by ;>', the list as
    `problems`, and the rest of `result` (the shape the DPU modules and the role's messages rely on)."""
    problems = list(problems)
    module.fail_json(msg='nothing changed: %s' % '; '.join(problems), **dict(result or {}, problems=problems))
