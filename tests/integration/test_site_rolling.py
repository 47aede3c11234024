# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site playbook's batches through ansible-playbook (check mode, preflight tags, three inventory hosts that are
all this machine over the local connection): one batch when the run neither reboots nor drains, one node per batch
when it may, dataplane_serial over both; the preflight's plan says how many rounds the fleet takes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from playbook_json import run_playbook

INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
  hosts:
    h1:
    h2:
    h3:
'''
PLAN = 'Show the fleet plan (full per-node plan with --diff)'


def site(tmp_path, *args):
    code, report, tail = run_playbook(tmp_path, INVENTORY, 'dataplane.node.site', ('--check', '--tags', 'preflight') + args)
    assert code == 0, tail
    ran = [(p['play']['name'], t['task']['name'], t['hosts']) for p in report['plays'] for t in p['tasks']]
    plan = next(iter([hosts for _p, name, hosts in ran if name == PLAN][0].values()))['msg']
    second = [sorted(hosts) for play, _name, hosts in ran if play == 'Prepare DPDK nodes' and hosts]
    fleet = [hosts for play, _name, hosts in ran if play == 'Run summary of the fleet'][0]
    return plan, second, fleet['localhost']['msg']


def test_nothing_disruptive_one_batch(tmp_path):
    plan, second, fleet = site(tmp_path)
    assert [line for line in plan if line.startswith('rolling:')] == [
        'rolling: serial 100% -> 1 round(s) for 3 host(s) (default: the run neither reboots nor drains)']
    assert ['h1', 'h2', 'h3'] in second  # one batch (a run_once task reports for one host)
    assert fleet == ['node  status     pending', 'h1    unchanged  -', 'h2    unchanged  -', 'h3    unchanged  -',
                     'total: 3 unchanged']


def test_a_reboot_planned_goes_one_node_at_a_time(tmp_path):
    # An argument this machine's command line lacks: the preflight forecasts a reboot of every host.
    plan, second, _fleet = site(tmp_path, '-e', '{"kernel_cmdline_args": ["dataplane_node_test_token=1"]}')
    rolling = [line for line in plan if line.startswith('rolling:')]
    assert rolling == ['rolling: serial 1 -> 3 round(s) for 3 host(s) (default: one node at a time, the run may '
                       'reboot or drain (reboot planned on 3 host(s)))']
    assert second and all(len(hosts) == 1 for hosts in second)
    assert sorted(set(h for hosts in second for h in hosts)) == ['h1', 'h2', 'h3']


def test_dataplane_serial_overrides(tmp_path):
    plan, second, _fleet = site(tmp_path, '-e', '{"kernel_cmdline_args": ["dataplane_node_test_token=1"]}',
                                '-e', 'dataplane_serial=2')
    assert 'rolling: serial 2 -> 2 round(s) for 3 host(s) (dataplane_serial)' in plan
    assert ['h1', 'h2'] in second and ['h3'] in second and all(len(hosts) <= 2 for hosts in second)
