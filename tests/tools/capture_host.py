# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capture a live host's tree (what the facts read) into a fixture file.

    python3 tests/tools/capture_host.py --out tests/fixtures/hosts/devbox.tree
    python3 tests/tools/capture_host.py --ssh root@127.0.0.1 --port 2222 -i KEY --out tests/fixtures/hosts/qemu-igb.tree

Runs the collection's own host model with a recording filesystem, so the
fixture holds exactly the paths the facts module reads. With --ssh it ships
itself and the module_utils to the host (which needs only python3) and runs there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import io
import os
import socket
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODULE_UTILS = ('__init__.py', '_parse.py', '_host.py', '_facts.py')


def _import_collection():
    """Find ansible_collections.dataplane.node: a shipped bundle beside us, or the repo's build symlink."""
    for candidate in (HERE, os.path.join(REPO, '.build', 'collections')):
        if os.path.isdir(os.path.join(candidate, 'ansible_collections')):
            sys.path.insert(0, candidate)
            break
    sys.path.insert(0, HERE)
    from ansible_collections.dataplane.node.plugins.module_utils import _facts, _host  # noqa: E402
    import hosttree  # noqa: E402
    return _facts, _host, hosttree


def capture_local(root, out):
    _facts, _host, hosttree = _import_collection()
    fs = hosttree.make_recording_fs(_host.HostFS)(root)
    host = _host.Host(fs=fs)
    _facts.gather(host, _facts.SUBSETS)
    comment = 'captured from %s (%s) by tests/tools/capture_host.py' % (
        socket.gethostname(), (fs.read_value('proc/sys/kernel/osrelease') or '?'))
    hosttree.dump_tree(fs.entries, out, comment=comment)


def _bundle():
    """A tar of this script, hosttree.py and the module_utils in an ansible_collections layout."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        tar.add(os.path.abspath(__file__), arcname='capture_host.py')
        tar.add(os.path.join(HERE, 'hosttree.py'), arcname='hosttree.py')
        src = os.path.join(REPO, 'plugins', 'module_utils')
        for name in MODULE_UTILS:
            path = os.path.join(src, name)
            if os.path.exists(path):
                tar.add(path, arcname='ansible_collections/dataplane/node/plugins/module_utils/' + name)
    return buf.getvalue()


def capture_remote(target, port, identity, root, out):
    remote = ('d=$(mktemp -d) && tar -x -C "$d" && python3 "$d/capture_host.py" --root %s; rc=$?; rm -rf "$d"; exit $rc'
              % root)
    cmd = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
           '-o', 'LogLevel=ERROR', '-p', str(port)]
    if identity:
        cmd += ['-i', identity]
    proc = subprocess.run(cmd + [target, remote], input=_bundle(), stdout=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise SystemExit('remote capture on %s failed with exit code %d' % (target, proc.returncode))
    out.write(proc.stdout.decode('utf-8'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default='/', help='host root to read (default /)')
    parser.add_argument('--out', help='tree file to write (default: stdout)')
    parser.add_argument('--ssh', help='user@host to capture over SSH instead of locally')
    parser.add_argument('--port', type=int, default=22)
    parser.add_argument('-i', '--identity', help='SSH private key')
    args = parser.parse_args(argv)
    out = open(args.out, 'w') if args.out else sys.stdout
    try:
        if args.ssh:
            capture_remote(args.ssh, args.port, args.identity, args.root, out)
        else:
            capture_local(args.root, out)
    finally:
        if args.out:
            out.close()


if __name__ == '__main__':
    main()
