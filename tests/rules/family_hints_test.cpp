// rules::hint_family_coverage: one hint per rule file needing families nothing produces, one per
// collector no rule reads; none for recording outputs, ALERTS or tocsin_* families.
#include "tocsin/rules/family_hints.hpp"

#include <gtest/gtest.h>

namespace tocsin::rules {
namespace {

std::vector<GroupDefinition> hints_groups(const std::string& text) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(text, "r.yaml", d);
  EXPECT_TRUE(d.empty()) << d.to_string();
  return groups;
}

FamilySource hints_source(std::string kind, std::vector<std::string> families) {
  return FamilySource{kind, kind, {"c.yaml", 3, 5}, "collectors." + kind + "[0]", std::move(families)};
}

TEST(FamilyHints, MissingFamiliesOneLinePerFileAndUnreadCollector) {
  auto groups = hints_groups(R"(groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: rate(node_cpu_seconds_total[5m])
      - alert: A
        expr: job:x:rate5m > 1 and pg_up == 0 and pg_other > 0
      - alert: B
        expr: ALERTS > 0 or tocsin_collector_up == 0
)");
  yaml::Diagnostics d;
  hint_family_coverage(groups, {hints_source("host", {"node_*"}), hints_source("redis", {"redis_*"})}, d);
  ASSERT_EQ(d.warnings().size(), 2u) << d.warnings_to_string();
  EXPECT_NE(d.warnings()[0].message.find("pg_other, pg_up;"), std::string::npos) << d.warnings()[0].message;
  EXPECT_EQ(d.warnings()[1].path, "collectors.redis[0]");
  EXPECT_NE(d.warnings()[1].message.find("redis_*"), std::string::npos);
  EXPECT_TRUE(d.empty());  // hints, never errors
}

TEST(FamilyHints, AnyNameSourceAndRegexSelectorsNeverHint) {
  auto groups = hints_groups(R"(groups:
  - name: g
    rules:
      - alert: A
        expr: '{__name__=~"foo_.*"} > 1 or up == 0'
)");
  yaml::Diagnostics d;
  hint_family_coverage(groups, {{"scrape", "app", {}, "", std::nullopt}, hints_source("redis", {"redis_*"})},
                       d);
  EXPECT_TRUE(d.warnings().empty()) << d.warnings_to_string();
  EXPECT_TRUE(matches_family({"node_*", "up"}, "node_load1"));
  EXPECT_FALSE(matches_family({"node_*", "up"}, "upx"));
}

}  // namespace
}  // namespace tocsin::rules
