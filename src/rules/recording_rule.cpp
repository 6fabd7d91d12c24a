#include "tocsin/rules/recording_rule.hpp"

#include <set>
#include <stdexcept>

namespace tocsin::rules {

std::vector<alerting::Alert> RecordingRule::evaluate_rule(const EvalContext& ctx) {
  promql::Value v = query(ctx);
  promql::Vector vec;
  if (auto* s = std::get_if<promql::Scalar>(&v)) {
    vec.push_back({Labels{}, s->v, ctx.time});
  } else {
    vec = std::move(std::get<promql::Vector>(v));
  }
  std::set<Labels> seen;
  for (promql::Sample& s : vec) {
    LabelsBuilder b(s.labels);
    b.set(kMetricNameLabel, definition().name);
    for (const auto& [name, tmpl] : definition().labels) b.set(name, tmpl.render({}));
    s.labels = b.build();
    s.t = ctx.time;
    if (!seen.insert(s.labels).second) {
      throw std::runtime_error("vector contains metrics with the same labelset after applying rule labels");
    }
  }
  const std::size_t limit = scope().limit;
  if (limit > 0 && vec.size() > limit) {
    throw std::runtime_error("exceeded limit of " + std::to_string(limit) + " with " +
                             std::to_string(vec.size()) + " series");
  }
  ctx.output.write(scope().output_key, vec, ctx.time);
  return {};
}

}  // namespace tocsin::rules
