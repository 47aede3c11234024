# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The change engine: a module plans a list of typed steps; `apply_plan` is the one place that honours check mode,
runs the steps, reads back what the host took, and on a failure undoes the steps done, in reverse order.

A step changes the host (`changes = True`: a sysfs write, a command, a driver unbind) or only waits for or reads
back its effect. `changed` is whether any changing step is planned, so check mode predicts it exactly; the module's
`steps` return lists the planned steps in both modes. Checks of the end state run after the steps and are not listed.

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import time

from ansible_collections.dataplane.node.plugins.module_utils._apply import (
    SysfsWriter, WriteError, backup_path, write_atomic)
from ansible_collections.dataplane.node.plugins.module_utils._host import HostFS


class ChangeError(Exception):
    """A step the host did not take. problems: every reason; record: what was done and undone before it."""

    def __init__(self, problems, record=None):
        self.problems = list(problems)
        Exception.__init__(self, '; '.join(self.problems))
        self.record = record


class Context(object):
    """What steps act through: sysfs writes (a SysfsWriter, or a stand-in kernel in tests) and reads under `root`,
    commands through `run(argv) -> (rc, out, err)` (AnsibleModule.run_command), and a clock and sleep the tests can
    replace."""

    def __init__(self, root, run=None, clock=time.monotonic, sleep=time.sleep, writer=None):
        self.root = root
        self.writer = writer or SysfsWriter(root)
        self._fs = None
        self.run = run or _no_commands
        self.clock = clock
        self.sleep = sleep

    @property
    def fs(self):
        """The host reader, made when a step first reads (an install may be writing into a root not made yet)."""
        if self._fs is None:
            self._fs = HostFS(self.root)
        return self._fs

    def path(self, rel):
        return os.path.join(self.root, rel)

    def poll(self, ready, timeout, interval=0.2):
        """Call ready() until it returns a true value or `timeout` seconds pass; returns its last value."""
        deadline = self.clock() + timeout
        while True:
            value = ready()
            if value or self.clock() >= deadline:
                return value
            self.sleep(interval)


def _no_commands(argv):
    return 1, '', 'no command runner here: %s' % ' '.join(argv)


class Step(object):
    changes = True
    listed = True  # in the module's list of steps; a preparation the return has no line for (a modprobe) is not

    def describe(self):
        raise NotImplementedError

    def run(self, ctx):
        """Do the step; raise ChangeError when the host did not take it."""
        raise NotImplementedError

    def undo(self, ctx):
        """Put back what run() changed, as far as that is safe; True when something was put back."""
        return False

    def commit(self, ctx):
        """Called once every step succeeded (a backup kept only for the undo is dropped here)."""


class SysfsWrite(Step):
    """Write `value` to a kernel attribute (never creates a file). `expect`: the text the attribute must read back
    (None: a write-only attribute such as unbind)."""

    def __init__(self, rel, value, expect=None, description=None, listed=True):
        self.rel, self.value, self.expect = rel, str(value), expect
        self.description = description or '/%s = %s' % (rel, self.value)
        self.listed = listed

    def describe(self):
        return self.description

    def run(self, ctx):
        try:
            ctx.writer.write(self.rel, self.value + '\n')
        except WriteError as exc:
            raise ChangeError([str(exc)])
        if self.expect is not None:
            read = ctx.fs.read_value(self.rel)
            if read != str(self.expect):
                raise ChangeError(['/%s reads back %s after writing %s' % (self.rel, read or 'nothing', self.value)])


class Command(Step):
    """Run argv; a non-zero exit fails with `label` and the command's output. verify(ctx) -> [problems] reads the
    effect back, for commands that exit 0 without doing what was asked (ethtool -K on a fixed feature)."""

    def __init__(self, argv, label=None, verify=None, listed=True):
        self.argv = list(argv)
        self.label = label or ' '.join(self.argv)
        self.verify = verify
        self.listed = listed

    def describe(self):
        return self.label

    def run(self, ctx):
        rc, out, err = ctx.run(self.argv)
        if rc != 0:
            raise ChangeError(['%s failed (rc=%d): %s' % (self.label, rc, (err or out).strip()[-1000:])])
        problems = self.verify(ctx) if self.verify else []
        if problems:
            raise ChangeError(problems)


class FileWrite(Step):
    """Write a configuration file atomically (text None: remove it), an existing one copied to a backup first;
    undo puts the backup back, or removes the file the step created. keep_backup=False: the backup only serves the
    undo (files the collection generates, such as its own code on the node) and goes once the whole run succeeded."""

    def __init__(self, rel, text, description=None, mode=0o644, keep_backup=True):
        self.rel, self.text, self.mode, self.keep_backup = rel, text, mode, keep_backup
        self.description = description or '/%s' % rel
        self.backup = None
        self.written = False

    def describe(self):
        return self.description

    def run(self, ctx):
        path = ctx.path(self.rel)
        try:
            if os.path.exists(path):
                self.backup = backup_path(path, root=ctx.root, rel=self.rel)
                if not os.path.isdir(os.path.dirname(self.backup)):
                    os.makedirs(os.path.dirname(self.backup))
                shutil.copy2(path, self.backup)
            if self.text is None:
                if os.path.lexists(path):
                    os.unlink(path)
            else:
                write_atomic(path, self.text, self.mode)
        except (IOError, OSError) as exc:
            raise ChangeError(['writing /%s failed: %s' % (self.rel, exc)])
        self.written = True

    def undo(self, ctx):
        if not self.written:
            return False
        path = ctx.path(self.rel)
        if self.backup:
            shutil.copy2(self.backup, path)
        elif os.path.exists(path):
            os.unlink(path)
        return True

    def commit(self, ctx):
        if self.backup and not self.keep_backup and os.path.exists(self.backup):
            os.unlink(self.backup)


class WaitFor(Step):
    """Poll ready(ctx) until true or `timeout` s; failure(ctx) -> the reason (or reasons) when it never is."""
    changes = False

    def __init__(self, description, ready, failure, timeout, interval=0.2):
        self.description, self.ready, self.failure = description, ready, failure
        self.timeout, self.interval = timeout, interval

    def describe(self):
        return self.description

    def run(self, ctx):
        if not ctx.poll(lambda: self.ready(ctx), self.timeout, self.interval):
            reasons = self.failure(ctx)
            raise ChangeError([reasons] if isinstance(reasons, str) else reasons)


class Check(Step):
    """A read-back after the changes: problems(ctx) -> [reasons]; none means the host shows what was asked."""
    changes = False

    def __init__(self, description, problems):
        self.description, self.problems = description, problems

    def describe(self):
        return self.description

    def run(self, ctx):
        found = self.problems(ctx)
        if found:
            raise ChangeError(found)


class HeldDrivers(object):
    """Devices taken off their driver for a step (an eSwitch mode change) and given back after it: the unbind step
    and the rebind step share one, and undoing the unbind rebinds whatever is still held, so no failure leaves a
    device without its driver."""

    def __init__(self, devices, what='the VFs'):
        self.devices = devices  # devices(ctx) -> [{'address', 'driver'}], read when the unbind runs
        self.what = what
        self.held = []

    def unbind_step(self):
        return _Unbind(self)

    def rebind_step(self):
        return _Rebind(self)

    def rebind(self, ctx, strict):
        """Bind every held device back; True when there was one. strict: the first failure raises."""
        had = bool(self.held)
        while self.held:
            dev = self.held[0]
            done = ctx.writer.write('sys/bus/pci/drivers/%s/bind' % dev['driver'], dev['address'],
                                    ignore_errors=not strict)
            self.held.pop(0)
            if not done and strict:
                raise ChangeError(['binding %s back to %s failed' % (dev['address'], dev['driver'])])
        return had


class _Unbind(Step):
    def __init__(self, drivers):
        self.drivers = drivers

    def describe(self):
        return 'unbind %s from their driver' % self.drivers.what

    def run(self, ctx):
        for dev in self.drivers.devices(ctx):
            if dev.get('driver'):
                try:
                    ctx.writer.write('sys/bus/pci/devices/%s/driver/unbind' % dev['address'], dev['address'])
                except WriteError as exc:
                    raise ChangeError([str(exc)])
                self.drivers.held.append(dev)

    def undo(self, ctx):
        return self.drivers.rebind(ctx, strict=False)


class _Rebind(Step):
    def __init__(self, drivers):
        self.drivers = drivers

    def describe(self):
        return 'bind %s back to their driver' % self.drivers.what

    def run(self, ctx):
        try:
            self.drivers.rebind(ctx, strict=True)
        except WriteError as exc:
            raise ChangeError([str(exc)])


def run_steps(steps, ctx):
    """Run every step in order -> {'done': [...], 'undone': []}. On a failure, undo the steps done, last first, and
    raise ChangeError whose record names the step that failed and what was undone."""
    done = []
    for step in steps:
        try:
            step.run(ctx)
        except ChangeError as exc:
            undone = []
            for prior in reversed(done + [step]):
                if prior.undo(ctx):
                    undone.append(prior.describe())
            exc.record = {'done': [s.describe() for s in done if s.changes], 'failed': step.describe(),
                          'undone': undone}
            raise
        done.append(step)
    for step in done:
        step.commit(ctx)
    return {'done': [s.describe() for s in done if s.changes], 'undone': []}


def apply_plan(module, steps, ctx, result, before, after, checks=(), end_state=None, listed_as='steps'):
    """Check mode, diff and changed in one place. Sets result['changed'] (a changing step is planned),
    result[listed_as] (every planned step that is listed, waits included) and, in diff mode, result['diff'] = {'before', 'after'}.
    Outside check mode it runs the steps and then the `checks` (read-backs of the end state, run also when nothing
    changes), and fails the module with every problem, the step that failed and what was undone.
    end_state() -> {key: value}: what the host shows after the steps and checks ran, merged into result on success
    and on failure. Returns result for the module to complete and exit with."""
    steps, checks = list(steps), list(checks)
    result['changed'] = any(step.changes for step in steps)
    result[listed_as] = [step.describe() for step in steps if step.listed]
    if module._diff:
        result['diff'] = {'before': before, 'after': after}
    if module.check_mode or not (steps or checks):
        return result
    try:
        run_steps(steps + checks, ctx)
    except ChangeError as exc:
        result.update(end_state() if end_state else {})
        module.fail_json(msg=str(exc), problems=exc.problems, failed_step=exc.record['failed'],
                         undone=exc.record['undone'], **result)
    result.update(end_state() if end_state else {})
    return result
