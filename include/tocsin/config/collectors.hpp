#pragma once
// Typed configuration of collector instances. Each kind decodes its own block; the settings every
// instance has (name, interval, timeout) are shared.

#include <optional>
#include <string>
#include <vector>

#include "tocsin/config/common.hpp"
#include "tocsin/config/postgres.hpp"
#include "tocsin/config/redis.hpp"

namespace tocsin::config {

struct HostCollectorConfig {
  CollectorCommon common{.name = "host"};
  std::string proc_path = "/proc";                 // root of procfs (tests point it at captured files)
  std::string mounts_file;                         // default: <proc_path>/mounts
  std::vector<std::string> mountpoints = {"/"};    // filesystems reported by node_filesystem_*
  bool pressure = true;                            // node_pressure_* from <proc_path>/pressure
};
void decode(const Node& node, HostCollectorConfig& out);

struct CollectorsConfig {
  std::vector<HostCollectorConfig> host;
  std::vector<PostgresTargetConfig> postgres;
  std::vector<RedisTargetConfig> redis;
};

}  // namespace tocsin::config
