#pragma once
// Every statement the collector sends, in one place: SQL text per server version (and, for
// pg_stat_statements, per extension version), chosen once per connection. None of them reads a user
// table; they read statistics views and catalogs only.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/duration.hpp"

namespace tocsin::collectors::postgres {

// The built-in statements of a cycle, in the order they run. `tables` and `unused_indexes` run
// once per collected database; `statements` only when pg_stat_statements is there.
enum class Query {
  server,
  activity,
  databases,
  database_sizes,
  locks,
  settings,
  replication,
  slots,
  bgwriter,
  process_idle,
  statements,
  tables,
  table_sizes,
  unused_indexes
};
inline constexpr Query kAllQueries[] = {
    Query::server,     Query::activity,    Query::databases,   Query::database_sizes, Query::locks,
    Query::settings,   Query::replication, Query::slots,       Query::bgwriter,       Query::process_idle,
    Query::statements, Query::tables,      Query::table_sizes, Query::unused_indexes};

std::string_view query_name(Query query);  // "server", "activity", ... as the `query` label says
// The query of a name as query_name() gives it; nullopt for any other text.
std::optional<Query> query_of_name(std::string_view name);

// How often a built-in query runs unless `query_intervals` says otherwise: cheap views of the
// moment (sessions, locks, replication, the background writer) every cycle (0); per-table
// statistics and pg_stat_statements every minute; sizes (which stat every file of a database), settings and
// unused indexes every 5 minutes. `server` always runs every cycle: it proves the connection alive.
Duration default_query_interval(Query query);

// Oldest server version the query table has text for; older servers get this version's queries.
inline constexpr int kOldestSupportedVersion = 120000;

// The SQL of a built-in query for a server (server_version_num). Parameters are filled in:
// `activity_labels` (validated column names) for activity, `settings` (names; empty: every
// numeric setting) for settings, `limit` for tables.
struct QueryParameters {
  std::vector<std::string> activity_labels;
  std::vector<std::string> settings;
  unsigned tables_limit = 200;
  bool tables_by_size = false;         // the top tables by pages instead of by activity
  std::vector<std::string> table_ids;  // table_sizes: the oids of the tables to measure
};
std::string query_sql(Query query, int server_version, const QueryParameters& parameters);

// Finds pg_stat_statements in the connected database: one row (extversion, quoted schema, whether
// the library is loaded: its settings exist only then) or none when the extension is not created.
inline constexpr std::string_view kExtensionSql =
    "SELECT e.extversion, quote_ident(n.nspname) AS schema, "
    "EXISTS (SELECT 1 FROM pg_catalog.pg_settings WHERE name = 'pg_stat_statements.max') AS loaded "
    "FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'pg_stat_statements'";

// "1.10" -> 110, "1.8" -> 108; 0 when unparsable.
int extension_version_number(std::string_view extversion);

// The top `fetch_limit` statements by total execution time, summed over pg_stat_statements' rows
// that differ only in `toplevel` (1.9+), with the number of entries tracked in all. `schema` is
// already quoted (quote_ident). Never reads the query texts.
// With `compat`, also the minimum and standard deviation of the execution time and the block
// counters (min_ms, stddev_ms, shared_blks_hit, ...) that statements.compat_names reports.
std::string statements_sql(int extension_version, std::string_view schema, unsigned fetch_limit,
                           bool compat = false);
// The texts of the listed query ids (decimal, possibly negative), cut to `length` characters.
std::string statement_texts_sql(std::string_view schema, const std::vector<std::string>& queryids,
                                unsigned length);

}  // namespace tocsin::collectors::postgres
