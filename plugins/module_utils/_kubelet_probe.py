# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kubelet role needs to know about a node's kubelet, gathered once: by kubelet_info, or by node_facts'
`kubelet` subset (so a site run that gathered facts at its start needs no kubelet_info call of its own).

Private to the dataplane.node collection: names may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils._kubelet import (
    KubeletHost,
    hugepage_capacity,
    parse_version,
)
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError
from ansible_collections.dataplane.node.plugins.module_utils._pending import clock_ticks, stored_kubelet_restart


def probe(host, binary, run_command=None, warn=None):
    """kubelet_info's result for `host` (a _host.Host).

    run_command(argv) -> (rc, out, err) runs `kubelet --version`; only on the real root (/), since a test tree's
    binary is not the node's. warn(text) reports a binary whose --version is not a Kubernetes version.
    """
    info = KubeletHost(host.fs).describe(binary)
    info['version'] = None
    info['version_output'] = ''
    info['installed'] = False
    if info['binary'] and host.fs.root == '/' and run_command is not None:
        rc, out, err = run_command([info['binary'], '--version'])
        info['version_output'] = (out or err).strip()
        if rc == 0:
            try:
                info['version'] = '%d.%d.%d' % parse_version(info['version_output'])
                info['installed'] = True
            except ParseError:
                if warn is not None:
                    warn('%s --version printed %r: not a Kubernetes version' % (info['binary'], out))
    elif info['binary']:
        info['installed'] = True
    info['hugepage_capacity'] = hugepage_capacity(host.hugepages())
    info['pending_restart'] = stored_kubelet_restart(host.fs, clock_ticks())
    return info
