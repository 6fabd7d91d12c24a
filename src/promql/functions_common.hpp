#pragma once
// What the function families (functions_<family>.cpp) share: the short type names their tables use,
// typed access to evaluated arguments, and the per-element helpers. Only those files include it.

#include <cmath>
#include <span>

#include "promql/evaluator.hpp"
#include "promql/functions.hpp"

namespace tocsin::promql::detail {

// The argument and return types, as the tables write them (Prometheus's parser/functions.go order).
inline constexpr ValueType S = ValueType::scalar;
inline constexpr ValueType V = ValueType::vector;
inline constexpr ValueType M = ValueType::matrix;
inline constexpr ValueType T = ValueType::string;

// The evaluated arguments a callable receives (see FunctionEval).
using Args = std::span<const EvalValue>;

// The arguments as the parser checked them: the std::get cannot throw once a call has type-checked.
inline const Vector& vector_arg(const EvalValue& v) { return std::get<Vector>(v); }
inline double scalar_arg(const EvalValue& v) { return std::get<Scalar>(v).v; }
inline const std::string& string_arg(const EvalValue& v) { return std::get<String>(v).value; }
inline const MatrixView& matrix_arg(const EvalValue& v) { return std::get<MatrixView>(v); }

// `in` with fn applied to every value, the metric name dropped and the time set to `t`.
template <typename Fn>
Vector map_values(Vector in, Timestamp t, Fn fn) {
  for (Sample& s : in) {
    s.v = fn(s.v);
    s.labels = drop_name(s.labels);
    s.t = t;
  }
  return in;
}

}  // namespace tocsin::promql::detail
