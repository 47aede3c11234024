# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Let `ansible-test sanity --requirements` bootstrap pip without Ansible's CI file host.

ansible-test makes a venv per sanity test and bootstraps pip in it with a
get-pip script downloaded from ci-files.testing.ansible.com. Where only PyPI is
reachable, this writes a stand-in at the cache path ansible-test checks first:
it imports pip from the wheel of the wanted version (fetched from PyPI) and runs
`pip install` with the same arguments. Does nothing when the host is reachable
or the cache already holds a script.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import subprocess
import sys

CI_FILES_HOST = 'ci-files.testing.ansible.com'

STANDIN = '''# Stand-in for get-pip.py written by dataplane.node scripts/ansible-test-offline.py
import glob, os, sys
wheel = glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pip-%(version)s-*.whl'))[0]
sys.path.insert(0, wheel)
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(main(['install'] + args))
'''


def reachable(host, timeout=3):
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def installed_pip_version():
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-error

    class _Python:
        version = '%d.%d' % sys.version_info[:2]
    return get_venv_packages(_Python())['pip']


def main():
    version = installed_pip_version()
    cache = os.path.expanduser('~/.ansible/test/cache')
    script = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
    if os.path.exists(script):
        print('ansible-test pip bootstrap: %s exists' % script)
        return 0
    if reachable(CI_FILES_HOST):
        print('ansible-test pip bootstrap: %s is reachable, no stand-in needed' % CI_FILES_HOST)
        return 0
    os.makedirs(cache, exist_ok=True)
    subprocess.check_call([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:',
                           '-d', cache, 'pip==%s' % version])
    with open(script, 'w') as handle:
        handle.write(STANDIN % {'version': version})
    print('ansible-test pip bootstrap: wrote stand-in %s (pip %s from PyPI)' % (script, version))
    return 0


if __name__ == '__main__':
    sys.exit(main())
