#include "collectors/redis/info_metrics.hpp"

#include <set>
#include <string>

namespace tocsin::collectors::redis {

namespace {

using store::Batch;
using store::MetricType;
constexpr MetricType G = MetricType::gauge;
constexpr MetricType C = MetricType::counter;

}  // namespace

const std::vector<InfoFieldMetric>& info_field_metrics() {
  // Field -> family as redis_exporter 1.45 maps them (its metricMapGauges/metricMapCounters plus the
  // fields it converts), so dashboards built on the exporter read tocsin unchanged. Types follow the
  // exporter too, even where it calls a counter a gauge (redis_defrag_hits): changing a type breaks
  // nothing in PromQL but would make tocsin differ from what the dashboards were tested against.
  static const std::vector<InfoFieldMetric> table = {
      // Server
      {"uptime_in_seconds", "redis_uptime_in_seconds", G, 1, false},
      {"process_id", "redis_process_id", G, 1, false},
      {"io_threads_active", "redis_io_threads_active", G, 1, false},
      // Clients
      {"connected_clients", "redis_connected_clients", G, 1, false},
      {"blocked_clients", "redis_blocked_clients", G, 1, false},
      {"tracking_clients", "redis_tracking_clients", G, 1, false},
      {"clients_in_timeout_table", "redis_clients_in_timeout_table", G, 1, false},
      {"cluster_connections", "redis_cluster_connections", G, 1, false},
      {"client_recent_max_input_buffer", "redis_client_recent_max_input_buffer_bytes", G, 1, false},
      {"client_recent_max_output_buffer", "redis_client_recent_max_output_buffer_bytes", G, 1, false},
      {"client_longest_output_list", "redis_client_longest_output_list", G, 1, false},  // Redis < 5
      {"client_biggest_input_buf", "redis_client_biggest_input_buf", G, 1, false},      // Redis < 5
      // Memory
      {"used_memory", "redis_memory_used_bytes", G, 1, false},
      {"used_memory_rss", "redis_memory_used_rss_bytes", G, 1, false},
      {"used_memory_peak", "redis_memory_used_peak_bytes", G, 1, false},
      {"used_memory_lua", "redis_memory_used_lua_bytes", G, 1, false},
      {"used_memory_overhead", "redis_memory_used_overhead_bytes", G, 1, false},
      {"used_memory_startup", "redis_memory_used_startup_bytes", G, 1, false},
      {"used_memory_dataset", "redis_memory_used_dataset_bytes", G, 1, false},
      {"used_memory_scripts", "redis_memory_used_scripts_bytes", G, 1, false},
      {"maxmemory", "redis_memory_max_bytes", G, 1, false},
      {"maxmemory", "redis_config_maxmemory", G, 1, false},
      {"allocator_active", "redis_allocator_active_bytes", G, 1, false},
      {"allocator_allocated", "redis_allocator_allocated_bytes", G, 1, false},
      {"allocator_resident", "redis_allocator_resident_bytes", G, 1, false},
      {"allocator_frag_ratio", "redis_allocator_frag_ratio", G, 1, false},
      {"allocator_frag_bytes", "redis_allocator_frag_bytes", G, 1, false},
      {"allocator_rss_ratio", "redis_allocator_rss_ratio", G, 1, false},
      {"allocator_rss_bytes", "redis_allocator_rss_bytes", G, 1, false},
      {"mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", G, 1, false},
      {"mem_fragmentation_bytes", "redis_mem_fragmentation_bytes", G, 1, false},
      {"mem_clients_slaves", "redis_mem_clients_slaves", G, 1, false},
      {"mem_clients_normal", "redis_mem_clients_normal", G, 1, false},
      {"mem_not_counted_for_evict", "redis_mem_not_counted_for_eviction_bytes", G, 1, false},
      {"number_of_cached_scripts", "redis_number_of_cached_scripts", G, 1, false},
      {"lazyfree_pending_objects", "redis_lazyfree_pending_objects", G, 1, false},
      {"active_defrag_running", "redis_active_defrag_running", G, 1, false},
      // Persistence
      {"loading", "redis_loading_dump_file", G, 1, false},
      {"rdb_changes_since_last_save", "redis_rdb_changes_since_last_save", G, 1, false},
      {"rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", G, 1, false},
      {"rdb_last_save_time", "redis_rdb_last_save_timestamp_seconds", G, 1, false},
      {"rdb_last_bgsave_status", "redis_rdb_last_bgsave_status", G, 1, true},
      {"rdb_last_bgsave_time_sec", "redis_rdb_last_bgsave_duration_sec", G, 1, false},
      {"rdb_current_bgsave_time_sec", "redis_rdb_current_bgsave_duration_sec", G, 1, false},
      {"rdb_last_cow_size", "redis_rdb_last_cow_size_bytes", G, 1, false},
      {"aof_enabled", "redis_aof_enabled", G, 1, false},
      {"aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", G, 1, false},
      {"aof_rewrite_scheduled", "redis_aof_rewrite_scheduled", G, 1, false},
      {"aof_last_rewrite_time_sec", "redis_aof_last_rewrite_duration_sec", G, 1, false},
      {"aof_current_rewrite_time_sec", "redis_aof_current_rewrite_duration_sec", G, 1, false},
      {"aof_last_cow_size", "redis_aof_last_cow_size_bytes", G, 1, false},
      {"aof_current_size", "redis_aof_current_size_bytes", G, 1, false},
      {"aof_base_size", "redis_aof_base_size_bytes", G, 1, false},
      {"aof_pending_rewrite", "redis_aof_pending_rewrite", G, 1, false},
      {"aof_buffer_length", "redis_aof_buffer_length", G, 1, false},
      {"aof_rewrite_buffer_length", "redis_aof_rewrite_buffer_length", G, 1, false},
      {"aof_pending_bio_fsync", "redis_aof_pending_bio_fsync", G, 1, false},
      {"aof_delayed_fsync", "redis_aof_delayed_fsync", G, 1, false},
      {"aof_last_bgrewrite_status", "redis_aof_last_bgrewrite_status", G, 1, true},
      {"aof_last_write_status", "redis_aof_last_write_status", G, 1, true},
      {"module_fork_in_progress", "redis_module_fork_in_progress", G, 1, false},
      {"module_fork_last_cow_size", "redis_module_fork_last_cow_size", G, 1, false},
      // Stats
      {"total_connections_received", "redis_connections_received_total", C, 1, false},
      {"total_commands_processed", "redis_commands_processed_total", C, 1, false},
      {"instantaneous_ops_per_sec", "redis_instantaneous_ops_per_sec", G, 1, false},
      {"instantaneous_input_kbps", "redis_instantaneous_input_kbps", G, 1, false},
      {"instantaneous_output_kbps", "redis_instantaneous_output_kbps", G, 1, false},
      {"total_net_input_bytes", "redis_net_input_bytes_total", C, 1, false},
      {"total_net_output_bytes", "redis_net_output_bytes_total", C, 1, false},
      {"rejected_connections", "redis_rejected_connections_total", C, 1, false},
      {"expired_keys", "redis_expired_keys_total", C, 1, false},
      {"evicted_keys", "redis_evicted_keys_total", C, 1, false},
      {"keyspace_hits", "redis_keyspace_hits_total", C, 1, false},
      {"keyspace_misses", "redis_keyspace_misses_total", C, 1, false},
      {"expired_stale_perc", "redis_expired_stale_percentage", G, 1, false},
      {"expired_time_cap_reached_count", "redis_expired_time_cap_reached_total", G, 1, false},
      {"pubsub_channels", "redis_pubsub_channels", G, 1, false},
      {"pubsub_patterns", "redis_pubsub_patterns", G, 1, false},
      {"latest_fork_usec", "redis_latest_fork_seconds", G, 1e-6, false},
      {"migrate_cached_sockets", "redis_migrate_cached_sockets_total", G, 1, false},
      {"slave_expires_tracked_keys", "redis_slave_expires_tracked_keys", G, 1, false},
      {"active_defrag_hits", "redis_defrag_hits", G, 1, false},
      {"active_defrag_misses", "redis_defrag_misses", G, 1, false},
      {"active_defrag_key_hits", "redis_defrag_key_hits", G, 1, false},
      {"active_defrag_key_misses", "redis_defrag_key_misses", G, 1, false},
      {"tracking_total_keys", "redis_tracking_total_keys", G, 1, false},
      {"tracking_total_items", "redis_tracking_total_items", G, 1, false},
      {"tracking_total_prefixes", "redis_tracking_total_prefixes", G, 1, false},
      {"unexpected_error_replies", "redis_unexpected_error_replies", C, 1, false},
      {"total_error_replies", "redis_total_error_replies", C, 1, false},
      {"dump_payload_sanitizations", "redis_dump_payload_sanitizations", C, 1, false},
      {"total_reads_processed", "redis_total_reads_processed", C, 1, false},
      {"total_writes_processed", "redis_total_writes_processed", C, 1, false},
      {"io_threaded_reads_processed", "redis_io_threaded_reads_processed", C, 1, false},
      {"io_threaded_writes_processed", "redis_io_threaded_writes_processed", C, 1, false},
      // Replication
      {"connected_slaves", "redis_connected_slaves", G, 1, false},
      {"repl_backlog_size", "redis_replication_backlog_bytes", G, 1, false},
      {"repl_backlog_active", "redis_repl_backlog_is_active", G, 1, false},
      {"repl_backlog_first_byte_offset", "redis_repl_backlog_first_byte_offset", G, 1, false},
      {"repl_backlog_histlen", "redis_repl_backlog_history_bytes", G, 1, false},
      {"master_repl_offset", "redis_master_repl_offset", G, 1, false},
      {"second_repl_offset", "redis_second_repl_offset", G, 1, false},
      {"slave_priority", "redis_slave_priority", G, 1, false},
      {"sync_full", "redis_replica_resyncs_full", G, 1, false},
      {"sync_partial_ok", "redis_replica_partial_resync_accepted", G, 1, false},
      {"sync_partial_err", "redis_replica_partial_resync_denied", G, 1, false},
      // CPU
      {"used_cpu_sys", "redis_cpu_sys_seconds_total", C, 1, false},
      {"used_cpu_user", "redis_cpu_user_seconds_total", C, 1, false},
      {"used_cpu_sys_children", "redis_cpu_sys_children_seconds_total", C, 1, false},
      {"used_cpu_user_children", "redis_cpu_user_children_seconds_total", C, 1, false},
      {"used_cpu_sys_main_thread", "redis_cpu_sys_main_thread_seconds_total", C, 1, false},
      {"used_cpu_user_main_thread", "redis_cpu_user_main_thread_seconds_total", C, 1, false},
      // Cluster
      {"cluster_enabled", "redis_cluster_enabled", G, 1, false},
  };
  return table;
}

namespace {

Labels series(std::string_view name) {
  return Labels::from_sorted({{std::string(kMetricNameLabel), std::string(name)}});
}

// Replication fields of a replica, labelled with its master as the exporter does. KeyDB's numbered
// masters (master_1_host, ...) are left out: tocsin watches Redis.
void add_replica_side(const Info& info, Batch& out) {
  if (info.text("role") != "slave") return;
  std::vector<Label> master = {{"master_host", info.text("master_host")},
                               {"master_port", info.text("master_port")}};
  out.describe("redis_master_link_up", G,
               "Whether the replica's link to its master is up (INFO master_link_status).");
  out.add("redis_master_link_up", master, info.text("master_link_status") == "up" ? 1 : 0);
  if (auto v = info.number("master_last_io_seconds_ago")) {
    out.describe("redis_master_last_io_seconds_ago", G,
                 "Seconds since the replica last heard from its master.");
    out.add("redis_master_last_io_seconds_ago", master, *v);
  }
  if (auto v = info.number("master_sync_in_progress")) {
    out.describe("redis_master_sync_in_progress", G, "Whether the replica is syncing from its master.");
    out.add("redis_master_sync_in_progress", master, *v);
  }
  if (auto v = info.number("slave_repl_offset")) {
    out.describe("redis_slave_repl_offset", G, "The replica's replication offset.");
    out.add("redis_slave_repl_offset", master, *v);
  }
  out.describe("redis_slave_info", G, "Information about the Redis replica.");
  auto labels = master;
  labels.push_back({"read_only", info.text("slave_read_only")});
  out.add("redis_slave_info", labels, 1);
}

void add_master_side(const Info& info, Batch& out) {
  if (info.replicas.empty()) return;
  out.describe("redis_connected_slave_offset_bytes", G, "Replication offset of a connected replica.");
  out.describe("redis_connected_slave_lag_seconds", G,
               "Seconds since a connected replica last acknowledged.");
  for (const ReplicaLine& r : info.replicas) {
    std::vector<Label> labels = {{"slave_ip", r.ip}, {"slave_port", r.port}, {"slave_state", r.state}};
    out.add("redis_connected_slave_offset_bytes", labels, r.offset);
    if (r.lag) out.add("redis_connected_slave_lag_seconds", labels, *r.lag);
  }
}

void add_keyspace(const Info& info, const InfoMetricsOptions& options, Batch& out) {
  out.describe("redis_db_keys", G, "Total number of keys by DB (INFO keyspace).");
  out.describe("redis_db_keys_expiring", G, "Total number of expiring keys by DB (INFO keyspace).");
  out.describe("redis_db_avg_ttl_seconds", G, "Average TTL of expiring keys by DB (INFO keyspace avg_ttl).");
  std::set<int> seen;
  for (const KeyspaceDb& db : info.keyspace) {
    seen.insert(db.index);
    out.add("redis_db_keys", {{"db", db.name}}, db.keys);
    out.add("redis_db_keys_expiring", {{"db", db.name}}, db.expires);
    if (db.avg_ttl_ms) out.add("redis_db_avg_ttl_seconds", {{"db", db.name}}, *db.avg_ttl_ms / 1000.0);
  }
  // Empty databases are absent from INFO; the exporter reports them as 0 so the series never vanish
  // when a db is emptied. In cluster mode there is only db0.
  const int databases = info.text("cluster_enabled") == "1" ? 1 : options.databases.value_or(16);
  for (int i = 0; i < databases && i < 1024; ++i) {
    if (seen.contains(i)) continue;
    std::string name = "db" + std::to_string(i);
    out.add("redis_db_keys", {{"db", name}}, 0);
    out.add("redis_db_keys_expiring", {{"db", name}}, 0);
  }
}

void add_commandstats(const Info& info, Batch& out) {
  if (!info.commands.empty()) {
    out.describe("redis_commands_total", C, "Total number of calls per command (INFO commandstats calls).");
    out.describe("redis_commands_duration_seconds_total", C,
                 "Total time spent per command in seconds (INFO commandstats usec).");
  }
  bool extended = false;
  for (const CommandStat& c : info.commands) extended = extended || c.rejected_calls || c.failed_calls;
  if (extended) {
    out.describe("redis_commands_rejected_calls_total", C,
                 "Calls per command rejected before running (INFO commandstats rejected_calls, Redis 6.2+).");
    out.describe("redis_commands_failed_calls_total", C,
                 "Calls per command that failed while running (INFO commandstats failed_calls, Redis 6.2+).");
  }
  for (const CommandStat& c : info.commands) {
    out.add("redis_commands_total", {{"cmd", c.command}}, c.calls);
    out.add("redis_commands_duration_seconds_total", {{"cmd", c.command}}, c.usec / 1e6);
    if (c.rejected_calls)
      out.add("redis_commands_rejected_calls_total", {{"cmd", c.command}}, *c.rejected_calls);
    if (c.failed_calls) out.add("redis_commands_failed_calls_total", {{"cmd", c.command}}, *c.failed_calls);
  }
  if (!info.errors.empty()) {
    out.describe("redis_errors_total", C, "Error replies by error prefix (INFO errorstats).");
    for (const ErrorStat& e : info.errors) out.add("redis_errors_total", {{"err", e.error}}, e.count);
  }
  // The exporter's summary: quantiles from latencystats, count and sum from commandstats.
  bool described = false;
  for (const LatencyPercentiles& l : info.latency) {
    const CommandStat* stat = nullptr;
    for (const CommandStat& c : info.commands) {
      if (c.command == l.command) stat = &c;
    }
    if (stat == nullptr) continue;
    if (!described) {
      out.describe("redis_latency_percentiles_usec", MetricType::summary,
                   "Latency percentiles per command in microseconds (INFO latencystats, Redis 7+).");
      described = true;
    }
    for (const auto& [quantile, value] : l.quantiles) {
      out.add("redis_latency_percentiles_usec", {{"cmd", l.command}, {"quantile", quantile}}, value);
    }
    out.add("redis_latency_percentiles_usec_sum", {{"cmd", l.command}}, stat->usec);
    out.add("redis_latency_percentiles_usec_count", {{"cmd", l.command}}, stat->calls);
  }
}

}  // namespace

void add_info_metrics(const Info& info, const InfoMetricsOptions& options, Batch& out) {
  for (const InfoFieldMetric& row : info_field_metrics()) {
    const std::string* text = info.get(row.field);
    if (text == nullptr) continue;
    double value = 0;
    if (row.status) {
      value = *text == "ok" ? 1 : 0;
    } else if (auto n = parse_number(*text)) {
      value = *n * row.scale;
    } else {
      continue;
    }
    out.describe(std::string(row.metric), row.type, "INFO " + std::string(row.field) + ".");
    out.add(series(row.metric), value);
  }

  if (auto uptime = info.number("uptime_in_seconds")) {
    auto server_usec = info.number("server_time_usec");
    const double now = server_usec ? *server_usec / 1e6 : options.now_seconds;
    out.describe("redis_start_time_seconds", G,
                 "Start time of the Redis instance since unix epoch in seconds.");
    out.add(series("redis_start_time_seconds"), static_cast<double>(static_cast<long long>(now - *uptime)));
  }
  std::optional<double> maxclients = info.number("maxclients");  // INFO clients, Redis 7+
  if (!maxclients) maxclients = options.config_maxclients;
  if (maxclients) {
    out.describe("redis_config_maxclients", G, "maxclients: the most clients Redis accepts.");
    out.add(series("redis_config_maxclients"), *maxclients);
  }
  if (options.config_io_threads) {
    out.describe("redis_config_io_threads", G, "io-threads from CONFIG GET.");
    out.add(series("redis_config_io_threads"), *options.config_io_threads);
  }

  std::string mode = info.text("redis_mode");
  if (mode.empty()) mode = info.text("server_mode");
  out.describe("redis_instance_info", G, "Information about the Redis instance.");
  out.add("redis_instance_info",
          {{"role", info.text("role")},
           {"redis_version", info.text("redis_version")},
           {"redis_build_id", info.text("redis_build_id")},
           {"redis_mode", mode},
           {"os", info.text("os")},
           {"maxmemory_policy", info.text("maxmemory_policy")},
           {"tcp_port", info.text("tcp_port")},
           {"run_id", info.text("run_id")},
           {"process_id", info.text("process_id")}},
          1);

  add_replica_side(info, out);
  add_master_side(info, out);
  add_keyspace(info, options, out);
  add_commandstats(info, out);
}

}  // namespace tocsin::collectors::redis
