# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installing the boot-time applier and its state files: what should be on the node, as data, then one writer.

Private to the dataplane.node collection: names may change without notice.

The applier is the collection's own module_utils (the same planning and read-back code the modules run), an entry
point, two oneshot units and a drop-in per unit that must start after them (see _boot_apply). plan() compares what
should be there with what is, file by file and symlink by symlink, so a converged node costs one read pass and no
write; apply() writes the differences and, when a unit changed or is not enabled, reloads systemd and re-enables the
units (re-enabling also removes the symlinks of units no longer listed in RequiredBy=).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.dataplane.node.plugins.module_utils._change import (
    ChangeError, Command, Context, FileWrite, run_steps)
from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS, HostRootError

# The module_utils the applier imports (itself and what it needs), installed under LIB_PACKAGE.
APPLIER_MODULES = ('_parse', '_host', '_apply', '_change', '_hugepages', '_netstack', '_pci', '_boot_apply')
LIB_PACKAGE = 'ansible_collections/dataplane/node/plugins/module_utils'
ENTRY_POINT = 'dataplane_node_apply.py'
UNIT_DIR = 'etc/systemd/system'
MODULES_LOAD_DIR = 'etc/modules-load.d'
EARLY_UNIT = 'dataplane-node.service'
DEVICES_UNIT = 'dataplane-node-devices.service'
DROPIN = '10-dataplane-node.conf'
MANAGED = '# Managed by dataplane.node (boot applier): edits are overwritten at the next run.'
# (unit, WantedBy target): the symlinks `systemctl enable` makes besides RequiredBy=.
WANTED_BY = ((EARLY_UNIT, 'sysinit.target'), (DEVICES_UNIT, 'multi-user.target'))

_UNIT_NAME = re.compile(r'^[A-Za-z0-9:_.@\-]+\.(service|target|socket|mount|path|timer|slice|scope)$')
_FILE_NAME = re.compile(r'^[A-Za-z0-9_.\-]+$')
_KMOD_NAME = re.compile(r'^[A-Za-z0-9_\-]+$')


class InstallError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


def merge_requests(current, install=False, before_units=(), state_files=None, modules_load=None):
    """One boot_applier call's arguments from several roles' requests (site.yml persists a run once).

    current: the merged request so far (or None); the rest is one role's request. The applier is installed when any
    role asks; before_units are the union in first-seen order (each role's units must start after the applier);
    state files and modules-load files are by name, so roles keep to their own names (a later role's entry for the
    same name replaces the earlier one, as a later call would have).
    """
    merged = dict(current or {})
    units = list(merged.get('before_units') or [])
    units.extend(u for u in (before_units or []) if u not in units)
    files = dict(merged.get('state_files') or {})
    files.update(state_files or {})
    loads = dict(merged.get('modules_load') or {})
    loads.update(modules_load or {})
    return {'install': bool(merged.get('install')) or bool(install), 'before_units': units,
            'state_files': files, 'modules_load': loads}


def entry_point_text():
    return '\n'.join((
        '#!/usr/bin/python3',
        MANAGED,
        '"""Entry point of the dataplane-node units: apply the state files with the collection\'s own code.',
        '',
        '    python3 %s early|devices [STATE_DIR]   (PYTHONPATH holds ansible_collections/...)' % ENTRY_POINT,
        '"""',
        'import sys',
        '',
        'from ansible_collections.dataplane.node.plugins.module_utils._boot_apply import main',
        '',
        'if __name__ == \'__main__\':',
        '    sys.exit(main(sys.argv[1:]))',
        ''))


def early_unit_text(before_units, lib_dir, state_dir):
    before = ' '.join(before_units)
    return '\n'.join((
        MANAGED,
        '# Re-applies runtime dataplane state (hugepages per NUMA node, THP) from %s' % state_dir,
        '# at every boot, before %s; fails when the kernel gave less.' % (', '.join(before_units) or 'sysinit.target'),
        '[Unit]',
        'Description=dataplane.node runtime state (hugepages per NUMA node), read back',
        'DefaultDependencies=no',
        'After=local-fs.target systemd-sysctl.service systemd-modules-load.service',
        'Before=%s' % ' '.join(list(before_units) + ['sysinit.target', 'shutdown.target']),
        'Conflicts=shutdown.target',
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'Environment=PYTHONPATH=%s' % lib_dir,
        'ExecStart=/usr/bin/python3 %s/%s early %s' % (lib_dir, ENTRY_POINT, state_dir),
        '',
        '[Install]',
        'WantedBy=sysinit.target',
    ) + (('RequiredBy=%s' % before,) if before_units else ()) + ('',))


def devices_unit_text(before_units, lib_dir, state_dir):
    before = ' '.join(before_units)
    return '\n'.join((
        MANAGED,
        '# Re-creates SR-IOV VFs and driver bindings (vfio-pci) from %s at every boot,' % state_dir,
        '# once udev has probed the NICs, before %s; fails when a read-back is short.' % (
            ', '.join(before_units) or 'network-pre.target'),
        '[Unit]',
        'Description=dataplane.node devices (SR-IOV VFs, driver bindings), read back',
        'After=dataplane-node.service systemd-udev-settle.service systemd-modules-load.service',
        'Wants=systemd-udev-settle.service',
        'Before=%s' % ' '.join(list(before_units) + ['network-pre.target']),
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'Environment=PYTHONPATH=%s' % lib_dir,
        'ExecStart=/usr/bin/python3 %s/%s devices %s' % (lib_dir, ENTRY_POINT, state_dir),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
    ) + (('RequiredBy=%s' % before,) if before_units else ()) + ('',))


def dropin_text():
    return '\n'.join((
        MANAGED,
        '# Start only after dataplane.node applied hugepages, VFs and driver bindings, and not without them.',
        '[Unit]',
        'After=%s %s' % (EARLY_UNIT, DEVICES_UNIT),
        'Requires=%s %s' % (EARLY_UNIT, DEVICES_UNIT),
        ''))


def state_text(content):
    """A state file as the applier reads it (JSON, stable order, so an unchanged state compares equal)."""
    return json.dumps(content, indent=4, sort_keys=True) + '\n'


def modules_load_text(modules):
    return MANAGED + '\n# Kernel modules the boot-time applier needs for the devices it binds.\n' + ''.join(
        m + '\n' for m in modules)


def validate(lib_dir, state_dir, before_units, state_files, modules_load):
    problems = []
    for name, path in (('lib_dir', lib_dir), ('state_dir', state_dir)):
        if not path.startswith('/') or any(c.isspace() for c in path) or '..' in path.split('/'):
            problems.append('%s must be an absolute path without spaces or "..", got %r' % (name, path))
    for unit in before_units:
        if not _UNIT_NAME.match(unit):
            problems.append('before_units: %r is not a systemd unit name' % unit)
    for name in state_files:
        if not _FILE_NAME.match(name) or not name.endswith('.json'):
            problems.append('state_files: %r is not a file name ending in .json' % name)
    for name, modules in modules_load.items():
        if not _FILE_NAME.match(name) or not name.endswith('.conf'):
            problems.append('modules_load: %r is not a file name ending in .conf' % name)
        for module in modules or ():
            if not _KMOD_NAME.match(module):
                problems.append('modules_load: %r is not a kernel module name' % module)
    if problems:
        raise InstallError(problems)


def wanted_files(install, lib_dir, state_dir, before_units, sources, state_files, modules_load):
    """{rel path: text or None (absent)} of everything this call manages; sources: {module name: source text}."""
    files = {}
    if install:
        lib = lib_dir.strip('/')
        for name in APPLIER_MODULES:
            files['%s/%s/%s.py' % (lib, LIB_PACKAGE, name)] = sources[name]
        files['%s/%s' % (lib, ENTRY_POINT)] = entry_point_text()
        files['%s/%s' % (UNIT_DIR, EARLY_UNIT)] = early_unit_text(before_units, lib_dir, state_dir)
        files['%s/%s' % (UNIT_DIR, DEVICES_UNIT)] = devices_unit_text(before_units, lib_dir, state_dir)
        for unit in before_units:
            files['%s/%s.d/%s' % (UNIT_DIR, unit, DROPIN)] = dropin_text()
    for name, content in state_files.items():
        files['%s/%s' % (state_dir.strip('/'), name)] = None if content is None else state_text(content)
    for name, modules in modules_load.items():
        files['%s/%s' % (MODULES_LOAD_DIR, name)] = modules_load_text(modules) if modules else None
    return files


def wanted_links(before_units):
    """Symlinks `systemctl enable` makes for both units: {rel path of the link: unit it points to}."""
    links = {}
    for unit, target in WANTED_BY:
        links['%s/%s.wants/%s' % (UNIT_DIR, target, unit)] = unit
        for before in before_units:
            links['%s/%s.requires/%s' % (UNIT_DIR, before, unit)] = unit
    return links


def _read(root, rel):
    """The file's text through the host model; None when it (or the root itself, before a first install into an
    image tree) is missing."""
    try:
        return HostFS(root).read(rel)
    except HostRootError:
        return None


def plan(root, install, lib_dir, state_dir, before_units, sources, state_files, modules_load):
    """What to change: {'files': {rel: (before text or None, after text or None)}, 'commands': [argv], 'reasons'}.

    Only differing files are listed. systemd is reloaded when a unit or drop-in changes, and the units re-enabled
    (reasons say why) when a unit file changes or a symlink `systemctl enable` would make is missing or wrong."""
    validate(lib_dir, state_dir, before_units, state_files, modules_load)
    changes = {}
    for rel, text in sorted(wanted_files(install, lib_dir, state_dir, before_units, sources, state_files,
                                         modules_load).items()):
        current = _read(root, rel)
        if current != text:
            changes[rel] = (current, text)
    reasons = []
    units = set('%s/%s' % (UNIT_DIR, u) for u, _target in WANTED_BY)
    if install:
        if units & set(changes):
            reasons.append('unit files changed')
        for link, unit in sorted(wanted_links(before_units).items()):
            path = os.path.join(root, link)
            if not os.path.islink(path) or os.path.basename(os.readlink(path)) != unit:
                reasons.append('%s is not enabled (/%s)' % (unit, link))
    commands = []
    if reasons or any(r.startswith(UNIT_DIR + '/') for r in changes):
        commands.append(['systemctl', 'daemon-reload'])
    if reasons:
        commands.append(['systemctl', 'reenable', EARLY_UNIT, DEVICES_UNIT])
    return {'files': changes, 'commands': commands, 'reasons': reasons}


def apply(root, planned, run):
    """Write the planned files (atomically), then reload systemd and re-enable the units when needed; when a
    command fails, every file is put back as it was (the units, the state files and the code stay one version).

    run(argv) -> (rc, out, err). Returns the commands run; raises InstallError when one fails."""
    steps = [FileWrite(rel, text, keep_backup=False) for rel, (_before, text) in sorted(planned['files'].items())]
    steps += [Command(argv) for argv in planned['commands']]
    try:
        run_steps(steps, Context(root, run))
    except ChangeError as exc:
        undone = exc.record['undone'] if exc.record else []
        raise InstallError(exc.problems + (['the %d files written were put back as they were' % len(undone)]
                                           if undone else []))
    return planned['commands']
