# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo (README's main command): a QEMU VM standing in for a DPDK node, the collection run
against it, and its dataplane state before and after. Leaves nothing running.

    python tests/vm/demo.py [--keep]     (make demo)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import image  # noqa: E402  pylint: disable=wrong-import-position
import testbed  # noqa: E402  pylint: disable=wrong-import-position

VM_NAME = 'demo'


def banner(text):
    print('\n=== %s ===' % text, flush=True)


def playbook(inventory, name, extra=()):
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_HOST_KEY_CHECKING='False')
    cmd = [os.path.join(bin_dir, 'ansible-playbook'), '-i', inventory, name,
           '-e', '@' + os.path.join(HERE, 'demo_vars.yml')] + list(extra)
    print('$ ' + ' '.join(cmd), flush=True)
    return subprocess.run(cmd, env=env, check=False).returncode


def write_inventory(inst, directory):
    path = os.path.join(directory, 'inventory.ini')
    with open(path, 'w') as handle:
        handle.write('[dpdk_nodes]\n%s ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s '
                     'ansible_ssh_common_args="-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"\n' % (
                         inst.name, inst.address, inst.port, inst.user, inst.identity_file))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keep', action='store_true', help='leave the VM running at the end')
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
    bed = testbed.Testbed()
    banner('booting the DPDK-node VM (QEMU/TCG: 2 NUMA nodes, intel-iommu, igb SR-IOV NIC)')
    try:
        inst = bed.up(VM_NAME, mem_per_node=4096)
    except testbed.TestbedError as exc:
        print('demo: %s' % exc, file=sys.stderr)
        return 1
    rc = 1
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(inst, tmp)
            banner('the node BEFORE')
            rc = playbook(inventory, 'dataplane.node.facts')
            if rc == 0:
                banner("running dataplane.node.site (kernel command line, one verified reboot, hugepages, VFs, vfio)")
                rc = playbook(inventory, 'dataplane.node.site')
            if rc == 0:
                banner('the node AFTER')
                rc = playbook(inventory, 'dataplane.node.facts')
    finally:
        if args.keep:
            print('VM left running: python3 tests/vm/testbed.py ssh %s / down %s' % (VM_NAME, VM_NAME))
        else:
            bed.down(VM_NAME)
    banner('demo %s' % ('done' if rc == 0 else 'FAILED (rc=%d)' % rc))
    return rc


if __name__ == '__main__':
    sys.exit(main())
