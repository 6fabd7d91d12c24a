// Aggregations over time: one value per series of a range vector that has points in its window,
// computed from those points (read in place, never copied), without the metric name
// (last_over_time keeps it). changes() and resets() count transitions between neighbouring points.

#include <cmath>
#include <cstdio>
#include <string>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

// One sample per series of the range vector that has points, from fn(points).
template <typename Fn>
Vector over_time(const MatrixView& m, Timestamp t, bool keep_name, Fn fn) {
  Vector out;
  out.reserve(m.series.size());
  for (const auto& s : m.series) {
    if (s.points.empty()) continue;
    out.push_back({keep_name ? *s.labels : drop_name(*s.labels), fn(s.points), t});
  }
  return out;
}

// The callable of a function whose value depends only on each series' points.
template <auto Fn, bool KeepName = false>
EvalValue of_points(Evaluator&, const Call&, Args args, Timestamp t) {
  return over_time(matrix_arg(args[0]), t, KeepName, [](std::span<const Point> p) { return Fn(p); });
}

double avg_points(std::span<const Point> points) {
  double sum = points[0].v, count = 1, mean = 0, c = 0;
  bool incremental = false;
  for (std::size_t i = 1; i < points.size(); ++i) {
    const double f = points[i].v;
    count = static_cast<double>(i + 1);
    if (!incremental) {
      double s = sum, k = c;
      kahan_add(f, s, k);
      if (!std::isinf(s)) {
        sum = s;
        c = k;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const double q = (count - 1) / count;
    double m = q * mean, k = q * c;
    kahan_add(f / count, m, k);
    mean = m;
    c = k;
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

double sum_points(std::span<const Point> points) {
  double sum = 0, c = 0;
  for (const Point& x : points) kahan_add(x.v, sum, c);
  return std::isinf(sum) ? sum : sum + c;
}

double min_points(std::span<const Point> points) {
  double min = points[0].v;
  for (const Point& x : points) {
    if (x.v < min || std::isnan(min)) min = x.v;
  }
  return min;
}

double max_points(std::span<const Point> points) {
  double max = points[0].v;
  for (const Point& x : points) {
    if (x.v > max || std::isnan(max)) max = x.v;
  }
  return max;
}

double variance_points(std::span<const Point> points) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Point& p : points) {
    count++;
    const double delta = p.v - (mean + c_mean);
    kahan_add(delta / count, mean, c_mean);
    kahan_add(delta * (p.v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

// changes(): neighbours that differ (two NaNs do not); resets(): a drop.
template <bool Changes>
double transitions(std::span<const Point> p) {
  double n = 0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    const double prev = p[i - 1].v, cur = p[i].v;
    if (Changes ? !(cur == prev || (std::isnan(cur) && std::isnan(prev))) : cur < prev) n += 1;
  }
  return n;
}

EvalValue quantile_over_time(Evaluator& ev, const Call&, Args args, Timestamp t) {
  const double q = scalar_arg(args[0]);
  std::vector<double>& values = ev.scratch();
  return over_time(matrix_arg(args[1]), t, false, [&](std::span<const Point> p) {
    values.clear();
    for (const Point& x : p) values.push_back(x.v);
    return quantile(q, values);
  });
}

// Go's %f (six decimals; NaN and infinities spelled as Go spells them).
std::string go_fixed(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[400];
  std::snprintf(buf, sizeof buf, "%f", v);
  return buf;
}

// holt_winters (Prometheus 2.x) and double_exponential_smoothing (3.x, the same maths): the last
// smoothed value of Holt's linear method, with the smoothing and trend factors in (0, 1).
EvalValue double_exponential_smoothing(Evaluator&, const Call&, Args args, Timestamp t) {
  const double sf = scalar_arg(args[1]);
  const double tf = scalar_arg(args[2]);
  if (!(sf > 0 && sf < 1)) {
    execution_error("invalid smoothing factor. Expected: 0 < sf < 1, got: " + go_fixed(sf));
  }
  if (!(tf > 0 && tf < 1)) {
    execution_error("invalid trend factor. Expected: 0 < tf < 1, got: " + go_fixed(tf));
  }
  const MatrixView& m = matrix_arg(args[0]);
  Vector out;
  for (const auto& series : m.series) {
    const std::span<const Point> p = series.points;
    if (p.size() < 2) continue;  // no trend from one point
    double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
    for (std::size_t i = 1; i < p.size(); ++i) {
      const double x = sf * p[i].v;
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
      const double y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    out.push_back({drop_name(*series.labels), s1, t});
  }
  return out;
}

}  // namespace

std::vector<Function> over_time_functions() {
  return {
      {"avg_over_time", {M}, 0, V, of_points<avg_points>},
      {"sum_over_time", {M}, 0, V, of_points<sum_points>},
      {"count_over_time", {M}, 0, V, of_points<[](std::span<const Point> p) { return double(p.size()); }>},
      {"min_over_time", {M}, 0, V, of_points<min_points>},
      {"max_over_time", {M}, 0, V, of_points<max_points>},
      {"last_over_time", {M}, 0, V, of_points<[](std::span<const Point> p) { return p.back().v; }, true>},
      {"present_over_time", {M}, 0, V, of_points<[](std::span<const Point>) { return 1.0; }>},
      {"stddev_over_time",
       {M},
       0,
       V,
       of_points<[](std::span<const Point> p) { return std::sqrt(variance_points(p)); }>},
      {"stdvar_over_time", {M}, 0, V, of_points<variance_points>},
      {"quantile_over_time", {S, M}, 0, V, quantile_over_time},
      {"holt_winters", {M, S, S}, 0, V, double_exponential_smoothing},
      {"double_exponential_smoothing", {M, S, S}, 0, V, double_exponential_smoothing},
      {"changes", {M}, 0, V, of_points<transitions<true>>},
      {"resets", {M}, 0, V, of_points<transitions<false>>},
  };
}

}  // namespace tocsin::promql::detail
