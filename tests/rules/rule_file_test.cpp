// Rule files: what loads (Prometheus's format unchanged, tiers), and every error with its position.
#include "tocsin/rules/rule_file.hpp"

#include <gtest/gtest.h>

namespace tocsin::rules {
namespace {

std::string errors_of(const std::string& text) {
  yaml::Diagnostics d;
  parse_rule_text(text, "r.yaml", d);
  d.sort();
  return d.to_string();
}

// Two rules of one name and labels in a group: Prometheus loads them and promtool's lint warns; so does
// tocsin (a warning, never a refusal), and both rules run.
TEST(RuleFile, DuplicateRulesAreAWarningNotAnError) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(
      "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n      - alert: X\n        expr: "
      "z\n"
      "      - alert: X\n        expr: z\n        labels: {severity: page}\n",
      "r.yaml", d);
  d.sort();
  EXPECT_TRUE(d.empty()) << d.to_string();
  EXPECT_EQ(
      d.warnings_to_string(),
      "warning: r.yaml:6:9: groups[0].rules[1]: duplicate rule: \"X\" with the same labels is already in "
      "group \"a\"; both may write the same series\n");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].rules.size(), 3u);
}

TEST(RuleFile, LoadsPrometheusRulesAndTiers) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(R"(groups:
  - name: api
    interval: 30s
    limit: 10
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels: {team: web}
      - alert: HighLatency
        expr: job:latency_p95 > 0.4
        for: 10m
        keep_firing_for: 5m
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.job }} p95 {{ $value | humanizeDuration }}"
      - alert: RedisMemoryHigh
        expr: redis_memory_used_bytes / redis_memory_max_bytes
        tiers:
          warning:  { above: 0.80, for: 5m }
          critical: { above: 0.95, for: 1m }
        clear: { below: 0.75, for: 2m }
        escalation: default
)",
                                "r.yaml", d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  ASSERT_EQ(groups.size(), 1u);
  const GroupDefinition& g = groups[0];
  EXPECT_EQ(g.key(), "r.yaml;api");
  EXPECT_EQ(g.interval, std::chrono::seconds(30));
  EXPECT_EQ(g.limit, 10u);
  ASSERT_EQ(g.rules.size(), 3u);
  EXPECT_EQ(g.rules[0].kind, RuleDefinition::Kind::recording);
  EXPECT_EQ(g.rules[1].for_duration, std::chrono::minutes(10));
  EXPECT_EQ(g.rules[1].keep_firing_for, std::chrono::minutes(5));
  const RuleDefinition& tiered = g.rules[2];
  ASSERT_EQ(tiered.tiers.size(), 2u);
  EXPECT_EQ(tiered.tiers[0].severity, "warning");
  EXPECT_EQ(tiered.tiers[1].severity, "critical");
  EXPECT_EQ(tiered.tiers[1].threshold.value, 0.95);
  EXPECT_EQ(tiered.tiers[1].for_duration, std::chrono::minutes(1));
  ASSERT_TRUE(tiered.clear.has_value());
  EXPECT_EQ(tiered.clear->threshold.direction, Threshold::Direction::below);
  EXPECT_EQ(tiered.escalation, "default");
}

TEST(RuleFile, Prometheus3GroupLabelsAndQueryOffset) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(R"(groups:
  - name: g
    query_offset: 1m
    labels: {team: db, severity: warning}
    rules:
      - alert: A
        expr: up == 0
        labels: {severity: critical}
      - record: r
        expr: up
)",
                                "r.yaml", d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  EXPECT_EQ(groups[0].query_offset, std::chrono::minutes(1));
  const auto& a = groups[0].rules[0].label_texts;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0], (std::pair<std::string, std::string>{"severity", "critical"}));  // the rule's own wins
  EXPECT_EQ(a[1], (std::pair<std::string, std::string>{"team", "db"}));
  EXPECT_EQ(groups[0].rules[1].label_texts.size(), 2u);
}

TEST(RuleFile, EmptyFileHasNoGroups) {
  yaml::Diagnostics d;
  EXPECT_TRUE(parse_rule_text("", "r.yaml", d).empty());
  EXPECT_TRUE(d.empty());
}

TEST(RuleFile, ErrorsNameFileLineColumnAndPath) {
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: rate(x[5m]) > )\n"),
            "r.yaml:5:29: groups[0].rules[0].expr: could not parse expression: unexpected \")\", expected "
            "expression\n");
  EXPECT_EQ(
      errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: \"sum(x) by (a,,)\"\n"),
      "r.yaml:5:29: groups[0].rules[0].expr: could not parse expression: unexpected \",\" in aggregation, "
      "expected label name\n");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: |\n          "
                      "sum(x)\n            / nope(y)\n"),
            "r.yaml:7:15: groups[0].rules[0].expr: could not parse expression: unknown function with name "
            "\"nope\"\n");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: y\n        for: "
                      "5m\n        bogus: 1\n"),
            "r.yaml:6:14: groups[0].rules[0].for: invalid field 'for' in recording rule\n"
            "r.yaml:7:9: groups[0].rules[0].bogus: unknown key\n");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - expr: y\n"),
            "r.yaml:4:9: groups[0].rules[0]: one of 'record' or 'alert' must be set\n");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - record: 1bad\n        expr: y\n"),
            "r.yaml:4:17: groups[0].rules[0].record: invalid recording rule name: \"1bad\"\n");
  EXPECT_EQ(
      errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n        for: 15x\n"),
      "r.yaml:6:14: groups[0].rules[0].for: invalid duration \"15x\" (use e.g. 500ms, 15s, 5m, 1h30m, 2d)\n");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n"),
            "r.yaml:4:5: groups[1]: groupname: \"a\" is repeated in the same file\n");
  // A template error is Prometheus's text, at its own position in the file.
  EXPECT_EQ(
      errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n        annotations:\n"
                "          summary: \"ok {{ nosuch $value }}\"\n"),
      "r.yaml:7:27: groups[0].rules[0].annotations.summary: template: __alert_X:1: function \"nosuch\" not "
      "defined\n");
  EXPECT_EQ(
      errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n        annotations:\n"
                "          summary: |\n            line one {{ $value }}\n            {{ if }}x{{ end }}\n"),
      "r.yaml:9:19: groups[0].rules[0].annotations.summary: template: __alert_X:2: missing value for if\n");
  EXPECT_EQ(
      errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n        annotations:\n"
                "          summary: \"{{ if $value }}x{{ end }}\"\n"),
      "");
  EXPECT_EQ(errors_of("groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: rate(y[5m])[5m:]\n"),
            "r.yaml:5:15: groups[0].rules[0].expr: an alerting rule's expression must be an instant vector, "
            "got range vector\n");
}

// A folded (>) expression is one line to the parser; its errors still point at the file's own line.
TEST(RuleFile, ErrorsInFoldedExpressionsPointAtTheirLine) {
  const std::string head = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: >-\n";
  EXPECT_EQ(errors_of(head + "          sum(x)\n          / nope(y)\n"),
            "r.yaml:7:13: groups[0].rules[0].expr: could not parse expression: unknown function with name "
            "\"nope\"\n");
  // A more-indented line keeps its break; an empty line becomes one.
  EXPECT_EQ(errors_of(head + "          sum(x)\n\n          / sum(y)\n            / nope(z)\n"),
            "r.yaml:9:15: groups[0].rules[0].expr: could not parse expression: unknown function with name "
            "\"nope\"\n");
  EXPECT_EQ(errors_of("groups:\r\n  - name: a\r\n    rules:\r\n      - alert: X\r\n        expr: >-\r\n"
                      "          sum(x)\r\n          / nope(y)\r\n"),
            "r.yaml:7:13: groups[0].rules[0].expr: could not parse expression: unknown function with name "
            "\"nope\"\n");
  EXPECT_EQ(errors_of(head + "          sum(x)\n          /\n"),
            "r.yaml:7:12: groups[0].rules[0].expr: could not parse expression: unexpected end of input, "
            "expected expression\n");
}

TEST(RuleFile, TierErrors) {
  const std::string head = "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: y\n";
  EXPECT_EQ(
      errors_of(head + "        tiers:\n          warning: { above: 0.95, for: 5m }\n          critical: { "
                       "above: 0.9, for: 5m }\n"),
      "r.yaml:4:9: groups[0].rules[0]: tier \"warning\" (above 0.95 for 5m) can never fire: \"critical\" "
      "(above 0.9 for 5m) fires first on the same values; list tiers from least to most severe\n");
  // Mixed: a stricter warning that waits less can fire.
  EXPECT_EQ(errors_of(head + "        tiers:\n          warning: { above: 0.95, for: 1m }\n          "
                             "critical: { above: 0.9, for: 5m }\n"),
            "");
  EXPECT_EQ(errors_of(head + "        tiers:\n          warning: { for: 5m }\n"),
            "r.yaml:7:20: groups[0].rules[0].tiers.warning: missing the threshold: one of above, at_least, "
            "below, at_most\n");
  EXPECT_EQ(errors_of(head + "        tiers:\n          warning: { above: 1, below: 2 }\n"),
            "r.yaml:7:20: groups[0].rules[0].tiers.warning: give one threshold (above, at_least, below or "
            "at_most), not above and below\n");
  EXPECT_EQ(
      errors_of(head + "        tiers:\n          warning: { above: 0.8 }\n        clear: { below: 0.9 }\n"),
      "r.yaml:4:9: groups[0].rules[0]: clear (below 0.9) must be on the other side of every tier's "
      "threshold, "
      "but tier \"warning\" is above 0.8\n");
  EXPECT_EQ(errors_of(head + "        for: 1m\n        tiers:\n          warning: { above: 0.8 }\n"),
            "r.yaml:8:11: groups[0].rules[0].tiers: a tiered rule takes `for` per tier, not on the rule\n");
  EXPECT_EQ(errors_of(head + "        clear: { below: 1 }\n"),
            "r.yaml:6:16: groups[0].rules[0].clear: `clear` needs `tiers`\n");
  EXPECT_EQ(
      errors_of(head +
                "        tiers:\n          warning: { above: 0.8 }\n          warning: { above: 0.9 }\n"),
      "r.yaml:8:11: groups[0].rules[0].tiers.warning: duplicate key\n");
  EXPECT_EQ(errors_of(head + "        labels: {team: a, team: b}\n"),
            "r.yaml:6:27: groups[0].rules[0].labels.team: duplicate key\n");
}

}  // namespace
}  // namespace tocsin::rules
