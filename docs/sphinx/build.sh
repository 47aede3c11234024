#!/usr/bin/env bash
# Build the docsite offline into .build/docsite/html (make docs):
#   1. antsibull-docs renders modules, filters, roles (from meta/argument_specs.yml) and the guides
#      (docs/docsite/extra-docs.yml, docs/docsite/rst/) of the collection found in ANSIBLE_COLLECTIONS_PATH;
#   2. antsibull-changelog renders the changelog with the unreleased fragments as the next release, in a scratch
#      copy of changelogs/ (the repository's fragments stay where they are);
#   3. sphinx-build -W: any warning (broken reference, bad RST) fails the build.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/docs/sphinx
out=${DOCSITE_DIR:-$repo/.build/docsite}
rm -rf "$out"
mkdir -p "$out"
mkdir -m 700 "$out/rst"   # antsibull-docs wants its destination writable by its owner only

antsibull-docs --config-file "$here/antsibull-docs.cfg" collection --use-current --fail-on-error \
  --dest-dir "$out/rst" dataplane.node
cp "$here/index.rst" "$here/ansible_references.rst" "$out/rst/"

scratch=$out/changelog
mkdir -p "$scratch"
cp "$repo/galaxy.yml" "$scratch/"
cp -r "$repo/changelogs" "$scratch/"
version=$(sed -n 's/^version: *//p' "$repo/galaxy.yml")
(cd "$scratch" && antsibull-changelog release --version "$version" --date "$(date -u +%Y-%m-%d)" >/dev/null)
{
  echo '.. _dataplane_node_changelog:'
  echo
  sed '1,/^=\+$/{/^\.\. contents::/d}' "$scratch/CHANGELOG.rst"
} > "$out/rst/changelog.rst"

sphinx-build -q -W --keep-going -b html -c "$here" "$out/rst" "$out/html"
echo "docsite: $out/html/index.html"
