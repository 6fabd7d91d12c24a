// Functions over a range vector's counter or gauge movement: rate(), increase() and delta() with
// Prometheus's extrapolation, irate() and idelta() from the last two points, and deriv() and
// predict_linear() by least squares. One sample per series with enough points, without the metric name.

#include <cmath>
#include <optional>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

// rate(), increase() and delta(): Prometheus's extrapolatedRate.
std::optional<double> extrapolated_rate(const MatrixView& m, std::span<const Point> points, bool counter,
                                        bool is_rate, Compat compat) {
  if (points.size() < 2) return std::nullopt;
  const Timestamp range_start = m.at - (m.range.count() + m.offset.count());
  const Timestamp range_end = m.at - m.offset.count();
  const std::size_t n = points.size() - 1;
  double result = points[n].v - points[0].v;
  if (counter) {
    double prev = points[0].v;
    for (std::size_t i = 1; i < points.size(); ++i) {
      if (points[i].v < prev) result += prev;
      prev = points[i].v;
    }
  }
  double duration_to_start = static_cast<double>(points[0].t - range_start) / 1000;
  double duration_to_end = static_cast<double>(range_end - points[n].t) / 1000;
  const double sampled = static_cast<double>(points[n].t - points[0].t) / 1000;
  const double average = sampled / static_cast<double>(n);
  const double threshold = average * 1.1;
  const double range_seconds = static_cast<double>(m.range.count()) / 1000;

  if (compat == Compat::prometheus2) {
    // 2.x: the counter's zero point is considered before the extrapolation threshold.
    if (counter && result > 0 && points[0].v >= 0) {
      const double to_zero = sampled * (points[0].v / result);
      if (to_zero < duration_to_start) duration_to_start = to_zero;
    }
    double interval = sampled;
    interval += duration_to_start < threshold ? duration_to_start : average / 2;
    interval += duration_to_end < threshold ? duration_to_end : average / 2;
    double factor = interval / sampled;
    if (is_rate) factor /= range_seconds;
    return result * factor;
  }
  double interval = sampled;
  if (duration_to_start >= threshold) duration_to_start = average / 2;
  if (counter && result > 0 && points[0].v >= 0) {
    const double to_zero = sampled * (points[0].v / result);
    if (to_zero < duration_to_start) duration_to_start = to_zero;
  }
  interval += duration_to_start;
  if (duration_to_end >= threshold) duration_to_end = average / 2;
  interval += duration_to_end;
  double factor = interval / sampled;
  if (is_rate) factor /= range_seconds;
  return result * factor;
}

// irate() and idelta(): the last two points.
std::optional<double> instant_value(std::span<const Point> points, bool is_rate) {
  if (points.size() < 2) return std::nullopt;
  const Point& last = points[points.size() - 1];
  const Point& previous = points[points.size() - 2];
  double result = is_rate && last.v < previous.v ? last.v : last.v - previous.v;
  const Timestamp interval = last.t - previous.t;
  if (interval == 0) return std::nullopt;
  if (is_rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

std::pair<double, double> linear_regression(std::span<const Point> points, Timestamp intercept_time) {
  double n = 0, sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
  const double init_y = points[0].v;
  bool const_y = true;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (const_y && i > 0 && points[i].v != init_y) const_y = false;
    n += 1.0;
    const double x = static_cast<double>(points[i].t - intercept_time) / 1e3;
    kahan_add(x, sum_x, c_x);
    kahan_add(points[i].v, sum_y, c_y);
    kahan_add(x * points[i].v, sum_xy, c_xy);
    kahan_add(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {std::nan(""), std::nan("")};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  const double slope = cov_xy / var_x;
  const double intercept = sum_y / n - slope * sum_x / n;
  return {slope, intercept};
}

// rate(): counter and per second; increase(): counter; delta(): neither.
template <bool Counter, bool IsRate>
EvalValue extrapolated(Evaluator& ev, const Call&, Args args, Timestamp t) {
  const Compat compat = ev.options().compat;
  const MatrixView& m = matrix_arg(args[0]);
  Vector out;
  for (const auto& s : m.series) {
    if (auto v = extrapolated_rate(m, s.points, Counter, IsRate, compat)) {
      out.push_back({drop_name(*s.labels), *v, t});
    }
  }
  return out;
}

// irate(): per second, a drop counting as a reset; idelta(): the plain difference.
template <bool IsRate>
EvalValue last_two(Evaluator&, const Call&, Args args, Timestamp t) {
  Vector out;
  for (const auto& s : matrix_arg(args[0]).series) {
    if (auto v = instant_value(s.points, IsRate)) out.push_back({drop_name(*s.labels), *v, t});
  }
  return out;
}

EvalValue deriv(Evaluator&, const Call&, Args args, Timestamp t) {
  Vector out;
  for (const auto& s : matrix_arg(args[0]).series) {
    if (s.points.size() < 2) continue;
    out.push_back({drop_name(*s.labels), linear_regression(s.points, s.points[0].t).first, t});
  }
  return out;
}

EvalValue predict_linear(Evaluator&, const Call&, Args args, Timestamp t) {
  const double duration = scalar_arg(args[1]);
  Vector out;
  for (const auto& s : matrix_arg(args[0]).series) {
    if (s.points.size() < 2) continue;
    auto [slope, intercept] = linear_regression(s.points, t);
    out.push_back({drop_name(*s.labels), slope * duration + intercept, t});
  }
  return out;
}

}  // namespace

std::vector<Function> rate_functions() {
  return {
      {"rate", {M}, 0, V, extrapolated<true, true>},    {"increase", {M}, 0, V, extrapolated<true, false>},
      {"delta", {M}, 0, V, extrapolated<false, false>}, {"irate", {M}, 0, V, last_two<true>},
      {"idelta", {M}, 0, V, last_two<false>},           {"deriv", {M}, 0, V, deriv},
      {"predict_linear", {M, S}, 0, V, predict_linear},
  };
}

}  // namespace tocsin::promql::detail
