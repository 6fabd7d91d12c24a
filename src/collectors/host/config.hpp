#pragma once
// Configuration of a host collector instance (collectors.host[i]); the keys are documented in
// src/collectors/host/README.md. Regexes are RE2 (Go's syntax, as node_exporter's flags) and match
// anywhere in the name unless anchored, as Go's MatchString does.

#include <optional>
#include <string>
#include <vector>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

// node_exporter's device-exclude / device-include pair: a device is left out when it matches
// `exclude` or does not match `include`; an empty regex is no filter. Setting both is an error, as in
// node_exporter.
struct HostDeviceFilterConfig {
  std::string exclude;
  std::string include;
};

struct HostCollectorConfig {
  CollectorCommon common{.name = "host"};
  std::string proc_path = "/proc";  // root of procfs (tests point it at captured files)
  std::string sys_path = "/sys";    // root of sysfs (node_exporter's --path.sysfs)
  // netdev and netclass from one rtnetlink dump a cycle instead of /proc/net/dev and a sysfs file per
  // interface and attribute (node_exporter's --collector.netdev.netlink, default there too, and
  // --collector.netclass.netlink). Unset: when proc_path and sys_path are /proc and /sys, whose
  // interfaces are those of the namespace netlink answers for.
  std::optional<bool> netlink;
  std::string rootfs_path = "/";                  // node_exporter's --path.rootfs: statfs and os-release
  std::string udev_data_path = "/run/udev/data";  // --collector.diskstats... udev database
  std::string mounts_file;                        // default: <proc_path>/1/mounts, else <proc_path>/mounts
  std::vector<std::string> mountpoints;           // only these mount points; empty: all not excluded
  bool pressure = true;                           // node_pressure_* from <proc_path>/pressure
  // node_exporter collectors to leave out (arp, conntrack, ...; README.md lists them).
  std::vector<std::string> disable;

  // --collector.filesystem.mount-points-exclude / fs-types-exclude. The defaults here and for netdev
  // are those of Debian's prometheus-node-exporter 1.5 package (the node_exporter the coverage test
  // runs); upstream's are "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/
  // storage/.+)($|/)" and no netdev exclusion.
  std::string filesystem_mount_points_exclude =
      "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
  std::string filesystem_fs_types_exclude =
      "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|"
      "nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";
  // --collector.diskstats.device-exclude / device-include
  HostDeviceFilterConfig diskstats{.exclude = "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$",
                                   .include = ""};
  // --collector.netdev.device-exclude / device-include (Debian's default excludes lo)
  HostDeviceFilterConfig netdev{.exclude = "^lo$", .include = ""};
  // --collector.netclass.ignored-devices and --collector.netclass.ignore-invalid-speed
  std::string netclass_ignored_devices = "^$";
  bool netclass_ignore_invalid_speed = false;
  // --collector.arp.device-exclude / device-include
  HostDeviceFilterConfig arp;
  // --collector.netstat.fields and --collector.vmstat.fields
  std::string netstat_fields =
      "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_("
      "Listen.*|"
      "Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|"
      "RetransSegs|"
      "CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$";
  std::string vmstat_fields = "^(oom_kill|pgpg|pswp|pg.*fault).*";
};
void decode(const yaml::Node& node, HostCollectorConfig& out);

}  // namespace tocsin::config
