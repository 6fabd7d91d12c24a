#pragma once
// A rule group at run time: its rules (rule.hpp and the kinds beside it) evaluated in order at one
// timestamp, each writing its results for later rules to see; their alert state handed over on a
// reload and saved for a restart.

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/rules/alerting_rule.hpp"
#include "tocsin/rules/rule.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/slo/burn.hpp"

namespace tocsin::rules {

// Thread-safe: one lock serialises evaluations and the readers.
class Group {
 public:
  Group(GroupDefinition definition, Duration default_interval);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const GroupDefinition& definition() const { return def_; }
  const std::string& key() const { return key_; }
  Duration interval() const { return interval_; }
  // The RuleOutput key the rule at `rule_index` writes under: "<group key>;<rule name>;<index>".
  std::string output_key(std::size_t rule_index) const;

  // Evaluates every rule in order at ctx.time. Rule failures are recorded in the rule's health and
  // never stop the group. Returns the alerts to hand to alerting: every active one and each that
  // resolved in this evaluation. An alerting rule whose evaluation fails keeps its alerts as they were
  // and reports them (and writes their ALERTS series) unchanged.
  std::vector<alerting::Alert> evaluate(const EvalContext& ctx);

  // Alert instances that are pending or firing now, by rule (pointing into definition().rules).
  std::vector<std::pair<const RuleDefinition*, AlertInstance>> active_alerts() const;
  std::vector<RuleHealth> health() const;  // parallel to definition().rules
  double last_duration_seconds() const;
  Timestamp last_evaluation() const;

  // Takes over the alert state of rules with the same kind, name, labels and tiers from a group being
  // replaced (hot reload), each old rule's at most once, so `for` clocks and firing alerts carry on.
  void take_state_from(Group& old);
  // Alert state as JSON, and back (restart safety; the alert state file's entry for this group, see
  // state_file.hpp). The saved state changes only when an alert changes state (not with its value,
  // which the next evaluation sets again), so that it is written only then. restore_state ignores
  // entries of rules that no longer exist and alerts whose saved tier state does not fit the rule's
  // tiers; it throws (std::exception) for JSON of the wrong shape, having restored part of it.
  nlohmann::json save_state() const;
  void restore_state(const nlohmann::json& state);

  // The group's SLOs (a group made from a rule file's `slos:` has one): the definition, the figures of the
  // last evaluation, its active alerts and, when asked, the snapshot of its budget history (for the
  // state_dir; slo::History::serialize).
  struct SloView {
    std::shared_ptr<const slo::Definition> definition;
    slo::Status status;
    std::vector<AlertInstance> alerts;
    std::size_t memory_bytes = 0;
    std::string history;  // with_history only
  };
  std::vector<SloView> slos(bool with_history) const;
  // Restores the budget history of the group's SLO with sloth_id `id` from a snapshot. Returns the error,
  // or "" when restored (or when the group has no such SLO).
  std::string restore_slo(const std::string& id, const std::string& bytes);

 private:
  GroupDefinition def_;
  std::string key_;
  Duration interval_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Rule>> rules_;  // parallel to def_.rules, each referring to its definition
  double last_duration_ = 0;
  Timestamp last_evaluation_ = 0;
};

}  // namespace tocsin::rules
