#pragma once
// The table of PromQL functions: names, argument types and return types, shared by the parser (for
// type checking) and the evaluator (which dispatches on the id).

#include <string_view>
#include <vector>

#include "tocsin/promql/ast.hpp"

namespace tocsin::promql {

enum class FunctionId {
  abs, absent, absent_over_time, acos, acosh, asin, asinh, atan, atanh, avg_over_time, ceil, changes, clamp,
  clamp_max, clamp_min, cos, cosh, count_over_time, day_of_month, day_of_week, day_of_year, days_in_month, deg,
  delta, deriv, exp, floor, histogram_quantile, hour, idelta, increase, irate, label_join, label_replace,
  last_over_time, ln, log10, log2, max_over_time, min_over_time, minute, month, pi, predict_linear,
  present_over_time, quantile_over_time, rad, rate, resets, round, scalar, sgn, sin, sinh, sort, sort_desc, sqrt,
  stddev_over_time, stdvar_over_time, sum_over_time, tan, tanh, time, timestamp, vector, year,
};

struct Function {
  std::string_view name;
  FunctionId id;
  std::vector<ValueType> args;
  // 0: exactly `args`; n > 0: the last n of `args` are optional; -1: the last may repeat (label_join).
  int variadic;
  ValueType returns;
};

// nullptr when there is no function of that name.
const Function* find_function(std::string_view name);

}  // namespace tocsin::promql
