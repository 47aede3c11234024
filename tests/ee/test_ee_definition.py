"""The EE definition without building an image: ansible-builder accepts it for both bases, introspection of
the installed collection yields its dependencies, and the build's inputs hash the same twice.

Needs only this venv (ansible-builder, ansible-galaxy); a few seconds.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "ee"))
import build as ee_build  # noqa: E402

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "ansible-builder").exists(),
                                reason="ansible-builder not in this venv (make setup)")


@pytest.fixture(scope="module")
def cache(tmp_path_factory, monkeypatch_module):
    path = tmp_path_factory.mktemp("cache")
    monkeypatch_module.setenv("DATAPLANE_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def create(base, ca_dir="none"):
    return ee_build.Builder(base=base, ca_dir=ca_dir, log=lambda msg: None).build(create_only=True)


@pytest.mark.parametrize("base", ["default", "debian"])
def test_ansible_builder_accepts_the_definition(cache, base):
    info = create(base)
    containerfile = (Path(info["context"]) / "Containerfile").read_text()
    staged = yaml.safe_load((Path(info["dir"]) / "staging" / "execution-environment.yml").read_text())
    if base == "default":
        assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
        assert 'ARG PKGMGR="/usr/bin/dnf"' in containerfile and 'ARG PYCMD="/usr/bin/python3.12"' in containerfile
        assert "--offline" not in containerfile  # the dependency collections come from Galaxy
    else:
        assert f'ARG EE_BASE_IMAGE="{ee_build.BASE_IMAGE}:' in containerfile
        assert 'ARG PKGMGR="/usr/bin/apt-get"' in containerfile and "RUN apt-get update -q" in containerfile
        assert "COPY _build/deps/ /usr/share/ansible/collections/" in containerfile
        assert 'ANSIBLE_GALAXY_CLI_COLLECTION_OPTS="--offline"' in containerfile
        deps = Path(info["context"]) / "_build" / "deps" / "ansible_collections"
        assert sorted(f"{p.parent.name}.{p.name}" for p in deps.glob("*/*")) == [
            "ansible.posix", "community.general", "kubernetes.core"]
    # The collection is installed from the working tree's tarball, not from a server.
    tarballs = list((Path(info["context"]) / "_build" / "collections").glob("dataplane-node-*.tar.gz"))
    assert len(tarballs) == 1
    assert staged["dependencies"]["galaxy"] == {
        "collections": [{"name": f"/build/collections/{tarballs[0].name}", "type": "file"}]}
    # ansible and ansible-core come from dependencies.ansible_core, not from requirements.txt.
    reqs = (Path(info["context"]) / "_build" / "requirements.txt").read_text().split("\n")
    names = {line.split(">")[0].split("<")[0].split("=")[0].strip() for line in reqs if line and line[0] != "#"}
    assert names == {"jmespath", "netaddr", "kubernetes"}


def test_extra_ca_certificates_are_trusted_first(cache, tmp_path):
    (tmp_path / "proxy.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    info = create("debian", ca_dir=str(tmp_path))
    lines = (Path(info["context"]) / "Containerfile").read_text().splitlines()
    copy = lines.index("COPY _build/ca/ /usr/local/share/ca-certificates/")
    assert lines[copy + 1] == "RUN update-ca-certificates"
    assert copy < lines.index("RUN apt-get update -q")  # before anything is downloaded
    assert (Path(info["context"]) / "_build" / "ca" / "proxy.crt").exists()
    with pytest.raises(ee_build.BuildError, match="no \\*.crt files"):
        create("debian", ca_dir=str(tmp_path / "empty-dir-that-does-not-exist"))


def test_inputs_hash_is_stable_and_follows_the_collection(cache):
    assert create("debian")["key"] == create("debian")["key"]
    assert create("debian")["key"] != create("default")["key"]


def test_introspection_of_the_installed_collection(tmp_path):
    """What ansible-builder reads from meta/execution-environment.yml when any EE installs this collection."""
    out = tmp_path / "out"
    # Without this shell's ANSIBLE_COLLECTIONS_PATH (the Makefile's), where the collection is "installed" already.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, REPO],
                   check=True, capture_output=True, env=env)
    tarball = next(out.glob("*.tar.gz"))
    subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p",
                    tmp_path / "collections", tarball], check=True, capture_output=True, env=env)
    assert (tmp_path / "collections" / "ansible_collections" / "dataplane" / "node" / "meta"
            / "execution-environment.yml").exists()
    # ansible-builder's own script, run as the builder stage runs it
    import ansible_builder  # pylint: disable=import-outside-toplevel
    script = Path(ansible_builder.__file__).parent / "_target_scripts" / "introspect.py"
    res = subprocess.run([sys.executable, script, "introspect", str(tmp_path / "collections"),
                          "--write-pip", tmp_path / "pip.txt", "--write-bindep", tmp_path / "bindep.txt"],
                         check=True, capture_output=True, text=True)
    pip = (tmp_path / "pip.txt").read_text()
    bindep = (tmp_path / "bindep.txt").read_text()
    for name in ("jmespath", "netaddr", "kubernetes"):
        assert f"{name}>=" in pip and "# from collection dataplane.node" in pip, res.stdout
    assert "ansible-core" not in pip and "\nansible>" not in pip
    assert "openssh-client [platform:dpkg]" in bindep and "openssh-clients [platform:rpm]" in bindep


def test_a_failing_step_is_named_with_its_log(cache, tmp_path):
    builder = ee_build.Builder(base="debian", ca_dir="none", log=lambda msg: None)
    log = tmp_path / "build.log"
    log.write_text("")
    with pytest.raises(ee_build.BuildError) as err:
        builder.run("builder", ["sh", "-c", "echo resolving; echo 'No matching distribution for netaddr' >&2; exit 3"],
                    log)
    text = str(err.value)
    assert text.startswith(f"EE build failed at step 'builder' (exited 3): see {log}\n")
    assert "No matching distribution for netaddr" in text and "resolving" in text
