#!/bin/sh
# Prepare this Debian 12 host for molecule/vagrant (Vagrant + vagrant-libvirt + libvirt, TCG guests).
# Idempotent; run as root. Works without systemd: starts virtlogd and libvirtd itself when they are not
# running. Vagrant and libvirt state stays under ${DATAPLANE_CACHE:-~/.cache/dataplane-node}/vagrant
# (VAGRANT_HOME, a dir storage pool), not in ~/.vagrant.d. See docs/vagrant.md.
#
# Needs QEMU with the igb device (QEMU 10 from bookworm-backports, see docs/testing.md).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
QEMU_CONF=/etc/libvirt/qemu.conf
PACKAGES="vagrant vagrant-libvirt libvirt-daemon-system libvirt-daemon-driver-qemu dnsmasq-base"

say() { printf 'setup-vagrant: %s\n' "$*"; }
die() { printf 'setup-vagrant: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, /etc/libvirt/qemu.conf, libvirtd)"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"
command -v "$PY" >/dev/null || die "$PY not found"

# 1. QEMU with igb comes first: the scenario's guest needs it and apt's QEMU 7.2 lacks it.
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v qemu-img >/dev/null; then
  die "qemu-system-x86_64/qemu-img missing: install QEMU 10 from bookworm-backports (docs/testing.md)"
fi
qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"' \
  || die "qemu-system-x86_64 has no igb device: install QEMU 10 from bookworm-backports (docs/testing.md)"

# 2. Packages.
missing=""
for pkg in $PACKAGES; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  say "installing:$missing"
  apt-get update -qq || die "apt-get update failed"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
    || die "apt-get install failed for:$missing"
else
  say "packages already installed: $PACKAGES"
fi
for tool in vagrant virsh libvirtd virtlogd dnsmasq; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool not found after the install"
done

# 3. QEMU runs as root: as libvirt-qemu the KVM probe fails (/dev/kvm is 0600) and libvirt re-probes
#    QEMU on every domain definition (vagrant up 111 s instead of ~40 s).
conf_changed=0
for key in user group; do
  if ! grep -Eq "^${key} = \"root\"" "$QEMU_CONF"; then
    sed -i -E "/^#?${key} = /d" "$QEMU_CONF"
    printf '%s = "root"\n' "$key" >> "$QEMU_CONF"
    conf_changed=1
  fi
done
if [ "$conf_changed" = 1 ]; then
  say "set user/group = \"root\" in $QEMU_CONF"
else
  say "$QEMU_CONF already has user/group = \"root\""
fi

# 4. Daemons (no systemd here). A libvirtd started before the qemu.conf change is restarted.
running() { pgrep -x "$1" >/dev/null 2>&1; }
if running virtlogd; then say "virtlogd running"; else virtlogd -d && say "started virtlogd"; fi
if running libvirtd && [ "$conf_changed" = 1 ]; then
  pid=$(cat /run/libvirtd.pid 2>/dev/null || true)
  [ -n "$pid" ] || die "libvirtd runs but /run/libvirtd.pid is missing: restart it by hand to load $QEMU_CONF"
  say "restarting libvirtd (pid $pid) to load $QEMU_CONF"
  kill "$pid"
  for _ in 1 2 3 4 5 6 7 8 9 10; do running libvirtd || break; sleep 1; done
  running libvirtd && die "libvirtd (pid $pid) did not stop"
fi
if running libvirtd; then say "libvirtd running"; else libvirtd -d && say "started libvirtd"; fi
ok=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  virsh -q -c qemu:///system version >/dev/null 2>&1 && { ok=1; break; }
  sleep 1
done
[ "$ok" = 1 ] || die "libvirtd does not answer on qemu:///system (see /var/log/libvirt/libvirtd.log)"

# 5. The storage pool and Vagrant's home, under the cache dir (same values the scenario uses).
eval "$("$PY" "$REPO/tests/vm/vagrant_box.py" env)"
mkdir -p "$VAGRANT_HOME" "$DATAPLANE_VAGRANT_POOL_DIR" "$DATAPLANE_VAGRANT_LOGS"
pool=$DATAPLANE_VAGRANT_POOL
if virsh -q -c qemu:///system pool-info "$pool" >/dev/null 2>&1; then
  target=$(virsh -q -c qemu:///system pool-dumpxml "$pool" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
  [ "$target" = "$DATAPLANE_VAGRANT_POOL_DIR" ] \
    || die "storage pool $pool exists with target $target, expected $DATAPLANE_VAGRANT_POOL_DIR (virsh pool-destroy/pool-undefine it first)"
  say "storage pool $pool exists ($target)"
else
  virsh -q -c qemu:///system pool-define-as "$pool" dir --target "$DATAPLANE_VAGRANT_POOL_DIR" >/dev/null
  say "defined storage pool $pool -> $DATAPLANE_VAGRANT_POOL_DIR"
fi
if ! virsh -q -c qemu:///system pool-info "$pool" | grep -q running; then
  virsh -q -c qemu:///system pool-start "$pool" >/dev/null && say "started storage pool $pool"
fi
virsh -q -c qemu:///system pool-autostart "$pool" >/dev/null 2>&1 || true

# 6. Final check, the same one the scenario's create playbook runs.
reason=$("$PY" "$REPO/tests/vm/vagrant_box.py" preflight) || die "preflight: $reason"
say "ready: VAGRANT_HOME=$VAGRANT_HOME, pool $pool ($DATAPLANE_VAGRANT_POOL_DIR), $(vagrant --version)"
