// Mathematical functions over instant vectors, element by element, as Prometheus's promql/functions.go
// computes them: each drops the metric name and keeps the other labels. The transcendental ones are Go's
// (go_math.hpp), so each value is the very float64 Prometheus gives.

#include <cmath>
#include <numbers>

#include "promql/functions_common.hpp"
#include "promql/go_math.hpp"

namespace tocsin::promql::detail {

namespace {

// Go's math.Max and math.Min: NaN wins, and +0 > -0.
double go_max(double a, double b) {
  if (std::isinf(a) && a > 0) return a;
  if (std::isinf(b) && b > 0) return b;
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  if (a == 0 && a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
double go_min(double a, double b) {
  if (std::isinf(a) && a < 0) return a;
  if (std::isinf(b) && b < 0) return b;
  if (std::isnan(a) || std::isnan(b)) return std::nan("");
  if (a == 0 && a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

// fn(v) for every element of the one vector argument. Fn is a compile-time constant, so each
// instantiation is one loop with the formula inlined.
template <auto Fn>
EvalValue elementwise(Evaluator&, const Call&, Args args, Timestamp t) {
  return map_values(vector_arg(args[0]), t, [](double v) { return Fn(v); });
}

EvalValue round_to_nearest(Evaluator&, const Call&, Args args, Timestamp t) {
  const double to_nearest = args.size() > 1 ? scalar_arg(args[1]) : 1.0;
  const double inverse = 1.0 / to_nearest;
  return map_values(vector_arg(args[0]), t,
                    [&](double v) { return std::floor(v * inverse + 0.5) / inverse; });
}

EvalValue clamp(Evaluator&, const Call&, Args args, Timestamp t) {
  const double lo = scalar_arg(args[1]), hi = scalar_arg(args[2]);
  if (hi < lo) return Vector{};
  return map_values(vector_arg(args[0]), t, [&](double v) { return go_max(lo, go_min(hi, v)); });
}

EvalValue clamp_max(Evaluator&, const Call&, Args args, Timestamp t) {
  const double hi = scalar_arg(args[1]);
  return map_values(vector_arg(args[0]), t, [&](double v) { return go_min(hi, v); });
}

EvalValue clamp_min(Evaluator&, const Call&, Args args, Timestamp t) {
  const double lo = scalar_arg(args[1]);
  return map_values(vector_arg(args[0]), t, [&](double v) { return go_max(lo, v); });
}

EvalValue pi(Evaluator&, const Call&, Args, Timestamp t) { return Scalar{std::numbers::pi, t}; }

}  // namespace

std::vector<Function> math_functions() {
  return {
      {"abs", {V}, 0, V, elementwise<[](double v) { return std::fabs(v); }>},
      {"ceil", {V}, 0, V, elementwise<[](double v) { return std::ceil(v); }>},
      {"floor", {V}, 0, V, elementwise<[](double v) { return std::floor(v); }>},
      {"sqrt", {V}, 0, V, elementwise<[](double v) { return std::sqrt(v); }>},
      {"exp", {V}, 0, V, elementwise<go_math::exp>},
      {"ln", {V}, 0, V, elementwise<go_math::log>},
      {"log2", {V}, 0, V, elementwise<go_math::log2>},
      {"log10", {V}, 0, V, elementwise<go_math::log10>},
      {"sin", {V}, 0, V, elementwise<go_math::sin>},
      {"cos", {V}, 0, V, elementwise<go_math::cos>},
      {"tan", {V}, 0, V, elementwise<go_math::tan>},
      {"asin", {V}, 0, V, elementwise<go_math::asin>},
      {"acos", {V}, 0, V, elementwise<go_math::acos>},
      {"atan", {V}, 0, V, elementwise<go_math::atan>},
      {"sinh", {V}, 0, V, elementwise<go_math::sinh>},
      {"cosh", {V}, 0, V, elementwise<go_math::cosh>},
      {"tanh", {V}, 0, V, elementwise<go_math::tanh>},
      {"asinh", {V}, 0, V, elementwise<go_math::asinh>},
      {"acosh", {V}, 0, V, elementwise<go_math::acosh>},
      {"atanh", {V}, 0, V, elementwise<go_math::atanh>},
      {"deg", {V}, 0, V, elementwise<[](double v) { return v * 180 / std::numbers::pi; }>},
      {"rad", {V}, 0, V, elementwise<[](double v) { return v * std::numbers::pi / 180; }>},
      {"sgn", {V}, 0, V, elementwise<[](double v) { return v < 0 ? -1.0 : (v > 0 ? 1.0 : v); }>},
      {"round", {V, S}, 1, V, round_to_nearest},
      {"clamp", {V, S, S}, 0, V, clamp},
      {"clamp_max", {V, S}, 0, V, clamp_max},
      {"clamp_min", {V, S}, 0, V, clamp_min},
      {"pi", {}, 0, S, pi},
  };
}

}  // namespace tocsin::promql::detail
