# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site playbook's batch size (serial) and how many rounds the fleet takes.

Private to the dataplane.node collection: names may change without notice. Pure functions.

A run that may reboot a node (boot-time changes planned) or drain it (a kubeconfig given: reboot_kubeconfig for the
reboot's drain, kubelet_kubeconfig for the drain before a kubelet state reset) goes one node at a time by default:
the SR-IOV network operator's default maxUnavailable is 1, and a fleet where every node drains at once has no node
left for the pods. A run that can do neither changes nothing a workload notices, and keeps the whole fleet in one
batch. dataplane_serial overrides both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DISRUPTIVE_VARS = ('reboot_kubeconfig', 'kubelet_kubeconfig')


def may_disrupt(reboot_hosts, host_vars):
    """Why the run may reboot or drain a node: a list of reasons (empty: it may not)."""
    reasons = []
    if reboot_hosts:
        reasons.append('reboot planned on %d host(s)' % len(reboot_hosts))
    for name in DISRUPTIVE_VARS:
        given = sorted(h for h, v in host_vars.items() if (v or {}).get(name) is not None)
        if given:
            reasons.append('%s given for %d host(s)' % (name, len(given)))
    return reasons


def default_serial(reboot_hosts, host_vars):
    return 1 if may_disrupt(reboot_hosts, host_vars) else '100%'


def _size(value, count):
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 1)
    text = str(value).strip()
    if text.endswith('%'):
        return max(int(count * int(text[:-1]) / 100.0), 1)
    return max(int(text), 1)


def batches(serial, count):
    """Batch sizes as Ansible forms them: a list's last entry repeats; a percentage of the play's hosts, at least 1."""
    if count <= 0:
        return []
    sizes = [_size(v, count) for v in (serial if isinstance(serial, list) and serial else [serial])]
    out, left, index = [], count, 0
    while left > 0:
        size = min(sizes[min(index, len(sizes) - 1)], left)
        out.append(size)
        left -= size
        index += 1
    return out


def rounds(serial, count):
    """How many rounds the fleet takes; None for a serial that is not a batch size (the preflight reports it)."""
    try:
        return len(batches(serial, count))
    except (TypeError, ValueError):
        return None


def plan_line(serial, given, count, reasons):
    taken = rounds(serial, count)
    why = ('dataplane_serial' if given else
           'default: one node at a time, the run may reboot or drain (%s)' % '; '.join(reasons) if reasons else
           'default: the run neither reboots nor drains')
    return 'rolling: serial %s -> %s round(s) for %d host(s) (%s)' % (serial, '?' if taken is None else taken, count, why)
