#pragma once
// What every rule has, whatever its kind: the context an evaluation gets, where its results go, its
// health, and the base class that times an evaluation and records its failure. The kinds are
// RecordingRule (recording_rule.hpp), AlertingRule (alerting_rule.hpp) and TieredRule
// (tiered_rule.hpp); a Group (group.hpp) holds them in order.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/core/labels.hpp"
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

// What alert templates see of the daemon's configuration.
struct EvalSettings {
  Labels external_labels;
  std::string external_url;
  // Whether the alerting time interval `name` is active at t (an SLO's `exclude`); unset: none is.
  std::function<bool(const std::string& name, Timestamp t)> in_time_interval;
};

// Everything one evaluation uses. The engine carries the query settings (compat, lookback, the
// samples limit and the timeout); the group's own limits (`limit`, `query_offset`) are the rules'
// RuleScope. The references must outlive the evaluation.
struct EvalContext {
  const promql::Engine& engine;
  const store::Querier& querier;
  RuleOutput& output;
  Timestamp time = 0;  // the evaluation's time: output samples and alert times carry it
  EvalSettings settings;
};

// What a rule takes from its group; fixed for the group's life.
struct RuleScope {
  std::string group_key;     // the group's key, which the alerts name (alerting::Alert::group)
  std::string output_key;    // the RuleOutput key this rule writes under
  std::size_t limit = 0;     // series (recording) or alerts (alerting) per evaluation; 0: no limit
  Duration query_offset{0};  // the rule queries this far before the evaluation's time
  Duration interval{0};      // the group's evaluation interval
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

// One rule at run time. Not thread-safe: its group serialises every call.
class Rule {
 public:
  virtual ~Rule() = default;
  Rule(const Rule&) = delete;
  Rule& operator=(const Rule&) = delete;

  // `definition` must outlive the rule (its group holds both).
  const RuleDefinition& definition() const { return def_; }
  const RuleScope& scope() const { return scope_; }
  const RuleHealth& health() const { return health_; }

  // Evaluates the rule at ctx.time and returns the alerts to hand to alerting (none for a recording
  // rule). Never throws: a failure is recorded in the health, and the rule's kind decides what a failed
  // evaluation still reports (on_failure).
  std::vector<alerting::Alert> evaluate(const EvalContext& ctx);

  // Hot reload: takes over the state of `old`, a rule of the same kind, name, labels and tiers from the
  // group being replaced (what the same rule means is the group's decision). Only alert state moves.
  virtual void take_state_from(Rule& old) { (void)old; }

 protected:
  Rule(const RuleDefinition& definition, RuleScope scope) : def_(definition), scope_(std::move(scope)) {}

  // One evaluation; throws (std::exception) when it fails, leaving the rule's state as it was.
  virtual std::vector<alerting::Alert> evaluate_rule(const EvalContext& ctx) = 0;
  // What a failed evaluation at ctx.time still reports and writes; it must not throw.
  virtual std::vector<alerting::Alert> on_failure(const EvalContext& ctx) {
    (void)ctx;
    return {};
  }
  // The rule's expression at ctx.time less the group's query_offset.
  promql::Value query(const EvalContext& ctx) const;

  RuleHealth health_;

 private:
  const RuleDefinition& def_;
  RuleScope scope_;
};

// The rule object for `definition`'s kind: recording, alerting, or tiered (alerting with tiers).
std::unique_ptr<Rule> make_rule(const RuleDefinition& definition, RuleScope scope);

}  // namespace tocsin::rules
