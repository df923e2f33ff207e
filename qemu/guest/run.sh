#!/usr/bin/env bash
# Boots a Linux guest under QEMU (TCG, q35, intel-iommu with caching mode, memfd RAM with
# share=on) with an optional vfio-user device, runs test binaries inside, and decides the
# result from the guest's own marker line.
#
#   run.sh [--socket PATH] [--timeout SECS] [--append ARGS] [--data FILE]... [--kmod PATH]...
#          [--no-vfio-bind] [--root-port] [--guest-bin PATH]... BIN...
#
# BIN... are static binaries (or busybox sh scripts) copied into the initramfs and run in
# order by /init, after the five vfio modules are loaded and every 15b3:* function is bound
# to vfio-pci. --data FILE copies FILE to /data/ in the guest without running it (for
# scripts that run a binary with arguments or environment). --kmod PATH (relative to the guest
# kernel's modules dir, without .ko.xz) puts that module, decompressed, in /modules/ of the guest
# without loading it (a test script insmods it). --no-vfio-bind leaves the 15b3 functions
# unbound, for a test that loads another driver. --root-port puts the device behind a PCIe root
# port, as on a real machine: on the root bus QEMU turns an endpoint into a root-complex
# integrated endpoint and hides its link registers. --guest-bin PATH (relative to the cache
# root, e.g. usr/sbin/devlink) puts that Debian program in the guest's /bin with the shared
# libraries it needs and their loader. The server
# behind --socket must already be listening. Exit status: 0 when the guest printed
# CXU-EXIT=0; otherwise non-zero, with the guest console printed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SOCKET="" TIMEOUT=300 APPEND="" DATA=() KMODS=() BIND=1 ROOT_PORT=0 GBINS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --socket) SOCKET=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --append) APPEND=$2; shift 2 ;;
    --data) DATA+=("$2"); shift 2 ;;
    --kmod) KMODS+=("$2"); shift 2 ;;
    --no-vfio-bind) BIND=0; shift ;;
    --root-port) ROOT_PORT=1; shift ;;
    --guest-bin) GBINS+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
ROOT=$("$HERE/fetch.sh")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cxu-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

KVER=$(ls "$ROOT/usr/lib/modules" | head -1)
KERNEL="$ROOT/boot/vmlinuz-$KVER"
[ -f "$KERNEL" ] || KERNEL="$ROOT/usr/lib/modules/$KVER/vmlinuz"
MODDIR="$ROOT/usr/lib/modules/$KVER/kernel"

# initramfs: busybox, the vfio modules decompressed (busybox insmod wants plain ELF), tests.
I="$WORK/initramfs"
mkdir -p "$I"/{bin,sbin,proc,sys,dev,tmp,modules,tests,data}
cp "$ROOT/usr/bin/busybox" "$I/bin/busybox"
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 \
         drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
  xz -dc "$MODDIR/$m.ko.xz" > "$I/modules/$(basename "$m").ko"
done
for m in "${KMODS[@]}"; do
  xz -dc "$MODDIR/$m.ko.xz" > "$I/modules/$(basename "$m").ko"
done
LD="$ROOT/usr/lib64/ld-linux-x86-64.so.2"
for b in "${GBINS[@]}"; do
  mkdir -p "$I/lib64" "$I/usr/lib/x86_64-linux-gnu"
  cp "$ROOT/$b" "$I/bin/$(basename "$b")"
  cp -L "$LD" "$I/lib64/"
  # The loader of the cache resolves the closure of libraries inside the cache.
  "$LD" --library-path "$ROOT/usr/lib/x86_64-linux-gnu" --list "$ROOT/$b" \
    | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' \
    | while read -r lib; do cp -L "$lib" "$I/usr/lib/x86_64-linux-gnu/"; done
done
for d in "${DATA[@]}"; do
  cp "$d" "$I/data/$(basename "$d")"
done
n=0
for b in "$@"; do
  cp "$b" "$I/tests/$(printf '%02d' $n)-$(basename "$b")"; n=$((n + 1))
done
echo "$BIND" > "$I/vfio-bind"
cat > "$I/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in irqbypass vfio vfio_iommu_type1 vfio-pci-core vfio-pci; do
  insmod /modules/$m.ko || echo "guest: insmod $m failed"
done
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat /vfio-bind)" = 1 ] && [ "$(cat $d/vendor)" = "0x15b3" ]; then
    bdf=$(basename $d)
    echo vfio-pci > $d/driver_override
    echo $bdf > /sys/bus/pci/drivers_probe
    echo "guest: $bdf ($(cat $d/vendor):$(cat $d/device)) -> $(basename $(readlink $d/driver)), iommu group $(basename $(readlink $d/iommu_group))"
  fi
done
rc=0
for t in /tests/*; do
  [ -x "$t" ] || continue
  echo "guest: running $(basename $t)"
  "$t" || rc=$?
done
echo "CXU-EXIT=$rc"
poweroff -f
INIT
chmod +x "$I/init"
(cd "$I" && find . | "$I/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$WORK/initrd.gz"

QEMU=("$ROOT/usr/lib64/ld-linux-x86-64.so.2" --library-path "$ROOT/usr/lib/x86_64-linux-gnu"
      "$ROOT/usr/bin/qemu-system-x86_64" -L "$ROOT/usr/share/qemu" -L "$ROOT/usr/share/seabios")
DEV=()
if [ -n "$SOCKET" ]; then
  BUS=""
  if [ "$ROOT_PORT" = 1 ]; then
    DEV=(-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,x-speed=8,x-width=16)
    BUS=",\"bus\":\"rp0\""
  fi
  DEV+=(-device "{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$SOCKET\"}$BUS}")
fi
LOG=${CXU_GUEST_LOG:-$WORK/guest.log}
# no_timer_check: under TCG on a loaded host the kernel's boot-time check that the
# IO-APIC timer ticks can miss its window and panic ("timer doesn't work through
# Interrupt-remapped IO-APIC"); seen with both host CPUs kept busy.
start=$(date +%s)
set +e
timeout --foreground -k 10 "$TIMEOUT" "${QEMU[@]}" \
  -machine q35,accel=tcg -cpu max -smp 1 -m 512 \
  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
  -device intel-iommu,intremap=on,caching-mode=on "${DEV[@]}" \
  -kernel "$KERNEL" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 intel_iommu=on panic=-1 no_timer_check quiet $APPEND" \
  -display none -nodefaults -serial stdio -no-reboot < /dev/null > "$LOG" 2>&1
qrc=$?
set -e
secs=$(( $(date +%s) - start ))
grep -E '^(guest:|cxu|CXU-|PASS |FAIL |INFO |test |[0-9]+ passed|.*: [0-9]+ passed)' "$LOG" | tr -d '\r' || true
if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
  echo "run.sh: the guest did not finish within ${TIMEOUT}s and was killed; its console:"
  tr -d '\r' < "$LOG"
  exit 1
fi
if ! grep -q '^CXU-EXIT=0' <(tr -d '\r' < "$LOG"); then
  echo "run.sh: the guest tests failed (QEMU exit $qrc after ${secs}s); its console:"
  tr -d '\r' < "$LOG"
  exit 1
fi
echo "run.sh: guest finished in ${secs}s"
