#pragma once
// The `scrape` collector: Prometheus's scraper for a host's own endpoints. One instance is one
// scrape job (a scrape_configs entry of prometheus.yml); each cycle it scrapes every target of the
// job in parallel and commits their samples with the job's and the target's labels, and for each
// target up, scrape_duration_seconds, scrape_samples_scraped,
// scrape_samples_post_metric_relabeling and scrape_series_added.

#include <spdlog/logger.h>

#include <memory>

#include "collectors/scrape/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// collect() throws CollectError only when every target failed (its message names the first and its
// cause); a target down among others gets up 0 and one log line when it goes down and one when it
// is back.
std::unique_ptr<Collector> make_scrape_collector(const config::ScrapeCollectorConfig& config,
                                                 std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.scrape` in the config.
const Kind& scrape_kind();

}  // namespace tocsin::collectors
