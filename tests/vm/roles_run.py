"""Run a playbook of the collection's roles against one testbed VM and read its JSON report (tests/vm tests)."""
import json
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, "tests", "output")


def run_playbook(vm, state_dir, playbook, extra, log_name, timeout, hostvars=None, keepalive=15):
    """ansible-playbook with the JSON callback against `vm`; returns (rc, report, log path). The whole output goes to
    tests/output/<log_name>.json. keepalive: ServerAliveInterval (x4): a session opened just before the guest hung
    must not wait forever."""
    inventory = os.path.join(str(state_dir), "inventory-%s.json" % log_name)
    host = {
        "ansible_host": vm.address, "ansible_port": vm.port, "ansible_user": vm.user,
        "ansible_ssh_private_key_file": vm.identity_file,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                   "-o ServerAliveInterval=%d -o ServerAliveCountMax=4" % keepalive,
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    host.update(hostvars or {})
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": {vm.name: host}}}, handle)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".build", "collections"), ANSIBLE_HOST_KEY_CHECKING="0",
               ANSIBLE_INJECT_FACT_VARS="False", ANSIBLE_TIMEOUT="30",
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    command = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    proc = subprocess.run([command, "-i", inventory, playbook, "-e", json.dumps(extra)], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - start
    os.makedirs(OUTPUT, exist_ok=True)
    log = os.path.join(OUTPUT, "%s.json" % log_name)
    with open(log, "w") as handle:
        handle.write(proc.stdout + proc.stderr)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook (%s) printed no JSON (rc=%d); log: %s\n%s" % (
            log_name, proc.returncode, log, proc.stderr[-3000:]))
    print("%s: rc=%d in %.0f s" % (log_name, proc.returncode, elapsed))
    return proc.returncode, report, log


def results(report, vm_name):
    """[(task name without the role's prefix, result)] for the host, in order."""
    out = []
    for play in report["plays"]:
        for task in play["tasks"]:
            res = task["hosts"].get(vm_name)
            if res is not None:
                out.append((task["task"]["name"].split(" : ")[-1], res))
    return out


def reboots(report, vm_name):
    """Reboots the roles did (the reboot role's tasks named Reboot...)."""
    return sum(1 for name, res in results(report, vm_name) if name.startswith("Reboot") and res.get("rebooted"))


def one_vm(tmp_path_factory, name, skip_reason=None):
    """Body of a module fixture: one testbed VM `name` for a test file, yielding (bed, vm, state dir); always down
    at the end. Skipped with `skip_reason` (testbed.preflight()'s answer) when VMs cannot run here."""
    if skip_reason:
        pytest.skip(skip_reason)
    import testbed  # pylint: disable=import-outside-toplevel
    state = tmp_path_factory.mktemp("vms")
    bed = testbed.Testbed(state)
    try:
        vm = bed.up(name)
        yield bed, vm, state
    finally:
        bed.down(name, graceful_timeout=0)


def sh(vm, script):
    """A shell script in the guest; its stdout, stripped."""
    return vm.ssh("sh", "-c", script, timeout=60).stdout.strip()
