# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs on localhost (no VM): node_facts as a gather_facts module, and check mode of the
modules through Ansible itself, against host trees."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

import synthhost

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def playbook(tmp_path, text, env=None):
    path = tmp_path / 'play.yml'
    path.write_text(text)
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
                    ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_INJECT_FACT_VARS='False',
                    ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    full_env.update(env or {})
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, str(path)]
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, check=False)
    return proc.returncode, json.loads(proc.stdout)


def task_results(report):
    return [(t['task']['name'], t['hosts']['localhost']) for p in report['plays'] for t in p['tasks']]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    return synthhost.server2s().write(str(tmp_path_factory.mktemp('server')))


def test_node_facts_as_the_gather_facts_module(tmp_path, server):
    code, report = playbook(tmp_path, '''
- hosts: localhost
  gather_facts: true
  module_defaults:
    dataplane.node.node_facts: {root: %s}
  tasks:
    - name: Read the gathered fact
      ansible.builtin.debug:
        msg: "{{ ansible_facts['dataplane']['hugepages']['pools']['1G']['nodes'] }}"
''' % server, env={'ANSIBLE_FACTS_MODULES': 'dataplane.node.node_facts'})
    assert code == 0, report
    results = task_results(report)
    assert results[0][0] == 'Gathering Facts'
    assert results[1][1]['msg'] == {'0': {'nr': 8, 'free': 4, 'surplus': 0}, '1': {'nr': 8, 'free': 8, 'surplus': 0}}


def test_check_mode_through_ansible(tmp_path, server):
    code, report = playbook(tmp_path, '''
- hosts: localhost
  gather_facts: false
  check_mode: true
  tasks:
    - name: Plan pools
      dataplane.node.hugepages:
        root: %s
        pools: [{size: 2M, count: 256, near: "0000:af:00.0"}]
    - name: Refuse to destroy VFs on vfio-pci
      dataplane.node.sriov_vfs:
        root: %s
        pf: "0000:af:00.0"
        numvfs: 8
      ignore_errors: true
    - name: Plan VFs
      dataplane.node.sriov_vfs:
        root: %s
        pf: "0000:af:00.0"
        numvfs: 8
        force: true
''' % (server, server, server))
    assert code == 0, report
    results = dict(task_results(report))
    assert results['Refuse to destroy VFs on vfio-pci']['msg'].startswith(
        'nothing changed: 0000:af:00.0 has VFs bound to vfio-pci (0000:af:01.2, 0000:af:01.3)')
    assert results['Plan pools']['changed'] is True
    assert results['Plan pools']['pools'] == {'2M': {'0': 512, '1': 256}}
    assert results['Plan VFs']['writes'] == ['/sys/bus/pci/devices/0000:af:00.0/sriov_numvfs = 0',
                                             '/sys/bus/pci/devices/0000:af:00.0/sriov_numvfs = 8']
