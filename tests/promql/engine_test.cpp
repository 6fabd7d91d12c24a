// Evaluation against series loaded in promtool's notation: operators, matching, aggregations and
// functions, with the edge cases (counter resets, gaps, staleness, lookback, NaN, empty vectors).
#include "tocsin/promql/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "tocsin/promql/parser.hpp"
#include "tocsin/promql/series_notation.hpp"

namespace tocsin::promql {
namespace {

using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void load(const std::string& series, const std::string& values, Duration interval = 15s) {
    data_.add_series(parse_series_labels(series), expand_series_values(values), 0, interval);
  }

  // The result as sorted "labels value" lines, values printed as the API prints them.
  std::string eval(const std::string& query, double seconds, Compat compat = Compat::prometheus3) {
    EngineOptions options;
    options.compat = compat;
    Engine engine(options);
    Value v = engine.instant(data_, *parse(query), static_cast<Timestamp>(seconds * 1000));
    if (auto* s = std::get_if<Scalar>(&v)) return "scalar " + format_value(s->v);
    std::vector<std::string> lines;
    for (const Sample& s : std::get<Vector>(v))
      lines.push_back(s.labels.to_string() + " " + format_value(s.v));
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
  }
  double value(const std::string& query, double seconds, Compat compat = Compat::prometheus3) {
    Value v = Engine(EngineOptions{.compat = compat})
                  .instant(data_, *parse(query), static_cast<Timestamp>(seconds * 1000));
    if (auto* s = std::get_if<Scalar>(&v)) return s->v;
    const Vector& vec = std::get<Vector>(v);
    EXPECT_EQ(vec.size(), 1u) << query;
    return vec.empty() ? std::nan("") : vec[0].v;
  }
  std::string error(const std::string& query, double seconds) {
    try {
      eval(query, seconds);
    } catch (const QueryError& e) {
      return e.what();
    }
    return "no error";
  }

  MemoryQuerier data_;
};

TEST_F(EngineTest, SeriesNotationExpands) {
  auto values = expand_series_values("1+2x3 _x2 stale -1 0 -1x2 1e3 Inf");
  ASSERT_EQ(values.size(), 14u);
  EXPECT_EQ(values[3].v, 7);
  EXPECT_EQ(values[4].kind, SeriesValue::Kind::missing);
  EXPECT_EQ(values[6].kind, SeriesValue::Kind::stale);
  EXPECT_EQ(values[7].v, -1);
  EXPECT_EQ(values[9].v, -1);
  EXPECT_EQ(values[11].v, -1);
  EXPECT_EQ(values[12].v, 1000);
  EXPECT_TRUE(std::isinf(values[13].v));
  EXPECT_THROW(expand_series_values("1+x3"), std::invalid_argument);
  EXPECT_THROW(expand_series_values("abc"), std::invalid_argument);
  EXPECT_EQ(parse_series_labels("up{job=\"a\"}").to_string(), "up{job=\"a\"}");
  EXPECT_THROW(parse_series_labels("up{job=~\"a\"}"), std::invalid_argument);
}

TEST_F(EngineTest, InstantSelectorsLookbackAndStaleness) {
  load("up{job=\"a\"}", "1 1 1 stale");
  load("up{job=\"b\"}", "1 _ _ _ _");
  EXPECT_EQ(eval("up", 30), "up{job=\"a\"} 1\nup{job=\"b\"} 1");
  EXPECT_EQ(eval("up", 45), "up{job=\"b\"} 1");  // a is stale
  EXPECT_EQ(eval("up", 300), "");                // b's last sample is 5m old: (t-5m, t] misses it
  EXPECT_EQ(eval("up", 300, Compat::prometheus2), "up{job=\"b\"} 1");  // [t-5m, t] includes it
  EXPECT_EQ(eval("up offset 30s", 60), "up{job=\"a\"} 1\nup{job=\"b\"} 1");
  EXPECT_EQ(eval("up @ 15", 1000), "up{job=\"a\"} 1\nup{job=\"b\"} 1");
  EXPECT_EQ(eval("timestamp(up)", 40), "{job=\"a\"} 30\n{job=\"b\"} 0");
}

TEST_F(EngineTest, RateIncreaseDeltaFollowPrometheusExtrapolation) {
  load("req{i=\"a\"}", "0+10x20");
  load("req{i=\"c\"}", "0 10 20 5 15 25");
  EXPECT_NEAR(value("rate(req{i=\"a\"}[1m])", 300), 10.0 / 15, 1e-12);
  EXPECT_NEAR(value("rate(req{i=\"a\"}[1m])", 300, Compat::prometheus2), 10.0 / 15, 1e-12);
  EXPECT_NEAR(value("increase(req{i=\"a\"}[1m])", 300), 40, 1e-9);
  // A counter reset adds the value before the reset; 3 points cover 45 s of the 60 s window.
  EXPECT_NEAR(value("increase(req{i=\"c\"}[1m])", 75), 25.0 * 60 / 45, 1e-9);
  EXPECT_NEAR(value("delta(req{i=\"c\"}[1m])", 75), 5.0 * 60 / 45, 1e-9);
  // The series starts inside the window: extrapolated by half an interval, or only to the counter's
  // zero point when that is nearer.
  EXPECT_NEAR(value("increase(req{i=\"a\"}[5m])", 30), 20, 1e-9);
  load("req{i=\"b\"}", "100+10x20");
  EXPECT_NEAR(value("increase(req{i=\"b\"}[5m])", 30), 20.0 * (30 + 7.5) / 30, 1e-9);
  EXPECT_EQ(eval("rate(req{i=\"a\"}[1m])", 0), "");                    // one point is not enough
  EXPECT_NEAR(value("irate(req{i=\"c\"}[1m])", 45), 5.0 / 15, 1e-12);  // reset: the last value over the gap
  EXPECT_NEAR(value("idelta(req{i=\"c\"}[1m])", 45), -15, 1e-12);
  EXPECT_EQ(eval("resets(req[5m])", 75), "{i=\"a\"} 0\n{i=\"b\"} 0\n{i=\"c\"} 1");
  EXPECT_EQ(eval("changes(req{i=\"c\"}[5m])", 75), "{i=\"c\"} 5");
}

TEST_F(EngineTest, OverTimeFunctions) {
  load("g", "1 2 3 4 NaN 6");
  EXPECT_EQ(value("sum_over_time(g[1m])", 45), 10);  // 0s is outside (0, 60]? no: window (-15, 45]
  EXPECT_EQ(value("count_over_time(g[1m])", 45), 4);
  EXPECT_EQ(value("avg_over_time(g[1m])", 45), 2.5);
  EXPECT_EQ(value("min_over_time(g[1m])", 45), 1);
  EXPECT_EQ(value("max_over_time(g[1m])", 75), 6);  // NaN does not win over a number
  EXPECT_EQ(value("last_over_time(g[1m])", 45), 4);
  EXPECT_EQ(value("quantile_over_time(0.5, g[1m])", 45), 2.5);
  EXPECT_NEAR(value("stddev_over_time(g[1m])", 45), std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(value("stdvar_over_time(g[1m])", 45), 1.25, 1e-12);
  EXPECT_EQ(value("present_over_time(g[1m])", 45), 1);
  EXPECT_EQ(eval("absent_over_time(g[1m])", 45), "");
  EXPECT_EQ(eval("absent_over_time(nope{job=\"x\"}[1m])", 45), "{job=\"x\"} 1");
  EXPECT_EQ(eval("absent(nope{job=\"x\",i=~\"a.*\"})", 45), "{job=\"x\"} 1");
  // Prometheus's rules for repeated names: an = matcher sets the label, any later matcher drops it.
  EXPECT_EQ(eval("absent(nope{job=\"a\",job=~\"b\"})", 45), "{} 1");
  EXPECT_EQ(eval("absent(nope{job=\"a\",job!=\"b\",i=\"1\"})", 45), "{i=\"1\"} 1");
  EXPECT_EQ(eval("absent(nope{job=\"a\",job=\"a\"})", 45), "{} 1");
  EXPECT_EQ(eval("absent(nope{job=~\"b\",job=\"a\"})", 45), "{job=\"a\"} 1");
  EXPECT_EQ(eval("absent_over_time(nope{job=\"a\",job=~\"b\"}[1m])", 45), "{} 1");
  EXPECT_EQ(eval("absent(nope{nan=\"x\",Inf=\"y\"})", 45), "{Inf=\"y\", nan=\"x\"} 1");
  EXPECT_EQ(eval("absent(g)", 45), "");
  EXPECT_EQ(eval("last_over_time(g[1m])", 45), "g{} 4");  // keeps the name
  EXPECT_NEAR(value("deriv(g[1m])", 45), 1.0 / 15, 1e-12);
  EXPECT_NEAR(value("predict_linear(g[1m], 15)", 45), 5, 1e-9);
  EXPECT_EQ(value("max_over_time(g[30s:15s])", 45), 4);  // subquery
}

TEST_F(EngineTest, BinaryOperatorsAndMatching) {
  load("errors{job=\"api\",code=\"500\"}", "2");
  load("errors{job=\"api\",code=\"503\"}", "1");
  load("requests{job=\"api\"}", "100");
  load("requests{job=\"web\"}", "50");
  load("team{job=\"api\",team=\"payments\"}", "1");
  EXPECT_EQ(eval("errors / ignoring(code) group_left requests", 0),
            "{code=\"500\", job=\"api\"} 0.02\n{code=\"503\", job=\"api\"} 0.01");
  EXPECT_EQ(eval("sum by (job) (errors) / on(job) requests", 0), "{job=\"api\"} 0.03");
  EXPECT_EQ(eval("requests * on(job) group_left(team) team", 0), "{job=\"api\", team=\"payments\"} 100");
  EXPECT_EQ(eval("requests > 60", 0), "requests{job=\"api\"} 100");
  EXPECT_EQ(eval("requests > bool 60", 0), "{job=\"api\"} 1\n{job=\"web\"} 0");
  EXPECT_EQ(eval("60 < requests", 0), "requests{job=\"api\"} 100");
  EXPECT_EQ(eval("requests and on(job) errors", 0), "requests{job=\"api\"} 100");
  EXPECT_EQ(eval("requests unless on(job) errors", 0), "requests{job=\"web\"} 50");
  EXPECT_EQ(eval("requests{job=\"web\"} or requests", 0),
            "requests{job=\"api\"} 100\nrequests{job=\"web\"} 50");
  EXPECT_EQ(eval("2 ^ 3 ^ 2", 0), "scalar 512");
  EXPECT_EQ(eval("-2 ^ 2", 0), "scalar -4");
  EXPECT_EQ(eval("5 % 3 + 1 == bool 3", 0), "scalar 1");
  EXPECT_EQ(eval("-requests{job=\"web\"}", 0), "{job=\"web\"} -50");
  EXPECT_EQ(eval("requests / 0", 0), "{job=\"api\"} +Inf\n{job=\"web\"} +Inf");
  EXPECT_EQ(eval("(requests - requests) / 0", 0), "{job=\"api\"} NaN\n{job=\"web\"} NaN");
  EXPECT_EQ(
      error("requests / on(job) errors", 0),
      "found duplicate series for the match group {job=\"api\"} on the right hand-side of the operation: "
      "[errors{code=\"503\", job=\"api\"}, errors{code=\"500\", job=\"api\"}];many-to-many matching not "
      "allowed: matching labels must be unique on one side");
  EXPECT_EQ(error("errors + ignoring(code) requests", 0),
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
  EXPECT_EQ(error("sum(label_replace(requests, \"job\", \"all\", \"\", \"\"))", 0),
            "vector cannot contain metrics with the same labelset");
  EXPECT_EQ(eval("sum(abs(errors) or abs(requests))", 0), "{} 153");  // four label sets without names
}

// Prometheus checks for duplicate label sets after each function, operator and label function, not
// only in the final result.
TEST_F(EngineTest, DuplicateLabelSetsFailWhereTheyArise) {
  load("f{job=\"a\"}", "0+1x10");
  load("g{job=\"a\"}", "0+2x10");
  const std::string duplicate = "vector cannot contain metrics with the same labelset";
  EXPECT_EQ(error("sum(rate({__name__=~\"f|g\"}[1m]))", 60), duplicate);
  EXPECT_EQ(error("sum(abs({__name__=~\"f|g\"}))", 60), duplicate);
  EXPECT_EQ(error("sum(-{__name__=~\"f|g\"})", 60), duplicate);
  EXPECT_EQ(error("sum({__name__=~\"f|g\"} * 2)", 60), duplicate);
  EXPECT_EQ(error("count(label_replace({__name__=~\"f|g\"}, \"__name__\", \"\", \"\", \"\"))", 60),
            duplicate);
  EXPECT_EQ(error("max_over_time(sum(abs({__name__=~\"f|g\"}))[1m:15s])", 60), duplicate);
  EXPECT_THROW(Engine().range(data_, *parse("sum(rate({__name__=~\"f|g\"}[1m]))"), 0, 60'000, 15s),
               QueryError);
  // Names kept, or grouped before they go: no duplicates.
  EXPECT_EQ(eval("sum(last_over_time({__name__=~\"f|g\"}[1m]))", 60), "{} 12");
  EXPECT_EQ(eval("sum(rate(f[1m]) or rate(g[1m]))", 60), "{} 0.06666666666666665");
  EXPECT_EQ(eval("sum by (job) ({__name__=~\"f|g\"})", 60), "{job=\"a\"} 12");
}

TEST_F(EngineTest, GroupLeftNeedsUniqueResultLabels) {
  load("a{job=\"x\"}", "1");
  load("b{job=\"x\"}", "2");
  load("c{job=\"x\",team=\"t\"}", "10");
  // a and b both become {job="x"} once + drops the name.
  EXPECT_EQ(error("{__name__=~\"a|b\"} + on(job) group_left c", 0),
            "multiple matches for labels: grouping labels must ensure unique matches");
  EXPECT_EQ(error("{__name__=~\"a|b\"} + on(job) group_right c", 0),
            "found duplicate series for the match group {job=\"x\"} on the left hand-side of the operation: "
            "[b{job=\"x\"}, a{job=\"x\"}];many-to-many matching not allowed: matching labels must be unique "
            "on one side");
  EXPECT_EQ(eval("{__name__=~\"a|b\"} >= on(job) group_left(team) (c / 10)", 0),
            "a{job=\"x\", team=\"t\"} 1\nb{job=\"x\", team=\"t\"} 2");
}

TEST_F(EngineTest, Aggregations) {
  for (int i = 1; i <= 4; ++i)
    load("v{i=\"" + std::to_string(i) + "\",g=\"" + (i % 2 ? "odd" : "even") + "\"}", std::to_string(i));
  EXPECT_EQ(eval("sum(v)", 0), "{} 10");
  EXPECT_EQ(eval("sum by (g) (v)", 0), "{g=\"even\"} 6\n{g=\"odd\"} 4");
  EXPECT_EQ(eval("avg without (i) (v)", 0), "{g=\"even\"} 3\n{g=\"odd\"} 2");
  EXPECT_EQ(eval("count(v)", 0), "{} 4");
  EXPECT_EQ(eval("min(v)", 0), "{} 1");
  EXPECT_EQ(eval("max by (g) (v)", 0), "{g=\"even\"} 4\n{g=\"odd\"} 3");
  EXPECT_EQ(eval("group(v)", 0), "{} 1");
  EXPECT_NEAR(value("stddev(v)", 0), std::sqrt(1.25), 1e-12);
  EXPECT_EQ(value("stdvar(v)", 0), 1.25);
  EXPECT_EQ(eval("topk(2, v)", 0), "v{g=\"even\", i=\"4\"} 4\nv{g=\"odd\", i=\"3\"} 3");
  EXPECT_EQ(eval("bottomk by (g) (1, v)", 0), "v{g=\"even\", i=\"2\"} 2\nv{g=\"odd\", i=\"1\"} 1");
  EXPECT_EQ(value("quantile(0.5, v)", 0), 2.5);
  EXPECT_EQ(eval("count_values(\"value\", v > 2)", 0), "{value=\"3\"} 1\n{value=\"4\"} 1");
  EXPECT_EQ(eval("sum(nothing)", 0), "");
}

TEST_F(EngineTest, HistogramQuantile) {
  load("lat_bucket{le=\"0.1\"}", "0+1x10");
  load("lat_bucket{le=\"0.5\"}", "0+3x10");
  load("lat_bucket{le=\"+Inf\"}", "0+4x10");
  // rate over 1m: buckets 1, 3, 4 per 15 s -> rank 0.9*4/15 lands in (0.1, 0.5] or beyond.
  EXPECT_NEAR(value("histogram_quantile(0.5, rate(lat_bucket[1m]))", 150), 0.1 + 0.4 * (2.0 - 1) / (3 - 1),
              1e-12);
  EXPECT_EQ(value("histogram_quantile(0.99, rate(lat_bucket[1m]))", 150),
            0.5);                                                           // in +Inf: the last finite bound
  EXPECT_EQ(eval("histogram_quantile(0.5, rate(lat_bucket[1m]))", 0), "");  // no rate from one point
  load("bad_bucket{le=\"1\"}", "5");
  load("bad_bucket{le=\"2\"}", "3");  // not monotonic: forced up to 5
  load("bad_bucket{le=\"+Inf\"}", "5");
  EXPECT_EQ(value("histogram_quantile(0.5, bad_bucket)", 0), 0.5);
  load("noinf_bucket{le=\"1\"}", "5");
  EXPECT_TRUE(std::isnan(value("histogram_quantile(0.5, noinf_bucket)", 0)));
  EXPECT_EQ(value("histogram_quantile(1.5, bad_bucket)", 0), std::numeric_limits<double>::infinity());
}

TEST_F(EngineTest, LabelAndMathFunctions) {
  load("up{instance=\"host-1:9100\",job=\"node\"}", "1");
  EXPECT_EQ(eval("label_replace(up, \"host\", \"$1\", \"instance\", \"(.*):.*\")", 0),
            "up{host=\"host-1\", instance=\"host-1:9100\", job=\"node\"} 1");
  EXPECT_EQ(eval("label_replace(up, \"host\", \"${1}x\", \"instance\", \"nomatch\")", 0),
            "up{instance=\"host-1:9100\", job=\"node\"} 1");
  EXPECT_EQ(eval("label_replace(up, \"job\", \"\", \"job\", \".*\")", 0), "up{instance=\"host-1:9100\"} 1");
  EXPECT_EQ(eval("label_join(up, \"both\", \"/\", \"job\", \"instance\")", 0),
            "up{both=\"node/host-1:9100\", instance=\"host-1:9100\", job=\"node\"} 1");
  EXPECT_EQ(eval("clamp(vector(5), 0, 3)", 0), "{} 3");
  EXPECT_EQ(eval("clamp(vector(5), 3, 0)", 0), "");
  EXPECT_EQ(eval("clamp_min(vector(-1), 0)", 0), "{} 0");
  EXPECT_EQ(eval("round(vector(2.5))", 0), "{} 3");
  EXPECT_EQ(eval("round(vector(2.26), 0.1)", 0), "{} 2.3");
  EXPECT_EQ(eval("abs(vector(-2)) + ceil(vector(1.2)) + floor(vector(1.8))", 0), "{} 5");
  EXPECT_EQ(
      eval("sqrt(vector(16)) + ln(vector(1)) + log2(vector(8)) + log10(vector(100)) + exp(vector(0))", 0),
      "{} 10");
  EXPECT_EQ(eval("scalar(up) + scalar(vector(1) unless vector(1))", 0), "scalar NaN");
  EXPECT_EQ(eval("time()", 90), "scalar 90");
  // 2024-02-29T13:45:00Z = 1709214300
  EXPECT_EQ(eval("day_of_week(vector(1709214300))", 0), "{} 4");
  EXPECT_EQ(eval("hour(vector(1709214300)) * 100 + minute(vector(1709214300))", 0), "{} 1345");
  EXPECT_EQ(eval("days_in_month(vector(1709214300))", 0), "{} 29");
  Value sorted = Engine().instant(
      data_, *parse("sort_desc(vector(1) or label_replace(vector(3), \"a\", \"b\", \"\", \"\"))"), 0);
  ASSERT_EQ(std::get<Vector>(sorted).size(), 2u);
  EXPECT_EQ(std::get<Vector>(sorted)[0].v, 3);
}

TEST_F(EngineTest, RangeQueriesAndLimits) {
  load("c", "0+1x8");
  Engine engine;
  Matrix m = engine.range(data_, *parse("c * 2"), 0, 60'000, 30s);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].points.size(), 3u);
  EXPECT_EQ(m[0].points[2].t, 60'000);
  EXPECT_EQ(m[0].points[2].v, 8);
  Matrix s = engine.range(data_, *parse("time()"), 0, 30'000, 15s);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].points.size(), 3u);
  EXPECT_THROW(engine.range(data_, *parse("c[1m]"), 0, 1, 1s), QueryError);
  Engine tiny(EngineOptions{.max_samples = 3});
  try {
    tiny.instant(data_, *parse("c[5m]"), 120'000);
    FAIL() << "expected too many samples";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.kind(), QueryError::Kind::too_many_samples);
  }
  try {
    tiny.instant(data_, *parse("max_over_time(c[1h:1s])"), 120'000);
    FAIL() << "expected too many samples from a subquery";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.kind(), QueryError::Kind::too_many_samples);
  }
  // A range query's output counts: 9 loaded points, but the lookback repeats them at every step.
  Engine bounded(EngineOptions{.max_samples = 100});
  EXPECT_EQ(bounded.range(data_, *parse("c"), 0, 60'000, 1s)[0].points.size(), 61u);  // 9 + 61 samples
  try {
    bounded.range(data_, *parse("c"), 0, 400'000, 1s);
    FAIL() << "expected too many samples in the output";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.kind(), QueryError::Kind::too_many_samples);
    EXPECT_STREQ(e.what(), "query processing would load too many samples into memory in query execution");
  }
  load("x{a=\"1\"}", "1");
  load("other{a=\"1\"}", "1");
  EXPECT_EQ(error("abs({a=\"1\"})", 0), "vector cannot contain metrics with the same labelset");
}

// max_samples bounds what a query holds at once (Prometheus's currentSamples): an inner subquery's
// points are released when its function has read them, so nested subqueries within the bound run.
TEST_F(EngineTest, SubqueryPointsAreReleasedAfterTheirFunction) {
  load("c", "0+1x10");
  Engine bounded(EngineOptions{.max_samples = 1'300});
  Value v = bounded.instant(data_, *parse("max_over_time(max_over_time(c[10m:1s])[10m:1s])"), 600'000);
  ASSERT_EQ(std::get<Vector>(v).size(), 1u);
  EXPECT_THROW(bounded.instant(data_, *parse("max_over_time(c[10m:100ms])"), 600'000), QueryError);
}

// The timeout and cancellation stop an evaluation inside its subqueries, not after them: this one
// would take hours.
TEST_F(EngineTest, TimeoutAndCancellationStopNestedSubqueries) {
  const char* hours = "max_over_time(max_over_time(max_over_time(vector(1)[1h:1s])[1h:1s])[1h:1s])";
  Engine quick(EngineOptions{.timeout = std::chrono::milliseconds(200)});
  try {
    quick.instant(data_, *parse(hours), 3'600'000);
    FAIL() << "expected a timeout";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.kind(), QueryError::Kind::timeout);
  }
  std::atomic<bool> cancelled{true};
  Engine stopping(EngineOptions{.cancelled = &cancelled});
  try {
    stopping.instant(data_, *parse(hours), 3'600'000);
    FAIL() << "expected cancellation";
  } catch (const QueryError& e) {
    EXPECT_EQ(e.kind(), QueryError::Kind::cancelled);
  }
}

// A range ending at the largest timestamp: the steps are counted, so adding the step to the last one
// cannot overflow and loop (it did).
TEST_F(EngineTest, RangeQueryEndingAtTheLargestTimestamp) {
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  Engine engine;
  Matrix m = engine.range(data_, *parse("1"), kMax - 10'000, kMax, 1s);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].points.size(), 11u);
  EXPECT_EQ(m[0].points.back().t, kMax);
  EXPECT_THROW(engine.range(data_, *parse("1"), std::numeric_limits<Timestamp>::min(), kMax, 1s), QueryError);
}

}  // namespace
}  // namespace tocsin::promql
