# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supported ansible-core range, proven at both ends: unit/integration tests and `ansible-test sanity` on the
oldest (2.16, Python 3.11) and the newest (2.21, Python 3.13 from the machine's pyenv) ansible-core, each in its
own venv under .build/matrix/<leg>; the project's .venv (ansible-core 2.19 and the current ansible-lint) covers the
middle and the linters. Every leg prints one `[matrix] <leg>: <step> passed|FAILED` line per step.

    scripts/matrix.py [--leg NAME] [--list]
"""

from __future__ import absolute_import, division, print_function

import argparse
import glob
import hashlib
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, '.build', 'matrix')

# name: (python major.minor, ansible-core spec, ansible bundle spec). The bundle supplies the dependency collections
# (ansible.posix, community.general, kubernetes.core): Ansible 9 goes with core 2.16, Ansible 14 with 2.21.
LEGS = {
    'core216-py311': ('3.11', 'ansible-core>=2.16,<2.17', 'ansible>=9,<10'),
    'core221-py313': ('3.13', 'ansible-core>=2.21,<2.22', 'ansible>=14,<15'),
}
# The test tools each leg needs (linters and docs run once, in the project's .venv).
TOOLS = ['jmespath>=1.0', 'netaddr>=0.10', 'kubernetes>=24', 'pytest>=8', 'pytest-testinfra>=10', 'pytest-benchmark>=4']


def find_python(version):
    """The interpreter for a leg: pythonX.Y on PATH, else pyenv's newest X.Y.*."""
    for candidate in sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/%s.*/bin/python%s' % (version, version))),
                            reverse=True) + ['/usr/bin/python%s' % version, '/usr/local/bin/python%s' % version]:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def run(argv, log, **kwargs):
    with open(log, 'a') as out:
        out.write('\n$ %s\n' % ' '.join(argv))
        out.flush()
        return subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False, **kwargs).returncode


def tail(path, lines=40):
    with open(path, errors='replace') as handle:
        return ''.join(handle.readlines()[-lines:])


def venv_for(name, log):
    """The leg's venv, made and filled once per (interpreter, requirements) and reused after."""
    version, core, bundle = LEGS[name]
    python = find_python(version)
    if not python:
        raise RuntimeError('no Python %s here (looked on PATH and in ~/.pyenv/versions)' % version)
    venv = os.path.join(BUILD, name)
    wanted = hashlib.sha256(('%s %s %s %s' % (python, core, bundle, TOOLS)).encode()).hexdigest()[:16]
    stamp = os.path.join(venv, '.matrix-hash')
    if os.path.exists(stamp) and open(stamp).read().strip() == wanted:
        return venv
    if run([python, '-m', 'venv', '--clear', venv], log):
        raise RuntimeError('python -m venv failed')
    pip = [os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
    if run(pip + [core, bundle] + TOOLS, log):
        raise RuntimeError('pip install %s %s failed' % (core, bundle))
    with open(stamp, 'w') as handle:
        handle.write(wanted + '\n')
    return venv


def leg(name):
    """Run one leg; returns a list of (step, ok)."""
    os.makedirs(BUILD, exist_ok=True)
    log = os.path.join(BUILD, name + '.log')
    open(log, 'w').close()
    start = time.monotonic()
    try:
        venv = venv_for(name, log)
    except RuntimeError as exc:
        print('[matrix] %s: venv FAILED: %s (log %s)\n%s' % (name, exc, log, tail(log)))
        return [('venv', False)]
    py = os.path.join(venv, 'bin', 'python')
    core = subprocess.run([py, '-c', 'import ansible.release as r; print(r.__version__)'], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False).stdout.strip()
    print('[matrix] %s: ansible-core %s on %s (venv %.0f s)' % (name, core, os.path.basename(os.path.realpath(py)),
                                                                time.monotonic() - start))
    env = dict(os.environ, PATH=os.path.join(venv, 'bin') + os.pathsep + os.environ.get('PATH', ''),
               ANSIBLE_PYTHON_INTERPRETER=py, ANSIBLE_INJECT_FACT_VARS='False',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'))
    steps = [('unit+integration', [py, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/unit', 'tests/integration',
                                   'tests/report', 'tests/ee/test_ee_definition.py']),
             ('sanity', ['scripts/sanity.sh'])]
    results = []
    for step, argv in steps:
        step_start = time.monotonic()
        code = run(argv, log, cwd=REPO, env=dict(env, PYTHON=py))
        results.append((step, code == 0))
        verdict = 'passed' if code == 0 else 'FAILED (rc %d)' % code
        detail = '' if code == 0 else ' (log %s)\n%s' % (log, tail(log))
        print('[matrix] %s: %s %s in %.0f s%s' % (name, step, verdict, time.monotonic() - step_start, detail))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--leg', action='append', choices=sorted(LEGS), help='run only this leg (repeatable)')
    parser.add_argument('--list', action='store_true', help='print the legs and exit')
    args = parser.parse_args(argv)
    if args.list:
        for name, spec in sorted(LEGS.items()):
            print('%s: Python %s, %s, %s' % ((name,) + spec))
        return 0
    failed = []
    for name in args.leg or sorted(LEGS):
        failed += ['%s %s' % (name, step) for step, ok in leg(name) if not ok]
    print('[matrix] %s' % ('all legs passed' if not failed else 'FAILED: ' + ', '.join(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
