#pragma once
// The status endpoints of Prometheus's HTTP API that Grafana's Prometheus data source calls, in
// Prometheus 2.42's shapes, filled with what tocsin has: its collector instances as targets, its
// flags under Prometheus's names where one means the same, and its runtime facts.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/collectors/scheduler.hpp"

namespace tocsin::app {

// GET /api/v1/targets?state=active|dropped|any&scrapePool=<kind>: each collector instance as an active
// target of the pool named after its kind, labelled {collector, target} as tocsin_collector_up is;
// tocsin drops no target. nullopt: a `state` Prometheus refuses.
std::optional<nlohmann::json> targets_json(const std::vector<collectors::CollectorHealth>& health,
                                           std::string_view state, std::string_view scrape_pool);

struct RuntimeInfo {
  Timestamp start_time = 0;
  std::string cwd;
  bool reload_config_success = true;
  Timestamp last_config_time = 0;
  unsigned threads = 0;  // in Prometheus's goroutineCount
  unsigned cpus = 0;     // in GOMAXPROCS
  Duration retention{0};
};

// GET /api/v1/status/runtimeinfo.
nlohmann::json runtime_info_json(const RuntimeInfo& info);

}  // namespace tocsin::app
