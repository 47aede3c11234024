# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the repository importable as ansible_collections.dataplane.node for plain pytest runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')


def _link_collection():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'dataplane', 'node')
    if os.path.realpath(link) == REPO:
        return
    # Running from an installed collection tree already: nothing to link.
    if os.path.basename(os.path.dirname(os.path.dirname(REPO))) == 'ansible_collections':
        return
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(REPO, link)


_link_collection()
for path in (COLLECTIONS, os.path.join(REPO, 'tests', 'tools')):
    if path not in sys.path:
        sys.path.insert(0, path)
