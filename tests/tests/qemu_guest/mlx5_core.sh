#!/bin/sh
# Runs inside the QEMU guest (busybox sh): loads the guest kernel's own, unmodified
# mlx5_core against the cxu model, keeps it bound across several health polls,
# removes it, and checks what the kernel itself says. Prints one `PASS mlx5: ...` or
# `FAIL mlx5: ...` line per check, the kernel log (`KLOG ...`), and a summary line
# `guest: mlx5 N passed, M failed`. The host side checks the model's own state.
pass=0 fail=0
check() {
  if [ "$2" = 0 ]; then echo "PASS mlx5: $1"; pass=$((pass + 1))
  else echo "FAIL mlx5: $1"; fail=$((fail + 1)); fi
}
# The device's kernel log without its debug lines (dyndbg's command dumps say "err 0").
klog_has() { dmesg -r | grep -v '^<7>' | grep -E 'mlx5|0000:01:00' | grep -qiE "$1"; }
# The whole kernel log, for what must never appear anywhere.
klog_any() { dmesg | grep -qE "$1"; }

dev=""
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat $d/vendor)" = 0x15b3 ]; then dev=$d; break; fi
done
[ -n "$dev" ]; check "a 15b3 function is present" $?
echo "guest: mlx5 device $(basename "$dev") $(cat $dev/vendor):$(cat $dev/device), link $(cat $dev/current_link_speed) x$(cat $dev/current_link_width) (max $(cat $dev/max_link_speed) x$(cat $dev/max_link_width))"
# The kernel reads the VPD capability (sysfs `vpd`): the model's serial number is in it.
grep -q MT2025X00001 $dev/vpd; check "the VPD holds the serial number" $?

insmod /modules/mlxfw.ko; check "insmod mlxfw" $?
insmod /modules/pci-hyperv-intf.ko; check "insmod pci-hyperv-intf" $?
# dyndbg: mlx5_core's debug prints (every command, its op_mod and status) go to the log.
insmod /modules/mlx5_core.ko dyndbg=+p; check "insmod mlx5_core (its probe returned 0)" $?
drv=$(basename "$(readlink $dev/driver)" 2>/dev/null)
[ "$drv" = mlx5_core ]; check "the function is bound to mlx5_core (driver: $drv)" $?
klog_has 'mlx5_core.*firmware version: '; check "the kernel read the firmware version" $?
# The model's link: PCIe 3.0 x16, behind a root port as on a real machine.
klog_has '126.016 Gb/s available PCIe bandwidth \(8.0 GT/s PCIe x16 link\)'
check "the kernel read a real PCIe link from the device" $?
# The health poller runs every 2 s: stay bound across several polls.
sleep 7
! klog_has 'health compromised|fatal|internal error|assert_var|synd 0x'; check "the health poller is quiet" $?
! klog_has 'failed|error'; check "no command or step failed during probe" $?

# The guest's own iproute2 devlink, answering from the kernel's mlx5_core (which asks the
# model: QUERY_ADAPTER's board id, the init segment's firmware version).
pci=pci/$(basename "$dev")
/bin/devlink dev info $pci > /tmp/info 2>&1; rc=$?
sed 's/^/guest: devlink: /' /tmp/info
# fw.version: MCAM says MCQS/MCQI exist, MCQS finds the boot image, MCQI its version.
[ $rc = 0 ] && grep -q 'driver mlx5_core' /tmp/info && grep -q 'fw.psid MT_0000000008' /tmp/info \
  && [ "$(grep -c 'fw.version 16.35.2000' /tmp/info)" = 2 ]
check "devlink dev info: driver mlx5_core, board id (QUERY_ADAPTER), running and stored firmware version (MCQS, MCQI)" $?
/bin/devlink -j dev info $pci > /tmp/info.json 2>&1; rc=$?
sed 's/^/guest: devlink -j: /' /tmp/info.json
[ $rc = 0 ] && grep -q '"driver":"mlx5_core"' /tmp/info.json && grep -q '"fw.psid":"MT_0000000008"' /tmp/info.json \
  && grep -q '"running":{"fw.version":"16.35.2000"' /tmp/info.json
check "devlink -j dev info" $?
/bin/devlink health show $pci > /tmp/health 2>&1; rc=$?
sed 's/^/guest: devlink health: /' /tmp/health
[ $rc = 0 ] && grep -qE 'reporter fw$' /tmp/health && grep -qE 'reporter fw_fatal$' /tmp/health \
  && grep -qE 'reporter vnic$' /tmp/health \
  && grep -q 'state healthy' /tmp/health && ! grep -q 'state error' /tmp/health
check "devlink health show: the kernel's fw, fw_fatal and vnic reporters, healthy" $?

# The eth auxiliary device: mlx5e's netdev, on the model's NIC vport.
net=$(ls $dev/net 2>/dev/null | head -1)
[ -n "$net" ]; check "a netdev appeared ($net)" $?
mac=$(cat /sys/class/net/$net/address 2>/dev/null)
echo "guest: mlx5 netdev $net mac $mac"
[ "$mac" = 02:c9:5e:00:00:01 ]; check "its MAC is the NIC vport's permanent address ($mac)" $?
/bin/ethtool -i $net > /tmp/ethtool 2>&1; rc=$?
sed 's/^/guest: ethtool: /' /tmp/ethtool
[ $rc = 0 ] && grep -q '^driver: mlx5_core' /tmp/ethtool && grep -q '^firmware-version: 16.35.2000' /tmp/ethtool
check "ethtool -i: driver mlx5_core, firmware 16.35.2000" $?
# Waits up to $2 s (in 0.2 s steps; a bound, not a pace) until the carrier reads $1.
carrier_is() {
  i=0
  while [ "$(cat /sys/class/net/$net/carrier 2>/dev/null)" != "$1" ] && [ $i -lt $(($2 * 5)) ]; do
    sleep 0.2; i=$((i + 1))
  done
  [ "$(cat /sys/class/net/$net/carrier 2>/dev/null)" = "$1" ]
}
/bin/ip link set dev $net up; check "ip link set dev $net up" $?
# PAOS admin up: the model's port goes operationally up and says so (PORT_CHANGE).
carrier_is 1 60; check "the carrier came up with the port" $?
/bin/ip link show dev $net | sed 's/^/guest: ip: /'
# The data path: ARP requests for an absent neighbour go out on the netdev's SQ
# (mlx5e_xmit, the doorbell at UAR 0x800); the model executes them and writes their
# requester CQEs, which mlx5e counts in tx0_cqes after the completion interrupt.
/bin/ip addr add 192.0.2.1/24 dev $net
ping -c 3 -W 1 192.0.2.2 > /dev/null 2>&1
/bin/ethtool -S $net > /tmp/stats 2>&1
grep -E '^ +tx0_(packets|cqes|stopped|wake|cqe_err)' /tmp/stats | sed 's/^ */guest: ethtool -S: /'
pk=$(sed -n 's/^ *tx0_packets: //p' /tmp/stats); cqes=$(sed -n 's/^ *tx0_cqes: //p' /tmp/stats)
err=$(sed -n 's/^ *tx0_cqe_err: //p' /tmp/stats)
[ "${pk:-0}" -ge 1 ] && [ "${cqes:-0}" -ge 1 ] && [ "${err:-1}" = 0 ]
check "packets sent on the SQ completed (tx0_packets ${pk:-?}, tx0_cqes ${cqes:-?}, tx0_cqe_err ${err:-?})" $?
# Packets both ways through the model: a static neighbour for the host's peer 192.0.2.2,
# then the host delivers an ICMP echo request from it to 192.0.2.1 (`rx 1 <hex>` on the
# server's stdin: the model writes it into the RQ's next WQE and posts its CQE); the
# kernel's echo reply leaves through the SQ and the host reads it from the server's `tx`
# lines (mlx5_eth.rs checks it byte by byte).
/bin/ip neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev $net nud permanent
check "a static neighbour 192.0.2.2 lladdr 02:00:00:00:00:02" $?
stat() { cat /sys/class/net/$net/statistics/$1 2>/dev/null || echo 0; }
rx_before=$(stat rx_packets) tx_before=$(stat tx_packets)
# Both counters moved: the request came in and the reply went out.
echo_done() { [ "$(stat rx_packets)" -gt "$rx_before" ] && [ "$(stat tx_packets)" -gt "$tx_before" ]; }
echo "guest: mlx5 192.0.2.1 up, waiting for an echo request from 192.0.2.2"
i=0
until echo_done || [ $i -ge 600 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(stat rx_packets)" -gt "$rx_before" ]
check "the echo request arrived (rx_packets $rx_before -> $(stat rx_packets))" $?
[ "$(stat tx_packets)" -gt "$tx_before" ]
check "the echo reply was sent (tx_packets $tx_before -> $(stat tx_packets))" $?
# A VLAN device on the netdev (8021q): mlx5e adds a steering rule for VLAN 10, the host
# delivers a tagged echo request, the model strips the tag into the CQE (vlan_cap, the RQ's
# vsd clear: rx_removed_vlan_packets), and the reply leaves with the tag mlx5e asks the
# NIC to insert (mlx5_eth.rs finds it on the wire).
for m in llc stp garp mrp 8021q; do insmod /modules/$m.ko || break; done \
  && /bin/ip link add link $net name $net.10 type vlan id 10 \
  && /bin/ip addr add 198.51.100.1/24 dev $net.10 && /bin/ip link set $net.10 up \
  && /bin/ip neigh replace 198.51.100.2 lladdr 02:00:00:00:00:02 dev $net.10 nud permanent
check "a VLAN 10 device $net.10 198.51.100.1 (8021q)" $?
vstat() { cat /sys/class/net/$net.10/statistics/$1 2>/dev/null || echo 0; }
es() { /bin/ethtool -S $net 2>/dev/null | sed -n "s/^ *$1: //p"; }
vrx_before=$(vstat rx_packets) vtx_before=$(vstat tx_packets) strip_before=$(es rx_removed_vlan_packets)
vlan_done() { [ "$(vstat rx_packets)" -gt "$vrx_before" ] && [ "$(vstat tx_packets)" -gt "$vtx_before" ]; }
echo "guest: mlx5 198.51.100.1 up on VLAN 10, waiting for a tagged echo request"
i=0
until vlan_done || [ $i -ge 600 ]; do sleep 0.2; i=$((i + 1)); done
vlan_done && [ "$(es rx_removed_vlan_packets)" -gt "${strip_before:-0}" ]
check "the tagged echo request arrived stripped and was answered on VLAN 10 (rx_removed_vlan_packets ${strip_before:-?} -> $(es rx_removed_vlan_packets), $net.10 rx_packets $vrx_before -> $(vstat rx_packets), tx_packets $vtx_before -> $(vstat tx_packets))" $?
/bin/ip -s link show dev $net | sed 's/^/guest: ip -s: /'
/bin/ethtool -S $net > /tmp/stats 2>&1
grep -E '^ +(rx0_(packets|bytes|csum_complete|csum_none)|rx_(vport|out_of_buffer)|tx_vport)' /tmp/stats \
  | sed 's/^ */guest: ethtool -S: /'
st() { sed -n "s/^ *$1: //p" /tmp/stats; }
[ "$(st rx0_packets)" -ge 1 ] && [ "$(st rx0_csum_complete)" -ge 1 ] \
  && [ "$(st rx_vport_unicast_packets)" -ge 1 ] && [ "$(st tx_vport_unicast_packets)" -ge 1 ]
check "ethtool -S: rx0_packets $(st rx0_packets), rx0_csum_complete $(st rx0_csum_complete) (the CQE's check_sum taken), rx_vport_unicast_packets $(st rx_vport_unicast_packets), tx_vport_unicast_packets $(st tx_vport_unicast_packets)" $?
# The send offloads the model advertises (csum_cap, max_lso_cap): mlx5e turns on
# checksumming and TSO, and the stack leaves checksums and segmentation to it.
/bin/ethtool -k $net > /tmp/features 2>&1
grep -E '^(tx-checksumming|tcp-segmentation-offload|tx-udp-segmentation):' /tmp/features \
  | sed 's/^/guest: ethtool -k: /'
grep -q '^tx-checksumming: on' /tmp/features && grep -q '^tcp-segmentation-offload: on' /tmp/features
check "ethtool -k: tx-checksumming on, tcp-segmentation-offload on" $?
# Waits (bounded, 0.2 s steps) until ethtool -S counter $1 is above $2.
es_above() {
  i=0
  until [ "$(es $1)" -gt "$2" ] || [ $i -ge 150 ]; do sleep 0.2; i=$((i + 1)); done
  [ "$(es $1)" -gt "$2" ]
}
# A UDP datagram (busybox nslookup's DNS query to the peer) with its checksum left to
# the NIC (CHECKSUM_PARTIAL: tx_csum_partial); the host checks its sum on the wire.
csum_before=$(es tx_csum_partial)
nslookup cxu.test 192.0.2.2 > /dev/null 2>&1 & pid=$!
es_above tx_csum_partial "$csum_before"; rc=$?
kill $pid 2>/dev/null; wait $pid 2>/dev/null
check "a UDP datagram left with its checksum offloaded (tx_csum_partial $csum_before -> $(es tx_csum_partial))" $rc
# TSO: nc connects to the peer; the host answers the SYN it finds among the server's tx
# lines with a SYN-ACK offering MSS 500 and never acknowledges the data, so the kernel
# sends one initial window, as GSO packets mlx5e posts as LSO WQEs (tx_tso_packets);
# the host checks that every data frame on the wire is at most 500 bytes, checksums right.
seq 1 2000 > /tmp/tcpdata
tso_before=$(es tx_tso_packets)
echo "guest: mlx5 connecting to 192.0.2.2:5001, waiting for the SYN-ACK"
nc 192.0.2.2 5001 < /tmp/tcpdata > /dev/null 2>&1 & pid=$!
es_above tx_tso_packets "$tso_before"; rc=$?
/bin/ethtool -S $net | grep -E '^ +tx_(tso_packets|tso_bytes|csum_partial|packets):' | sed 's/^ */guest: ethtool -S: /'
check "TCP data left as LSO (tx_tso_packets $tso_before -> $(es tx_tso_packets))" $rc
cat /proc/net/tcp | sed 's/^/guest: tcp: /'
kill $pid 2>/dev/null; wait $pid 2>/dev/null
[ "$(es tx_cqe_err)" = 0 ]; check "no send completed in error (tx_cqe_err $(es tx_cqe_err))" $?
# The host test pulls the link partner away when it reads the next line (and prints
# the model's state: the objects of an open netdev), then brings it back.
echo "guest: mlx5 netdev up, waiting for the link partner to leave"
carrier_is 0 120; check "the carrier followed the model's port down" $?
/bin/ip link show dev $net | grep -q 'state DOWN'; check "ip link shows the link down" $?
echo "guest: mlx5 carrier down, waiting for the link partner to come back"
carrier_is 1 120; check "the carrier followed the model's port up" $?
/bin/ip link show dev $net | grep -q 'LOWER_UP'; check "ip link shows LOWER_UP again" $?
/bin/ip link set dev $net down; check "ip link set dev $net down" $?
# The host prints the model's state (the netdev's queues gone), then re-plugs the
# module: the kernel's log line for that event says the state was taken.
echo "guest: mlx5 netdev down, waiting for the module event"
i=0
until klog_has 'Port module event: module 0, Cable plugged' || [ $i -ge 600 ]; do sleep 0.2; i=$((i + 1)); done
klog_has 'Port module event: module 0, Cable plugged'; check "the host took the model's state after down" $?

# --- issue 17: the kernel's command statistics (mlx5_cmd_stats.sh), read while bound ---
[ -x /data/mlx5_cmd_stats.sh ] && /data/mlx5_cmd_stats.sh kernel "$(basename "$dev")"
# --- end issue 17 ---

rmmod mlx5_core; check "rmmod mlx5_core" $?
[ ! -e $dev/driver ]; check "the function is unbound" $?
! klog_has 'FW did not return all pages|reclaim_pages err|pages counter is'; check "every page came back on removal" $?
! klog_any 'WARNING:|BUG:|Oops|Call Trace|general protection|RIP:'; check "no WARNING, BUG, oops or call trace" $?

# --- issue 17: cxu's command statistics on the same function, after mlx5_core left it ---
[ -x /data/mlx5_cmd_stats.sh ] && /data/mlx5_cmd_stats.sh cxu "$(basename "$dev")"
# --- end issue 17 ---

dmesg | sed 's/^/KLOG /'
echo "guest: mlx5 $pass passed, $fail failed"
[ "$fail" = 0 ]
