"""QEMU test VMs that look like a small DPDK node.

Each VM: 2 NUMA nodes (one CPU each), an emulated Intel IOMMU, an igb NIC
with SR-IOV (7 VFs), a spare e1000e for vfio tests, a virtio management
NIC with SSH forwarded to 127.0.0.1:<port>, on a copy-on-write overlay of
the cached base image (see image.py).

CLI:  testbed.py up NAME [--mem-per-node MiB] [--timeout S] [--quiet-limit S] [--retries N]
      testbed.py down NAME | ssh NAME -- CMD... | reset NAME | status
      (all take --state-dir DIR)
API:  Testbed(state_dir).up(name) -> Instance; .down(name); .get(name)
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # for `import image`, also when imported as a library
SSH_OPTS = [
    "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=10",
]
DEFAULT_TIMEOUT = 240  # boot to SSH under TCG takes ~35 s; leave headroom
# A healthy boot never goes this long without console output (measured: docs/testing.md, "Boot watchdog").
BOOT_QUIET_LIMIT = 60
BOOT_RETRIES = 1  # resets through the monitor before wait_for_ssh gives up


class TestbedError(RuntimeError):
    __test__ = False  # not a pytest test class


def default_state_dir():
    if os.environ.get("DATAPLANE_VM_STATE"):
        return Path(os.environ["DATAPLANE_VM_STATE"])
    cache = os.environ.get("DATAPLANE_CACHE") or Path.home() / ".cache" / "dataplane-node"
    return Path(cache) / "vms"


def preflight():
    """Return None when VMs can run here, else the reason they cannot."""
    for tool in ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "sfdisk", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} not found (see docs/testing.md for the apt packages)"
    try:
        out = subprocess.run(["qemu-system-x86_64", "-device", "help"],
                             capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return f"qemu-system-x86_64 -device help failed: {exc}"
    if '"igb"' not in out:
        return "qemu-system-x86_64 has no igb device (need QEMU >= 8, e.g. bookworm-backports)"
    return None


@dataclass
class Instance:
    name: str
    address: str
    port: int
    user: str
    identity_file: str
    pid: int
    serial_log: str
    monitor: str
    overlay: str
    pidfile: str
    dir: str

    def ssh_argv(self, *cmd, quote=True):
        # ssh joins its arguments into one string for the remote shell:
        # quote them so ("sh", "-c", script) arrives as three words.
        words = [shlex.quote(str(c)) for c in cmd] if quote else list(cmd)
        return ["ssh", *SSH_OPTS, "-i", self.identity_file, "-p", str(self.port),
                f"{self.user}@{self.address}", *words]

    def ssh(self, *cmd, check=True, timeout=120):
        """Run a command in the guest; returns CompletedProcess (text)."""
        try:
            res = subprocess.run(self.ssh_argv(*cmd), capture_output=True,
                                 text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise TestbedError(f"ssh {self.name}: {' '.join(cmd)} timed out after {timeout} s") from exc
        if check and res.returncode != 0:
            raise TestbedError(f"ssh {self.name}: {' '.join(cmd)} exited {res.returncode}: "
                               f"{res.stderr.strip()}")
        return res

    def boot_id(self):
        return self.ssh("cat", "/proc/sys/kernel/random/boot_id", timeout=30).stdout.strip()

    def reboot(self, timeout=DEFAULT_TIMEOUT, **watchdog):
        """Reboot from inside and wait until the guest is back with a new boot id (through the boot watchdog:
        `watchdog` takes wait_for_ssh's quiet_limit and retries)."""
        old = self.boot_id()
        # The connection may drop before ssh returns: ignore its status.
        self.ssh("systemctl", "reboot", check=False, timeout=30)
        wait_for_ssh(self, timeout, not_boot_id=old, **watchdog)

    def monitor_command(self, command, timeout=10):
        return monitor_command(self.monitor, command, timeout)


# --- low-level helpers (also used by image.py) -----------------------------

def free_port():
    # Tiny race until QEMU binds it; start_vm retries on a clash.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_exit(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.5)
    return not pid_alive(pid)


def tail(path, lines=30):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no serial log)"


def qemu_argv(inst, disk, disk_format, mem_per_node, kernel=None):
    """The QEMU command line; TCG because KVM guests hang on these hosts."""
    m = int(mem_per_node)
    argv = [
        "qemu-system-x86_64", "-name", inst.name,
        "-machine", "q35,accel=tcg", "-cpu", "max",
        "-smp", "2,sockets=2,cores=1,threads=1", "-m", f"{2 * m}M",
        "-object", f"memory-backend-ram,id=m0,size={m}M",
        "-object", f"memory-backend-ram,id=m1,size={m}M",
        "-numa", "node,nodeid=0,cpus=0,memdev=m0",
        "-numa", "node,nodeid=1,cpus=1,memdev=m1",
        # intremap=on needs kernel-irqchip=split, which TCG lacks.
        "-device", "intel-iommu,intremap=off,caching-mode=on",
        "-drive", f"file={disk},format={disk_format},if=virtio",
        "-netdev", f"user,id=mgmt,hostfwd=tcp:{inst.address}:{inst.port}-:22",
        "-device", "virtio-net-pci,netdev=mgmt",
        "-netdev", "user,id=sriov", "-device", "igb,netdev=sriov",
        "-netdev", "user,id=spare", "-device", "e1000e,netdev=spare",
        "-display", "none",
        "-serial", f"file:{inst.serial_log}",
        "-monitor", f"unix:{inst.monitor},server,nowait",
        "-daemonize", "-pidfile", inst.pidfile,
    ]
    if kernel:
        vmlinuz, initrd, append = kernel
        argv += ["-kernel", str(vmlinuz), "-initrd", str(initrd), "-append", append]
    return argv


def start_vm(vm_dir, disk, disk_format, identity_file, mem_per_node=2048,
             name=None, kernel=None):
    """Start a daemonized QEMU on `disk`; returns the Instance (not yet booted)."""
    vm_dir = Path(vm_dir).resolve()
    vm_dir.mkdir(parents=True, exist_ok=True)
    log = vm_dir / "qemu.log"
    for attempt in range(3):
        inst = Instance(
            name=name or vm_dir.name, address="127.0.0.1", port=free_port(), user="root",
            identity_file=str(identity_file), pid=0,
            serial_log=str(vm_dir / "serial.log"), monitor=str(vm_dir / "monitor.sock"),
            overlay=str(disk), pidfile=str(vm_dir / "qemu.pid"), dir=str(vm_dir))
        for stale in (inst.monitor, inst.pidfile, inst.serial_log):
            Path(stale).unlink(missing_ok=True)
        argv = qemu_argv(inst, disk, disk_format, mem_per_node, kernel)
        res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        log.write_text(" ".join(argv) + "\n" + res.stdout + res.stderr)
        if res.returncode == 0:
            inst.pid = int(Path(inst.pidfile).read_text().strip())
            return inst
        if "host forwarding" not in res.stderr:  # only a port clash is worth a retry
            break
    raise TestbedError(f"start qemu failed (exit {res.returncode}): "
                       f"{res.stderr.strip()} (see {log})")


# --- boot watchdog -------------------------------------------------------------
# Under TCG a guest loses timer interrupts when the host's cores are busy: its boot stops (RCU stall reports,
# then nothing) and SSH never comes. wait_for_ssh tells that from the serial log, resets the guest through the
# monitor and retries once, instead of waiting out its whole timeout and failing.

PROGRESSING, STALLED, STALL_REPORTED, NO_SSH = "progressing", "stalled", "stall-reported", "no-ssh"
# What the guest kernel prints when RCU sees lost timer wakeups or starved CPUs.
RCU_STALL = re.compile(r"rcu: INFO: rcu_\w+ (?:self-)?detected (?:expedited )?stalls?"
                       r"|rcu_\w+ kthread (?:timer wakeup didn't happen|starved for)")


def boot_verdict(output, quiet_for, quiet_limit=BOOT_QUIET_LIMIT):
    """(state, detail) of a boot, from what it printed on the console and how long the console has been quiet.

    `output` is this boot's output only (not what an earlier boot left in the log); `quiet_for` counts from its
    last new byte, or from the start while there is none."""
    found = RCU_STALL.search(output)
    if found:
        line = output[output.rfind("\n", 0, found.start()) + 1:].split("\n", 1)[0].strip()
        return STALL_REPORTED, f"the guest kernel reported an RCU stall: {line}"
    if quiet_for >= quiet_limit:
        return STALLED, f"no new console output for {quiet_for:.0f} s (limit {quiet_limit} s)"
    return PROGRESSING, ""


class BootWatch:
    """One boot attempt, followed through samples of the serial log. No I/O: the caller passes the clock and
    the log. `offset` is the log's size when the attempt began (QEMU appends across resets and guest reboots)."""

    def __init__(self, start, offset=0, quiet_limit=BOOT_QUIET_LIMIT):
        self.start, self.offset, self.quiet_limit = start, offset, quiet_limit
        self.size = offset
        self.last_change = start
        self.max_quiet = 0.0  # the longest quiet gap so far: what the limit is measured against
        self.samples = []  # (seconds since start, log size) at each change

    def observe(self, now, log):
        """Take the whole log (str) as read at `now`; return boot_verdict's (state, detail)."""
        if len(log) > self.size:
            self.max_quiet = max(self.max_quiet, now - self.last_change)
            self.size, self.last_change = len(log), now
            self.samples.append((round(now - self.start, 1), self.size))
        return boot_verdict(log[self.offset:], now - self.last_change, self.quiet_limit)

    def record(self, now, result):
        """The attempt as one line of boot-watch.jsonl."""
        return {"result": result, "elapsed": round(now - self.start, 1),
                "max_quiet": round(max(self.max_quiet, now - self.last_change), 1),
                "quiet_limit": self.quiet_limit, "offset": self.offset, "samples": self.samples}


def read_serial(path):
    try:
        return Path(path).read_bytes().decode(errors="replace")
    except OSError:
        return ""


def load_average():
    try:
        return "host load average %.2f %.2f %.2f on %d cores" % (*os.getloadavg(), os.cpu_count() or 0)
    except OSError:
        return "host load average unknown"


def _watch_attempt(inst, timeout, not_boot_id, watch, clock=time.monotonic):
    """Wait for SSH while watching the console: (boot id, None) or (None, (state, detail))."""
    deadline = watch.start + timeout
    probe, probe_start, next_probe = None, 0.0, watch.start
    try:
        while True:
            now = clock()
            if not pid_alive(inst.pid):
                raise TestbedError(f"wait for ssh: qemu (pid {inst.pid}) exited; "
                                   f"serial log {inst.serial_log}:\n{tail(inst.serial_log)}")
            state = watch.observe(now, read_serial(inst.serial_log))
            if state[0] != PROGRESSING:
                return None, state
            if probe is not None and probe.poll() is not None:
                out = probe.stdout.read().strip()
                if probe.returncode == 0 and out not in ("", not_boot_id):
                    return out, None
                probe, next_probe = None, now + 2
            elif probe is not None and now - probe_start > 30:  # a banner exchange that hangs
                probe.kill()
                probe.wait()
                probe, next_probe = None, now
            if probe is None and now >= next_probe:
                # In the background, so the console is sampled every second while ssh waits.
                probe = subprocess.Popen(inst.ssh_argv("cat", "/proc/sys/kernel/random/boot_id"),
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         stdin=subprocess.DEVNULL, text=True)
                probe_start = now
            if now >= deadline:
                return None, (NO_SSH, f"no SSH on {inst.address}:{inst.port} after {timeout} s")
            time.sleep(1)
    finally:
        if probe is not None:
            if probe.poll() is None:
                probe.kill()
            probe.wait()
            probe.stdout.close()


def wait_for_ssh(inst, timeout=DEFAULT_TIMEOUT, not_boot_id=None, quiet_limit=BOOT_QUIET_LIMIT,
                 retries=BOOT_RETRIES):
    """Wait until a command runs over SSH (QEMU's forward accepts TCP even while the guest hangs, so probing the
    port proves nothing), watching the serial log meanwhile. A boot that stalls, reports an RCU stall or has no
    SSH after `timeout` s is reset through the monitor and retried (`retries` times); then it fails with the
    log's tail and the host's load. Each attempt appends a line to boot-watch.jsonl in the VM's dir."""
    failures = []
    for attempt in range(1, retries + 2):
        watch = BootWatch(time.monotonic(), len(read_serial(inst.serial_log)), quiet_limit)
        boot_id, failed = _watch_attempt(inst, timeout, not_boot_id, watch)
        entry = dict(watch.record(time.monotonic(), failed[0] if failed else "ssh"), attempt=attempt,
                     load=os.getloadavg())
        with open(Path(inst.dir) / "boot-watch.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        if boot_id:
            return boot_id
        failures.append(f"attempt {attempt}: {failed[1]} ({load_average()})")
        if attempt > retries:
            break
        try:
            monitor_command(inst.monitor, "system_reset")
        except OSError as exc:
            failures.append(f"reset through the monitor {inst.monitor} failed: {exc}")
            break
        not_boot_id = None  # after a reset any boot is a new one
    raise TestbedError(f"wait for ssh: {'; '.join(failures)}; serial log {inst.serial_log}:\n"
                       f"{tail(inst.serial_log)}")


def monitor_command(path, command, timeout=10):
    """Send one HMP command to QEMU's monitor socket, return its output."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        buf = b""
        while not buf.endswith(b"(qemu) "):  # banner + first prompt
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        s.sendall(command.encode() + b"\n")
        out = b""
        while b"(qemu) " not in out:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    # The monitor echoes the command with terminal escapes: drop that line.
    text = out.decode(errors="replace").replace("(qemu) ", "")
    return text.split("\n", 1)[1].strip() if "\n" in text else ""


def _is_our_qemu(pid, vm_dir):
    # Guard against a recycled pid: the command line names our pidfile.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "qemu" in cmdline and str(vm_dir) in cmdline


def kill_vm(inst, graceful_timeout=0):
    """Stop QEMU: system_powerdown first (if asked), then SIGTERM, SIGKILL."""
    pid = inst.pid
    if not pid and Path(inst.pidfile).exists():
        pid = int(Path(inst.pidfile).read_text().strip() or 0)
    if not pid or not pid_alive(pid) or not _is_our_qemu(pid, inst.dir):
        return
    if graceful_timeout and Path(inst.monitor).exists():
        try:
            monitor_command(inst.monitor, "system_powerdown")
            if wait_exit(pid, graceful_timeout):
                return
        except OSError:
            pass
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if wait_exit(pid, wait):
            return
    raise TestbedError(f"down: qemu pid {pid} survived SIGKILL")


# --- the testbed: named VMs under a state dir --------------------------------

class Testbed:
    def __init__(self, state_dir=None, image=None):
        self.state_dir = Path(state_dir or default_state_dir()).resolve()
        self.image = Path(image) if image else None

    def vm_dir(self, name):
        if not name or "/" in name or name.startswith("."):
            raise TestbedError(f"bad VM name {name!r}")
        return self.state_dir / name

    def _base_image(self):
        if self.image:
            return self.image
        import image  # built on demand, cached by recipe hash
        return image.build()

    def up(self, name, mem_per_node=2048, timeout=DEFAULT_TIMEOUT, quiet_limit=BOOT_QUIET_LIMIT,
           retries=BOOT_RETRIES):
        """Boot VM `name` on a fresh overlay, wait for SSH (through the boot watchdog), write instance.json."""
        import image as image_mod
        vm_dir = self.vm_dir(name)
        if (vm_dir / "instance.json").exists():
            self.down(name)  # a leftover from a crashed run: start clean
        vm_dir.mkdir(parents=True, exist_ok=True)
        base = self._base_image()
        overlay = vm_dir / "overlay.qcow2"
        overlay.unlink(missing_ok=True)
        res = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base),
                              "-F", "raw", str(overlay)], capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise TestbedError(f"create overlay failed: {res.stderr.strip()}")
        inst = start_vm(vm_dir, overlay, "qcow2", image_mod.identity_file(base),
                        mem_per_node, name=name)
        self._save(inst)
        try:
            wait_for_ssh(inst, timeout, quiet_limit=quiet_limit, retries=retries)
        except TestbedError:
            self.down(name, graceful_timeout=0)
            raise
        return inst

    def _save(self, inst):
        path = Path(inst.dir) / "instance.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(inst), indent=2) + "\n")
        tmp.replace(path)

    def get(self, name):
        path = self.vm_dir(name) / "instance.json"
        if not path.exists():
            raise TestbedError(f"no VM named {name!r} in {self.state_dir}")
        return Instance(**json.loads(path.read_text()))

    def down(self, name, graceful_timeout=5):
        """Stop VM `name` and drop its overlay; fine if it is not running.
        serial.log and qemu.log stay for post-mortems."""
        vm_dir = self.vm_dir(name)
        try:
            inst = self.get(name)
        except TestbedError:
            inst = Instance(name, "127.0.0.1", 0, "root", "", 0, str(vm_dir / "serial.log"),
                            str(vm_dir / "monitor.sock"), str(vm_dir / "overlay.qcow2"),
                            str(vm_dir / "qemu.pid"), str(vm_dir))
        kill_vm(inst, graceful_timeout)
        for path in (inst.overlay, inst.pidfile, inst.monitor, vm_dir / "instance.json"):
            Path(path).unlink(missing_ok=True)

    def reset(self, name):
        inst = self.get(name)
        try:
            return inst.monitor_command("system_reset")
        except OSError as exc:
            raise TestbedError(f"reset {name}: monitor {inst.monitor}: {exc}") from exc

    def status(self):
        rows = []
        for path in sorted(self.state_dir.glob("*/instance.json")):
            inst = Instance(**json.loads(path.read_text()))
            rows.append({"name": inst.name, "port": inst.port, "pid": inst.pid,
                         "running": pid_alive(inst.pid) and _is_our_qemu(inst.pid, inst.dir)})
        return rows


# --- CLI ----------------------------------------------------------------------

def main(argv=None):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=None,
                        help="default: $DATAPLANE_VM_STATE or $DATAPLANE_CACHE/vms")
    parser = argparse.ArgumentParser(description="QEMU test VMs for dataplane.node")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", parents=[common], help="boot a VM, print instance.json")
    up.add_argument("name")
    up.add_argument("--mem-per-node", type=int, default=2048, help="MiB per NUMA node")
    up.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds to SSH, per boot attempt")
    up.add_argument("--quiet-limit", type=float, default=BOOT_QUIET_LIMIT,
                    help="seconds without console output after which a boot counts as stalled")
    up.add_argument("--retries", type=int, default=BOOT_RETRIES,
                    help="resets of a stalled boot through the monitor before giving up")
    up.add_argument("--image", default=None, help="base image (default: build/cached)")
    for cmd in ("down", "reset"):
        sub.add_parser(cmd, parents=[common]).add_argument("name")
    ssh = sub.add_parser("ssh", parents=[common], help="NAME -- CMD...")
    ssh.add_argument("name")
    sub.add_parser("status", parents=[common])
    sub.add_parser("preflight", parents=[common])
    # Everything after "--" is the remote command, so options may come
    # before or after NAME.
    argv = list(sys.argv[1:] if argv is None else argv)
    remote = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    bed = Testbed(args.state_dir, getattr(args, "image", None))
    try:
        if args.cmd == "up":
            inst = bed.up(args.name, args.mem_per_node, args.timeout, args.quiet_limit, args.retries)
            print(json.dumps(asdict(inst), indent=2))
        elif args.cmd == "down":
            bed.down(args.name)
        elif args.cmd == "reset":
            bed.reset(args.name)
        elif args.cmd == "ssh":
            # Like plain ssh: the words form one remote shell command line.
            return subprocess.call(bed.get(args.name).ssh_argv(*remote, quote=False))
        elif args.cmd == "status":
            for row in bed.status():
                print(f"{row['name']}\tport={row['port']}\tpid={row['pid']}\t"
                      f"{'running' if row['running'] else 'stopped'}")
        elif args.cmd == "preflight":
            reason = preflight()
            print(reason or "ok")
            return 1 if reason else 0
    except (TestbedError, RuntimeError) as exc:  # incl. image.BuildError
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
