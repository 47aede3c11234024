# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site playbook's preflight through ansible-playbook: an inventory mixing valid and invalid hosts (all of them
this machine over the local connection, so the checks against the node use its real facts)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from playbook_json import run_playbook

INVENTORY = '''
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: %s
  children:
    workers:
      vars:
        dataplane_node_profile: dpdk-worker
      hosts:
        good1:
          hugepages_pools: [{size: 2M, count: 16}]
        bad1:
          hugepages_pools: [{size: 2M, count: -4}]
          kernel_cmdline_iommu: maybe
          hugepages_retries: lots
        bad2:
          dataplane_node_profile: gpu
          kubelet_mode: sideways
'''


def site(tmp_path, *args):
    code, report, dummy = run_playbook(tmp_path, INVENTORY, 'dataplane.node.site', ('--check', '--tags', 'preflight') + args)
    return code, report


def tasks(report):
    return [(p['play']['name'], t['task']['name'], t['hosts']) for p in report['plays'] for t in p['tasks']]


def test_invalid_hosts_stop_the_whole_run(tmp_path):
    code, report = site(tmp_path)
    assert code != 0
    ran = tasks(report)
    # The run stops at the preflight: no task of the second play runs on any host, the valid one included.
    assert [name for _play, name, _hosts in ran][-1] == "Validate every host's variables, plan NUMA locality, forecast reboots"
    assert all(play.startswith('Preflight') for play, _n, _h in ran)
    result = next(iter(ran[-1][2].values()))
    assert result['failed'] and result['invalid_hosts'] == ['bad1', 'bad2'] and result['valid_hosts'] == ['good1']
    lines = result['msg'].splitlines()
    assert lines[0] == 'preflight: 2 of 3 host(s) have invalid variables; nothing was changed:'
    assert "  bad1: hugepages_pools[0].count: must be a non-negative integer, got -4" in lines
    assert "  bad1: kernel_cmdline_iommu: must be on, passthrough or off, got 'maybe'" in lines
    # ansible-core's own validator message, worded by version (2.16: "<class '...AnsibleUnicode'>", 2.19: "str")
    assert any(line.startswith("  bad1: argument 'hugepages_retries' is of type") and 'unable to convert to int' in line
               for line in lines)
    assert "  bad2: dataplane_node_profile: unknown profile 'gpu' (known: dpdk-worker, dpu, dpu-host)" in lines
    assert '  bad2: value of kubelet_mode must be one of: file, dropin, got: sideways' in lines
    assert result['hosts']['good1']['set_vars'] == {
        'kernel_cmdline_iommu': 'passthrough', 'hugepages_transparent': 'never', 'dataplane_numa_locality': 'place'}


def test_partial_run_leaves_out_the_invalid_hosts(tmp_path):
    code, report = site(tmp_path, '--diff', '-e', 'dataplane_allow_partial=true')
    assert code == 2  # failed hosts
    ran = tasks(report)
    left_out = [hosts for _p, name, hosts in ran if name.startswith('Leave out')][0]
    assert left_out['bad1']['failed'] and left_out['bad2']['failed'] and left_out['good1'].get('skipped')
    profile = [hosts for _p, name, hosts in ran if name.startswith('Apply the node profile')][0]
    assert sorted(r['item']['key'] for r in profile['good1']['results']) == [
        'dataplane_numa_locality', 'hugepages_transparent', 'kernel_cmdline_iommu']
    shown = [hosts for _p, name, hosts in ran if name.startswith('Show the fleet plan')][0]
    plan = next(iter(shown.values()))['msg']
    assert plan[0] == 'bad1: invalid, no plan (3 problem(s))'
    assert plan[2].startswith('good1: locality place; ')
    # What the management guard starts from, resolved on the controller (the local connection has no SSH session).
    management = [line for line in plan if line.startswith('  management: ')]
    assert len(management) == 1, plan
    assert management[0].startswith('  management: good1 does not resolve on the controller: not protected by address; ')
    preflight = [hosts for _p, name, hosts in ran if name.startswith('Validate every host')][0]
    result = next(iter(preflight.values()))
    assert result['hosts']['good1']['management']['unresolved'] == ['good1']
    assert result['hosts']['bad1']['management'] == {}
    # Only the valid host reaches the second play (its always-tagged verify tasks run with --tags preflight).
    # (The verify step's flush_handlers is a meta task: the callback lists it with no host results.)
    second = [(name, hosts) for play, name, hosts in ran if play == 'Prepare DPDK nodes' and hosts]
    assert second and all(set(hosts) == {'good1'} for _name, hosts in second)
