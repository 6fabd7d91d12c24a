// Functions on a whole vector rather than element by element: absent() and absent_over_time(),
// scalar() and vector() between the two types, sort() and sort_desc().

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

Labels absent_labels(const Expr& arg) {
  const VectorSelector* vs = nullptr;
  if (const auto* s = std::get_if<VectorSelector>(&arg.node)) vs = s;
  if (const auto* m = std::get_if<MatrixSelector>(&arg.node)) vs = &m->selector;
  if (vs == nullptr) return Labels{};
  // Prometheus's createLabelsForAbsentFunction, in matcher order: the first = matcher of a name sets it,
  // any later matcher of that name, and any other matcher before it, removes it
  // (absent(x{job="a",job=~"b"}) is {}, absent(x{job=~"b",job="a"}) is {job="a"}).
  LabelsBuilder b;
  std::unordered_set<std::string> has;
  for (const auto& m : vs->matchers) {
    if (m.name() == kMetricNameLabel) continue;
    if (m.type() == MatchType::equal && !has.contains(m.name())) {
      b.set(m.name(), m.value());
      has.insert(m.name());
    } else {
      b.del(m.name());
    }
  }
  return b.build();
}

EvalValue absent(Evaluator&, const Call& call, Args args, Timestamp t) {
  if (!vector_arg(args[0]).empty()) return Vector{};
  return Vector{{absent_labels(*call.args[0]), 1, t}};
}

EvalValue absent_over_time(Evaluator&, const Call& call, Args args, Timestamp t) {
  for (const auto& s : matrix_arg(args[0]).series) {
    if (!s.points.empty()) return Vector{};
  }
  return Vector{{absent_labels(*call.args[0]), 1, t}};
}

EvalValue to_scalar(Evaluator&, const Call&, Args args, Timestamp t) {
  const Vector& v = vector_arg(args[0]);
  return Scalar{v.size() == 1 ? v[0].v : std::nan(""), t};
}

EvalValue to_vector(Evaluator&, const Call&, Args args, Timestamp t) {
  return Vector{{Labels{}, scalar_arg(args[0]), t}};
}

// Stable, NaN last in both directions.
template <bool Descending>
EvalValue sorted(Evaluator&, const Call&, Args args, Timestamp) {
  Vector v = vector_arg(args[0]);
  std::stable_sort(v.begin(), v.end(), [](const Sample& a, const Sample& b) {
    if (std::isnan(a.v)) return false;
    if (std::isnan(b.v)) return true;
    return Descending ? a.v > b.v : a.v < b.v;
  });
  return v;
}

}  // namespace

std::vector<Function> vector_functions() {
  return {
      {"absent", {V}, 0, V, absent},      {"absent_over_time", {M}, 0, V, absent_over_time},
      {"scalar", {V}, 0, S, to_scalar},   {"vector", {S}, 0, V, to_vector},
      {"sort", {V}, 0, V, sorted<false>}, {"sort_desc", {V}, 0, V, sorted<true>},
  };
}

}  // namespace tocsin::promql::detail
