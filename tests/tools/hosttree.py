# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host trees as text: record what the host model reads, write it back as a directory.

A tree file holds one entry per line, paths relative to the host root:

    d sys/kernel/iommu_groups
    l sys/bus/pci/devices/0000:00:02.0 ../../../devices/pci0000:00/0000:00:02.0
    f proc/cmdline "BOOT_IMAGE=/vmlinuz root=LABEL=root\\n"

File contents are JSON strings. Files and directories sit at their real
(symlink-resolved) paths, and every symlink on the way is kept, so the tree
behaves like the live host for the paths the model reads and nothing else.
Capturing through the model itself (RecordingFS) keeps fixtures in step with
what the code reads: no hand-kept list of paths to drift.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import posixpath

HEADER = '# dataplane.node host tree v1'


def write_tree(dest, entries):
    """Materialize {'dirs': set, 'links': {path: target}, 'files': {path: text}} under dest."""
    os.makedirs(dest, exist_ok=True)
    for rel in sorted(entries['dirs']):
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
    # Parents before children: a link may live inside a linked directory.
    for rel in sorted(entries['links'], key=lambda p: p.count('/')):
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            os.symlink(entries['links'][rel], path)
    for rel, text in sorted(entries['files'].items()):
        path = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(text)
    return dest


def load_tree(tree_file, dest):
    """Materialize a tree file under dest; returns dest."""
    return write_tree(dest, parse_tree(tree_file))


def parse_tree(tree_file):
    entries = {'dirs': set(), 'links': {}, 'files': {}}
    with open(tree_file) as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            kind, _sep, rest = line.partition(' ')
            if kind == 'd':
                entries['dirs'].add(rest)
            elif kind == 'l':
                path, _sep, target = rest.partition(' ')
                entries['links'][path] = target
            elif kind == 'f':
                path, _sep, text = rest.partition(' ')
                entries['files'][path] = json.loads(text)
            else:
                raise ValueError('%s:%d: unknown entry kind %r' % (tree_file, number, kind))
    return entries


def dump_tree(entries, handle, comment=None):
    handle.write(HEADER + '\n')
    if comment:
        handle.write('# %s\n' % comment)
    for rel in sorted(entries['dirs']):
        handle.write('d %s\n' % rel)
    for rel in sorted(entries['links']):
        handle.write('l %s %s\n' % (rel, entries['links'][rel]))
    for rel in sorted(entries['files']):
        handle.write('f %s %s\n' % (rel, json.dumps(entries['files'][rel])))


def make_recording_fs(base_class):
    """A HostFS subclass that records every path it touches (built lazily: HostFS lives in the collection)."""

    class RecordingFS(base_class):
        def __init__(self, root='/'):
            base_class.__init__(self, root)
            self.entries = {'dirs': set(), 'links': {}, 'files': {}}

        # -- recording helpers
        def _real(self, rel, depth=0):
            """Resolve rel component by component, recording each symlink; returns the real relative path."""
            if depth > 40:
                return rel
            current = ''
            parts = [p for p in rel.split('/') if p]
            for index, part in enumerate(parts):
                current = posixpath.join(current, part) if current else part
                full = os.path.join(self.root, current)
                if os.path.islink(full):
                    target = os.readlink(full)
                    self.entries['links'][current] = _relative_target(current, target)
                    resolved = _resolve(current, target)
                    rest = '/'.join(parts[index + 1:])
                    return self._real(posixpath.join(resolved, rest) if rest else resolved, depth + 1)
            return current

        def _note_kind(self, rel):
            real = self._real(rel)
            full = os.path.join(self.root, real)
            if os.path.isdir(full):
                self.entries['dirs'].add(real)
            elif os.path.isfile(full):
                self.entries['files'].setdefault(real, '')
            return real

        # -- HostFS interface
        def read(self, rel):
            text = base_class.read(self, rel)
            if text is not None:
                self.entries['files'][self._real(rel)] = text
            return text

        def read_head(self, rel, size=8192):
            text = base_class.read_head(self, rel, size)
            if text is not None:
                # Keep whole lines of the first block only: enough for every reader of a head.
                self.entries['files'][self._real(rel)] = text.split('\n\n', 1)[0] + '\n'
            return text

        def listdir(self, rel):
            names = base_class.listdir(self, rel)
            if names or os.path.isdir(os.path.join(self.root, rel)):
                real = self._real(rel)
                self.entries['dirs'].add(real)
                for name in names:
                    self._note_kind(posixpath.join(real, name))
            return names

        def names(self, rel):
            return set(self.listdir(rel))

        def readlink(self, rel):
            target = base_class.readlink(self, rel)
            if target is not None:
                self._note_kind(rel)
            return target

        def exists(self, rel):
            found = base_class.exists(self, rel)
            if found:
                self._note_kind(rel)
            return found

        def isdir(self, rel):
            found = base_class.isdir(self, rel)
            if found:
                self._note_kind(rel)
            return found

    return RecordingFS


def _resolve(link_rel, target):
    if target.startswith('/'):
        return posixpath.normpath(target.lstrip('/')) or '.'
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link_rel), target))
    while resolved.startswith('../'):
        resolved = resolved[3:]  # the kernel clamps '..' at '/', and so does the tree
    return resolved


def _relative_target(link_rel, target):
    """Absolute targets would point out of the tree: make them relative to the link."""
    if not target.startswith('/'):
        return target
    return posixpath.relpath(target.lstrip('/') or '.', posixpath.dirname(link_rel) or '.')
