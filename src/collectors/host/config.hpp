#pragma once
// Configuration of a host collector instance (collectors.host[i]); the keys are documented in
// src/collectors/host/README.md.

#include <string>
#include <vector>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

struct HostCollectorConfig {
  CollectorCommon common{.name = "host"};
  std::string proc_path = "/proc";               // root of procfs (tests point it at captured files)
  std::string mounts_file;                       // default: <proc_path>/mounts
  std::vector<std::string> mountpoints = {"/"};  // filesystems reported by node_filesystem_*
  bool pressure = true;                          // node_pressure_* from <proc_path>/pressure
};
void decode(const yaml::Node& node, HostCollectorConfig& out);

}  // namespace tocsin::config
