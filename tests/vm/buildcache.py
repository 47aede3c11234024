"""The testbed's build caches: where they live, their keys, one build at a time per key, and the build/path CLI.

A build's result lives in ${DATAPLANE_CACHE:-~/.cache/dataplane-node}/<kind>/<key>/, where <key> is the sha256 of
the recipe file (the script that builds it): editing the recipe rebuilds, an unchanged recipe returns at once.
Builds run in a temporary directory beside the result and are renamed into place, so a reader sees a whole result
or none, and of two builds racing for one key the first rename wins.
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path


def cache_dir():
    """Root of every build cache of the testbed."""
    return Path(os.environ.get("DATAPLANE_CACHE") or Path.home() / ".cache" / "dataplane-node")


def recipe_key(recipe):
    """Cache key of a recipe file: the first 16 hex digits of the sha256 of its bytes."""
    return hashlib.sha256(Path(recipe).read_bytes()).hexdigest()[:16]


def build_once(final, complete, build, drop_on_error=()):
    """Return `final` once complete(final) holds; otherwise run build(work) in a fresh directory beside it and
    rename that into place. When build raises, the work directory stays for its log, without the (big) files
    named in drop_on_error."""
    if complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{final.name}-", dir=final.parent))
    try:
        build(work)
    except Exception:
        for name in drop_on_error:
            (work / name).unlink(missing_ok=True)
        raise
    try:
        os.rename(work, final)
    except OSError:
        if not complete(final):  # lost a race only if the other build finished
            raise
        shutil.rmtree(work, ignore_errors=True)
    return final


def cli(argv, description, path, build, errors):
    """`build` (build if needed, print the result's path) or `path` (print where it is or would be)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", choices=["build", "path"])
    args = parser.parse_args(argv)
    if args.command == "path":
        print(path())
        return 0
    try:
        print(build())
    except errors as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
