# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host trees for unit tests: captured ones from tests/fixtures/hosts/*.tree, built ones from synthhost."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

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


@pytest.fixture
def run_module(capsys):
    """run_module(module, args) -> (exit code, result): a module's main() as Ansible runs it."""
    import json

    from ansible.module_utils.testing import patch_module_args

    def run(module, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                module.main()
        return exit_info.value.code, json.loads(capsys.readouterr().out)

    return run
