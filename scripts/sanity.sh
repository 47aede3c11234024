#!/usr/bin/env bash
# ansible-test sanity on a copy of the working tree laid out as ansible_collections/dataplane/node.
# Usage: scripts/sanity.sh [extra ansible-test args]   (uses the venv's python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
dest=$repo/.build/sanity/ansible_collections/dataplane/node
rm -rf "$repo/.build/sanity"
mkdir -p "$dest"
# Only files git knows of (tracked or new, not ignored): what would be committed is what gets checked.
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
  | tar --null -T - -cf -) | tar -xf - -C "$dest"
"$py" "$repo/scripts/ansible-test-offline.py"
cd "$dest"
git init -q && git add -A >/dev/null   # ansible-test lists a collection's files through git when present
venv_bin=$(dirname "$py")
export PATH="$venv_bin:$PATH"
exec "$(dirname "$py")/ansible-test" sanity --local --requirements --python "$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
