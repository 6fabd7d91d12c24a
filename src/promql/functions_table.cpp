#include <algorithm>
#include <array>

#include "promql/functions.hpp"

namespace tocsin::promql {

namespace {

constexpr ValueType S = ValueType::scalar;
constexpr ValueType V = ValueType::vector;
constexpr ValueType M = ValueType::matrix;
constexpr ValueType T = ValueType::string;
using F = FunctionId;

// Sorted by name, for binary search. Types as in Prometheus's parser/functions.go.
const std::vector<Function>& table() {
  static const std::vector<Function> functions = [] {
    std::vector<Function> f = {
        {"abs", F::abs, {V}, 0, V},
        {"absent", F::absent, {V}, 0, V},
        {"absent_over_time", F::absent_over_time, {M}, 0, V},
        {"acos", F::acos, {V}, 0, V},
        {"acosh", F::acosh, {V}, 0, V},
        {"asin", F::asin, {V}, 0, V},
        {"asinh", F::asinh, {V}, 0, V},
        {"atan", F::atan, {V}, 0, V},
        {"atanh", F::atanh, {V}, 0, V},
        {"avg_over_time", F::avg_over_time, {M}, 0, V},
        {"ceil", F::ceil, {V}, 0, V},
        {"changes", F::changes, {M}, 0, V},
        {"clamp", F::clamp, {V, S, S}, 0, V},
        {"clamp_max", F::clamp_max, {V, S}, 0, V},
        {"clamp_min", F::clamp_min, {V, S}, 0, V},
        {"cos", F::cos, {V}, 0, V},
        {"cosh", F::cosh, {V}, 0, V},
        {"count_over_time", F::count_over_time, {M}, 0, V},
        {"day_of_month", F::day_of_month, {V}, 1, V},
        {"day_of_week", F::day_of_week, {V}, 1, V},
        {"day_of_year", F::day_of_year, {V}, 1, V},
        {"days_in_month", F::days_in_month, {V}, 1, V},
        {"deg", F::deg, {V}, 0, V},
        {"delta", F::delta, {M}, 0, V},
        {"deriv", F::deriv, {M}, 0, V},
        {"exp", F::exp, {V}, 0, V},
        {"floor", F::floor, {V}, 0, V},
        {"histogram_quantile", F::histogram_quantile, {S, V}, 0, V},
        {"hour", F::hour, {V}, 1, V},
        {"idelta", F::idelta, {M}, 0, V},
        {"increase", F::increase, {M}, 0, V},
        {"irate", F::irate, {M}, 0, V},
        {"label_join", F::label_join, {V, T, T, T}, -1, V},
        {"label_replace", F::label_replace, {V, T, T, T, T}, 0, V},
        {"last_over_time", F::last_over_time, {M}, 0, V},
        {"ln", F::ln, {V}, 0, V},
        {"log10", F::log10, {V}, 0, V},
        {"log2", F::log2, {V}, 0, V},
        {"max_over_time", F::max_over_time, {M}, 0, V},
        {"min_over_time", F::min_over_time, {M}, 0, V},
        {"minute", F::minute, {V}, 1, V},
        {"month", F::month, {V}, 1, V},
        {"pi", F::pi, {}, 0, S},
        {"predict_linear", F::predict_linear, {M, S}, 0, V},
        {"present_over_time", F::present_over_time, {M}, 0, V},
        {"quantile_over_time", F::quantile_over_time, {S, M}, 0, V},
        {"rad", F::rad, {V}, 0, V},
        {"rate", F::rate, {M}, 0, V},
        {"resets", F::resets, {M}, 0, V},
        {"round", F::round, {V, S}, 1, V},
        {"scalar", F::scalar, {V}, 0, S},
        {"sgn", F::sgn, {V}, 0, V},
        {"sin", F::sin, {V}, 0, V},
        {"sinh", F::sinh, {V}, 0, V},
        {"sort", F::sort, {V}, 0, V},
        {"sort_desc", F::sort_desc, {V}, 0, V},
        {"sqrt", F::sqrt, {V}, 0, V},
        {"stddev_over_time", F::stddev_over_time, {M}, 0, V},
        {"stdvar_over_time", F::stdvar_over_time, {M}, 0, V},
        {"sum_over_time", F::sum_over_time, {M}, 0, V},
        {"tan", F::tan, {V}, 0, V},
        {"tanh", F::tanh, {V}, 0, V},
        {"time", F::time, {}, 0, S},
        {"timestamp", F::timestamp, {V}, 0, V},
        {"vector", F::vector, {S}, 0, V},
        {"year", F::year, {V}, 1, V},
    };
    std::sort(f.begin(), f.end(), [](const Function& a, const Function& b) { return a.name < b.name; });
    return f;
  }();
  return functions;
}

}  // namespace

const Function* find_function(std::string_view name) {
  const auto& functions = table();
  auto it = std::lower_bound(functions.begin(), functions.end(), name,
                             [](const Function& f, std::string_view n) { return f.name < n; });
  return it != functions.end() && it->name == name ? &*it : nullptr;
}

}  // namespace tocsin::promql
