#pragma once
// Which result column becomes which metric, per query: names, types and help texts as
// postgres_exporter prints them (where it has the family), tocsin's own otherwise. The docs' metric
// table follows these lists.

#include <span>

#include "collectors/postgres/rows.hpp"

namespace tocsin::collectors::postgres {

using store::MetricType;

inline constexpr LabelColumn kDatabaseLabels[] = {{"datid", "datid"}, {"datname", "datname"}};
inline constexpr MetricColumn kDatabaseMetrics[] = {
    {"numbackends", "pg_stat_database_numbackends", MetricType::gauge,
     "Number of backends currently connected to this database."},
    {"xact_commit", "pg_stat_database_xact_commit", MetricType::counter,
     "Number of transactions in this database that have been committed."},
    {"xact_rollback", "pg_stat_database_xact_rollback", MetricType::counter,
     "Number of transactions in this database that have been rolled back."},
    {"blks_read", "pg_stat_database_blks_read", MetricType::counter,
     "Number of disk blocks read in this database."},
    {"blks_hit", "pg_stat_database_blks_hit", MetricType::counter,
     "Number of times disk blocks were found already in the buffer cache, so that a read was not necessary."},
    {"tup_returned", "pg_stat_database_tup_returned", MetricType::counter,
     "Number of rows returned by queries in this database."},
    {"tup_fetched", "pg_stat_database_tup_fetched", MetricType::counter,
     "Number of rows fetched by queries in this database."},
    {"tup_inserted", "pg_stat_database_tup_inserted", MetricType::counter,
     "Number of rows inserted by queries in this database."},
    {"tup_updated", "pg_stat_database_tup_updated", MetricType::counter,
     "Number of rows updated by queries in this database."},
    {"tup_deleted", "pg_stat_database_tup_deleted", MetricType::counter,
     "Number of rows deleted by queries in this database."},
    {"conflicts", "pg_stat_database_conflicts", MetricType::counter,
     "Number of queries canceled due to conflicts with recovery in this database."},
    {"temp_files", "pg_stat_database_temp_files", MetricType::counter,
     "Number of temporary files created by queries in this database."},
    {"temp_bytes", "pg_stat_database_temp_bytes", MetricType::counter,
     "Total amount of data written to temporary files by queries in this database."},
    {"deadlocks", "pg_stat_database_deadlocks", MetricType::counter,
     "Number of deadlocks detected in this database."},
    {"checksum_failures", "pg_stat_database_checksum_failures", MetricType::untyped,
     "Number of data page checksum failures detected in this database."},
    {"checksum_last_failure", "pg_stat_database_checksum_last_failure", MetricType::untyped,
     "Time at which the last data page checksum failure was detected in this database (Unix seconds)."},
    {"blk_read_time", "pg_stat_database_blk_read_time", MetricType::counter,
     "Time spent reading data file blocks by backends in this database, in milliseconds."},
    {"blk_write_time", "pg_stat_database_blk_write_time", MetricType::counter,
     "Time spent writing data file blocks by backends in this database, in milliseconds."},
    {"session_time", "pg_stat_database_session_time", MetricType::untyped,
     "Time spent by database sessions in this database, in milliseconds."},
    {"active_time", "pg_stat_database_active_time", MetricType::untyped,
     "Time spent executing SQL statements in this database, in milliseconds."},
    {"idle_in_transaction_time", "pg_stat_database_idle_in_transaction_time", MetricType::untyped,
     "Time spent idling while in a transaction in this database, in milliseconds."},
    {"sessions", "pg_stat_database_sessions", MetricType::untyped,
     "Total number of sessions established to this database."},
    {"sessions_abandoned", "pg_stat_database_sessions_abandoned", MetricType::untyped,
     "Number of sessions to this database terminated because the connection to the client was lost."},
    {"sessions_fatal", "pg_stat_database_sessions_fatal", MetricType::untyped,
     "Number of sessions to this database terminated by fatal errors."},
    {"sessions_killed", "pg_stat_database_sessions_killed", MetricType::untyped,
     "Number of sessions to this database terminated by operator intervention."},
    {"stats_reset", "pg_stat_database_stats_reset", MetricType::counter,
     "Time at which these statistics were last reset (Unix seconds)."},
    {"confl_tablespace", "pg_stat_database_conflicts_confl_tablespace", MetricType::counter,
     "Number of queries in this database canceled due to dropped tablespaces."},
    {"confl_lock", "pg_stat_database_conflicts_confl_lock", MetricType::counter,
     "Number of queries in this database canceled due to lock timeouts."},
    {"confl_snapshot", "pg_stat_database_conflicts_confl_snapshot", MetricType::counter,
     "Number of queries in this database canceled due to old snapshots."},
    {"confl_bufferpin", "pg_stat_database_conflicts_confl_bufferpin", MetricType::counter,
     "Number of queries in this database canceled due to pinned buffers."},
    {"confl_deadlock", "pg_stat_database_conflicts_confl_deadlock", MetricType::counter,
     "Number of queries in this database canceled due to deadlocks."},
};

inline constexpr LabelColumn kDatnameLabel[] = {{"datname", "datname"}};
inline constexpr MetricColumn kDatabaseSizeBytes[] = {
    {"size_bytes", "pg_database_size_bytes", MetricType::gauge, "Disk space used by the database."},
};
inline constexpr MetricColumn kDatabaseSizeMetrics[] = {
    {"connection_limit", "pg_database_connection_limit", MetricType::gauge,
     "Connection limit set for the database (-1: no limit)."},
    {"frozen_xid_age", "pg_database_wraparound_age_datfrozenxid_seconds", MetricType::gauge,
     "Age of the oldest transaction ID that has not been frozen, in transactions (wraparound at 2^31)."},
    {"min_mxid_age", "pg_database_wraparound_age_datminmxid_seconds", MetricType::gauge,
     "Age of the oldest multixact ID that has not been replaced with a transaction ID, in multixacts."},
};
inline constexpr MetricColumn kCollectableMetric[] = {
    {"collectable", "", MetricType::gauge, ""},
};

inline constexpr MetricColumn kBgwriterMetrics[] = {
    {"checkpoints_timed", "pg_stat_bgwriter_checkpoints_timed_total", MetricType::counter,
     "Number of scheduled checkpoints that have been performed"},
    {"checkpoints_req", "pg_stat_bgwriter_checkpoints_req_total", MetricType::counter,
     "Number of requested checkpoints that have been performed"},
    {"checkpoint_write_time", "pg_stat_bgwriter_checkpoint_write_time_total", MetricType::counter,
     "Total amount of time that has been spent in the portion of checkpoint processing where files are "
     "written to disk, in milliseconds"},
    {"checkpoint_sync_time", "pg_stat_bgwriter_checkpoint_sync_time_total", MetricType::counter,
     "Total amount of time that has been spent in the portion of checkpoint processing where files are "
     "synchronized to disk, in milliseconds"},
    {"buffers_checkpoint", "pg_stat_bgwriter_buffers_checkpoint_total", MetricType::counter,
     "Number of buffers written during checkpoints"},
    {"buffers_clean", "pg_stat_bgwriter_buffers_clean_total", MetricType::counter,
     "Number of buffers written by the background writer"},
    {"maxwritten_clean", "pg_stat_bgwriter_maxwritten_clean_total", MetricType::counter,
     "Number of times the background writer stopped a cleaning scan because it had written too many "
     "buffers"},
    {"buffers_backend", "pg_stat_bgwriter_buffers_backend_total", MetricType::counter,
     "Number of buffers written directly by a backend (17+: pg_stat_io's relation writes of every backend "
     "but the checkpointer and the background writer)"},
    {"buffers_backend_fsync", "pg_stat_bgwriter_buffers_backend_fsync_total", MetricType::counter,
     "Number of times a backend had to execute its own fsync call"},
    {"buffers_alloc", "pg_stat_bgwriter_buffers_alloc_total", MetricType::counter,
     "Number of buffers allocated"},
    {"stats_reset", "pg_stat_bgwriter_stats_reset_total", MetricType::counter,
     "Time at which these statistics were last reset (Unix seconds)"},
    {"archived_count", "pg_stat_archiver_archived_count", MetricType::counter,
     "Number of WAL files that have been successfully archived"},
    {"failed_count", "pg_stat_archiver_failed_count", MetricType::counter,
     "Number of failed attempts for archiving WAL files"},
    {"last_archive_age", "pg_stat_archiver_last_archive_age", MetricType::gauge,
     "Time in seconds since last WAL segment was successfully archived (NaN: never)"},
    {"last_failed_time", "pg_stat_archiver_last_failed_time_seconds", MetricType::gauge,
     "Time of the last failed archival operation (Unix seconds; 0: never)"},
};

inline constexpr LabelColumn kLockLabels[] = {{"datname", "datname"}, {"mode", "mode"}};
inline constexpr MetricColumn kLockMetrics[] = {
    {"count", "pg_locks_count", MetricType::gauge, "Number of locks by database and mode."},
};

inline constexpr MetricColumn kActivityMetrics[] = {
    {"count", "pg_stat_activity_count", MetricType::gauge, "Number of connections in this state."},
    {"max_tx_duration", "pg_stat_activity_max_tx_duration", MetricType::gauge,
     "Max duration in seconds any active transaction has been running."},
};

inline constexpr LabelColumn kReplicationLabels[] = {{"application_name", "application_name"},
                                                     {"client_addr", "client_addr"},
                                                     {"state", "state"},
                                                     {"sync_state", "sync_state"}};
inline constexpr MetricColumn kReplicationMetrics[] = {
    {"lag_bytes", "pg_stat_replication_pg_wal_lsn_diff", MetricType::gauge,
     "Bytes of WAL the standby has yet to replay (current WAL position minus replay_lsn)."},
    {"write_lag_seconds", "pg_stat_replication_write_lag_seconds", MetricType::gauge,
     "Time until the standby's last WAL write was confirmed (pg_stat_replication.write_lag)."},
    {"flush_lag_seconds", "pg_stat_replication_flush_lag_seconds", MetricType::gauge,
     "Time until the standby's last WAL flush was confirmed (pg_stat_replication.flush_lag)."},
    {"replay_lag_seconds", "pg_stat_replication_replay_lag_seconds", MetricType::gauge,
     "Time until the standby's last WAL replay was confirmed (pg_stat_replication.replay_lag)."},
};

inline constexpr LabelColumn kSlotLabels[] = {{"slot_name", "slot_name"}, {"slot_type", "slot_type"}};
inline constexpr MetricColumn kSlotMetrics[] = {
    {"active", "pg_replication_slot_slot_is_active", MetricType::gauge,
     "Whether the replication slot is in use (1) or not (0)."},
    {"retained_bytes", "pg_replication_slot_retained_wal_bytes", MetricType::gauge,
     "WAL the slot holds back from removal: current WAL position minus the slot's restart_lsn."},
    {"safe_wal_size", "pg_replication_slot_safe_wal_size_bytes", MetricType::gauge,
     "Bytes of WAL that can still be written before the slot is in danger of being lost."},
};

inline constexpr LabelColumn kTableLabels[] = {
    {"datname", "datname"}, {"schemaname", "schemaname"}, {"relname", "relname"}};
inline constexpr MetricColumn kTableMetrics[] = {
    {"seq_scan", "pg_stat_user_tables_seq_scan", MetricType::counter,
     "Number of sequential scans initiated on this table."},
    {"seq_tup_read", "pg_stat_user_tables_seq_tup_read", MetricType::counter,
     "Number of live rows fetched by sequential scans."},
    {"idx_scan", "pg_stat_user_tables_idx_scan", MetricType::counter,
     "Number of index scans initiated on this table."},
    {"idx_tup_fetch", "pg_stat_user_tables_idx_tup_fetch", MetricType::counter,
     "Number of live rows fetched by index scans."},
    {"n_tup_ins", "pg_stat_user_tables_n_tup_ins", MetricType::counter, "Number of rows inserted."},
    {"n_tup_upd", "pg_stat_user_tables_n_tup_upd", MetricType::counter, "Number of rows updated."},
    {"n_tup_del", "pg_stat_user_tables_n_tup_del", MetricType::counter, "Number of rows deleted."},
    {"n_tup_hot_upd", "pg_stat_user_tables_n_tup_hot_upd", MetricType::counter,
     "Number of rows HOT updated (no separate index update needed)."},
    {"n_live_tup", "pg_stat_user_tables_n_live_tup", MetricType::gauge, "Estimated number of live rows."},
    {"n_dead_tup", "pg_stat_user_tables_n_dead_tup", MetricType::gauge, "Estimated number of dead rows."},
    {"n_mod_since_analyze", "pg_stat_user_tables_n_mod_since_analyze", MetricType::gauge,
     "Estimated number of rows changed since this table was last analyzed."},
    {"last_vacuum", "pg_stat_user_tables_last_vacuum", MetricType::gauge,
     "Last time this table was manually vacuumed, not counting VACUUM FULL (Unix seconds; 0: never)."},
    {"last_autovacuum", "pg_stat_user_tables_last_autovacuum", MetricType::gauge,
     "Last time this table was vacuumed by the autovacuum daemon (Unix seconds; 0: never)."},
    {"last_analyze", "pg_stat_user_tables_last_analyze", MetricType::gauge,
     "Last time this table was manually analyzed (Unix seconds; 0: never)."},
    {"last_autoanalyze", "pg_stat_user_tables_last_autoanalyze", MetricType::gauge,
     "Last time this table was analyzed by the autovacuum daemon (Unix seconds; 0: never)."},
    {"vacuum_count", "pg_stat_user_tables_vacuum_count", MetricType::counter,
     "Number of times this table has been manually vacuumed (not counting VACUUM FULL)."},
    {"autovacuum_count", "pg_stat_user_tables_autovacuum_count", MetricType::counter,
     "Number of times this table has been vacuumed by the autovacuum daemon."},
    {"analyze_count", "pg_stat_user_tables_analyze_count", MetricType::counter,
     "Number of times this table has been manually analyzed."},
    {"autoanalyze_count", "pg_stat_user_tables_autoanalyze_count", MetricType::counter,
     "Number of times this table has been analyzed by the autovacuum daemon."},
    {"heap_blks_read", "pg_statio_user_tables_heap_blks_read", MetricType::counter,
     "Number of disk blocks read from this table."},
    {"heap_blks_hit", "pg_statio_user_tables_heap_blks_hit", MetricType::counter,
     "Number of buffer hits in this table."},
    {"idx_blks_read", "pg_statio_user_tables_idx_blks_read", MetricType::counter,
     "Number of disk blocks read from all indexes on this table."},
    {"idx_blks_hit", "pg_statio_user_tables_idx_blks_hit", MetricType::counter,
     "Number of buffer hits in all indexes on this table."},
    {"toast_blks_read", "pg_statio_user_tables_toast_blks_read", MetricType::counter,
     "Number of disk blocks read from this table's TOAST table."},
    {"toast_blks_hit", "pg_statio_user_tables_toast_blks_hit", MetricType::counter,
     "Number of buffer hits in this table's TOAST table."},
    {"tidx_blks_read", "pg_statio_user_tables_tidx_blks_read", MetricType::counter,
     "Number of disk blocks read from this table's TOAST table indexes."},
    {"tidx_blks_hit", "pg_statio_user_tables_tidx_blks_hit", MetricType::counter,
     "Number of buffer hits in this table's TOAST table indexes."},
};

inline constexpr MetricColumn kTableSizeMetrics[] = {
    {"table_size_bytes", "pg_stat_user_tables_table_size_bytes", MetricType::gauge,
     "Disk space used by the table, TOAST included, indexes excluded."},
    {"index_size_bytes", "pg_stat_user_tables_index_size_bytes", MetricType::gauge,
     "Disk space used by the table's indexes."},
    {"total_size_bytes", "pg_stat_user_tables_total_size_bytes", MetricType::gauge,
     "Disk space used by the table, TOAST and indexes included."},
};

inline constexpr MetricColumn kUnusedIndexMetrics[] = {
    {"unused_indexes", "pg_stat_user_indexes_unused_count", MetricType::gauge,
     "Indexes never scanned since statistics were reset, not counting unique, primary key and exclusion "
     "constraint indexes."},
    {"unused_index_bytes", "pg_stat_user_indexes_unused_bytes", MetricType::gauge,
     "Size of those indexes, from pg_class.relpages."},
};

}  // namespace tocsin::collectors::postgres
