# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter: the addresses the controller reaches a node on, host names resolved here on the controller.

Inventories often name hosts by DNS name; the management guard on the node matches addresses against its netdevs,
and a name matches none. The node may not resolve the name the way the controller does (split DNS, /etc/hosts on
the controller), so the controller resolves it: what it connects to is what must be protected.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.module_utils._netstack import is_address, normalize_address


def management_addresses(value, strict=False):
    """A name or address (or a list of them) -> the addresses, each once, in order: literal addresses kept (one
    spelling), names resolved through getaddrinfo (IPv4 and IPv6). A name that does not resolve stays in the list
    as it is (the node module then reports it as not protected), or fails with strict."""
    items = value if isinstance(value, (list, tuple)) else [value]
    found = []
    for item in items:
        if item is None or str(item).strip() == '':
            continue
        text = str(item).strip()
        if is_address(text):
            resolved = [normalize_address(text)]
        else:
            try:
                infos = socket.getaddrinfo(text, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                if strict:
                    raise AnsibleFilterError('management_addresses: %s does not resolve on the controller (%s)'
                                             % (text, exc))
                resolved = [text]
            else:
                resolved = [normalize_address(info[4][0]) for info in infos]
        for address in resolved:
            if address not in found:
                found.append(address)
    return found


class FilterModule(object):
    def filters(self):
        return {'management_addresses': management_addresses}
