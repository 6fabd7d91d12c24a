#pragma once
// An alerting rule and the alert instances it owns: one per label set of its expression's result,
// through Prometheus's state machine (AlertingRule.Eval: pending, firing after `for`, kept firing for
// `keep_firing_for`, resolved), with ALERTS and ALERTS_FOR_STATE written for the active ones.
// TieredRule (tiered_rule.hpp) replaces the state machine's step for rules with severity tiers.

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tocsin/rules/rule.hpp"
#include "tocsin/rules/template.hpp"

namespace tocsin::rules {

// One alert instance of an alerting rule.
struct AlertInstance {
  static constexpr Timestamp kNever = std::numeric_limits<Timestamp>::min();  // "not set" (0 is a valid time)
  Labels labels;  // final labels, with alertname and (for tiered rules) severity
  Labels annotations;
  Labels sample_labels;  // the result sample's labels in the last evaluation that had it (templates' $labels)
  alerting::AlertState state = alerting::AlertState::pending;
  double value = 0;
  Timestamp active_at = 0;
  Timestamp fired_at = 0;
  Timestamp resolved_at = 0;
  Timestamp keep_firing_since = kNever;
  Timestamp last_seen = 0;            // the last evaluation whose result held this label set
  int tier = -1;                      // tiered rules: the active tier, -1 while pending
  std::vector<Timestamp> tier_since;  // tiered rules: since when each tier's threshold holds (kNever: not)
  Timestamp clear_since = kNever;
};

class AlertingRule : public Rule {
 public:
  // Pending and firing instances, by the fingerprint of their identity labels (see identity()).
  using Alerts = std::map<std::uint64_t, AlertInstance>;

  AlertingRule(const RuleDefinition& definition, RuleScope scope) : Rule(definition, std::move(scope)) {}

  const Alerts& alerts() const { return alerts_; }
  // Restart: an instance read back from the alert state file (pending or firing, its tier state fitting
  // this rule's tiers) joins the rule's alerts, replacing one of the same identity.
  void restore(AlertInstance alert);
  // Takes the alerts of `old` if it is an alerting rule; `old` keeps none.
  void take_state_from(Rule& old) override;

 protected:
  // What one step of the state machine does with an instance.
  enum class Transition {
    stay,     // pending or firing on: reported, and its series written
    drop,     // forgotten without a word (pending, and no longer matching: nothing to resolve)
    resolve,  // reported once as resolved, then forgotten
  };

  // One step for instance `a` at ctx.time. `present`: this evaluation's result holds its label set (its
  // value and annotations are then this evaluation's). A template failure goes to `template_error` (the
  // first only).
  virtual Transition advance(AlertInstance& a, bool present, const EvalContext& ctx,
                             std::string& template_error);
  // The labels that identify an instance over its life: its labels less those that change while it is
  // active (a tiered rule's severity).
  virtual Labels identity(const Labels& labels) const { return labels; }

  // Throws when the query fails, when two results have the same labels once the rule's are applied, or
  // when there are more alerts than the group's limit; the alerts then stay as they were.
  std::vector<alerting::Alert> evaluate_rule(const EvalContext& ctx) override;
  // A failed query says nothing about the alerts: they stay as they are (as in Prometheus), are reported
  // again so that alerting does not take them for gone, and their series go on.
  std::vector<alerting::Alert> on_failure(const EvalContext& ctx) override;

  // The evaluation after the query: the state machine over `result` (one sample per candidate alert),
  // then one write of `extra` and the ALERTS series under the rule's output key. `annotations`, when
  // given, is parallel to `result` and replaces the rule's annotation templates. Throws as evaluate_rule;
  // the alerts then stay as they were.
  std::vector<alerting::Alert> step(const EvalContext& ctx, const promql::Vector& result,
                                    const std::vector<Labels>* annotations,
                                    std::vector<promql::Sample> extra);
  // on_failure's report and write, with `extra` written beside the ALERTS series; never throws.
  std::vector<alerting::Alert> report_unchanged(const EvalContext& ctx, std::vector<promql::Sample> extra);
  // The alertname of an alert whose result labels are `labels` (without __name__): the rule's name.
  virtual std::string alert_name(const Labels& labels) const {
    (void)labels;
    return definition().name;
  }
  // The escalation policy of an alert: the rule's.
  virtual std::string escalation_of(const AlertInstance& a) const {
    (void)a;
    return definition().escalation;
  }

  // What templates see for a result sample with `sample_labels` and `value` (its query runs at the
  // rule's query time).
  TemplateData template_data(const Labels& sample_labels, double value, const EvalContext& ctx) const;
  // The rule's annotations for a result sample with `sample_labels` and `value`.
  Labels render_annotations(const Labels& sample_labels, double value, const EvalContext& ctx,
                            std::string& template_error) const;
  // A template that fails with this alert's data still yields a value, Prometheus's error text, so the
  // alert fires anyway; `error` keeps the first failure for the rule's health.
  static std::string expand(const Template& tmpl, const TemplateData& data, std::string& error);

 private:
  alerting::Alert report(const AlertInstance& a) const;

  Alerts alerts_;
};

}  // namespace tocsin::rules
