#pragma once
// The metric families and label names of the postgres collector: the one list that both the
// collector's tests (every family it emits is named here) and config validation (a custom metric may
// not take a built-in name; a static label may not take a label the collector sets) read.

#include <algorithm>
#include <string_view>

namespace tocsin::collectors::postgres {

// The families the postgres collector emits itself, besides every pg_settings_* and tocsin_pg_*
// name. The collector's test checks that every sample it emits is named here.
inline constexpr std::string_view kBuiltinFamilies[] = {
    "pg_connections_available",
    "pg_connections_max",
    "pg_connections_reserved",
    "pg_connections_used",
    "pg_database_connection_limit",
    "pg_database_size_bytes",
    "pg_database_wraparound_age_datfrozenxid_seconds",
    "pg_database_wraparound_age_datminmxid_seconds",
    "pg_locks_count",
    "pg_postmaster_start_time_seconds",
    "pg_process_idle_seconds",
    "pg_replication_is_replica",
    "pg_replication_lag",
    "pg_replication_lag_seconds",
    "pg_replication_slot_retained_wal_bytes",
    "pg_replication_slot_safe_wal_size_bytes",
    "pg_replication_slot_slot_is_active",
    "pg_replication_slot_wal_status",
    "pg_stat_activity_blocking_sessions",
    "pg_stat_activity_count",
    "pg_stat_activity_lock_waiting_sessions",
    "pg_stat_activity_max_tx_duration",
    "pg_stat_activity_oldest_idle_in_transaction_age_seconds",
    "pg_stat_activity_oldest_query_age_seconds",
    "pg_stat_archiver_archived_count",
    "pg_stat_archiver_failed_count",
    "pg_stat_archiver_last_archive_age",
    "pg_stat_archiver_last_failed_time_seconds",
    "pg_stat_bgwriter_buffers_alloc_total",
    "pg_stat_bgwriter_buffers_backend_fsync_total",
    "pg_stat_bgwriter_buffers_backend_total",
    "pg_stat_bgwriter_buffers_checkpoint_total",
    "pg_stat_bgwriter_buffers_clean_total",
    "pg_stat_bgwriter_checkpoint_sync_time_total",
    "pg_stat_bgwriter_checkpoint_write_time_total",
    "pg_stat_bgwriter_checkpoints_req_total",
    "pg_stat_bgwriter_checkpoints_timed_total",
    "pg_stat_bgwriter_maxwritten_clean_total",
    "pg_stat_bgwriter_stats_reset_total",
    "pg_stat_database_active_time",
    "pg_stat_database_blk_read_time",
    "pg_stat_database_blk_write_time",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
    "pg_stat_database_checksum_failures",
    "pg_stat_database_checksum_last_failure",
    "pg_stat_database_conflicts",
    "pg_stat_database_conflicts_confl_bufferpin",
    "pg_stat_database_conflicts_confl_deadlock",
    "pg_stat_database_conflicts_confl_lock",
    "pg_stat_database_conflicts_confl_snapshot",
    "pg_stat_database_conflicts_confl_tablespace",
    "pg_stat_database_deadlocks",
    "pg_stat_database_idle_in_transaction_time",
    "pg_stat_database_numbackends",
    "pg_stat_database_session_time",
    "pg_stat_database_sessions",
    "pg_stat_database_sessions_abandoned",
    "pg_stat_database_sessions_fatal",
    "pg_stat_database_sessions_killed",
    "pg_stat_database_stats_reset",
    "pg_stat_database_temp_bytes",
    "pg_stat_database_temp_files",
    "pg_stat_database_tup_deleted",
    "pg_stat_database_tup_fetched",
    "pg_stat_database_tup_inserted",
    "pg_stat_database_tup_returned",
    "pg_stat_database_tup_updated",
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_replication_flush_lag_seconds",
    "pg_stat_replication_pg_wal_lsn_diff",
    "pg_stat_replication_replay_lag_seconds",
    "pg_stat_replication_write_lag_seconds",
    "pg_stat_statements_blk_read_time_seconds",
    "pg_stat_statements_blk_write_time_seconds",
    "pg_stat_statements_block_read_seconds_total",
    "pg_stat_statements_block_write_seconds_total",
    "pg_stat_statements_calls",
    "pg_stat_statements_calls_total",
    "pg_stat_statements_local_blks_dirtied",
    "pg_stat_statements_local_blks_hit",
    "pg_stat_statements_local_blks_read",
    "pg_stat_statements_local_blks_written",
    "pg_stat_statements_max_exec_seconds",
    "pg_stat_statements_max_time_seconds",
    "pg_stat_statements_mean_exec_seconds",
    "pg_stat_statements_mean_time_seconds",
    "pg_stat_statements_min_time_seconds",
    "pg_stat_statements_query_id",
    "pg_stat_statements_rows",
    "pg_stat_statements_rows_total",
    "pg_stat_statements_seconds_total",
    "pg_stat_statements_shared_blks_dirtied",
    "pg_stat_statements_shared_blks_hit",
    "pg_stat_statements_shared_blks_read",
    "pg_stat_statements_shared_blks_written",
    "pg_stat_statements_stddev_time_seconds",
    "pg_stat_statements_temp_blks_read",
    "pg_stat_statements_temp_blks_written",
    "pg_stat_statements_total_time_seconds",
    "pg_stat_user_indexes_unused_bytes",
    "pg_stat_user_indexes_unused_count",
    "pg_stat_user_tables_analyze_count",
    "pg_stat_user_tables_autoanalyze_count",
    "pg_stat_user_tables_autovacuum_count",
    "pg_stat_user_tables_idx_scan",
    "pg_stat_user_tables_idx_tup_fetch",
    "pg_stat_user_tables_index_size_bytes",
    "pg_stat_user_tables_last_analyze",
    "pg_stat_user_tables_last_autoanalyze",
    "pg_stat_user_tables_last_autovacuum",
    "pg_stat_user_tables_last_vacuum",
    "pg_stat_user_tables_n_dead_tup",
    "pg_stat_user_tables_n_live_tup",
    "pg_stat_user_tables_n_mod_since_analyze",
    "pg_stat_user_tables_n_tup_del",
    "pg_stat_user_tables_n_tup_hot_upd",
    "pg_stat_user_tables_n_tup_ins",
    "pg_stat_user_tables_n_tup_upd",
    "pg_stat_user_tables_seq_scan",
    "pg_stat_user_tables_seq_tup_read",
    "pg_stat_user_tables_table_size_bytes",
    "pg_stat_user_tables_total_size_bytes",
    "pg_stat_user_tables_vacuum_count",
    "pg_static",
    "pg_statio_user_tables_heap_blks_hit",
    "pg_statio_user_tables_heap_blks_read",
    "pg_statio_user_tables_idx_blks_hit",
    "pg_statio_user_tables_idx_blks_read",
    "pg_statio_user_tables_tidx_blks_hit",
    "pg_statio_user_tables_tidx_blks_read",
    "pg_statio_user_tables_toast_blks_hit",
    "pg_statio_user_tables_toast_blks_read",
    "pg_up",
    "tocsin_pg_connects_total",
    "tocsin_pg_cycle_statements",
    "tocsin_pg_query_duration_seconds",
    "tocsin_pg_query_errors_total",
    "tocsin_pg_query_timeouts_total",
    "tocsin_pg_query_up",
    "tocsin_pg_stat_statements_available",
    "tocsin_pg_statements_reported",
    "tocsin_pg_statements_tracked"};

// The collector's histograms, whose samples are <family>_bucket, _sum and _count.
inline constexpr std::string_view kBuiltinHistograms[] = {"pg_process_idle_seconds"};

// Whether `name` is one of the collector's own families (or a sample name of one of its histograms).
inline bool is_builtin_family(std::string_view name) {
  for (std::string_view h : kBuiltinHistograms) {
    if (name.starts_with(h) && (name.substr(h.size()) == "_bucket" || name.substr(h.size()) == "_sum" ||
                                name.substr(h.size()) == "_count"))
      return true;
  }
  return name.starts_with("pg_settings_") || name.starts_with("tocsin_pg_") ||
         std::find(std::begin(kBuiltinFamilies), std::end(kBuiltinFamilies), name) !=
             std::end(kBuiltinFamilies);
}

// Label names the collector sets on some series (custom queries add their own label columns).
// The families it produces (Kind::families): the built-in ones, pg_settings_* and its own; a custom
// query adds "<prefix>_*".
inline constexpr std::string_view kFamilies[] = {"pg_*", "tocsin_pg_*"};

inline constexpr std::string_view kOwnLabels[] = {
    "application_name", "client_addr", "datid",         "datname",
    "indexrelname",     "le",          "mode",          "query",
    "queryid",          "reason",      "relname",       "rolname",
    "schemaname",       "server",      "short_version", "slot_name",
    "slot_type",        "state",       "user",          "usename",
    "version",          "wal_status",  "backend_type",  "wait_event_type",
};

}  // namespace tocsin::collectors::postgres
