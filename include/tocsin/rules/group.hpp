#pragma once
// A rule group at run time: its rules evaluated in order at one timestamp, recording results
// written for later rules to see, and the alert state machine of each alerting rule (Prometheus's,
// plus severity tiers and hysteresis).

#include <nlohmann/json.hpp>

#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::rules {

// Where a group's results go: the store in the daemon, memory in `tocsin test`.
class RuleOutput {
 public:
  virtual ~RuleOutput() = default;
  // The samples one rule produced at t (recording results, or ALERTS and ALERTS_FOR_STATE). A series
  // written under `key` before and missing now has ended: the output marks it stale.
  virtual void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) = 0;
};

struct EvalSettings {
  Labels external_labels;
  std::string external_url;
};

// One alert instance of an alerting rule.
struct AlertInstance {
  static constexpr Timestamp kNever = std::numeric_limits<Timestamp>::min();  // "not set" (0 is a valid time)
  Labels labels;  // final labels, with alertname and (for tiered rules) severity
  Labels annotations;
  alerting::AlertState state = alerting::AlertState::pending;
  double value = 0;
  Timestamp active_at = 0;
  Timestamp fired_at = 0;
  Timestamp resolved_at = 0;
  Timestamp keep_firing_since = kNever;
  Timestamp last_seen = 0;  // the last evaluation whose result held this label set
  int tier = -1;            // tiered rules: the active tier, -1 while pending
  std::vector<Timestamp> tier_since;  // tiered rules: since when each tier's threshold holds (kNever: not)
  Timestamp clear_since = kNever;
};

struct RuleHealth {
  std::string last_error;  // empty when the last evaluation succeeded
  Timestamp last_evaluation = 0;
  double last_duration_seconds = 0;
  std::uint64_t failures = 0;
  std::uint64_t evaluations = 0;
  // A label or annotation template that failed in the last evaluation (the alert fires with
  // "<error expanding template: ...>" as that value), and the evaluations in which one failed.
  std::string template_error;
  std::uint64_t template_failures = 0;
};

class Group {
 public:
  Group(GroupDefinition definition, Duration default_interval);

  const GroupDefinition& definition() const { return def_; }
  const std::string& key() const { return key_; }
  Duration interval() const { return interval_; }
  // The RuleOutput key the rule at `rule_index` writes under: "<group key>;<rule name>;<index>".
  std::string output_key(std::size_t rule_index) const;

  // Evaluates every rule in order at t. Rule failures are recorded in the rule's health and never
  // stop the group. Returns the alerts to hand to alerting: every active one and each that resolved
  // in this evaluation. An alerting rule whose evaluation fails keeps its alerts as they were and
  // reports them (and writes their ALERTS series) unchanged.
  std::vector<alerting::Alert> evaluate(const promql::Engine& engine, const store::Querier& querier, RuleOutput& out,
                                        Timestamp t, const EvalSettings& settings);

  // Alert instances that are pending or firing now, by rule.
  std::vector<std::pair<const RuleDefinition*, AlertInstance>> active_alerts() const;
  std::vector<RuleHealth> health() const;
  double last_duration_seconds() const;
  Timestamp last_evaluation() const;

  // Takes over the alert state of rules with the same kind, name, labels and tiers from a group being
  // replaced (hot reload), each old rule's at most once, so `for` clocks and firing alerts carry on.
  void take_state_from(Group& old);
  // Alert state as JSON, and back (restart safety). The saved state changes only when an alert changes
  // state (not with its value, which the next evaluation sets again), so that it is written only then.
  // restore_state ignores entries of rules that no longer exist and alerts whose saved tier state does not
  // fit the rule's tiers; it throws (std::exception) for JSON of the wrong shape, having restored part of it.
  nlohmann::json save_state() const;
  void restore_state(const nlohmann::json& state);

 private:
  struct RuleState {
    std::map<std::uint64_t, AlertInstance> alerts;  // by fingerprint
    RuleHealth health;
  };
  void eval_recording(const RuleDefinition& rule, RuleState& state, const promql::Engine& engine,
                      const store::Querier& querier, RuleOutput& out, Timestamp t);
  void eval_alerting(const RuleDefinition& rule, RuleState& state, const promql::Engine& engine,
                     const store::Querier& querier, RuleOutput& out, Timestamp t, const EvalSettings& settings,
                     std::vector<alerting::Alert>& sent);

  GroupDefinition def_;
  std::string key_;
  Duration interval_;
  mutable std::mutex mutex_;
  std::vector<RuleState> states_;  // parallel to def_.rules
  double last_duration_ = 0;
  Timestamp last_evaluation_ = 0;
};

}  // namespace tocsin::rules
