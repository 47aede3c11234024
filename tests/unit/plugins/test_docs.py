# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's DOCUMENTATION, EXAMPLES and RETURN are YAML, and the documented options match the argument spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest
import yaml

MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                       'plugins', 'modules')


def module_docs(name):
    tree = ast.parse(open(os.path.join(MODULES, name)).read())
    docs = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            docs[node.targets[0].id] = node.value.value
    return docs


@pytest.mark.parametrize('name', sorted(n for n in os.listdir(MODULES) if n.endswith('.py')))
def test_module_docs_are_yaml(name):
    docs = module_docs(name)
    assert sorted(docs) == ['DOCUMENTATION', 'EXAMPLES', 'RETURN']
    doc = yaml.safe_load(docs['DOCUMENTATION'])
    assert doc['module'] == name[:-3]
    assert isinstance(yaml.safe_load(docs['EXAMPLES']), list)
    assert isinstance(yaml.safe_load(docs['RETURN']), dict)
    for option in doc.get('options', {}).values():
        for choice in option.get('choices', []):
            assert isinstance(choice, str), 'unquoted YAML boolean in choices of %s: %r' % (name, choice)
