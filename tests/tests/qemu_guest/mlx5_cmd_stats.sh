#!/bin/sh
# Called by mlx5_core.sh (issue 17 part 6: Linux's command path beside cxu's, in the same
# guest on the same model). Prints `INFO cmd-stat WHO OPCODE_NAME n=N average_ns=A` lines.
#   kernel BDF  while mlx5_core is bound: the kernel's own statistics from debugfs
#               (commands/<op>/average: mean ns from the doorbell to the completion seen, n).
#   cxu BDF     after mlx5_core is removed: binds the function to vfio-pci and runs cxu's
#               driver on it (`cxu-guest --cmd-stats`), which prints its own per-opcode means.
case "$1" in
kernel)
  grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs none /sys/kernel/debug
  d=/sys/kernel/debug/mlx5/$2/commands
  if [ ! -d "$d" ]; then echo "INFO cmd-stat kernel: no $d"; exit 0; fi
  # More samples of a command both drivers send after their bring-up: each `devlink dev
  # info` sends ACCESS_REG four times (MCQS, MCQI; the board id of QUERY_ADAPTER is read
  # once, at probe). Its counter restarts first, so its average is of the loop alone, in
  # events mode (cxu-guest --cmd-stats sends 20 MCAM reads).
  if [ -x /bin/devlink ]; then
    [ -f "$d/ACCESS_REG/reset" ] && echo 1 > "$d/ACCESS_REG/reset"
    i=0
    while [ $i -lt 20 ]; do /bin/devlink dev info "pci/$2" > /dev/null 2>&1; i=$((i + 1)); done
  fi
  for c in "$d"/*; do
    [ -f "$c/n" ] || continue
    n=$(cat "$c/n")
    [ "$n" != 0 ] || continue
    echo "INFO cmd-stat kernel $(basename "$c") n=$n average_ns=$(cat "$c/average")"
  done
  ;;
cxu)
  dev=/sys/bus/pci/devices/$2
  echo vfio-pci > "$dev/driver_override"
  echo "$2" > /sys/bus/pci/drivers_probe
  echo "guest: cmd-stat: $2 -> $(basename "$(readlink "$dev/driver")")"
  /data/cxu-guest --cmd-stats
  ;;
esac
