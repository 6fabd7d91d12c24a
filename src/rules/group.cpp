// Rule evaluation and the alert state machine. Plain alerting rules follow Prometheus's
// AlertingRule.Eval step by step (pending -> firing after `for`, keep_firing_for, resolved);
// tiered rules keep one instance per label set that moves between tiers without resolving.

#include "tocsin/rules/group.hpp"

#include <chrono>
#include <iterator>
#include <set>

namespace tocsin::rules {

namespace {

using alerting::AlertState;

Labels without_name(const Labels& labels) {
  LabelsBuilder b(labels);
  b.del(kMetricNameLabel);
  return b.build();
}

double seconds(Timestamp t) { return static_cast<double>(t) / 1000.0; }

constexpr Timestamp kNever = AlertInstance::kNever;

nlohmann::json time_json(Timestamp t) { return t == kNever ? nlohmann::json(nullptr) : nlohmann::json(t); }
Timestamp time_from(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return kNever;
  return j[key].get<Timestamp>();
}

std::string state_name(AlertState s) { return std::string(alerting::to_string(s)); }

AlertState state_from(const std::string& s) {
  if (s == "firing") return AlertState::firing;
  if (s == "resolved") return AlertState::resolved;
  return AlertState::pending;
}

nlohmann::json labels_json(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

Labels labels_from(const nlohmann::json& j) {
  std::vector<Label> out;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.value().is_string()) out.push_back({it.key(), it.value().get<std::string>()});
    }
  }
  return Labels::from_unsorted(std::move(out));
}

alerting::Alert alert_of(const RuleDefinition& rule, const AlertInstance& a, const std::string& group) {
  return {a.labels,      a.annotations, a.state,         a.active_at, a.fired_at,
          a.resolved_at, a.value,       rule.escalation, group,       rule.name};
}

// ALERTS and ALERTS_FOR_STATE of an active alert at t.
void append_series(const AlertInstance& a, Timestamp t, std::vector<promql::Sample>& series) {
  LabelsBuilder alerts_series(a.labels);
  alerts_series.set(kMetricNameLabel, "ALERTS");
  alerts_series.set("alertstate", state_name(a.state));
  series.push_back({alerts_series.build(), 1, t});
  LabelsBuilder for_state(a.labels);
  for_state.set(kMetricNameLabel, "ALERTS_FOR_STATE");
  series.push_back({for_state.build(), seconds(a.active_at), t});
}

// A template that fails with this alert's data still yields a value, Prometheus's error text, so the
// alert fires anyway; `error` keeps the first failure for the rule's health.
std::string expand(const Template& tmpl, const TemplateData& data, std::string& error) {
  try {
    return tmpl.render(data);
  } catch (const TemplateError& e) {
    if (error.empty()) error = e.what();
    return std::string("<error expanding template: ") + e.what() + ">";
  }
}

}  // namespace

Group::Group(GroupDefinition definition, Duration default_interval)
    : def_(std::move(definition)),
      key_(def_.key()),
      interval_(def_.interval.value_or(default_interval)),
      states_(def_.rules.size()) {}

std::vector<alerting::Alert> Group::evaluate(const promql::Engine& engine, const store::Querier& querier,
                                             RuleOutput& out, Timestamp t, const EvalSettings& settings) {
  std::lock_guard lock(mutex_);
  const auto started = std::chrono::steady_clock::now();
  std::vector<alerting::Alert> sent;
  for (std::size_t i = 0; i < def_.rules.size(); ++i) {
    const RuleDefinition& rule = def_.rules[i];
    RuleState& state = states_[i];
    const auto rule_started = std::chrono::steady_clock::now();
    try {
      if (rule.kind == RuleDefinition::Kind::recording) {
        eval_recording(rule, state, engine, querier, out, t);
      } else {
        eval_alerting(rule, state, engine, querier, out, t, settings, sent);
      }
      state.health.last_error.clear();
    } catch (const std::exception& e) {
      state.health.last_error = e.what();
      ++state.health.failures;
      // A failed query says nothing about the alerts: they stay as they are (as in Prometheus), are
      // reported again so that alerting does not take them for gone, and their series go on.
      if (rule.kind == RuleDefinition::Kind::alerting) {
        std::vector<promql::Sample> series;
        for (const auto& [fp, a] : state.alerts) {
          sent.push_back(alert_of(rule, a, key_));
          append_series(a, t, series);
        }
        try {
          out.write(output_key(i), series, t);
        } catch (const std::exception&) {
          // The store refused the write: the series go stale, the failure is already recorded.
        }
      }
    }
    ++state.health.evaluations;
    state.health.last_evaluation = t;
    state.health.last_duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - rule_started).count();
  }
  last_duration_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  last_evaluation_ = t;
  return sent;
}

void Group::eval_recording(const RuleDefinition& rule, RuleState& /*state*/, const promql::Engine& engine,
                           const store::Querier& querier, RuleOutput& out, Timestamp t) {
  promql::Value v = engine.instant(querier, *rule.expr, t - def_.query_offset.count());
  promql::Vector vec;
  if (auto* s = std::get_if<promql::Scalar>(&v)) {
    vec.push_back({Labels{}, s->v, t});
  } else {
    vec = std::move(std::get<promql::Vector>(v));
  }
  std::set<Labels> seen;
  for (promql::Sample& s : vec) {
    LabelsBuilder b(s.labels);
    b.set(kMetricNameLabel, rule.name);
    for (const auto& [name, tmpl] : rule.labels) b.set(name, tmpl.render({}));
    s.labels = b.build();
    s.t = t;
    if (!seen.insert(s.labels).second) {
      throw std::runtime_error("vector contains metrics with the same labelset after applying rule labels");
    }
  }
  if (def_.limit > 0 && vec.size() > def_.limit) {
    throw std::runtime_error("exceeded limit of " + std::to_string(def_.limit) + " with " +
                             std::to_string(vec.size()) + " series");
  }
  out.write(output_key(static_cast<std::size_t>(&rule - def_.rules.data())), vec, t);
}

std::string Group::output_key(std::size_t rule_index) const {
  return key_ + ";" + def_.rules[rule_index].name + ";" + std::to_string(rule_index);
}

void Group::eval_alerting(const RuleDefinition& rule, RuleState& state, const promql::Engine& engine,
                          const store::Querier& querier, RuleOutput& out, Timestamp t, const EvalSettings& settings,
                          std::vector<alerting::Alert>& sent) {
  const promql::Vector result =
      std::get<promql::Vector>(engine.instant(querier, *rule.expr, t - def_.query_offset.count()));
  const bool tiered = !rule.tiers.empty();
  std::string template_error;

  // Label sets of this evaluation, with their values.
  std::map<std::uint64_t, std::pair<Labels, double>> seen;
  std::map<std::uint64_t, Labels> annotations;
  for (const promql::Sample& s : result) {
    const Labels base = without_name(s.labels);
    TemplateData data{&base, s.v, &settings.external_labels, settings.external_url};
    LabelsBuilder b(base);
    for (const auto& [name, tmpl] : rule.labels) b.set(name, expand(tmpl, data, template_error));
    b.set("alertname", rule.name);
    if (tiered) b.del("severity");
    Labels labels = b.build();
    const std::uint64_t fp = labels.hash();
    if (seen.count(fp)) throw std::runtime_error("vector contains metrics with the same labelset after applying alert labels");
    LabelsBuilder a;
    TemplateData adata{&labels, s.v, &settings.external_labels, settings.external_url};
    for (const auto& [name, tmpl] : rule.annotations) a.set(name, expand(tmpl, adata, template_error));
    annotations[fp] = a.build();
    seen.emplace(fp, std::make_pair(std::move(labels), s.v));
  }
  if (def_.limit > 0 && seen.size() > def_.limit) {
    throw std::runtime_error("exceeded limit of " + std::to_string(def_.limit) + " with " +
                             std::to_string(seen.size()) + " alerts");
  }

  // The new state is built on a copy and takes effect only once the whole evaluation succeeded.
  std::map<std::uint64_t, AlertInstance> alerts = state.alerts;
  std::vector<alerting::Alert> report;
  // New and continuing label sets.
  for (auto& [fp, entry] : seen) {
    auto it = alerts.find(fp);
    if (it == alerts.end() || it->second.state == AlertState::resolved) {
      AlertInstance fresh;
      fresh.labels = entry.first;
      fresh.state = AlertState::pending;
      fresh.active_at = t;
      fresh.tier_since.assign(rule.tiers.size(), kNever);
      alerts[fp] = std::move(fresh);
      it = alerts.find(fp);
    }
    AlertInstance& a = it->second;
    a.value = entry.second;
    a.annotations = annotations[fp];
    a.last_seen = t;
  }

  std::vector<promql::Sample> series;
  for (auto it = alerts.begin(); it != alerts.end();) {
    AlertInstance& a = it->second;
    const bool present = seen.count(it->first) > 0;
    bool resolve_now = false;

    if (!tiered) {
      if (!present) {
        bool keep_firing = false;
        if (a.state == AlertState::firing && rule.keep_firing_for > Duration(0)) {
          if (a.keep_firing_since == kNever) a.keep_firing_since = t;
          keep_firing = t - a.keep_firing_since < rule.keep_firing_for.count();
        }
        if (a.state == AlertState::pending) {
          it = alerts.erase(it);
          continue;
        }
        if (!keep_firing) resolve_now = true;
      } else {
        a.keep_firing_since = kNever;
        if (a.state == AlertState::pending && t - a.active_at >= rule.for_duration.count()) {
          a.state = AlertState::firing;
          a.fired_at = t;
        }
      }
    } else {
      // Tiers: track since when each threshold holds. A pending alert fires at the most severe tier
      // whose threshold has held for its `for`. A firing one moves up to a tier only after that tier's
      // `for`, but down at once to the most severe tier that holds (it has been firing, at a more
      // severe level, all along); without `clear` it resolves when no tier holds any more.
      a.tier_since.resize(rule.tiers.size(), kNever);
      int satisfied = -1;  // the most severe tier held for its `for`
      int step = -1;       // firing: the tier to be at now
      bool any = false;
      for (std::size_t k = 0; k < rule.tiers.size(); ++k) {
        const bool holds = present && rule.tiers[k].threshold.holds(a.value);
        if (!holds) {
          a.tier_since[k] = kNever;
          continue;
        }
        if (a.tier_since[k] == kNever) a.tier_since[k] = t;
        any = true;
        const bool held = t - a.tier_since[k] >= rule.tiers[k].for_duration.count();
        if (held) satisfied = static_cast<int>(k);
        if (held || static_cast<int>(k) <= a.tier) step = static_cast<int>(k);
      }
      if (rule.clear) {
        const bool holds = present && rule.clear->threshold.holds(a.value);
        a.clear_since = holds ? (a.clear_since != kNever ? a.clear_since : t) : kNever;
      }
      if (a.state == AlertState::firing) {
        bool done;
        if (!present) {
          done = true;
        } else if (rule.clear) {
          done = a.clear_since != kNever && t - a.clear_since >= rule.clear->for_duration.count();
        } else {
          done = !any;
        }
        if (done) {
          bool keep_firing = false;
          if (rule.keep_firing_for > Duration(0)) {
            if (a.keep_firing_since == kNever) a.keep_firing_since = t;
            keep_firing = t - a.keep_firing_since < rule.keep_firing_for.count();
          }
          if (!keep_firing) resolve_now = true;
        } else {
          a.keep_firing_since = kNever;
          // Only a more severe tier holds, not yet for its `for`: stay. Below every tier but not
          // cleared: the lowest.
          const int tier = step >= 0 ? step : any ? a.tier : 0;
          if (tier != a.tier) {
            a.tier = tier;
            a.fired_at = t;
          }
        }
      } else if (satisfied >= 0) {
        a.state = AlertState::firing;
        a.tier = satisfied;
        a.fired_at = t;
      } else if (!any) {
        it = alerts.erase(it);
        continue;
      } else {
        Timestamp first = t;
        for (Timestamp s : a.tier_since) {
          if (s != kNever) first = std::min(first, s);
        }
        a.active_at = std::min(a.active_at, first);
      }
      // A pending alert carries the severity it is heading for: the most severe tier that holds now.
      int shown = a.tier;
      if (a.state == AlertState::pending) {
        for (std::size_t k = 0; k < rule.tiers.size(); ++k) {
          if (a.tier_since[k] != kNever) shown = static_cast<int>(k);
        }
      }
      LabelsBuilder b(a.labels);
      b.del("severity");
      if (shown >= 0) b.set("severity", rule.tiers[static_cast<std::size_t>(shown)].severity);
      a.labels = b.build();
      if (present) {  // annotations see the tier's severity
        TemplateData data{&a.labels, a.value, &settings.external_labels, settings.external_url};
        LabelsBuilder rendered;
        for (const auto& [name, tmpl] : rule.annotations)
          rendered.set(name, expand(tmpl, data, template_error));
        a.annotations = rendered.build();
      }
    }

    if (resolve_now) {
      a.state = AlertState::resolved;
      a.resolved_at = t;
    }
    report.push_back(alert_of(rule, a, key_));
    if (a.state == AlertState::resolved) {
      it = alerts.erase(it);
      continue;
    }
    append_series(a, t, series);
    ++it;
  }
  out.write(output_key(static_cast<std::size_t>(&rule - def_.rules.data())), series, t);
  state.alerts = std::move(alerts);
  state.health.template_error = template_error;
  if (!template_error.empty()) ++state.health.template_failures;
  sent.insert(sent.end(), std::make_move_iterator(report.begin()), std::make_move_iterator(report.end()));
}

std::vector<std::pair<const RuleDefinition*, AlertInstance>> Group::active_alerts() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<const RuleDefinition*, AlertInstance>> out;
  for (std::size_t i = 0; i < def_.rules.size(); ++i) {
    for (const auto& [fp, a] : states_[i].alerts) out.emplace_back(&def_.rules[i], a);
  }
  return out;
}

std::vector<RuleHealth> Group::health() const {
  std::lock_guard lock(mutex_);
  std::vector<RuleHealth> out;
  for (const auto& s : states_) out.push_back(s.health);
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
        states_[i].alerts = std::move(old.states_[j].alerts);
        old.states_[j].alerts.clear();
        taken[i] = given[j] = true;
        break;
      }
    }
  }
}

nlohmann::json Group::save_state() const {
  std::lock_guard lock(mutex_);
  nlohmann::json rules = nlohmann::json::array();
  for (std::size_t i = 0; i < def_.rules.size(); ++i) {
    if (states_[i].alerts.empty()) continue;
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& [fp, a] : states_[i].alerts) {
      nlohmann::json tier_since = nlohmann::json::array();
      for (Timestamp s : a.tier_since) tier_since.push_back(time_json(s));
      alerts.push_back({{"labels", labels_json(a.labels)},
                        {"state", state_name(a.state)},
                        {"active_at", a.active_at},
                        {"fired_at", a.fired_at},
                        {"keep_firing_since", time_json(a.keep_firing_since)},
                        {"tier", a.tier},
                        {"tier_since", tier_since},
                        {"clear_since", time_json(a.clear_since)}});
    }
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
    const RuleDefinition& rule = def_.rules[target];
    const auto tiers = static_cast<std::int64_t>(rule.tiers.size());
    for (const auto& j : r["alerts"]) {
      if (!j.is_object()) throw std::runtime_error("an alert entry of rule " + name + " is not an object");
      AlertInstance a;
      a.labels = labels_from(j.value("labels", nlohmann::json::object()));
      a.state = state_from(j.value("state", "pending"));
      if (j.contains("value") && j["value"].is_number()) a.value = j["value"].get<double>();
      a.active_at = j.value("active_at", Timestamp{0});
      a.fired_at = j.value("fired_at", Timestamp{0});
      a.keep_firing_since = time_from(j, "keep_firing_since");
      const std::int64_t tier = j.value("tier", std::int64_t{-1});
      if (j.contains("tier_since") && j["tier_since"].is_array()) {
        for (const auto& s : j["tier_since"]) a.tier_since.push_back(s.is_number_integer() ? s.get<Timestamp>() : kNever);
      }
      a.clear_since = time_from(j, "clear_since");
      if (a.labels.empty() || a.state == AlertState::resolved) continue;
      // State saved for another shape of the rule (its tiers edited since) does not fit it: that alert
      // starts afresh rather than index past the rule's tiers.
      const bool fits_tiers = tiers == 0
                                  ? tier == -1 && a.tier_since.empty()
                                  : tier >= -1 && tier < tiers && a.tier_since.size() == rule.tiers.size() &&
                                        (a.state != AlertState::firing || tier >= 0);
      if (!fits_tiers) continue;
      a.tier = static_cast<int>(tier);
      // Tiered alerts are identified without their (changing) severity label.
      LabelsBuilder identity(a.labels);
      if (tiers > 0) identity.del("severity");
      states_[target].alerts[identity.build().hash()] = std::move(a);
    }
  }
}

}  // namespace tocsin::rules
