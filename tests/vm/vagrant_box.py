"""A libvirt Vagrant box of the QEMU testbed's Debian 12 image, for molecule/vagrant.

Usage: python3 tests/vm/vagrant_box.py build      -> builds (once) the .box file, prints its path
       python3 tests/vm/vagrant_box.py add        -> build + `vagrant box add` when missing or stale
       python3 tests/vm/vagrant_box.py env [--shell|--json]   the Vagrant/libvirt environment to use
       python3 tests/vm/vagrant_box.py preflight  -> "ok" or why the Vagrant scenario cannot run here
       python3 tests/vm/vagrant_box.py cleanup NAME...  remove what vagrant-libvirt left for NAME

The box is the base image (image.py) converted to qcow2 plus metadata.json and a Vagrantfile (root login
with the image's own key, driver "qemu": KVM guests hang on these nested hosts), packed as a plain tar
(no gzip: faster to add). It is cached under $DATAPLANE_CACHE/vagrant/boxes/<image key>/ and added to
Vagrant under a fixed name; a box added from another image key is replaced. All Vagrant and libvirt state
stays under $DATAPLANE_CACHE/vagrant (VAGRANT_HOME, the storage pool), never in ~/.vagrant.d.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import image  # noqa: E402  (the base image and its key)

BOX_NAME = "dataplane/debian12-dpdk-node"
POOL = "dataplane-node"
DOMAIN_PREFIX = "dataplane-molecule_"
LIBVIRT_URI = "qemu:///system"
# vagrant-libvirt names the box's volume in the pool after the box (see handle_box_image.rb).
BOX_VOLUME_PREFIX = BOX_NAME.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_"
KEY_FILE = "dataplane_image_key"  # metadata.json field: the image key the box was made from

BOX_VAGRANTFILE = """\
# Box defaults for {box}: the QEMU testbed image (tests/vm/image.py, key {key}).
Vagrant.configure("2") do |config|
  # The image has no vagrant user: root logs in with the testbed's key, which is never replaced.
  config.ssh.username = "root"
  config.ssh.private_key_path = {key_path}
  config.ssh.insert_key = false
  config.vm.synced_folder ".", "/vagrant", disabled: true  # no rsync/NFS client in the guest
  config.vm.provider :libvirt do |libvirt|
    libvirt.driver = "qemu"      # TCG: KVM guests hang on nested hosts
    libvirt.disk_bus = "virtio"  # GRUB is installed on /dev/vda
  end
end
"""


class BoxError(RuntimeError):
    pass


def cache_dir():
    return image.cache_dir()


def vagrant_dir():
    return cache_dir() / "vagrant"


def environment():
    """Variables for every vagrant/virsh call of the scenario (defaults keep state out of ~)."""
    base = vagrant_dir()
    env = {
        "VAGRANT_HOME": os.environ.get("VAGRANT_HOME") or str(base / "home"),
        "VAGRANT_DEFAULT_PROVIDER": "libvirt",
        "VAGRANT_CHECKPOINT_DISABLE": "1",       # no HashiCorp checkpoint calls (no internet here)
        "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
        "VAGRANT_NO_COLOR": "1",
        "LIBVIRT_DEFAULT_URI": LIBVIRT_URI,
        "DATAPLANE_VAGRANT_BOX": BOX_NAME,
        "DATAPLANE_VAGRANT_POOL": os.environ.get("DATAPLANE_VAGRANT_POOL") or POOL,
        "DATAPLANE_VAGRANT_POOL_DIR": str(base / "pool"),
        "DATAPLANE_VAGRANT_LOGS": str(base / "logs"),
        "DATAPLANE_VAGRANT_PREFIX": DOMAIN_PREFIX,
    }
    return env


def run(argv, check=True, env=None, **kw):
    full = dict(os.environ, **environment(), **(env or {}))
    res = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=full, check=False, **kw)
    if check and res.returncode != 0:
        raise BoxError(f"{' '.join(map(str, argv))} failed (exit {res.returncode}):\n"
                       f"{(res.stdout + res.stderr).strip()}")
    return res


def virsh(*args, check=True):
    return run(["virsh", "-q", "-c", LIBVIRT_URI, *args], check=check)


# --- the box file ----------------------------------------------------------------

def box_dir(base):
    return vagrant_dir() / "boxes" / Path(base).parent.name  # <image key>


def build(base=None, verbose=False):
    """Return the cached .box for the base image, building it if needed."""
    base = Path(base or image.build())
    key = base.parent.name
    final = box_dir(base) / "debian12-dpdk-node.box"
    if final.exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=final.parent))
    start = time.monotonic()
    try:
        run(["qemu-img", "convert", "-O", "qcow2", base, work / "box.img"])
        size_gib = -(-base.stat().st_size // 1024**3)  # virtual size, rounded up
        (work / "metadata.json").write_text(json.dumps(
            {"provider": "libvirt", "format": "qcow2", "virtual_size": size_gib,
             KEY_FILE: key}, indent=2) + "\n")
        (work / "Vagrantfile").write_text(BOX_VAGRANTFILE.format(
            box=BOX_NAME, key=key, key_path=json.dumps(str(image.identity_file(base)))))
        tmp = work / "box.tar"
        with tarfile.open(tmp, "w") as tar:  # plain tar: adding a gzipped box is ~30 s slower
            for name in ("metadata.json", "Vagrantfile", "box.img"):
                tar.add(work / name, arcname=name)
        tmp.replace(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if verbose:
        print(f"built {final} in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return final


def added_box_key():
    """The image key of the box Vagrant has under BOX_NAME ('' if none is added)."""
    root = Path(environment()["VAGRANT_HOME"]) / "boxes" / BOX_NAME.replace("/", "-VAGRANTSLASH-")
    keys = []
    for meta in sorted(root.glob("*/libvirt/metadata.json")):
        try:
            keys.append(str(json.loads(meta.read_text()).get(KEY_FILE, "unknown")))
        except (OSError, ValueError):
            keys.append("unknown")
    return keys[-1] if len(keys) == 1 else ("" if not keys else "several")


def add(base=None, verbose=False):
    """Make sure Vagrant has BOX_NAME built from the current base image; return the box name."""
    base = Path(base or image.build())
    key = base.parent.name
    have = added_box_key()
    if have == key:
        if verbose:
            print(f"box {BOX_NAME} present (image {key})", file=sys.stderr)
        return BOX_NAME
    box = build(base, verbose)
    if have != "":  # stale or unknown: replace it, and its uploaded volumes in the pool
        run(["vagrant", "box", "remove", "--force", "--all", BOX_NAME], check=False)
        remove_box_volumes()
    start = time.monotonic()
    run(["vagrant", "box", "add", "--force", "--name", BOX_NAME, box])
    if verbose:
        print(f"added box {BOX_NAME} (image {key}) in {time.monotonic() - start:.1f} s", file=sys.stderr)
    return BOX_NAME


# --- checks and cleanup ----------------------------------------------------------

def preflight():
    """None when the Vagrant scenario can run here, else the reason (run scripts/setup-vagrant.sh)."""
    hint = " (run scripts/setup-vagrant.sh as root; see docs/vagrant.md)"
    for tool in ("vagrant", "virsh", "qemu-system-x86_64", "qemu-img"):
        if shutil.which(tool) is None:
            return f"{tool} not found{hint}"
    res = run(["vagrant", "plugin", "list"], check=False, timeout=120)
    if "vagrant-libvirt" not in res.stdout:
        return f"the vagrant-libvirt plugin is not installed{hint}"
    try:
        conf = Path("/etc/libvirt/qemu.conf").read_text()
    except OSError:
        conf = ""
    if 'user = "root"' not in conf.splitlines() or 'group = "root"' not in conf.splitlines():
        return f"/etc/libvirt/qemu.conf lacks user/group = \"root\" (libvirt re-probes QEMU: slow up){hint}"
    res = virsh("version", check=False)
    if res.returncode != 0:
        return f"libvirtd does not answer on {LIBVIRT_URI}: {res.stderr.strip()}{hint}"
    pool = environment()["DATAPLANE_VAGRANT_POOL"]
    res = virsh("pool-info", pool, check=False)
    if res.returncode != 0 or "running" not in res.stdout:
        return f"libvirt storage pool {pool!r} is missing or inactive{hint}"
    return None


def pool_volumes():
    pool = environment()["DATAPLANE_VAGRANT_POOL"]
    res = virsh("vol-list", pool, check=False)
    return [line.split()[0] for line in res.stdout.splitlines() if line.strip()]


def remove_box_volumes():
    pool = environment()["DATAPLANE_VAGRANT_POOL"]
    removed = []
    for vol in pool_volumes():
        if vol.startswith(BOX_VOLUME_PREFIX):
            virsh("vol-delete", "--pool", pool, vol, check=False)
            removed.append(vol)
    return removed


def cleanup(names, keep_box_volume=False):
    """After `vagrant destroy`: remove any domain DOMAIN_PREFIX+NAME still defined (e.g. when the
    .vagrant state was lost), its volumes, and (unless asked not to) the box volume vagrant-libvirt
    uploaded to the pool. Returns what it removed."""
    pool = environment()["DATAPLANE_VAGRANT_POOL"]
    removed = []
    domains = virsh("list", "--all", "--name", check=False).stdout.split()
    for name in names:
        dom = DOMAIN_PREFIX + name
        if dom in domains:
            virsh("destroy", dom, check=False)
            virsh("undefine", dom, "--remove-all-storage", "--nvram", check=False)
            removed.append(f"domain {dom}")
        for vol in pool_volumes():
            if vol == f"{dom}.img" or vol.startswith(f"{dom}-"):
                virsh("vol-delete", "--pool", pool, vol, check=False)
                removed.append(f"volume {vol}")
    still = [d for d in virsh("list", "--all", "--name", check=False).stdout.split()
             if d.startswith(DOMAIN_PREFIX)]
    if not keep_box_volume and not still:  # no other scenario domain uses the box volume
        removed += [f"volume {v}" for v in remove_box_volumes()]
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the .box if needed, print its path")
    sub.add_parser("add", help="build and add the box to Vagrant if missing or stale")
    env = sub.add_parser("env", help="print the environment for vagrant/virsh")
    env.add_argument("--json", action="store_true")
    sub.add_parser("preflight", help="print ok or why the scenario cannot run")
    clean = sub.add_parser("cleanup", help="remove leftover domains/volumes of these machines")
    clean.add_argument("names", nargs="+")
    clean.add_argument("--keep-box-volume", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            print(build(verbose=True))
        elif args.cmd == "add":
            print(add(verbose=True))
        elif args.cmd == "env":
            if args.json:
                print(json.dumps(environment()))
            else:
                for key, value in environment().items():
                    print(f"export {key}={shlex.quote(value)}")
        elif args.cmd == "preflight":
            reason = preflight()
            print(reason or "ok")
            return 1 if reason else 0
        elif args.cmd == "cleanup":
            for item in cleanup(args.names, args.keep_box_volume):
                print(f"removed {item}")
    except (BoxError, image.BuildError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
