#!/usr/bin/env bash
# Install everything the project needs on a Debian 12 or 13 machine, idempotently:
#   - Debian packages: QEMU 10 (igb SR-IOV NIC; bookworm-backports on Debian 12), image tools, ssh client
#   - a Python venv (.venv) with the controller and test requirements
#   - the repo linked as ansible_collections/dataplane/node under .build/collections
# Re-running skips what is already in place (apt when the tools are there, pip when requirements did not change).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
log() { printf '[bootstrap] %s\n' "$*"; }

need_apt=0
for tool in qemu-system-x86_64 qemu-img mmdebstrap sfdisk mkfs.ext4 ssh ssh-keygen git make shellcheck podman runc chromium; do
  command -v "$tool" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 0 ] && ! qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"'; then
  need_apt=1  # Debian 12's own QEMU 7.2 has no igb device: the backports one is needed
fi
if [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "[bootstrap] Debian packages are missing and this is not root: run as root or install them:" >&2
    echo "  qemu-system-x86 qemu-utils (bookworm-backports) mmdebstrap fdisk e2fsprogs openssh-client git make shellcheck" \
      "podman runc chromium" >&2
    exit 1
  fi
  # QEMU with igb: Debian 13 (trixie) and later ship QEMU >= 10 themselves; Debian 12 needs bookworm-backports.
  codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)
  export DEBIAN_FRONTEND=noninteractive
  if [ "$codename" = bookworm ]; then
    log "installing Debian packages (QEMU from bookworm-backports)"
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list
    fi
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-utils >/dev/null
  else
    log "installing Debian packages (QEMU from ${codename:-this release}'s own archive)"
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-utils >/dev/null
  fi
  apt-get install -y -q --no-install-recommends mmdebstrap fdisk e2fsprogs openssh-client git make python3-venv \
    shellcheck podman runc chromium >/dev/null
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($python --version)"
  $python -m venv .venv
fi
req_hash=$(cat requirements.txt requirements-test.txt | sha256sum | cut -c1-16)
if [ "$(cat .venv/.requirements-hash 2>/dev/null)" != "$req_hash" ]; then
  log "installing Python requirements into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  echo "$req_hash" > .venv/.requirements-hash
fi

link=.build/collections/ansible_collections/dataplane/node
mkdir -p "$(dirname "$link")"
if [ "$(readlink "$link" 2>/dev/null)" != "$repo" ]; then
  rm -f "$link"
  ln -s "$repo" "$link"
fi
log "ready: $(.venv/bin/ansible --version | sed -n 1p), collection linked at $link"
