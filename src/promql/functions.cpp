// The PromQL function library, following Prometheus's promql/functions.go formula by formula.

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numbers>
#include <unordered_set>

#include <re2/re2.h>

#include "promql/evaluator.hpp"

namespace tocsin::promql::detail {

namespace {

Labels drop_name(const Labels& labels) {
  LabelsBuilder b(labels);
  b.del(kMetricNameLabel);
  return b.build();
}

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

const Vector& vector_arg(const EvalValue& v) { return std::get<Vector>(v); }
double scalar_arg(const EvalValue& v) { return std::get<Scalar>(v).v; }
const std::string& string_arg(const EvalValue& v) { return std::get<String>(v).value; }

template <typename Fn>
Vector map_values(Vector in, Timestamp t, Fn fn) {
  for (Sample& s : in) {
    s.v = fn(s.v);
    s.labels = drop_name(s.labels);
    s.t = t;
  }
  return in;
}

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

// histogram_quantile over classic buckets, as Prometheus's BucketQuantile.
struct Bucket {
  double upper;
  double count;
};

double bucket_quantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  std::sort(buckets.begin(), buckets.end(), [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (buckets.empty() || !(std::isinf(buckets.back().upper) && buckets.back().upper > 0)) return std::nan("");
  // Coalesce buckets with the same upper bound.
  std::size_t w = 0;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].upper == buckets[w].upper) {
      buckets[w].count += buckets[i].count;
    } else {
      buckets[++w] = buckets[i];
    }
  }
  buckets.resize(w + 1);
  // Ensure monotonicity, ignoring tiny floating-point differences (tolerance 1e-12).
  auto almost_equal = [](double a, double b) {
    constexpr double kEpsilon = 1e-12;
    constexpr double kMinNormal = 2.2250738585072014e-308;
    if (a == b) return true;
    const double abs_sum = std::fabs(a) + std::fabs(b);
    const double diff = std::fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEpsilon * kMinNormal;
    return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEpsilon;
  };
  double prev = buckets[0].count;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    const double curr = buckets[i].count;
    if (curr == prev) continue;
    if (almost_equal(prev, curr) || curr < prev) {
      buckets[i].count = prev;
      continue;
    }
    prev = curr;
  }
  if (buckets.size() < 2) return std::nan("");
  const double observations = buckets.back().count;
  if (observations == 0) return std::nan("");
  double rank = q * observations;
  std::size_t b = 0;
  while (b < buckets.size() - 1 && buckets[b].count < rank) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper;
  if (b == 0 && buckets[0].upper <= 0) return buckets[0].upper;
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

// Go's regexp.Expand for label_replace: $1, ${1}, $name, ${name}, $$.
std::string expand(const std::string& tmpl, const re2::RE2& re, const std::vector<std::string_view>& groups) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    std::size_t end = i + 1;
    if (tmpl[end] == '{') {
      const std::size_t close = tmpl.find('}', end);
      if (close == std::string::npos) {
        out += tmpl[i];
        continue;
      }
      name = tmpl.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[end])) || tmpl[end] == '_')) ++end;
      name = tmpl.substr(i + 1, end - i - 1);
    }
    if (name.empty()) {
      out += tmpl[i];
      continue;
    }
    const bool numeric = std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    int index = -1;
    if (numeric) {
      index = name.size() < 9 ? std::stoi(name) : -1;
    } else {
      const auto& named = re.NamedCapturingGroups();
      if (auto it = named.find(name); it != named.end()) index = it->second;
    }
    if (index >= 0 && static_cast<std::size_t>(index) < groups.size()) out += groups[static_cast<std::size_t>(index)];
    i = end - 1;
  }
  return out;
}

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

std::tm utc(double seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

EvalValue call_function(Evaluator& ev, const Call& call, const Expr& /*expr*/, Timestamp t) {
  std::vector<EvalValue> args;
  args.reserve(call.args.size());
  for (const auto& a : call.args) args.push_back(ev.eval(*a, t));
  const Compat compat = ev.options().compat;
  using F = FunctionId;
  auto matrix = [&](std::size_t i) -> const MatrixView& { return std::get<MatrixView>(args[i]); };
  auto simple = [&](auto fn) -> EvalValue { return map_values(vector_arg(args[0]), t, fn); };
  auto date = [&](auto fn) -> EvalValue {
    if (args.empty()) return Vector{{Labels{}, fn(utc(static_cast<double>(t) / 1000)), t}};
    return map_values(vector_arg(args[0]), t, [&](double v) {
      return std::isnan(v) || std::isinf(v) ? std::nan("") : fn(utc(v));
    });
  };

  switch (call.function->id) {
    case F::abs: return simple([](double v) { return std::fabs(v); });
    case F::ceil: return simple([](double v) { return std::ceil(v); });
    case F::floor: return simple([](double v) { return std::floor(v); });
    case F::sqrt: return simple([](double v) { return std::sqrt(v); });
    case F::exp: return simple([](double v) { return std::exp(v); });
    case F::ln: return simple([](double v) { return std::log(v); });
    case F::log2: return simple([](double v) { return std::log2(v); });
    case F::log10: return simple([](double v) { return std::log10(v); });
    case F::sin: return simple([](double v) { return std::sin(v); });
    case F::cos: return simple([](double v) { return std::cos(v); });
    case F::tan: return simple([](double v) { return std::tan(v); });
    case F::asin: return simple([](double v) { return std::asin(v); });
    case F::acos: return simple([](double v) { return std::acos(v); });
    case F::atan: return simple([](double v) { return std::atan(v); });
    case F::sinh: return simple([](double v) { return std::sinh(v); });
    case F::cosh: return simple([](double v) { return std::cosh(v); });
    case F::tanh: return simple([](double v) { return std::tanh(v); });
    case F::asinh: return simple([](double v) { return std::asinh(v); });
    case F::acosh: return simple([](double v) { return std::acosh(v); });
    case F::atanh: return simple([](double v) { return std::atanh(v); });
    case F::deg: return simple([](double v) { return v * 180 / std::numbers::pi; });
    case F::rad: return simple([](double v) { return v * std::numbers::pi / 180; });
    case F::pi: return Scalar{std::numbers::pi, t};
    case F::sgn:
      return simple([](double v) { return v < 0 ? -1.0 : v > 0 ? 1.0 : v; });
    case F::round: {
      const double to_nearest = args.size() > 1 ? scalar_arg(args[1]) : 1.0;
      const double inverse = 1.0 / to_nearest;
      return simple([&](double v) { return std::floor(v * inverse + 0.5) / inverse; });
    }
    case F::clamp: {
      const double lo = scalar_arg(args[1]), hi = scalar_arg(args[2]);
      if (hi < lo) return Vector{};
      return simple([&](double v) { return go_max(lo, go_min(hi, v)); });
    }
    case F::clamp_max: {
      const double hi = scalar_arg(args[1]);
      return simple([&](double v) { return go_min(hi, v); });
    }
    case F::clamp_min: {
      const double lo = scalar_arg(args[1]);
      return simple([&](double v) { return go_max(lo, v); });
    }
    case F::time: return Scalar{static_cast<double>(t) / 1000, t};
    case F::vector: return Vector{{Labels{}, scalar_arg(args[0]), t}};
    case F::scalar: {
      const Vector& v = vector_arg(args[0]);
      return Scalar{v.size() == 1 ? v[0].v : std::nan(""), t};
    }
    case F::timestamp: {
      Vector v = vector_arg(args[0]);
      for (Sample& s : v) {
        s.v = static_cast<double>(s.t) / 1000;
        s.labels = drop_name(s.labels);
        s.t = t;
      }
      return v;
    }
    case F::sort:
    case F::sort_desc: {
      Vector v = vector_arg(args[0]);
      const bool desc = call.function->id == F::sort_desc;
      std::stable_sort(v.begin(), v.end(), [&](const Sample& a, const Sample& b) {
        if (std::isnan(a.v)) return false;
        if (std::isnan(b.v)) return true;
        return desc ? a.v > b.v : a.v < b.v;
      });
      return v;
    }
    case F::day_of_month: return date([](const std::tm& tm) { return double(tm.tm_mday); });
    case F::day_of_week: return date([](const std::tm& tm) { return double(tm.tm_wday); });
    case F::day_of_year: return date([](const std::tm& tm) { return double(tm.tm_yday + 1); });
    case F::hour: return date([](const std::tm& tm) { return double(tm.tm_hour); });
    case F::minute: return date([](const std::tm& tm) { return double(tm.tm_min); });
    case F::month: return date([](const std::tm& tm) { return double(tm.tm_mon + 1); });
    case F::year: return date([](const std::tm& tm) { return double(tm.tm_year + 1900); });
    case F::days_in_month:
      return date([](const std::tm& tm) {
        static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const int year = tm.tm_year + 1900;
        const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return double(tm.tm_mon == 1 && leap ? 29 : kDays[tm.tm_mon]);
      });

    case F::rate:
    case F::increase:
    case F::delta: {
      const bool counter = call.function->id != F::delta;
      const bool is_rate = call.function->id == F::rate;
      const MatrixView& m = matrix(0);
      Vector out;
      for (const auto& s : m.series) {
        if (auto v = extrapolated_rate(m, s.points, counter, is_rate, compat)) {
          out.push_back({drop_name(*s.labels), *v, t});
        }
      }
      return out;
    }
    case F::irate:
    case F::idelta: {
      const bool is_rate = call.function->id == F::irate;
      Vector out;
      for (const auto& s : matrix(0).series) {
        if (auto v = instant_value(s.points, is_rate)) out.push_back({drop_name(*s.labels), *v, t});
      }
      return out;
    }
    case F::deriv: {
      Vector out;
      for (const auto& s : matrix(0).series) {
        if (s.points.size() < 2) continue;
        out.push_back({drop_name(*s.labels), linear_regression(s.points, s.points[0].t).first, t});
      }
      return out;
    }
    case F::predict_linear: {
      const double duration = scalar_arg(args[1]);
      const MatrixView& m = matrix(0);
      Vector out;
      for (const auto& s : m.series) {
        if (s.points.size() < 2) continue;
        auto [slope, intercept] = linear_regression(s.points, t);
        out.push_back({drop_name(*s.labels), slope * duration + intercept, t});
      }
      return out;
    }
    case F::avg_over_time: return over_time(matrix(0), t, false, avg_points);
    case F::sum_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point> p) {
        double sum = 0, c = 0;
        for (const Point& x : p) kahan_add(x.v, sum, c);
        return std::isinf(sum) ? sum : sum + c;
      });
    case F::count_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point> p) { return double(p.size()); });
    case F::min_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point> p) {
        double min = p[0].v;
        for (const Point& x : p) {
          if (x.v < min || std::isnan(min)) min = x.v;
        }
        return min;
      });
    case F::max_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point> p) {
        double max = p[0].v;
        for (const Point& x : p) {
          if (x.v > max || std::isnan(max)) max = x.v;
        }
        return max;
      });
    case F::last_over_time:
      return over_time(matrix(0), t, true, [](std::span<const Point> p) { return p.back().v; });
    case F::present_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point>) { return 1.0; });
    case F::stddev_over_time:
      return over_time(matrix(0), t, false, [](std::span<const Point> p) { return std::sqrt(variance_points(p)); });
    case F::stdvar_over_time: return over_time(matrix(0), t, false, variance_points);
    case F::quantile_over_time: {
      const double q = scalar_arg(args[0]);
      std::vector<double>& values = ev.scratch();
      return over_time(matrix(1), t, false, [&](std::span<const Point> p) {
        values.clear();
        for (const Point& x : p) values.push_back(x.v);
        return quantile(q, values);
      });
    }
    case F::changes:
    case F::resets: {
      const bool changes = call.function->id == F::changes;
      return over_time(matrix(0), t, false, [&](std::span<const Point> p) {
        double n = 0;
        for (std::size_t i = 1; i < p.size(); ++i) {
          const double prev = p[i - 1].v, cur = p[i].v;
          if (changes ? !(cur == prev || (std::isnan(cur) && std::isnan(prev))) : cur < prev) n += 1;
        }
        return n;
      });
    }
    case F::absent: {
      if (!vector_arg(args[0]).empty()) return Vector{};
      return Vector{{absent_labels(*call.args[0]), 1, t}};
    }
    case F::absent_over_time: {
      for (const auto& s : matrix(0).series) {
        if (!s.points.empty()) return Vector{};
      }
      return Vector{{absent_labels(*call.args[0]), 1, t}};
    }
    case F::histogram_quantile: {
      const double q = scalar_arg(args[0]);
      const Vector& in = vector_arg(args[1]);
      struct Group {
        Labels labels;
        std::vector<Bucket> buckets;
      };
      std::vector<Group> groups;
      std::unordered_map<std::uint64_t, std::size_t> index;
      static const std::vector<std::string> kDropped = {std::string(kMetricNameLabel), "le"};
      for (const Sample& s : in) {
        const std::string_view le = s.labels.get("le");
        if (le.empty()) continue;
        char* end = nullptr;
        const std::string le_text(le);
        double upper = std::strtod(le_text.c_str(), &end);
        if (le_text == "+Inf" || le_text == "Inf" || le_text == "inf" || le_text == "+inf") {
          upper = std::numeric_limits<double>::infinity();
        } else if (end != le_text.c_str() + le_text.size()) {
          continue;  // an `le` that is not a number: Prometheus skips the sample
        }
        auto [it, fresh] = index.emplace(s.labels.hash_for(kDropped, false), groups.size());
        if (fresh) {
          LabelsBuilder b(s.labels);
          b.del(kMetricNameLabel);
          b.del("le");
          groups.push_back({b.build(), {}});
        }
        groups[it->second].buckets.push_back({upper, s.v});
      }
      Vector out;
      for (Group& g : groups) out.push_back({std::move(g.labels), bucket_quantile(q, g.buckets), t});
      return out;
    }
    case F::label_replace: {
      const std::string& dst = string_arg(args[1]);
      const std::string& replacement = string_arg(args[2]);
      const std::string& src = string_arg(args[3]);
      const std::string& pattern = string_arg(args[4]);
      re2::RE2::Options options;
      options.set_dot_nl(true);
      options.set_log_errors(false);
      re2::RE2 re("^(?:" + pattern + ")$", options);
      if (!re.ok()) execution_error("invalid regular expression in label_replace(): " + pattern);
      if (!is_valid_label_name(dst)) execution_error("invalid destination label name in label_replace(): " + dst);
      Vector v = vector_arg(args[0]);
      const int n = re.NumberOfCapturingGroups() + 1;
      std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(n));
      for (Sample& s : v) {
        const std::string value(s.labels.get(src));
        if (!re.Match(value, 0, value.size(), re2::RE2::UNANCHORED, pieces.data(), n)) {
          s.t = t;
          continue;
        }
        std::vector<std::string_view> groups;
        for (const auto& p : pieces) groups.emplace_back(p.data() ? std::string_view(p.data(), p.size()) : std::string_view());
        LabelsBuilder b(s.labels);
        b.set(dst, expand(replacement, re, groups));  // an empty value deletes the label
        s.labels = b.build();
        s.t = t;
      }
      return v;
    }
    case F::label_join: {
      const std::string& dst = string_arg(args[1]);
      const std::string& sep = string_arg(args[2]);
      if (!is_valid_label_name(dst)) execution_error("invalid destination label name in label_join(): " + dst);
      Vector v = vector_arg(args[0]);
      for (Sample& s : v) {
        std::string joined;
        for (std::size_t i = 3; i < args.size(); ++i) {
          if (i > 3) joined += sep;
          joined += s.labels.get(string_arg(args[i]));
        }
        LabelsBuilder b(s.labels);
        b.set(dst, joined);
        s.labels = b.build();
        s.t = t;
      }
      return v;
    }
  }
  execution_error("function \"" + std::string(call.function->name) + "\" is not implemented");
}

}  // namespace tocsin::promql::detail
