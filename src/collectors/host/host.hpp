#pragma once
// The `host` collector: CPU, memory, load, filesystems, pressure stall information and a few kernel
// counters of the machine tocsin runs on, read from procfs and statvfs under node_exporter's metric
// names, types and labels (src/collectors/host/README.md lists them).

#include <spdlog/logger.h>

#include <memory>

#include "collectors/host/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Never throws for a bad proc tree: files are read in collect(), which throws CollectError naming the
// file when /proc/stat, /proc/meminfo or /proc/loadavg cannot be read or parsed. Pressure files and
// mount points that are missing are left out and logged once (and once more when they come back).
std::unique_ptr<Collector> make_host_collector(const config::HostCollectorConfig& config,
                                               std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.host` in the config.
const Kind& host_kind();

}  // namespace tocsin::collectors
