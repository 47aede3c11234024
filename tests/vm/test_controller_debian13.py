# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Debian 13 controller (issue 22): scripts/bootstrap.sh and the unit tests inside a trixie root.

mmdebstrap makes a minimal Debian 13 root, the repository's committable files are copied in, and in a chroot
(with /proc, /sys and /dev mounted) `scripts/bootstrap.sh` installs the Debian packages from trixie's own archive
(QEMU 10 there, no bookworm-backports) and the venv on trixie's system Python, then the unit tests run with it.
Not a VM, but selected like the VM suites (tests/vm/impact.py: suite `controller_debian13`, inputs the bootstrap and
the requirements), about 8 minutes with the downloads. Needs root, mmdebstrap and Debian's and PyPI's registries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

import impact

pytestmark = pytest.mark.vm

REPO = impact.REPO
TIMEOUT = 1800


def preflight():
    if os.geteuid() != 0:
        return 'needs root (mmdebstrap, chroot, mounts)'
    if not shutil.which('mmdebstrap'):
        return 'needs mmdebstrap (scripts/bootstrap.sh installs it)'
    return None


def run(argv, log, timeout=TIMEOUT, **kwargs):
    with open(log, 'a') as out:
        out.write('\n$ %s\n' % ' '.join(argv))
        out.flush()
        return subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False,
                              **kwargs).returncode


def tail(path, lines=60):
    with open(path, errors='replace') as handle:
        return ''.join(handle.readlines()[-lines:])


@pytest.fixture(scope='module')
def trixie_root(tmp_path_factory):
    reason = preflight()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp('debian13')
    root, log = base / 'root', str(base / 'controller.log')
    os.makedirs(os.path.join(REPO, 'tests', 'output'), exist_ok=True)
    code = run(['mmdebstrap', '--variant=minbase', '--include=python3,python3-venv,ca-certificates,git,make,sudo',
                'trixie', str(root)], log)
    assert code == 0, 'mmdebstrap trixie failed (%s); log %s\n%s' % (code, log, tail(log))
    repo = root / 'work' / 'repo'
    for path in impact.repo_files(REPO):
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(REPO, path), str(target))
    shutil.copy('/etc/resolv.conf', str(root / 'etc' / 'resolv.conf'))
    for conf in ('/etc/pip.conf',):  # the machine's package index settings, if it has any
        if os.path.exists(conf):
            shutil.copy(conf, str(root / conf.lstrip('/')))
    # The machine's own CAs (a TLS-inspecting proxy's, say): trusted in the root the way the host trusts them, or
    # pip in the chroot fails with CERTIFICATE_VERIFY_FAILED although the host reaches PyPI.
    local_cas = '/usr/local/share/ca-certificates'
    if os.path.isdir(local_cas) and os.listdir(local_cas):
        shutil.copytree(local_cas, str(root / local_cas.lstrip('/')), dirs_exist_ok=True)
        code = run(['chroot', str(root), 'update-ca-certificates'], log, timeout=120)
        assert code == 0, 'update-ca-certificates in the trixie root failed (%s); log %s\n%s' % (code, log, tail(log))
    mounts = []
    try:
        for fstype, source, where in (('proc', 'proc', 'proc'), ('sysfs', 'sys', 'sys'), (None, '/dev', 'dev'),
                                      (None, '/dev/pts', 'dev/pts')):
            target = str(root / where)
            os.makedirs(target, exist_ok=True)
            argv = ['mount', '--bind', source, target] if fstype is None else ['mount', '-t', fstype, source, target]
            assert run(argv, log, timeout=30) == 0, 'mount %s failed; log %s' % (target, log)
            mounts.append(target)
        yield root, log
    finally:
        for target in reversed(mounts):
            subprocess.run(['umount', '-l', target], check=False)
        shutil.copy(log, os.path.join(REPO, 'tests', 'output', 'controller-debian13.log'))


def chroot(root, script, log):
    return run(['chroot', str(root), '/bin/bash', '-euo', 'pipefail', '-c', script], log,
               env={'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': '/root',
                    'LANG': 'C.UTF-8'})


def test_bootstrap_installs_from_trixie_and_the_unit_tests_pass(trixie_root):
    root, log = trixie_root
    # A git work tree as a user's clone is (the copy holds the committable files, staged): the impact tests list
    # files through git.
    code = chroot(root, 'cd /work/repo && git init -q && git add -A && scripts/bootstrap.sh', log)
    assert code == 0, 'scripts/bootstrap.sh failed on Debian 13 (%s); log %s\n%s' % (code, log, tail(log))
    # QEMU with the igb SR-IOV NIC from trixie's own archive, not from bookworm-backports.
    assert not os.path.exists(str(root / 'etc/apt/sources.list.d/bookworm-backports.list'))
    code = chroot(root, 'qemu-system-x86_64 -device help | grep -q \'"igb"\' && python3 --version '
                        '&& /work/repo/.venv/bin/python -c "import ansible.release as r; print(r.__version__)"', log)
    assert code == 0, 'no igb in QEMU or no ansible-core in the venv; log %s\n%s' % (log, tail(log))
    code = chroot(root, 'cd /work/repo && ANSIBLE_PYTHON_INTERPRETER=/work/repo/.venv/bin/python '
                        '.venv/bin/python -m pytest -q -p no:cacheprovider tests/unit', log)
    assert code == 0, 'unit tests failed on Debian 13 (%s); log %s\n%s' % (code, log, tail(log))
