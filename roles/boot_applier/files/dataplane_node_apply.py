# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entry point of dataplane-node.service: apply the state files with the collection's own code.

    python3 dataplane_node_apply.py early|devices [STATE_DIR]   (PYTHONPATH holds ansible_collections/...)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from ansible_collections.dataplane.node.plugins.module_utils._boot_apply import run


def main(argv):
    phase = argv[0] if argv else 'early'
    state_dir = argv[1] if len(argv) > 1 else '/etc/dataplane-node/state.d'
    problems = run(state_dir, lambda msg: print('dataplane-node: ' + msg, flush=True), phase=phase)
    for problem in problems:
        print('dataplane-node: ' + problem, file=sys.stderr, flush=True)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
