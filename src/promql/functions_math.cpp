// Mathematical functions over instant vectors, element by element, as Prometheus's promql/functions.go
// computes them: each drops the metric name and keeps the other labels.

#include <cmath>
#include <numbers>

#include "promql/functions_common.hpp"

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

// Go's math.Log10 and math.Log2, which Prometheus calls: the natural logarithm times a constant
// (Go folds 1/Ln10 at compile time to the double nearest log10(e)), which differs from the C
// library's log10 in the last bit for some inputs (log10(20) is 1.301029995663981 in Go).
double go_log10(double v) { return std::log(v) * std::numbers::log10e; }
double go_log2(double v) {
  int exp = 0;
  const double frac = std::frexp(v, &exp);
  if (frac == 0.5) return exp - 1;  // exact powers of two
  return std::log(frac) * std::numbers::log2e + exp;
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
      {"exp", {V}, 0, V, elementwise<[](double v) { return std::exp(v); }>},
      {"ln", {V}, 0, V, elementwise<[](double v) { return std::log(v); }>},
      {"log2", {V}, 0, V, elementwise<[](double v) { return go_log2(v); }>},
      {"log10", {V}, 0, V, elementwise<go_log10>},
      {"sin", {V}, 0, V, elementwise<[](double v) { return std::sin(v); }>},
      {"cos", {V}, 0, V, elementwise<[](double v) { return std::cos(v); }>},
      {"tan", {V}, 0, V, elementwise<[](double v) { return std::tan(v); }>},
      {"asin", {V}, 0, V, elementwise<[](double v) { return std::asin(v); }>},
      {"acos", {V}, 0, V, elementwise<[](double v) { return std::acos(v); }>},
      {"atan", {V}, 0, V, elementwise<[](double v) { return std::atan(v); }>},
      {"sinh", {V}, 0, V, elementwise<[](double v) { return std::sinh(v); }>},
      {"cosh", {V}, 0, V, elementwise<[](double v) { return std::cosh(v); }>},
      {"tanh", {V}, 0, V, elementwise<[](double v) { return std::tanh(v); }>},
      {"asinh", {V}, 0, V, elementwise<[](double v) { return std::asinh(v); }>},
      {"acosh", {V}, 0, V, elementwise<[](double v) { return std::acosh(v); }>},
      {"atanh", {V}, 0, V, elementwise<[](double v) { return std::atanh(v); }>},
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
