// Plain alerting rules follow Prometheus's AlertingRule.Eval step by step; the evaluation around the
// step (label sets of the result, the limit, reporting, ALERTS series) is shared with tiered rules.

#include "tocsin/rules/alerting_rule.hpp"

#include <iterator>
#include <stdexcept>

#include "tocsin/promql/parser.hpp"

namespace tocsin::rules {

namespace {

using alerting::AlertState;

Labels without_name(const Labels& labels) {
  LabelsBuilder b(labels);
  b.del(kMetricNameLabel);
  return b.build();
}

double seconds(Timestamp t) { return static_cast<double>(t) / 1000.0; }

// The `query` of templates: a PromQL instant query at the rule's query time, as Prometheus's
// EngineQueryFunc (a scalar is one sample without labels; other types are an error).
TemplateQuery template_query(const EvalContext& ctx, Timestamp t) {
  return [&ctx, t](const std::string& text) {
    const promql::ExprPtr expr = promql::parse(text);
    const promql::Value value = ctx.engine.instant(ctx.querier, *expr, t);
    std::vector<TemplateSample> out;
    if (const auto* v = std::get_if<promql::Vector>(&value)) {
      out.reserve(v->size());
      for (const promql::Sample& s : *v) out.push_back({s.labels, s.v});
    } else if (const auto* s = std::get_if<promql::Scalar>(&value)) {
      out.push_back({Labels(), s->v});
    } else {
      throw std::runtime_error("rule result is not a vector or scalar");
    }
    return out;
  };
}

// ALERTS and ALERTS_FOR_STATE of an active alert at t.
void append_series(const AlertInstance& a, Timestamp t, std::vector<promql::Sample>& series) {
  LabelsBuilder alerts_series(a.labels);
  alerts_series.set(kMetricNameLabel, "ALERTS");
  alerts_series.set("alertstate", std::string(alerting::to_string(a.state)));
  series.push_back({alerts_series.build(), 1, t});
  LabelsBuilder for_state(a.labels);
  for_state.set(kMetricNameLabel, "ALERTS_FOR_STATE");
  series.push_back({for_state.build(), seconds(a.active_at), t});
}

}  // namespace

std::string AlertingRule::expand(const Template& tmpl, const TemplateData& data, std::string& error) {
  try {
    return tmpl.render(data);
  } catch (const TemplateError& e) {
    if (error.empty()) error = e.what();
    return std::string("<error expanding template: ") + e.what() + ">";
  }
}

TemplateData AlertingRule::template_data(const Labels& sample_labels, double value,
                                         const EvalContext& ctx) const {
  return {&sample_labels, value, &ctx.settings.external_labels, ctx.settings.external_url,
          template_query(ctx, ctx.time - scope().query_offset.count())};
}

Labels AlertingRule::render_annotations(const Labels& sample_labels, double value, const EvalContext& ctx,
                                        std::string& template_error) const {
  const TemplateData data = template_data(sample_labels, value, ctx);
  LabelsBuilder rendered;
  for (const auto& [name, tmpl] : definition().annotations)
    rendered.set(name, expand(tmpl, data, template_error));
  return rendered.build();
}

alerting::Alert AlertingRule::report(const AlertInstance& a) const {
  const RuleDefinition& rule = definition();
  int tier = -1;
  for (std::size_t k = 0; k < rule.tiers.size(); ++k) {
    if (a.labels.get("severity") == rule.tiers[k].severity) tier = static_cast<int>(k);
  }
  return {.labels = a.labels,
          .annotations = a.annotations,
          .state = a.state,
          .active_at = a.active_at,
          .fired_at = a.fired_at,
          .resolved_at = a.resolved_at,
          .value = a.value,
          .escalation = escalation_of(a),
          .rule_group = scope().group_key,
          .rule_name = rule.name,
          .tiered = !rule.tiers.empty(),
          .tier = tier};
}

void AlertingRule::restore(AlertInstance alert) {
  const std::uint64_t fp = identity(alert.labels).hash();
  alerts_[fp] = std::move(alert);
}

void AlertingRule::take_state_from(Rule& old) {
  auto* before = dynamic_cast<AlertingRule*>(&old);
  if (before == nullptr) return;
  alerts_ = std::move(before->alerts_);
  before->alerts_.clear();
}

std::vector<alerting::Alert> AlertingRule::evaluate_rule(const EvalContext& ctx) {
  return step(ctx, std::get<promql::Vector>(query(ctx)), nullptr, {});
}

std::vector<alerting::Alert> AlertingRule::step(const EvalContext& ctx, const promql::Vector& result,
                                                const std::vector<Labels>* given_annotations,
                                                std::vector<promql::Sample> extra) {
  const RuleDefinition& rule = definition();
  const Timestamp t = ctx.time;
  std::string template_error;

  // Label sets of this evaluation, with their values.
  std::map<std::uint64_t, std::pair<Labels, double>> seen;
  std::map<std::uint64_t, Labels> annotations;
  std::map<std::uint64_t, Labels> sample_labels;
  for (std::size_t i = 0; i < result.size(); ++i) {
    const promql::Sample& s = result[i];
    const Labels base = without_name(s.labels);
    // Templates see the sample's labels, __name__ included when the expression keeps it (Prometheus's
    // smpl.Metric.Map()), not the alert's.
    const TemplateData data = template_data(s.labels, s.v, ctx);
    LabelsBuilder b(base);
    for (const auto& [name, tmpl] : rule.labels) b.set(name, expand(tmpl, data, template_error));
    b.set("alertname", alert_name(base));
    Labels labels = identity(b.build());
    const std::uint64_t fp = labels.hash();
    if (seen.count(fp)) {
      throw std::runtime_error("vector contains metrics with the same labelset after applying alert labels");
    }
    annotations[fp] = given_annotations != nullptr ? (*given_annotations)[i]
                                                   : render_annotations(s.labels, s.v, ctx, template_error);
    sample_labels[fp] = s.labels;
    seen.emplace(fp, std::make_pair(std::move(labels), s.v));
  }
  const std::size_t limit = scope().limit;
  if (limit > 0 && seen.size() > limit) {
    throw std::runtime_error("exceeded limit of " + std::to_string(limit) + " with " +
                             std::to_string(seen.size()) + " alerts");
  }

  // The new state is built on a copy and takes effect only once the whole evaluation succeeded.
  Alerts alerts = alerts_;
  // New and continuing label sets.
  for (auto& [fp, entry] : seen) {
    auto it = alerts.find(fp);
    if (it == alerts.end() || it->second.state == AlertState::resolved) {
      AlertInstance fresh;
      fresh.labels = entry.first;
      fresh.state = AlertState::pending;
      fresh.active_at = t;
      fresh.tier_since.assign(rule.tiers.size(), AlertInstance::kNever);
      alerts[fp] = std::move(fresh);
      it = alerts.find(fp);
    }
    AlertInstance& a = it->second;
    a.value = entry.second;
    a.annotations = annotations[fp];
    a.sample_labels = sample_labels[fp];
    a.last_seen = t;
  }

  std::vector<alerting::Alert> sent;
  std::vector<promql::Sample> series = std::move(extra);
  for (auto it = alerts.begin(); it != alerts.end();) {
    AlertInstance& a = it->second;
    const Transition step = advance(a, seen.count(it->first) > 0, ctx, template_error);
    if (step == Transition::drop) {
      it = alerts.erase(it);
      continue;
    }
    if (step == Transition::resolve) {
      a.state = AlertState::resolved;
      a.resolved_at = t;
    }
    sent.push_back(report(a));
    if (a.state == AlertState::resolved) {
      it = alerts.erase(it);
      continue;
    }
    append_series(a, t, series);
    ++it;
  }
  ctx.output.write(scope().output_key, series, t);
  alerts_ = std::move(alerts);
  health_.template_error = template_error;
  if (!template_error.empty()) ++health_.template_failures;
  return sent;
}

AlertingRule::Transition AlertingRule::advance(AlertInstance& a, bool present, const EvalContext& ctx,
                                               std::string& /*template_error*/) {
  const RuleDefinition& rule = definition();
  const Timestamp t = ctx.time;
  if (!present) {
    if (a.state == AlertState::pending) return Transition::drop;
    bool keep_firing = false;
    if (a.state == AlertState::firing && rule.keep_firing_for > Duration(0)) {
      if (a.keep_firing_since == AlertInstance::kNever) a.keep_firing_since = t;
      keep_firing = t - a.keep_firing_since < rule.keep_firing_for.count();
    }
    return keep_firing ? Transition::stay : Transition::resolve;
  }
  a.keep_firing_since = AlertInstance::kNever;
  if (a.state == AlertState::pending && t - a.active_at >= rule.for_duration.count()) {
    a.state = AlertState::firing;
    a.fired_at = t;
  }
  return Transition::stay;
}

std::vector<alerting::Alert> AlertingRule::on_failure(const EvalContext& ctx) {
  return report_unchanged(ctx, {});
}

std::vector<alerting::Alert> AlertingRule::report_unchanged(const EvalContext& ctx,
                                                            std::vector<promql::Sample> extra) {
  std::vector<alerting::Alert> sent;
  std::vector<promql::Sample> series = std::move(extra);
  for (const auto& [fp, a] : alerts_) {
    sent.push_back(report(a));
    append_series(a, ctx.time, series);
  }
  try {
    ctx.output.write(scope().output_key, series, ctx.time);
  } catch (const std::exception&) {
    // The store refused the write: the series go stale, the failure is already recorded.
  }
  return sent;
}

}  // namespace tocsin::rules
