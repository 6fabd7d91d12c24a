#pragma once
// Query results parsed into plain values, without I/O: each function reads a Table as the server
// returns it, so the tests feed them hand-made tables as well as real ones.

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/postgres/config.hpp"
#include "collectors/postgres/table.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::postgres {

// A result that lacks a column the query always returns, or holds text where a number belongs.
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A column read as a label.
struct LabelColumn {
  std::string_view column;
  std::string_view label;  // the label's name (rolname -> user)
};

// A column read as a metric.
struct MetricColumn {
  std::string_view column;
  std::string_view metric;
  store::MetricType type;
  std::string_view help;
  double scale = 1;  // 0.001 turns milliseconds into seconds
};

// One result row: its labels (sorted by name, empty values left out) and one value per metric
// column, in the order of the columns given.
struct Row {
  std::vector<Label> labels;
  std::vector<std::optional<double>> values;
};

// Reads every row. A missing label column is a ParseError (the query always returns it); a missing
// metric column, or NULL, gives nullopt (views gain columns from version to version; a NULL size
// means "not measured this time"). Text that is not a number is a ParseError naming the column.
std::vector<Row> parse_rows(const Table& table, std::span<const LabelColumn> labels,
                            std::span<const MetricColumn> metrics);

// The `server` query's single row.
struct ServerSummary {
  bool in_recovery = false;
  double start_time_seconds = 0;
  std::string version;  // version(): "PostgreSQL 15.10 (Debian ...) on x86_64-pc-linux-gnu, ..."
  double max_connections = 0;
  double superuser_reserved_connections = 0;
  double reserved_connections = 0;  // PostgreSQL 16+; 0 before
  std::optional<double> replication_lag_seconds;
  double client_connections = 0;
  double oldest_query_seconds = 0;                // 0 when no query runs
  double oldest_idle_in_transaction_seconds = 0;  // 0 when no session is idle in a transaction
  double waiting_on_locks = 0;
  double blocking_sessions = 0;
};
ServerSummary parse_server(const Table& table);

// pg_stat_activity_count's zeros: postgres_exporter reports every state for every database, so that
// a state that empties shows 0 rather than vanishing. Done only when the activity labels are
// datname and/or state (with more labels there is no meaningful set of zeros).
inline constexpr std::string_view kActivityStates[] = {
    "active",  "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call",
    "disabled"};
void add_missing_activity_states(std::vector<Row>& rows, const std::vector<std::string>& activity_labels,
                                 const std::vector<std::string>& databases, std::size_t value_count);

// A setting as postgres_exporter exports it: pg_settings_<name with . as _>[_seconds|_bytes], times
// and sizes normalised to seconds and bytes (except -1, which means "off" and stays), booleans 1/0.
struct SettingValue {
  std::string metric;
  double value = 0;
};
std::optional<SettingValue> normalize_setting(std::string_view name, std::string_view setting,
                                              std::string_view unit, std::string_view vartype);
std::vector<SettingValue> parse_settings(const Table& table);

// One pg_stat_statements entry (summed over `toplevel`), times in seconds.
struct Statement {
  std::string queryid;
  std::string user;
  std::string datname;
  double calls = 0;
  double total_seconds = 0;
  double rows = 0;
  double read_seconds = 0;
  double write_seconds = 0;
  double max_seconds = 0;
  // Read only with statements.compat_names (the query then has these columns): min and stddev
  // in seconds, then the ten block counters of kCompatBlockColumns.
  double min_seconds = 0;
  double stddev_seconds = 0;
  std::vector<double> blocks;
  std::string key() const { return queryid + '\x1f' + user + '\x1f' + datname; }
};
struct StatementsSnapshot {
  std::vector<Statement> ranked;  // by total time, descending
  double tracked = 0;             // entries pg_stat_statements holds in all
};
StatementsSnapshot parse_statements(const Table& table);

// The block counters compat_names reports, in the order of Statement::blocks.
inline constexpr std::string_view kCompatBlockColumns[] = {
    "shared_blks_hit", "shared_blks_read", "shared_blks_dirtied", "shared_blks_written",
    "local_blks_hit",  "local_blks_read",  "local_blks_dirtied",  "local_blks_written",
    "temp_blks_read",  "temp_blks_written"};

// Which statements to report, stable from cycle to cycle so that rate() over them means something.
// A statement enters when it ranks in the top `limit` by total time and a place is free, or when
// its total time is at least kDisplaceFactor times that of the lowest-ranked reported statement
// outside the top `limit`, whose place it takes. A reported statement stays while it ranks within
// the top 2 x limit. Statements near the boundary therefore do not flap in and out; one that leaves
// gets a staleness marker from the store (it is simply no longer in the batch).
class TopStatements {
 public:
  static constexpr double kDisplaceFactor = 1.5;

  explicit TopStatements(std::size_t limit) : limit_(limit) {}
  std::size_t limit() const { return limit_; }
  std::size_t fetch_limit() const { return 2 * limit_; }  // how many ranked rows select() needs

  // Returns the indices into `ranked` to report, in rank order. Remembers the choice.
  std::vector<std::size_t> select(const std::vector<Statement>& ranked);
  // Keys of the statements that entered in the last select().
  const std::vector<std::string>& entered() const { return entered_; }
  std::size_t size() const { return kept_.size(); }
  void clear() { kept_.clear(); }

 private:
  std::size_t limit_;
  std::vector<std::string> kept_;  // keys
  std::vector<std::string> entered_;
};

// Query text for a label: whitespace runs become one space; cut to `length` characters (UTF-8
// aware, never splitting a character).
std::string clean_query_text(std::string_view text, std::size_t length);

// A custom query's result: labels from its label columns (NULL -> absent), values from its counter
// and gauge columns in the order configured (NULL -> no sample). ParseError when a configured
// column is missing, a value is not a number, or two rows have the same labels.
std::vector<Row> parse_custom(const Table& table, const config::PostgresCustomQuery& query);

}  // namespace tocsin::collectors::postgres
