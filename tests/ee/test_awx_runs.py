"""The collection as AWX runs it: jobs through ansible-runner inside the EE, against a testbed VM.

Each job gets an AWX-like private data dir (tests/ee/awxjob.py): the project, an inventory script, extra
variables as a job template and its survey give them, and a Machine credential injected as AWX does it
(env/ssh_key through ssh-agent in the EE, the username as `-u`). Checks: the job's status and rc, its events
(per-host results, changed counts in playbook_on_stats) and the VM's real state over SSH.

Needs root, podman (ee/build.py builds the image, cached) and QEMU with igb (the testbed); skipped with the
reason otherwise. Boots one VM: run it under the VM lock (make test-ee does):
    flock /tmp/dataplane-vm.lock .venv/bin/python -m pytest -v tests/ee
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests" / "vm"))
import awxjob  # noqa: E402
import testbed  # noqa: E402

pytestmark = pytest.mark.vm
REASON = awxjob.runner_preflight() or testbed.preflight()
HOST = "dpdk-node"
# The job template: its extra variables map the survey's scalar answers onto the roles' variables (a survey
# has no list type); the survey asks for the 2M page count (integer, default 64).
TEMPLATE_VARS = {"hugepages_pools": [{"size": "2M", "count": "{{ hugepages_2m_count }}"}]}
SURVEY_COUNT = 64
# The testbed's SSH is forwarded on the host's loopback: the job container shares the host's network.
CONTAINER_OPTIONS = ["--user=0", "--network=host"]


@pytest.fixture(scope="module")
def image():
    if REASON:
        pytest.skip(REASON)
    given = os.environ.get("DATAPLANE_EE_IMAGE")  # built before taking the VM lock (make test-ee)
    if given:
        if subprocess.run(["podman", "image", "exists", given], check=False).returncode != 0:
            pytest.fail(f"DATAPLANE_EE_IMAGE={given}: no such image (make ee builds it)", pytrace=False)
        return given
    try:
        info = awxjob.ee_build.build(log=lambda msg: print(msg, file=sys.stderr))
    except awxjob.ee_build.BuildError as exc:
        pytest.fail(str(exc), pytrace=False)
    return info["tag"]


@pytest.fixture(scope="module")
def vm(image, tmp_path_factory):
    bed = testbed.Testbed(tmp_path_factory.mktemp("vms"))
    try:
        yield bed.up("awx", timeout=300)
    finally:
        bed.down("awx", graceful_timeout=0)


@pytest.fixture(scope="module")
def credential(vm):
    return awxjob.Credential(username=vm.user, ssh_key_file=vm.identity_file)


def job(tmp_path, image, vm, playbook, credential, survey=None, extra_vars=None):
    hosts = {HOST: {"ansible_host": vm.address, "ansible_port": vm.port}}
    return awxjob.AwxJob(tmp_path / "pdd", image, playbook, hosts, credential=credential,
                         extra_vars=extra_vars, survey=survey, container_options=CONTAINER_OPTIONS)


def node_state(vm):
    """What a run could change: pools per node, the collection's state and config files, the GRUB drop-ins."""
    script = ("for f in /sys/devices/system/node/node*/hugepages/hugepages-*/nr_hugepages; do echo $f $(cat $f); done;"
              " find /etc/dataplane-node /etc/default/grub.d /etc/systemd/system -newer /etc/hostname"
              " -type f 2>/dev/null | sort | xargs -r sha256sum; cat /proc/sys/vm/nr_hugepages")
    return vm.ssh("sh", "-c", script).stdout


def assert_ok(result):
    assert result.status == "successful" and result.rc == 0, (
        f"job {result.status} rc={result.rc}: {result.failed_messages()}\n{result.stdout[-3000:]}")


def test_facts_job(tmp_path, image, vm, credential):
    result = job(tmp_path, image, vm, "playbooks/facts.yml", credential).run()
    assert_ok(result)
    stats = result.stats
    assert stats["ok"] == {HOST: 2} and stats["changed"] == {} and stats["failures"] == {} and stats["dark"] == {}
    gathered = [e["event_data"] for e in result.events_of("runner_on_ok")
                if e["event_data"].get("resolved_action") == "dataplane.node.node_facts"]
    assert [d["host"] for d in gathered] == [HOST]
    facts = gathered[0]["res"]["ansible_facts"]["dataplane"]
    # The module ran on the VM: its NUMA nodes are the VM's (the EE runs on this machine, with one node).
    online = vm.ssh("cat", "/sys/devices/system/node/online").stdout.strip()
    assert online == "0-1"
    assert sorted(int(n) for n in facts["numa"]["nodes"]) == [0, 1], facts["numa"]
    # The report task printed the node's report in the job's output, as AWX shows it.
    assert "Show the node report" in result.stdout and HOST in result.stdout


def test_missing_credential_is_named_and_changes_nothing(tmp_path, image, vm):
    before = node_state(vm)
    result = job(tmp_path, image, vm, "playbooks/site.yml", credential=None,
                 extra_vars=TEMPLATE_VARS, survey={"hugepages_2m_count": SURVEY_COUNT}).run()
    assert result.status == "failed" and result.rc != 0
    assert result.stats["dark"] == {HOST: 1} and result.stats["changed"] == {}
    (task, host, msg), = result.failed_messages()
    assert host == HOST
    # The SSH error names the user the job connected as and that no key was accepted: no Machine credential.
    assert "Permission denied (publickey" in msg and f"root@{vm.address}" in msg, msg
    assert node_state(vm) == before


def test_survey_value_of_wrong_type_is_refused_before_any_change(tmp_path, image, vm, credential):
    before = node_state(vm)
    survey = {"hugepages_2m_count": "sixty-four"}
    result = job(tmp_path, image, vm, "playbooks/site.yml", credential,
                 extra_vars=TEMPLATE_VARS, survey=survey).run()
    assert result.status == "failed" and result.rc != 0
    assert result.stats["changed"] == {}, result.stats
    messages = result.failed_messages()
    assert messages and all(failure[1] == HOST for failure in messages), messages
    assert any("count" in failure[2] and "sixty-four" in failure[2] for failure in messages), messages
    assert node_state(vm) == before
    # The same message as on the command line (ansible-playbook on this machine, same inventory and variables).
    rc, cli_messages = run_cli(tmp_path, vm, "playbooks/site.yml", {**TEMPLATE_VARS, **survey})
    assert rc != 0
    assert sorted(cli_messages) == sorted(messages)
    assert node_state(vm) == before


def test_site_job_with_survey_changes_the_pools(tmp_path, image, vm, credential):
    result = job(tmp_path, image, vm, "playbooks/site.yml", credential,
                 extra_vars=TEMPLATE_VARS, survey={"hugepages_2m_count": SURVEY_COUNT}).run()
    assert_ok(result)
    stats = result.stats
    assert stats["failures"] == {} and stats["dark"] == {} and stats["changed"].get(HOST, 0) >= 1, stats
    changed_tasks = [e["event_data"]["task"] for e in result.events_of("runner_on_ok")
                     if e["event_data"]["host"] == HOST and e["event_data"]["res"].get("changed")]
    assert any("hugepages" in (e["event_data"].get("resolved_action") or "")
               for e in result.events_of("runner_on_ok") if e["event_data"]["res"].get("changed")), changed_tasks
    per_node = vm.ssh("sh", "-c", "cat /sys/devices/system/node/node*/hugepages/hugepages-2048kB/nr_hugepages"
                      ).stdout.split()
    assert [int(n) for n in per_node] == [SURVEY_COUNT // 2, SURVEY_COUNT // 2]
    assert int(vm.ssh("cat", "/proc/sys/vm/nr_hugepages").stdout) == SURVEY_COUNT


def test_relaunch_changes_nothing(tmp_path, image, vm, credential):
    """AWX relaunches the same job: the second run reports no change."""
    result = job(tmp_path, image, vm, "playbooks/site.yml", credential,
                 extra_vars=TEMPLATE_VARS, survey={"hugepages_2m_count": SURVEY_COUNT}).run()
    assert_ok(result)
    assert result.stats["changed"] == {}, [
        e["event_data"]["task"] for e in result.events_of("runner_on_ok") if e["event_data"]["res"].get("changed")]
    assert int(vm.ssh("cat", "/proc/sys/vm/nr_hugepages").stdout) == SURVEY_COUNT


def run_cli(tmp_path, vm, playbook, extra_vars):
    """ansible-playbook on this machine with the same variables; returns (rc, [(task, host, msg)] of failures)."""
    inventory = tmp_path / "cli-inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {HOST: {
        "ansible_host": vm.address, "ansible_port": vm.port, "ansible_user": vm.user,
        "ansible_ssh_private_key_file": vm.identity_file,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}}}}))
    env = dict(awxjob.env_without_ansible(), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "collections"),
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           str(REPO / playbook), "-e", json.dumps(extra_vars)],
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"ansible-playbook printed no JSON (rc {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    failures = []
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed") or res.get("unreachable"):
                    failures.append((task["task"]["name"], host, str(res.get("msg") or res.get("stderr") or "")))
    return proc.returncode, failures
