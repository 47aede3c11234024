#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight
short_description: Validate the whole inventory's dataplane variables before any host changes
version_added: 0.1.0
description:
  - Runs on the controller, once (use C(run_once)), over every host of the play. It reports every problem of every
    host together, naming host and variable, so that a run either changes nothing or starts with valid input.
  - Checks the variables each host defines against the roles' own C(meta/argument_specs.yml) (types, choices, list
    elements), then the shape of structured values (hugepage pools, SR-IOV PFs, mounts, cpulists, PCI addresses) and
    the run's variables (C(dataplane_node_profile), C(dataplane_numa_locality), C(dataplane_serial),
    C(dataplane_max_fail_percentage)).
  - When the host's C(dataplane) facts were gathered (M(dataplane.node.node_facts)), also checks the values against the
    node with the modules' own resolvers (NUMA nodes and their memory, page sizes, PFs and their VF limits, CPUs,
    vfio-pci candidates, the management NIC) and makes the NUMA-locality plan and the reboot forecast.
  - "Node profiles (C(dataplane_node_profile)): V(dpdk-worker), V(dpu-host), V(dpu), or one defined in
    O(profiles). A profile fills only variables the inventory leaves undefined; RV(hosts) lists them per host in
    C(set_vars) for a C(set_fact) task."
  - "NUMA locality (C(dataplane_numa_locality)): V(off), V(warn) (default), V(place) (pools without a placement go
    on the NICs' NUMA node; the placed pools appear in C(set_vars)), V(strict) (explicit settings that put hugepages or
    isolated CPUs away from the NICs are problems, so the run fails before changing anything)."
  - "C(kernel_cmdline_isolated_cpus: auto) is resolved from the facts to the CPUs of the NICs' NUMA node(s) but each
    node's first core, and set for the host through C(set_vars)."
  - "Kubernetes nodes (O(check_nodes)): for every host whose variables set C(reboot_kubeconfig) or
    C(kubelet_kubeconfig), asks the API server that kubeconfig names (from the controller, once per kubeconfig) for its
    Nodes, and reports a host whose Node (C(reboot_kubernetes_node), C(kubelet_kubernetes_node), default the inventory
    name) it does not know, or an API server that does not answer, like an invalid variable. Without this the drain
    before the reboot would fail only after the host's kernel command line was rewritten."
  - "The management connection (what the management guard of M(dataplane.node.sriov_vfs),
    M(dataplane.node.pci_driver), M(dataplane.node.devlink_eswitch) and M(dataplane.node.ovs_settings) protects): per
    valid host a plan line naming what the guard starts from - C(ansible_host) (or the inventory name) resolved here
    on the controller, as the roles' C(dataplane.node.management_addresses) filter resolves it, or the inventory's
    C(sriov_management_addresses)/C(ovn_dpu_management_addresses); the management interfaces; the SSH session; the
    default routes from the facts. A name that does not resolve is said; when nothing identifies the connection
    (no SSH connection, no address, no interface, no default route in the facts) the line and a warning say so."
author:
  - dataplane.node contributors (@dataplane-node)
options:
  hosts:
    description: Hosts to check; default the play's active hosts (C(ansible_play_hosts)).
    type: list
    elements: str
  allow_partial:
    description:
      - With problems on some hosts, succeed anyway and list them in RV(invalid_hosts), so that the valid hosts can
        proceed (the playbook then fails the invalid ones). Default is to fail every host.
    type: bool
    default: false
  profiles:
    description:
      - Extra or replaced node profiles, name to C(description), C(vars) (defaults) and C(forbid_vfio) (bool).
    type: dict
  roles_dir:
    description: Directory of the roles whose argument specs are used; default the collection's own C(roles).
    type: path
  check_nodes:
    description:
      - Ask the API servers the hosts' C(reboot_kubeconfig) and C(kubelet_kubeconfig) name whether they know the hosts'
        Nodes (needs the C(kubernetes) Python library on the controller). V(false) checks those variables' types only.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: full
    description: The NUMA-locality plan and reboot forecast of every host, as the diff's after text.
  platform:
    platforms: all
    support: full
    description: Runs on the controller.
  action:
    support: full
    description: Implemented as an action plugin on the controller.
notes:
  - Validation of a value against the node happens only once its shape is valid, so fix the reported problems in order.
  - The API servers are asked with a 10 s connect and 30 s read timeout and no retries; a kubeconfig is read on the
    controller, as the roles' C(kubernetes.core) tasks read it (they run delegated to C(localhost)).
seealso:
  - module: dataplane.node.node_facts
"""

EXAMPLES = r"""
- name: Gather the facts the checks against the node need
  dataplane.node.node_facts:

- name: Validate every host before any changes
  dataplane.node.preflight:
    allow_partial: "{{ dataplane_allow_partial | default(false) }}"
  run_once: true
  register: dataplane_preflight

- name: Apply the profile defaults and placed pools of this host  # noqa: var-naming[no-role-prefix]
  ansible.builtin.set_fact:
    "{{ item.key }}": "{{ item.value }}"
  loop: "{{ dataplane_preflight.hosts[inventory_hostname].set_vars | dict2items }}"
"""

RETURN = r"""
hosts:
  description: Per host, its C(problems), C(set_vars) (profile defaults and placed pools to set), C(plan) (the
    NUMA-locality plan, null without facts), C(checked_against_node) and C(management) (valid hosts; empty for
    invalid ones) - C(addresses) the guard will protect, C(unresolved) names, C(identified) (true, false, or null
    when the facts are missing and nothing else identifies the connection), C(warning).
  returned: always
  type: dict
  sample:
    node1:
      problems: []
      set_vars: {kernel_cmdline_iommu: passthrough}
      checked_against_node: true
      management: {addresses: [10.0.0.5], unresolved: [], identified: true, warning: null}
      plan:
        mode: place
        nic_nodes: [1]
        reboot: {known: true, needed: true, missing: [intel_iommu=on, iommu=pt], unexpected: []}
invalid_hosts:
  description: Hosts with problems.
  returned: always
  type: list
  elements: str
valid_hosts:
  description: Hosts without problems.
  returned: always
  type: list
  elements: str
reboot_hosts:
  description: Hosts whose booted command line lacks what the run will configure (a reboot is needed).
  returned: always
  type: list
  elements: str
api_servers:
  description:
    - Per kubeconfig asked (see O(check_nodes)), how many Nodes its API server knows (C(nodes)) and, when it did not
      answer or refused, the C(error).
  returned: always
  type: dict
  sample:
    /etc/dataplane/admin.kubeconfig: {nodes: 12, error: null}
plan:
  description: Readable NUMA-locality plan, management connection and reboot forecast of every host, then a fleet
    line and one line per API server asked.
  returned: always
  type: list
  elements: str
  sample:
    - "node1: locality place; NICs on node 1; reboot: yes (missing intel_iommu=on iommu=pt)"
    - "  hugepages 2M (placed): node1=512"
    - "  management: dpdk-node-1 -> 10.0.0.5 (resolved on the controller); the SSH session's address; default route: bond0.120"
    - "reboot needed on 1 of 1 host(s): node1"
    - "kubeconfig /etc/dataplane/admin.kubeconfig: the API server knows 12 Node(s)"
"""
