# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guest's real state after the site playbook and one more plain reboot, read with the guest's own
tools and files, and the collection's facts checked against them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
from shlex import quote as shlex_quote

import pytest

WANTED = ['intel_iommu=on', 'iommu=pt', 'default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:1,1:1', 'nokaslr']
NODE_1G = '/sys/devices/system/node/node%d/hugepages/hugepages-1048576kB/nr_hugepages'
NODE_2M = '/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages'


def failing_module(host, args):
    """Run dataplane.node.hugepages expecting a failure; its result either way. (With ansible-core 2.19 the
    --tree result testinfra reads has no 'failed' key, so testinfra does not always raise.)"""
    try:
        return host.ansible('dataplane.node.hugepages', args, check=False)
    except host.ansible.AnsibleException as exc:
        return exc.result


def node_2m(host):
    return [int(host.file(NODE_2M % n).content_string) for n in (0, 1)]


@pytest.fixture(scope='module')
def facts(host):
    result = host.ansible('dataplane.node.node_facts', check=False)
    return result['ansible_facts']['dataplane']


def test_booted_with_the_wanted_arguments_in_order(host):
    tokens = host.file('/proc/cmdline').content_string.split()
    for token in WANTED:
        assert token in tokens
    start = tokens.index('default_hugepagesz=1G')
    assert tokens[start:start + 3] == ['default_hugepagesz=1G', 'hugepagesz=1G', 'hugepages=0:1,1:1']


def test_grub_config_comes_from_the_dropin(host):
    dropin = host.file('/etc/default/grub.d/99-dataplane-node.cfg')
    assert dropin.exists
    assert 'intel_iommu=on iommu=pt default_hugepagesz=1G hugepagesz=1G hugepages=0:1,1:1 nokaslr' in dropin.content_string
    assert 'hugepages' not in host.file('/etc/default/grub').content_string  # the user's file is untouched
    assert 'hugepages=0:1,1:1' in host.file('/boot/grub/grub.cfg').content_string


def test_the_trial_boot_was_committed_and_left_nothing_behind(host):
    # The arguments came through a one-time GRUB entry (kernel_cmdline_trial) and were then made permanent.
    assert not host.file('/etc/grub.d/42_dataplane_node_trial').exists
    assert not host.file('/var/lib/dataplane-node/kernel-cmdline-trial.json').exists
    assert 'dataplane-node-trial' not in host.file('/boot/grub/grub.cfg').content_string
    assert 'next_entry=' not in host.check_output('grub-editenv /boot/grub/grubenv list')
    assert not any(t.startswith('panic=') for t in host.file('/proc/cmdline').content_string.split())


def test_one_gig_page_on_each_node(host, facts):
    for node in (0, 1):
        assert host.file(NODE_1G % node).content_string.strip() == '1'
        assert facts['hugepages']['pools']['1G']['nodes'][str(node)]['nr'] == 1
    assert facts['hugepages']['default_size'] == '1G'


def test_facts_match_numactl(host, facts):
    out = host.check_output('numactl --hardware')
    count = int(re.search(r'available: (\d+) nodes', out).group(1))
    assert count == 2
    assert facts['numa']['node_count'] == count
    for node in ('0', '1'):
        cpus = [int(c) for c in re.search(r'node %s cpus: ([\d ]*)' % node, out).group(1).split()]
        assert facts['numa']['nodes'][node]['cpus'] == cpus


def test_facts_match_iommu_groups(host, facts):
    groups = host.check_output('ls /sys/kernel/iommu_groups').split()
    assert len(groups) > 0
    assert facts['iommu']['enabled'] is True
    assert facts['iommu']['vendor'] == 'intel'
    assert facts['iommu']['passthrough'] is True
    assert sorted(facts['iommu']['groups'], key=int) == sorted(groups, key=int)
    assert host.file('/sys/kernel/iommu_groups/%s/type' % groups[0]).content_string.strip() == 'identity'


def test_facts_match_lspci_sriov(host, facts):
    # The igb (Intel 82576, 8086:10c9) PF: the testbed's SR-IOV NIC.
    addresses = host.check_output('lspci -D -n -d 8086:10c9 | cut -d" " -f1').split()
    assert len(addresses) == 1
    pf = facts['pci']['devices'][addresses[0]]
    assert pf['driver'] == 'igb'
    assert pf['sriov']['totalvfs'] == 7
    assert facts['pci']['sriov_pfs'] == addresses


def test_facts_match_cmdline_and_boot(host, facts):
    assert facts['cmdline']['raw'] == host.file('/proc/cmdline').content_string.strip()
    assert facts['boot']['loader'] == 'debian-grub'
    assert facts['boot']['kernel'] == host.check_output('uname -r')


def test_management_nic_carries_the_default_route(host, facts):
    dev = host.check_output("ip -4 route show default | awk '{print $5; exit}'")
    carriers = [a for a, d in facts['pci']['devices'].items() if d['carries_default_route']]
    assert len(carriers) == 1
    assert facts['pci']['devices'][carriers[0]]['netdevs'] == [dev]
    assert facts['pci']['devices'][carriers[0]]['driver'] == 'virtio-pci'


def test_2m_pools_per_node_came_back_at_boot(host, facts):
    # The side-effect reboot cleared the runtime pools; dataplane-node.service re-applied them.
    assert node_2m(host) == [64, 128]
    assert facts['hugepages']['pools']['2M']['nodes']['0']['nr'] == 64
    assert facts['hugepages']['pools']['2M']['nodes']['1']['nr'] == 128
    unit = host.service('dataplane-node.service')
    assert unit.is_enabled
    shown = set(host.check_output('systemctl show -p ActiveState,Result dataplane-node.service').splitlines())
    assert shown == {'ActiveState=active', 'Result=success'}
    assert 'node1 0 -> 128 (got 128)' in host.check_output('journalctl -b -u dataplane-node.service --no-pager')


def test_kubelet_is_ordered_after_the_pools(host):
    dropin = host.file('/etc/systemd/system/kubelet.service.d/10-dataplane-node.conf').content_string
    assert 'After=dataplane-node.service' in dropin and 'Requires=dataplane-node.service' in dropin
    unit = host.file('/etc/systemd/system/dataplane-node.service').content_string
    assert 'Before=kubelet.service' in unit and 'RequiredBy=kubelet.service' in unit


def test_hugetlbfs_mount_and_thp(host, facts):
    mount = host.mount_point('/dev/hugepages2M')
    assert mount.exists and mount.filesystem == 'hugetlbfs'
    assert 'pagesize=2M' in mount.options and 'mode=1770' in mount.options
    assert [m['pagesize'] for m in facts['hugepages']['mounts'] if m['path'] == '/dev/hugepages2M'] == ['2M']
    assert '[madvise]' in host.file('/sys/kernel/mm/transparent_hugepage/enabled').content_string


def test_impossible_request_is_refused_before_any_write(host):
    before = node_2m(host)
    result = failing_module(host, '{"pools": [{"size": "2M", "node": 1, "count": 4096}]}')
    assert 'node 1: the pools need 8.0 GiB but the node has' in result['msg']
    assert node_2m(host) == before


def test_shortfall_fails_with_a_table_and_writes_back(host):
    # Fits the node's memory on paper, not in what is free: the kernel gives fewer pages.
    before = node_2m(host)
    result = failing_module(host, '{"pools": [{"size": "2M", "node": 0, "count": 1900}], "retries": 1}')
    assert result['msg'].startswith('the kernel gave fewer hugepages than asked')
    assert 'size  node  before  asked  got' in result['msg']
    assert result['shortfall'][0]['after'] == 1900 and result['shortfall'][0]['got'] < 1900
    assert node_2m(host) == before


PF = '0000:00:03.0'


def driver_of(host, address):
    link = '/sys/bus/pci/devices/%s/driver' % address
    return host.check_output('basename $(readlink %s) 2>/dev/null || echo none' % link)


def test_vfs_and_vfio_bindings_came_back_at_boot(host, facts):
    assert host.file('/sys/bus/pci/devices/%s/sriov_numvfs' % PF).content_string.strip() == '4'
    vfs = facts['pci']['devices'][PF]['sriov']['vfs']
    assert [v['driver'] for v in vfs] == ['vfio-pci', 'vfio-pci', 'igbvf', 'igbvf']
    for vf in vfs:
        assert driver_of(host, vf['address']) == vf['driver']
    assert driver_of(host, '0000:00:04.0') == 'vfio-pci'
    for address in [v['address'] for v in vfs[:2]] + ['0000:00:04.0']:
        group = facts['pci']['devices'][address]['iommu_group']
        assert host.run('test -c /dev/vfio/%s' % group).rc == 0
    assert driver_of(host, '0000:00:02.0') == 'virtio-pci'  # the management NIC never moved
    journal = host.check_output('journalctl -b -u dataplane-node-devices.service --no-pager')
    assert 'sriov: 0000:00:03.0 has 4 VFs (asked 4)' in journal
    shown = set(host.check_output('systemctl show -p ActiveState,Result dataplane-node-devices.service').splitlines())
    assert shown == {'ActiveState=active', 'Result=success'}


# What DPDK's EAL does with a vfio-pci device before anything else: a container, the device's group attached to it,
# and the type 1 IOMMU set on it (VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU: _IO(';', 104) and _IO(';', 102)).
# Without interrupt remapping the kernel refuses the last step with EPERM unless allow_unsafe_interrupts is set.
SET_IOMMU = """
import fcntl, os, struct, sys
container = os.open('/dev/vfio/vfio', os.O_RDWR)
group = os.open('/dev/vfio/' + sys.argv[1], os.O_RDWR)
fcntl.ioctl(group, 0x3B68, struct.pack('i', container))
print(fcntl.ioctl(container, 0x3B66, 1))
"""


def test_vfio_devices_are_usable_by_dpdk_after_the_reboot(host, facts):
    """The testbed has no interrupt remapping; the sriov role (sriov_vfio_allow_unsafe_interrupts) set the module
    parameter and persisted it in modprobe.d: after the reboot the type 1 IOMMU takes every vfio-pci group."""
    assert facts['iommu']['interrupt_remapping'] is False
    assert not re.search(r'\sIR-', host.file('/proc/interrupts').content_string)
    assert facts['iommu']['vfio_unsafe_interrupts'] is True
    assert host.file('/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts').content_string.strip() == 'Y'
    conf = host.file('/etc/modprobe.d/dataplane-node-vfio.conf').content_string
    assert 'options vfio_iommu_type1 allow_unsafe_interrupts=1' in conf.splitlines()
    vfs = facts['pci']['devices'][PF]['sriov']['vfs']
    for address in [v['address'] for v in vfs[:2]] + ['0000:00:04.0']:
        group = facts['pci']['devices'][address]['iommu_group']
        out = host.run('python3 -c %s %s' % (shlex_quote(SET_IOMMU), group))
        assert out.rc == 0 and out.stdout.strip() == '0', (address, out.stdout, out.stderr)


def test_device_plugin_config(host):
    import json
    config = json.loads(host.file('/etc/pcidp/config.json').content_string)
    names = [(r['resourceName'], r['selectors']['pfNames']) for r in config['resourceList']]
    pf_netdev = host.check_output('ls /sys/bus/pci/devices/%s/net' % PF)
    assert names == [(pf_netdev + '_vfio', [pf_netdev + '#0-1']), (pf_netdev + '_netdev', [pf_netdev + '#2-3'])]


def test_management_nic_is_refused(host):
    try:
        result = host.ansible('dataplane.node.pci_driver', '{"devices": ["0000:00:02.0"], "driver": "vfio-pci"}',
                              check=False)
    except host.ansible.AnsibleException as exc:
        result = exc.result
    assert 'carries the management connection' in result['msg']
    assert driver_of(host, '0000:00:02.0') == 'virtio-pci'


def test_the_last_run_summary_is_unchanged_with_the_pools_and_vfs_and_nothing_pending(host):
    # The idempotence run wrote it last (dataplane_summary_path, molecule.yml): nothing changed, nothing pending.
    path = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'summary', 'dpdk-node-1.json')
    with open(path) as handle:
        summary = json.load(handle)
    assert summary['host'] == 'dpdk-node-1'
    assert summary['status'] == 'unchanged' and summary['pending'] == [] and summary['changes'] == []
    pools = dict(((r['size'], r['node']), (r['asked'], r['after'])) for r in summary['hugepages'])
    assert pools[('2M', '0')] == (64, 64) and pools[('2M', '1')] == (128, 128)
    assert pools[('1G', '0')] == (1, 1) and pools[('1G', '1')] == (1, 1)
    vfs = [r for r in summary['vfs'] if r['after'] == 4]
    assert len(vfs) == 1 and vfs[0]['drivers'] == {'vfio-pci': 2, 'igbvf': 2}
    assert '0000:00:04.0' in summary['vfio']['bound']
    assert '/dev/hugepages2M (2M)' in summary['mounts']['after']


def test_the_runs_left_no_restart_pending_on_the_node(host):
    # No kubelet and no sriov-network-device-plugin run on the guest: the pools' and the plugin config's changes of
    # the converge asked for no restart, so pending_actions kept nothing (no state file) and the summary says so.
    assert not host.file('/var/lib/dataplane-node/pending.json').exists
    path = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'summary', 'dpdk-node-1.json')
    with open(path) as handle:
        assert json.load(handle)['settled'] == []


def test_a_restart_stays_pending_across_runs_until_the_daemon_starts_again(host):
    # pending_actions on the real kernel's /proc (process start times against the node's clock): a stand-in daemon
    # (a copy of sleep, comm "dptestd", run as a transient systemd unit as a real daemon is) running from before the
    # event keeps the restart pending on the next run; once it is started again the restart is settled and the state
    # file goes. A test path, not the site's.
    path = '/tmp/dataplane-node-test-pending.json'
    args = {'path': path, 'device_plugin_processes': ['dptestd']}
    start = 'systemd-run --quiet --collect --unit=dptestd /tmp/dptestd 300 && sleep 0.5 && pgrep -x dptestd'
    stop = 'systemctl stop dptestd.service'

    def run(check=False, **extra):
        result = host.ansible('dataplane.node.pending_actions', json.dumps(dict(args, **extra)), check=check)
        seen = host.run('pgrep -a -x dptestd; stat -c "%%y" %s' % path)
        return result, 'module: %r; on the node: %s' % (result, seen.stdout + seen.stderr)

    host.run('%s; rm -f %s' % (stop, path))
    host.check_output('cp /bin/sleep /tmp/dptestd && %s' % start)
    try:
        first, why = run(device_plugin_changed=True)
        assert first['changed'] and [(p['what'], p['carried']) for p in first['pending']] == [
            ('device plugin restart', False)], why
        assert host.file(path).exists, why
        second, why = run()
        assert not second['changed'] and [(p['what'], p['carried']) for p in second['pending']] == [
            ('device plugin restart', True)], why
        predicted, why = run(check=True)
        assert predicted['pending'] == second['pending'], why
        host.check_output('%s; sleep 2; %s' % (stop, start))
        third, why = run()
        assert third['changed'] and third['pending'] == [], why
        assert third['settled'][0]['why'].startswith('the device plugin started at '), why
        assert not host.file(path).exists, why
    finally:
        host.run('%s; rm -f /tmp/dptestd %s' % (stop, path))
