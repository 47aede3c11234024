# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installing the boot-time applier: plan on an empty and a converged root, apply with a recorded systemctl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.dataplane.node.plugins.module_utils import _boot_install as bi

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
UTILS = os.path.join(REPO, 'plugins', 'module_utils')
SOURCES = dict((n, open(os.path.join(UTILS, n + '.py')).read()) for n in bi.APPLIER_MODULES)
LIB = '/usr/lib/dataplane-node'
STATE = '/etc/dataplane-node/state.d'


def enable_like_systemctl(root, before_units):
    """What `systemctl enable` leaves for both units (checked against systemctl --root on a Debian host)."""
    for link, unit in bi.wanted_links(before_units).items():
        path = os.path.join(root, link)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink('/etc/systemd/system/' + unit, path)


def converge(root, before_units=('kubelet.service',), state_files=None, modules_load=None, install=True):
    commands = []

    def run(argv):
        commands.append(argv)
        if argv[:2] == ['systemctl', 'reenable']:
            enable_like_systemctl(root, before_units)
        return 0, '', ''

    planned = bi.plan(root, install, LIB, STATE, list(before_units), SOURCES, state_files or {}, modules_load or {})
    bi.apply(root, planned, run)
    return planned, commands


def test_fresh_node_gets_code_units_dropin_state_and_enable(tmp_path):
    root = str(tmp_path)
    state = {'hugepages': {'pools': {'2048': {'0': 64}}, 'retries': 2}}
    planned, commands = converge(root, state_files={'10-hugepages.json': state})
    assert sorted(planned['files']) == sorted(
        ['usr/lib/dataplane-node/%s/%s.py' % (bi.LIB_PACKAGE, n) for n in bi.APPLIER_MODULES]
        + ['usr/lib/dataplane-node/dataplane_node_apply.py', 'etc/systemd/system/dataplane-node.service',
           'etc/systemd/system/dataplane-node-devices.service',
           'etc/systemd/system/kubelet.service.d/10-dataplane-node.conf',
           'etc/dataplane-node/state.d/10-hugepages.json'])
    assert commands == [['systemctl', 'daemon-reload'],
                        ['systemctl', 'reenable', 'dataplane-node.service', 'dataplane-node-devices.service']]
    with open(os.path.join(root, 'etc/dataplane-node/state.d/10-hugepages.json')) as handle:
        assert json.load(handle) == state
    with open(os.path.join(root, 'usr/lib/dataplane-node', bi.LIB_PACKAGE, '_host.py')) as handle:
        assert handle.read() == SOURCES['_host']
    unit = open(os.path.join(root, 'etc/systemd/system/dataplane-node.service')).read()
    assert 'Before=kubelet.service sysinit.target shutdown.target\n' in unit
    assert 'RequiredBy=kubelet.service\n' in unit and 'WantedBy=sysinit.target\n' in unit
    assert ('ExecStart=/usr/bin/python3 /usr/lib/dataplane-node/dataplane_node_apply.py early '
            '/etc/dataplane-node/state.d\n') in unit
    dropin = open(os.path.join(root, 'etc/systemd/system/kubelet.service.d/10-dataplane-node.conf')).read()
    assert 'After=dataplane-node.service dataplane-node-devices.service\n' in dropin
    assert 'Requires=dataplane-node.service dataplane-node-devices.service\n' in dropin


def test_converged_node_plans_nothing(tmp_path):
    root = str(tmp_path)
    state = {'sriov': {'pfs': [], 'timeout': 60}}
    converge(root, state_files={'20-sriov.json': state}, modules_load={'dataplane-node-vfio.conf': ['vfio-pci']})
    planned, commands = converge(root, state_files={'20-sriov.json': state},
                                 modules_load={'dataplane-node-vfio.conf': ['vfio-pci']})
    assert (planned['files'], commands, planned['reasons']) == ({}, [], [])
    with open(os.path.join(root, 'etc/modules-load.d/dataplane-node-vfio.conf')) as handle:
        assert [l for l in handle.read().splitlines() if not l.startswith('#')] == ['vfio-pci']


def test_a_missing_enable_symlink_or_a_new_before_unit_re_enables(tmp_path):
    root = str(tmp_path)
    converge(root)
    os.unlink(os.path.join(root, 'etc/systemd/system/sysinit.target.wants/dataplane-node.service'))
    planned = bi.plan(root, True, LIB, STATE, ['kubelet.service'], SOURCES, {}, {})
    assert planned['files'] == {}
    assert planned['reasons'] == ['dataplane-node.service is not enabled '
                                  '(/etc/systemd/system/sysinit.target.wants/dataplane-node.service)']
    assert planned['commands'][-1][:2] == ['systemctl', 'reenable']
    planned = bi.plan(root, True, LIB, STATE, ['kubelet.service', 'crio.service'], SOURCES, {}, {})
    assert 'etc/systemd/system/crio.service.d/10-dataplane-node.conf' in planned['files']
    assert planned['reasons'][0] == 'unit files changed'


def test_without_install_only_state_and_removal(tmp_path):
    root = str(tmp_path)
    converge(root, state_files={'10-hugepages.json': {'hugepages': {'pools': {}}}})
    planned, commands = converge(root, install=False, state_files={'10-hugepages.json': None},
                                 modules_load={'dataplane-node-vfio.conf': []})
    assert list(planned['files']) == ['etc/dataplane-node/state.d/10-hugepages.json']
    assert commands == []
    assert not os.path.exists(os.path.join(root, 'etc/dataplane-node/state.d/10-hugepages.json'))
    assert os.path.exists(os.path.join(root, 'etc/systemd/system/dataplane-node.service'))


def test_bad_input_is_refused_before_anything(tmp_path):
    with pytest.raises(bi.InstallError) as err:
        bi.plan(str(tmp_path), True, 'relative/lib', STATE, ['kubelet.service; rm -rf /'], SOURCES,
                {'../x.json': {}}, {'vfio.conf': ['vfio pci']})
    assert err.value.problems == [
        "lib_dir must be an absolute path without spaces or \"..\", got 'relative/lib'",
        "before_units: 'kubelet.service; rm -rf /' is not a systemd unit name",
        "state_files: '../x.json' is not a file name ending in .json",
        "modules_load: 'vfio pci' is not a kernel module name"]
    assert os.listdir(str(tmp_path)) == []


def test_failed_systemctl_is_reported_and_the_files_put_back(tmp_path):
    planned = bi.plan(str(tmp_path), True, LIB, STATE, ['kubelet.service'], SOURCES, {}, {})
    with pytest.raises(bi.InstallError) as err:
        bi.apply(str(tmp_path), planned, lambda argv: (1, '', 'Failed to connect to bus'))
    assert str(err.value) == ('systemctl daemon-reload failed (rc=1): Failed to connect to bus; the %d files written '
                              'were put back as they were' % len(planned['files']))
    # units without their code (or the reverse) never stay behind: the tree holds no file, only directories
    assert [f for _d, _s, files in os.walk(str(tmp_path)) for f in files] == []


def test_a_failed_update_restores_the_installed_version_and_drops_no_backups(tmp_path):
    root = str(tmp_path)
    bi.apply(root, bi.plan(root, True, LIB, STATE, ['kubelet.service'], SOURCES, {}, {}), lambda argv: (0, '', ''))
    before = dict((os.path.join(d, f), open(os.path.join(d, f)).read())
                  for d, _s, files in os.walk(root) for f in files)
    newer = dict(SOURCES, _host=SOURCES['_host'] + '\n# a newer collection\n')
    planned = bi.plan(root, True, LIB, STATE, ['kubelet.service', 'crio.service'], newer, {}, {})
    assert planned['files'] and planned['commands']
    with pytest.raises(bi.InstallError):
        bi.apply(root, planned, lambda argv: (1, '', 'Failed to connect to bus'))
    after = dict((os.path.join(d, f), open(os.path.join(d, f)).read())
                 for d, _s, files in os.walk(root) for f in files if '.dataplane-node.bak' not in f)
    assert after == before
    # a successful run leaves no backup of the files it generates
    bi.apply(root, planned, lambda argv: (0, '', ''))
    assert not [f for _d, _s, files in os.walk(root) for f in files if f.endswith('.bak')]


def test_installed_entry_point_runs_the_applier(tmp_path):
    """The installed tree runs on its own (no Ansible on the path): the entry point applies an empty state dir."""
    root = str(tmp_path / 'root')
    converge(root, state_files={})
    lib = os.path.join(root, 'usr/lib/dataplane-node')
    state_dir = str(tmp_path / 'state.d')
    os.makedirs(state_dir)
    proc = subprocess.run([sys.executable, '-S', os.path.join(lib, 'dataplane_node_apply.py'), 'early', state_dir],
                          env={'PYTHONPATH': lib}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert (proc.returncode, proc.stderr) == (0, b'')
    proc = subprocess.run([sys.executable, '-S', os.path.join(lib, 'dataplane_node_apply.py'), 'late', state_dir],
                          env={'PYTHONPATH': lib}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert (proc.returncode, proc.stderr) == (2, b"dataplane-node: unknown phase 'late' (early, devices)\n")


def _tree(root):
    found = {}
    for top, _dirs, files in os.walk(root):
        for name in files + _dirs:
            path = os.path.join(top, name)
            if os.path.islink(path):  # the enable symlinks point at /etc/systemd/system, outside the tree
                found[os.path.relpath(path, root)] = os.readlink(path)
            elif name in files:
                with open(path, 'rb') as handle:
                    found[os.path.relpath(path, root)] = handle.read()
    return found


def test_one_merged_call_leaves_the_node_as_the_roles_calls_in_turn(tmp_path):
    """site.yml's one boot_applier call (merge_requests of the hugepages and sriov roles' requests) writes what the
    two roles' own calls write one after the other; the install and the before units of either role count."""
    hugepages = dict(install=True, before_units=['kubelet.service'],
                     state_files={'10-hugepages.json': {'hugepages': {'pools': {'2048': {'0': 64}}, 'retries': 2}}})
    sriov = dict(install=True, before_units=['kubelet.service', 'crio.service'],
                 state_files={'20-sriov.json': {'sriov': {'pfs': [], 'timeout': 60}}},
                 modules_load={'dataplane-node-vfio.conf': ['vfio-pci']})
    apart, together = str(tmp_path / 'apart'), str(tmp_path / 'together')
    # The roles' own calls: the later one installs nothing more (dataplane_node_boot_applier_installed), so its
    # before units are those of the first role plus the ones it adds here: give both to the first call.
    converge(apart, before_units=['kubelet.service', 'crio.service'], state_files=hugepages['state_files'])
    converge(apart, install=False, before_units=sriov['before_units'], state_files=sriov['state_files'],
             modules_load=sriov['modules_load'])
    merged = bi.merge_requests(bi.merge_requests(None, **hugepages), **sriov)
    assert merged['before_units'] == ['kubelet.service', 'crio.service'] and merged['install'] is True
    planned, commands = converge(together, **merged)
    assert _tree(together) == _tree(apart)
    assert commands[-1] == ['systemctl', 'reenable', 'dataplane-node.service', 'dataplane-node-devices.service']
    assert converge(together, **merged)[0]['files'] == {}


def test_merge_requests_by_name_and_any_install():
    first = bi.merge_requests(None, install=False, before_units=['kubelet.service'],
                              state_files={'10-hugepages.json': None})
    assert first == {'install': False, 'before_units': ['kubelet.service'],
                     'state_files': {'10-hugepages.json': None}, 'modules_load': {}}
    second = bi.merge_requests(first, install=True, before_units=['crio.service', 'kubelet.service'],
                               state_files={'20-sriov.json': {'sriov': {}}},
                               modules_load={'dataplane-node-vfio.conf': []})
    assert second == {'install': True, 'before_units': ['kubelet.service', 'crio.service'],
                      'state_files': {'10-hugepages.json': None, '20-sriov.json': {'sriov': {}}},
                      'modules_load': {'dataplane-node-vfio.conf': []}}
    assert first['state_files'] == {'10-hugepages.json': None}  # the input is not changed
