"""The DPDK workload image of the testbed: Debian 12's dpdk-testpmd in a one-layer docker-archive (issue #25).

Usage: python3 tests/vm/dpdk_image.py build   -> prints the cache directory (dpdk.tar, image.json)
       python3 tests/vm/dpdk_image.py path    -> where it is (or would be)

No registry is reachable from the testbed, so the image is built here from Debian's packages with mmdebstrap and
imported into the node's containerd (`ctr -n k8s.io images import`); pods use it with `imagePullPolicy: Never`.
Debian 12's `dpdk` has no testpmd: /usr/bin/dpdk-testpmd is in `dpdk-dev`; `librte-net-e1000-23` holds the igb VF
and e1000e PMDs (only a recommendation). Headers, docs and manuals are left out through dpkg's path-exclude, which
takes the image from ~400 MB to the size of the libraries. The result lives in
${DATAPLANE_CACHE:-~/.cache/dataplane-node}/dpdk/<key>/, <key> = sha256 of this file.
"""
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import buildcache  # noqa: E402  (cache directory, key, build-once and CLI shared with the other testbed builds)

IMAGE = "localhost/dataplane-dpdk:22.11"
SUITE = "bookworm"
PACKAGES = ["dpdk-dev", "librte-net-e1000-23", "coreutils", "sed"]
EXCLUDE = ["/usr/include/*", "/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*",
           "/usr/lib/x86_64-linux-gnu/*.a"]


class BuildError(Exception):
    pass


def result_dir():
    return buildcache.cache_dir() / "dpdk" / buildcache.recipe_key(__file__)


def image_tar(root=None):
    return Path(root or result_dir()) / "dpdk.tar"


def docker_archive(layer, out, ref, config):
    """`docker save`'s layout (manifest.json, the config, one layer) around an existing layer tarball."""
    digest = hashlib.sha256()
    with open(layer, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    diff_id = "sha256:" + digest.hexdigest()
    blob = json.dumps(dict(config, rootfs={"type": "layers", "diff_ids": [diff_id]}), sort_keys=True).encode()
    config_name = hashlib.sha256(blob).hexdigest() + ".json"
    layer_name = digest.hexdigest() + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": [layer_name]}]).encode()
    with tarfile.open(out, "w") as archive:
        for name, data in (("manifest.json", manifest), (config_name, blob)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        archive.add(str(layer), arcname=layer_name)


def build_into(work):
    log = open(work / "build.log", "w", encoding="utf-8")
    start = time.monotonic()
    argv = ["mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(PACKAGES)]
    argv += ["--dpkgopt=path-exclude=" + pattern for pattern in EXCLUDE]
    # apt's lists and caches are not part of a workload image.
    argv += ["--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/*", SUITE, str(work / "rootfs.tar")]
    log.write("$ " + " ".join(argv) + "\n")
    log.flush()
    proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise BuildError(f"dpdk image: mmdebstrap exited {proc.returncode}: see {work / 'build.log'}")
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                         "Cmd": ["/bin/sh"]},
              "history": [{"created_by": "dataplane.node tests/vm/dpdk_image.py: mmdebstrap " + " ".join(PACKAGES)}]}
    docker_archive(work / "rootfs.tar", image_tar(work), IMAGE, config)
    (work / "rootfs.tar").unlink()
    info = {"image": IMAGE, "packages": PACKAGES, "seconds": round(time.monotonic() - start, 1),
            "bytes": image_tar(work).stat().st_size}
    (work / "image.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    log.close()


def build():
    if shutil.which("mmdebstrap") is None:
        raise BuildError("dpdk image: mmdebstrap is not installed (scripts/bootstrap.sh installs it)")
    return buildcache.build_once(result_dir(), lambda final: (final / "image.json").is_file(), build_into,
                                 drop_on_error=("rootfs.tar",))


def main(argv=None):
    return buildcache.cli(argv, __doc__.splitlines()[0], result_dir, build, BuildError)


if __name__ == "__main__":
    sys.exit(main())
