# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One-time (trial) boot entries: pure helpers over GRUB's own files.

Private to the dataplane.node collection: names may change without notice.

A trial boot copies the entry GRUB boots by default, edits the arguments of its `linux`
line, and asks GRUB to boot it once (`grub-reboot`: `next_entry` in grubenv). GRUB clears
`next_entry` before it loads the kernel, so a reset during a hung trial boots the
previous default. Nothing here reads or writes the host: callers pass file texts in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import shlex

from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import edit, key_of
from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError, kernel_tokens, split_grub_words)

TRIAL_ID = 'dataplane-node-trial'
TRIAL_TITLE = 'dataplane.node trial'
STATE_FILE = 'var/lib/dataplane-node/kernel-cmdline-trial.json'
LINUX_COMMANDS = ('linux', 'linux16', 'linuxefi')
# Block devices GRUB cannot write grubenv on: it then cannot clear next_entry at boot, and the
# "one-time" entry would be booted again and again.
GRUBENV_UNWRITABLE_FSTYPES = ('btrfs', 'zfs')
GRUBENV_UNWRITABLE_SOURCES = (r'^/dev/mapper/', r'^/dev/dm-\d', r'^/dev/md', r'^/dev/disk/by-id/(dm|md)-')


class TrialError(Exception):
    pass


class MenuEntry:
    def __init__(self, kind, title, entry_id, header, body, children=None):
        self.kind = kind  # menuentry | submenu
        self.title = title
        self.id = entry_id
        self.header = header
        self.body = body  # lines between the braces, indentation removed
        self.children = children or []


def _header_words(line):
    try:
        words = shlex.split(line.strip().rstrip('{').strip())
    except ValueError:
        return None
    return words


def _entry_id(words):
    for index, word in enumerate(words[:-1]):
        if word in ('$menuentry_id_option', '${menuentry_id_option}', '--id'):
            return words[index + 1]
    return None


def parse_grub_menu(text):
    """grub.cfg -> top-level [MenuEntry] (submenus with their children). Only what grub-mkconfig
    generates is understood: a block opens on a line ending in `{` and closes on a line `}`."""
    root = []
    stack = [(None, root)]  # (entry or None for a non-menu block, list to append children to)
    for line in (text or '').splitlines():
        stripped = line.strip()
        if stripped.endswith('{') and not stripped.startswith('#'):
            words = _header_words(stripped)
            kind = words[0] if words else None
            if kind in ('menuentry', 'submenu') and len(words) > 1:
                entry = MenuEntry(kind, words[1], _entry_id(words), stripped, [])
                stack[-1][1].append(entry)
                stack.append((entry, entry.children))
            else:
                stack.append((None, []))
            continue
        if stripped == '}' and len(stack) > 1:
            stack.pop()
            continue
        current = stack[-1][0]
        if current is not None and current.kind == 'menuentry':
            current.body.append(stripped)
    return root


def resolve_default(menu, default, saved_entry=None):
    """The entry GRUB boots: GRUB_DEFAULT (index, id, title, 'a>b' path or 'saved' -> saved_entry)."""
    default = (default or '0').strip().strip('"\'')
    if default == 'saved':
        default = (saved_entry or '0').strip()
    entries = menu
    found = None
    for part in default.split('>'):
        found = None
        if part.isdigit():
            if int(part) < len(entries):
                found = entries[int(part)]
        else:
            found = next((e for e in entries if part in (e.id, e.title)), None)
        if found is None:
            raise TrialError('cannot find the default boot entry %r in grub.cfg' % default)
        entries = found.children
    if found.kind != 'menuentry':
        # GRUB boots a submenu's first entry.
        found = found.children[0] if found.children else None
    if found is None:
        raise TrialError('the default boot entry %r is an empty submenu' % default)
    return found


def linux_line(entry):
    """(line index, command, kernel path, args words) of an entry's linux line; the words are GRUB
    script words kept raw (dyndbg="module igb +p" stays one word, written back as it was)."""
    for index, line in enumerate(entry.body):
        words = line.split(None, 2)
        if words and words[0] in LINUX_COMMANDS and len(words) >= 2:
            try:
                args = split_grub_words(words[2] if len(words) > 2 else '')
            except ParseError as exc:
                raise TrialError('cannot read the linux line of boot entry %r: %s' % (entry.title, exc))
            return index, words[0], words[1], args
    raise TrialError('boot entry %r has no linux line' % entry.title)


def trial_args(current, present, absent, panic):
    """The trial entry's arguments: the default entry's, edited like the permanent change, plus
    panic=N so a kernel or initramfs failure reboots by itself into the previous default."""
    args = edit(current, present, absent)
    if panic and not any(key_of(t) == 'panic' for t in kernel_tokens(args)):
        args = edit(args, ['panic=%d' % panic], [])  # before a `--`: after it, init would get it
    return args


def trial_menuentry(entry, args):
    index, command, kernel, _old = linux_line(entry)
    body = list(entry.body)
    body[index] = '%s\t%s %s' % (command, kernel, ' '.join(args))
    lines = ["menuentry '%s: %s' --id %s {" % (TRIAL_TITLE, entry.title.replace("'", ''), TRIAL_ID)]
    lines += ['\t' + b for b in body if b]
    lines.append('}')
    return '\n'.join(lines) + '\n'


def grub_d_script(menuentry_text):
    """An /etc/grub.d script printing the entry (quoted here-document: GRUB variables stay literal)."""
    return ('#!/bin/sh\n'
            '# Managed by dataplane.node.kernel_cmdline (trial mode): a one-time boot entry with the new kernel\n'
            '# arguments. Removed when the trial is committed or discarded.\n'
            "cat <<'DATAPLANE_NODE_TRIAL'\n" + menuentry_text + 'DATAPLANE_NODE_TRIAL\n')


def bls_entry_text(default_text, args, title):
    """A BLS entry copied from the default one with new options and title."""
    out = []
    for line in default_text.splitlines():
        key = line.split(None, 1)[0] if line.strip() else ''
        if key == 'options':
            continue
        if key == 'title':
            line = 'title %s: %s' % (TRIAL_TITLE, title)
        out.append(line)
    out.append('options %s' % ' '.join(args))
    return '\n'.join(out) + '\n'


def parse_grubenv(text):
    env = {}
    for line in (text or '').splitlines():
        if line.startswith('#') or '=' not in line:
            continue
        key, _sep, value = line.partition('=')
        env[key] = value
    return env


def supports_next_entry(grub_cfg):
    """grub.cfg honours grub-reboot when its header reads and clears next_entry."""
    return bool(re.search(r'save_env\s+next_entry', grub_cfg or ''))


def grubenv_problem(mounts, grubenv_dir):
    """None, or why GRUB cannot write the grubenv in grubenv_dir (mounts: parsed /proc/mounts)."""
    best = None
    for mount in mounts:
        target = mount['path'].rstrip('/') or '/'
        if grubenv_dir == target or grubenv_dir.startswith(target + '/') or target == '/':
            if best is None or len(target) > len(best['path'].rstrip('/') or '/'):
                best = mount
    if best is None:
        return None
    if best['fstype'] in GRUBENV_UNWRITABLE_FSTYPES:
        return '%s is on %s, where GRUB cannot write grubenv' % (grubenv_dir, best['fstype'])
    if any(re.match(p, best['source']) for p in GRUBENV_UNWRITABLE_SOURCES):
        return ('%s is on %s (LVM, device-mapper or RAID), where GRUB cannot write grubenv'
                % (grubenv_dir, best['source']))
    return None


def state_text(state):
    return json.dumps(state, indent=2, sort_keys=True) + '\n'


def parse_state(text):
    if text is None:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        raise TrialError('/%s is not valid JSON: remove it or run with trial=discard' % STATE_FILE)
    if not isinstance(state, dict) or 'present' not in state or 'absent' not in state:
        raise TrialError('/%s lacks present/absent: remove it or run with trial=discard' % STATE_FILE)
    return state


def parse_systemd_analyze(text):
    """Seconds of the last boot from `systemd-analyze time` (firmware and loader included when known)."""
    match = re.search(r'=\s*(.+?)\s*$', (text or '').splitlines()[0] if text else '')
    if not match:
        return None
    total = 0.0
    for amount, unit in re.findall(r'([\d.]+)\s*(min|ms|s|h)\b', match.group(1)):
        total += float(amount) * {'h': 3600, 'min': 60, 's': 1, 'ms': 0.001}[unit]
    return round(total, 1)
