# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot loader flavours: where the kernel command line is configured and how it is regenerated.

Private to the dataplane.node collection: names may change without notice.

Each flavour reads the configured command line and plans a change as data (a Plan:
files to write, commands to run, in order). Nothing here writes: the module applies
a Plan with backups and restores them if a command fails. Commands go through an
injected `run(argv) -> (rc, stdout, stderr)` so unit tests feed captured output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import (
    HUGEPAGE_KEYS,
    ArgError,
    edit,
    key_of,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    parse_mounts,
    parse_shell_assignments,
    shell_quote,
    split_init,
    tokenize_cmdline,
)
from ansible_collections.dataplane.node.plugins.module_utils._trial_boot import (
    STATE_FILE,
    TRIAL_ID,
    TrialError,
    bls_entry_text,
    grub_d_script,
    grubenv_problem,
    linux_line,
    parse_grub_menu,
    parse_grubenv,
    resolve_default,
    state_text,
    supports_next_entry,
    trial_args,
    trial_menuentry,
)

DROPIN_NAME = '99-dataplane-node.cfg'
DROPIN_HEADER = ('# Managed by dataplane.node.kernel_cmdline: edits here are replaced on its next run.\n'
                 '# It holds the full values computed from /etc/default/grub and the drop-ins before it,\n'
                 '# with the managed arguments applied (grub-mkconfig sources this file last).\n')


class BootLoaderError(Exception):
    pass


class Plan:
    """What a change does: files (rel path -> new text, None = remove) then commands, in order."""

    def __init__(self, before, after, files=None, commands=None, notes=None, modes=None, warnings=None):
        self.before = before
        self.after = after
        self.files = files or {}
        self.modes = modes or {}
        self.commands = commands or []
        self.notes = notes or []
        self.warnings = warnings or []  # lint findings about the planned line (see _kernel_args.lint)

    @property
    def changed(self):
        return bool(self.files or self.commands)

    def then(self, other):
        """This plan followed by another: files merged, commands in order, each once."""
        files = dict(self.files)
        files.update(other.files)
        commands = list(self.commands)
        commands += [c for c in other.commands if c not in commands]
        modes = dict(self.modes)
        modes.update(other.modes)
        return Plan(self.before, self.after, files, commands, self.notes + other.notes, modes,
                    self.warnings + [w for w in other.warnings if w not in self.warnings])


def flavour_for(loader, fs, run, firmware):
    classes = {'debian-grub': DebianGrub, 'grub2-mkconfig': Grub2Mkconfig, 'grub2-bls': GrubBls}
    if loader in ('ostree', 'transactional'):
        raise BootLoaderError('%s hosts manage the kernel command line through their image tools '
                              '(rpm-ostree kargs / transactional-update): not supported by this module' % loader)
    if loader not in classes:
        raise BootLoaderError('no supported boot loader found (looked for update-grub, grub2-mkconfig with '
                              '/etc/default/grub, grubby with BLS entries); set loader explicitly if detection is wrong')
    return classes[loader](fs, run, firmware)


def set_assignment(text, name, value):
    """Replace the last `name=...` line of a shell config (or append one), value double-quoted so that
    sourcing the file gives `value` back byte for byte (quotes, backslashes, $ escaped)."""
    line = '%s=%s' % (name, shell_quote(value))
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        if re.match(r'^\s*(export\s+)?%s=' % re.escape(name), lines[index]):
            lines[index] = line
            break
    else:
        lines.append(line)
    return '\n'.join(lines) + '\n'


class _GrubDefaultFile:
    """Shared by flavours that keep the command line in /etc/default/grub variables."""

    DEFAULT_FILE = 'etc/default/grub'

    def __init__(self, fs, run, firmware):
        self.fs = fs
        self.run = run
        self.firmware = firmware

    def _edit_variables(self, values, present, absent):
        """New (linux, default) values: managed tokens go to GRUB_CMDLINE_LINUX (every entry);
        any token of a managed key is removed from GRUB_CMDLINE_LINUX_DEFAULT so ours is final.

        grub-mkconfig joins them as "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT": after a `--` in
        GRUB_CMDLINE_LINUX, all of GRUB_CMDLINE_LINUX_DEFAULT is init's, and is left alone."""
        linux = tokenize_cmdline(values.get('GRUB_CMDLINE_LINUX', ''))
        default = tokenize_cmdline(values.get('GRUB_CMDLINE_LINUX_DEFAULT', ''))
        if split_init(linux)[2]:
            return ' '.join(edit(linux, present, absent)), ' '.join(default)
        managed_keys = set(key_of(t) for t in present)
        if any(key_of(t) in HUGEPAGE_KEYS for t in present):
            managed_keys.update(HUGEPAGE_KEYS)
        new_default = edit(default, [], list(absent) + sorted(managed_keys))
        new_linux = edit(linux, present, absent)
        return ' '.join(new_linux), ' '.join(new_default)

    # ------------------------------------------------------------ trial boot (one-time entry)
    GRUB_DIR = 'boot/grub2'
    REBOOT_TOOL = 'grub2-reboot'
    EDITENV_TOOL = 'grub2-editenv'
    TRIAL_FILE = 'etc/grub.d/42_dataplane_node_trial'

    def grubenv(self):
        return parse_grubenv(self.fs.read(self.GRUB_DIR + '/grubenv'))

    def trial_refusal(self):
        """None, or why this host cannot boot an entry once."""
        cfg = self.fs.read(self._menu_cfg())
        if cfg is None:
            return '/%s is missing: cannot find the default boot entry' % self._menu_cfg()
        if not supports_next_entry(cfg):
            return '/%s does not honour next_entry (grub-reboot): no one-time boot possible' % self._menu_cfg()
        return grubenv_problem(parse_mounts(self.fs.read('proc/mounts')), '/' + self.GRUB_DIR)

    def trial_staged(self):
        return self.grubenv().get('next_entry') == TRIAL_ID

    def trial_exists(self):
        return self.fs.exists(self.TRIAL_FILE) or self.fs.exists(STATE_FILE) or self.trial_staged()

    def trial_plan(self, present, absent, panic, state):
        """Files and commands that stage a one-time boot of the default entry with the edited arguments."""
        reason = self.trial_refusal()
        if reason:
            raise TrialError('trial mode is not possible here: %s' % reason)
        entry = resolve_default(parse_grub_menu(self.fs.read(self._menu_cfg())),
                                self._grub_default(), self.grubenv().get('saved_entry'))
        args = trial_args(linux_line(entry)[3], present, absent, panic)
        files = self._trial_files(entry, args, state)
        commands = ([self._regenerate()] if self.TRIAL_FILE in files else []) + [[self.REBOOT_TOOL, TRIAL_ID]]
        if self.trial_staged() and all(self.fs.read(rel) == text for rel, text in files.items()):
            files, commands = {}, []  # staged already, same entry
        return Plan(entry.title, args, files=files, commands=commands, modes={self.TRIAL_FILE: 0o755},
                    notes=['one-time boot entry %s; next_entry=%s in /%s/grubenv' % (TRIAL_ID, TRIAL_ID, self.GRUB_DIR)])

    def _trial_files(self, entry, args, state):
        return {self.TRIAL_FILE: grub_d_script(trial_menuentry(entry, args)), STATE_FILE: state_text(state)}

    def trial_cleanup(self):
        """Remove the one-time entry and its state; clear next_entry if it still points at it."""
        files = dict((rel, None) for rel in (self.TRIAL_FILE, STATE_FILE) if self.fs.exists(rel))
        commands = []
        if self.TRIAL_FILE in files and self._cleanup_needs_regenerate():
            commands.append(self._regenerate())
        # GRUB leaves `next_entry=` (empty) behind after booting the trial: unset it too, so grubenv is
        # byte for byte what it was before the trial.
        env = self.grubenv()
        if self.trial_staged() or (files and env.get('next_entry') == ''):
            commands.append([self.EDITENV_TOOL, '/%s/grubenv' % self.GRUB_DIR, 'unset', 'next_entry'])
        return Plan(None, None, files=files, commands=commands)

    def _cleanup_needs_regenerate(self):
        return True

    def _menu_cfg(self):
        return self.GRUB_DIR + '/grub.cfg'

    def _grub_default(self):
        text = self.fs.read(self.DEFAULT_FILE)
        return parse_shell_assignments(text or '').get('GRUB_DEFAULT', '0')

    @staticmethod
    def _check_literal(values):
        for name in ('GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT'):
            if re.search(r'[$`]', values.get(name, '')):
                raise BootLoaderError('%s in /etc/default/grub uses shell expansion (%s): cannot edit it safely; '
                                      'make it a literal value first' % (name, values[name]))


class DebianGrub(_GrubDefaultFile):
    """Debian/Ubuntu: our own drop-in in /etc/default/grub.d, then update-grub."""

    name = 'debian-grub'
    DROPIN = 'etc/default/grub.d/' + DROPIN_NAME
    GRUB_DIR = 'boot/grub'
    REBOOT_TOOL = 'grub-reboot'
    EDITENV_TOOL = 'grub-editenv'

    def _sourced_values(self, include_ours):
        files = [self.DEFAULT_FILE] if self.fs.exists(self.DEFAULT_FILE) else []
        files += ['etc/default/grub.d/' + n for n in self.fs.listdir('etc/default/grub.d')
                  if n.endswith('.cfg') and (include_ours or n != DROPIN_NAME)]
        # Source them the way grub-mkconfig does: the values may be built with shell code.
        script = ('for f in "$@"; do . "$f"; done; '
                  'printf "%s\\0%s\\0%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT" "${GRUB_DEFAULT:-0}"')
        rc, out, err = self.run(['/bin/bash', '-c', script, 'grub-defaults'] + [self.fs.path(f) for f in files])
        if rc != 0:
            raise BootLoaderError('reading the GRUB defaults failed: %s' % err.strip())
        linux, default, grub_default = (out.split('\0') + ['', '', '0'])[:3]
        return {'GRUB_CMDLINE_LINUX': linux, 'GRUB_CMDLINE_LINUX_DEFAULT': default, 'GRUB_DEFAULT': grub_default}

    def _grub_default(self):
        return self._sourced_values(include_ours=True)['GRUB_DEFAULT']

    def configured(self):
        values = self._sourced_values(include_ours=True)
        return tokenize_cmdline(values['GRUB_CMDLINE_LINUX']) + tokenize_cmdline(values['GRUB_CMDLINE_LINUX_DEFAULT'])

    def plan(self, present, absent):
        before = self.configured()
        base = self._sourced_values(include_ours=False)
        linux, default = self._edit_variables(base, present, absent)
        after = tokenize_cmdline(linux) + tokenize_cmdline(default)
        text = DROPIN_HEADER + 'GRUB_CMDLINE_LINUX=%s\n' % shell_quote(linux)
        if default != ' '.join(tokenize_cmdline(base['GRUB_CMDLINE_LINUX_DEFAULT'])):
            text += 'GRUB_CMDLINE_LINUX_DEFAULT=%s\n' % shell_quote(default)
        if after == tokenize_cmdline(base['GRUB_CMDLINE_LINUX']) + tokenize_cmdline(base['GRUB_CMDLINE_LINUX_DEFAULT']):
            # Nothing managed differs from the host's own settings: no drop-in needed.
            text = None
        current = self.fs.read(self.DROPIN)
        if text == current:
            return Plan(before, after)
        if text is None and current is None:
            return Plan(before, after)
        return Plan(before, after, files={self.DROPIN: text}, commands=[self._regenerate()])

    def _regenerate(self):
        if self.fs.exists('usr/sbin/update-grub') or self.fs.exists('sbin/update-grub'):
            return ['update-grub']
        return ['grub-mkconfig', '-o', '/boot/grub/grub.cfg']


class Grub2Mkconfig(_GrubDefaultFile):
    """RHEL/CentOS 7 and SUSE: /etc/default/grub edited in place (backed up), then grub2-mkconfig."""

    name = 'grub2-mkconfig'

    def _values(self):
        text = self.fs.read(self.DEFAULT_FILE)
        if text is None:
            raise BootLoaderError('/etc/default/grub is missing')
        return text, parse_shell_assignments(text)

    def configured(self):
        _text, values = self._values()
        return (tokenize_cmdline(values.get('GRUB_CMDLINE_LINUX', '')) +
                tokenize_cmdline(values.get('GRUB_CMDLINE_LINUX_DEFAULT', '')))

    def plan(self, present, absent):
        text, values = self._values()
        self._check_literal(values)
        before = self.configured()
        linux, default = self._edit_variables(values, present, absent)
        after = tokenize_cmdline(linux) + tokenize_cmdline(default)
        if after == before:
            return Plan(before, after)
        new_text = set_assignment(text, 'GRUB_CMDLINE_LINUX', linux)
        if 'GRUB_CMDLINE_LINUX_DEFAULT' in values and default != values['GRUB_CMDLINE_LINUX_DEFAULT']:
            new_text = set_assignment(new_text, 'GRUB_CMDLINE_LINUX_DEFAULT', default)
        return Plan(before, after, files={self.DEFAULT_FILE: new_text}, commands=[self._regenerate()])

    def _menu_cfg(self):
        return self.grub_cfg()

    def _regenerate(self):
        return ['grub2-mkconfig', '-o', '/' + self.grub_cfg()]

    def grub_cfg(self):
        """BIOS: /boot/grub2/grub.cfg. UEFI on RHEL 7: /boot/efi/EFI/<vendor>/grub.cfg, unless that file is
        only a stub that loads /boot/grub2/grub.cfg (SUSE, RHEL 9): overwriting a stub breaks the boot."""
        if self.firmware == 'uefi':
            for vendor in self.fs.listdir('boot/efi/EFI'):
                if vendor.upper() == 'BOOT':
                    continue
                path = 'boot/efi/EFI/%s/grub.cfg' % vendor
                text = self.fs.read(path)
                if text is not None and not is_stub(text):
                    return path
        return 'boot/grub2/grub.cfg'


def is_stub(text):
    return 'configfile' in text and 'menuentry' not in text and 'blscfg' not in text


class GrubBls(_GrubDefaultFile):
    """RHEL 8+/Fedora: grubby edits every BLS entry; /etc/default/grub mirrors it for new kernels."""

    name = 'grub2-bls'
    TRIAL_FILE = 'boot/loader/entries/%s.conf' % TRIAL_ID

    def _default_entry(self):
        rc, out, err = self.run(['grubby', '--info=DEFAULT'])
        if rc != 0:
            raise BootLoaderError('grubby --info=DEFAULT failed: %s' % (err or out).strip())
        entries = parse_grubby_info(out)
        if not entries:
            raise BootLoaderError('grubby --info=DEFAULT printed no entry with args')
        return entries[0]

    def configured(self):
        return tokenize_cmdline(self._default_entry()['args'])

    # A BLS trial is a copy of the default entry file; blscfg reads entries at boot, so nothing is regenerated.
    def trial_refusal(self):
        reason = _GrubDefaultFile.trial_refusal(self)
        if reason:
            return reason
        if not self.grubenv().get('saved_entry'):
            return ('/%s/grubenv has no saved_entry: the default entry is chosen by position and a new entry could '
                    'take its place; run `grubby --set-default` first' % self.GRUB_DIR)
        return None

    def trial_plan(self, present, absent, panic, state):
        reason = self.trial_refusal()
        if reason:
            raise TrialError('trial mode is not possible here: %s' % reason)
        entry = self._default_entry()
        source = 'boot/loader/entries/%s.conf' % entry.get('id')
        text = self.fs.read(source) if entry.get('id') else None
        if text is None:
            raise TrialError('cannot read the default BLS entry /%s' % source)
        args = trial_args(tokenize_cmdline(entry['args']), present, absent, panic)
        files = {self.TRIAL_FILE: bls_entry_text(text, args, entry.get('title', entry.get('kernel', ''))),
                 STATE_FILE: state_text(state)}
        commands = [[self.REBOOT_TOOL, TRIAL_ID]]
        if self.trial_staged() and all(self.fs.read(rel) == t for rel, t in files.items()):
            files, commands = {}, []
        return Plan(entry.get('title'), args, files=files, commands=commands,
                    notes=['one-time boot of the BLS entry %s (a copy of %s)' % (TRIAL_ID, entry.get('id'))])

    def _cleanup_needs_regenerate(self):
        return False

    def plan(self, present, absent):
        hp_sizes = [t for t in present if key_of(t) == 'hugepagesz']
        if len(hp_sizes) > 1:
            raise ArgError(['on grubby/BLS hosts the boot command line can carry one hugepage size (grubby '
                            'replaces repeated keys such as hugepagesz): keep %s at boot and allocate the '
                            'others at runtime with the hugepages role' % hp_sizes[0]])
        before = self.configured()
        after = edit(before, present, absent)
        files = {}
        text = self.fs.read(self.DEFAULT_FILE)
        if text is not None:
            values = parse_shell_assignments(text)
            self._check_literal(values)
            linux, _default = self._edit_variables(values, present, absent)
            if linux != values.get('GRUB_CMDLINE_LINUX', ''):
                files[self.DEFAULT_FILE] = set_assignment(text, 'GRUB_CMDLINE_LINUX', linux)
        commands = []
        removed = [t for t in before if t not in after]
        added = [t for t in after if t not in before]
        init, separator = split_init(before)[1:]
        if added and separator:
            # grubby appends --args at the end, after `--` (init's part): take init's part off and put it back
            # after the new kernel arguments.
            removed = removed + ['--'] + init
            added = added + ['--'] + init
        if removed:
            commands.append(['grubby', '--update-kernel=ALL', '--remove-args=' + ' '.join(removed)])
        if added:
            commands.append(['grubby', '--update-kernel=ALL', '--args=' + ' '.join(added)])
        return Plan(before, after, files=files, commands=commands,
                    notes=['grubby changes every BLS entry (--update-kernel=ALL); /etc/default/grub mirrors it'])


def parse_grubby_info(text):
    """`grubby --info=...` output -> [{'index': int, 'kernel': str, 'args': str, ...}] (args kept verbatim:
    grubenv variables like $tuned_params are expanded by GRUB at boot)."""
    entries = []
    current = None
    for line in (text or '').splitlines():
        m = re.match(r'^(\w+)=(.*)$', line.strip())
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == 'index':
            current = {'index': int(value) if value.isdigit() else value}
            entries.append(current)
        elif current is not None:
            current[key] = value
    return [e for e in entries if 'args' in e]
