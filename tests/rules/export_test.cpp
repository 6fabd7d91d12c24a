// `tocsin rules export`'s output for each kind of rule: a rule per tier with its comparison, `for` and
// severity, the `unless` against worse tiers, clear as ALERTS hysteresis, plain rules unchanged, and the
// tocsin-only keys dropped with a comment. (Through the binary and promtool: export_cli_test.cpp.)
#include "tocsin/rules/export.hpp"

#include <gtest/gtest.h>

namespace tocsin::rules {
namespace {

std::string exported(const std::string& text) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(text, "r.yaml", d);
  EXPECT_TRUE(d.empty()) << d.to_string();
  return export_rule_file(groups, "r.yaml");
}

// The exported text loads as a plain rule file (tocsin reads Prometheus's format as promtool does).
std::vector<GroupDefinition> reloaded(const std::string& text) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(text, "exported.yaml", d);
  EXPECT_TRUE(d.empty()) << d.to_string() << text;
  return groups;
}

TEST(RulesExport, TiersWithClearBecomeOneAlertPerTierMostSevereFirst) {
  const std::string out = exported(R"(groups:
  - name: g
    rules:
      - alert: Mem
        expr: used / max
        tiers:
          warning:  { above: 0.8, for: 5m }
          critical: { at_least: 0.95, for: 1m }
        clear: { below: 0.75, for: 2m }
        escalation: default
        labels: {service: cache}
        annotations:
          summary: "{{ $labels.target }} at {{ $value }}"
)");
  EXPECT_NE(out.find(R"(    rules:
      # tocsin tiered rule Mem: warning above 0.8 for 5m, critical at_least 0.95 for 1m; clear below 0.75 for 2m.
      # One Prometheus alert per tier, the most severe first (docs/rules.md, Exporting to Prometheus).
      # dropped (tocsin only): escalation: default
      - alert: 'Mem'
        expr: '(used / max) >= 0.95'
        for: 1m
        labels:
          service: 'cache'
          severity: 'critical'
        annotations:
          summary: '{{ $labels.target }} at {{ $value }}'
      - alert: 'Mem'
        expr: |-
          (
            (used / max) > 0.8
            or
            (used / max)
              and max_over_time(((used / max) >= bool 0.75)[2m:]) == 1
              and ignoring(alertname, alertstate, severity, service) ALERTS{alertname="Mem", severity="warning", alertstate="firing"}
          )
          unless ignoring(alertname, alertstate, severity, service) ALERTS{alertname="Mem", severity="critical", alertstate="firing"}
        for: 5m
        labels:
          service: 'cache'
          severity: 'warning'
        annotations:
          summary: '{{ $labels.target }} at {{ $value }}'
)"),
            std::string::npos)
      << out;
  // clear's `for` is in the expression: keep_firing_for would keep the warning beside the critical.
  EXPECT_EQ(out.find("keep_firing_for"), std::string::npos) << out;
  auto groups = reloaded(out);
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_EQ(groups[0].rules.size(), 2u);
  EXPECT_TRUE(groups[0].rules[0].tiers.empty());
  EXPECT_EQ(groups[0].rules[0].for_duration, std::chrono::minutes(1));
  EXPECT_EQ(groups[0].rules[1].for_duration, std::chrono::minutes(5));
}

TEST(RulesExport, ClearWithoutForIsTheHandWrittenIdiom) {
  const std::string out = exported(R"(groups:
  - name: g
    rules:
      - alert: Lag
        expr: lag_seconds
        tiers:
          warning: { above: 30, for: 2m }
        clear: { below: 20 }
)");
  EXPECT_NE(out.find(R"(        expr: |-
          (lag_seconds) > 30
          or
          (lag_seconds) >= 20
            and ignoring(alertname, alertstate, severity) ALERTS{alertname="Lag", severity="warning", alertstate="firing"}
        for: 2m
)"),
            std::string::npos)
      << out;
}

TEST(RulesExport, ALessSevereTierIsUnlessEveryWorseOneFires) {
  const std::string out = exported(R"(groups:
  - name: g
    rules:
      - alert: Free
        expr: free_ratio
        tiers:
          info: { below: 0.3 }
          warning: { at_most: 0.2, for: 1m }
          critical: { below: 0.1, for: 30s }
        keep_firing_for: 2m
)");
  EXPECT_NE(out.find(R"(      - alert: 'Free'
        expr: '(free_ratio) < 0.1'
        for: 30s
        keep_firing_for: 2m
        labels:
          severity: 'critical'
      - alert: 'Free'
        expr: |-
          (free_ratio) <= 0.2
          unless ignoring(alertname, alertstate, severity) ALERTS{alertname="Free", severity="critical", alertstate="firing"}
        for: 1m
        keep_firing_for: 2m
        labels:
          severity: 'warning'
      - alert: 'Free'
        expr: |-
          (free_ratio) < 0.3
          unless ignoring(alertname, alertstate, severity) ALERTS{alertname="Free", severity=~"warning|critical", alertstate="firing"}
        keep_firing_for: 2m
        labels:
          severity: 'info'
)"),
            std::string::npos)
      << out;
  EXPECT_EQ(reloaded(out)[0].rules.size(), 3u);
}

TEST(RulesExport, PlainRulesKeepTheirKeysAndTocsinOnlyKeysAreNamedInAComment) {
  const std::string out = exported(R"(groups:
  - name: g
    interval: 30s
    limit: 5
    query_offset: 1m
    labels: {team: db}
    rules:
      - record: job:r
        expr: sum by (job) (rate(r[5m]))
      - alert: Down
        expr: |
          up == 0   # a comment in the expression
        for: 1m
        keep_firing_for: 10m
        escalation: oncall
        labels: {severity: page}
        annotations:
          summary: 'it''s {{ $labels.job }}'
)");
  EXPECT_NE(out.find(R"(  - name: 'g'
    interval: 30s
    limit: 5
    # dropped (Prometheus 2.53 and later only): query_offset: 1m
    rules:
      - record: 'job:r'
        expr: 'sum by (job) (rate(r[5m]))'
        labels:
          team: 'db'
      # dropped (tocsin only): escalation: oncall
      - alert: 'Down'
)"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("        for: 1m\n        keep_firing_for: 10m\n        labels:\n          severity: 'page'\n"
               "          team: 'db'\n        annotations:\n          summary: 'it''s {{ $labels.job }}'\n"),
      std::string::npos)
      << out;
  auto groups = reloaded(out);
  ASSERT_EQ(groups[0].rules.size(), 2u);
  EXPECT_EQ(groups[0].rules[1].expr_text, "up == 0   # a comment in the expression\n");
  EXPECT_EQ(groups[0].rules[1].keep_firing_for, std::chrono::minutes(10));
  EXPECT_TRUE(groups[0].rules[1].escalation.empty());
}

TEST(RulesExport, AnSloBecomesSlothStyleRecordingRulesAndBurnRateAlerts) {
  const std::string out = exported(R"(slos:
  - name: avail
    service: api
    objective: 99.9
    window: 30d
    indicator:
      ratio:
        errors: 'sum(rate(errors_total[{{.window}}]))'
        total: 'sum(rate(requests_total[{{.window}}]))'
    alerting:
      page: { severity: critical, escalation: default, min_events: 10 }
      ticket: { severity: warning }
)");
  EXPECT_NE(out.find("  - name: 'slo:avail'\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# dropped (tocsin only): min_events, escalation, bucket"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(      - record: 'slo:sli_error:ratio_rate1h'
        expr: |-
          (sum(sum(rate(errors_total[1h]))) or vector(0))
          /
          sum(sum(rate(requests_total[1h])))
)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("slo:sli_error:ratio_rate30d"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(          (
            max(slo:sli_error:ratio_rate5m{sloth_id="api-avail", sloth_service="api", sloth_slo="avail"} > (14.4 * 0.001)) without (sloth_window)
            and
            max(slo:sli_error:ratio_rate1h{sloth_id="api-avail", sloth_service="api", sloth_slo="avail"} > (14.4 * 0.001)) without (sloth_window)
          )
          or
)"),
            std::string::npos)
      << out;
  auto groups = reloaded(out);
  ASSERT_EQ(groups.size(), 1u);
  // 8 windows, 6 figures, page, ticket and exhausted.
  EXPECT_EQ(groups[0].rules.size(), 17u);
}

TEST(RulesExport, AFileWithoutGroupsIsAnEmptyRuleFile) {
  const std::string out = exported("groups: []\n");
  EXPECT_NE(out.find("\ngroups: []\n"), std::string::npos) << out;
  EXPECT_TRUE(reloaded(out).empty());
}

}  // namespace
}  // namespace tocsin::rules
