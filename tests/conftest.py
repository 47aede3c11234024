# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the repository importable as ansible_collections.dataplane.node for plain pytest runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, '.build', 'collections')


def _link_collection():
    link = os.path.join(COLLECTIONS, 'ansible_collections', 'dataplane', 'node')
    if os.path.realpath(link) == REPO:
        return
    # Running from an installed collection tree already: nothing to link.
    if os.path.basename(os.path.dirname(os.path.dirname(REPO))) == 'ansible_collections':
        return
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(REPO, link)


_link_collection()
for path in (COLLECTIONS, os.path.join(REPO, 'tests', 'tools')):
    if path not in sys.path:
        sys.path.insert(0, path)


# --- VM suites: selection by DATAPLANE_VM_SUITES and the proven-inputs manifest (tests/vm/impact.py) ---------------
sys.path.insert(0, os.path.join(REPO, 'tests', 'vm'))
import impact  # noqa: E402  pylint: disable=wrong-import-position

_SUITE_RUNS = {}


def pytest_collection_modifyitems(config, items):
    """Deselect the items of VM suites that DATAPLANE_VM_SUITES (when set) does not name; fingerprint the rest."""
    wanted = os.environ.get('DATAPLANE_VM_SUITES')
    keep, drop = [], []
    for item in items:
        suite = impact.suite_of(item.nodeid)
        (drop if suite and wanted is not None and suite not in wanted.split() else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    suites = sorted(set(filter(None, (impact.suite_of(item.nodeid) for item in items))))
    if suites and _records_allowed(config):
        index = impact.Index(REPO)
        # The inputs as they were when the run started: an edit during a long run must not be recorded as proven.
        for name in suites:
            _SUITE_RUNS[name] = {'start': impact.fingerprint(impact.BY_NAME[name], index)[0], 'ok': True,
                                 'seconds': 0.0, 'tests': 0}


def _records_allowed(config):
    """Only a full run of a suite proves it: no -k/-m filter, no single test picked, recording not turned off."""
    if os.environ.get('DATAPLANE_RECORD_PROVEN', '1') == '0':
        return False
    # getattr: --lf exists only with the cache provider plugin (absent under -p no:cacheprovider)
    if any(getattr(config.option, name, None) for name in ('keyword', 'markexpr', 'lf', 'deselect')):
        return False
    return not any('::' in str(arg) for arg in config.args)


def pytest_runtest_logreport(report):
    run = _SUITE_RUNS.get(impact.suite_of(report.nodeid) or '')
    if run is None:
        return
    run['seconds'] += report.duration
    run['tests'] += report.when == 'call'
    if report.failed or report.skipped:
        run['ok'] = False


def pytest_sessionfinish(session, exitstatus):
    passed = [name for name, run in sorted(_SUITE_RUNS.items()) if run['ok'] and run['tests']]
    if not passed:
        return
    index = impact.Index(REPO)
    still = [n for n in passed if impact.fingerprint(impact.BY_NAME[n], index)[0] == _SUITE_RUNS[n]['start']]
    for name in sorted(set(passed) - set(still)):
        print('\n[impact] %s passed, but its inputs changed during the run: not recorded as proven' % name)
    if still:
        impact.record(still, dict((n, _SUITE_RUNS[n]['seconds']) for n in still), REPO, how='pytest')
        print('\n[impact] recorded as proven in %s: %s' % (impact.MANIFEST, ' '.join(still)))
