// `slos:` decoding: the issue's example loads, the Workbook's factors come from the window, and each bad
// key or value is reported at its file:line:column.
#include "tocsin/slo/definition.hpp"

#include <gtest/gtest.h>

namespace tocsin::slo {
namespace {

using namespace std::chrono_literals;

std::vector<Definition> decode_text(const std::string& text, yaml::Diagnostics& d) {
  YAML::Node root = yaml::parse_yaml_string(text, "s.yaml", d);
  yaml::DecodeContext ctx{"s.yaml", "", &d, nullptr};
  yaml::Node node(root, "", &ctx);
  yaml::MapDecoder map(node);
  auto list = map.get("slos");
  std::vector<Definition> out = decode_slos(*list, text);
  map.finish();
  d.sort();
  return out;
}

std::string errors_of(const std::string& text) {
  yaml::Diagnostics d;
  decode_text(text, d);
  return d.to_string();
}

TEST(SloDefinition, TheIssuesExampleLoads) {
  yaml::Diagnostics d;
  auto slos = decode_text(R"(slos:
  - name: api-availability
    objective: 99.9            # percent
    window: 30d
    indicator:
      ratio:   { errors: 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
                 total:  'sum(rate(http_requests_total[{{ .window }}]))' }
    alerting:
      page:   { severity: critical, escalation: default }
      ticket: { severity: warning }
    exclude: [maintenance-window-name]
    labels: { team: platform }
)",
                          d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  ASSERT_EQ(slos.size(), 1u);
  const Definition& s = slos[0];
  EXPECT_EQ(s.name, "api-availability");
  EXPECT_EQ(s.service, "api-availability");
  EXPECT_EQ(s.id(), "api-availability-api-availability");
  EXPECT_NEAR(s.objective, 0.999, 1e-12);
  EXPECT_NEAR(s.error_budget(), 0.001, 1e-12);
  EXPECT_EQ(s.window, 720h);
  EXPECT_EQ(s.indicator, Definition::Indicator::ratio);
  ASSERT_TRUE(s.errors && s.total);
  EXPECT_EQ(promql::to_string(*s.errors), R"(sum(rate(http_requests_total{code=~"5.."}[5m])))");
  EXPECT_EQ(promql::to_string(*s.total), "sum(rate(http_requests_total[5m]))");
  EXPECT_EQ(s.page.severity, "critical");
  EXPECT_EQ(s.page.escalation, "default");
  EXPECT_EQ(s.ticket.severity, "warning");
  EXPECT_EQ(s.exclude, std::vector<std::string>{"maintenance-window-name"});
  EXPECT_EQ(s.labels, (std::vector<std::pair<std::string, std::string>>{{"team", "platform"}}));
  // The SRE Workbook's table for 30 days.
  ASSERT_EQ(s.page.windows.size(), 2u);
  EXPECT_NEAR(s.page.windows[0].factor, 14.4, 1e-9);
  EXPECT_EQ(s.page.windows[0].long_window, 1h);
  EXPECT_EQ(s.page.windows[0].short_window, 5min);
  EXPECT_NEAR(s.page.windows[1].factor, 6, 1e-9);
  ASSERT_EQ(s.ticket.windows.size(), 2u);
  EXPECT_NEAR(s.ticket.windows[0].factor, 3, 1e-9);
  EXPECT_NEAR(s.ticket.windows[1].factor, 1, 1e-9);
  EXPECT_EQ(s.ticket.windows[1].long_window, 72h);
  EXPECT_EQ(s.ticket.windows[1].short_window, 6h);
}

TEST(SloDefinition, FactorsFollowTheWindowAndTheBudgetShare) {
  // 28 days: 2 % in 1h is 13.44x; 7 days: 3.36x. A 1d SLO has no 3d ticket pair. A factor is never
  // below 1 (10 % of 7 days in 3 days would be 0.23x: firing on traffic that meets the objective).
  EXPECT_NEAR(default_page_windows(28 * 24h)[0].factor, 13.44, 1e-9);
  EXPECT_NEAR(default_page_windows(7 * 24h)[0].factor, 3.36, 1e-9);
  EXPECT_NEAR(default_page_windows(7 * 24h)[1].factor, 1.4, 1e-9);
  EXPECT_EQ(default_ticket_windows(7 * 24h)[1].factor, 1.0);
  EXPECT_EQ(default_ticket_windows(24h).size(), 1u);
  EXPECT_EQ(default_ticket_windows(24h)[0].factor, 1.0);
  EXPECT_EQ(default_page_windows(24h)[0].factor, 1.0);
  yaml::Diagnostics d;
  auto slos = decode_text(R"(slos:
  - name: q
    objective: 99
    window: 7d
    indicator: { threshold: { expr: 'max(queue_latency_seconds)', below: 60 } }
    alerting:
      name: QueueSlow
      page: { windows: [ { long: 2h, short: 10m, budget: 5 }, { long: 1h, short: 5m, factor: 20 } ], min_events: 50 }
      ticket: false
      exhausted: { severity: warning }
)",
                          d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  const Definition& s = slos[0];
  EXPECT_EQ(s.alert_name, "QueueSlow");
  EXPECT_EQ(s.indicator, Definition::Indicator::threshold);
  EXPECT_TRUE(s.bound.holds(59) && !s.bound.holds(60));
  ASSERT_EQ(s.page.windows.size(), 2u);
  EXPECT_NEAR(s.page.windows[0].factor, 0.05 * 84, 1e-9);  // 5 % of 7 days in 2 hours
  EXPECT_NEAR(s.page.windows[1].factor, 20, 1e-9);
  EXPECT_NEAR(s.page.windows[1].budget_percent, 20.0 / 168 * 100, 1e-9);
  EXPECT_EQ(s.page.min_events, 50);
  EXPECT_FALSE(s.ticket.enabled);
  EXPECT_EQ(s.exhausted.severity, "warning");
}

TEST(SloDefinition, LatencyBecomesBucketAndCountRates) {
  yaml::Diagnostics d;
  auto slos = decode_text(R"(slos:
  - name: api-latency
    objective: 99
    window: 28d
    indicator:
      latency: { histogram: http_request_duration_seconds, below: 0.2, selector: '{job="api"}' }
)",
                          d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  EXPECT_EQ(promql::to_string(*slos[0].good),
            R"(sum(rate(http_request_duration_seconds_bucket{job="api", le="0.2"}[5m])))");
  EXPECT_EQ(promql::to_string(*slos[0].total),
            R"(sum(rate(http_request_duration_seconds_count{job="api"}[5m])))");
}

TEST(SloDefinition, EveryErrorHasItsPosition) {
  EXPECT_EQ(
      errors_of(R"(slos:
  - name: a b
    objective: 100
    window: 12h
    bucket: 7m
    indicator:
      ratio: { errors: 'sum(rate(x[{{.window}}])', total: 'up' }
      threshold: { expr: up, below: 1 }
    alerting:
      page: { windows: [ { long: 5m, short: 1h, budget: 2 } ], min_events: -1 }
      ticket: { sevrity: warning }
    labels: { sloth_id: x, "bad-name": y }
)"),
      "s.yaml:2:11: slos[0].name: an SLO name is 1 to 128 letters, digits, '-', '_' or '.': \"a b\"\n"
      "s.yaml:3:16: slos[0].objective: objective is a percentage in (0, 100), e.g. 99.9, got 100\n"
      "s.yaml:4:13: slos[0].window: window must be from 1d to 90d, got 12h\n"
      "s.yaml:5:13: slos[0].bucket: bucket (7m) must divide the window (30d)\n"
      "s.yaml:7:7: slos[0].indicator: give one indicator (ratio, latency or threshold), not ratio and "
      "threshold\n"
      "s.yaml:7:24: slos[0].indicator.ratio.errors: could not parse errors (1:16 of \"sum(rate(x[5m])\"): "
      "unexpected end of input in aggregation, expected \",\" or \")\"\n"
      "s.yaml:10:26: slos[0].alerting.page.windows[0]: the short window (1h) must be shorter than the long "
      "one (5m)\n"
      "s.yaml:10:76: slos[0].alerting.page.min_events: min_events must not be negative\n"
      "s.yaml:11:17: slos[0].alerting.ticket.sevrity: unknown key\n"
      "s.yaml:12:25: slos[0].labels.sloth_id: label \"sloth_id\" is set by the SLO itself\n"
      "s.yaml:12:40: slos[0].labels.bad-name: invalid label name: \"bad-name\"\n");
  EXPECT_EQ(errors_of("slos:\n  - name: x\n    objective: 99\n"),
            "s.yaml:2:5: slos[0].indicator: missing required key\n");
  EXPECT_EQ(errors_of("slos: {a: 1}\n"), "s.yaml:1:7: slos: expected a list of SLOs, got a mapping\n");
}

}  // namespace
}  // namespace tocsin::slo
