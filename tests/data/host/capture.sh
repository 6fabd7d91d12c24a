#!/bin/sh
# Captures the files the host collector reads from this machine into tests/data/host/real:
#   real/            a proc root (stat, meminfo, net/*, diskstats, vmstat, sys/...)
#   real/sysfs/      a sys root (class/net/<if>/<attr>, devices/system/clocksource)
#   real/rootfs/     etc/os-release
# Attribute files the kernel refuses to read (speed of a virtual device: EINVAL) are left out, as
# node_exporter skips them.
set -eu
out=$(dirname "$0")/real
mkdir -p "$out/net/stat" "$out/sys/fs" "$out/sys/kernel/random" "$out/sys/net/netfilter" "$out/rootfs/etc"
# stat, meminfo, loadavg, mounts and pressure/* are from an earlier capture the tests rely on.
for f in diskstats vmstat net/netstat net/snmp net/snmp6 net/dev net/sockstat \
         net/sockstat6 net/softnet_stat net/arp net/udp net/udp6 net/stat/nf_conntrack sys/fs/file-nr \
         sys/kernel/random/entropy_avail sys/kernel/random/poolsize sys/net/netfilter/nf_conntrack_count \
         sys/net/netfilter/nf_conntrack_max; do
  cat "/proc/$f" > "$out/$f" 2>/dev/null || rm -f "$out/$f"
done
cp /etc/os-release "$out/rootfs/etc/os-release"
for dev in /sys/class/net/*; do
  name=$(basename "$dev")
  mkdir -p "$out/sysfs/class/net/$name"
  for a in addr_assign_type addr_len address broadcast carrier carrier_changes carrier_up_count \
           carrier_down_count dev_id dormant duplex flags ifalias ifindex iflink link_mode mtu \
           name_assign_type netdev_group operstate phys_port_id phys_port_name phys_switch_id speed \
           tx_queue_len type statistics/rx_nohandler; do
    [ -f "$dev/$a" ] || continue
    mkdir -p "$(dirname "$out/sysfs/class/net/$name/$a")"
    cat "$dev/$a" > "$out/sysfs/class/net/$name/$a" 2>/dev/null || rm -f "$out/sysfs/class/net/$name/$a"
  done
done
for cs in /sys/devices/system/clocksource/clocksource*; do
  mkdir -p "$out/sysfs/devices/system/clocksource/$(basename "$cs")"
  for a in available_clocksource current_clocksource; do
    cat "$cs/$a" > "$out/sysfs/devices/system/clocksource/$(basename "$cs")/$a"
  done
done
