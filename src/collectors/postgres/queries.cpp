#include "collectors/postgres/queries.hpp"

#include <charconv>

namespace tocsin::collectors::postgres {

namespace {

struct VersionedSql {
  Query query;
  int min_version;  // server_version_num from which this text applies
  std::string_view sql;
};

// Newest first within a query: the first entry whose min_version the server reaches is used.
// Placeholders in braces are filled by query_sql().
constexpr VersionedSql kQueries[] = {
    // One row: what on-call asks first. The sessions' figures exclude this collector's own backend.
    {Query::server, 160000, R"SQL(
SELECT pg_is_in_recovery() AS in_recovery,
  extract(epoch FROM pg_postmaster_start_time()) AS start_time_seconds,
  version() AS version,
  current_setting('max_connections')::int AS max_connections,
  current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
  current_setting('reserved_connections')::int AS reserved_connections,
  CASE WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))
  END AS replication_lag_seconds,
  a.client_connections, a.oldest_query_seconds, a.oldest_idle_in_transaction_seconds, a.waiting_on_locks,
  b.blocking_sessions
FROM (SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS client_connections,
        extract(epoch FROM now() - min(query_start) FILTER (
          WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()))
          AS oldest_query_seconds,
        extract(epoch FROM now() - min(state_change) FILTER (
          WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')))
          AS oldest_idle_in_transaction_seconds,
        count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_locks
      FROM pg_catalog.pg_stat_activity) a,
     (SELECT count(DISTINCT blocker) AS blocking_sessions
      FROM pg_catalog.pg_stat_activity w, unnest(pg_blocking_pids(w.pid)) AS blocker
      WHERE w.wait_event_type = 'Lock') b)SQL"},
    {Query::server, 0, R"SQL(
SELECT pg_is_in_recovery() AS in_recovery,
  extract(epoch FROM pg_postmaster_start_time()) AS start_time_seconds,
  version() AS version,
  current_setting('max_connections')::int AS max_connections,
  current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
  0 AS reserved_connections,
  CASE WHEN NOT pg_is_in_recovery() THEN 0
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp()))
  END AS replication_lag_seconds,
  a.client_connections, a.oldest_query_seconds, a.oldest_idle_in_transaction_seconds, a.waiting_on_locks,
  b.blocking_sessions
FROM (SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS client_connections,
        extract(epoch FROM now() - min(query_start) FILTER (
          WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()))
          AS oldest_query_seconds,
        extract(epoch FROM now() - min(state_change) FILTER (
          WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')))
          AS oldest_idle_in_transaction_seconds,
        count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_locks
      FROM pg_catalog.pg_stat_activity) a,
     (SELECT count(DISTINCT blocker) AS blocking_sessions
      FROM pg_catalog.pg_stat_activity w, unnest(pg_blocking_pids(w.pid)) AS blocker
      WHERE w.wait_event_type = 'Lock') b)SQL"},

    // Sessions connected to a database (clients, autovacuum and parallel workers), grouped by the
    // configured labels, as postgres_exporter counts them.
    {Query::activity, 0, R"SQL(
SELECT {select}count(*) AS count,
  coalesce(max(extract(epoch FROM now() - xact_start)), 0) AS max_tx_duration
FROM pg_catalog.pg_stat_activity WHERE datname IS NOT NULL{group_by})SQL"},

    // NULL checksum figures (checksums off) and stats_reset (never reset) read 0, as in
    // postgres_exporter.
    {Query::databases, 140000, R"SQL(
SELECT d.datid, d.datname, d.numbackends, d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
  d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted, d.conflicts, d.temp_files,
  d.temp_bytes, d.deadlocks, coalesce(d.checksum_failures, 0) AS checksum_failures,
  coalesce(extract(epoch FROM d.checksum_last_failure), 0) AS checksum_last_failure,
  d.blk_read_time, d.blk_write_time,
  d.session_time, d.active_time, d.idle_in_transaction_time, d.sessions, d.sessions_abandoned,
  d.sessions_fatal, d.sessions_killed, coalesce(extract(epoch FROM d.stats_reset), 0) AS stats_reset,
  c.confl_tablespace, c.confl_lock, c.confl_snapshot, c.confl_bufferpin, c.confl_deadlock,
  age(db.datfrozenxid) AS frozen_xid_age, mxid_age(db.datminmxid) AS min_mxid_age,
  db.datconnlimit AS connection_limit, db.datallowconn AND NOT db.datistemplate AS collectable
FROM pg_catalog.pg_stat_database d
JOIN pg_catalog.pg_database db ON db.oid = d.datid
LEFT JOIN pg_catalog.pg_stat_database_conflicts c ON c.datid = d.datid)SQL"},
    {Query::databases, 0, R"SQL(
SELECT d.datid, d.datname, d.numbackends, d.xact_commit, d.xact_rollback, d.blks_read, d.blks_hit,
  d.tup_returned, d.tup_fetched, d.tup_inserted, d.tup_updated, d.tup_deleted, d.conflicts, d.temp_files,
  d.temp_bytes, d.deadlocks, coalesce(d.checksum_failures, 0) AS checksum_failures,
  coalesce(extract(epoch FROM d.checksum_last_failure), 0) AS checksum_last_failure,
  d.blk_read_time, d.blk_write_time,
  coalesce(extract(epoch FROM d.stats_reset), 0) AS stats_reset,
  c.confl_tablespace, c.confl_lock, c.confl_snapshot, c.confl_bufferpin, c.confl_deadlock,
  age(db.datfrozenxid) AS frozen_xid_age, mxid_age(db.datminmxid) AS min_mxid_age,
  db.datconnlimit AS connection_limit, db.datallowconn AND NOT db.datistemplate AS collectable
FROM pg_catalog.pg_stat_database d
JOIN pg_catalog.pg_database db ON db.oid = d.datid
LEFT JOIN pg_catalog.pg_stat_database_conflicts c ON c.datid = d.datid)SQL"},

    // pg_database_size stats every file of the database: the costly part of a database's figures,
    // hence a query of its own on a slower interval. It needs CONNECT on the database or
    // pg_read_all_stats (in pg_monitor). Templates included, as postgres_exporter reports them.
    {Query::database_sizes, 0, R"SQL(
SELECT datname,
  CASE WHEN has_database_privilege(oid, 'CONNECT') OR pg_has_role('pg_read_all_stats', 'MEMBER')
       THEN pg_database_size(oid) END AS size_bytes
FROM pg_catalog.pg_database)SQL"},

    // The background writer, the checkpointer and the WAL archiver: one row. PostgreSQL 17 moved the
    // checkpoint columns to pg_stat_checkpointer and the backends' writes and fsyncs to pg_stat_io;
    // they keep postgres_exporter's names. last_archive_age is NaN until a first WAL file is
    // archived, as the exporter prints it.
    {Query::bgwriter, 170000, R"SQL(
SELECT c.num_timed AS checkpoints_timed, c.num_requested AS checkpoints_req,
  c.write_time AS checkpoint_write_time, c.sync_time AS checkpoint_sync_time,
  c.buffers_written AS buffers_checkpoint, b.buffers_clean, b.maxwritten_clean,
  io.writes AS buffers_backend, io.fsyncs AS buffers_backend_fsync, b.buffers_alloc,
  coalesce(extract(epoch FROM b.stats_reset), 0) AS stats_reset,
  a.archived_count, a.failed_count,
  coalesce(extract(epoch FROM now() - a.last_archived_time)::float8, 'NaN') AS last_archive_age,
  coalesce(extract(epoch FROM a.last_failed_time), 0) AS last_failed_time
FROM pg_catalog.pg_stat_bgwriter b, pg_catalog.pg_stat_checkpointer c, pg_catalog.pg_stat_archiver a,
  (SELECT coalesce(sum(writes), 0) AS writes, coalesce(sum(fsyncs), 0) AS fsyncs
   FROM pg_catalog.pg_stat_io
   WHERE object = 'relation' AND backend_type NOT IN ('checkpointer', 'background writer')) io)SQL"},
    {Query::bgwriter, 0, R"SQL(
SELECT b.checkpoints_timed, b.checkpoints_req, b.checkpoint_write_time, b.checkpoint_sync_time,
  b.buffers_checkpoint, b.buffers_clean, b.maxwritten_clean, b.buffers_backend, b.buffers_backend_fsync,
  b.buffers_alloc, coalesce(extract(epoch FROM b.stats_reset), 0) AS stats_reset,
  a.archived_count, a.failed_count,
  coalesce(extract(epoch FROM now() - a.last_archived_time)::float8, 'NaN') AS last_archive_age,
  coalesce(extract(epoch FROM a.last_failed_time), 0) AS last_failed_time
FROM pg_catalog.pg_stat_bgwriter b, pg_catalog.pg_stat_archiver a)SQL"},

    // Idle client sessions by application, as a histogram of how long they have been idle (the
    // buckets of postgres_exporter's example pg_process_idle query).
    {Query::process_idle, 0, R"SQL(
SELECT coalesce(application_name, '') AS application_name, count(*) AS count, sum(idle) AS sum,
  count(*) FILTER (WHERE idle <= 1) AS le_1, count(*) FILTER (WHERE idle <= 2) AS le_2,
  count(*) FILTER (WHERE idle <= 5) AS le_5, count(*) FILTER (WHERE idle <= 15) AS le_15,
  count(*) FILTER (WHERE idle <= 30) AS le_30, count(*) FILTER (WHERE idle <= 60) AS le_60,
  count(*) FILTER (WHERE idle <= 90) AS le_90, count(*) FILTER (WHERE idle <= 120) AS le_120,
  count(*) FILTER (WHERE idle <= 300) AS le_300
FROM (SELECT application_name, extract(epoch FROM now() - state_change)::float8 AS idle
      FROM pg_catalog.pg_stat_activity WHERE state = 'idle') s
GROUP BY 1)SQL"},

    // Every database x every lock mode, zeros included, lower-case modes: postgres_exporter's shape.
    {Query::locks, 0, R"SQL(
SELECT db.datname, m.mode, coalesce(l.count, 0) AS count
FROM pg_catalog.pg_database db
CROSS JOIN (VALUES ('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'), ('shareupdateexclusivelock'),
                   ('sharelock'), ('sharerowexclusivelock'), ('exclusivelock'), ('accessexclusivelock'),
                   ('sireadlock')) AS m(mode)
LEFT JOIN (SELECT database, lower(mode) AS mode, count(*) AS count FROM pg_catalog.pg_locks
           WHERE database IS NOT NULL GROUP BY database, lower(mode)) l
  ON l.database = db.oid AND l.mode = m.mode)SQL"},

    {Query::settings, 0, R"SQL(
SELECT name, setting, unit, vartype FROM pg_catalog.pg_settings
WHERE vartype IN ('bool', 'integer', 'real'){settings_filter})SQL"},

    // Standbys as the primary sees them, one row per standby name and address (two walsenders of
    // one standby, e.g. during a base backup, are one row with the larger lag).
    {Query::replication, 0, R"SQL(
SELECT coalesce(application_name, '') AS application_name, coalesce(client_addr::text, '') AS client_addr,
  state, sync_state,
  max(pg_wal_lsn_diff(
    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
    replay_lsn)) AS lag_bytes,
  max(extract(epoch FROM write_lag)) AS write_lag_seconds,
  max(extract(epoch FROM flush_lag)) AS flush_lag_seconds,
  max(extract(epoch FROM replay_lag)) AS replay_lag_seconds
FROM pg_catalog.pg_stat_replication GROUP BY 1, 2, 3, 4)SQL"},

    {Query::slots, 130000, R"SQL(
SELECT slot_name, slot_type, active::int AS active,
  pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                  restart_lsn) AS retained_bytes,
  safe_wal_size, wal_status
FROM pg_catalog.pg_replication_slots)SQL"},
    {Query::slots, 0, R"SQL(
SELECT slot_name, slot_type, active::int AS active,
  pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                  restart_lsn) AS retained_bytes
FROM pg_catalog.pg_replication_slots)SQL"},

    // The top tables (by activity, or by size: {top}, filled by query_sql()), with their statistics;
    // a table never vacuumed or analyzed reports 0 for the last_* times, as postgres_exporter does.
    // The ranking reads only what it orders by; the statistics are computed for the chosen tables
    // alone (the ANY (ARRAY(...)) is a parameter the planner pushes down to the scan of pg_class).
    // pg_statio_user_tables has NULL index, TOAST and TOAST index blocks for a table without any:
    // 0 here (no such I/O), so that every table has every family.
    {Query::tables, 0, R"SQL(
WITH top AS ({top}),
t AS (SELECT s.* FROM pg_catalog.pg_stat_user_tables s WHERE s.relid = ANY (ARRAY(SELECT relid FROM top)))
SELECT current_database() AS datname, t.relid, t.schemaname, t.relname, t.seq_scan, t.seq_tup_read,
  t.idx_scan, t.idx_tup_fetch, t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd, t.n_live_tup,
  t.n_dead_tup, t.n_mod_since_analyze, extract(epoch FROM coalesce(t.last_vacuum, 'epoch')) AS last_vacuum,
  extract(epoch FROM coalesce(t.last_autovacuum, 'epoch')) AS last_autovacuum,
  extract(epoch FROM coalesce(t.last_analyze, 'epoch')) AS last_analyze,
  extract(epoch FROM coalesce(t.last_autoanalyze, 'epoch')) AS last_autoanalyze,
  t.vacuum_count, t.autovacuum_count,
  t.analyze_count, t.autoanalyze_count,
  io.heap_blks_read, io.heap_blks_hit, coalesce(io.idx_blks_read, 0) AS idx_blks_read,
  coalesce(io.idx_blks_hit, 0) AS idx_blks_hit, coalesce(io.toast_blks_read, 0) AS toast_blks_read,
  coalesce(io.toast_blks_hit, 0) AS toast_blks_hit, coalesce(io.tidx_blks_read, 0) AS tidx_blks_read,
  coalesce(io.tidx_blks_hit, 0) AS tidx_blks_hit
FROM t JOIN pg_catalog.pg_statio_user_tables io ON io.relid = t.relid)SQL"},

    // The sizes of the tables the last `tables` run reported ({relids}): each size function stats
    // every file of the table, its TOAST table and its indexes, so they have a query of their own on
    // a slower interval. pg_total_relation_size is pg_table_size plus pg_indexes_size: summed here
    // rather than measured twice. The size functions take an AccessShareLock: a table with an
    // AccessExclusiveLock held or requested would make them wait, so its sizes are left NULL.
    {Query::table_sizes, 0, R"SQL(
WITH locked AS (
  SELECT relation FROM pg_catalog.pg_locks
  WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
    AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())),
t AS (
  SELECT c.oid, n.nspname, c.relname, c.oid IN (SELECT relation FROM locked) AS locked
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = ANY ('{{relids}}'::oid[]))
SELECT current_database() AS datname, t.nspname AS schemaname, t.relname, sz.table_size_bytes,
  sz.index_size_bytes, sz.table_size_bytes + sz.index_size_bytes AS total_size_bytes
FROM t CROSS JOIN LATERAL (
  SELECT CASE WHEN NOT t.locked THEN pg_table_size(t.oid) END AS table_size_bytes,
         CASE WHEN NOT t.locked THEN pg_indexes_size(t.oid) END AS index_size_bytes) sz)SQL"},

    // Indexes never scanned since the statistics were reset, leaving out those that enforce a
    // constraint. Sizes from relpages: no lock taken.
    {Query::unused_indexes, 0, R"SQL(
SELECT current_database() AS datname, count(*) AS unused_indexes,
  coalesce(sum(c.relpages::bigint), 0) * current_setting('block_size')::bigint AS unused_index_bytes
FROM pg_catalog.pg_stat_user_indexes i
JOIN pg_catalog.pg_index x ON x.indexrelid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
WHERE i.idx_scan = 0 AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion)SQL"},
};

struct StatementsSql {
  int min_extension_version;  // 108 for 1.8
  std::string_view total, max, read, write, min, stddev;
};

// pg_stat_statements renamed its timing columns: total_time -> total_exec_time in 1.8 (PostgreSQL
// 13), blk_read_time -> shared_blk_read_time in 1.11 (PostgreSQL 17). The columns follow the
// extension version installed in the database, which lags the server's after pg_upgrade until
// ALTER EXTENSION ... UPDATE.
constexpr StatementsSql kStatementsColumns[] = {
    {111, "total_exec_time", "max_exec_time", "shared_blk_read_time", "shared_blk_write_time",
     "min_exec_time", "stddev_exec_time"},
    {108, "total_exec_time", "max_exec_time", "blk_read_time", "blk_write_time", "min_exec_time",
     "stddev_exec_time"},
    {0, "total_time", "max_time", "blk_read_time", "blk_write_time", "min_time", "stddev_time"},
};

// One level, no CTE: the grouped rows are not materialized before the sort; `tracked` (entries in
// all, summed over the groups by a window over the aggregate) rides along. float8 sums: sum(bigint)
// accumulates in numeric, which costs more than the function scan itself
// with thousands of entries; float8 is exact up to 2^53 and Prometheus holds float64 anyway.
constexpr std::string_view kStatementsSql = R"SQL(
SELECT t.queryid, r.rolname, d.datname, t.calls, t.total_ms, t.rows, t.read_ms, t.write_ms, t.max_ms,
  t.tracked{compat_out}
FROM (SELECT userid, dbid, queryid, sum(calls::float8) AS calls, sum({total}) AS total_ms,
        sum(rows::float8) AS rows, sum({read}) AS read_ms, sum({write}) AS write_ms, max({max}) AS max_ms,
        sum(count(*)) OVER () AS tracked{compat}
      FROM {schema}.pg_stat_statements(false) WHERE queryid IS NOT NULL GROUP BY userid, dbid, queryid
      ORDER BY total_ms DESC, queryid LIMIT {limit}) t
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = t.userid
  LEFT JOIN pg_catalog.pg_database d ON d.oid = t.dbid
ORDER BY t.total_ms DESC, t.queryid)SQL";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Single-quoted SQL literal; names and numbers only ever reach it, but quoting stays correct.
std::string literal(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string_view query_name(Query query) {
  switch (query) {
    case Query::server: return "server";
    case Query::activity: return "activity";
    case Query::databases: return "databases";
    case Query::database_sizes: return "database_sizes";
    case Query::locks: return "locks";
    case Query::settings: return "settings";
    case Query::replication: return "replication";
    case Query::slots: return "slots";
    case Query::bgwriter: return "bgwriter";
    case Query::process_idle: return "process_idle";
    case Query::statements: return "statements";
    case Query::tables: return "tables";
    case Query::table_sizes: return "table_sizes";
    case Query::unused_indexes: return "unused_indexes";
  }
  return "unknown";
}

std::optional<Query> query_of_name(std::string_view name) {
  for (Query q : kAllQueries) {
    if (query_name(q) == name) return q;
  }
  return std::nullopt;
}

Duration default_query_interval(Query query) {
  using namespace std::chrono_literals;
  switch (query) {
    case Query::tables: return 1min;
    case Query::statements: return 1min;
    case Query::database_sizes:
    case Query::table_sizes:
    case Query::settings:
    case Query::unused_indexes: return 5min;
    default: return 0s;
  }
}

std::string query_sql(Query query, int server_version, const QueryParameters& parameters) {
  for (const VersionedSql& entry : kQueries) {
    if (entry.query != query || server_version < entry.min_version) continue;
    std::string sql(entry.sql.substr(1));  // the raw strings start with a newline
    if (query == Query::activity) {
      std::string select;
      std::string group_by;
      for (const std::string& label : parameters.activity_labels) {
        // client_addr is inet; labels are text.
        select += label == "client_addr" ? "client_addr::text AS client_addr, " : label + ", ";
        group_by += (group_by.empty() ? " GROUP BY " : ", ") + label;
      }
      replace_all(sql, "{select}", select);
      replace_all(sql, "{group_by}", group_by);
    } else if (query == Query::settings) {
      std::string filter;
      if (!parameters.settings.empty()) {
        filter = " AND name IN (";
        for (std::size_t i = 0; i < parameters.settings.size(); ++i) {
          filter += (i == 0 ? "" : ", ") + literal(parameters.settings[i]);
        }
        filter += ")";
      }
      replace_all(sql, "{settings_filter}", filter);
    } else if (query == Query::table_sizes) {
      std::string ids;
      for (const std::string& id : parameters.table_ids) {
        // Table oids are decimal integers; anything else never reaches the SQL.
        if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) continue;
        ids += (ids.empty() ? "" : ",") + id;
      }
      replace_all(sql, "{relids}", ids);
    } else if (query == Query::tables) {
      // Activity: heap blocks read or found in the buffer cache since the statistics were reset
      // (heap_blks_read + heap_blks_hit: every scan, index fetch and row change touches them; a
      // counter, so the order is stable from run to run), one function call per table, on the
      // relations pg_stat_user_tables shows. Size: pages as of the last VACUUM or ANALYZE
      // (pg_class.relpages).
      const std::string top =
          parameters.tables_by_size
              ? "SELECT s.relid FROM pg_catalog.pg_stat_user_tables s JOIN pg_catalog.pg_class c ON c.oid = "
                "s.relid ORDER BY c.relpages DESC, s.relid LIMIT {limit}"
              : "SELECT c.oid AS relid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
                "c.relnamespace WHERE c.relkind IN ('r', 't', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', "
                "'information_schema') AND n.nspname !~ '^pg_toast' ORDER BY "
                "pg_catalog.pg_stat_get_blocks_fetched(c.oid) DESC, c.oid LIMIT {limit}";
      replace_all(sql, "{top}", top);
      replace_all(sql, "{limit}", std::to_string(parameters.tables_limit));
    }
    return sql;
  }
  return {};  // Query::statements has its own function
}

int extension_version_number(std::string_view extversion) {
  int major = 0;
  int minor = 0;
  auto [p, ec] = std::from_chars(extversion.data(), extversion.data() + extversion.size(), major);
  if (ec != std::errc() || p == extversion.data() + extversion.size() || *p != '.') return 0;
  auto [q, ec2] = std::from_chars(p + 1, extversion.data() + extversion.size(), minor);
  if (ec2 != std::errc()) return 0;
  return major * 100 + minor;
}

// statements.compat_names: what postgres_exporter's example queries.yaml reads besides. The minimum
// and the standard deviation of entries that differ only in `toplevel` cannot be combined exactly:
// the smallest minimum and the largest deviation are taken (such pairs are rare: a statement run
// both at top level and inside a function).
constexpr std::string_view kCompatColumns[] = {
    "shared_blks_hit", "shared_blks_read", "shared_blks_dirtied", "shared_blks_written",
    "local_blks_hit",  "local_blks_read",  "local_blks_dirtied",  "local_blks_written",
    "temp_blks_read",  "temp_blks_written"};

std::string statements_sql(int extension_version, std::string_view schema, unsigned fetch_limit,
                           bool compat) {
  const StatementsSql* columns = &kStatementsColumns[std::size(kStatementsColumns) - 1];
  for (const StatementsSql& entry : kStatementsColumns) {
    if (extension_version >= entry.min_extension_version) {
      columns = &entry;
      break;
    }
  }
  std::string sql(kStatementsSql.substr(1));
  replace_all(sql, "{total}", columns->total);
  replace_all(sql, "{max}", columns->max);
  replace_all(sql, "{read}", columns->read);
  replace_all(sql, "{write}", columns->write);
  std::string extra;
  std::string extra_out;
  if (compat) {
    extra = ", min(" + std::string(columns->min) + ") AS min_ms, max(" + std::string(columns->stddev) +
            ") AS stddev_ms";
    extra_out = ", t.min_ms, t.stddev_ms";
    for (std::string_view c : kCompatColumns) {
      extra += ", sum(" + std::string(c) + "::float8) AS " + std::string(c);
      extra_out += ", t." + std::string(c);
    }
  }
  replace_all(sql, "{compat}", extra);
  replace_all(sql, "{compat_out}", extra_out);
  replace_all(sql, "{schema}", schema);
  replace_all(sql, "{limit}", std::to_string(fetch_limit));
  return sql;
}

std::string statement_texts_sql(std::string_view schema, const std::vector<std::string>& queryids,
                                unsigned length) {
  std::string ids;
  for (const std::string& id : queryids) {
    // Query ids are decimal integers; anything else never reaches the SQL.
    bool numeric = !id.empty() && id.find_first_not_of("-0123456789") == std::string::npos;
    if (!numeric) continue;
    ids += (ids.empty() ? "" : ",") + id;
  }
  return "SELECT DISTINCT ON (queryid) queryid, left(query, " + std::to_string(length) + ") AS query FROM " +
         std::string(schema) + ".pg_stat_statements(true) WHERE queryid = ANY ('{" + ids + "}'::bigint[])";
}

}  // namespace tocsin::collectors::postgres
