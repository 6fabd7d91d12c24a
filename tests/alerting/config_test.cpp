// The alerting part of the config: the issue's example, every key, and errors with their positions.

#include "tocsin/config/config.hpp"

#include <gtest/gtest.h>

#include "fixtures/process.hpp"

namespace tocsin::config {
namespace {

using yaml::Diagnostics;
using yaml::EnvLookup;

using namespace std::chrono_literals;

std::string errors_of(const std::string& yaml) {
  auto result = parse_config(yaml, "tocsin.yaml", [](const std::string&) { return std::nullopt; });
  if (auto* d = std::get_if<Diagnostics>(&result)) return d->to_string();
  return "";
}

Config valid(const std::string& yaml) {
  auto result = parse_config(yaml, "tocsin.yaml", [](const std::string&) { return std::nullopt; });
  if (auto* d = std::get_if<Diagnostics>(&result)) {
    ADD_FAILURE() << d->to_string();
    return {};
  }
  return std::get<Config>(std::move(result));
}

const char* kReceivers = R"(receivers:
  oncall-primary: { type: webhook, url: "http://127.0.0.1:9/primary" }
  perf-lead: { type: slack, url: "https://hooks.slack.example/T0/B0/x", channel: "#perf" }
  incident-commander: { type: pagerduty, routing_key: abc123 }
  vp-engineering: { type: exec, command: [/usr/bin/logger, -t, tocsin], timeout: 5s }
  team-channel: { type: webhook, url: "https://chat.example/hook", headers: { X-Team: perf }, bearer_token: t0k }
  fleet: { type: alertmanager, urls: ["http://am1:9093/", "http://am2:9093"], resend_interval: 30s }
)";

TEST(AlertingConfig, TheIssueExampleDecodes) {
  Config c = valid(std::string(kReceivers) + R"(escalation_policies:
  default:
    repeat: 2h
    steps:
      - { after: 0m,  notify: [oncall-primary] }
      - { after: 15m, notify: [perf-lead] }
      - { after: 30m, notify: [incident-commander] }
      - { after: 45m, notify: [vp-engineering] }
routes:
  - { match: { severity: critical }, policy: default }
  - { match: { severity: warning },  notify: [team-channel] }
  - { match: { severity: info },     notify: [log] }
)");
  const AlertingConfig& a = c.alerting;
  ASSERT_EQ(a.escalation_policies.count("default"), 1u);
  const EscalationPolicy& p = a.escalation_policies.at("default");
  EXPECT_EQ(p.repeat, Duration(2h));
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[1].after, Duration(15min));
  EXPECT_EQ(p.steps[3].notify, std::vector<std::string>{"vp-engineering"});
  ASSERT_EQ(a.routes.size(), 3u);
  EXPECT_EQ(a.routes[0].policy, "default");
  ASSERT_EQ(a.routes[0].matchers.size(), 1u);
  EXPECT_EQ(to_string(a.routes[0].matchers[0]), "severity=\"critical\"");
  EXPECT_EQ(a.routes[1].notify, std::vector<std::string>{"team-channel"});
  EXPECT_EQ(a.routes[2].notify, std::vector<std::string>{"log"});
  EXPECT_EQ(a.receivers.at("log").type, ReceiverType::log);  // always defined
  EXPECT_EQ(a.receivers.at("incident-commander").routing_key.reveal(), "abc123");
  EXPECT_EQ(a.receivers.at("incident-commander").url.reveal(), "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(a.receivers.at("team-channel").headers.at("X-Team"), "perf");
  EXPECT_EQ(a.receivers.at("fleet").alertmanager_urls,
            (std::vector<std::string>{"http://am1:9093", "http://am2:9093"}));
  EXPECT_EQ(a.receivers.at("fleet").resend_interval, Duration(30s));
  EXPECT_EQ(a.receivers.at("vp-engineering").command.size(), 3u);
  EXPECT_EQ(a.receivers.at("vp-engineering").timeout, Duration(5s));
}

TEST(AlertingConfig, DefaultsWithoutAnAlertingBlock) {
  Config c = valid("collectors: {}\n");
  EXPECT_EQ(c.alerting.outbox.expiry, Duration(24h));
  EXPECT_TRUE(c.alerting.api_token.empty());
  EXPECT_TRUE(c.alerting.routes.empty());
  EXPECT_EQ(c.alerting.receivers.size(), 1u);
  EXPECT_EQ(c.alerting.group_by, std::vector<std::string>{"alertname"});
}

TEST(AlertingConfig, SettingsTimeIntervalsAndInhibition) {
  testing::TempDir dir;
  auto token = dir.write("token", "s3cret\n");
  Config c = valid(R"(alerting:
  group_by: [alertname, instance]
  group_wait: 2s
  resolve_timeout: 5m
  time_zone: Europe/Berlin
  severities: [low, high]
  flapping: { window: 10m, changes: 3, settle: 1m }
  outbox: { expiry: 1h, max_entries: 50, initial_backoff: 100ms, max_backoff: 10s, concurrency: 2 }
  api_token_file: )" +
                   token.string() + R"(
time_intervals:
  maintenance:
    - weekdays: ["saturday", "monday:friday"]
      times: [{ start_time: "02:00", end_time: "04:30" }]
      location: Europe/Berlin
  weekend: { weekdays: [saturday, sunday], months: ["december"], days_of_month: ["-1", "1:7"] }
inhibit_rules:
  - source_match: { alertname: TargetDown }
    target_matchers: ['alertname!="TargetDown"']
    equal: [instance]
routes:
  - matchers: ['instance=~"db-.*"']
    match_re: { job: "pg|redis" }
    notify: log
    repeat: 1h
    group_by: [instance]
    group_wait: 0s
    mute_time_intervals: [maintenance]
    active_time_intervals: weekend
)");
  const AlertingConfig& a = c.alerting;
  EXPECT_EQ(a.group_wait, Duration(2s));
  EXPECT_EQ(a.severities, (std::vector<std::string>{"low", "high"}));
  EXPECT_EQ(severity_rank(a.severities, "high"), 2);
  EXPECT_EQ(severity_rank(a.severities, "critical"), 0);
  EXPECT_EQ(a.flapping.changes, 3);
  EXPECT_EQ(a.outbox.max_entries, 50u);
  EXPECT_EQ(a.outbox.concurrency, 2u);
  EXPECT_EQ(a.api_token.reveal(), "s3cret");
  const TimeIntervalConfig& m = a.time_intervals.at("maintenance");
  ASSERT_EQ(m.intervals.size(), 1u);
  EXPECT_EQ(m.intervals[0].weekdays, (std::vector<IntRange>{{6, 6}, {1, 5}}));
  EXPECT_EQ(m.intervals[0].times, (std::vector<TimeOfDayRange>{{120, 270}}));
  EXPECT_EQ(m.intervals[0].location, "Europe/Berlin");
  const TimeIntervalConfig& w = a.time_intervals.at("weekend");
  ASSERT_EQ(w.intervals.size(), 1u);
  EXPECT_EQ(w.intervals[0].months, (std::vector<IntRange>{{12, 12}}));
  EXPECT_EQ(w.intervals[0].days_of_month, (std::vector<IntRange>{{-1, -1}, {1, 7}}));
  ASSERT_EQ(a.inhibit_rules.size(), 1u);
  EXPECT_EQ(a.inhibit_rules[0].equal, std::vector<std::string>{"instance"});
  EXPECT_EQ(to_string(a.inhibit_rules[0].target_matchers[0]), "alertname!=\"TargetDown\"");
  ASSERT_EQ(a.routes.size(), 1u);
  EXPECT_EQ(a.routes[0].matchers.size(), 2u);
  EXPECT_EQ(a.routes[0].repeat, Duration(1h));
  EXPECT_EQ(a.routes[0].group_by, std::vector<std::string>{"instance"});
  EXPECT_EQ(a.routes[0].mute_time_intervals, std::vector<std::string>{"maintenance"});
  EXPECT_EQ(a.routes[0].active_time_intervals, std::vector<std::string>{"weekend"});
}

TEST(AlertingConfig, UnknownReferencesAreReportedAtTheirPosition) {
  EXPECT_EQ(errors_of(R"(escalation_policies:
  default:
    steps:
      - { after: 0m, notify: [pager] }
routes:
  - { match: { severity: critical }, policy: defualt }
  - { notify: [log], mute_time_intervals: [nights] }
)"),
            "tocsin.yaml:4:31: escalation_policies.default.steps[0].notify[0]: unknown receiver \"pager\" "
            "(defined: log)\n"
            "tocsin.yaml:6:46: routes[0].policy: unknown escalation policy \"defualt\" (defined: default)\n"
            "tocsin.yaml:7:44: routes[1].mute_time_intervals[0]: unknown time interval \"nights\" "
            "(none are defined)\n");
}

TEST(AlertingConfig, BadValuesNameTheirKey) {
  std::string errors = errors_of(R"(receivers:
  hook: { type: webhook }
  what: { type: carrier-pigeon, url: x }
  am: { type: alertmanager, urls: ["ftp://am:9093"] }
  pd: { type: pagerduty }
escalation_policies:
  p:
    steps:
      - { after: 15m, notify: [log] }
      - { after: 5m, notify: [log] }
routes:
  - { match: { severity: critical } }
  - { policy: p, notify: [log] }
  - { matchers: ['severity=~"(crit"'], notify: [log] }
time_intervals:
  t: [{ times: [{ start_time: "25:00", end_time: "26:00" }], weekdays: [funday], location: Mars/Olympus }]
alerting:
  outbox: { expiry: 0s }
  api_token_file: /nonexistent/token
)");
  EXPECT_NE(errors.find("tocsin.yaml:2:9: receivers.hook.url: missing required key"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("tocsin.yaml:3:17: receivers.what.type: unknown receiver type \"carrier-pigeon\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("receivers.am.urls[0]: expected an http:// or https:// URL, got \"ftp://am:9093\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("receivers.pd.routing_key: missing required key"), std::string::npos) << errors;
  EXPECT_NE(
      errors.find("tocsin.yaml:10:18: escalation_policies.p.steps[1].after: steps must come in increasing "
                  "order"),
      std::string::npos)
      << errors;
  EXPECT_NE(errors.find("tocsin.yaml:12:5: routes[0]: give a policy"), std::string::npos) << errors;
  EXPECT_NE(errors.find("routes[1]: give either policy (escalation) or notify (receivers), not both"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("routes[2].matchers[0]: invalid regular expression"), std::string::npos) << errors;
  EXPECT_NE(errors.find("invalid start_time \"25:00\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("time_intervals.t[0].weekdays[0]: invalid weekday \"funday\""), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("time_intervals.t[0].location: unknown time zone \"Mars/Olympus\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("alerting.outbox.expiry: must be at least 1s"), std::string::npos) << errors;
  EXPECT_NE(errors.find("alerting.api_token_file: cannot read /nonexistent/token"), std::string::npos)
      << errors;
  EXPECT_EQ(errors.find("the API token file is empty"), std::string::npos) << errors;
}

// Configs that load but could never deliver anything are refused at load, by key, without secrets.
TEST(AlertingConfig, ConfigsThatCanNeverDeliverAreRefused) {
  std::string errors = errors_of(R"(receivers:
  pd: { type: pagerduty, routing_key: "" }
  hook: { type: webhook, url: "https://alice:pa55word@hooks.example/x" }
  am: { type: alertmanager, urls: ["http://ops:s3cr3t@am1:9093"] }
  fine: { type: webhook, url: "https://hooks.example/x?from=a@b" }
routes:
  - { match: { severity: info }, notify: [] }
  - { notify: [fine] }
)");
  EXPECT_NE(errors.find("tocsin.yaml:2:39: receivers.pd.routing_key: must not be empty"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("tocsin.yaml:3:31: receivers.hook.url: credentials in the URL (user:password@host) "
                        "are not supported"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("receivers.am.urls[0]: credentials in the URL"), std::string::npos) << errors;
  EXPECT_EQ(errors.find("receivers.fine"), std::string::npos) << errors;
  EXPECT_NE(errors.find("tocsin.yaml:7:42: routes[0].notify: give at least one receiver"), std::string::npos)
      << errors;
  EXPECT_EQ(errors.find("routes[1]"), std::string::npos) << errors;
  for (const char* secret : {"pa55word", "s3cr3t", "alice"})
    EXPECT_EQ(errors.find(secret), std::string::npos) << errors;
}

TEST(AlertingConfig, UnknownKeysInsideReceiversAndRoutes) {
  EXPECT_EQ(errors_of(R"(receivers:
  hook: { type: webhook, url: "http://x/", tiemout: 5s }
routes:
  - { notify: [hook], mach: { a: b } }
)"),
            "tocsin.yaml:2:44: receivers.hook.tiemout: unknown key\n"
            "tocsin.yaml:4:23: routes[0].mach: unknown key\n");
}

TEST(AlertingConfig, LabelMatchersParseAsOnTheCommandLine) {
  LabelMatcher m;
  EXPECT_EQ(parse_label_matcher("alertname=\"Disk full\"", m), std::nullopt);
  EXPECT_EQ(m.value, "Disk full");
  EXPECT_EQ(parse_label_matcher("instance=~db-.*", m), std::nullopt);
  EXPECT_EQ(m.type, MatchType::regex);
  EXPECT_EQ(parse_label_matcher(" job != 'a\\'b' ", m), std::nullopt);
  EXPECT_EQ(m.type, MatchType::not_equal);
  EXPECT_EQ(m.value, "a'b");
  EXPECT_NE(parse_label_matcher("=x", m), std::nullopt);
  EXPECT_NE(parse_label_matcher("a<b", m), std::nullopt);
  EXPECT_NE(parse_label_matcher("a=\"b", m), std::nullopt);
  EXPECT_NE(parse_label_matcher("a=b c", m), std::nullopt);
}

}  // namespace
}  // namespace tocsin::config
