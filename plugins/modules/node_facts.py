#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_facts
short_description: Gather hugepage, NUMA, IOMMU, PCI/SR-IOV, kernel command line, boot loader and kubelet facts
version_added: 0.1.0
description:
  - Reads the kernel's view of a DPDK node from C(/sys) and C(/proc) (and boot loader files under C(/etc) and C(/boot))
    and returns it as the C(dataplane) fact.
  - The V(kubelet) subset is what M(dataplane.node.kubelet_info) returns (it runs C(kubelet --version)); the
    C(dataplane.node.kubelet) role takes it as C(kubelet_node_info) instead of running that module itself.
  - Reads only; never writes to the host. Works on hosts without NUMA, IOMMU or SR-IOV and says so in
    RV(ansible_facts.dataplane.summary) instead of failing.
  - Can serve as a facts module for C(gather_facts), for example with C(ANSIBLE_FACTS_MODULES=smart,dataplane.node.node_facts).
    C(gather_facts) does not pass O(gather_subset) to non-setup modules, so it then gathers every subset.
author:
  - dataplane.node contributors (@dataplane-node)
options:
  gather_subset:
    description:
      - Which parts to gather. V(all) gathers every part; a name prefixed with V(!) leaves that part out.
      - Unknown names are an error.
    type: list
    elements: str
    default: [all]
    choices: [all, hugepages, numa, iommu, pci, cmdline, boot, kubelet,
              '!all', '!hugepages', '!numa', '!iommu', '!pci', '!cmdline', '!boot', '!kubelet']
  kubelet_binary:
    description:
      - The kubelet binary for the V(kubelet) subset, as M(dataplane.node.kubelet_info) takes it (a name searched in
        the usual directories, or an absolute path).
    type: str
    default: kubelet
  management_addresses:
    description:
      - Addresses that carry the management connection, as the modules that can take a netdev down take them
        (M(dataplane.node.pci_driver), M(dataplane.node.sriov_vfs)); literal addresses (resolve host names on the
        controller with the P(dataplane.node.management_addresses#filter) filter).
      - With the SSH session's own address and the default routes they seed RV(ansible_facts.dataplane.management),
        from which the site playbook's preflight plans the management guard's refusals. C(playbooks/site.yml) passes
        the C(dataplane.node.sriov) role's C(sriov_management_addresses) (by default C(ansible_host) resolved).
    type: list
    elements: str
    default: []
  management_interfaces:
    description: Netdevs that carry the management connection (the C(sriov_management_interfaces) of the site run).
    type: list
    elements: str
    default: []
  root:
    description:
      - Directory holding the host's C(sys), C(proc), C(etc) and C(boot) trees.
      - Tests point it at a fixture tree; on a host leave it at V(/).
    type: path
    default: /
extends_documentation_fragment: []
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode returns the same facts.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  facts:
    support: full
    description: Returns the C(dataplane) fact.
  platform:
    platforms: linux
    support: full
    description: Reads Linux sysfs and procfs.
notes:
  - A PCI device whose C(numa_node) is -1 (no affinity in firmware) is reported with C(numa_node=null).
  - C(/proc/meminfo) covers only the default hugepage size, so every size is read from sysfs, per NUMA node.
"""

EXAMPLES = r"""
- name: Gather everything
  dataplane.node.node_facts:

- name: Show hugepages per NUMA node
  ansible.builtin.debug:
    msg: "{{ ansible_facts['dataplane']['hugepages']['pools'] }}"

- name: Only what the hugepages role needs
  dataplane.node.node_facts:
    gather_subset: [hugepages, numa]

- name: Everything but the PCI scan
  dataplane.node.node_facts:
    gather_subset: ['!pci']

- name: With the management connection the guard protects (the preflight plans its refusals from the facts)
  dataplane.node.node_facts:
    management_addresses: "{{ ansible_host | default(inventory_hostname) | dataplane.node.management_addresses }}"

- name: The NUMA node of a NIC
  ansible.builtin.debug:
    msg: "{{ ansible_facts['dataplane']['pci']['devices']['0000:3b:00.0']['numa_node'] }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts added to the host.
  returned: always
  type: dict
  contains:
    dataplane:
      description: The node's dataplane state; each key below is present when its subset was gathered.
      returned: always
      type: dict
      contains:
        root:
          description: The root directory the facts were read from.
          type: str
          returned: always
          sample: /
        gather_subset:
          description: The subsets gathered, after expanding V(all) and V(!name).
          type: list
          elements: str
          returned: always
          sample: [hugepages, numa, iommu, pci, cmdline, boot]
        summary:
          description:
            - Plain-language findings (no NUMA, IOMMU off, no SR-IOV device, no hugepages, unknown NUMA nodes, kernel
              arguments booted after C(--) where init got them).
          type: list
          elements: str
          returned: always
          sample: [IOMMU not enabled, no SR-IOV capable device found]
        hugepages:
          description:
            - Hugepage pools keyed by page size (V(2M), V(1G)); each with C(size_kb), C(nr), C(free), C(reserved),
              C(surplus), C(overcommit), C(memory_kb) and C(nodes) (per NUMA node C(nr), C(free), C(surplus)).
            - Also C(default_size), C(default_size_kb), C(sizes), C(supported), hugetlbfs C(mounts) (C(path),
              C(pagesize), C(pagesize_kb), C(options)) and C(transparent) (C(enabled), C(defrag), C(choices)).
          type: dict
          returned: when hugepages is gathered
          sample:
            default_size: 2M
            pools:
              2M: {size_kb: 2048, nr: 512, free: 512, reserved: 0, surplus: 0, overcommit: 0, memory_kb: 1048576,
                   nodes: {'0': {nr: 256, free: 256, surplus: 0}, '1': {nr: 256, free: 256, surplus: 0}}}
        numa:
          description:
            - C(available), C(node_count), C(node_ids), C(has_memory), C(has_cpu) and C(nodes) keyed by node id, each with
              C(cpus), C(cpulist), C(cpu_count), C(memory_total_kb), C(memory_free_kb), C(has_memory), C(distances).
            - C(cpus) holds the CPU topology (C(online), C(count), C(sockets), C(cores), C(threads_per_core),
              C(thread_siblings), C(node_of_cpu)) and C(isolated) (C(kernel) from sysfs, C(isolcpus), C(isolcpus_flags),
              C(nohz_full), C(rcu_nocbs), C(irqaffinity) from the command line).
          type: dict
          returned: when numa is gathered
        iommu:
          description:
            - C(enabled), C(vendor) (V(intel), V(amd), V(other) or null), C(units), C(reason), C(cmdline) (IOMMU
              arguments seen), C(passthrough), C(group_count), C(group_types), C(groups) keyed by group number (C(devices),
              C(type)) and C(vfio_noiommu).
          type: dict
          returned: when iommu is gathered
        pci:
          description:
            - C(devices) keyed by PCI address (network, accelerator and vfio-pci bound devices), each with C(vendor),
              C(device), C(class), C(kind), C(driver), C(driver_override), C(numa_node) (null when unknown),
              C(iommu_group), C(netdevs), C(carries_default_route), C(physfn) and C(sriov) (C(totalvfs), C(numvfs),
              C(drivers_autoprobe), C(vfs) with C(index), C(address), C(driver), C(netdevs)), or null.
            - C(default_route_netdevs) and C(sriov_pfs).
          type: dict
          returned: when pci is gathered
        management:
          description:
            - The management stack from the same seeds the modules that can take a netdev down use (the SSH
              session's address, O(management_addresses), O(management_interfaces), the IPv4 and IPv6 default routes),
              walked down VLANs, bonds, bridges and OVS bridges to the devices, and from a VF to its PF, as those
              modules return it in C(management) - C(identified), C(sources), C(devices) (device -> the paths that
              carry the management connection over it), C(unmatched), C(warnings).
            - The preflight plans the management guard's refusals from it.
            - When C(ip -json addr show) cannot be run, only the default routes and the interfaces, with a warning.
          type: dict
          returned: when pci is gathered
        cmdline:
          description:
            - C(/proc/cmdline) parsed as the kernel's C(next_arg()) reads it; C(raw), C(args) (the kernel's arguments,
              ordered C(key)/C(value) pairs, value null for flags, quotes removed as the kernel removes them),
              C(params) (key with dashes as underscores -> every value in order), C(init_args) (what follows C(--),
              init's argv, not kernel parameters, and not in C(args) or C(params)).
            - C(effect) is what the kernel made of them, from its own files; C(isolated) (CPUs in
              C(/sys/devices/system/cpu/isolated)), C(nohz_full) (C(/sys/devices/system/cpu/nohz_full), null when the
              kernel lacks C(CONFIG_NO_HZ_FULL)), C(default_hugepage_kb) (C(Hugepagesize) in C(/proc/meminfo)).
          type: dict
          returned: when cmdline is gathered
        boot:
          description:
            - C(firmware) (V(bios) or V(uefi)), C(loader) (V(debian-grub), V(grub2-mkconfig), V(grub2-bls), V(ostree),
              V(transactional), V(unknown)), C(kernel), C(kernel_version), C(os), C(ostree), C(grub) (settings of
              C(/etc/default/grub) and its drop-ins' names), C(bls_entries), C(tools) found.
          type: dict
          returned: when boot is gathered
        kubelet:
          description:
            - What M(dataplane.node.kubelet_info) returns (C(installed), C(binary), C(version), C(running), C(flags),
              C(config_path), C(config_dir), C(root_dir), C(hostname_override), C(state), C(hugepage_capacity),
              C(pending_restart), ...).
          type: dict
          returned: when kubelet is gathered
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._facts import (
    SUBSETS,
    SubsetError,
    gather,
    resolve_subsets,
)
from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._netstack import facts_stack, module_runner


def main():
    choices = ['all'] + list(SUBSETS)
    module = AnsibleModule(
        argument_spec=dict(
            gather_subset=dict(type='list', elements='str', default=['all'],
                               choices=choices + ['!' + c for c in choices]),
            root=dict(type='path', default='/'),
            kubelet_binary=dict(type='str', default='kubelet'),
            management_addresses=dict(type='list', elements='str', default=[]),
            management_interfaces=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        subsets = resolve_subsets(module.params['gather_subset'])
        host = Host(module.params['root'])
    except (SubsetError, HostRootError) as exc:
        module.fail_json(msg=str(exc))

    def read_management(of):
        return facts_stack(of, module_runner(module), os.environ, os.getpid(),
                           module.params['management_addresses'], module.params['management_interfaces'])

    facts = gather(host, subsets, module.params['kubelet_binary'], module.run_command, module.warn, read_management)
    module.exit_json(changed=False, ansible_facts={'dataplane': facts})


if __name__ == '__main__':
    main()
