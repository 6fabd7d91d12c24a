#pragma once
// Label names the host collector sets on some series (node_exporter's): refused as static labels.

#include <string_view>

namespace tocsin::collectors::host {

inline constexpr std::string_view kOwnLabels[] = {
    "cpu",        "device",   "domainname", "fstype",  "machine", "mode",
    "mountpoint", "nodename", "release",    "sysname", "version",
};

}  // namespace tocsin::collectors::host
