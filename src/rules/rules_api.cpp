// The /api/v1/rules body: Prometheus's JSON shape (its web/api rulesGroups), with tocsin's fields
// for tiered rules (tiers, clear, escalation, an alert's tier).

#include "rules/rules_api.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace tocsin::rules::detail {

namespace {

std::string rfc3339(Timestamp t) {
  if (t <= 0) return "0001-01-01T00:00:00Z";
  const std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03lldZ", static_cast<long long>(t % 1000));
  return buf;
}

nlohmann::json labels_json(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

// Prometheus prints alert values with %e ("1.5e+00").
std::string alert_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, end);
}

nlohmann::json threshold_json(const Threshold& t) {
  const char* key = t.direction == Threshold::Direction::above ? (t.inclusive ? "at_least" : "above")
                                                               : (t.inclusive ? "at_most" : "below");
  return {{key, t.value}};
}

nlohmann::json alert_json(const RuleDefinition& rule, const AlertInstance& a) {
  nlohmann::json j = {{"labels", labels_json(a.labels)},
                      {"annotations", labels_json(a.annotations)},
                      {"state", std::string(alerting::to_string(a.state))},
                      {"activeAt", rfc3339(a.active_at)},
                      {"value", alert_value(a.value)}};
  if (a.state == alerting::AlertState::firing) j["firedAt"] = rfc3339(a.fired_at);
  if (a.tier >= 0 && static_cast<std::size_t>(a.tier) < rule.tiers.size()) {
    j["tier"] = rule.tiers[static_cast<std::size_t>(a.tier)].severity;
  }
  if (!rule.escalation.empty()) j["escalation"] = rule.escalation;
  if (a.keep_firing_since != AlertInstance::kNever) j["keepFiringSince"] = rfc3339(a.keep_firing_since);
  return j;
}

}  // namespace

nlohmann::json group_rules_json(const Group& g) {
  const auto health = g.health();
  const auto alerts = g.active_alerts();
  nlohmann::json rules = nlohmann::json::array();
  for (std::size_t i = 0; i < g.definition().rules.size(); ++i) {
    const RuleDefinition& rule = g.definition().rules[i];
    const RuleHealth& h = health[i];
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, v] : rule.label_texts) labels[k] = v;
    nlohmann::json r = {{"name", rule.name},
                        {"query", rule.slo || !rule.expr ? rule.expr_text : promql::to_string(*rule.expr)},
                        {"labels", labels},
                        {"health", h.evaluations == 0     ? "unknown"
                                   : h.last_error.empty() ? "ok"
                                                          : "err"},
                        {"lastError", h.last_error},
                        {"evaluationTime", h.last_duration_seconds},
                        {"lastEvaluation", rfc3339(h.last_evaluation)}};
    if (rule.kind == RuleDefinition::Kind::recording) {
      r["type"] = "recording";
    } else {
      r["type"] = "alerting";
      nlohmann::json annotations = nlohmann::json::object();
      for (const auto& [k, v] : rule.annotation_texts) annotations[k] = v;
      r["annotations"] = annotations;
      r["duration"] = std::chrono::duration<double>(rule.for_duration).count();
      r["keepFiringFor"] = std::chrono::duration<double>(rule.keep_firing_for).count();
      nlohmann::json list = nlohmann::json::array();
      std::string state = "inactive";
      for (const auto& [def, a] : alerts) {
        if (def != &rule) continue;
        list.push_back(alert_json(rule, a));
        if (a.state == alerting::AlertState::firing) state = "firing";
        if (a.state == alerting::AlertState::pending && state == "inactive") state = "pending";
      }
      r["alerts"] = list;
      r["state"] = state;
      if (!rule.tiers.empty()) {
        nlohmann::json tiers = nlohmann::json::array();
        for (const Tier& t : rule.tiers) {
          nlohmann::json tier = {{"severity", t.severity},
                                 {"for", std::chrono::duration<double>(t.for_duration).count()}};
          tier.update(threshold_json(t.threshold));
          tiers.push_back(tier);
        }
        r["tiers"] = tiers;
      }
      if (rule.clear) {
        nlohmann::json clear = {{"for", std::chrono::duration<double>(rule.clear->for_duration).count()}};
        clear.update(threshold_json(rule.clear->threshold));
        r["clear"] = clear;
      }
      if (!rule.escalation.empty()) r["escalation"] = rule.escalation;
    }
    rules.push_back(std::move(r));
  }
  return {{"name", g.definition().name},
          {"file", g.definition().file},
          {"interval", std::chrono::duration<double>(g.interval()).count()},
          {"limit", g.definition().limit},
          {"rules", rules},
          {"evaluationTime", g.last_duration_seconds()},
          {"lastEvaluation", rfc3339(g.last_evaluation())}};
}

namespace {

// NaN and infinities as null (no data, or never).
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

const char* indicator_name(slo::Definition::Indicator i) {
  switch (i) {
    case slo::Definition::Indicator::ratio: return "ratio";
    case slo::Definition::Indicator::latency: return "latency";
    case slo::Definition::Indicator::threshold: return "threshold";
  }
  return "ratio";
}

}  // namespace

nlohmann::json group_slos_json(const Group& g) {
  nlohmann::json out = nlohmann::json::array();
  for (const Group::SloView& v : g.slos(false)) {
    const slo::Definition& d = *v.definition;
    const slo::Status& s = v.status;
    nlohmann::json sli = nlohmann::json::object();
    nlohmann::json burn = nlohmann::json::object();
    nlohmann::json events = nlohmann::json::object();
    for (const slo::WindowFigures& w : s.windows) {
      sli[w.name] = number(w.error_ratio);
      burn[w.name] = number(w.burn_rate);
      events[w.name] = {{"bad", w.totals.bad}, {"total", w.totals.total}};
    }
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, val] : d.labels) labels[k] = val;
    nlohmann::json alerts = nlohmann::json::array();
    std::string state = "inactive";
    for (const AlertInstance& a : v.alerts) {
      alerts.push_back({{"labels", labels_json(a.labels)},
                        {"annotations", labels_json(a.annotations)},
                        {"state", std::string(alerting::to_string(a.state))},
                        {"activeAt", rfc3339(a.active_at)},
                        {"value", alert_value(a.value)}});
      if (a.state == alerting::AlertState::firing) state = "firing";
    }
    nlohmann::json j = {{"name", d.name},
                        {"service", d.service},
                        {"id", d.id()},
                        {"description", d.description},
                        {"group", g.key()},
                        {"objective", d.objective * 100},
                        {"window", slo::window_name(d.window)},
                        {"indicator", indicator_name(d.indicator)},
                        {"labels", labels},
                        {"lastEvaluation", rfc3339(s.time)},
                        {"errorRatio", sli},
                        {"burnRate", burn},
                        {"events", events},
                        {"alertState", state},
                        {"alerts", alerts},
                        {"memoryBytes", v.memory_bytes}};
    if (!s.windows.empty()) {
      j["budget"] = {
          {"remaining", number(s.budget_remaining)},
          {"consumed", number(s.budget_consumed)},
          {"windowSpent", number(s.window_budget_spent)},
          {"exhaustionSeconds", number(s.exhaustion_seconds)},
          {"exhaustedAt",
           std::isfinite(s.exhaustion_seconds)
               ? nlohmann::json(rfc3339(s.time + static_cast<Timestamp>(s.exhaustion_seconds * 1000)))
               : nlohmann::json(nullptr)}};
      j["missingSeconds"] = s.period().totals.missing_seconds;
      j["excludedSeconds"] = s.period().totals.excluded_seconds;
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace tocsin::rules::detail
