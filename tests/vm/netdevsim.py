# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the kernel's netdevsim driver out of tree for a Debian kernel ABI, from Debian's own packages.

Debian's kernels ship without netdevsim (CONFIG_NETDEVSIM is not set), which is the only driver that gives
devlink devices with SR-IOV VFs and a switchdev eSwitch without hardware. This downloads (apt-get download, no
install) linux-headers-<abi>, its -common package, linux-kbuild-<major.minor> and linux-source-<major.minor> of
the same Debian version, unpacks them with dpkg-deb, points the headers at the unpacked copies and runs kbuild on
drivers/net/netdevsim only. The result is cached per ABI:
${DATAPLANE_CACHE:-~/.cache/dataplane-node}/netdevsim/<abi>/netdevsim.ko

    python3 tests/vm/netdevsim.py build 6.1.0-56-amd64   # prints the path of netdevsim.ko

The guest installs it under /lib/modules/<abi>/updates/, runs depmod -a and modprobe netdevsim (the module is
unsigned: the kernel is tainted, and loads it).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class BuildError(RuntimeError):
    pass


def cache_dir():
    base = os.environ.get("DATAPLANE_CACHE") or os.path.expanduser("~/.cache/dataplane-node")
    return Path(base) / "netdevsim"


def _run(argv, cwd, log):
    with open(log, "a") as out:
        out.write("$ %s\n" % " ".join(argv))
        out.flush()
        proc = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode:
        raise BuildError("%s failed (exit %d): see %s" % (argv[0], proc.returncode, log))


def _version_of(package):
    """The Debian version apt knows for a package, or a BuildError."""
    proc = subprocess.run(["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True,
                          check=False)
    m = re.search(r"^Version: (\S+)$", proc.stdout, re.M)
    if not m:
        raise BuildError("apt knows no package %s (apt-get update? is the ABI right?)" % package)
    return m.group(1)


def build(abi, force=False):
    """Path of netdevsim.ko for this kernel ABI (e.g. 6.1.0-56-amd64), built when not cached."""
    m = re.match(r"^(\d+\.\d+)\.\d+-(\d+)-([a-z0-9-]+)$", abi)
    if not m:
        raise BuildError("%r is not a Debian kernel ABI like 6.1.0-56-amd64" % abi)
    series = m.group(1)
    common_abi = abi[: -len(m.group(3)) - 1]
    dest = cache_dir() / abi
    module = dest / "netdevsim.ko"
    if module.exists() and not force:
        return module
    cache_dir().mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-%s-" % abi, dir=str(cache_dir())))
    log = work / "build.log"
    started = time.monotonic()
    version = _version_of("linux-headers-%s" % abi)
    packages = ["linux-headers-%s=%s" % (abi, version), "linux-headers-%s-common=%s" % (common_abi, version),
                "linux-kbuild-%s=%s" % (series, version), "linux-source-%s=%s" % (series, version)]
    debs = work / "debs"
    debs.mkdir()
    _run(["apt-get", "download"] + packages, debs, log)
    tree = work / "tree"
    for deb in sorted(debs.glob("*.deb")):
        if deb.name.startswith("linux-source-"):
            continue
        _run(["dpkg-deb", "-x", str(deb), str(tree)], work, log)
    source_deb = next(debs.glob("linux-source-*.deb"))
    _run(["dpkg-deb", "-x", str(source_deb), str(work / "src")], work, log)
    tarball = next((work / "src" / "usr" / "src").glob("linux-source-*.tar.xz"))
    _run(["tar", "-xJf", str(tarball), "-C", str(work), "--wildcards", "*/drivers/net/netdevsim/*"], work, log)
    sources = next(work.glob("linux-source-*/drivers/net/netdevsim"))
    headers = tree / "usr" / "src" / ("linux-headers-%s" % abi)
    # The flavour's headers refer to the common headers and kbuild by absolute paths: point them at the copies.
    for path in [headers / "Makefile"]:
        text = path.read_text()
        path.write_text(text.replace("/usr/src/", str(tree / "usr" / "src") + "/"))
    for link in list(headers.iterdir()) + list((tree / "usr" / "src" / ("linux-headers-%s-common" % common_abi))
                                               .iterdir()):
        if link.is_symlink() and os.readlink(str(link)).startswith("/"):
            target = tree / os.readlink(str(link)).lstrip("/")
            link.unlink()
            link.symlink_to(target)
    build_dir = work / "netdevsim"
    shutil.copytree(str(sources), str(build_dir))
    _run(["make", "-C", str(headers), "M=%s" % build_dir, "CONFIG_NETDEVSIM=m", "modules",
          "-j%d" % (os.cpu_count() or 1)], work, log)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(str(build_dir / "netdevsim.ko"), str(module))
    shutil.copy2(str(log), str(dest / "build.log"))
    with open(str(dest / "build.log"), "a") as out:
        out.write("built from Debian %s in %.1f s\n" % (version, time.monotonic() - started))
    shutil.rmtree(str(work))
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build (or find cached) netdevsim.ko for a kernel ABI; prints its path")
    b.add_argument("abi", help="kernel release of the guest, e.g. 6.1.0-56-amd64")
    b.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args(argv)
    try:
        print(build(args.abi, force=args.force))
    except BuildError as exc:
        print("netdevsim build failed: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
