// `tocsin check rules FILE...`: rule files checked on their own, as `promtool check rules` does, through
// the real binary.
#include <gtest/gtest.h>

#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

TEST(CheckRules, ChecksRuleFilesWithoutAConfig) {
  TempDir dir;
  auto good = dir.write("good.yaml",
                        "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n"
                        "      - alert: A\n        expr: up == 0\n");
  CommandResult ok = run_command({TOCSIN_EXECUTABLE, "check", "rules", good.string()});
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(ok.output, "OK: 1 rule file(s), 2 rule(s)\n");

  auto bad = dir.write("bad.yaml",
                       "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n"
                       "        tiers:\n          warning: { above: 1 }\n          warning: { above: 2 }\n");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "check", "rules", good.string(), bad.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, bad.string() +
                          ":5:20: groups[0].rules[0].expr: could not parse expression: unexpected end of "
                          "input, expected expression\n" +
                          bad.string() + ":8:11: groups[0].rules[0].tiers.warning: duplicate key\n");

  CommandResult missing = run_command({TOCSIN_EXECUTABLE, "check", "rules", (dir / "nope.yaml").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.output.find("nope.yaml"), std::string::npos) << missing.output;

  CommandResult usage = run_command({TOCSIN_EXECUTABLE, "check", "rules"});
  EXPECT_EQ(usage.status, 2);
  CommandResult other = run_command({TOCSIN_EXECUTABLE, "check", good.string()});
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.output.find("tocsin check rules RULE_FILE"), std::string::npos) << other.output;
}

// An escalation name the config does not define falls back to the route: a warning, not an error, and
// only once the config defines policies (the bundled rules name `default` before anyone has set one up).
TEST(CheckConfig, WarnsOfAnEscalationPolicyTheConfigLacks) {
  TempDir dir;
  dir.write("rules.yaml",
            "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n"
            "        escalation: primray\n      - alert: B\n        expr: up == 0\n"
            "        escalation: primary\n");
  auto with_policies = dir.write("tocsin.yaml",
                                 "rule_files: [rules.yaml]\nescalation_policies:\n  primary:\n"
                                 "    steps:\n      - { after: 0m, notify: [log] }\n");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "check", "--config", with_policies.string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(
      r.output.find("warning: " + (dir / "rules.yaml").string() +
                    ":4:9: A: escalation policy \"primray\" is not defined (defined: primary); the matching "
                    "route decides\n"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find(": B:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("OK: "), std::string::npos) << r.output;

  auto without = dir.write("bare.yaml", "rule_files: [rules.yaml]\n");
  CommandResult quiet = run_command({TOCSIN_EXECUTABLE, "check", "--config", without.string()});
  EXPECT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("escalation policy"), std::string::npos) << quiet.output;
  // No collector produces `up` here: a hint (not an error) naming the family, once for the file.
  EXPECT_NE(quiet.output.find("warning: " + (dir / "rules.yaml").string() +
                              ":4:9: rules select metric families no configured collector produces: up;"),
            std::string::npos)
      << quiet.output;
}

// A rule_files pattern that matches nothing loads nothing, as in Prometheus, but never silently: a
// config copied to /etc with `../rules/*.yaml` would otherwise watch nothing and say OK.
TEST(CheckConfig, WarnsOfARuleFilesPatternThatMatchesNothing) {
  TempDir dir;
  dir.write("rules.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n");
  auto config =
      dir.write("tocsin.yaml", "rule_files: [rules.yaml, \"../nowhere/*.yaml\", /nonexistent/*.yml]\n");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "check", "--config", config.string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: " + config.string() +
                          ": rule_files[1]: \"../nowhere/*.yaml\" matches no file "
                          "(looked for " +
                          dir.path().string() + "/../nowhere/*.yaml); no rules are loaded from it\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find("warning: " + config.string() +
                    ": rule_files[2]: \"/nonexistent/*.yml\" matches no file; no rules are loaded from it\n"),
      std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("rule_files[0]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("OK: " + config.string() + " (1 rule file(s), 1 rule(s))"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace tocsin::testing
