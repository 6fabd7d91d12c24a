// `tocsin test` run in-process on promtool-format files, each checked against promtool itself when it
// is installed (Debian's is 2.42, hence Compat::prometheus2): a file promtool passes must pass here.
#include "tocsin/rules/unit_test.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <sstream>

#include "fixtures/process.hpp"
#include "tocsin/promql/series_notation.hpp"

namespace tocsin::rules {
namespace {

struct Outcome {
  int status = 0;
  std::string output;
};

class UnitTestRunner : public ::testing::Test {
 protected:
  // Writes the rule file (as r.yaml) and the test file, runs tocsin's runner on it.
  Outcome ours(const std::string& rules, const std::string& tests,
               promql::Compat compat = promql::Compat::prometheus2, UnitTestLimits limits = {}) {
    dir_.write("r.yaml", rules);
    test_file_ = dir_.write("t_test.yaml", tests).string();
    std::ostringstream out;
    UnitTestOptions options;
    options.compat = compat;
    options.limits = limits;
    const int status = run_unit_tests({test_file_}, out, options);
    return {status, out.str()};
  }
  // promtool on the file `ours` last wrote; nullopt when promtool is not installed.
  std::optional<Outcome> theirs() {
    static const auto promtool = testing::find_executable("promtool");
    if (!promtool) return std::nullopt;
    testing::CommandResult r = testing::run_command({*promtool, "test", "rules", test_file_});
    return Outcome{r.status, r.output};
  }
  // Both runners pass the file.
  void expect_both_pass(const std::string& rules, const std::string& tests) {
    Outcome o = ours(rules, tests);
    EXPECT_EQ(o.status, 0) << o.output;
    if (auto t = theirs()) {
      EXPECT_EQ(t->status, 0) << "promtool:\n" << t->output;
    }
  }

  testing::TempDir dir_;
  std::string test_file_;
};

const std::string kNoRules = "groups: []\n";

TEST(SeriesNotation, AccumulatesTheStepAsPromtoolDoes) {
  // v += step, n times (promtool's parser), not start + k*step: the rounding differs.
  auto tenths = promql::expand_series_values("0+0.1x30 3-0.1x30");
  ASSERT_EQ(tenths.size(), 62u);
  EXPECT_EQ(tenths[30].v, 3.0000000000000013);
  double v = 3;
  for (int k = 0; k < 30; ++k) v -= 0.1;
  EXPECT_EQ(tenths[61].v, v);
  EXPECT_NE(tenths[61].v, 3 - 30 * 0.1);
}

TEST_F(UnitTestRunner, SeriesNotationAccumulatesAsPromtoolDoes) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'tenths'
        values: '0+0.1x30'
    promql_expr_test:
      - expr: tenths
        eval_time: 30m
        exp_samples:
          - labels: 'tenths'
            value: 3.0000000000000013
)yaml");
}

// Expected values in YAML's float spellings, the only ones promtool (go-yaml) reads: Prometheus's own
// PromQL tests converted to promtool's format need them for every infinity.
TEST_F(UnitTestRunner, ExpectedInfinitiesInYamlSpellingPassInBoth) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'x{sign="plus"}'
        values: '1'
      - series: 'x{sign="minus"}'
        values: '-1'
    promql_expr_test:
      - expr: x / 0
        eval_time: 0
        exp_samples:
          - labels: '{sign="plus"}'
            value: .inf
          - labels: '{sign="minus"}'
            value: -.inf
      - expr: x{sign="plus"} / 0
        eval_time: 0
        exp_samples:
          - labels: '{sign="plus"}'
            value: +.Inf
)yaml");
}

// promtool never passes an expected NaN (it compares with ==); tocsin compares NaN as equal, in any
// spelling either tool has used.
TEST_F(UnitTestRunner, ExpectedNaNInYamlSpellingMatchesNaN) {
  for (const char* spelling : {".nan", ".NaN", "NaN"}) {
    Outcome o = ours(kNoRules, std::string(R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'x'
        values: '0'
    promql_expr_test:
      - expr: x / 0
        eval_time: 0
        exp_samples:
          - labels: '{}'
            value: )yaml") + spelling +
                                   "\n");
    EXPECT_EQ(o.status, 0) << spelling << ": " << o.output;
  }
}

// A series listed twice in input_series: the last definition is the one loaded, as promtool keeps
// its input in a map by labels (Prometheus's aggregators.test relies on it).
TEST_F(UnitTestRunner, ASeriesListedTwiceKeepsItsLastDefinition) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'data{point="a"}'
        values: '1'
      - series: 'data{point="b"}'
        values: '10'
      - series: 'data{point="a"}'
        values: '5'
    promql_expr_test:
      - expr: sum(data)
        eval_time: 0
        exp_samples:
          - labels: '{}'
            value: 15
      - expr: count(data)
        eval_time: 0
        exp_samples:
          - labels: '{}'
            value: 2
)yaml");
}

// holt_winters (Prometheus 2.x): the values promtool 2.42 computes for Prometheus's own test series
// (functions.test), trends up and down; its factor checks are Prometheus's errors.
TEST_F(UnitTestRunner, HoltWintersGivesPromtoolsValues) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 10s
    input_series:
      - series: 'http_requests{instance="0"}'
        values: '0+10x1000 100+30x1000'
      - series: 'http_requests{instance="1"}'
        values: '0+30x1000 300-80x1000'
    promql_expr_test:
      - expr: holt_winters(http_requests[1m], 0.01, 0.1)
        eval_time: 8000s
        exp_samples:
          - labels: '{instance="0"}'
            value: 7980
          - labels: '{instance="1"}'
            value: 23940
      - expr: holt_winters(http_requests[5m], 0.5, 0.5)
        eval_time: 2h
        exp_samples:
          - labels: '{instance="0"}'
            value: 7200
          - labels: '{instance="1"}'
            value: 21600
)yaml");
  Outcome o = ours(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'x'
        values: '0+1x10'
    promql_expr_test:
      - expr: holt_winters(x[5m], 1, 0.5)
        eval_time: 10m
        exp_samples: []
)yaml");
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.output.find("invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"), std::string::npos)
      << o.output;
}

// Prometheus 3's name for the same maths, in the default (3.x) mode.
TEST_F(UnitTestRunner, DoubleExponentialSmoothingIsHoltWinters) {
  Outcome o = ours(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 10s
    input_series:
      - series: 'http_requests{instance="0"}'
        values: '0+10x1000 100+30x1000'
    promql_expr_test:
      - expr: double_exponential_smoothing(http_requests[5m], 0.5, 0.5) - holt_winters(http_requests[5m], 0.5, 0.5)
        eval_time: 2h
        exp_samples:
          - labels: '{instance="0"}'
            value: 0
)yaml",
                   promql::Compat::prometheus3);
  EXPECT_EQ(o.status, 0) << o.output;
}

// Prometheus 2.x's atan2 keeps the left side's metric name (3.0 drops it, as for arithmetic); log10 is
// Go's Log(x) * (1/Ln10), one bit away from the C library's for 20.
TEST_F(UnitTestRunner, Atan2AndLog10AsPrometheus2ComputesThem) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'trigy'
        values: '10'
      - series: 'trigx'
        values: '20'
    promql_expr_test:
      - expr: trigy atan2 trigx
        eval_time: 0
        exp_samples:
          - labels: 'trigy'
            value: 0.4636476090008061
      - expr: log10(trigx)
        eval_time: 0
        exp_samples:
          - labels: '{}'
            value: 1.301029995663981
)yaml");
}

// Two alerting rules of one name and labels in a group (promtool's lint warns): both run, and each
// fires its own alert, as in promtool.
TEST_F(UnitTestRunner, DuplicateAlertingRulesBothFire) {
  expect_both_pass(R"yaml(groups:
  - name: g
    rules:
      - alert: X
        expr: up == 1
      - alert: X
        expr: up > 0
)yaml",
                   R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="a"}'
        values: '1 1 1'
    alert_rule_test:
      - eval_time: 1m
        alertname: X
        exp_alerts:
          - exp_labels: {job: a}
          - exp_labels: {job: a}
)yaml");
}

// Strings are read verbatim, as promtool reads them: "${1}" is a regex group, "$$" two dollars.
TEST_F(UnitTestRunner, DollarsAreNotEnvironmentVariables) {
  expect_both_pass(R"yaml(groups:
  - name: g
    rules:
      - alert: Renamed
        expr: label_replace(up, "dst", "${1}-$$", "job", "(.*)")
        annotations: {summary: "{{ $labels.dst }}"}
)yaml",
                   R"yaml(rule_files: [r.yaml]
tests:
  - name: ${NOT_SET} stays as written
    interval: 1m
    input_series:
      - series: 'up{job="api"}'
        values: '1'
    alert_rule_test:
      - eval_time: 0
        alertname: Renamed
        exp_alerts:
          - exp_labels: {job: api, dst: "api-$"}
            exp_annotations: {summary: "api-$"}
    promql_expr_test:
      - expr: label_replace(up, "dst", "${1}x", "job", "(.*)")
        eval_time: 0
        exp_samples:
          - labels: 'up{job="api", dst="apix"}'
            value: 1
      - expr: label_replace(up, "dst", "$$1", "job", "(.*)")
        eval_time: 0
        exp_samples:
          - labels: 'up{job="api", dst="$1"}'
            value: 1
)yaml");
}

// Rules evaluated at ts see the input up to ts only; expressions run after the loop see the input up
// to the last evaluation (promtool's lazy loading), so `a offset -1m` at 5m is 6 when 5m is the last
// eval_time and 7 when a later one loaded more.
TEST_F(UnitTestRunner, InputIsLoadedOnlyUpToEachEvaluation) {
  const std::string rules = R"yaml(groups:
  - name: g
    rules:
      - record: ahead
        expr: a offset -1m
)yaml";
  expect_both_pass(rules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'a'
        values: '1+1x10'
    promql_expr_test:
      - expr: a offset -1m
        eval_time: 5m
        exp_samples:
          - labels: 'a'
            value: 6
)yaml");
  expect_both_pass(rules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'a'
        values: '1+1x10'
    promql_expr_test:
      - expr: ahead
        eval_time: 5m
        exp_samples:
          - labels: 'ahead'
            value: 6
      - expr: a offset -1m
        eval_time: 5m
        exp_samples:
          - labels: 'a'
            value: 7
      - expr: a
        eval_time: 10m
        exp_samples:
          - labels: 'a'
            value: 11
)yaml");
}

// A rule that fails to evaluate is named, with promtool's line: "rule: NAME, time: 1m0s, err: ...".
TEST_F(UnitTestRunner, EvaluationErrorsNameTheRule) {
  Outcome o = ours(R"yaml(groups:
  - name: g
    rules:
      - record: fine
        expr: up
      - record: clash
        expr: label_replace(up, "job", "same", "", "")
)yaml",
                   R"yaml(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="a"}'
        values: '1 1'
      - series: 'up{job="b"}'
        values: '1 1'
    promql_expr_test:
      - expr: fine
        eval_time: 1m
        exp_samples:
          - labels: 'fine{job="a"}'
            value: 1
          - labels: 'fine{job="b"}'
            value: 1
)yaml");
  EXPECT_EQ(o.status, 1);
  // As promtool, the first evaluation with errors ends the test case.
  const std::string line =
      "    rule: clash, time: 0s, err: vector cannot contain metrics with the same labelset\n";
  EXPECT_NE(o.output.find("  FAILED:\n" + line + "\n"), std::string::npos) << o.output;
  if (auto t = theirs()) {
    EXPECT_EQ(t->status, 1);
    EXPECT_NE(t->output.find(line), std::string::npos) << t->output;
  }
}

// evaluation_interval: 0 means the default (1m), as in promtool, rather than an endless loop; an
// input interval of 0 puts every value at time 0, where the first one stays.
TEST_F(UnitTestRunner, ZeroIntervalsDoNotHang) {
  expect_both_pass(kNoRules, R"yaml(rule_files: [r.yaml]
evaluation_interval: 0
tests:
  - interval: 0
    input_series:
      - series: 'a'
        values: '1 2 3'
    promql_expr_test:
      - expr: a
        eval_time: 2m
        exp_samples:
          - labels: 'a'
            value: 1
)yaml");
}

// Hostile files: each a few lines that would hang or exhaust memory unbounded, each refused with a
// positioned error (docs/reliability.md, Rule unit tests).
class UnitTestLimitsTest : public UnitTestRunner {
 protected:
  // Runs the file and expects it to fail with `message` (and the file's name in it).
  std::string expect_failure(const std::string& rules, const std::string& tests, const std::string& message,
                             UnitTestLimits limits = {}) {
    Outcome o = ours(rules, tests, promql::Compat::prometheus2, limits);
    EXPECT_EQ(o.status, 1) << o.output;
    EXPECT_NE(o.output.find(message), std::string::npos) << o.output;
    return o.output;
  }
};

const std::string kRecordOne = R"yaml(groups:
  - name: g
    rules:
      - record: one
        expr: vector(1)
)yaml";

TEST_F(UnitTestLimitsTest, AnEvalTimeBeyondWhatCanBeEvaluatedIsRefusedWhereItIsWritten) {
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - alert_rule_test:
      - alertname: A
        eval_time: 1000000000d
)yaml",
                 "t_test.yaml:5:20: tests[0].alert_rule_test[0].eval_time: duration \"1000000000d\" out of "
                 "range: at most 100y");
  // Within the durations a file may give, but 52 million evaluations of every group at 1m.
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: vector(1)
        eval_time: 100y
)yaml",
                 "t_test.yaml:5:20: tests[0].promql_expr_test[0].eval_time: eval_time 100y needs 52560001 "
                 "evaluations at evaluation_interval 1m, "
                 "at most 1000000");
  // The same bound holds when the evaluation interval is the small side of the ratio.
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
evaluation_interval: 1ms
tests:
  - alert_rule_test:
      - alertname: A
        eval_time: 1d
)yaml",
                 "t_test.yaml:6:20: tests[0].alert_rule_test[0].eval_time: eval_time 1d needs 86400001 "
                 "evaluations at evaluation_interval 1ms, "
                 "at most 1000000");
}

TEST_F(UnitTestLimitsTest, ExpandedSeriesAreCountedBeforeAnythingIsExpanded) {
  expect_failure(
      kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - input_series:
      - series: a
        values: '1+1x100000000000'
)yaml",
      "t_test.yaml:4:9: tests[0].input_series[0]: series expands to 100000000001 points, at most 10000000");
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - input_series:
      - series: a
        values: '1 _x18446744073709551615 _x5'
)yaml",
                 "t_test.yaml:4:9: tests[0].input_series[0]: series expands to 18446744073709551615 points, "
                 "at most 10000000");
}

TEST_F(UnitTestLimitsTest, TheInputSeriesOfAFileShareOneBudget) {
  UnitTestLimits limits;
  limits.max_points = 1000;
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - input_series:
      - series: a
        values: '0+1x599'
  - input_series:
      - series: b
        values: '0+1x599'
)yaml",
                 "t_test.yaml:7:9: tests[1].input_series[0]: series expands to 600 points, more than the 400 "
                 "left of the 1000 points "
                 "a test file's input series may hold in all",
                 limits);
}

TEST_F(UnitTestLimitsTest, ASeriesWhoseLastPointHasNoTimeIsRefused) {
  expect_failure(
      kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - interval: 100y
    input_series:
      - series: a
        values: '1 2 3'
)yaml",
      "t_test.yaml:5:9: tests[0].input_series[0]: series of 3 points at interval 100y ends beyond 100y");
}

TEST_F(UnitTestLimitsTest, ASubqueryStopsAtTheSampleLimit) {
  UnitTestLimits limits;
  limits.max_samples = 100'000;
  expect_failure(
      kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: count_over_time(vector(1)[1d:1ms])
        eval_time: 1d
)yaml",
      "expr: \"count_over_time(vector(1)[1d:1ms])\", time: 1d, err: query processing would load too "
      "many samples into memory",
      limits);
}

TEST_F(UnitTestLimitsTest, ASubqueryStopsAtTheQueryTimeout) {
  // 3 * 10^12 steps: no machine finishes it, however fast, so the timeout is what ends it.
  UnitTestLimits limits;
  limits.query_timeout = std::chrono::milliseconds(50);
  limits.max_samples = std::numeric_limits<std::size_t>::max();
  expect_failure(kNoRules, R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: count_over_time(vector(1)[100y:1ms])
        eval_time: 1m
)yaml",
                 "err: query timed out in expression evaluation", limits);
  // A rule's query too: the error names the rule and ends the test case.
  expect_failure(R"yaml(groups:
  - name: g
    rules:
      - record: heavy
        expr: count_over_time(vector(1)[100y:1ms])
)yaml",
                 R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: heavy
        eval_time: 1m
)yaml",
                 "    rule: heavy, time: 0s, err: query timed out in expression evaluation", limits);
}

TEST_F(UnitTestLimitsTest, WhatTheRulesRecordIsBounded) {
  UnitTestLimits limits;
  limits.max_recorded_points = 100;
  expect_failure(kRecordOne, R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: one
        eval_time: 10h
)yaml",
                 "    time: 1h40m0s, err: the rules recorded 101 points, at most 100 in a test case", limits);
}

TEST_F(UnitTestLimitsTest, ATestCaseStopsAtItsWallTime) {
  // 720,001 evaluations cannot all run within a millisecond: the loop stops between two of them.
  UnitTestLimits limits;
  limits.case_timeout = std::chrono::milliseconds(1);
  expect_failure(kRecordOne, R"yaml(rule_files: [r.yaml]
tests:
  - promql_expr_test:
      - expr: one
        eval_time: 500d
)yaml",
                 "err: the test case ran longer than 1ms, stopped before evaluating at", limits);
}

}  // namespace
}  // namespace tocsin::rules
