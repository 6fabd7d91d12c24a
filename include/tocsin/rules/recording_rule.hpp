#pragma once
// A recording rule: its expression's result, renamed to the rule's name and with the rule's labels,
// written at the evaluation's time under the rule's output key (Prometheus's RecordingRule).

#include "tocsin/rules/rule.hpp"

namespace tocsin::rules {

class RecordingRule final : public Rule {
 public:
  RecordingRule(const RuleDefinition& definition, RuleScope scope) : Rule(definition, std::move(scope)) {}

 protected:
  // Throws when the query fails, when two results have the same labels once renamed, or when the
  // result has more series than the group's limit; nothing is written then (the series go stale).
  std::vector<alerting::Alert> evaluate_rule(const EvalContext& ctx) override;
};

}  // namespace tocsin::rules
