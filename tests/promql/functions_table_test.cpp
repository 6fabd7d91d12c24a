// The function table merged from the families (src/promql/functions_<family>.cpp): every function the
// parser knew before the split is still there, once, with a callable, and found by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "promql/functions.hpp"

namespace tocsin::promql {
namespace {

TEST(FunctionTable, HoldsEveryFunctionOnceSortedWithACallable) {
  const std::set<std::string> expected = {
      "abs",
      "absent",
      "absent_over_time",
      "acos",
      "acosh",
      "asin",
      "asinh",
      "atan",
      "atanh",
      "avg_over_time",
      "ceil",
      "changes",
      "clamp",
      "clamp_max",
      "clamp_min",
      "cos",
      "cosh",
      "count_over_time",
      "day_of_month",
      "day_of_week",
      "day_of_year",
      "days_in_month",
      "deg",
      "delta",
      "deriv",
      "double_exponential_smoothing",
      "exp",
      "floor",
      "histogram_quantile",
      "holt_winters",
      "hour",
      "idelta",
      "increase",
      "irate",
      "label_join",
      "label_replace",
      "last_over_time",
      "ln",
      "log10",
      "log2",
      "max_over_time",
      "min_over_time",
      "minute",
      "month",
      "pi",
      "predict_linear",
      "present_over_time",
      "quantile_over_time",
      "rad",
      "rate",
      "resets",
      "round",
      "scalar",
      "sgn",
      "sin",
      "sinh",
      "sort",
      "sort_desc",
      "sqrt",
      "stddev_over_time",
      "stdvar_over_time",
      "sum_over_time",
      "tan",
      "tanh",
      "time",
      "timestamp",
      "vector",
      "year",
  };
  const auto functions = all_functions();
  std::set<std::string> names;
  for (const Function& f : functions) {
    names.emplace(f.name);
    EXPECT_NE(f.eval, nullptr) << f.name;
    EXPECT_EQ(find_function(f.name), &f) << f.name;
  }
  EXPECT_EQ(names, expected);
  EXPECT_EQ(functions.size(), expected.size());
  EXPECT_TRUE(std::is_sorted(functions.begin(), functions.end(),
                             [](const Function& a, const Function& b) { return a.name < b.name; }));
  EXPECT_EQ(find_function("nope"), nullptr);
}

TEST(FunctionTable, OnlyTheLabelFunctionsCheckTheirArgumentsAtParseTime) {
  for (const Function& f : all_functions()) {
    EXPECT_EQ(f.check != nullptr, f.name == "label_replace" || f.name == "label_join") << f.name;
  }
}

}  // namespace
}  // namespace tocsin::promql
