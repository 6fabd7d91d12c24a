#pragma once
// A tiered alerting rule (tocsin's extension): severity tiers, each a threshold on the expression's
// value held for its own `for`, an optional `clear` threshold (hysteresis) and an `escalation`. One
// instance per label set moves between tiers without resolving; its `severity` label is the tier's.

#include "tocsin/rules/alerting_rule.hpp"

namespace tocsin::rules {

class TieredRule final : public AlertingRule {
 public:
  // `definition` has tiers.
  TieredRule(const RuleDefinition& definition, RuleScope scope)
      : AlertingRule(definition, std::move(scope)) {}

 protected:
  // A pending instance fires at the most severe tier whose threshold has held for its `for`. A firing
  // one moves up to a tier only after that tier's `for`, but down at once to the most severe tier that
  // holds (it has been firing, at a more severe level, all along); it resolves when its label set is
  // gone, or (with `clear`) once the clear threshold held for clear's `for`, or (without) when no tier
  // holds any more; keep_firing_for applies to each.
  Transition advance(AlertInstance& a, bool present, const EvalContext& ctx,
                     std::string& template_error) override;
  // Without `severity`, which changes with the tier.
  Labels identity(const Labels& labels) const override;
};

}  // namespace tocsin::rules
