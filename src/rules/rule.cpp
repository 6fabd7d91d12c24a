// The part of evaluation every rule kind shares: timing, the health record, and the failure path.

#include "tocsin/rules/rule.hpp"

#include <chrono>

#include "tocsin/rules/alerting_rule.hpp"
#include "tocsin/rules/recording_rule.hpp"
#include "tocsin/rules/slo_rule.hpp"
#include "tocsin/rules/tiered_rule.hpp"

namespace tocsin::rules {

std::vector<alerting::Alert> Rule::evaluate(const EvalContext& ctx) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<alerting::Alert> sent;
  try {
    sent = evaluate_rule(ctx);
    health_.last_error.clear();
  } catch (const std::exception& e) {
    health_.last_error = e.what();
    ++health_.failures;
    sent = on_failure(ctx);
  }
  ++health_.evaluations;
  health_.last_evaluation = ctx.time;
  health_.last_duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return sent;
}

promql::Value Rule::query(const EvalContext& ctx) const {
  return ctx.engine.instant(ctx.querier, *def_.expr, ctx.time - scope_.query_offset.count());
}

std::unique_ptr<Rule> make_rule(const RuleDefinition& definition, RuleScope scope) {
  if (definition.kind == RuleDefinition::Kind::recording) {
    return std::make_unique<RecordingRule>(definition, std::move(scope));
  }
  if (definition.slo) return std::make_unique<SloRule>(definition, std::move(scope));
  if (!definition.tiers.empty()) return std::make_unique<TieredRule>(definition, std::move(scope));
  return std::make_unique<AlertingRule>(definition, std::move(scope));
}

}  // namespace tocsin::rules
