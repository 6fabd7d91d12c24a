// The project's promtool-format test files, run through the real binary: the PromQL and plain
// Prometheus rule files agree with promtool (Debian's is 2.x, hence --compat prometheus2), and the
// bundled rules library passes its own tests.
#include <gtest/gtest.h>

#include <filesystem>

#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> test_files(const std::string& dir) {
  std::vector<std::string> out;
  const fs::path root = fs::path(TOCSIN_SOURCE_DIR) / dir;
  if (!fs::exists(root)) return out;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.path().filename().string().ends_with("_test.yaml")) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RuleTests, AgreeWithPromtool) {
  std::vector<std::string> files = test_files("tests/promql/testdata");
  auto more = test_files("tests/rules/testdata");
  files.insert(files.end(), more.begin(), more.end());
  ASSERT_GE(files.size(), 2u);
  auto promtool = find_executable("promtool");
  if (!promtool) std::cerr << "promtool not installed: only tocsin's side is checked\n";
  for (const auto& file : files) {
    CommandResult ours = run_command({TOCSIN_EXECUTABLE, "test", "--compat", "prometheus2", file});
    EXPECT_EQ(ours.status, 0) << ours.output;
    EXPECT_NE(ours.output.find("SUCCESS"), std::string::npos) << ours.output;
    if (promtool) {
      CommandResult theirs = run_command({*promtool, "test", "rules", file});
      EXPECT_EQ(theirs.status, 0) << "promtool disagrees on " << file << ":\n" << theirs.output;
    }
  }
}

TEST(RuleTests, BundledRulesPassTheirTests) {
  std::vector<std::string> files = test_files("rules/tests");
  ASSERT_FALSE(files.empty()) << "no tests in rules/tests";
  for (const auto& file : files) {
    CommandResult r = run_command({TOCSIN_EXECUTABLE, "test", file});
    EXPECT_EQ(r.status, 0) << r.output;
  }
}

TEST(RuleTests, FailuresPrintExpectedAndGotAndExitOne) {
  TempDir dir;
  dir.write("r.yaml", "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n");
  auto test = dir.write("t_test.yaml", R"(rule_files: [r.yaml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="a"}'
        values: '0 0'
    alert_rule_test:
      - eval_time: 1m
        alertname: Down
        exp_alerts: []
    promql_expr_test:
      - expr: up
        eval_time: 1m
        exp_samples:
          - labels: 'up{job="a"}'
            value: 1
)");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "test", test.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("alertname: Down, time: 1m"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Labels:{alertname=\"Down\", job=\"a\"}"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("exp: up{job=\"a\"} 1\n        got: up{job=\"a\"} 0"), std::string::npos)
      << r.output;
  CommandResult usage = run_command({TOCSIN_EXECUTABLE, "test"});
  EXPECT_EQ(usage.status, 2);
  CommandResult missing = run_command({TOCSIN_EXECUTABLE, "test", (dir / "nope.yaml").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("nope.yaml"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace tocsin::testing
