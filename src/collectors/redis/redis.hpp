#pragma once
// The `redis` collector: one Redis instance per collector instance, read the way redis_exporter reads
// it (INFO ALL, CONFIG, SLOWLOG, LATENCY LATEST) under the exporter's metric names, plus slow-log
// entries counted exactly once, named keys' sizes and an optional sampled big-key scan.
// src/collectors/redis/README.md lists every metric, the commands issued and what they cost.

#include <spdlog/logger.h>

#include <memory>

#include "collectors/redis/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Never connects here: the first collect() does. collect() keeps one connection open across cycles,
// pipelines each cycle's commands, bounds every socket wait by the configured timeouts and the
// cycle's deadline, and throws CollectError (naming the target's address, never its password) when
// the target cannot be read; reconnects back off exponentially up to max_reconnect_backoff.
// interrupt() shuts the socket down. details() serves the newest slow-log entries, latency events and
// big keys for on-call.
std::unique_ptr<Collector> make_redis_collector(const config::RedisTargetConfig& config,
                                                std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.redis` in the config.
const Kind& redis_kind();

}  // namespace tocsin::collectors
