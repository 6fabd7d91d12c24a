#pragma once
// The `queues` collector: the backlog, latency, retries, failures and workers of job systems, read from
// their own storage in one Redis per instance: Sidekiq (6, 7, 8; under a namespace), Celery's Redis
// broker, RQ, plain lists and streams with consumer groups. Queues are discovered from each system's
// own registry keys (never KEYS); a cycle is one pipeline of at most three round trips.
// src/collectors/queues/README.md lists the keys, commands and every metric.

#include <spdlog/logger.h>

#include <memory>

#include "collectors/queues/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Never connects here: the first collect() does. collect() keeps one connection across cycles, bounds
// every wait by the timeouts and the cycle's deadline, and throws CollectError (naming the address,
// never the password) when the Redis cannot be read. Bad data in the queues (malformed or huge jobs,
// keys of the wrong type) is counted in tocsin_queue_problems_total and logged once, never thrown.
// interrupt() shuts the socket down.
std::unique_ptr<Collector> make_queues_collector(const config::QueuesTargetConfig& config,
                                                 std::shared_ptr<spdlog::logger> log);

const Kind& queues_kind();

}  // namespace tocsin::collectors
