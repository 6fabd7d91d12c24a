#include "app/prometheus_status.hpp"

#include "tocsin/alerting/time_format.hpp"
#include "tocsin/core/duration.hpp"

namespace tocsin::app {

namespace {

// Go's zero time, which Prometheus prints for a target never scraped.
constexpr const char* kNever = "0001-01-01T00:00:00Z";

std::string rfc3339_or_never(Timestamp t) { return t > 0 ? alerting::format_rfc3339(t) : kNever; }

}  // namespace

std::optional<nlohmann::json> targets_json(const std::vector<collectors::CollectorHealth>& health,
                                           std::string_view state, std::string_view scrape_pool) {
  if (!state.empty() && state != "active" && state != "dropped" && state != "any") return std::nullopt;
  nlohmann::json active = nlohmann::json::array();
  if (state != "dropped") {
    for (const auto& h : health) {
      if (!scrape_pool.empty() && h.kind != scrape_pool) continue;
      const std::string interval = format_duration(h.interval);
      const std::string timeout = format_duration(h.timeout);
      active.push_back({
          {"discoveredLabels",
           {{"__scrape_interval__", interval},
            {"__scrape_timeout__", timeout},
            {"collector", h.kind},
            {"target", h.name}}},
          {"labels", {{"collector", h.kind}, {"target", h.name}}},
          {"scrapePool", h.kind},
          {"scrapeUrl", ""},  // a collector reads its target itself; /api/v1/collectors has its details
          {"globalUrl", ""},
          {"lastError", h.last_error},
          {"lastScrape", rfc3339_or_never(h.last_attempt)},
          {"lastScrapeDuration", h.last_duration_seconds},
          {"health", !h.collected ? "unknown"
                     : h.up       ? "up"
                                  : "down"},
          {"scrapeInterval", interval},
          {"scrapeTimeout", timeout},
      });
    }
  }
  // Both lists always, as Prometheus answers (the one not asked for empty).
  return nlohmann::json{{"activeTargets", std::move(active)}, {"droppedTargets", nlohmann::json::array()}};
}

nlohmann::json runtime_info_json(const RuntimeInfo& info) {
  return {{"startTime", rfc3339_or_never(info.start_time)},
          {"CWD", info.cwd},
          {"reloadConfigSuccess", info.reload_config_success},
          {"lastConfigTime", rfc3339_or_never(info.last_config_time)},
          {"corruptionCount", 0},
          {"goroutineCount", info.threads},
          {"GOMAXPROCS", info.cpus},
          {"GOGC", ""},
          {"GODEBUG", ""},
          {"storageRetention", format_duration(info.retention)}};
}

}  // namespace tocsin::app
