#pragma once
// Label names the redis collector sets on some series (redis_exporter's, and the slow log's and key
// metrics' own): refused as static labels.

#include <string_view>

namespace tocsin::collectors::redis {

inline constexpr std::string_view kOwnLabels[] = {
    "addr",
    "cmd",
    "db",
    "event_name",
    "key",
    "le",
    "maxmemory_policy",
    "master_host",
    "master_port",
    "mem_allocator",
    "os",
    "process_id",
    "quantile",
    "redis_build_id",
    "redis_mode",
    "redis_version",
    "role",
    "run_id",
    "slave_ip",
    "slave_port",
    "slave_state",
    "tcp_port",
    "type",
};

// The families it produces (Kind::families): redis_exporter's, and its own.
inline constexpr std::string_view kFamilies[] = {"redis_*", "tocsin_redis_*"};

}  // namespace tocsin::collectors::redis
