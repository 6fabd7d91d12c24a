#pragma once
// Label names the host collector sets on some series (node_exporter's): refused as static labels.
// And the node_exporter collectors it implements, by node_exporter's names (for `disable:`).

#include <string_view>

namespace tocsin::collectors::host {

inline constexpr std::string_view kOwnLabels[] = {
    "address",    "broadcast",   "build_id",      "chip",     "chip_name",
    "label",      "sensor",      "clocksource",   "cpu",      "device",
    "domainname", "duplex",      "fstype",        "id",       "id_like",
    "ifalias",    "image_id",    "image_version", "ip",       "lv_layer",
    "lv_name",    "machine",     "major",         "minor",    "mode",
    "model",      "mountpoint",  "name",          "nodename", "operstate",
    "path",       "pretty_name", "queue",         "release",  "revision",
    "serial",     "sysname",     "time_zone",     "type",     "usage",
    "uuid",       "variant",     "variant_id",    "version",  "version_codename",
    "version_id", "vg_name",     "wwn",           "zone",
};

// The families it produces (Kind::families): node_exporter's.
inline constexpr std::string_view kFamilies[] = {"node_*"};

// node_exporter's collector names, as accepted by `disable:`.
inline constexpr std::string_view kSections[] = {
    "arp",      "conntrack",  "cpu",      "diskstats", "entropy", "filefd",       "filesystem",
    "hwmon",    "loadavg",    "meminfo",  "netclass",  "netdev",  "netstat",      "os",
    "pressure", "selinux",    "sockstat", "softnet",   "stat",    "thermal_zone", "time",
    "timex",    "udp_queues", "uname",    "vmstat",
};

}  // namespace tocsin::collectors::host
