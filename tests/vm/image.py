"""Build (once) and cache the Debian 12 base disk image for the QEMU testbed.

Usage: python3 tests/vm/image.py build   -> prints the path of base.raw

The image is keyed by the sha256 of this file, so editing the recipe
rebuilds it and an unchanged recipe returns the cached image at once.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import testbed  # noqa: E402  (shares the QEMU launch and SSH wait code)

# The guest's Debian release: bookworm (Debian 12, kernel 6.1, GRUB 2.06, systemd 252) by default, trixie
# (Debian 13, kernel 6.12, GRUB 2.12, systemd 257, cgroup v2 only) for the Debian 13 leg. Each has its own cache.
SUITES = ("bookworm", "trixie")
SUITE = os.environ.get("DATAPLANE_GUEST_SUITE") or "bookworm"
if SUITE not in SUITES:
    raise SystemExit(f"DATAPLANE_GUEST_SUITE={SUITE!r}: the image recipe knows {', '.join(SUITES)}")
PACKAGES = [
    "linux-image-amd64", "grub-pc", "systemd-sysv", "openssh-server", "python3",
    "sudo", "iproute2", "pciutils", "kmod", "udev", "procps", "numactl",
    "initramfs-tools", "dbus", "ethtool",
]
DISK_SIZE = 4 * 1024**3      # sparse; room for 1G hugepages and test packages
PART_OFFSET = 1024 * 1024    # first partition starts at sector 2048
HOSTNAME = "dpdk-node"

# Files written into the root filesystem before the first boot.
FILES = {
    "etc/fstab": "LABEL=root / ext4 errors=remount-ro 0 1\n",
    "etc/hostname": HOSTNAME + "\n",
    "etc/hosts": f"127.0.0.1 localhost\n127.0.1.1 {HOSTNAME}\n",
    # Match by driver: with several NICs the names are not stable
    # (the e1000e may become eth0). ClientIdentifier=mac keeps clones
    # from sharing one DHCP lease.
    "etc/systemd/network/10-mgmt.network": (
        "[Match]\nDriver=virtio_net\n\n[Network]\nDHCP=ipv4\n\n"
        "[DHCPv4]\nClientIdentifier=mac\n"
    ),
    "etc/ssh/sshd_config.d/10-testbed.conf": (
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n"
    ),
    # Host keys are deleted from the base image; each clone makes its own
    # on first boot (Debian's ssh.service does not do that by itself).
    # Only ed25519: RSA keygen takes ~18 s under TCG.
    "etc/systemd/system/ssh-hostkeys.service": (
        "[Unit]\nDescription=Generate missing SSH host keys\n"
        "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n"
        "Before=ssh.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N '' "
        "-f /etc/ssh/ssh_host_ed25519_key\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    ),
    # Serial console everywhere, no menu delay, no 'quiet' so boot logs
    # reach serial.log. GRUB_DEFAULT=saved allows grub-reboot trials.
    "etc/default/grub": (
        "GRUB_DEFAULT=saved\nGRUB_SAVEDEFAULT=false\nGRUB_TIMEOUT=0\n"
        "GRUB_DISTRIBUTOR=Debian\n"
        'GRUB_CMDLINE_LINUX_DEFAULT=""\n'
        'GRUB_CMDLINE_LINUX="console=ttyS0,115200"\n'
        "GRUB_TERMINAL=serial\n"
        'GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\n'
    ),
}
# e2scrub_reap scans for LVM snapshots: ~12 s of TCG CPU for nothing here.
MASK = ["e2scrub_reap.service"]
ENABLE = {  # unit -> target.wants directory
    "/lib/systemd/system/systemd-networkd.service": "multi-user.target.wants",
    "/lib/systemd/system/systemd-networkd.socket": "sockets.target.wants",
    "/etc/systemd/system/ssh-hostkeys.service": "multi-user.target.wants",
}

# Run inside the guest during the one-time boot: install GRUB, then strip
# per-machine identity so every overlay gets its own.
GUEST_INSTALL_GRUB = """set -e
echo 'grub-pc grub-pc/install_devices multiselect /dev/vda' | debconf-set-selections
grub-install /dev/vda
update-grub
"""
# Last command over SSH: once the host keys are gone sshd accepts no new
# connection, so the power-off must ride on the same session.
GUEST_SEAL = """rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /var/lib/systemd/random-seed
sync
systemctl --no-block poweroff
"""


def cache_dir():
    default = Path.home() / ".cache" / "dataplane-node"
    return Path(os.environ.get("DATAPLANE_CACHE") or default)


def recipe_hash():
    """Key of the cached image: this file is the whole recipe, with the release it is built for."""
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    # Debian 12 keeps the plain key (tests/vm/buildcache.py's); another release gets its own name in front.
    return key if SUITE == "bookworm" else f"{SUITE}-{key}"


def image_dir():
    return cache_dir() / "images" / recipe_hash()


def base_image():
    return image_dir() / "base.raw"


def identity_file(image=None):
    """Private key that logs in as root on images built here."""
    return Path(image or base_image()).parent / "id_ed25519"


class BuildError(RuntimeError):
    pass


class Builder:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.log = self.dir / "build.log"
        self.timings = {}

    def run(self, step, argv, **kw):
        """Run one command, appending its output to build.log."""
        with open(self.log, "a") as log:
            log.write(f"\n=== {step}: {' '.join(map(str, argv))}\n")
            log.flush()
            res = subprocess.run([str(a) for a in argv], stdout=log,
                                 stderr=subprocess.STDOUT, check=False, **kw)
        if res.returncode != 0:
            raise self.error(step)
        return res

    def error(self, step):
        return BuildError(f"image build failed at step '{step}': see {self.log}")

    def step(self, name, func, *args):
        """Time a step and turn any exception into a BuildError naming it."""
        start = time.monotonic()
        with open(self.log, "a") as log:
            log.write(f"\n##### step {name}\n")
        try:
            result = func(*args)
        except BuildError:
            raise
        except Exception as exc:  # noqa: BLE001 - record and rename the step
            with open(self.log, "a") as log:
                log.write(f"error: {exc!r}\n")
            raise self.error(name) from exc
        self.timings[name] = round(time.monotonic() - start, 1)
        return result

    # --- steps ---------------------------------------------------------
    def keygen(self):
        self.run("keygen", ["ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                            "-C", "dataplane-testbed", "-f", self.dir / "id_ed25519"])

    def mmdebstrap(self):
        self.run("mmdebstrap", ["mmdebstrap", "--variant=minbase",
                                "--include=" + ",".join(PACKAGES),
                                SUITE, self.dir / "rootfs.tar"])

    def partition(self):
        disk = self.dir / "base.raw"
        with open(disk, "wb") as f:
            f.truncate(DISK_SIZE)
        self.run("partition", ["sfdisk", "--no-reread", disk],
                 input=b"label: dos\nstart=2048, type=83, bootable\n")

    def populate(self):
        """mkfs + untar + configure through a loop device at the partition
        offset (`losetup -P` makes no partition nodes without udev)."""
        mnt = self.dir / "mnt"
        mnt.mkdir()
        size = DISK_SIZE - PART_OFFSET
        loop = subprocess.run(
            ["losetup", "-f", "--show", "-o", str(PART_OFFSET),
             "--sizelimit", str(size), str(self.dir / "base.raw")],
            check=True, capture_output=True, text=True).stdout.strip()
        try:
            self.run("mkfs", ["mkfs.ext4", "-q", "-F", "-L", "root", loop])
            self.run("mount", ["mount", loop, mnt])
            try:
                self.run("untar", ["tar", "-C", mnt, "--numeric-owner",
                                   "--xattrs", "--xattrs-include=*", "-xpf",
                                   self.dir / "rootfs.tar"])
                self.configure(mnt)
                self.extract_kernel(mnt)
            finally:
                self.run("umount", ["umount", mnt])
        finally:
            subprocess.run(["losetup", "-d", loop], check=False)
        (self.dir / "rootfs.tar").unlink()
        mnt.rmdir()

    def configure(self, root):
        for rel, text in FILES.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for unit, wants in ENABLE.items():
            link = root / "etc/systemd/system" / wants / Path(unit).name
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(unit)
        for unit in MASK:
            (root / "etc/systemd/system" / unit).symlink_to("/dev/null")
        ssh_dir = root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        keys = ssh_dir / "authorized_keys"
        shutil.copy(self.dir / "id_ed25519.pub", keys)
        keys.chmod(0o600)
        for key in (root / "etc/ssh").glob("ssh_host_*"):
            key.unlink()  # never ship the builder's host keys
        (root / "etc/machine-id").write_text("")

    def extract_kernel(self, root):
        # Debian keeps exactly one kernel in a fresh image.
        shutil.copy(sorted((root / "boot").glob("vmlinuz-*"))[-1], self.dir / "vmlinuz")
        shutil.copy(sorted((root / "boot").glob("initrd.img-*"))[-1], self.dir / "initrd.img")

    def install_grub(self):
        """Boot once with direct kernel boot and install GRUB from inside:
        the only way here to get a bootloader onto /dev/vda without
        partition device nodes on the host."""
        state = self.dir / "vm"
        inst = testbed.start_vm(
            state, disk=self.dir / "base.raw", disk_format="raw",
            identity_file=self.dir / "id_ed25519", mem_per_node=1024,
            kernel=(self.dir / "vmlinuz", self.dir / "initrd.img",
                    "root=LABEL=root rw console=ttyS0,115200"))
        try:
            testbed.wait_for_ssh(inst, timeout=300)
            res = inst.ssh("sh", "-c", GUEST_INSTALL_GRUB, check=False, timeout=300)
            with open(self.log, "a") as log:
                log.write(res.stdout + res.stderr)
            if res.returncode != 0:
                raise self.error("grub-install")
            inst.ssh("sh", "-c", GUEST_SEAL, check=False, timeout=60)
            if not testbed.wait_exit(inst.pid, 120):
                raise RuntimeError("guest did not power off in 120 s")
        except testbed.TestbedError as exc:
            with open(self.log, "a") as log:
                log.write(f"{exc}\nserial log: {inst.serial_log}\n")
            raise
        finally:
            testbed.kill_vm(inst)
        for name in ("vmlinuz", "initrd.img"):
            (self.dir / name).unlink()

    def build(self):
        self.step("keygen", self.keygen)
        self.step("mmdebstrap", self.mmdebstrap)
        self.step("partition", self.partition)
        self.step("populate", self.populate)
        self.step("grub-install", self.install_grub)
        with open(self.log, "a") as log:
            log.write(f"\ntimings (s): {self.timings}\n")


def build(verbose=False):
    """Return the cached base image, building it first if needed."""
    final = image_dir()
    if (final / "base.raw").exists():
        return final / "base.raw"
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{final.name}-", dir=final.parent))
    if verbose:
        print(f"building image in {work} (log: {work / 'build.log'})", file=sys.stderr)
    builder = Builder(work)
    try:
        builder.build()
    except Exception:
        # Keep the log for the error message, drop the big files.
        for name in ("base.raw", "rootfs.tar"):
            (work / name).unlink(missing_ok=True)
        raise
    shutil.rmtree(work / "vm", ignore_errors=True)
    try:
        os.rename(work, final)  # atomic: readers see a full image or none
    except OSError:
        if not (final / "base.raw").exists():  # lost a race only if it exists
            raise
        shutil.rmtree(work, ignore_errors=True)
    if verbose:
        print(f"timings (s): {builder.timings}", file=sys.stderr)
    return final / "base.raw"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the image if needed, print its path")
    sub.add_parser("path", help="print where the image is (built or not)")
    args = parser.parse_args(argv)
    if args.cmd == "path":
        print(base_image())
        return 0
    try:
        print(build(verbose=True))
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
