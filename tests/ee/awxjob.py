"""Run a playbook the way AWX runs a job: ansible-runner, an AWX-like private data dir, inside the EE.

What AWX writes for a job, and what this writes:
  project/            the project checkout (here: a copy of this repository's playbooks/)
  inventory/hosts     the inventory as an executable script printing JSON (AWX's inventory sources end up so)
  env/extravars       the job template's extra variables merged with the survey answers (JSON)
  env/ssh_key         the Machine credential's private key (ansible-runner feeds it to ssh-agent in the EE)
  env/cmdline         the Machine credential's username as `-u USER` (AWX does not put it in the inventory)
  env/envvars         the job's environment (ANSIBLE_* settings)
The job runs with process isolation in the EE image; results are read from artifacts/<ident>/ (status, rc,
job_events/*.json), which is what AWX reads back.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "ee"))
import build as ee_build  # noqa: E402  (ee/build.py: container_env, the image)

INVENTORY_SCRIPT = """#!/usr/bin/env python3
import json
import sys
if "--host" in sys.argv:
    print("{}")
else:
    print(json.dumps(%s))
"""


@dataclass
class Credential:
    """An AWX Machine credential: username and SSH private key."""
    username: str
    ssh_key_file: str


@dataclass
class JobResult:
    status: str
    rc: int
    events: list = field(repr=False)
    stdout: str = field(repr=False)
    artifacts: Path = None

    def events_of(self, kind):
        return [e for e in self.events if e.get("event") == kind]

    @property
    def stats(self):
        """playbook_on_stats event_data: ok/changed/failures/dark/skipped per host."""
        stats = self.events_of("playbook_on_stats")
        return stats[-1]["event_data"] if stats else {}

    def failed_messages(self):
        """(task, host, msg) for every failed or unreachable host result."""
        out = []
        for kind in ("runner_on_failed", "runner_on_unreachable"):
            for ev in self.events_of(kind):
                data = ev["event_data"]
                res = data.get("res", {})
                msg = res.get("msg") or res.get("stderr") or ""
                out.append((data.get("task"), data.get("host"), str(msg)))
        return out


class AwxJob:
    def __init__(self, root, image, playbook, hosts, credential=None, extra_vars=None, survey=None,
                 container_options=(), timeout=1800):
        self.root = Path(root)
        self.image = image
        self.playbook = playbook
        self.hosts = hosts  # name -> host vars from the inventory source (address, port)
        self.credential = credential
        # AWX merges the job template's extra_vars and the survey answers; answers win.
        self.extra_vars = {**(extra_vars or {}), **(survey or {})}
        self.container_options = list(container_options)
        self.timeout = timeout

    def write(self):
        pdd = self.root
        if pdd.exists():
            shutil.rmtree(pdd)
        (pdd / "env").mkdir(parents=True)
        shutil.copytree(REPO / "playbooks", pdd / "project" / "playbooks")
        inv = pdd / "inventory" / "hosts"
        inv.parent.mkdir()
        inventory = {"all": {"hosts": sorted(self.hosts)}, "_meta": {"hostvars": self.hosts}}
        inv.write_text(INVENTORY_SCRIPT % json.dumps(inventory))
        inv.chmod(0o700)
        (pdd / "env" / "extravars").write_text(json.dumps(self.extra_vars))
        (pdd / "env" / "envvars").write_text(json.dumps({
            "ANSIBLE_HOST_KEY_CHECKING": "False",     # AWX's default; the testbed's host keys are new per VM
            "ANSIBLE_SSH_ARGS": "-o UserKnownHostsFile=/dev/null -o ControlMaster=auto -o ControlPersist=60s",
            "ANSIBLE_FORCE_COLOR": "False",
        }))
        if self.credential:
            (pdd / "env" / "ssh_key").write_text(Path(self.credential.ssh_key_file).read_text())
            (pdd / "env" / "cmdline").write_text(f"-u {shlex.quote(self.credential.username)}")
        return pdd

    def run(self, ident="job"):
        pdd = self.write()
        argv = [str(Path(sys.executable).parent / "ansible-runner"), "run", str(pdd), "--ident", ident,
                "-p", self.playbook, "--process-isolation", "--process-isolation-executable", "podman",
                "--container-image", self.image]
        for opt in self.container_options:
            argv.append(f"--container-option={opt}")
        # Nothing of this shell's Ansible setup may leak in: the job sees only the EE and the private data dir.
        env = {k: v for k, v in ee_build.container_env().items() if not k.startswith("ANSIBLE_")}
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=self.timeout,
                              check=False, stdin=subprocess.DEVNULL)
        art = pdd / "artifacts" / ident
        status = (art / "status").read_text().strip() if (art / "status").exists() else f"runner exited {proc.returncode}"
        rc = int((art / "rc").read_text()) if (art / "rc").exists() else proc.returncode
        events = []
        if (art / "job_events").is_dir():
            for path in sorted((art / "job_events").glob("*.json"),
                               key=lambda p: int(p.name.split("-", 1)[0])):
                events.append(json.loads(path.read_text()))
        stdout = (art / "stdout").read_text(errors="replace") if (art / "stdout").exists() else ""
        return JobResult(status=status, rc=rc, events=events, stdout=stdout + proc.stdout + proc.stderr,
                         artifacts=art)


def runner_preflight():
    reason = ee_build.preflight()
    if reason:
        return reason
    if not (Path(sys.executable).parent / "ansible-runner").exists() and shutil.which("ansible-runner") is None:
        return "ansible-runner not found (make setup installs it from requirements-test.txt)"
    return None


def env_without_ansible():
    """This process's environment without ANSIBLE_* (the Makefile's settings are for the controller here)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
