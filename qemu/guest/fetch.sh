#!/usr/bin/env bash
# Fetches what the QEMU guest run needs, from the package registries only, into a cache:
# QEMU with vfio-user-pci (trixie-backports), a Debian trixie kernel with its vfio modules,
# busybox, iproute2 and ethtool (the guest's own devlink, ip and ethtool, run against Linux's
# mlx5_core), and rdma-core's
# libibverbs-dev with libnl (static libmlx5.a/libibverbs.a/libnl*.a and headers: the C peer,
# rdma-core's mlx5 over VFIO, is linked against them on the host and run in the guest). Nothing is
# added to the host's apt sources: mmdebstrap --variant=extract resolves the closure and
# unpacks it into the cache without running maintainer scripts.
# A second run finds the cache and returns at once. Prints the cache root on stdout.
set -euo pipefail

CACHE=${CXU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cxu}
ROOT="$CACHE/guest-root"
# Bumped whenever the package list changes: a cache of another version is fetched again.
CACHE_VERSION=4
log() { echo "fetch: $*" >&2; }

qemu_in() {
  "$1/usr/lib64/ld-linux-x86-64.so.2" --library-path "$1/usr/lib/x86_64-linux-gnu" \
    "$1/usr/bin/qemu-system-x86_64" -L "$1/usr/share/qemu" -L "$1/usr/share/seabios" "${@:2}"
}

# One fetch at a time per cache: a second caller (another test binary, another guest test
# thread) waits here and then finds the cache complete.
mkdir -p "$CACHE"
exec 9>"$CACHE/.fetch.lock"
flock 9

if [ -x "$ROOT/usr/bin/qemu-system-x86_64" ] && [ -f "$ROOT/.complete" ] \
   && [ "$(cat "$ROOT/.complete")" = "$CACHE_VERSION" ]; then
  log "cached: $ROOT"
  echo "$ROOT"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null; then
  log "installing mmdebstrap (host stays on its own release)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >&2
fi

# The mirror comes from the machine's own apt configuration.
MIRROR=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
  MIRROR=$(awk '$1=="deb"{ for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || { log "no Debian mirror found in /etc/apt"; exit 1; }

TMP="$ROOT.tmp.$$"
rm -rf "$TMP"
mkdir -p "$CACHE"
log "mmdebstrap from $MIRROR (trixie + trixie-backports) into $TMP"
# qemu-system-x86 from trixie-backports (11.x has vfio-user-pci; trixie's 10.0 does not);
# the kernel pinned to trixie (not the backports kernel).
mmdebstrap --variant=extract --quiet \
  --include=qemu-system-x86,linux-image-amd64/trixie,busybox-static,iproute2,ethtool,libibverbs-dev,libnl-3-dev,libnl-route-3-dev \
  --aptopt='APT::Default-Release "trixie-backports"' \
  --aptopt='APT::Install-Recommends "false"' \
  trixie "$TMP" "deb $MIRROR trixie main" "deb $MIRROR trixie-backports main" >&2

if ! qemu_in "$TMP" -device help 2>/dev/null | grep -q '"vfio-user-pci"'; then
  log "the fetched QEMU has no vfio-user-pci device:"
  qemu_in "$TMP" --version >&2 || true
  exit 1
fi
echo "$CACHE_VERSION" > "$TMP/.complete"
# The old tree is moved aside before it is removed, so a guest still running from it keeps
# the files it has open and the new tree appears in one rename.
OLD="$ROOT.old.$$"
[ ! -e "$ROOT" ] || mv "$ROOT" "$OLD"
mv "$TMP" "$ROOT"
rm -rf "$OLD"
log "$(qemu_in "$ROOT" --version | head -1)"
echo "$ROOT"
