"""Build the dataplane.node execution environment (EE) image: podman + ansible-builder 3.

    .venv/bin/python ee/build.py                 # Debian base built here (no registry needed); prints the image tag
    .venv/bin/python ee/build.py --base default  # meta/execution-environment.yml as is (quay.io/centos/centos:stream9)
    .venv/bin/python ee/build.py --create-only   # only write the build context (ansible-builder create), no podman
    .venv/bin/python ee/build.py --print-tag    # only the tag (for scripts: DATAPLANE_EE_IMAGE=$(...) pytest tests/ee)
    .venv/bin/python ee/build.py --ca-dir DIR    # extra CA certificates (*.crt) trusted during the build and in the image
                                        # (default: /usr/local/share/ca-certificates when it holds any; 'none': off)

Steps: collection (ansible-galaxy collection build of this working tree) -> stage (a directory laid out like
the collection root: the definition, requirements.txt, bindep.txt, the tarball, dependency collections, CA
certificates) -> base (Debian only: mmdebstrap + podman import, cached by the recipe's hash) -> builder
(ansible-builder build) -> smoke (the collection, its Python deps and ssh inside the image).

Cache: ${DATAPLANE_CACHE:-~/.cache/dataplane-node}/ee/<key>/ where <key> hashes every staged input (the
collection's files, the definition, requirements, certificates, the base image's recipe): an unchanged input
set returns the cached image at once. A failed step raises BuildError naming the step and its log.
CPU-heavy steps hold /tmp/dataplane-build.lock (one build at a time on the machine).
"""
import argparse
import contextlib
import copy
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFINITION = REPO / "meta" / "execution-environment.yml"
OVERLAYS = {"default": None, "debian": REPO / "ee" / "debian.yml"}
IMAGE = "localhost/dataplane-node-ee"
BASE_IMAGE = "localhost/dataplane-node-ee-base"
BUILD_LOCK = "/tmp/dataplane-build.lock"
# The Debian base: what AWX's own EEs carry that the build and a job need (pip for the Python deps, git for
# project checkouts, ssh/sshpass/rsync for connections), from Debian's archive only.
BASE_PACKAGES = ["python3", "python3-pip", "python3-venv", "git", "openssh-client", "sshpass", "rsync",
                 "ca-certificates"]
# Debian 13: its Python 3.13 runs the newest ansible-core (2.20 and later need Python >= 3.12; bookworm's 3.11
# stops at 2.19).
BASE_RECIPE = ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(BASE_PACKAGES), "trixie"]
# Requirements ansible-builder's introspection drops from a collection's requirements.txt because the EE
# provides them itself (dependencies.ansible_core); the same applies when this collection is the EE's subject.
NOT_FOR_EE = {"ansible", "ansible-core", "ansible-base"}
# Collections this one depends on (galaxy.yml); without a reachable Galaxy they come from this venv.
DEPENDENCIES = ("ansible/posix", "community/general", "kubernetes/core")
CA_DEST = {"debian": ("/usr/local/share/ca-certificates/", "update-ca-certificates"),
           "default": ("/etc/pki/ca-trust/source/anchors/", "update-ca-trust")}
# podman 4.3 asks for nofile=1048576 by default, which root without CAP_SYS_RESOURCE cannot set; and crun 1.8
# refuses hosts with cgroups in hybrid mode ("drop all controllers from cgroupv2") where runc works.
CONTAINERS_CONF = '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
RUNC_CONF = '[engine]\nruntime = "runc"\n'


class BuildError(RuntimeError):
    pass


def cache_dir():
    return Path(os.environ.get("DATAPLANE_CACHE") or Path.home() / ".cache" / "dataplane-node") / "ee"


def container_env():
    """Environment for podman/ansible-runner: CONTAINERS_CONF with ulimits root can set and runc when it is
    installed (unless CONTAINERS_CONF is set already)."""
    env = dict(os.environ)
    if not env.get("CONTAINERS_CONF"):
        conf = cache_dir() / "containers.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        text = CONTAINERS_CONF + (RUNC_CONF if shutil.which("runc") else "")
        if not conf.exists() or conf.read_text() != text:
            conf.write_text(text)
        env["CONTAINERS_CONF"] = str(conf)
    return env


def preflight():
    """None when an EE can be built and run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "not root (the EE is built and run with rootful podman)"
    for tool, hint in (("podman", "apt-get install podman runc"), ("mmdebstrap", "apt-get install mmdebstrap")):
        if shutil.which(tool) is None:
            return f"{tool} not found ({hint})"
    for tool in ("ansible-builder", "ansible-galaxy"):
        if _venv_tool(tool) is None:
            return f"{tool} not found (make setup installs it into .venv from requirements-test.txt)"
    return None


def _venv_tool(name):
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def sha256_tree(paths, root):
    """Hash file names and contents under root (tarballs by their members, so build time stamps do not count)."""
    h = hashlib.sha256()
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0")
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tar:
                for member in sorted(tar.getmembers(), key=lambda m: m.name):
                    h.update(member.name.encode() + b"\0")
                    if member.isfile():
                        h.update(hashlib.sha256(tar.extractfile(member).read()).digest())
        else:
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def merge(base, overlay):
    """Overlay mappings key by key; any other value replaces the base's."""
    out = copy.deepcopy(base)
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def filter_requirements(text):
    """requirements.txt without what the EE provides itself (see NOT_FOR_EE); comments kept."""
    kept = []
    for line in text.splitlines():
        name = re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0].lower()
        if name and not line.lstrip().startswith("#") and name in NOT_FOR_EE:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def find_ca_files(ca_dir):
    if ca_dir == "none":
        return []
    if ca_dir is None:
        default = Path("/usr/local/share/ca-certificates")
        return sorted(default.glob("*.crt")) if default.is_dir() else []
    path = Path(ca_dir)
    files = sorted(path.glob("*.crt"))
    if not files:
        raise BuildError(f"--ca-dir {ca_dir}: no *.crt files there")
    return files


def venv_collections():
    import ansible_collections  # noqa: F401  (the `ansible` package in this venv)
    roots = [Path(p) for p in ansible_collections.__path__]
    found = {}
    for dep in DEPENDENCIES:
        for root in roots:
            if (root / dep / "MANIFEST.json").exists():
                found[dep] = root / dep
                break
        else:
            raise BuildError(f"collection {dep.replace('/', '.')} not found in this Python's ansible_collections "
                             "(install the `ansible` package: make setup)")
    return found


class Builder:
    def __init__(self, base="debian", ca_dir=None, collections_from=None, log=print):
        if base not in OVERLAYS:
            raise BuildError(f"unknown base {base!r} (choose from {', '.join(OVERLAYS)})")
        self.base = base
        self.ca_files = find_ca_files(ca_dir)
        # Registry users get the dependency collections from Galaxy; the Debian base is for machines without it.
        self.collections_from = collections_from or ("venv" if base == "debian" else "galaxy")
        self.log = log
        self.cache = cache_dir()
        self.env = container_env()

    # --- steps ----------------------------------------------------------------------------------
    def run(self, step, argv, log_path, timeout=1800, cwd=None):
        self.log(f"[ee] {step}: {' '.join(str(a) for a in argv)}")
        start = time.monotonic()
        with open(log_path, "a", encoding="utf-8") as out:
            out.write(f"$ {' '.join(str(a) for a in argv)}\n")
            out.flush()
            try:
                res = subprocess.run([str(a) for a in argv], stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                     env=self.env, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise self._fail(step, log_path, f"timed out after {timeout} s") from None
        if res.returncode != 0:
            raise self._fail(step, log_path, f"exited {res.returncode}")
        self.log(f"[ee] {step}: ok ({time.monotonic() - start:.1f} s)")

    @staticmethod
    def _fail(step, log_path, why):
        lines = Path(log_path).read_text(errors="replace").splitlines()[-40:]
        return BuildError(f"EE build failed at step '{step}' ({why}): see {log_path}\n" + "\n".join(lines))

    def base_tag(self):
        key = hashlib.sha256(json.dumps(BASE_RECIPE).encode()).hexdigest()[:16]
        return f"{BASE_IMAGE}:{key}"

    def image_exists(self, tag):
        return subprocess.run(["podman", "image", "exists", tag], env=self.env, check=False,
                              capture_output=True).returncode == 0

    def build_base(self):
        tag = self.base_tag()
        if self.image_exists(tag):
            return tag
        self.cache.mkdir(parents=True, exist_ok=True)
        log_path = self.cache / f"base-{tag.rsplit(':', 1)[1]}.log"
        log_path.write_text("")
        with tempfile.TemporaryDirectory(dir=self.cache, prefix=".base-") as tmp:
            rootfs = Path(tmp) / "rootfs.tar"
            self.run("base mmdebstrap", [*BASE_RECIPE, rootfs], log_path, timeout=900)
            self.run("base import", ["podman", "import", rootfs, tag], log_path, timeout=300)
        return tag

    def stage(self, staging):
        """Lay out a directory like the collection root, with the definition at its top; return the key."""
        files = staging / "files"
        files.mkdir(parents=True)
        log_path = staging.parent / "collection.log"
        log_path.write_text("")
        self.run("collection", [_venv_tool("ansible-galaxy"), "collection", "build", "--force",
                                "--output-path", files, REPO], log_path, timeout=300)
        tarball = next(files.glob("dataplane-node-*.tar.gz"))

        definition = yaml.safe_load(DEFINITION.read_text())
        if OVERLAYS[self.base]:
            definition = merge(definition, yaml.safe_load(OVERLAYS[self.base].read_text()))
        if self.base == "debian":
            definition["images"]["base_image"]["name"] = self.base_tag()
        build_files = [{"src": f"files/{tarball.name}", "dest": "collections"}]
        steps = definition.setdefault("additional_build_steps", {})
        # The collection comes from this working tree's tarball, not from a server.
        definition["dependencies"]["galaxy"] = {"collections": [
            {"name": f"/build/collections/{tarball.name}", "type": "file"}]}
        if self.collections_from == "venv":
            for dep, path in venv_collections().items():
                shutil.copytree(path, files / "deps" / "ansible_collections" / dep,
                                ignore=shutil.ignore_patterns("__pycache__"))
            build_files.append({"src": "files/deps", "dest": "deps"})
            # Installed where the galaxy stage installs collections; --offline then resolves against them
            # (their versions are still checked against galaxy.yml's dependencies).
            steps["prepend_galaxy"] = ["COPY _build/deps/ /usr/share/ansible/collections/"]
            definition.setdefault("build_arg_defaults", {})["ANSIBLE_GALAXY_CLI_COLLECTION_OPTS"] = "--offline"
        if self.ca_files:
            (files / "ca").mkdir()
            for ca in self.ca_files:
                shutil.copy2(ca, files / "ca" / ca.name)
            build_files.append({"src": "files/ca", "dest": "ca"})
            dest, update = CA_DEST[self.base]
            steps["prepend_base"] = [f"COPY _build/ca/ {dest}", f"RUN {update}",
                                     *steps.get("prepend_base", [])]
        definition["additional_build_files"] = build_files
        (staging / "execution-environment.yml").write_text(
            "# Generated by ee/build.py from meta/execution-environment.yml"
            + (f" and {OVERLAYS[self.base].relative_to(REPO)}" if OVERLAYS[self.base] else "") + "\n"
            + yaml.safe_dump(definition, sort_keys=False))
        (staging / "requirements.txt").write_text(filter_requirements((REPO / "requirements.txt").read_text()))
        shutil.copy2(REPO / "bindep.txt", staging / "bindep.txt")

        builder_version = subprocess.run([_venv_tool("ansible-builder"), "--version"], capture_output=True,
                                         text=True, check=False).stdout.strip()
        paths = [p for p in staging.rglob("*") if p.is_file()]
        key = sha256_tree(paths, staging)
        return hashlib.sha256(f"{key}|{self.base}|{builder_version}".encode()).hexdigest()[:16]

    def smoke(self, tag, log_path):
        # The newest ansible-core is the point of the base's Python: fail when pip fell back to an older one.
        script = ("set -e; ansible --version | head -1; "
                  "python3 -c 'import ansible.release as r, sys; v = tuple(int(x) for x in r.__version__.split(\".\")[:2]); "
                  "sys.exit(0 if v >= (2, 20) else \"ansible-core %s in the EE: the base Python is too old for 2.20+\" % r.__version__)'; "
                  "ansible-galaxy collection list dataplane.node; "
                  "ansible-galaxy collection list | grep -E 'ansible.posix|community.general|kubernetes.core'; "
                  "python3 -c 'import jmespath, netaddr, kubernetes; print(\"python deps ok\")'; "
                  "ansible-doc -t module dataplane.node.node_facts | head -1; ssh -V; ansible-runner --version")
        self.run("smoke", ["podman", "run", "--rm", "--user=0", tag, "bash", "-c", script], log_path, timeout=300)

    def prune(self, keep, started):
        """Drop earlier builds: their cache directories, image tags and the untagged stage images they left
        (dangling and older than this build; this build's stay as the layer cache of the next one)."""
        for path in self.cache.iterdir():
            if re.fullmatch(r"[0-9a-f]{16}", path.name) and path.name != keep and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                subprocess.run(["podman", "rmi", f"{IMAGE}:{path.name}"], env=self.env, check=False,
                               capture_output=True)
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
        subprocess.run(["podman", "image", "prune", "-f", "--filter", f"until={until}"], env=self.env,
                       check=False, capture_output=True)

    # --- the whole build --------------------------------------------------------------------------
    def build(self, create_only=False):
        """Return a dict describing the image (tag, key, base, dir, seconds); cached by the inputs' hash."""
        start = time.monotonic()
        started = time.time()
        self.cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=self.cache, prefix=".build-"))
        try:
            key = self.stage(work / "staging")
            tag = f"{IMAGE}:{key}"
            done = self.cache / key
            info_path = done / "image.json"
            if not create_only and info_path.exists() and self.image_exists(tag):
                self.log(f"[ee] cached: {tag}")
                return json.loads(info_path.read_text())
            log_path = work / "build.log"
            log_path.write_text("")
            context = work / "context"
            builder = _venv_tool("ansible-builder")
            common = ["-f", work / "staging" / "execution-environment.yml", "-c", context, "-v", "3"]
            if create_only:
                self.run("create", [builder, "create", *common, "--output-filename", "Containerfile"], log_path)
                return {"context": str(context), "key": key, "dir": str(work)}
            if self.base == "debian":
                self.build_base()  # downloads and unpacks packages: not CPU-bound, no lock
            self.log(f"[ee] waiting for {BUILD_LOCK} (one CPU-heavy build at a time)")
            with build_lock():
                self.run("builder", [builder, "build", *common, "-t", tag, "-t", f"{IMAGE}:latest",
                                     "--container-runtime", "podman"], log_path, timeout=2400)
            self.smoke(tag, log_path)
            info = {"tag": tag, "key": key, "base": self.base,
                    "base_image": yaml.safe_load((work / "staging" / "execution-environment.yml").read_text())
                    ["images"]["base_image"]["name"],
                    "collections_from": self.collections_from, "ca_files": [p.name for p in self.ca_files],
                    "seconds": round(time.monotonic() - start, 1), "dir": str(done)}
            (work / "image.json").write_text(json.dumps(info, indent=2) + "\n")
            if done.exists():
                shutil.rmtree(done)
            work.rename(done)
            work = None
            self.prune(keep=key, started=started)
            self.log(f"[ee] built {tag} in {info['seconds']} s")
            return info
        finally:
            if work is not None and not create_only and (work / "build.log").exists():
                failed = self.cache / "failed"
                if failed.exists():
                    shutil.rmtree(failed)
                work.rename(failed)  # kept for the post-mortem: build.log, context/, staging/
            elif work is not None and not create_only:
                shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def build_lock():
    with open(BUILD_LOCK, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(base="debian", ca_dir=None, log=print):
    """Library entry point (tests): build or reuse the image; returns its info dict."""
    return Builder(base=base, ca_dir=ca_dir, log=log).build()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base", choices=sorted(OVERLAYS), default="debian")
    parser.add_argument("--ca-dir", help="directory of extra *.crt CA certificates, or 'none'")
    parser.add_argument("--collections-from", choices=("venv", "galaxy"),
                        help="dependency collections: copied from this venv (default for --base debian) or Galaxy")
    parser.add_argument("--create-only", action="store_true", help="write the build context only (no podman)")
    parser.add_argument("--print-tag", action="store_true", help="print only the image tag (for scripts)")
    args = parser.parse_args(argv)
    reason = None if args.create_only else preflight()
    if reason:
        print(f"cannot build the EE here: {reason}", file=sys.stderr)
        return 2
    try:
        info = Builder(base=args.base, ca_dir=args.ca_dir, collections_from=args.collections_from,
                       log=lambda msg: print(msg, file=sys.stderr)).build(create_only=args.create_only)
    except BuildError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(info.get("tag", "") if args.print_tag else json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
