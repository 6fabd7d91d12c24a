#pragma once
// The /api/v1/rules entry of one group (RuleManager::rules_json() puts them together).

#include <nlohmann/json.hpp>

#include "tocsin/rules/group.hpp"

namespace tocsin::rules::detail {

// Prometheus's shape (its web/api RuleGroup: name, file, interval, limit, rules with their health
// and alerts, evaluationTime, lastEvaluation) with tocsin's fields: tiers, clear, escalation.
nlohmann::json group_rules_json(const Group& group);

// The /api/v1/slos entries of a group's SLOs: objective, window, SLI error ratios and burn rates by
// window, budget remaining and consumed, the exhaustion forecast, missing and excluded time, alerts.
// Figures without data are null.
nlohmann::json group_slos_json(const Group& group);

}  // namespace tocsin::rules::detail
