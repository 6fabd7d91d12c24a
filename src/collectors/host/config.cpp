#include "collectors/host/config.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "collectors/host/families.hpp"

namespace tocsin::config {

namespace {

// A regex key, read raw (a regex's `$` is not an environment variable) and compiled here so a bad
// one is reported at its position when the config loads.
void regex(yaml::MapDecoder& map, std::string_view key, std::string& out) {
  auto node = map.get(key);
  if (!node || node->is_null()) return;
  auto raw = node->as_raw_string();
  if (!raw) return;
  RE2 compiled(*raw, RE2::Quiet);
  if (!compiled.ok()) {
    node->error("invalid regex: " + compiled.error());
    return;
  }
  out = *raw;
}

void device_filter(yaml::MapDecoder& parent, std::string_view key, HostDeviceFilterConfig& out) {
  auto node = parent.get(key);
  if (!node || node->is_null()) return;
  yaml::MapDecoder map(*node);
  // As node_exporter: an include given alone replaces the default exclude; both given is an error.
  const bool exclude_given = map.has("device_exclude");
  regex(map, "device_exclude", out.exclude);
  regex(map, "device_include", out.include);
  if (!exclude_given && !out.include.empty()) out.exclude.clear();
  if (!out.exclude.empty() && !out.include.empty()) {
    node->error("device_exclude and device_include are mutually exclusive");
  }
  map.finish();
}

}  // namespace

void decode(const yaml::Node& node, HostCollectorConfig& out) {
  yaml::MapDecoder map(node);
  decode_common(map, out.common);
  map.optional("proc_path", out.proc_path);
  map.optional("sys_path", out.sys_path);
  map.optional("netlink", out.netlink);
  map.optional("rootfs_path", out.rootfs_path);
  map.optional("udev_data_path", out.udev_data_path);
  map.optional("mounts_file", out.mounts_file);
  map.optional("mountpoints", out.mountpoints);
  map.optional("pressure", out.pressure);
  if (auto n = map.get("disable"); n && !n->is_null()) {
    std::vector<std::string> names;
    if (decode(*n, names)) {
      for (const auto& name : names) {
        if (std::ranges::find(collectors::host::kSections, name) == std::end(collectors::host::kSections)) {
          std::string known;
          for (std::string_view s : collectors::host::kSections)
            known += (known.empty() ? "" : ", ") + std::string(s);
          n->error("unknown collector \"" + name + "\" (known: " + known + ")");
        }
      }
      out.disable = std::move(names);
    }
  }
  if (auto n = map.get("filesystem"); n && !n->is_null()) {
    yaml::MapDecoder fs(*n);
    regex(fs, "mount_points_exclude", out.filesystem_mount_points_exclude);
    regex(fs, "fs_types_exclude", out.filesystem_fs_types_exclude);
    fs.finish();
  }
  device_filter(map, "diskstats", out.diskstats);
  device_filter(map, "netdev", out.netdev);
  device_filter(map, "arp", out.arp);
  if (auto n = map.get("netclass"); n && !n->is_null()) {
    yaml::MapDecoder nc(*n);
    regex(nc, "ignored_devices", out.netclass_ignored_devices);
    nc.optional("ignore_invalid_speed", out.netclass_ignore_invalid_speed);
    nc.finish();
  }
  if (auto n = map.get("netstat"); n && !n->is_null()) {
    yaml::MapDecoder ns(*n);
    regex(ns, "fields", out.netstat_fields);
    ns.finish();
  }
  if (auto n = map.get("vmstat"); n && !n->is_null()) {
    yaml::MapDecoder vm(*n);
    regex(vm, "fields", out.vmstat_fields);
    vm.finish();
  }
  map.finish();
}

}  // namespace tocsin::config
