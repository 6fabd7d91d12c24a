#pragma once
// The rule engine in the daemon: groups scheduled on their intervals, evaluated on the worker pool
// against the store, recording results and ALERTS written back into it, alerts handed to
// alerting/, alert state kept in state_dir across restarts, and hot reload that keeps state.

#include <prometheus/collectable.h>
#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/rules/group.hpp"
#include "tocsin/rules/state_file.hpp"
#include "tocsin/store/store.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

struct ManagerSettings {
  Duration evaluation_interval = std::chrono::seconds(15);
  promql::EngineOptions engine;
  EvalSettings eval;
  std::string state_file;  // empty: alert state is not persisted
  // Where each SLO's budget history is kept ("<dir>/<sloth_id>.slo"; empty: not kept), and how often it
  // is written (and at stop()), so that a SIGKILL loses at most that much of it.
  std::string slo_state_dir;
  Duration slo_save_interval = std::chrono::minutes(1);
  // The alerting time_intervals an SLO may `exclude`; unset: not checked (the names are then all unknown
  // at run time and nothing is excluded unless eval.in_time_interval says so).
  std::optional<std::set<std::string>> time_interval_names;
};

class RuleManager {
 public:
  // `sink` may be null (no alert delivery). Nothing runs until load().
  RuleManager(boost::asio::io_context& io, boost::asio::thread_pool& pool, store::Store& store,
              const Clock& clock, std::shared_ptr<spdlog::logger> log, alerting::AlertSink* sink);
  ~RuleManager();
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Loads the rule files and swaps them in atomically, keeping the state of alerts whose rule still
  // exists. On errors nothing changes and the diagnostics are returned. Call on the I/O thread.
  // The first successful load also restores alert state from settings.state_file.
  yaml::Diagnostics load(const std::vector<std::string>& files, const ManagerSettings& settings);
  // Cancels the timers; evaluations in flight finish on the pool.
  void stop();

  // The /api/v1/rules body, in Prometheus's JSON shape with tocsin's fields (tiers, clear, escalation).
  // (/api/v1/alerts is alerting/'s: it adds the delivery state of each alert.)
  nlohmann::json rules_json() const;
  // tocsin_rule_group_*, tocsin_rule_evaluation_failures_total, tocsin_rules_last_reload_successful.
  std::shared_ptr<prometheus::Collectable> metrics() const;

  // Evaluates every group once now, on the calling thread (tests, `tocsin once`).
  void evaluate_all_now();

  // A collector committed samples taken at `t`; `metric_names` holds every metric name its commits
  // have held (sorted; the caller hands a new vector when the set changes, the same one otherwise).
  // Each group whose selectors may select one of the names evaluates as soon as it is free, at
  // timestamp t (or just after its last evaluation, when that was at t or later); triggers that arrive
  // while it runs are coalesced into one evaluation after it, and triggered evaluations begin at least
  // 100 ms apart. SLO groups, groups without an alerting rule
  // and groups selecting nothing keep to their schedule. Thread-safe and cheap: the names are matched against
  // the groups once per name set and load, so a call costs a lookup and a post per matching group.
  void samples_committed(const std::string& source,
                         const std::shared_ptr<const std::vector<std::string>>& metric_names, Timestamp t);
  // A group's evaluation slots: the timestamps t with t % interval == this offset (in ms), from a hash
  // of the group's key, so that groups spread over their interval (as Prometheus's EvalTimestamp).
  static Timestamp slot_offset(const std::string& group_key, Duration interval);
  // What a group's evaluations have been: all of them, those a commit triggered, the most that ever
  // ran at once (1: it never overlapped itself) and the timestamp of the last one begun. Zeros for an
  // unknown group.
  struct EvaluationCounts {
    std::uint64_t evaluations = 0;
    std::uint64_t triggered = 0;
    std::uint64_t max_concurrent = 0;
    Timestamp last_time = 0;
  };
  EvaluationCounts evaluation_counts(const std::string& group_key) const;
  // How many times the alert state file was written (it is written when an alert changes state).
  std::uint64_t state_writes() const { return state_writes_.load(); }
  // The SLOs: the /api/v1/slos body (objective, SLI, budget, burn rates, alert state).
  nlohmann::json slos_json() const;
  // Writes every SLO's budget history now (stop() does too); returns the files written.
  std::size_t save_slo_histories();
  std::uint64_t slo_writes() const { return slo_writes_.load(); }

 private:
  struct Scheduled;
  class Output;
  class Metrics;
  void schedule(const std::shared_ptr<Scheduled>& s);
  void request_slot(const std::shared_ptr<Scheduled>& s, Timestamp slot);
  void trigger(const std::shared_ptr<Scheduled>& s, Timestamp t);
  void run_pending(const std::shared_ptr<Scheduled>& s);
  void evaluate(const std::shared_ptr<Scheduled>& s, Timestamp t);
  void persist_state();
  void restore_state(std::vector<std::shared_ptr<Scheduled>>& groups);
  void save_slos(Scheduled& s, const std::string& dir);
  void restore_slos(Scheduled& s, const std::string& dir);

  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  store::Store& store_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  alerting::AlertSink* sink_;
  std::unique_ptr<Output> output_;
  std::shared_ptr<Metrics> metrics_;

  mutable std::mutex mutex_;  // guards groups_, settings_
  std::vector<std::shared_ptr<Scheduled>> groups_;
  ManagerSettings settings_;
  bool restored_ = false;
  std::mutex state_mutex_;  // serializes writes of the state file; taken before mutex_, never after
  // Guarded by state_mutex_, but for the first load's restore, which comes before any evaluation.
  AlertStateFile state_file_;
  std::atomic<std::uint64_t> state_writes_{0};
  // Which groups a commit triggers: the groups that may be triggered, and per source its name set and
  // the groups matching it, as of `generation_` (a load starts a new one).
  struct Triggers {
    std::shared_ptr<const std::vector<std::string>> names;
    std::uint64_t generation = 0;
    std::vector<std::shared_ptr<Scheduled>> groups;
  };
  std::mutex trigger_mutex_;  // guards the three below; never held with mutex_
  std::vector<std::shared_ptr<Scheduled>> triggerable_;
  std::uint64_t generation_ = 0;
  std::map<std::string, Triggers, std::less<>> triggers_;
  std::mutex slo_mutex_;  // serialises writes of SLO histories
  std::atomic<std::uint64_t> slo_writes_{0};
};

}  // namespace tocsin::rules
