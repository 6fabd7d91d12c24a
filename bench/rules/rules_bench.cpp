// One evaluation round of the bundled rules library (rules/*.yaml) over a store shaped like a busy
// app host that watches 10 Postgres databases, 10 Redis instances, 50 worker queues and 100
// containers, with 1 h of 15 s samples: what tocsin_rule_group_duration_seconds adds up to.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "tocsin/rules/group.hpp"
#include "tocsin/store/store.hpp"

namespace {

using namespace tocsin;
using namespace std::chrono_literals;

class StoreOutput final : public rules::RuleOutput {
 public:
  explicit StoreOutput(store::Store& s) : store_(s) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    auto it = writers_.find(key);
    if (it == writers_.end()) it = writers_.emplace(key, store_.register_writer(key, 15s)).first;
    store::Batch b;
    for (const auto& s : samples) b.add(s.labels, s.v);
    store_.commit(it->second, b, t);
  }

 private:
  store::Store& store_;
  std::map<std::string, store::WriterId> writers_;
};

store::Batch make_batch(int step) {
  const double t = step * 15.0;
  store::Batch b;
  for (int cpu = 0; cpu < 16; ++cpu) {
    for (const char* mode : {"idle", "user", "system", "iowait"}) {
      b.add("node_cpu_seconds_total", {{"cpu", std::to_string(cpu)}, {"mode", mode}},
            t * (mode[0] == 'i' ? 0.4 : 0.2));
    }
  }
  b.add("node_memory_MemTotal_bytes", {}, 64e9);
  b.add("node_memory_MemAvailable_bytes", {}, 20e9 + step);
  b.add("node_pressure_memory_stalled_seconds_total", {}, t * 0.01);
  for (const char* mp : {"/", "/var/lib/postgresql", "/var/log"}) {
    b.add("node_filesystem_size_bytes", {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", mp}},
          1e12);
    b.add("node_filesystem_avail_bytes", {{"device", "/dev/vda"}, {"fstype", "ext4"}, {"mountpoint", mp}},
          4e11 - step * 1e6);
  }
  for (int j = 0; j < 20; ++j) {
    const std::string job = "app" + std::to_string(j);
    for (const char* code : {"200", "404", "500"})
      b.add("http_requests_total", {{"job", job}, {"code", code}}, t * (code[0] == '5' ? 0.1 : 10));
    for (const char* le : {"0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}) {
      b.add("http_request_duration_seconds_bucket", {{"job", job}, {"le", le}},
            t * std::atof(le[0] == '+' ? "5" : le) * 10);
    }
  }
  for (int p = 0; p < 10; ++p) {
    const std::string target = "pg" + std::to_string(p);
    b.add("pg_up", {{"target", target}}, 1);
    b.add("pg_connections_used", {{"target", target}}, 80);
    b.add("pg_connections_max", {{"target", target}}, 200);
    b.add("pg_stat_activity_oldest_idle_in_transaction_age_seconds", {{"target", target}}, 12);
    b.add("pg_stat_activity_lock_waiting_sessions", {{"target", target}}, 0);
    b.add("pg_stat_database_blks_hit", {{"target", target}, {"datname", "app"}}, t * 1000);
    b.add("pg_stat_database_blks_read", {{"target", target}, {"datname", "app"}}, t * 10);
    b.add("pg_stat_database_deadlocks", {{"target", target}, {"datname", "app"}}, 0);
    for (int q = 0; q < 100; ++q) {
      std::vector<Label> l = {
          {"target", target}, {"datname", "app"}, {"user", "web"}, {"queryid", std::to_string(q)}};
      b.add("pg_stat_statements_calls_total", l, t * q);
      b.add("pg_stat_statements_seconds_total", l, t * q * 0.001);
    }
    for (int r = 0; r < 50; ++r) {
      std::vector<Label> l = {{"target", target},
                              {"datname", "app"},
                              {"schemaname", "public"},
                              {"relname", "t" + std::to_string(r)}};
      b.add("pg_stat_user_tables_n_dead_tup", l, 100);
      b.add("pg_stat_user_tables_n_live_tup", l, 10000);
    }
  }
  for (int r = 0; r < 10; ++r) {
    const std::string target = "redis" + std::to_string(r);
    b.add("redis_up", {{"target", target}}, 1);
    b.add("redis_memory_used_bytes", {{"target", target}}, 1e9);
    b.add("redis_memory_max_bytes", {{"target", target}}, 4e9);
    b.add("redis_connected_clients", {{"target", target}}, 100);
    b.add("redis_config_maxclients", {{"target", target}}, 10000);
    b.add("redis_commands_processed_total", {{"target", target}}, t * 500);
    b.add("redis_keyspace_hits_total", {{"target", target}}, t * 90);
    b.add("redis_keyspace_misses_total", {{"target", target}}, t * 10);
    b.add("redis_rejected_connections_total", {{"target", target}}, 0);
  }
  for (int q = 0; q < 50; ++q) {
    b.add("sidekiq_queue_size", {{"name", "q" + std::to_string(q)}}, 10);
    b.add("sidekiq_queue_latency_seconds", {{"name", "q" + std::to_string(q)}}, 1);
  }
  b.add("sidekiq_jobs_processed_total", {}, t * 100);
  b.add("sidekiq_jobs_failed_total", {}, t * 0.1);
  b.add("sidekiq_retry_set_size", {}, 5);
  for (int c = 0; c < 100; ++c) {
    const std::string name = "c" + std::to_string(c);
    b.add("container_cpu_cfs_periods_total", {{"name", name}}, t * 10);
    b.add("container_cpu_cfs_throttled_periods_total", {{"name", name}}, t * 0.1);
    b.add("container_memory_working_set_bytes", {{"name", name}}, 5e8);
    b.add("container_spec_memory_limit_bytes", {{"name", name}}, 1e9);
    b.add("container_oom_events_total", {{"name", name}}, 0);
  }
  return b;
}

void BM_BundledRulesRound(benchmark::State& state) {
  ManualClock clock(0);
  store::Store store(store::StoreOptions{1h}, clock);
  const store::WriterId w = store.register_writer("collectors", 15s);
  std::size_t series = 0;
  for (int s = 1; s <= 240; ++s) {
    store::Batch b = make_batch(s);
    series = b.size();
    store.commit(w, b, s * 15'000);
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(TOCSIN_SOURCE_DIR) + "/rules")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  yaml::Diagnostics d;
  std::vector<std::unique_ptr<rules::Group>> groups;
  std::size_t rule_count = 0;
  for (auto& g : rules::load_rule_files(files, d)) {
    rule_count += g.rules.size();
    groups.push_back(std::make_unique<rules::Group>(std::move(g), 15s));
  }
  if (!d.empty()) state.SkipWithError(d.to_string().c_str());
  StoreOutput out(store);
  promql::Engine engine;
  Timestamp t = 240 * 15'000;
  for (auto _ : state) {
    t += 15'000;
    for (auto& g : groups) g->evaluate(rules::EvalContext{engine, store, out, t, {}});
  }
  state.counters["rules"] = static_cast<double>(rule_count);
  state.counters["series"] = static_cast<double>(series);
}
BENCHMARK(BM_BundledRulesRound)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace

BENCHMARK_MAIN();
