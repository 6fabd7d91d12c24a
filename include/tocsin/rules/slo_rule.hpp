#pragma once
// An SLO at run time (the rule of the group "slo:<name>" that a rule file's `slos:` entry becomes):
// each evaluation measures the indicator over the time since the previous one, adds it to the SLO's
// budget history (slo::History), writes the figures with Sloth's recording-series names plus tocsin_slo_*,
// and runs the page, ticket and budget-exhausted alerts through the alerting rule's state machine, so
// that they take the same path as every other alert (alert state, escalation, acks, silences).

#include <string>

#include "tocsin/rules/alerting_rule.hpp"
#include "tocsin/slo/burn.hpp"
#include "tocsin/slo/history.hpp"

namespace tocsin::rules {

class SloRule final : public AlertingRule {
 public:
  // `definition.slo` is set.
  SloRule(const RuleDefinition& definition, RuleScope scope);

  const slo::Definition& slo() const { return *definition().slo; }
  // The budget history, for persistence (serialize / restore) and the API. Not thread-safe: the group
  // serialises access.
  slo::History& history() { return history_; }
  const slo::History& history() const { return history_; }
  // The figures of the last evaluation (time 0 before the first).
  const slo::Status& status() const { return status_; }
  // The alerts and the budget history of `old` (an SloRule of the same SLO) move here.
  void take_state_from(Rule& old) override;

 protected:
  std::vector<alerting::Alert> evaluate_rule(const EvalContext& ctx) override;
  // A failed measurement records nothing (the time counts as missing at the next evaluation); the
  // figures and the alerts are reported as they were.
  std::vector<alerting::Alert> on_failure(const EvalContext& ctx) override;
  std::string alert_name(const Labels& labels) const override;
  std::string escalation_of(const AlertInstance& a) const override;

 private:
  // What the indicator says about (from, to]: events, time slices, or missing.
  slo::Totals measure(const EvalContext& ctx, Timestamp from, Timestamp to) const;
  std::vector<promql::Sample> series(Timestamp t) const;

  slo::History history_;
  slo::Status status_;
  Labels identity_;  // sloth_id, sloth_service, sloth_slo and the SLO's labels
};

}  // namespace tocsin::rules
