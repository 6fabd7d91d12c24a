// A group's rules in order, and the matching of its rules to those of the group it replaces or to
// the entries of the alert state file.

#include "tocsin/rules/group.hpp"

#include <chrono>
#include <iterator>

#include "tocsin/rules/slo_rule.hpp"
#include "tocsin/rules/state_file.hpp"

namespace tocsin::rules {

Group::Group(GroupDefinition definition, Duration default_interval)
    : def_(std::move(definition)), key_(def_.key()), interval_(def_.interval.value_or(default_interval)) {
  // def_.rules does not change from here on: the rules may refer to its elements.
  for (std::size_t i = 0; i < def_.rules.size(); ++i) {
    rules_.push_back(
        make_rule(def_.rules[i], RuleScope{key_, output_key(i), def_.limit, def_.query_offset, interval_}));
  }
}

Group::~Group() = default;

std::string Group::output_key(std::size_t rule_index) const {
  return key_ + ";" + def_.rules[rule_index].name + ";" + std::to_string(rule_index);
}

std::vector<alerting::Alert> Group::evaluate(const EvalContext& ctx) {
  std::lock_guard lock(mutex_);
  const auto started = std::chrono::steady_clock::now();
  std::vector<alerting::Alert> sent;
  for (auto& rule : rules_) {
    std::vector<alerting::Alert> alerts = rule->evaluate(ctx);
    sent.insert(sent.end(), std::make_move_iterator(alerts.begin()), std::make_move_iterator(alerts.end()));
  }
  last_duration_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  last_evaluation_ = ctx.time;
  return sent;
}

std::vector<std::pair<const RuleDefinition*, AlertInstance>> Group::active_alerts() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<const RuleDefinition*, AlertInstance>> out;
  for (const auto& rule : rules_) {
    if (const auto* alerting_rule = dynamic_cast<const AlertingRule*>(rule.get())) {
      for (const auto& [fp, a] : alerting_rule->alerts()) out.emplace_back(&rule->definition(), a);
    }
  }
  return out;
}

std::vector<RuleHealth> Group::health() const {
  std::lock_guard lock(mutex_);
  std::vector<RuleHealth> out;
  for (const auto& rule : rules_) out.push_back(rule->health());
  return out;
}

double Group::last_duration_seconds() const {
  std::lock_guard lock(mutex_);
  return last_duration_;
}

Timestamp Group::last_evaluation() const {
  std::lock_guard lock(mutex_);
  return last_evaluation_;
}

void Group::take_state_from(Group& old) {
  std::scoped_lock lock(mutex_, old.mutex_);
  // As Prometheus's CopyState: a rule takes the state of an old rule with the same kind, name and
  // labels (and tiers), each old rule's at most once, so that rules sharing a name (one alert with a
  // warning and a critical variant) each keep their own. A rule whose expression is unchanged is
  // matched first.
  auto same = [](const RuleDefinition& a, const RuleDefinition& b) {
    // An SLO is the same SLO while its sloth_id is (its alert name or indicator may change).
    if (a.slo || b.slo) return a.slo && b.slo && a.slo->id() == b.slo->id();
    if (a.kind != b.kind || a.name != b.name || a.label_texts != b.label_texts ||
        a.tiers.size() != b.tiers.size()) {
      return false;
    }
    for (std::size_t k = 0; k < a.tiers.size(); ++k) {
      if (a.tiers[k].severity != b.tiers[k].severity) return false;
    }
    return true;
  };
  std::vector<bool> taken(def_.rules.size(), false);
  std::vector<bool> given(old.def_.rules.size(), false);
  for (const bool same_expr : {true, false}) {
    for (std::size_t i = 0; i < def_.rules.size(); ++i) {
      if (taken[i]) continue;
      for (std::size_t j = 0; j < old.def_.rules.size(); ++j) {
        const RuleDefinition& before = old.def_.rules[j];
        if (given[j] || !same(before, def_.rules[i])) continue;
        if (same_expr && before.expr_text != def_.rules[i].expr_text) continue;
        rules_[i]->take_state_from(*old.rules_[j]);
        taken[i] = given[j] = true;
        break;
      }
    }
  }
}

nlohmann::json Group::save_state() const {
  std::lock_guard lock(mutex_);
  nlohmann::json rules = nlohmann::json::array();
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto* rule = dynamic_cast<const AlertingRule*>(rules_[i].get());
    if (rule == nullptr || rule->alerts().empty()) continue;
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& [fp, a] : rule->alerts()) alerts.push_back(alert_state_json(a));
    rules.push_back({{"rule", def_.rules[i].name}, {"index", i}, {"alerts", alerts}});
  }
  return {{"group", key_}, {"rules", rules}};
}

void Group::restore_state(const nlohmann::json& state) {
  std::lock_guard lock(mutex_);
  if (!state.is_object() || !state.contains("rules") || !state["rules"].is_array()) return;
  for (const auto& r : state["rules"]) {
    if (!r.is_object()) throw std::runtime_error("a rule entry is not an object");
    const std::string name = r.value("rule", "");
    const std::size_t index = r.value("index", std::size_t{0});
    auto fits = [&](std::size_t i) {
      return def_.rules[i].name == name && def_.rules[i].kind == RuleDefinition::Kind::alerting;
    };
    // The rule at the same index if its name still matches, else the first of that name.
    std::size_t target = def_.rules.size();
    if (index < def_.rules.size() && fits(index)) target = index;
    for (std::size_t i = 0; i < def_.rules.size() && target == def_.rules.size(); ++i) {
      if (fits(i)) target = i;
    }
    if (target == def_.rules.size() || !r.contains("alerts") || !r["alerts"].is_array()) continue;
    auto& rule = static_cast<AlertingRule&>(*rules_[target]);  // fits(): an alerting rule
    for (const auto& entry : r["alerts"]) {
      if (auto alert = alert_from_state_json(entry, def_.rules[target])) rule.restore(std::move(*alert));
    }
  }
}

std::vector<Group::SloView> Group::slos(bool with_history) const {
  std::lock_guard lock(mutex_);
  std::vector<SloView> out;
  for (const auto& rule : rules_) {
    const auto* s = dynamic_cast<const SloRule*>(rule.get());
    if (s == nullptr) continue;
    SloView v{rule->definition().slo, s->status(), {}, s->history().memory_bytes(), {}};
    for (const auto& [fp, a] : s->alerts()) v.alerts.push_back(a);
    if (with_history) v.history = s->history().serialize();
    out.push_back(std::move(v));
  }
  return out;
}

std::string Group::restore_slo(const std::string& id, const std::string& bytes) {
  std::lock_guard lock(mutex_);
  for (auto& rule : rules_) {
    auto* s = dynamic_cast<SloRule*>(rule.get());
    if (s != nullptr && s->slo().id() == id) return s->history().restore(bytes);
  }
  return "";
}

}  // namespace tocsin::rules
