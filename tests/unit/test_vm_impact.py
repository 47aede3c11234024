# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM-suite selector (tests/vm/impact.py): inputs found by reference, and what a change selects in CI."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'vm'))
import impact  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def ci_defaults(monkeypatch):
    """The selection as CI makes it: a run that measures a worst case (DATAPLANE_CI_SUITES=...) or changes a budget
    must not leak into these tests, which run inside that same .ci/run."""
    monkeypatch.setattr(impact, 'CI_FORCED', '')
    monkeypatch.setattr(impact, 'CI_VM_BUDGET', 25)
    monkeypatch.setattr(impact, 'CI_FOCUS_BUDGET', 40)


@pytest.fixture(scope='module')
def index():
    return impact.Index(REPO)


def inputs(name, index):
    return set(impact.suite_inputs(impact.BY_NAME[name], index))


def test_every_plugin_and_role_file_is_an_input_of_some_suite(index):
    covered = set()
    for suite in impact.SUITES:
        covered |= inputs(suite.name, index)
    loose = [f for f in index.files if f.startswith(('plugins/', 'roles/')) and f not in covered]
    assert loose == [], 'no VM suite proves these (add them to a suite in tests/vm/impact.py): %s' % loose


def test_the_kubelet_suite_reaches_its_roles_modules_and_their_module_utils_but_not_the_dpu_code(index):
    kubelet = inputs('kubelet', index)
    for path in ('roles/kubelet/tasks/main.yml', 'plugins/modules/kubelet_config.py', 'plugins/module_utils/_kubelet.py',
                 'roles/hugepages/tasks/main.yml', 'plugins/module_utils/_host.py', 'tests/vm/k8s_control.py',
                 'tests/vm/playbooks/k8s_node.yml', 'molecule/resources/create.yml'):
        assert path in kubelet, path
    assert not [p for p in kubelet if p.startswith('roles/ovn_dpu/') or p == 'plugins/module_utils/_dpu.py']


def test_the_dpu_suite_reaches_the_ovn_dpu_role_and_the_modules_it_calls(index):
    dpu = inputs('dpu', index)
    for path in ('roles/ovn_dpu/tasks/main.yml', 'roles/ovn_dpu/templates/ovnkube-node.env.j2',
                 'plugins/modules/ovs_settings.py', 'plugins/module_utils/_dpu.py', 'plugins/module_utils/_devlink.py'):
        assert path in dpu, path
    assert 'roles/kubelet/tasks/main.yml' not in dpu


def test_a_pytest_suite_reaches_the_playbook_its_test_joins_and_the_roles_in_it(index):
    trial = inputs('trial_boot', index)
    assert {'tests/vm/playbooks/cmdline_trial.yml', 'tests/vm/roles_run.py', 'roles/kernel_cmdline/tasks/main.yml',
            'plugins/module_utils/_trial_boot.py'} <= trial
    assert 'roles/sriov/tasks/main.yml' not in trial


def test_documentation_links_are_not_dependencies(index):
    # argument_specs and module DOCUMENTATION name other plugins (M(dataplane.node.x)) without loading them.
    assert 'playbooks/site.yml' not in inputs('dpu', index)
    assert 'tests/vm/impact.py' not in inputs('default', index)


def test_each_test_file_maps_to_its_suite():
    assert impact.suite_of('tests/vm/test_scenarios.py::test_molecule_scenario[kubelet]') == 'kubelet'
    assert impact.suite_of('tests/vm/test_scenarios.py::test_molecule_scenario[default_trixie]') == 'default_trixie'
    assert impact.suite_of('tests/vm/test_trial_boot.py::test_a_good_trial_is_committed_then_idempotent') == 'trial_boot'
    assert impact.suite_of('tests/vm/test_boot_under_load.py::test_x') == 'testbed'
    assert impact.suite_of('tests/unit/test_vm_impact.py::test_each_test_file_maps_to_its_suite') is None


@pytest.fixture()
def repo_copy(tmp_path):
    """The working tree's committable files in a new git repository, every suite recorded as proven."""
    dest = tmp_path / 'repo'
    for path in impact.repo_files(REPO):
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.join(REPO, path), str(target))
    subprocess.run(['git', 'init', '-q'], cwd=str(dest), check=True)
    impact.record([s.name for s in impact.SUITES], repo=str(dest), how='test')
    return dest


def selection(repo, budget=1000, focus_budget=None):
    log = io.StringIO()
    return impact.select(str(repo), ci=True, out=log, budget=budget, focus_budget=focus_budget), log.getvalue()


def test_all_proven_runs_only_default_in_ci(repo_copy):
    chosen, log = selection(repo_copy)
    assert chosen == ['default']
    assert 'default' in log and 'always run; proven green for these inputs' in log


def test_a_docs_only_change_runs_default_alone(repo_copy):
    with open(str(repo_copy / 'docs' / 'testing.md'), 'a') as handle:
        handle.write('\nA note.\n')
    assert selection(repo_copy)[0] == ['default']


def test_a_change_to_the_kubelet_role_runs_the_kubelet_scenario_and_says_why(repo_copy):
    path = repo_copy / 'roles' / 'kubelet' / 'tasks' / 'main.yml'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen, log = selection(repo_copy)
    # The Debian 13 default leg runs site.yml, the demo runs it against its Kubernetes node, the report suite's
    # dry run (site.yml --check) and the management guard's site preflight: all of them read the kubelet role too.
    assert chosen == ['management_guard', 'default', 'default_trixie', 'kubelet', 'demo', 'report']
    assert 'kubelet' in log and 'inputs changed since' in log and 'roles/kubelet/tasks/main.yml' in log


def test_a_change_to_the_host_model_runs_every_suite_that_reads_it(repo_copy):
    path = repo_copy / 'plugins' / 'module_utils' / '_host.py'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen = selection(repo_copy)[0]
    assert {'default', 'default_trixie', 'kubelet', 'dpu', 'trial_boot', 'cmdline_user_tokens', 'report'} <= set(chosen)
    assert 'testbed' not in chosen and 'vagrant' not in chosen and 'ee' not in chosen


def test_an_unproven_suite_is_selected(repo_copy):
    manifest = repo_copy / impact.MANIFEST
    text = manifest.read_text()
    import json
    data = json.loads(text)
    del data['suites']['dpu']
    manifest.write_text(json.dumps(data))
    chosen, log = selection(repo_copy)
    assert 'dpu' in chosen and 'never proven' in log


def test_a_suite_over_the_ci_budget_is_not_run_and_named_as_not_proven(repo_copy):
    path = repo_copy / 'roles' / 'kubelet' / 'tasks' / 'main.yml'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen, log = selection(repo_copy, budget=20, focus_budget=20)
    assert chosen == ['management_guard', 'default', 'report']
    assert 'kubelet' in log and 'NOT RUN' in log and 'WARNING: not proven by this run: kubelet' in log


def test_with_ci_budgets_a_change_to_the_kubelet_role_alone_runs_the_kubelet_scenario_first(repo_copy):
    # CI's own budgets (25 min, 40 for a suite whose focus changed): the kubelet scenario is the main proof of its
    # role, so it runs with `default`; of the suites the role reaches only through site.yml, those that still fit
    # the 40-min total run (report, ~5 min by its estimate: the kubelet scenario's minutes count against the total,
    # not against the 25 min of shared proofs), the others wait, named as not proven.
    path = repo_copy / 'roles' / 'kubelet' / 'tasks' / 'main.yml'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen, log = selection(repo_copy, budget=impact.CI_VM_BUDGET, focus_budget=impact.CI_FOCUS_BUDGET)
    assert chosen == ['default', 'kubelet', 'report']
    estimate = dict((s.name, s.minutes) for s in impact.SUITES)
    assert sum(estimate[n] for n in chosen) <= impact.CI_FOCUS_BUDGET
    assert all(estimate[n] + sum(estimate[c] for c in chosen) > impact.CI_FOCUS_BUDGET
               for n in ('management_guard', 'default_trixie', 'demo'))
    line = [ln for ln in log.splitlines() if ln.startswith('[impact] kubelet ')][0]
    assert 'run :' in line and '(its focus: roles/kubelet/tasks/main.yml)' in line
    warning = [ln for ln in log.splitlines() if 'WARNING: not proven by this run:' in ln][0]
    assert 'default_trixie' in warning and 'kubelet' not in warning.split(': ', 1)[1].split('.')[0].split()


def test_a_suite_whose_focus_did_not_change_gets_no_focus_budget(repo_copy):
    # _host.py is read by every suite but is the focus of none: the transitive selection keeps to the small budget.
    path = repo_copy / 'plugins' / 'module_utils' / '_host.py'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen, log = selection(repo_copy, budget=20, focus_budget=1000)
    assert 'kubelet' not in chosen and '(its focus:' not in log


def test_a_change_to_the_dpu_code_runs_the_dpu_scenario_before_the_cheaper_suites(repo_copy):
    path = repo_copy / 'plugins' / 'module_utils' / '_dpu.py'
    path.write_text(path.read_text() + '\n# a change\n')
    chosen, log = selection(repo_copy, budget=5, focus_budget=20)
    assert 'dpu' in chosen and 'kubelet' not in chosen
    order = [ln.split()[1] for ln in log.splitlines() if ln.startswith('[impact] ') and ln.split()[1] in impact.BY_NAME]
    assert order.index('dpu') == 1


def test_forced_suites_run_although_proven_and_over_the_budgets(repo_copy):
    log = io.StringIO()
    chosen = impact.select(str(repo_copy), ci=True, out=log, budget=1, focus_budget=1, forced='kubelet dpu')
    assert chosen == ['default', 'kubelet', 'dpu']
    assert log.getvalue().count('forced by DATAPLANE_CI_SUITES; proven green for these inputs') == 2


def test_a_forced_name_that_is_no_suite_is_refused_before_anything_runs(repo_copy):
    with pytest.raises(SystemExit, match='DATAPLANE_CI_SUITES names no suite: kubelett'):
        impact.select(str(repo_copy), ci=True, out=io.StringIO(), forced='kubelett')
