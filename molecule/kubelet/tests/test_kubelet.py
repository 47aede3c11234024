# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real kubelet 1.20.2 after the roles: read through the API server (the Python kubernetes client, as
kubernetes.core uses it) and on the node itself (testinfra). Seeds 000 and 003, CPU manager state, /configz."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re
import time

import pytest
import yaml

from kubernetes import client, config
from kubernetes.client.rest import ApiException

EPHEMERAL = os.environ['MOLECULE_EPHEMERAL_DIRECTORY']
REPO = os.environ['MOLECULE_PROJECT_DIRECTORY']
NODE = 'k8s-node-1'
CLUSTER = json.load(open(os.path.join(EPHEMERAL, 'k8s', 'cluster.json')))
PAUSE = json.load(open(os.path.join(CLUSTER['build_dir'], 'build.json')))['pause_image']
CONFIGZ = ("python3 -c 'import ssl, urllib.request; c = ssl.create_default_context(); c.check_hostname = False; "
           "c.verify_mode = ssl.CERT_NONE; c.load_cert_chain(\"/etc/kubernetes/pki/kubelet-reader.crt\", "
           "\"/etc/kubernetes/pki/kubelet-reader.key\"); print(urllib.request.urlopen("
           "\"https://127.0.0.1:10250/configz\", context=c, timeout=10).read().decode())'")


@pytest.fixture(scope='module')
def api():
    return client.CoreV1Api(config.new_client_from_config(config_file=CLUSTER['kubeconfig']))


def doc_example(name):
    """The YAML block after `<!-- example: NAME -->` in docs/kubelet.md, as the docs show it."""
    text = open(os.path.join(REPO, 'docs', 'kubelet.md')).read()
    m = re.search(r'<!-- example: %s -->\s*```yaml\n(.*?)```' % re.escape(name), text, re.S)
    assert m, 'no example %s in docs/kubelet.md' % name
    return yaml.safe_load(m.group(1))


def on_testbed(manifest, name):
    """The docs' pod on this cluster: local pause image, this node, host network (no scheduler, no CNI network)."""
    pod = copy.deepcopy(manifest)
    pod['metadata'] = {'name': name, 'namespace': 'default'}
    pod['spec'].update(nodeName=NODE, hostNetwork=True, restartPolicy='Never')
    for container in pod['spec']['containers']:
        container.update(image=PAUSE, imagePullPolicy='Never')
    return pod


def run_pod(api, pod, want=('Running',), timeout=180):
    name = pod['metadata']['name']
    try:
        api.delete_namespaced_pod(name, 'default', grace_period_seconds=0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            api.read_namespaced_pod(name, 'default')
            time.sleep(2)
    except ApiException as exc:
        assert exc.status == 404, exc
    api.create_namespaced_pod('default', pod)
    deadline = time.monotonic() + timeout
    while True:
        current = api.read_namespaced_pod(name, 'default')
        if current.status.phase in want or time.monotonic() > deadline:
            return current
        time.sleep(2)


def host_pools(host):
    return sum(int(host.file('/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages' % n)
                   .content_string) for n in (0, 1))


def test_node_reports_the_pools_the_host_has(api, host):
    assert host_pools(host) == 16
    status = api.read_node(NODE).status
    assert status.capacity['hugepages-2Mi'] == '32Mi'
    assert status.allocatable['hugepages-2Mi'] == '32Mi'
    assert status.capacity['hugepages-1Gi'] == '0'


def test_drained_and_uncordoned(api):
    """The static CPU manager change drained the node (the converge's pods are gone) and uncordoned it."""
    assert not api.read_node(NODE).spec.unschedulable
    names = [p.metadata.name for p in api.list_namespaced_pod('default').items]
    assert 'shm-gate-off' not in names
    assert 'hugepages-stale' not in names


def test_cpu_manager_state_and_configz(host):
    state = json.loads(host.file('/var/lib/kubelet/cpu_manager_state').content_string)
    assert state['policyName'] == 'static'
    configz = json.loads(host.check_output(CONFIGZ))['kubeletconfig']
    assert configz['cpuManagerPolicy'] == 'static'
    assert configz['reservedSystemCPUs'] == '0'
    assert configz['featureGates'] == {'SizeMemoryBackedVolumes': True}
    assert 'memoryManagerPolicy' not in configz


def test_configz_through_the_api_server_is_what_the_node_serves(api, host):
    """The path the kubelet role reads (GET nodes/NAME/proxy/configz) gives the kubelet's own answer; the side effect
    left maxPods 60 (the file edited without a restart, then the role's restart)."""
    through = json.loads(api.connect_get_node_proxy_with_path(NODE, 'configz', _preload_content=False).data)
    assert through == json.loads(host.check_output(CONFIGZ))
    assert through['kubeletconfig']['maxPods'] == 60


def test_kubelet_info_reads_the_real_kubelet(host):
    info = host.ansible('dataplane.node.kubelet_info', check=False)
    assert info['installed'] is True and info['running'] is True
    assert info['version'] == '1.20.2'
    assert info['config_path'] == '/var/lib/kubelet/config.yaml'
    assert info['kubeconfig'] == '/etc/kubernetes/kubelet.conf'
    assert info['hostname_override'] == NODE
    assert info['flags']['container-runtime'] == 'remote'
    assert info['pid'] == int(host.check_output('systemctl show --property=MainPID --value kubelet'))
    assert info['state']['cpu_manager_state']['policyName'] == 'static'
    assert info['hugepage_capacity'] == {'hugepages-2Mi': '32Mi', 'hugepages-1Gi': '0'}


@pytest.fixture(scope='module')
def dpdk_pod(api):
    pod = run_pod(api, on_testbed(doc_example('dpdk-2m'), 'dpdk-2m'))
    yield pod
    api.delete_namespaced_pod('dpdk-2m', 'default', grace_period_seconds=0)


def volume_mount(host, pod, volume):
    path = '/var/lib/kubelet/pods/%s/volumes/kubernetes.io~empty-dir/%s' % (pod.metadata.uid, volume)
    mounts = [line.split() for line in host.file('/proc/mounts').content_string.splitlines()]
    found = [m for m in mounts if m[1] == path]
    assert found, 'no mount at %s' % path
    return path, found[-1]


def test_seed000_docs_pod_runs_with_hugetlbfs(dpdk_pod, host):
    assert dpdk_pod.status.phase == 'Running'
    assert dpdk_pod.status.qos_class == 'Guaranteed'
    _path, mount = volume_mount(host, dpdk_pod, 'hugepages')
    assert mount[2] == 'hugetlbfs'
    assert 'pagesize=2M' in mount[3]


def test_seed003_shm_follows_size_limit_with_the_gate(dpdk_pod, host):
    path, mount = volume_mount(host, dpdk_pod, 'shm')
    assert mount[2] == 'tmpfs'
    size = int(host.check_output('df -B1 --output=size %s | tail -1' % path))
    assert size == 64 * 1024 * 1024


def test_static_cpu_manager_gives_the_guaranteed_pod_cpu_1(dpdk_pod, host):
    state = json.loads(host.file('/var/lib/kubelet/cpu_manager_state').content_string)
    assert state['defaultCpuSet'] == '0'
    assert state['entries'][dpdk_pod.metadata.uid] == {'dpdk': '1'}


def test_seed000_more_than_the_node_has_is_rejected(api):
    pod = on_testbed(doc_example('dpdk-2m'), 'too-big')
    resources = pod['spec']['containers'][0]['resources']
    for part in ('requests', 'limits'):
        resources[part]['hugepages-2Mi'] = '64Mi'
        del resources[part]['cpu']  # the docs pod may hold the one allocatable CPU: hugepages must be what is short
    rejected = run_pod(api, pod, want=('Failed',), timeout=60)
    try:
        assert rejected.status.phase == 'Failed'
        assert rejected.status.reason == 'OutOfhugepages-2Mi'
    finally:
        api.delete_namespaced_pod('too-big', 'default', grace_period_seconds=0)


def test_rollback_left_the_config_without_the_bad_gate(host):
    text = host.file('/var/lib/kubelet/config.yaml').content_string
    assert 'DataplaneNodeTestNoSuchGate' not in text
    assert host.service('kubelet').is_running
