// `tocsin check rules FILE...`: rule files checked on their own, as `promtool check rules` does, through
// the real binary.
#include <gtest/gtest.h>

#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

TEST(CheckRules, ChecksRuleFilesWithoutAConfig) {
  TempDir dir;
  auto good = dir.write("good.yaml", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n"
                                     "      - alert: A\n        expr: up == 0\n");
  CommandResult ok = run_command({TOCSIN_EXECUTABLE, "check", "rules", good.string()});
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(ok.output, "OK: 1 rule file(s), 2 rule(s)\n");

  auto bad = dir.write("bad.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n"
                                   "        tiers:\n          warning: { above: 1 }\n          warning: { above: 2 }\n");
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "check", "rules", good.string(), bad.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, bad.string() + ":5:20: groups[0].rules[0].expr: could not parse expression: unexpected end of "
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

}  // namespace
}  // namespace tocsin::testing
