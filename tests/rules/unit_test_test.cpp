// `tocsin test` run in-process on promtool-format files, each checked against promtool itself when it
// is installed (Debian's is 2.42, hence Compat::prometheus2): a file promtool passes must pass here.
#include "tocsin/rules/unit_test.hpp"

#include <gtest/gtest.h>

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
               promql::Compat compat = promql::Compat::prometheus2) {
    dir_.write("r.yaml", rules);
    test_file_ = dir_.write("t_test.yaml", tests).string();
    std::ostringstream out;
    UnitTestOptions options;
    options.compat = compat;
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

}  // namespace
}  // namespace tocsin::rules
