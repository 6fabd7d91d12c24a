// `tocsin rules export` through the real binary, checked by the real promtool (Debian's 2.42): the
// bundled rules exported pass `promtool check rules`, the bundled tests exported pass `promtool test
// rules`, tier by tier, and bad input gets the errors `tocsin check rules` gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::minutes kSlow{5};

std::vector<std::string> bundled(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(fs::path(TOCSIN_SOURCE_DIR) / dir)) {
    if (entry.path().filename().string().ends_with(suffix)) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> with(std::vector<std::string> argv, const std::vector<std::string>& more) {
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

TEST(RulesExportCli, BundledRulesExportedPassPromtoolCheckRules) {
  auto promtool = find_executable("promtool");
  if (!promtool) GTEST_SKIP() << "promtool not installed";
  TempDir dir;
  const auto files = bundled("rules", ".yaml");
  ASSERT_FALSE(files.empty());
  CommandResult r =
      run_command(with({TOCSIN_EXECUTABLE, "rules", "export", "-o", dir.path().string()}, files));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& f : files) {
    const fs::path out = dir / fs::path(f).filename().string();
    ASSERT_TRUE(fs::exists(out)) << out;
    CommandResult check = run_command({*promtool, "check", "rules", out.string()});
    EXPECT_EQ(check.status, 0) << f << ":\n" << check.output << read(out);
    // app.yaml records some series by two rules, one per source metric (promtool's duplicate-rules
    // lint, a warning there as in tocsin); nothing else may be reported.
    CommandResult unlinted = run_command({*promtool, "check", "rules", "--lint=none", out.string()});
    EXPECT_EQ(unlinted.status, 0) << unlinted.output;
    EXPECT_NE(unlinted.output.find("SUCCESS"), std::string::npos) << unlinted.output;
  }
}

TEST(RulesExportCli, BundledTestsExportedPassPromtoolTestRules) {
  TempDir dir;
  const auto files = bundled("rules/tests", "_test.yaml");
  ASSERT_FALSE(files.empty());
  CommandResult r = run_command(
      with({TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", dir.path().string()}, files), {}, kSlow);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exported "), std::string::npos) << r.output;
  auto promtool = find_executable("promtool");
  for (const auto& f : files) {
    const fs::path out = dir / fs::path(f).filename().string();
    ASSERT_TRUE(fs::exists(out)) << out;
    // tocsin's own runner over the plain exported rules, as promtool 2.42 evaluates them.
    CommandResult ours =
        run_command({TOCSIN_EXECUTABLE, "test", "--compat", "prometheus2", out.string()}, {}, kSlow);
    EXPECT_EQ(ours.status, 0) << ours.output;
    if (promtool) {
      CommandResult theirs = run_command({*promtool, "test", "rules", out.string()}, {}, kSlow);
      EXPECT_EQ(theirs.status, 0) << "promtool disagrees on " << out << ":\n" << theirs.output << read(out);
    }
  }
}

// Tier by tier: up from warning to critical without a resolve, a warning held by clear's band, clear's
// `for`, a plain rule's keep_firing_for; every case is kept and promtool agrees with tocsin's result
// on the original rules. Coming down from critical is where Prometheus waits for the lower tier's `for`
// again: that case is left out, with what the exported rules give.
TEST(RulesExportCli, TieredTestsAgreeWithPromtoolTierByTier) {
  TempDir src;
  TempDir out;
  src.write("tiers.yaml", R"(groups:
  - name: g
    rules:
      - alert: Up
        expr: v
        tiers:
          warning:  { above: 0.8, for: 2m }
          critical: { above: 0.9, for: 2m }
        escalation: default
      - alert: Held
        expr: h
        tiers:
          warning:  { above: 0.8, for: 2m }
          critical: { above: 0.9, for: 2m }
        clear: { below: 0.7, for: 3m }
      - alert: Gone
        expr: g == 0
        keep_firing_for: 3m
)");
  const auto test = src.write("tiers_test.yaml", R"(rule_files: [tiers.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'v{target="a"}'
        values: '0.85x4 0.95x5 0.5x3'
      - series: 'h{target="b"}'
        values: '0.85x4 0.75x3 0.5x6'
      - series: 'g'
        values: '0 0 1x10'
    alert_rule_test:
      - {eval_time: 1m, alertname: Up, exp_alerts: []}
      - {eval_time: 2m, alertname: Up, exp_alerts: [{exp_labels: {severity: warning, target: a}}]}
      - {eval_time: 6m, alertname: Up, exp_alerts: [{exp_labels: {severity: warning, target: a}}]}
      - {eval_time: 7m, alertname: Up, exp_alerts: [{exp_labels: {severity: critical, target: a}}]}
      - {eval_time: 9m, alertname: Up, exp_alerts: [{exp_labels: {severity: critical, target: a}}]}
      - {eval_time: 10m, alertname: Up, exp_alerts: [{exp_labels: {severity: critical, target: a}}]}
      - {eval_time: 11m, alertname: Up, exp_alerts: []}
      - {eval_time: 2m, alertname: Held, exp_alerts: [{exp_labels: {severity: warning, target: b}}]}
      - {eval_time: 6m, alertname: Held, exp_alerts: [{exp_labels: {severity: warning, target: b}}]}
      - {eval_time: 10m, alertname: Held, exp_alerts: [{exp_labels: {severity: warning, target: b}}]}
      - {eval_time: 11m, alertname: Held, exp_alerts: [{exp_labels: {severity: warning, target: b}}]}
      - {eval_time: 12m, alertname: Held, exp_alerts: []}
      - {eval_time: 4m, alertname: Gone, exp_alerts: [{exp_labels: {}}]}
      - {eval_time: 5m, alertname: Gone, exp_alerts: []}
)");
  CommandResult original = run_command({TOCSIN_EXECUTABLE, "test", test.string()});
  ASSERT_EQ(original.status, 0) << original.output;
  CommandResult r = run_command(
      {TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", out.path().string(), test.string()}, {}, kSlow);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exported 14 test case(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("left out 0 "), std::string::npos) << r.output;
  const std::string text = read(out / "tiers_test.yaml");
  EXPECT_NE(text.find("rule_files:\n  - tiers.yaml\n"), std::string::npos) << text;
  EXPECT_NE(read(out / "tiers.yaml").find("# dropped (tocsin only): escalation: default"), std::string::npos);
  if (auto promtool = find_executable("promtool")) {
    CommandResult theirs = run_command({*promtool, "test", "rules", (out / "tiers_test.yaml").string()});
    EXPECT_EQ(theirs.status, 0) << theirs.output << text;
  }

  // Down from critical to warning: tocsin at once, Prometheus after the warning's `for`.
  const auto down = src.write("down_test.yaml", R"(rule_files: [tiers.yaml]
evaluation_interval: 1m
fuzzy_compare: true
tests:
  - interval: 1m
    input_series:
      - series: 'v{target="a"}'
        values: '0.95x4 0.85x4'
    alert_rule_test:
      - {eval_time: 3m, alertname: Up, exp_alerts: [{exp_labels: {severity: critical, target: a}}]}
      - {eval_time: 5m, alertname: Up, exp_alerts: [{exp_labels: {severity: warning, target: a}}]}
)");
  ASSERT_EQ(run_command({TOCSIN_EXECUTABLE, "test", down.string()}).status, 0);
  r = run_command({TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", out.path().string(), down.string()},
                  {}, kSlow);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("exported 1 test case(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("left out 1 "), std::string::npos) << r.output;
  const std::string down_text = read(out / "down_test.yaml");
  EXPECT_NE(down_text.find("# dropped: fuzzy_compare"), std::string::npos) << down_text;
  EXPECT_NE(down_text.find("# left out of tests[0]: alert_rule_test at 5m for Up; the exported rules give"),
            std::string::npos)
      << down_text;
  EXPECT_EQ(down_text.find("\nfuzzy_compare"), std::string::npos) << down_text;
  if (auto promtool = find_executable("promtool")) {
    CommandResult theirs = run_command({*promtool, "test", "rules", (out / "down_test.yaml").string()});
    EXPECT_EQ(theirs.status, 0) << theirs.output << down_text;
  }
}

// promtool 2.42 evaluates groups in Go's map order, a new one each run, unless group_eval_order says;
// tocsin evaluates them in file order. An alert on a series recorded by another file's group fires at
// 2m only when the recording group runs first, so the exported test names the order tocsin used.
TEST(RulesExportCli, ExportedTestsEvaluateGroupsInTocsinsOrder) {
  TempDir src;
  TempDir out;
  src.write("rec.yaml", "groups:\n  - name: record\n    rules:\n      - record: r\n        expr: v * 2\n");
  src.write("alert.yaml", "groups:\n  - name: alert\n    rules:\n      - alert: High\n        expr: r > 1\n");
  const auto test = src.write("order_test.yaml", R"(rule_files: [rec.yaml, alert.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'v'
        values: '0 0 5 5'
    alert_rule_test:
      - {eval_time: 1m, alertname: High, exp_alerts: []}
      - {eval_time: 2m, alertname: High, exp_alerts: [{exp_labels: {}}]}
)");
  ASSERT_EQ(run_command({TOCSIN_EXECUTABLE, "test", test.string()}).status, 0);
  CommandResult r = run_command(
      {TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", out.path().string(), test.string()}, {}, kSlow);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string text = read(out / "order_test.yaml");
  EXPECT_NE(text.find("group_eval_order:\n  - record\n  - alert\n"), std::string::npos) << text;
  if (auto promtool = find_executable("promtool")) {
    // Without the order each run passes half the time; eight in a row by chance is 1 in 256.
    for (int run = 0; run < 8; ++run) {
      CommandResult theirs = run_command({*promtool, "test", "rules", (out / "order_test.yaml").string()});
      ASSERT_EQ(theirs.status, 0) << "run " << run << ":\n" << theirs.output << text;
    }
  }
}

TEST(RulesExportCli, WritesToStandardOutputWithoutADirectory) {
  TempDir dir;
  auto rules =
      dir.write("r.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "rules", "export", rules.string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(
      r.output.find("groups:\n  - name: 'g'\n    rules:\n      - alert: 'A'\n        expr: 'up == 0'\n"),
      std::string::npos)
      << r.output;
}

TEST(RulesExportCli, BadInputGetsTheErrorsOfCheckRules) {
  TempDir dir;
  auto bad = dir.write("bad.yaml",
                       "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n"
                       "        tiers:\n          warning: { above: 1 }\n          warning: { above: 2 }\n");
  const std::string missing = (dir / "nope.yaml").string();
  for (const std::string& file : {bad.string(), missing}) {
    CommandResult check = run_command({TOCSIN_EXECUTABLE, "check", "rules", file});
    CommandResult r = run_command({TOCSIN_EXECUTABLE, "rules", "export", "-o", (dir / "out").string(), file});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_EQ(check.status, 2);
    EXPECT_EQ(r.output, check.output);
    EXPECT_FALSE(fs::exists(dir / "out" / fs::path(file).filename()));
  }
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "rules", "export", bad.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(bad.string() + ":5:20: groups[0].rules[0].expr: could not parse expression"),
            std::string::npos)
      << r.output;

  // A test file naming a bad rule file, and one that is not YAML: positioned errors, nothing written.
  auto test = dir.write("t_test.yaml", "rule_files: [bad.yaml]\ntests: []\n");
  r = run_command(
      {TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", (dir / "out").string(), test.string()});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(bad.string() + ":5:20: groups[0].rules[0].expr: could not parse expression"),
            std::string::npos)
      << r.output;
  auto broken = dir.write("broken_test.yaml", "rule_files: [\ntests: x\n");
  r = run_command(
      {TOCSIN_EXECUTABLE, "rules", "export", "--tests", "-o", (dir / "out").string(), broken.string()});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(broken.string() + ":"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out" / "t_test.yaml"));
  EXPECT_FALSE(fs::exists(dir / "out" / "broken_test.yaml"));

  // Usage.
  EXPECT_EQ(run_command({TOCSIN_EXECUTABLE, "rules", "export"}).status, 2);
  EXPECT_EQ(run_command({TOCSIN_EXECUTABLE, "rules", "import", bad.string()}).status, 2);
  r = run_command({TOCSIN_EXECUTABLE, "rules", "export", "--tests", test.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--tests needs -o DIR"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tocsin::testing
