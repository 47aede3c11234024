# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which VM suites a change needs: each suite's inputs, their hash, and the manifest of hashes proven green.

A suite is a Molecule scenario, a tests/vm module (or two) or the EE jobs. Its inputs are the files it declares
(globs) plus everything those files reach: `dataplane.node.<name>` references (modules, action and filter plugins,
doc fragments, roles, playbooks), relative file references in YAML (`../resources/create.yml`), the Python
module_utils a plugin imports and the tests/vm helpers a test imports. The hash covers each input's path and bytes.

tests/vm/proven.json records, per suite, the hash (and per-file hashes, to say what changed) of the inputs of its
last green full run; it is written by the test harness after a pass (tests/conftest.py), never by hand. CI
(`make test-vm`) runs the always-run suites and every suite whose current hash is not the proven one:

    python tests/vm/impact.py select [--ci]   # prints the selected suite names; the reasons go to stderr
    python tests/vm/impact.py show SUITE      # the suite's inputs
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFEST = os.path.join('tests', 'vm', 'proven.json')

# What every VM suite stands on: the launcher, the image recipe, the Molecule driver playbooks, the project's
# Python requirements and the collection's metadata.
TESTBED = ['tests/vm/testbed.py', 'tests/vm/image.py', 'tests/vm/buildcache.py', 'tests/vm/conftest.py',
           'scripts/bootstrap.sh', 'requirements.txt', 'requirements-test.txt']
COLLECTION = ['galaxy.yml', 'meta/runtime.yml', 'ansible.cfg']
MOLECULE = TESTBED + COLLECTION + ['molecule/resources/*']


class Suite(object):
    """kind: 'molecule' (molecule/<name>), 'pytest' (the test files in `tests`) or 'ee' (make test-ee)."""

    def __init__(self, name, kind, inputs, tests=(), always=False, minutes=0, ci=True, focus=()):
        self.ci = ci  # False: CI cannot set it up (it says so when the inputs changed); `make test-vm-all` runs it
        self.name = name
        self.kind = kind
        self.globs = list(inputs)
        self.tests = list(tests)
        self.always = always
        self.minutes = minutes  # a measured estimate, for the budget line (the manifest's figure wins)
        # The files this suite is the main proof of (its role, modules and module_utils): a change to one of them
        # runs the suite before the others and within the larger focus budget.
        self.focus = list(focus)


SUITES = [
    Suite('testbed', 'pytest', TESTBED + ['tests/vm/test_testbed.py', 'tests/vm/test_boot_under_load.py'],
          tests=['tests/vm/test_testbed.py', 'tests/vm/test_boot_under_load.py'], minutes=7),
    Suite('cmdline_user_tokens', 'pytest', TESTBED + COLLECTION + ['tests/vm/test_cmdline_user_tokens.py'],
          tests=['tests/vm/test_cmdline_user_tokens.py'], minutes=4,
          focus=['plugins/module_utils/_kernel_args.py', 'plugins/module_utils/_bootloader.py',
                 'tests/vm/test_cmdline_user_tokens.py']),
    Suite('trial_boot', 'pytest', TESTBED + COLLECTION + ['tests/vm/test_trial_boot.py'],
          tests=['tests/vm/test_trial_boot.py'], minutes=10,
          focus=['plugins/module_utils/_trial_boot.py', 'tests/vm/test_trial_boot.py']),
    # The management guard on stacked netdevs (VLAN, bond of VFs, bridge, macvlan) on a real kernel (issue #20).
    Suite('management_guard', 'pytest',
          TESTBED + COLLECTION + ['tests/vm/test_management_guard.py', 'tests/vm/roles_run.py',
                                  'tests/vm/playbooks/management_guard.yml'],
          tests=['tests/vm/test_management_guard.py'], minutes=9,
          focus=['plugins/module_utils/_netstack.py', 'tests/vm/test_management_guard.py',
                 'tests/vm/playbooks/management_guard.yml']),
    Suite('default', 'molecule', MOLECULE + ['molecule/default/**'], always=True, minutes=5),
    # The same scenario on a Debian 13 guest (tests/vm/test_scenarios.py VARIANTS; its own image, ~4 min cold).
    Suite('default_trixie', 'molecule', MOLECULE + ['molecule/default/**', 'tests/vm/test_scenarios.py'], minutes=10),
    Suite('kubelet', 'molecule', MOLECULE + ['molecule/kubelet/**', 'tests/vm/k8s_build.py', 'tests/vm/k8s_control.py',
                                             'tests/vm/playbooks/k8s_node.yml'], minutes=28,  # 20.4 min + the kubelet build
          focus=['roles/kubelet/**', 'plugins/modules/kubelet_*.py', 'plugins/module_utils/_kubelet*.py',
                 'molecule/kubelet/**', 'tests/vm/k8s_build.py', 'tests/vm/k8s_control.py']),
    Suite('dpu', 'molecule', MOLECULE + ['molecule/dpu/**', 'tests/vm/netdevsim.py'], minutes=9,  # 8.3 min
          focus=['roles/ovn_dpu/**', 'plugins/modules/ovn_dpu_check.py', 'plugins/modules/ovs_settings.py',
                 'plugins/modules/devlink_eswitch.py', 'plugins/modules/mlx_firmware.py', 'plugins/module_utils/_dpu.py',
                 'plugins/module_utils/_devlink.py', 'molecule/dpu/**', 'tests/vm/netdevsim.py']),
    # README's main command end to end (issue #25): the demo's Kubernetes node prepared by dataplane.node.site and
    # proven by dataplane.node.workload_check (testpmd in a pod on the hugepages and a vfio-pci VF), refused before.
    Suite('demo', 'pytest', TESTBED + COLLECTION + ['tests/vm/test_demo.py', 'tests/vm/demo.py', 'tests/vm/demo_vars.yml',
                                                    'tests/vm/dpdk_image.py', 'tests/vm/k8s_build.py',
                                                    'tests/vm/k8s_control.py', 'tests/vm/playbooks/k8s_node.yml',
                                                    'tests/vm/playbooks/dpdk_image.yml'],
          tests=['tests/vm/test_demo.py'], minutes=19,  # 18 min with the images and the kubelet build cached
          focus=['plugins/module_utils/_dpdk.py', 'playbooks/workload_check.yml', 'tests/vm/test_demo.py',
                 'tests/vm/demo.py', 'tests/vm/demo_vars.yml', 'tests/vm/dpdk_image.py',
                 'tests/vm/playbooks/dpdk_image.yml']),
    # The Vagrant and EE suites prove their own path (the Vagrant provider, the EE image and ansible-runner), not
    # the roles, which `default` proves: their inputs stop at their own files.
    # The fleet dry run and the HTML report on a live guest (it boots a VM only with DATAPLANE_REPORT_VM=1).
    Suite('report', 'pytest', TESTBED + COLLECTION + ['tests/report/test_report_vm.py', 'molecule/default/molecule.yml'],
          tests=['tests/report/test_report_vm.py'], minutes=5,
          focus=['plugins/module_utils/_html_report.py', 'plugins/module_utils/_report.py',
                 'tests/report/test_report_vm.py']),
    # A Debian 13 controller: the bootstrap and the unit tests in a trixie chroot (no VM; its own path only).
    Suite('controller_debian13', 'pytest', ['scripts/bootstrap.sh', 'requirements.txt', 'requirements-test.txt',
                                            'tests/vm/test_controller_debian13.py'],
          # In CI since its first green run (2026-12-03: 85 s with the Debian and PyPI downloads).
          tests=['tests/vm/test_controller_debian13.py'], minutes=3),
    Suite('vagrant', 'molecule', TESTBED + ['molecule/vagrant/*', 'tests/vm/vagrant_box.py', 'scripts/setup-vagrant.sh'],
          minutes=12, ci=False),
    Suite('ee', 'ee', TESTBED + COLLECTION + ['ee/**', 'tests/ee/**', 'bindep.txt', 'meta/execution-environment.yml'],
          # In CI since its first green run (2026-12-03, Debian 13 base, 3 min with the testbed image cached).
          tests=['tests/ee/test_awx_runs.py'], minutes=12),
]
BY_NAME = dict((s.name, s) for s in SUITES)
# A suite that follows references stops at these: they prove their own path only (see above).
SHALLOW = ('vagrant', 'ee', 'controller_debian13')
# The selector and its pytest hooks (tests/conftest.py) name every suite's files; what they select does not change
# what a VM run proves.
NOT_AN_INPUT = ('tests/vm/impact.py', 'tests/conftest.py', MANIFEST)
# Minutes of VM time CI may spend: CI's limit is 75 min in all; apt, pip, unit tests, sanity, lint, docs and the
# ansible-core matrix take ~20 on a fresh machine, the guest images and the kubelet build (cold) up to ~15 more.
# 25 min: on 2026-12-02 a clean-clone .ci/run with 39 estimated minutes of VM suites took ~78 min in all (the suites
# ran longer than their estimates); CI must stay under 75.
CI_VM_BUDGET = int(os.environ.get('DATAPLANE_VM_BUDGET_MIN', '25'))
# A suite whose own focus files changed may take CI's VM time up to this: `default` (~11 min) and the kubelet scenario
# (~28 min with its cold build) fit, so a change to the kubelet role meets a real kubelet before it lands. Measured
# in full: apt, pip, unit, sanity, lint, docs and the matrix ~15 min, the kubelet build ~10 min cold, so such a run
# is ~65 min, under CI's 75.
CI_FOCUS_BUDGET = int(os.environ.get('DATAPLANE_VM_FOCUS_BUDGET_MIN', '40'))
# Suites CI runs whatever the manifest says, outside the budgets: for measuring a worst case on purpose
# (DATAPLANE_CI_SUITES="kubelet dpu" .ci/run), never set in CI itself.
CI_FORCED = os.environ.get('DATAPLANE_CI_SUITES', '')

REF = re.compile(r'\bdataplane\.node\.([a-z_][a-z0-9_]*)')
PATHLIKE = re.compile(r'''(?:^|[\s'"=(\[,])((?:\.\./|\./)?[A-Za-z0-9_][A-Za-z0-9_./-]*\.(?:ya?ml|py|j2|json|sh|cfg))''')
PY_UTIL = re.compile(r'plugins\.module_utils(?:\.(_?[a-z0-9_]+)| import ([^\n(]+|\([^)]*\)))')
PY_LOCAL = re.compile(r'^\s*(?:import|from)\s+([a-z_][a-z0-9_]*)', re.M)
PY_JOIN = re.compile(r'os\.path\.join\(([^)]*)\)')
PY_LITERAL = re.compile(r'"([^"]*)"|\'([^\']*)\'')
FILTER_NAMES = re.compile(r"""['"]([a-z_][a-z0-9_]*)['"]\s*:""")


def repo_files(repo=REPO):
    """Files git would commit (tracked, or new and not ignored), relative to the repository."""
    out = subprocess.run(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], cwd=repo,
                         stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
    return sorted(p for p in out.splitlines() if os.path.isfile(os.path.join(repo, p)))


def match(files, pattern):
    """Files matching a glob: `dir/**` is everything below dir; otherwise `*` stays within one path segment."""
    if pattern.endswith('/**'):
        return [f for f in files if f.startswith(pattern[:-2])]
    depth = pattern.count('/')
    return [f for f in files if f.count('/') == depth and fnmatch.fnmatchcase(f, pattern)]


def read(repo, path):
    try:
        with open(os.path.join(repo, path), 'rb') as handle:
            return handle.read()
    except OSError:
        return b''


class Index(object):
    """The repository's files and the names a `dataplane.node.<name>` reference can mean."""

    def __init__(self, repo=REPO, files=None):
        self.repo = repo
        self.files = files if files is not None else repo_files(repo)
        self.present = set(self.files)
        self.filters = {}
        for path in self.files:
            if path.startswith('plugins/filter/') and path.endswith('.py'):
                text = read(repo, path).decode('utf-8', 'replace')
                body = text.split('def filters', 1)[-1] if 'def filters' in text else ''
                for name in FILTER_NAMES.findall(body):
                    self.filters.setdefault(name, []).append(path)

    def resolve_name(self, name):
        """The files a collection name can refer to (a module, its action plugin, a filter, a role, a playbook)."""
        found = [p for p in ('plugins/modules/%s.py' % name, 'plugins/action/%s.py' % name,
                             'plugins/doc_fragments/%s.py' % name, 'playbooks/%s.yml' % name) if p in self.present]
        found += self.filters.get(name, [])
        found += [f for f in self.files if f.startswith('roles/%s/' % name)]
        return found

    def references(self, path):
        """Files `path` refers to directly (in its code, not in its documentation or comments), and its own docs."""
        if is_documentation(path):
            return []  # descriptions only: the names there are documentation links
        raw = read(self.repo, path).decode('utf-8', 'replace')
        found = []
        # A plugin's documentation goes with it: the doc fragments it extends, a filter's <name>.yml.
        for fragment in DOC_FRAGMENT.findall(raw):
            found += [p for p in ('plugins/doc_fragments/%s.py' % fragment,) if p in self.present]
        if path.startswith('plugins/filter/') and path.endswith('.py'):
            found += [p for name, files in self.filters.items() if path in files
                      for p in ('plugins/filter/%s.yml' % name,) if p in self.present]
        text = strip_docs(path, raw)
        for name in REF.findall(text):
            found += self.resolve_name(name)
        base = os.path.dirname(path)
        if path.endswith(('.yml', '.yaml', '.j2')) or path.endswith('.py') and path.startswith('tests/'):
            for ref in PATHLIKE.findall(text):
                for candidate in (os.path.normpath(os.path.join(base, ref)), os.path.normpath(ref)):
                    if candidate in self.present:
                        found.append(candidate)
        if path.endswith('.py'):
            for single, multi in PY_UTIL.findall(text):
                names = [single] if single else re.findall(r'_?[a-z][a-z0-9_]*', multi)
                found += [p for p in ('plugins/module_utils/%s.py' % n for n in names) if p in self.present]
            if path.startswith('tests/'):
                for args in PY_JOIN.findall(text):  # os.path.join(REPO, "tests", "vm", "playbooks", "x.yml")
                    joined = '/'.join(a or b for a, b in PY_LITERAL.findall(args))
                    if joined in self.present:
                        found.append(joined)
                for name in PY_LOCAL.findall(text):
                    local = os.path.join(base, name + '.py')
                    if local in self.present and local != path:
                        found.append(local)
            if path.startswith('plugins/action/'):  # an action plugin runs its module of the same name
                module = 'plugins/modules/' + os.path.basename(path)
                if module in self.present:
                    found.append(module)
        return found


DOC_BLOCK = re.compile(r"""^(?:DOCUMENTATION|EXAMPLES|RETURN)\s*=\s*r?('\'\'|\"\"\")(.*?)\1""", re.M | re.S)
DOC_FRAGMENT = re.compile(r'^\s*-?\s*dataplane\.node\.([a-z_]+)(?:\.[a-z_]+)?\s*$', re.M)
YAML_COMMENT = re.compile(r'(^|\s)#.*$', re.M)


def is_documentation(path):
    """Files that only document (role argument specs, doc fragments, a filter's <name>.yml)."""
    return (path.endswith('meta/argument_specs.yml') or path.startswith('plugins/doc_fragments/')
            or path.startswith('plugins/filter/') and path.endswith('.yml'))


def strip_docs(path, text):
    """Text without a module's documentation strings or a YAML file's comments, whose names link, not load."""
    if path.endswith('.py'):
        return DOC_BLOCK.sub('', text)
    if path.endswith(('.yml', '.yaml')):
        return YAML_COMMENT.sub('', text)
    return text


def suite_inputs(suite, index):
    """Every input file of a suite: its globs and, unless shallow, all they reach."""
    seeds = set()
    for pattern in suite.globs:
        seeds.update(match(index.files, pattern))
    if suite.name in SHALLOW:
        return sorted(seeds)
    seen = set()
    todo = sorted(seeds)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(p for p in index.references(path) if p not in seen and p not in NOT_AN_INPUT)
    return sorted(seen)


def file_hash(repo, path):
    return hashlib.sha256(read(repo, path)).hexdigest()[:16]


def fingerprint(suite, index):
    """(hash of all inputs, {path: hash}) for a suite."""
    files = dict((p, file_hash(index.repo, p)) for p in suite_inputs(suite, index))
    total = hashlib.sha256(''.join('%s %s\n' % item for item in sorted(files.items())).encode()).hexdigest()[:16]
    return total, files


def load_manifest(repo=REPO):
    try:
        with open(os.path.join(repo, MANIFEST)) as handle:
            return json.load(handle).get('suites', {})
    except (OSError, ValueError):
        return {}


def record(names, seconds=None, repo=REPO, how='harness'):
    """Write the current input hashes of suites that just passed in full into the manifest."""
    index = Index(repo)
    suites = load_manifest(repo)
    for name in names:
        total, files = fingerprint(BY_NAME[name], index)
        suites[name] = {'inputs': total, 'proven': time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime()),
                        'seconds': int((seconds or {}).get(name, 0)), 'by': how, 'files': files}
    path = os.path.join(repo, MANIFEST)
    with open(path + '.tmp', 'w') as handle:
        json.dump({'comment': 'written by the VM test harness after a green run (tests/vm/impact.py); never by hand',
                   'suites': dict(sorted(suites.items()))}, handle, indent=1, sort_keys=True)
        handle.write('\n')
    os.replace(path + '.tmp', path)


def why(suite, index, proven):
    """(selected, reason) for one suite against the manifest."""
    total, files = fingerprint(suite, index)
    entry = proven.get(suite.name)
    if entry and entry.get('inputs') == total:
        return False, 'proven green for these inputs (%s, %s)' % (total, entry.get('proven', '?'))
    if suite.always:
        return True, 'always run'
    if not entry:
        return True, 'never proven (inputs %s)' % total
    old = entry.get('files', {})
    changed = sorted(p for p in files if old.get(p) != files[p])
    gone = sorted(p for p in old if p not in files)
    shown = changed[:4] + ['-' + p for p in gone[:2]]
    more = len(changed) + len(gone) - len(shown)
    tail = ' and %d more' % more if more > 0 else ''
    return True, 'inputs changed since %s: %s%s' % (entry.get('proven', '?'), ', '.join(shown) or '(file list)', tail)


def focus_changed(suite, index, proven):
    """The suite's focus files that differ from what it was proven green on (all of them if it never was)."""
    old = (proven.get(suite.name) or {}).get('files')
    focused = sorted(set(p for pattern in suite.focus for p in match(index.files, pattern)))
    if old is None:
        return focused
    return [p for p in focused if old.get(p) != file_hash(index.repo, p)]


def select(repo=REPO, ci=True, out=sys.stderr, budget=None, focus_budget=None, forced=None):
    """The suites to run: in CI the always-run ones plus every one whose inputs are not proven, within the VM budget
    (a selected suite that does not fit is named as not proven, loudly); outside CI every suite.
    A suite whose focus files changed comes first and may use the focus budget; a forced one runs whatever its proof
    and the budgets say."""
    if not ci:
        return [suite.name for suite in SUITES]
    forced = (CI_FORCED if forced is None else forced).split()
    unknown = [name for name in forced if name not in BY_NAME]
    if unknown:
        raise SystemExit('DATAPLANE_CI_SUITES names no suite: %s (suites: %s)' % (
            ' '.join(unknown), ' '.join(sorted(BY_NAME))))
    budget = CI_VM_BUDGET if budget is None else budget
    focus_budget = max(budget, CI_FOCUS_BUDGET if focus_budget is None else focus_budget)
    index = Index(repo)
    proven = load_manifest(repo)
    # Two counters: the shared budget holds what only shared code reached (`default` included), the focus budget
    # the whole run once a suite's own code changed; a focus suite's minutes do not crowd out the shared ones.
    chosen, over, minutes, shared = [], [], 0.0, 0.0
    focused = dict((s.name, focus_changed(s, index, proven)) for s in SUITES if not s.always)
    # The always-run suites first, then those whose own code changed, then the others in their declared order
    # (cheapest proofs before the long ones).
    for suite in sorted(SUITES, key=lambda s: (not s.always, not focused.get(s.name))):
        selected, reason = why(suite, index, proven)
        limit = focus_budget if focused.get(suite.name) else budget
        if selected and focused.get(suite.name):
            reason += ' (its focus: %s)' % ', '.join(focused[suite.name][:3])
        if suite.always and not selected:
            selected, reason = True, 'always run; ' + reason
        if suite.name in forced:
            print('[impact] %-20s run : forced by DATAPLANE_CI_SUITES; %s' % (suite.name, reason), file=out)
            chosen.append(suite.name)
            minutes += (proven.get(suite.name, {}).get('seconds') or suite.minutes * 60) / 60.0
            continue
        cost = (proven.get(suite.name, {}).get('seconds') or suite.minutes * 60) / 60.0
        if selected and not suite.ci:
            over.append(suite.name)
            print('[impact] %-20s NOT RUN (not set up in CI): %s' % (suite.name, reason), file=out)
            continue
        is_focus = bool(focused.get(suite.name))
        total_limit = focus_budget if (is_focus or any(focused.get(n) for n in chosen)) else budget
        fits = minutes + cost <= total_limit and (is_focus or shared + cost <= budget)
        if selected and not suite.always and not fits:
            over.append(suite.name)
            print('[impact] %-20s NOT RUN (needs ~%.0f min, over the CI budget of %d min): %s' % (
                suite.name, cost, limit, reason), file=out)
            continue
        print('[impact] %-20s %s: %s' % (suite.name, 'run ' if selected else 'skip', reason), file=out)
        if selected:
            chosen.append(suite.name)
            minutes += cost
            shared += 0 if is_focus else cost
    print('[impact] selected: %s (about %.0f min of VM time by the last measured runs)' % (' '.join(chosen), minutes),
          file=out)
    if over:
        print('[impact] WARNING: not proven by this run: %s. Run `make test-vm-all` (it records them in %s) and commit '
              'the manifest.' % (' '.join(over), MANIFEST), file=out)
    return [s.name for s in SUITES if s.name in chosen]


def suite_of(nodeid):
    """The suite a collected pytest item belongs to, or None."""
    path = nodeid.split('::', 1)[0]
    if path.endswith('tests/vm/test_scenarios.py') or path == 'tests/vm/test_scenarios.py':
        found = re.search(r'\[([a-z0-9_-]+)\]', nodeid)
        return found.group(1) if found and found.group(1) in BY_NAME else None
    for suite in SUITES:
        if any(path.endswith(t) for t in suite.tests):
            return suite.name
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sel = sub.add_parser('select', help='print the suites to run')
    sel.add_argument('--ci', action='store_true', help='only the always-run suites and those not proven')
    show = sub.add_parser('show', help="print a suite's inputs")
    show.add_argument('suite', choices=sorted(BY_NAME))
    args = parser.parse_args(argv)
    if args.command == 'select':
        print(' '.join(select(ci=args.ci)))
    else:
        print('\n'.join(suite_inputs(BY_NAME[args.suite], Index())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
