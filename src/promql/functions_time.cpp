// Time and date functions: time(), timestamp(), and the calendar fields of each value read as Unix
// seconds in UTC (or of the evaluation time, when called without an argument).

#include <cmath>
#include <ctime>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

std::tm utc(double seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// Fn(tm) of each value, NaN for a value that is not a time; of the evaluation time without an argument.
template <auto Fn>
EvalValue date(Evaluator&, const Call&, Args args, Timestamp t) {
  if (args.empty()) return Vector{{Labels{}, Fn(utc(static_cast<double>(t) / 1000)), t}};
  return map_values(vector_arg(args[0]), t,
                    [](double v) { return std::isnan(v) || std::isinf(v) ? std::nan("") : Fn(utc(v)); });
}

double days_in_month(const std::tm& tm) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int year = tm.tm_year + 1900;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return double(tm.tm_mon == 1 && leap ? 29 : kDays[tm.tm_mon]);
}

EvalValue evaluation_time(Evaluator&, const Call&, Args, Timestamp t) {
  return Scalar{static_cast<double>(t) / 1000, t};
}

EvalValue sample_times(Evaluator&, const Call&, Args args, Timestamp t) {
  Vector v = vector_arg(args[0]);
  for (Sample& s : v) {
    s.v = static_cast<double>(s.t) / 1000;
    s.labels = drop_name(s.labels);
    s.t = t;
  }
  return v;
}

}  // namespace

std::vector<Function> time_functions() {
  return {
      {"time", {}, 0, S, evaluation_time},
      {"timestamp", {V}, 0, V, sample_times},
      {"day_of_month", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_mday); }>},
      {"day_of_week", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_wday); }>},
      {"day_of_year", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_yday + 1); }>},
      {"days_in_month", {V}, 1, V, date<days_in_month>},
      {"hour", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_hour); }>},
      {"minute", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_min); }>},
      {"month", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_mon + 1); }>},
      {"year", {V}, 1, V, date<[](const std::tm& tm) { return double(tm.tm_year + 1900); }>},
  };
}

}  // namespace tocsin::promql::detail
