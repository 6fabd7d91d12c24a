// An SLO's evaluation: measure, record, write the figures, and decide the alerts.

#include "tocsin/rules/slo_rule.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>

namespace tocsin::rules {

namespace {

using slo::Definition;

// The sum of a vector's values; nullopt when it holds none (no data).
std::optional<double> vector_sum(const promql::Value& value) {
  const auto* v = std::get_if<promql::Vector>(&value);
  if (v == nullptr || v->empty()) return std::nullopt;
  double sum = 0;
  bool any = false;
  for (const promql::Sample& s : *v) {
    if (std::isnan(s.v)) continue;
    sum += s.v;
    any = true;
  }
  if (!any) return std::nullopt;
  return sum;
}

std::string objective_text(double objective) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", objective * 100);
  return buf;
}

}  // namespace

SloRule::SloRule(const RuleDefinition& definition, RuleScope scope)
    : AlertingRule(definition, std::move(scope)), history_(definition.slo->window, definition.slo->bucket) {
  const Definition& d = *definition.slo;
  LabelsBuilder b;
  for (const auto& [name, value] : d.labels) b.set(name, value);
  b.set("sloth_id", d.id());
  b.set("sloth_service", d.service);
  b.set("sloth_slo", d.name);
  identity_ = b.build();
}

void SloRule::take_state_from(Rule& old) {
  AlertingRule::take_state_from(old);
  auto* before = dynamic_cast<SloRule*>(&old);
  if (before == nullptr || before->slo().id() != slo().id()) return;
  history_.restore(before->history_.serialize());
  status_ = before->status_;
}

std::string SloRule::alert_name(const Labels& labels) const {
  const std::string_view given = labels.get("alertname");
  return given.empty() ? definition().name : std::string(given);
}

std::string SloRule::escalation_of(const AlertInstance& a) const {
  const std::string_view kind = a.labels.get("sloth_severity");
  if (kind == "page") return slo().page.escalation;
  if (kind == "ticket") return slo().ticket.escalation;
  return slo().exhausted.escalation;
}

slo::Totals SloRule::measure(const EvalContext& ctx, Timestamp from, Timestamp to) const {
  const Definition& d = slo();
  const double seconds = static_cast<double>(to - from) / 1000.0;
  slo::Totals out;
  if (ctx.settings.in_time_interval) {
    for (const std::string& name : d.exclude) {
      if (ctx.settings.in_time_interval(name, to)) {
        out.excluded_seconds = seconds;
        return out;
      }
    }
  }
  const Timestamp at = to - scope().query_offset.count();
  auto run = [&](const promql::ExprPtr& e) { return vector_sum(ctx.engine.instant(ctx.querier, *e, at)); };
  if (d.indicator == Definition::Indicator::threshold) {
    const promql::Value v = ctx.engine.instant(ctx.querier, *d.threshold, at);
    const auto* vec = std::get_if<promql::Vector>(&v);
    bool any = false, good = true;
    if (vec != nullptr) {
      for (const promql::Sample& s : *vec) {
        if (std::isnan(s.v)) continue;
        any = true;
        good = good && d.bound.holds(s.v);
      }
    }
    if (!any) {
      out.missing_seconds = seconds;
    } else {
      out.total = seconds;
      out.bad = good ? 0 : seconds;
    }
    return out;
  }
  // Event SLIs: per-second rates at `to`, times the span.
  const std::optional<double> total = run(d.total);
  if (!total) {
    out.missing_seconds = seconds;
    return out;
  }
  double bad = 0;
  if (d.errors) {
    bad = run(d.errors).value_or(0);  // no error series at all: no errors
  } else {
    const std::optional<double> good = run(d.good);
    if (!good) {
      out.missing_seconds = seconds;
      return out;
    }
    bad = *total - *good;
  }
  const double rate_total = std::max(0.0, *total);
  out.total = rate_total * seconds;
  out.bad = std::clamp(bad, 0.0, rate_total) * seconds;
  return out;
}

std::vector<promql::Sample> SloRule::series(Timestamp t) const {
  const Definition& d = slo();
  const slo::Status& s = status_;
  std::map<std::string, std::vector<promql::Sample>> by_name;  // one run per name, for the output's help
  auto add = [&](const std::string& name, double v,
                 std::initializer_list<std::pair<const char*, std::string>> extra) {
    if (std::isnan(v)) return;
    LabelsBuilder b(identity_);
    b.set(kMetricNameLabel, name);
    for (const auto& [k, val] : extra) b.set(k, val);
    by_name[name].push_back({b.build(), v, t});
  };
  for (const slo::WindowFigures& w : s.windows) {
    add("slo:sli_error:ratio_rate" + w.name, w.error_ratio, {{"sloth_window", w.name}});
    add("tocsin_slo_burn_rate", w.burn_rate, {{"sloth_window", w.name}});
    add("tocsin_slo_bad_events", w.totals.bad, {{"sloth_window", w.name}});
    add("tocsin_slo_total_events", w.totals.total, {{"sloth_window", w.name}});
  }
  add("slo:objective:ratio", d.objective, {});
  add("slo:error_budget:ratio", d.error_budget(), {});
  add("slo:time_period:days", std::chrono::duration<double>(d.window).count() / 86400, {});
  add("slo:current_burn_rate:ratio", s.windows.front().burn_rate, {});
  add("slo:period_burn_rate:ratio", s.budget_consumed, {});
  add("slo:period_error_budget_remaining:ratio", s.budget_remaining, {});
  add("tocsin_slo_window_budget_spent_ratio", s.window_budget_spent, {});
  add("sloth_slo_info", 1,
      {{"sloth_mode", "tocsin"},
       {"sloth_objective", objective_text(d.objective)},
       {"sloth_spec", "tocsin/v1"},
       {"sloth_version", "tocsin"}});
  if (std::isfinite(s.exhaustion_seconds)) {
    add("tocsin_slo_budget_exhaustion_seconds", s.exhaustion_seconds, {});
    add("tocsin_slo_budget_exhaustion_timestamp_seconds",
        static_cast<double>(t) / 1000.0 + s.exhaustion_seconds, {});
  }
  add("tocsin_slo_missing_seconds", s.period().totals.missing_seconds, {{"sloth_window", s.period().name}});
  add("tocsin_slo_excluded_seconds", s.period().totals.excluded_seconds, {{"sloth_window", s.period().name}});
  add("tocsin_slo_history_bytes", static_cast<double>(history_.memory_bytes()), {});
  std::vector<promql::Sample> out;
  for (auto& [name, samples] : by_name) out.insert(out.end(), samples.begin(), samples.end());
  return out;
}

std::vector<alerting::Alert> SloRule::evaluate_rule(const EvalContext& ctx) {
  const Definition& d = slo();
  const Timestamp t = ctx.time;
  const Timestamp interval_ms = std::max<Timestamp>(1, scope().interval.count());
  // The span this evaluation accounts for: since the previous one, up to one interval; a longer gap (a
  // restart, a stall) before it is missing data.
  const Timestamp previous = history_.last_time().value_or(t - interval_ms);
  if (t > previous) {
    const Timestamp from = std::max(previous, t - interval_ms);
    const slo::Totals measured = measure(ctx, from, t);  // throws when a query fails: nothing recorded
    if (from > previous) {
      slo::Totals gap;
      gap.missing_seconds = static_cast<double>(from - previous) / 1000.0;
      history_.record(previous, from, gap);
    }
    history_.record(from, t, measured);
  }
  status_ = slo::evaluate(d, history_, t);

  promql::Vector candidates;
  std::vector<Labels> annotations;
  const std::string objective = objective_text(d.objective) + " %";
  // The alert's runbook page on this daemon (docs/runbooks/<alertname>.md), at the SLO's own section:
  // the heading anchor of its name, as the bundled rules' runbook_url annotations are written.
  auto runbook_url = [&](const std::string& alertname) {
    std::string anchor;
    for (char c : d.name) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
        anchor += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return ctx.settings.external_url + "/runbooks/" + alertname + "#" + anchor;
  };
  auto burn = [&](const slo::BurnAlert& alert, const char* kind) {
    const slo::BurnDecision decision = slo::decide(d, alert, history_, t);
    if (!decision.holds) return;
    LabelsBuilder b(identity_);
    b.set("sloth_severity", kind);
    b.set("severity", alert.severity);
    candidates.push_back({b.build(), decision.long_burn, t});
    char burn_text[32];
    std::snprintf(burn_text, sizeof burn_text, "%.3g", decision.long_burn);
    LabelsBuilder a;
    a.set("summary", "SLO " + d.name + " (" + objective + " over " + slo::window_name(d.window) +
                         ") burns its error budget " + burn_text + "x as fast as it may (" + kind + ")");
    a.set("description", slo::describe_burn(d, decision, status_));
    a.set("burn_window",
          slo::window_name(decision.pair->long_window) + "/" + slo::window_name(decision.pair->short_window));
    a.set("runbook_url", runbook_url(d.alert_name));
    annotations.push_back(a.build());
  };
  burn(d.page, "page");
  burn(d.ticket, "ticket");
  if (d.exhausted.enabled && slo::exhausted(status_)) {
    LabelsBuilder b(identity_);
    b.set("alertname", d.exhausted.name);
    b.set("sloth_severity", "exhausted");
    b.set("severity", d.exhausted.severity);
    candidates.push_back({b.build(), status_.window_budget_spent, t});
    LabelsBuilder a;
    a.set("summary", "SLO " + d.name + " (" + objective + " over " + slo::window_name(d.window) +
                         ") has spent its error budget");
    a.set("description", slo::describe_exhausted(d, status_));
    a.set("runbook_url", runbook_url(d.exhausted.name));
    annotations.push_back(a.build());
  }
  return step(ctx, candidates, &annotations, series(t));
}

std::vector<alerting::Alert> SloRule::on_failure(const EvalContext& ctx) {
  return report_unchanged(ctx, status_.time > 0 ? series(ctx.time) : std::vector<promql::Sample>{});
}

}  // namespace tocsin::rules
