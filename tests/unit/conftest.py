# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host trees for unit tests: captured ones from tests/fixtures/hosts/*.tree, built ones from synthhost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os

import pytest

import hosttree
import synthhost

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'hosts')
CAPTURED = sorted(n[:-5] for n in os.listdir(FIXTURES) if n.endswith('.tree'))


@pytest.fixture(scope='session')
def host_root(tmp_path_factory):
    """host_root(name) -> path of a materialized host tree (captured or synthetic), built once per session."""
    cache = {}

    def make(name):
        if name not in cache:
            dest = str(tmp_path_factory.mktemp(name.replace('-', '_')))
            if name in CAPTURED:
                hosttree.load_tree(os.path.join(FIXTURES, name + '.tree'), dest)
            else:
                synthhost.HOSTS[name]().write(dest)
            cache[name] = dest
        return cache[name]

    return make


@contextlib.contextmanager
def module_args(args):
    """A module's arguments as Ansible hands them over: ansible-core's own helper from 2.19, the module-args
    buffer that AnsibleModule reads before that (2.16-2.18)."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:
        from ansible.module_utils import basic
        from ansible.module_utils.common.text.converters import to_bytes
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old
        return
    with patch_module_args(args):
        yield


@pytest.fixture
def with_module_args():
    """module_args as a fixture, for tests that build an AnsibleModule themselves (conftest is not importable by
    name: tests/ee has one too)."""
    return module_args


@pytest.fixture
def run_module(capsys):
    """run_module(module, args) -> (exit code, result): a module's main() as Ansible runs it."""
    import json

    def run(module, args):
        with module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                module.main()
        return exit_info.value.code, json.loads(capsys.readouterr().out)

    return run
