"""Build (once) and cache a real Kubernetes v1.20.2 node for the testbed, from Debian 12's packages.

Usage: python3 tests/vm/k8s_build.py build   -> prints the cache directory (bin/, pause.tar, guest/)
       python3 tests/vm/k8s_build.py path    -> where it is (or would be)

Debian 12's `kubernetes` source package is the upstream v1.20.2 tree with vendor/ (the binary package only has
kubectl). This builds kubelet, kube-apiserver and kubectl from it with Debian's Go in GOPATH mode, and a pause
image from the tree's build/pause/linux/pause.c. etcd (controller), containerd, runc and the CNI loopback plugin
(guest) are Debian packages. Two fixes go in through `go build -overlay` (the tree is never edited):
  1. the vendored github.com/modern-go/reflect2 1.0.1 crashes Go 1.19 programs that encode maps to JSON:
     its files are replaced by Debian's reflect2 1.0.2 (golang-github-modern-go-reflect2-dev);
  2. kube-apiserver needs pkg/generated/openapi/zz_generated.openapi.go, absent from the tarball: openapi-gen
     (built from the vendored kube-openapi) generates it over the packages tagged +k8s:openapi-gen=.
The result lives in ${DATAPLANE_CACHE:-~/.cache/dataplane-node}/k8s/<key>/, <key> = sha256 of this file, so
an unchanged recipe returns at once. The Go build cache (k8s/gocache) and the extracted source (k8s/src) are
kept between recipes, so a changed recipe rebuilds warm.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import buildcache  # noqa: E402  (cache directory, key, build-once and CLI shared with the other testbed builds)

VERSION = "v1.20.2"
SOURCE_PACKAGE = "kubernetes"
# Controller: the Go toolchain, a C compiler for cgo and pause, reflect2 1.0.2, etcd and dpkg-source.
HOST_PACKAGES = ["golang-go", "gcc", "libc6-dev", "golang-github-modern-go-reflect2-dev", "etcd-server",
                 "dpkg-dev", "openssl"]
# Guest: downloaded here, installed in the testbed guest (no apt index update under TCG).
GUEST_DEBS = ["containerd", "runc"]
# The CNI loopback plugin comes out of this package (its iptables dependency is not needed for it).
CNI_PACKAGE = "containernetworking-plugins"
CNI_PLUGINS = ["loopback"]
DEB_SRC_FILE = Path("/etc/apt/sources.list.d/dataplane-node-deb-src.sources")
DEB_SRC = ("Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n"
           "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
REFLECT2 = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")
PKG = "k8s.io/kubernetes"
# Both version packages, as upstream's hack/lib/version.sh sets them (the API server's /version reads client-go's).
VERSION_PKGS = [PKG + "/vendor/k8s.io/component-base/version", PKG + "/vendor/k8s.io/client-go/pkg/version"]
TARGETS = {"kubelet": PKG + "/cmd/kubelet", "kube-apiserver": PKG + "/cmd/kube-apiserver", "kubectl": PKG + "/cmd/kubectl"}
PAUSE_IMAGE = "k8s.gcr.io/pause:3.4.1-dataplane"
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}
APT_LOCK = ["-o", "DPkg::Lock::Timeout=600"]


class BuildError(Exception):
    pass


def cache_root():
    return buildcache.cache_dir() / "k8s"


def recipe_hash():
    return buildcache.recipe_key(__file__)


def result_dir():
    return cache_root() / recipe_hash()


def binary(name, root=None):
    return Path(root or result_dir()) / "bin" / name


class Builder:
    def __init__(self, work, verbose=False):
        self.work = work
        self.verbose = verbose
        self.log = open(work / "build.log", "a", encoding="utf-8")
        self.times = {}

    def run(self, step, argv, **kw):
        self.log.write(f"\n$ {' '.join(map(str, argv))}\n")
        self.log.flush()
        env = dict(os.environ, **kw.pop("env", {}))
        proc = subprocess.run([str(a) for a in argv], stdout=self.log, stderr=subprocess.STDOUT, env=env,
                              check=False, **kw)
        if proc.returncode != 0:
            raise BuildError(f"k8s build failed at step {step!r} ({argv[0]} exited {proc.returncode}): "
                             f"see {self.work / 'build.log'}")

    def step(self, name, func):
        start = time.monotonic()
        self.log.write(f"\n=== {name}\n")
        if self.verbose:
            print(f"k8s build: {name}", file=sys.stderr, flush=True)
        func()
        self.times[name] = round(time.monotonic() - start, 1)

    # -- steps ---------------------------------------------------------------------------------------------------
    def apt(self):
        missing = [p for p in HOST_PACKAGES if not installed(p)]
        has_src = any("deb-src" in f.read_text(errors="replace") or "Types: deb-src" in f.read_text(errors="replace")
                      for f in Path("/etc/apt").glob("sources.list*") if f.is_file()) or any(
            "deb-src" in f.read_text(errors="replace") for f in Path("/etc/apt/sources.list.d").glob("*")
            if f.is_file() and f.suffix in (".list", ".sources"))
        if not has_src:
            DEB_SRC_FILE.write_text(DEB_SRC, encoding="utf-8")
        if missing or not has_src:
            self.run("apt", ["apt-get", "update", "-q"] + APT_LOCK, env=APT_ENV)
        if missing:
            self.run("apt", ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + APT_LOCK + missing,
                     env=APT_ENV)

    def source(self):
        src = cache_root() / "src"
        src.mkdir(parents=True, exist_ok=True)
        dscs = sorted(src.glob(SOURCE_PACKAGE + "_*.dsc"))
        if not dscs:
            self.run("source", ["apt-get", "source", "--download-only", SOURCE_PACKAGE], cwd=src)
            dscs = sorted(src.glob(SOURCE_PACKAGE + "_*.dsc"))
        tree = src / (dscs[-1].stem + ".tree")
        if not (tree / "cmd" / "kubelet").is_dir():
            shutil.rmtree(tree, ignore_errors=True)
            self.run("source", ["dpkg-source", "--no-check", "-x", dscs[-1], tree], cwd=src)
        self.tree = tree
        gopath = cache_root() / "gopath"
        link = gopath / "src" / "k8s.io" / "kubernetes"
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(tree)
        self.gopath = gopath
        self.pkgdir = link

    def goenv(self):
        return {"GOPATH": str(self.gopath), "GO111MODULE": "off", "CGO_ENABLED": "1", "GOFLAGS": "",
                "GOCACHE": str(cache_root() / "gocache"), "GOTOOLCHAIN": "local", "PWD": str(self.pkgdir)}

    def overlay(self):
        """Replacement files for `go build -overlay`: reflect2 1.0.2 and the generated OpenAPI definitions."""
        replace = {}
        vendored = self.pkgdir / "vendor" / "github.com" / "modern-go" / "reflect2"
        for f in vendored.glob("*.go"):
            replace[str(f)] = ""  # 1.0.1's files go away (their build tags differ from 1.0.2's) ...
        for f in REFLECT2.glob("*"):
            if f.suffix in (".go", ".s"):
                replace[str(vendored / f.name)] = str(f)  # ... and 1.0.2's take their place
        for f in vendored.glob("*.s"):
            replace.setdefault(str(f), "")
        # openapi-gen: built from the vendored kube-openapi, run over the tagged packages (as upstream's Makefile).
        tools = self.work / "tools"
        self.run("openapi", ["go", "build", "-o", tools / "openapi-gen", PKG + "/vendor/k8s.io/kube-openapi/cmd/openapi-gen"],
                 cwd=self.pkgdir, env=self.goenv())
        dirs = openapi_dirs(self.tree)
        out = self.work / "openapi"
        out.mkdir()
        self.run("openapi", [tools / "openapi-gen", "--logtostderr", "-i", ",".join(dirs),
                             "-p", PKG + "/pkg/generated/openapi", "-O", "zz_generated.openapi",
                             "-o", out, "-h", self.tree / "vendor/k8s.io/code-generator/hack/boilerplate.go.txt",
                             "-r", self.work / "openapi-violations.report"],
                 cwd=self.pkgdir, env=self.goenv())
        generated = out / PKG / "pkg/generated/openapi/zz_generated.openapi.go"
        if not generated.is_file():
            raise BuildError(f"openapi-gen wrote no {generated}: see {self.work / 'build.log'}")
        replace[str(self.pkgdir / "pkg/generated/openapi/zz_generated.openapi.go")] = str(generated)
        self.overlay_file = self.work / "overlay.json"
        self.overlay_file.write_text(json.dumps({"Replace": replace}, indent=1), encoding="utf-8")

    def go_build(self):
        major, minor = VERSION.lstrip("v").split(".")[:2]
        ldflags = " ".join(["-s", "-w"] + [f"-X {pkg}.{k}={v}" for pkg in VERSION_PKGS for k, v in (
            ("gitVersion", VERSION), ("gitMajor", major), ("gitMinor", minor), ("gitTreeState", "clean"),
            ("gitCommit", "debian-" + self.tree.name))])
        (self.work / "bin").mkdir()
        for name, target in TARGETS.items():
            start = time.monotonic()
            self.run("go build " + name, ["go", "build", "-overlay", self.overlay_file, "-ldflags", ldflags,
                                          "-o", self.work / "bin" / name, target],
                     cwd=self.pkgdir, env=self.goenv())
            self.times["go build " + name] = round(time.monotonic() - start, 1)

    def pause(self):
        """The tree's pause.c, static, as a one-layer docker-archive image for `ctr images import`."""
        stage = self.work / "pause"
        stage.mkdir()
        self.run("pause", ["gcc", "-Os", "-static", "-Wall", "-Werror",
                           f"-DVERSION={VERSION}-dataplane", "-o", stage / "pause",
                           self.tree / "build/pause/linux/pause.c"])
        self.run("pause", ["strip", stage / "pause"])
        write_image(stage / "pause", self.work / "pause.tar", PAUSE_IMAGE)

    def guest(self):
        """Debian packages for the guest, and the CNI loopback plugin out of containernetworking-plugins."""
        debs = self.work / "guest"
        debs.mkdir()
        self.run("guest debs", ["apt-get", "download"] + GUEST_DEBS + [CNI_PACKAGE], cwd=debs)
        cni = next(debs.glob(CNI_PACKAGE + "_*.deb"))
        unpacked = self.work / "cni-unpacked"
        self.run("guest debs", ["dpkg-deb", "-x", cni, unpacked])
        (debs / "cni").mkdir()
        for plugin in CNI_PLUGINS:
            shutil.copy2(unpacked / "usr/lib/cni" / plugin, debs / "cni" / plugin)
        cni.unlink()
        shutil.rmtree(unpacked)

    def build(self):
        self.step("apt", self.apt)
        self.step("source", self.source)
        self.step("openapi", self.overlay)
        self.step("go build", self.go_build)
        self.step("pause", self.pause)
        self.step("guest debs", self.guest)
        shutil.rmtree(self.work / "tools", ignore_errors=True)
        shutil.rmtree(self.work / "openapi", ignore_errors=True)
        shutil.rmtree(self.work / "pause", ignore_errors=True)
        out = subprocess.run([self.work / "bin" / "kubelet", "--version"], capture_output=True, text=True,
                             check=False).stdout.strip()
        if out != "Kubernetes " + VERSION:
            raise BuildError(f"kubelet --version says {out!r}, not Kubernetes {VERSION}")
        info = {"version": VERSION, "source": self.tree.name, "pause_image": PAUSE_IMAGE, "times": self.times}
        (self.work / "build.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
        self.log.close()


def installed(package):
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", package], capture_output=True, text=True,
                         check=False)
    return out.stdout.strip() == "install ok installed"


def openapi_dirs(tree):
    """Go packages tagged +k8s:openapi-gen= (upstream's KUBE_OPENAPI_DIRS): pkg/, cmd/, plugin/, staging."""
    found = set()
    roots = [(tree / "pkg", PKG + "/pkg"), (tree / "cmd", PKG + "/cmd"), (tree / "plugin", PKG + "/plugin"),
             (tree / "staging/src/k8s.io", PKG + "/vendor/k8s.io")]
    skip = ("code-generator", "sample-apiserver")
    for root, prefix in roots:
        for path in root.rglob("*.go"):
            rel = path.parent.relative_to(root)
            if rel.parts and (rel.parts[0] in skip and prefix.endswith("vendor/k8s.io")):
                continue
            if "testdata" in rel.parts or "_output" in rel.parts:
                continue
            try:
                head = path.read_text(errors="replace")
            except OSError:
                continue
            if any(line.startswith("// +k8s:openapi-gen=") or line.startswith("//+k8s:openapi-gen=")
                   for line in head.splitlines()):
                found.add(f"{prefix}/{rel}".rstrip("/."))
    return sorted(found)


def write_image(binary_path, tar_path, ref):
    """A docker-archive (docker save) tarball with one layer holding /pause."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        layer = tmp / "layer.tar"
        with tarfile.open(layer, "w") as t:
            info = t.gettarinfo(str(binary_path), arcname="pause")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with open(binary_path, "rb") as f:
                t.addfile(info, f)
        diff_id = "sha256:" + hashlib.sha256(layer.read_bytes()).hexdigest()
        config = json.dumps({
            "architecture": "amd64", "os": "linux",
            "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": "dataplane.node tests/vm/k8s_build.py: gcc -static pause.c"}],
        }, sort_keys=True).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        (tmp / config_name).write_bytes(config)
        layer_dir = tmp / diff_id.split(":")[1]
        layer_dir.mkdir()
        layer.rename(layer_dir / "layer.tar")
        manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": [f"{layer_dir.name}/layer.tar"]}]
        (tmp / "manifest.json").write_text(json.dumps(manifest))
        with tarfile.open(tar_path, "w") as t:
            for name in ("manifest.json", config_name, f"{layer_dir.name}/layer.tar"):
                t.add(str(tmp / name), arcname=name)


def build(verbose=False):
    """Return the cache directory with bin/kubelet, bin/kube-apiserver, bin/kubectl, pause.tar, guest/."""
    return buildcache.build_once(result_dir(), lambda final: (final / "build.json").is_file(),
                                 lambda work: Builder(work, verbose).build())


def main(argv=None):
    return buildcache.cli(argv, __doc__.splitlines()[0], result_dir, lambda: build(verbose=True), BuildError)


if __name__ == "__main__":
    sys.exit(main())
