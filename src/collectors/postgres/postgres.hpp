#pragma once
// The `postgres` collector: one PostgreSQL server per instance, read through its statistics views
// (pg_stat_activity, pg_stat_database, pg_locks, pg_settings, replication, pg_stat_statements,
// pg_stat_user_tables, ...) under postgres_exporter's metric names, plus custom SQL queries from the
// config. src/collectors/postgres/README.md lists every metric, the config keys, the grants and the cost.
//
// Each instance keeps one long-lived connection (application_name `tocsin`) with statement_timeout
// and lock_timeout set on the session, reconnects with capped exponential backoff, and cancels its
// own statement when the cycle's deadline (or a custom query's timeout) passes, so a locked catalog
// or a stopped server never holds a worker thread for long.

#include <spdlog/logger.h>

#include <memory>

#include "collectors/postgres/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Throws std::invalid_argument when the dsn cannot be parsed by libpq (the message names the instance
// and never quotes the dsn, which may hold a password). Never connects: the first collect() does.
std::unique_ptr<Collector> make_postgres_collector(const config::PostgresTargetConfig& config,
                                                   std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.postgres` in the config.
const Kind& postgres_kind();

}  // namespace tocsin::collectors
