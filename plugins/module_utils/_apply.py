# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer: files with backups, then commands; on a failed command the files go back.

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import time


class ApplyError(Exception):
    def __init__(self, msg, record):
        Exception.__init__(self, msg)
        self.record = record


def write_atomic(path, text, mode=0o644):
    """Write through a temp file in the same directory and rename: never a half-written config."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.dataplane-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        if os.path.exists(path):
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# Backups that must not sit beside their file, so they go under BACKUP_DIR: grub-mkconfig runs every executable
# in /etc/grub.d (a `.bak` included), which would put a removed entry back into grub.cfg; and the collection's own
# state directory holds only current state.
EXECUTED_DIRS = ('etc/grub.d/', 'var/lib/dataplane-node/')
BACKUP_DIR = 'var/backups/dataplane-node'


def backup_path(path, stamp=None, root=None, rel=None):
    stamp = stamp or time.strftime('%Y%m%d-%H%M%S')
    if root is not None and rel is not None and rel.startswith(EXECUTED_DIRS):
        return os.path.join(root, BACKUP_DIR, '%s.%s.dataplane-node.bak' % (rel, stamp))
    return '%s.%s.dataplane-node.bak' % (path, stamp)


def apply_files_then_commands(root, files, commands, run, modes=None):
    """files: {rel path: text or None (remove)}; commands: [argv]. Returns a record of what was done.

    modes: {rel path: mode} for new files (existing ones keep theirs).
    Every existing file is copied to a backup first. If a command fails, each file is put back
    (restored from its backup, or removed when it did not exist) and ApplyError is raised with
    the command's output; the boot loader's own config stays as the failed tool left it, which
    for grub-mkconfig/update-grub is the previous one (they check the new file before replacing).
    """
    record = {'files': [], 'backups': [], 'commands': [], 'restored': []}
    originals = {}
    stamp = time.strftime('%Y%m%d-%H%M%S')
    for rel, text in sorted(files.items()):
        path = os.path.join(root, rel)
        if os.path.exists(path):
            backup = backup_path(path, stamp, root, rel)
            if not os.path.isdir(os.path.dirname(backup)):
                os.makedirs(os.path.dirname(backup))
            shutil.copy2(path, backup)
            record['backups'].append(backup)
            originals[path] = backup
        else:
            originals[path] = None
        if text is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            write_atomic(path, text, (modes or {}).get(rel, 0o644))
        record['files'].append(path)
    for argv in commands:
        rc, out, err = run(argv)
        record['commands'].append({'argv': argv, 'rc': rc})
        if rc != 0:
            for path, backup in originals.items():
                if backup is None:
                    if os.path.exists(path):
                        os.unlink(path)
                else:
                    shutil.copy2(backup, path)
                record['restored'].append(path)
            raise ApplyError('%s failed (rc=%d); restored %s. Output: %s' % (
                ' '.join(argv), rc, ', '.join(record['restored']) or 'nothing', (err or out).strip()[-2000:]), record)
    return record


class WriteError(Exception):
    pass


class SysfsWriter:
    """Writes kernel attributes (sysfs/procfs) under a root; never creates files: a missing
    attribute means the kernel lacks the feature, which must be an error, not a new file."""

    def __init__(self, root='/'):
        self.prefix = root.rstrip('/') + '/'
        self.writes = []

    def write(self, rel, text, ignore_errors=False):
        try:
            fd = os.open(self.prefix + rel, os.O_WRONLY | os.O_TRUNC)
        except OSError as exc:
            if ignore_errors:
                return False
            raise WriteError('cannot open /%s for writing: %s' % (rel, exc.strerror))
        try:
            os.write(fd, text.encode('ascii'))
        except OSError as exc:
            if ignore_errors:
                return False
            raise WriteError('writing %r to /%s failed: %s' % (text.strip(), rel, exc.strerror))
        finally:
            os.close(fd)
        self.writes.append((rel, text.strip()))
        return True
