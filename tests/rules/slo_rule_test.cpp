// SLOs in the rule engine: `tocsin test` driving a burn to the SRE Workbook's detection times, counter
// resets, gaps, excluded time, a restart in the middle of the window, and `tocsin check rules`.
#include "tocsin/rules/slo_rule.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "fixtures/process.hpp"
#include "tocsin/promql/series_notation.hpp"
#include "tocsin/rules/group.hpp"
#include "tocsin/rules/unit_test.hpp"

namespace tocsin::rules {
namespace {

using namespace std::chrono_literals;

std::string run_tests(const std::string& file) {
  std::ostringstream out;
  const int status = run_unit_tests({file}, out);
  return std::to_string(status) + "\n" + out.str();
}

TEST(SloRules, ABurnFiresPageAndTicketAtTheWorkbooksTimes) {
  EXPECT_EQ(run_tests(std::string(TOCSIN_SOURCE_DIR) + "/tests/rules/slo_testdata/slo_burn_test.yaml"),
            "0\nUnit Testing:  " + std::string(TOCSIN_SOURCE_DIR) +
                "/tests/rules/slo_testdata/slo_burn_test.yaml\n  SUCCESS\n\n");
}

// Two hours of 100 requests a second, 1 in 101 failing, from counters; `requests` is the 200s' notation.
std::string counters_test(const std::string& ok_values, const std::string& error_values) {
  return R"(rule_files: [r.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{code="200"}'
        values: ')" +
         ok_values + R"('
      - series: 'http_requests_total{code="500"}'
        values: ')" +
         error_values + R"('
    promql_expr_test:
      - expr: round(slo:sli_error:ratio_rate1h * 1e6)
        eval_time: 2h
        exp_samples: [ { labels: '{sloth_id="web-web", sloth_service="web", sloth_slo="web", sloth_window="1h"}', value: 9901 } ]
      - expr: round(tocsin_slo_total_events{sloth_window="1h"})
        eval_time: 2h
        exp_samples: [ { labels: '{sloth_id="web-web", sloth_service="web", sloth_slo="web", sloth_window="1h"}', value: 363600 } ]
      - expr: tocsin_slo_missing_seconds
        eval_time: 2h
        exp_samples: [ { labels: 'tocsin_slo_missing_seconds{sloth_id="web-web", sloth_service="web", sloth_slo="web", sloth_window="30d"}', value: )" +
         "MISSING" + R"( } ]
)";
}

constexpr const char* kCounterSlo = R"(slos:
  - name: web
    objective: 99
    indicator:
      ratio:
        errors: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
        total: 'sum(rate(http_requests_total[{{.window}}]))'
)";

std::string with_missing(std::string text, const std::string& missing) {
  text.replace(text.find("MISSING"), 7, missing);
  return text;
}

TEST(SloRules, ACounterResetChangesNoFigure) {
  testing::TempDir dir;
  dir.write("r.yaml", kCounterSlo);
  // The rate over 5m needs two samples: the first evaluation (0m) has none, so 60 s are missing.
  const auto plain =
      dir.write("plain_test.yaml", with_missing(counters_test("0+6000x120", "0+60x120"), "60"));
  EXPECT_EQ(run_tests(plain.string()), "0\nUnit Testing:  " + plain.string() + "\n  SUCCESS\n\n");
  // Both counters restart (the process behind them did) just after 1h, and count on from 0.
  const auto reset = dir.write(
      "reset_test.yaml", with_missing(counters_test("0+6000x60 6000+6000x59", "0+60x60 60+60x59"), "60"));
  EXPECT_EQ(run_tests(reset.string()), "0\nUnit Testing:  " + reset.string() + "\n  SUCCESS\n\n");
}

TEST(SloRules, NoDataIsMissingNotGoodOrBad) {
  testing::TempDir dir;
  dir.write("r.yaml", kCounterSlo);
  // No samples at minutes 61 to 70: rate[5m] still has two samples up to 63m, none from 64m to 71m (8
  // evaluations, 480 s), and the first evaluation misses 60 s. The 1h window then holds 52 minutes of data.
  const auto gap = dir.write("gap_test.yaml",
                             R"(rule_files: [r.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{code="200"}'
        values: '0+6000x60 _x10 426000+6000x49'
      - series: 'http_requests_total{code="500"}'
        values: '0+60x60 _x10 4260+60x49'
    promql_expr_test:
      - expr: tocsin_slo_missing_seconds
        eval_time: 2h
        exp_samples: [ { labels: 'tocsin_slo_missing_seconds{sloth_id="web-web", sloth_service="web", sloth_slo="web", sloth_window="30d"}', value: 540 } ]
      - expr: round(slo:sli_error:ratio_rate1h * 1e6)
        eval_time: 72m
        exp_samples: [ { labels: '{sloth_id="web-web", sloth_service="web", sloth_slo="web", sloth_window="1h"}', value: 9901 } ]
)");
  EXPECT_EQ(run_tests(gap.string()), "0\nUnit Testing:  " + gap.string() + "\n  SUCCESS\n\n");
}

class Memory final : public RuleOutput {
 public:
  explicit Memory(promql::MemoryQuerier& data) : data_(data) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    (void)key;
    for (const auto& s : samples) data_.add(s.labels, {t, s.v});
  }

 private:
  promql::MemoryQuerier& data_;
};

// An SLO fed by gauges of the rates: 100 requests a second, 1 % failing in the 11 evaluations from minute 30
// to minute 40.
class SloGroupTest : public ::testing::Test {
 protected:
  SloGroupTest() {
    data_.add_series(promql::parse_series_labels("req_rate"), promql::expand_series_values("100x400"), 0,
                     1min);
    data_.add_series(promql::parse_series_labels("err_rate"), promql::expand_series_values("0x29 1x10 0x360"),
                     0, 1min);
  }
  std::unique_ptr<Group> make(const std::string& extra = "") {
    yaml::Diagnostics d;
    auto groups = parse_rule_text(R"(slos:
  - name: jobs
    objective: 99
    window: 7d
    indicator: { ratio: { errors: 'sum(err_rate)', total: 'sum(req_rate)' } }
)" + extra,
                                  "r.yaml", d);
    EXPECT_TRUE(d.empty()) << d.to_string();
    return std::make_unique<Group>(groups.at(0), 1min);
  }
  void run(Group& g, int from, int to, EvalSettings settings = {}) {
    for (int m = from; m <= to; ++m) g.evaluate({engine_, data_, out_, Timestamp(m) * 60'000, settings});
  }
  static slo::Status status(const Group& g) { return g.slos(false).at(0).status; }

  promql::MemoryQuerier data_;
  Memory out_{data_};
  promql::Engine engine_{promql::EngineOptions{}};
};

TEST_F(SloGroupTest, ARestartInTheMiddleOfTheWindowLosesNothing) {
  auto whole = make();
  run(*whole, 0, 180);
  auto first = make();
  run(*first, 0, 90);
  const std::string snapshot = first->slos(true).at(0).history;
  first.reset();
  auto second = make();
  ASSERT_EQ(second->restore_slo("jobs-jobs", snapshot), "");
  run(*second, 91, 180);
  const slo::Status a = status(*whole), b = status(*second);
  ASSERT_EQ(a.windows.size(), b.windows.size());
  for (std::size_t i = 0; i < a.windows.size(); ++i) {
    EXPECT_DOUBLE_EQ(a.windows[i].totals.bad, b.windows[i].totals.bad) << a.windows[i].name;
    EXPECT_DOUBLE_EQ(a.windows[i].totals.total, b.windows[i].totals.total) << a.windows[i].name;
  }
  // By hand: 11 minutes at 1 req/s failing of 181 minutes at 100 req/s; the budget is 1 %.
  EXPECT_NEAR(b.period().error_ratio, 660.0 / (181 * 6000), 1e-12);
  EXPECT_NEAR(b.budget_consumed, 660.0 / (181 * 6000) / 0.01, 1e-9);

  // Down from 90m to 100m: the 9 minutes before the evaluation at 100m are missing, not good.
  auto down = make();
  ASSERT_EQ(down->restore_slo("jobs-jobs", snapshot), "");
  run(*down, 100, 180);
  EXPECT_DOUBLE_EQ(status(*down).period().totals.missing_seconds, 540);
  EXPECT_NEAR(status(*down).period().totals.total, (181 - 9) * 6000.0, 1e-6);
  // A snapshot of another SLO id is not this one's; a damaged one is refused.
  EXPECT_EQ(second->restore_slo("jobs-jobs", "garbage"), "not an SLO history snapshot");
}

TEST_F(SloGroupTest, ExcludedTimeNeitherSpendsNorEarns) {
  auto g = make("    exclude: [maint]\n");
  EvalSettings settings;
  // The errors fall inside the maintenance window (evaluations 30m to 40m account for 29m to 40m).
  settings.in_time_interval = [](const std::string& name, Timestamp t) {
    return name == "maint" && t >= 30 * 60'000 && t <= 40 * 60'000;
  };
  run(*g, 0, 60, settings);
  const slo::Status s = status(*g);
  EXPECT_DOUBLE_EQ(s.period().totals.excluded_seconds, 660);
  EXPECT_DOUBLE_EQ(s.period().totals.bad, 0);
  EXPECT_DOUBLE_EQ(s.period().totals.total, (61 - 11) * 6000.0);
  EXPECT_DOUBLE_EQ(s.budget_remaining, 1);
}

TEST_F(SloGroupTest, AReloadKeepsTheHistoryAndTheAlerts) {
  auto before = make();
  run(*before, 0, 40);
  auto after = make();
  after->take_state_from(*before);
  EXPECT_DOUBLE_EQ(status(*after).period().totals.bad, status(*before).period().totals.bad);
  run(*after, 41, 41);
  EXPECT_NEAR(status(*after).period().totals.bad, 660, 1e-9);  // 11 minutes at 1/s
  EXPECT_NEAR(status(*after).period().totals.total, 42 * 6000, 1e-9);
  // The same SLO (same sloth_id) with another alert name and objective keeps its history too.
  auto renamed = make("    alerting: { name: JobsBurn }\n");
  renamed->take_state_from(*after);
  run(*renamed, 42, 42);
  EXPECT_NEAR(status(*renamed).period().totals.total, 43 * 6000, 1e-9);
}

TEST(SloRules, OpenSloDocumentsMapWhatMapsAndRefuseTheRest) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(R"(apiVersion: openslo/v1
kind: SLO
metadata: { name: web-availability, displayName: Web availability, labels: { team: web } }
spec:
  service: web
  description: Requests without a 5xx
  budgetingMethod: Occurrences
  timeWindow: [ { duration: 28d, isRolling: true } ]
  objectives: [ { displayName: good, target: 0.995 } ]
  indicator:
    metadata: { name: web-errors }
    spec:
      ratioMetric:
        counter: true
        bad: { metricSource: { type: Prometheus, spec: { query: 'http_requests_total{code=~"5.."}' } } }
        total: { metricSource: { type: Prometheus, spec: { query: 'http_requests_total' } } }
---
apiVersion: openslo/v1
kind: SLO
metadata: { name: web-latency }
spec:
  budgetingMethod: Occurrences
  timeWindow: [ { duration: 7d } ]
  objectives: [ { targetPercent: 99 } ]
  indicator:
    spec:
      ratioMetric:
        good: { metricSource: { type: Prometheus, spec: { query: 'sum(fast_rate)' } } }
        total: { metricSource: { type: Prometheus, spec: { query: 'sum(all_rate)' } } }
)",
                                "o.yaml", d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  ASSERT_EQ(groups.size(), 2u);
  const slo::Definition& a = *groups[0].rules.at(0).slo;
  EXPECT_EQ(groups[0].name, "slo:web-availability");
  EXPECT_EQ(a.id(), "web-web-availability");
  EXPECT_NEAR(a.objective, 0.995, 1e-12);
  EXPECT_EQ(a.window, 28 * 24h);
  EXPECT_EQ(promql::to_string(*a.errors), R"(sum(rate(http_requests_total{code=~"5.."}[5m])))");
  EXPECT_EQ(promql::to_string(*a.total), "sum(rate(http_requests_total[5m]))");
  EXPECT_EQ(a.labels, (std::vector<std::pair<std::string, std::string>>{{"team", "web"}}));
  EXPECT_NEAR(a.page.windows[0].factor, 13.44, 1e-9);  // 2 % of 28 days in an hour
  const slo::Definition& b = *groups[1].rules.at(0).slo;
  EXPECT_NEAR(b.objective, 0.99, 1e-12);
  EXPECT_EQ(b.window, 7 * 24h);
  EXPECT_EQ(promql::to_string(*b.good), "sum(fast_rate)");

  yaml::Diagnostics bad;
  parse_rule_text(R"(apiVersion: openslo/v1
kind: SLO
metadata: { name: x }
spec:
  budgetingMethod: RatioTimeslices
  timeWindow: [ { duration: 1M, calendar: { startTime: "2024-01-01 00:00:00", timeZone: UTC } } ]
  objectives: [ { target: 0.99 }, { target: 0.999 } ]
  indicatorRef: x-sli
  alertPolicies: [ page ]
)",
                  "o.yaml", bad);
  bad.sort();
  EXPECT_EQ(
      bad.to_string(),
      "o.yaml:5:20: spec.budgetingMethod: budgetingMethod RatioTimeslices does not map to tocsin "
      "(Occurrences "
      "or Timeslices)\n"
      "o.yaml:6:29: spec.timeWindow[0].duration: invalid duration \"1M\" (use e.g. 500ms, 15s, 5m, 1h30m, "
      "2d)\n"
      "o.yaml:6:43: spec.timeWindow[0].calendar: calendar windows do not map to tocsin (rolling only)\n"
      "o.yaml:7:15: spec.objectives: give one objective (tocsin keeps one budget per SLO)\n"
      "o.yaml:8:17: spec.indicatorRef: indicatorRef does not map: inline the indicator\n"
      "o.yaml:9:18: spec.alertPolicies: alertPolicies do not map: tocsin's SLO alerts are the multi-window "
      "burn rates\n");

  // The service names the budget history's file in state_dir: checked as the native key is.
  yaml::Diagnostics escape;
  parse_rule_text(R"(apiVersion: openslo/v1
kind: SLO
metadata: { name: x }
spec:
  service: ../../evil
  budgetingMethod: Occurrences
  timeWindow: [ { duration: 7d, isRolling: true } ]
  objectives: [ { target: 0.99 } ]
  indicator:
    spec:
      ratioMetric:
        bad: { metricSource: { type: Prometheus, spec: { query: 'errors' } } }
        total: { metricSource: { type: Prometheus, spec: { query: 'total' } } }
)",
                  "e.yaml", escape);
  EXPECT_EQ(escape.to_string(),
            "e.yaml:5:12: spec.service: a service name is 1 to 128 letters, digits, '-', '_' or '.': "
            "\"../../evil\"\n");
}

TEST(SloRules, CheckRulesReportsSloErrorsWithPositions) {
  testing::TempDir dir;
  const auto file = dir.write("bad.yaml", R"(groups: []
slos:
  - name: api
    objective: 99.9
    window: 100d
    indicator: { ratio: { errors: 'sum(rate(x[{{.window}}]', total: 'up' } }
    alerting: { page: { min_events: many } }
)");
  testing::CommandResult r = testing::run_command({TOCSIN_EXECUTABLE, "check", "rules", file.string()});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(file.string() + ":5:13: slos[0].window: window must be from 1d to 90d, got 100d"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(file.string() + ":6:35: slos[0].indicator.ratio.errors: could not parse errors"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(file.string() +
                          ":7:37: slos[0].alerting.page.min_events: expected a number, got \"many\""),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tocsin::rules
