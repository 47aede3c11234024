#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: kubelet_info
short_description: Find the kubelet on a node, its version, flags, config paths, manager state and hugepage capacity
version_added: 0.1.0
description:
  - Reads, never changes. Finds the kubelet binary and runs C(kubelet --version).
  - "Reads the running kubelet's command line from C(/proc) (C(--config), C(--config-dir), C(--root-dir),
    C(--kubeconfig), C(--hostname-override)); when kubelet is not running, the flags kubeadm and the packages give it
    (C(/var/lib/kubelet/kubeadm-flags.env), C(/etc/default/kubelet), C(/etc/sysconfig/kubelet))."
  - Reports the unit's drop-ins, the CPU and memory manager checkpoints, and the hugepages capacity the kubelet
    should report for the host's pools (to compare with the Node object).
author:
  - dataplane.node contributors (@dataplane-node)
options:
  binary:
    description: The kubelet binary, a name searched in C(/usr/bin), C(/usr/local/bin), C(/usr/sbin), C(/bin),
      C(/opt/bin), or an absolute path.
    type: str
    default: kubelet
extends_documentation_fragment:
  - dataplane.node.node.read_only
notes:
  - With a test O(root) the binary is not run and RV(version) is V(null).
seealso:
  - module: dataplane.node.kubelet_config
"""

EXAMPLES = r"""
- name: Find the kubelet
  dataplane.node.kubelet_info:
  register: kubelet

- name: Merge settings into the file the running kubelet reads
  dataplane.node.kubelet_config:
    path: "{{ kubelet.config_path }}"
    version: "{{ kubelet.version }}"
    settings: {cpuManagerPolicy: static, reservedSystemCPUs: "0"}
  when: kubelet.installed
"""

RETURN = r"""
installed:
  description: Whether the kubelet binary was found and C(--version) worked.
  type: bool
  returned: always
binary:
  description: Path of the kubelet binary (V(null) when not found).
  type: str
  returned: always
  sample: /usr/bin/kubelet
version:
  description: The kubelet's version (major.minor.patch), V(null) when unknown.
  type: str
  returned: always
  sample: "1.20.2"
version_output:
  description: What C(kubelet --version) printed.
  type: str
  returned: always
  sample: Kubernetes v1.20.2
running:
  description: Whether a kubelet process runs.
  type: bool
  returned: always
pid:
  description: The running kubelet's process id.
  type: int
  returned: always
args:
  description: The running kubelet's arguments (without the program name).
  type: list
  elements: str
  returned: always
flags:
  description: The flags as a mapping (from the running process, else from the flag files).
  type: dict
  returned: always
  sample: {config: /var/lib/kubelet/config.yaml, kubeconfig: /etc/kubernetes/kubelet.conf}
flags_from:
  description: Where RV(flags) come from.
  type: str
  returned: always
  sample: running
flag_files:
  description: The flag files found and their words.
  type: dict
  returned: always
config_path:
  description: The kubelet's C(--config) file (kubeadm's C(/var/lib/kubelet/config.yaml) when not given).
  type: str
  returned: always
config_dir:
  description: The kubelet's C(--config-dir), V(null) when it has none.
  type: str
  returned: always
root_dir:
  description: The kubelet's C(--root-dir) (where C(cpu_manager_state) lives).
  type: str
  returned: always
  sample: /var/lib/kubelet
kubeconfig:
  description: The kubelet's C(--kubeconfig).
  type: str
  returned: always
hostname_override:
  description: The kubelet's C(--hostname-override) (the Node name when set).
  type: str
  returned: always
unit_dropins:
  description: systemd drop-ins of C(kubelet.service).
  type: list
  elements: str
  returned: always
state:
  description: The parsed C(cpu_manager_state) and C(memory_manager_state) checkpoints (V(null) when absent).
  type: dict
  returned: always
  sample: {cpu_manager_state: {policyName: static, defaultCpuSet: "0-1"}, memory_manager_state: null}
hugepage_capacity:
  description: The hugepages capacity the kubelet should report for the host's pools, as the API server writes it.
  type: dict
  returned: always
  sample: {hugepages-2Mi: 32Mi, hugepages-1Gi: "0"}
pending_restart:
  description:
    - The kubelet restart an earlier run left pending and no kubelet start has done since, as
      M(dataplane.node.pending_actions) keeps it in C(/var/lib/dataplane-node/pending.json), with C(reasons),
      C(first) and C(since) (UTC); V(null) when there is none.
    - The kubelet role restarts kubelet for it on the next run.
  type: dict
  returned: always
  sample: {reasons: [hugepage pools changed], first: "2026-12-03T07:40:12Z", since: "2026-12-03T07:40:12Z"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dataplane.node.plugins.module_utils._host import Host, HostRootError
from ansible_collections.dataplane.node.plugins.module_utils._kubelet_probe import probe
from ansible_collections.dataplane.node.plugins.module_utils._module import ROOT_ARG


def main():
    module = AnsibleModule(
        argument_spec=dict(binary=dict(type='str', default='kubelet'), root=ROOT_ARG),
        supports_check_mode=True,
    )
    root = module.params['root']
    try:
        host = Host(root)
    except HostRootError as exc:
        module.fail_json(msg=str(exc))
    info = probe(host, module.params['binary'], module.run_command, module.warn)
    module.exit_json(changed=False, **info)


if __name__ == '__main__':
    main()
