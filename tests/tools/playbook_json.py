# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run ansible-playbook from the tests on an inventory written for this Python, with the collection from the repo and
the ansible.posix.json callback: the integration tests read its report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_playbook(tmp_path, inventory, playbook, args=(), path_prefix=None):
    """inventory: YAML text where %s is this Python (the interpreter of local-connection hosts).
    Returns (rc, json report, the end of stdout + stderr for failure messages)."""
    hosts = os.path.join(str(tmp_path), 'hosts.yml')
    with open(hosts, 'w') as handle:
        handle.write(inventory % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_INJECT_FACT_VARS='False')
    if path_prefix:
        env['PATH'] = '%s:%s' % (path_prefix, os.environ.get('PATH', ''))
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', hosts, playbook] + list(args)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, json.loads(proc.stdout), proc.stdout[-3000:] + proc.stderr[-3000:]
