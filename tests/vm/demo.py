# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo (README's main command): a QEMU VM standing in for a DPDK node of a Kubernetes cluster, the
collection run against it, and its dataplane state before and after, with the Node's hugepages capacity as the
API server reports it. Leaves nothing running.

    python tests/vm/demo.py [--keep] [--no-kubernetes]     (make demo; make demo DEMO_FLAGS=--no-kubernetes)

The Kubernetes part: kubelet v1.20.2 built from Debian's source package (tests/vm/k8s_build.py, cached; the cold
build takes about 10 min), etcd and kube-apiserver on this host's loopback (tests/vm/k8s_control.py), the guest
made a node by tests/vm/playbooks/k8s_node.yml (the same cluster the kubelet scenario uses).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import image  # noqa: E402  pylint: disable=wrong-import-position
import k8s_build  # noqa: E402  pylint: disable=wrong-import-position
import testbed  # noqa: E402  pylint: disable=wrong-import-position

VM_NAME = 'demo'


def banner(text):
    print('\n=== %s ===' % text, flush=True)


def playbook(inventory, name, extra=(), demo_vars=True):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_HOST_KEY_CHECKING='False')
    cmd = [os.path.join(bin_dir, 'ansible-playbook'), '-i', inventory, name]
    cmd += ['-e', '@' + os.path.join(HERE, 'demo_vars.yml')] if demo_vars else []
    cmd += list(extra)
    print('$ ' + ' '.join(cmd), flush=True)
    return subprocess.run(cmd, env=env, check=False).returncode


class Cluster(object):
    """The demo's one-node control plane: its state directory, kubeconfig and kubectl."""

    def __init__(self, state_dir, build_dir):
        self.state_dir = state_dir
        self.kubeconfig = os.path.join(state_dir, 'admin.kubeconfig')
        self.kubectl = os.path.join(build_dir, 'bin', 'kubectl')

    def node_vars(self):
        """Extra vars of the playbook that makes the VM a node (no reboot_kubeconfig: it is not a Node yet)."""
        return ['-e', json.dumps({'k8s_repo': REPO, 'k8s_dir': self.state_dir, 'k8s_kubeconfig': self.kubeconfig})]

    def site_vars(self):
        """Extra vars of the site run: drain and uncordon around its reboot, restart kubelet and verify the Node."""
        return ['-e', json.dumps({'kubelet_kubeconfig': self.kubeconfig, 'reboot_kubeconfig': self.kubeconfig})]

    def workload_vars(self, report_path):
        """Extra vars of dataplane.node.workload_check: the API server, the image tests/vm/dpdk_image.py built, and
        the host network (the demo's cluster has a loopback-only CNI)."""
        return ['-e', json.dumps({'workload_check_kubeconfig': self.kubeconfig, 'workload_check_report_path': report_path,
                                  'workload_check_needs': {'host_network': True}})]

    def node(self, name):
        out = subprocess.run([self.kubectl, '--kubeconfig', self.kubeconfig, 'get', 'node', name, '-o', 'json'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False, universal_newlines=True)
        if out.returncode != 0:
            raise RuntimeError('kubectl get node %s: %s' % (name, out.stdout.strip()))
        return json.loads(out.stdout)

    def stop(self):
        subprocess.run([sys.executable, os.path.join(HERE, 'k8s_control.py'), 'stop', '--state-dir', self.state_dir],
                       check=False)


def capacity_table(node):
    """The Node's capacity and allocatable for what a DPDK pod asks (hugepages of every size, memory, cpu)."""
    status = node.get('status', {})
    capacity, allocatable = status.get('capacity', {}), status.get('allocatable', {})
    names = sorted(k for k in set(capacity) | set(allocatable) if k.startswith('hugepages-')) + ['memory', 'cpu']
    lines = ['%-16s %-12s %s' % ('resource', 'capacity', 'allocatable')]
    lines += ['%-16s %-12s %s' % (n, capacity.get(n, '-'), allocatable.get(n, '-')) for n in names]
    return '\n'.join(lines)


def show_node(cluster, name, when):
    banner('the Node %s as the API server reports it %s (kubectl get node %s)' % (name, when, name))
    try:
        print(capacity_table(cluster.node(name)), flush=True)
        return 0
    except RuntimeError as exc:
        print('demo: %s' % exc, file=sys.stderr)
        return 1


def load_dpdk_image(inventory):
    """The testpmd image (tests/vm/dpdk_image.py), built here and imported into the guest's containerd."""
    return playbook(inventory, os.path.join(HERE, 'playbooks', 'dpdk_image.yml'),
                    ['-e', json.dumps({'k8s_repo': REPO})], demo_vars=False)


def read_reports(path):
    """workload_check's per-node reports ({host: {lines, problems, failure, ok}}), {} when it wrote none."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_inventory(inst, directory):
    path = os.path.join(directory, 'inventory.ini')
    with open(path, 'w') as handle:
        handle.write('[dpdk_nodes]\n%s ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s '
                     'ansible_python_interpreter=/usr/bin/python3 '
                     'ansible_ssh_common_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                     # QEMU's user networking keeps the host side of a connection open when the guest reboots:
                     # keepalives end a session caught by the reboot instead of leaving it waiting.
                     '-o ServerAliveInterval=15 -o ServerAliveCountMax=4"\n' % (
                         inst.name, inst.address, inst.port, inst.user, inst.identity_file))
    # Tasks delegated to the controller (kubernetes.core) run with this Python, which has the kubernetes client;
    # host_vars/localhost applies to the implicit localhost without adding it to `all`.
    os.makedirs(os.path.join(directory, 'host_vars'), exist_ok=True)
    with open(os.path.join(directory, 'host_vars', 'localhost.yml'), 'w') as handle:
        handle.write('ansible_python_interpreter: %s\n' % sys.executable)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keep', action='store_true', help='leave the VM running at the end')
    parser.add_argument('--no-kubernetes', dest='kubernetes', action='store_false',
                        help='no kubelet and API server: the node alone (no Go build)')
    parser.add_argument('--reports', default=None,
                        help='keep the workload check\'s JSON reports (workload-before.json, workload-after.json) here')
    args = parser.parse_args(argv)
    reason = testbed.preflight()
    if reason:
        print('demo: cannot run the test VM on this machine: %s' % reason, file=sys.stderr)
        return 2
    banner('building (or reusing) the Debian 12 guest image')
    try:
        print(image.build(), flush=True)
    except image.BuildError as exc:
        print('demo: %s' % exc, file=sys.stderr)
        return 1
    build_dir = None
    if args.kubernetes:
        banner("building (or reusing) kubelet, kube-apiserver and kubectl v1.20.2 from Debian's source package "
               '(cold: about 10 min)')
        try:
            build_dir = k8s_build.build()
        except k8s_build.BuildError as exc:
            print('demo: %s (make demo DEMO_FLAGS=--no-kubernetes runs without it)' % exc, file=sys.stderr)
            return 1
        print(build_dir, flush=True)
    bed = testbed.Testbed()
    banner('booting the DPDK-node VM (QEMU/TCG: 2 NUMA nodes, intel-iommu, igb SR-IOV NIC)')
    try:
        inst = bed.up(VM_NAME, mem_per_node=4096)
    except testbed.TestbedError as exc:
        print('demo: %s' % exc, file=sys.stderr)
        return 1
    rc = 1
    cluster = None
    workload = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(inst, tmp)
            reports = args.reports or tmp
            os.makedirs(reports, exist_ok=True)
            extra = []
            rc = 0
            if build_dir:
                # outside tmp: with --keep the API server outlives this run
                cluster = Cluster(tempfile.mkdtemp(prefix='dataplane-demo-k8s-'), build_dir)
                extra = cluster.site_vars()
                banner('making the VM a Kubernetes node (API server on this host, kubelet and containerd in the VM, '
                       'cgroup v1 through the kernel_cmdline and reboot roles)')
                # without the demo's vars: they are what the site run changes, after the BEFORE picture
                rc = playbook(inventory, os.path.join(HERE, 'playbooks', 'k8s_node.yml'), cluster.node_vars(),
                              demo_vars=False)
            if rc == 0:
                banner('the node BEFORE')
                rc = playbook(inventory, 'dataplane.node.facts')
            if rc == 0 and cluster:
                rc = show_node(cluster, VM_NAME, 'BEFORE')
            if rc == 0 and cluster:
                banner('the DPDK workload BEFORE: dataplane.node.workload_check (testpmd in a pod; expected to be '
                       'refused: no VF on vfio-pci, no hugepages for it yet)')
                rc = load_dpdk_image(inventory)
                before = os.path.join(reports, 'workload-before.json')
                if rc == 0 and playbook(inventory, 'dataplane.node.workload_check', cluster.workload_vars(before),
                                        demo_vars=False) == 0:
                    print('demo: the workload check passed before the node was prepared', file=sys.stderr)
                    rc = 1
            if rc == 0:
                banner('running dataplane.node.site (kernel command line, one verified reboot, hugepages, VFs, vfio%s)'
                       % (', kubelet restarted and its Node verified' if cluster else ''))
                rc = playbook(inventory, 'dataplane.node.site', extra)
            if rc == 0:
                banner('the node AFTER')
                rc = playbook(inventory, 'dataplane.node.facts')
            if rc == 0 and cluster:
                rc = show_node(cluster, VM_NAME, 'AFTER')
            if rc == 0 and cluster:
                banner('the DPDK workload AFTER: dataplane.node.workload_check (testpmd on the hugepages and a VF '
                       'on vfio-pci, scheduled by Kubernetes)')
                after = os.path.join(reports, 'workload-after.json')
                rc = playbook(inventory, 'dataplane.node.workload_check', cluster.workload_vars(after),
                              demo_vars=False)
                workload = read_reports(after)
    finally:
        if cluster and not args.keep:
            cluster.stop()
            shutil.rmtree(cluster.state_dir, ignore_errors=True)
        if args.keep:
            print('VM left running: python3 tests/vm/testbed.py ssh %s / down %s' % (VM_NAME, VM_NAME))
            if cluster:
                print('API server left running: %s --kubeconfig %s get node %s' % (
                    cluster.kubectl, cluster.kubeconfig, VM_NAME))
        else:
            bed.down(VM_NAME)
    if workload:
        banner('DPDK on the prepared node (dataplane.node.workload_check)')
        for host in sorted(workload):
            print('\n'.join((workload[host] or {}).get('lines') or ['%s: no report' % host]), flush=True)
    banner('demo %s' % ('done' if rc == 0 else 'FAILED (rc=%d)' % rc))
    return rc


if __name__ == '__main__':
    sys.exit(main())
