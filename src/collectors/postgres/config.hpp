#pragma once
// Configuration of a Postgres collector instance (collectors.postgres[i]). Every connection setting
// left out falls back to libpq's defaults and its PG* environment variables, as psql does; the keys
// are documented in src/collectors/postgres/README.md.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

// How a column of a custom query's result becomes part of a metric.
enum class PostgresColumnUsage { label, counter, gauge };

struct PostgresCustomColumn {
  std::string name;  // the column name as the query returns it
  PostgresColumnUsage usage = PostgresColumnUsage::gauge;
  std::string help;  // default: "<column> from custom query <prefix>"
};

struct PostgresCustomQuery {
  std::string prefix;  // metric names are <prefix>_<column>; a valid metric name
  std::string sql;
  std::vector<PostgresCustomColumn> columns;  // in the order given; at least one counter or gauge
  int min_server_version = 0;                 // server_version_num (e.g. 130000); 0: any
  std::optional<Duration> interval{};         // default: the collector's interval
  std::optional<Duration> timeout{};          // default: the collector's statement_timeout
};
void decode(const yaml::Node& node, PostgresCustomQuery& out);

// Labels of pg_stat_activity_count, named after pg_stat_activity's columns.
inline constexpr const char* kPostgresActivityLabels[] = {
    "datname", "state", "usename", "application_name", "wait_event_type", "backend_type", "client_addr"};

struct PostgresStatementsConfig {
  bool enabled = true;               // read pg_stat_statements when the extension is there
  unsigned limit = 100;              // top-N statements by total time
  bool query_text = false;           // pg_stat_statements_query_id{queryid,query}: may hold personal data
  unsigned query_text_length = 120;  // characters of query text kept
  // Also the names of postgres_exporter's example queries.yaml query (pg_stat_statements_calls,
  // _total_time_seconds, ..., label rolname), for dashboards made for it.
  bool compat_names = false;
};

struct PostgresTargetConfig {
  CollectorCommon common{.name = "postgres"};

  // Connection. `dsn` is a libpq connection string or URI; host/port/user/dbname/sslmode/... given
  // as keys override what the dsn says. Everything absent comes from libpq's PG* environment.
  std::string dsn;
  std::string host;
  int port = 0;  // 0: not set
  std::string user;
  std::string dbname;
  yaml::Secret password;  // `password` or `password_file`; default: PGPASSWORD / ~/.pgpass
  std::string sslmode;
  std::string sslrootcert;
  std::string sslcert;
  std::string sslkey;
  Duration connect_timeout = std::chrono::seconds(5);
  // Set on the session, so that a locked catalog or a runaway query can never hold the collector.
  Duration statement_timeout = std::chrono::seconds(5);
  Duration lock_timeout = std::chrono::seconds(1);
  // Reconnection after a failure: waits start at reconnect_backoff and double up to the max.
  Duration reconnect_backoff = std::chrono::seconds(1);
  Duration reconnect_backoff_max = std::chrono::minutes(1);
  // Server-side prepared statements break behind PgBouncer in transaction mode: off by default.
  bool prepared_statements = false;

  // Labels of pg_stat_activity_count and pg_stat_activity_max_tx_duration; a subset of
  // kPostgresActivityLabels. usename, application_name and client_addr can have many values.
  std::vector<std::string> activity_labels = {"datname", "state"};

  PostgresStatementsConfig statements;

  // pg_stat_user_tables and friends only see the connected database. Extra databases whose tables
  // and indexes are read too (one more connection each); ["*"]: every database that allows
  // connections.
  std::vector<std::string> databases;
  unsigned tables_limit = 200;  // tables per database, the most active (or the largest) first
  bool tables_by_size = false;  // `tables_by: size`: the largest by pages instead of the most active

  // How often each built-in query runs, by its name (the `query` label): absent ones keep their
  // defaults (postgres::default_query_interval), 0 runs every cycle. Between runs the last result
  // is reported again. `server` always runs every cycle.
  std::map<std::string, Duration, std::less<>> query_intervals;

  std::vector<PostgresCustomQuery> queries;

  // `shared: true`: collected only by the daemon holding the advisory lock of the target's name
  // (docs/fleet.md); `lease` bounds how long a partitioned holder keeps it.
  SharedTarget shared;
};
void decode(const yaml::Node& node, PostgresTargetConfig& out);
// Checks what depends on the top-level interval: a custom query's timeout must fit the cycle of an
// instance that inherits it.
void check_inherited_query_timeouts(const yaml::Node& block, const PostgresTargetConfig& target,
                                    Duration interval);
// What depends on the top-level interval: the above, and a shared target's lease.
void check_postgres_interval(const yaml::Node& block, const PostgresTargetConfig& target, Duration interval);

}  // namespace tocsin::config
