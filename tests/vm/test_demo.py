"""README's main command, end to end: `make demo` prepares a DPDK node and proves it with DPDK itself (issue #25).

tests/vm/demo.py boots the testbed VM (2 NUMA nodes, intel-iommu, the igb SR-IOV NIC), makes it a Kubernetes node
(kubelet v1.20.2 built from Debian's source, the API server on this host), runs dataplane.node.workload_check
before the node is prepared, then dataplane.node.site, then the workload check again. Asserted here:
  - before: the check refuses the testpmd pod with the reason (no 2M hugepages on the NUMA node yet), nothing runs;
  - after: testpmd ran in a pod scheduled through the API server, EAL mapped 2M hugepages on the asked NUMA node,
    a VF the sriov role put on vfio-pci was probed through vfio by a DPDK PMD, and the demo ends with that report;
  - the Node's capacity shows the hugepage pools (kubelet restarted by the site run).
About 25 minutes under TCG with the images and the kubelet build cached. Log: tests/output/demo-<time>.log.
"""
import json
import os
import subprocess
import sys
import time

import pytest

import testbed

pytestmark = pytest.mark.vm

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
REASON = testbed.preflight()
TIMEOUT = 60 * 60  # the cold kubelet build alone can take 10 min


@pytest.fixture(scope="module")
def demo():
    if REASON:
        pytest.skip(REASON)
    out_dir = os.path.join(REPO, "tests", "output")
    os.makedirs(out_dir, exist_ok=True)
    log = os.path.join(out_dir, "demo-%s.log" % time.strftime("%Y%m%d-%H%M%S"))
    reports = os.path.join(out_dir, "demo-workload-%s" % time.strftime("%Y%m%d-%H%M%S"))
    with open(log, "w") as handle:
        try:
            proc = subprocess.run([sys.executable, os.path.join(HERE, "demo.py"), "--reports", reports],
                                  stdout=handle, stderr=subprocess.STDOUT, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("the demo did not finish in %d s: see %s" % (TIMEOUT, log))
    with open(log) as handle:
        text = handle.read()
    return {"rc": proc.returncode, "text": text, "log": log, "reports": reports}


def section(text, title):
    """The demo's output from the banner that starts with `title` to the next banner."""
    start = text.find("=== " + title)
    assert start >= 0, "no %r section in the demo's output" % title
    end = text.find("\n=== ", start + 1)
    return text[start:end if end > 0 else len(text)]


def report(demo, name):
    path = os.path.join(demo["reports"], name)
    assert os.path.isfile(path), "the workload check wrote no report %s (see %s)" % (path, demo["log"])
    with open(path) as handle:
        return json.load(handle)


def test_demo_succeeds(demo):
    assert demo["rc"] == 0, "demo exited %d: see %s\n%s" % (demo["rc"], demo["log"], demo["text"][-4000:])


def test_workload_refused_before_the_node_is_prepared(demo):
    before = section(demo["text"], "the DPDK workload BEFORE")
    assert "dpdk_testpmd_pod:" in before and "2M pages" in before, before[-3000:]
    assert "Create the testpmd pod on the node" not in before, "a pod was created on an unprepared node"


def test_testpmd_ran_on_hugepages_and_a_vfio_vf(demo):
    after = report(demo, "workload-after.json")
    assert len(after) == 1, after
    node = list(after.values())[0]
    assert node["ok"] and node["failure"] is None and not node["problems"], node
    lines = "\n".join(node["lines"])
    assert "DPDK ran" in lines, lines
    assert "hugepages: 2M" in lines, lines
    assert "vfio with IOMMU" in lines, lines  # the VF probed through vfio, by a PMD (its name on the same line)


def test_demo_ends_with_the_workload_report(demo):
    tail = section(demo["text"], "DPDK on the prepared node")
    assert "DPDK ran" in tail and "vfio with IOMMU" in tail, tail


def test_node_capacity_shows_the_pools(demo):
    after = section(demo["text"], "the Node demo as the API server reports it AFTER")
    line = next((l for l in after.splitlines() if l.startswith("hugepages-2Mi")), "")
    assert line and line.split()[1] not in ("0", "-"), after
