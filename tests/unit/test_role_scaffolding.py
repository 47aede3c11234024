# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's public variables are declared once: defaults/main.yml and meta/argument_specs.yml list the same keys
(a required option has no default), a default the spec states is the one the role uses, and every entry point has
its task file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.listdir(os.path.join(REPO, 'roles')))


def load(role, rel):
    path = os.path.join(REPO, 'roles', role, rel)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def options(role):
    """{option: (entry point, its spec)} over every entry point of the role."""
    found = {}
    for entry, body in load(role, 'meta/argument_specs.yml')['argument_specs'].items():
        for name, spec in (body.get('options') or {}).items():
            found.setdefault(name, (entry, spec))
    return found


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_argument_specs_list_the_same_keys(role):
    assert load(role, 'meta/argument_specs.yml') is not None, 'roles/%s has no meta/argument_specs.yml' % role
    defaults = load(role, 'defaults/main.yml') or {}
    declared = options(role)
    undeclared = sorted(set(defaults) - set(declared))
    assert undeclared == [], 'roles/%s/defaults/main.yml sets variables no argument spec declares: %s' % (
        role, undeclared)
    missing = sorted(name for name, (_entry, spec) in declared.items()
                     if not spec.get('required') and name not in defaults)
    assert missing == [], 'roles/%s: optional options without a value in defaults/main.yml: %s' % (role, missing)
    required_with_default = sorted(name for name, (_entry, spec) in declared.items()
                                   if spec.get('required') and name in defaults)
    assert required_with_default == [], 'roles/%s: required options that defaults/main.yml sets anyway: %s' % (
        role, required_with_default)


@pytest.mark.parametrize('role', ROLES)
def test_a_default_the_spec_states_is_the_one_the_role_uses(role):
    defaults = load(role, 'defaults/main.yml') or {}
    differ = dict((name, (spec['default'], defaults.get(name))) for name, (_entry, spec) in options(role).items()
                  if 'default' in spec and spec['default'] != defaults.get(name))
    assert differ == {}, 'roles/%s: argument spec default vs defaults/main.yml: %s' % (role, differ)


@pytest.mark.parametrize('role', ROLES)
def test_every_entry_point_has_its_task_file(role):
    entries = load(role, 'meta/argument_specs.yml')['argument_specs']
    missing = [e for e in entries if not os.path.exists(os.path.join(REPO, 'roles', role, 'tasks', e + '.yml'))]
    assert missing == [], 'roles/%s: entry points without tasks/<name>.yml: %s' % (role, missing)
