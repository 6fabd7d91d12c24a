#pragma once
// The `cgroup` collector: CPU, memory, OOM kills, pressure, I/O and task counts of chosen cgroups (systemd
// services, containers, tocsin's own) read from cgroupfs (v2, v1 or hybrid) under cAdvisor's metric names,
// types and `id`/`name` labels (src/collectors/cgroup/README.md lists them).

#include <spdlog/logger.h>

#include <memory>

#include "collectors/cgroup/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Never throws for a bad tree: collect() throws CollectError when the root is not a cgroup mount. A
// cgroup's missing files (a controller not enabled, the cgroup removed) leave its metrics out; an
// unreadable or malformed file is logged once and counted in tocsin_cgroup_read_errors_total.
std::unique_ptr<Collector> make_cgroup_collector(const config::CgroupCollectorConfig& config,
                                                 std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.cgroup` in the config.
const Kind& cgroup_kind();

}  // namespace tocsin::collectors
