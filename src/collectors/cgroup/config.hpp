#pragma once
// Configuration of a cgroup collector instance (collectors.cgroup[i]); the keys are documented in
// src/collectors/cgroup/README.md.

#include <cstddef>
#include <string>
#include <vector>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

struct CgroupCollectorConfig {
  CollectorCommon common{.name = "cgroup"};
  std::string root = "/sys/fs/cgroup";                 // where cgroupfs is mounted (tests: a temp dir)
  std::string self_cgroup_file = "/proc/self/cgroup";  // tocsin's own membership
  // Glob patterns on cgroup paths relative to the root, without the leading slash: `*`, `?` and
  // `[...]` within one path segment, `**` for any number of segments.
  std::vector<std::string> patterns;
  // systemd unit names (globs allowed), found anywhere in the tree: `nginx.service` is `**/nginx.service`.
  std::vector<std::string> units;
  bool self = true;                                  // always report the cgroup tocsin runs in
  std::size_t max_cgroups = 500;                     // matched cgroups beyond this are left out (and counted)
  bool pressure = true;                              // container_pressure_* from {cpu,memory,io}.pressure
  bool io = true;                                    // container_fs_* from io.stat (cgroup v2)
  std::string block_devices_dir = "/sys/dev/block";  // MAJ:MIN -> device name for the `device` label
  // Descriptors of cgroup directories and files kept open between cycles (re-read with pread at offset
  // 0), at most this many and at most half the process's RLIMIT_NOFILE soft limit; 0 opens every file
  // every cycle. The default covers max_cgroups: 500 on v2 (15 per cgroup: the directory and 14 files).
  std::size_t max_open_files = 10000;
};
void decode(const yaml::Node& node, CgroupCollectorConfig& out);

}  // namespace tocsin::config
