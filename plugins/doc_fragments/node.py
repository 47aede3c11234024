# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Documentation shared by the modules that change a node (DOCUMENTATION, C(dataplane.node.node)) and by those that
    only read it (READ_ONLY, C(dataplane.node.node.read_only))."""

    # The test root: lets unit tests point a module at a host tree; refused outside check mode.
    DOCUMENTATION = r"""
options:
  root:
    description:
      - Directory holding the host's C(sys), C(proc), C(etc) and C(boot) trees.
      - Only for tests; anything other than V(/) is refused outside check mode, because commands and kernel
        writes would still reach this host.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: Plans the exact writes and commands and reports them without touching the host.
  diff_mode:
    support: full
    description: Shows the state before and after.
  platform:
    platforms: linux
    support: full
    description: Linux sysfs and procfs.
"""

    # The test root of the modules that only read the node (facts, checks): nothing is written, so any mode takes it.
    READ_ONLY = r"""
options:
  root:
    description:
      - Directory holding the host's C(sys), C(proc), C(etc) and the other trees the module reads.
      - Tests point it at a fixture tree; on a host leave it at V(/). Commands the module runs still read this host.
    type: path
    default: /
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    platforms: linux
    support: full
    description: Reads Linux procfs and sysfs.
"""

    # The management guard (module_utils/_netstack.py): the options of every module that can take a netdev down.
    MANAGEMENT = r"""
options:
  management_addresses:
    description:
      - Addresses the controller reaches the node on (for example what C(ansible_host) resolves to, with the
        C(dataplane.node.management_addresses) filter). A host name is not resolved on the node; it is reported
        as not protected.
      - Besides these, the guard protects the server address of the SSH session (C(SSH_CONNECTION) of the module
        or, under become, of its ancestor processes), O(management_interfaces), and the netdevs of the IPv4 and
        IPv6 default routes.
      - From the netdevs holding them, the guard walks down VLANs, macvlans, bonds, teams, Linux bridges and Open
        vSwitch bridges to the devices underneath, and from a VF to its PF; an operation that would take one of
        them down is refused before anything changes, naming the path (check mode refuses the same way).
    type: list
    elements: str
    default: []
  management_interfaces:
    description: Netdevs (at any layer, for example V(bond0.120) or V(br-ex)) that carry the management connection.
    type: list
    elements: str
    default: []
  allow_management:
    description: Do it even when the device carries the management connection (the session may be cut).
    type: bool
    default: false
"""
