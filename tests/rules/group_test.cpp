// The alert state machine: Prometheus's for/keep_firing_for semantics, severity tiers moving without
// resolving, hysteresis, recording rules feeding later rules, failures, and state that survives a
// reload and a restart.
#include "tocsin/rules/group.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tocsin/promql/parser.hpp"
#include "tocsin/promql/series_notation.hpp"

namespace tocsin::rules {
namespace {

using alerting::AlertState;
using namespace std::chrono_literals;

class Memory final : public RuleOutput {
 public:
  explicit Memory(promql::MemoryQuerier& data) : data_(data) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    std::set<Labels> now;
    for (const auto& s : samples) {
      data_.add(s.labels, {t, s.v});
      now.insert(s.labels);
    }
    for (const Labels& l : previous_[key]) {
      if (!now.count(l)) data_.add(l, {t, stale_nan()});
    }
    previous_[key] = now;
  }

 private:
  promql::MemoryQuerier& data_;
  std::map<std::string, std::set<Labels>> previous_;
};

class GroupTest : public ::testing::Test {
 protected:
  std::unique_ptr<Group> make(const std::string& rules) {
    yaml::Diagnostics d;
    auto groups = parse_rule_text("groups:\n  - name: g\n    rules:\n" + rules, "r.yaml", d);
    EXPECT_TRUE(d.empty()) << d.to_string();
    return std::make_unique<Group>(groups.at(0), 1min);
  }
  void load(const std::string& series, const std::string& values) {
    data_.add_series(promql::parse_series_labels(series), promql::expand_series_values(values), 0, 1min);
  }
  // Evaluates at minutes 0..last, returns what was sent at the last one.
  std::vector<alerting::Alert> run(Group& g, int from, int to) {
    std::vector<alerting::Alert> sent;
    for (int m = from; m <= to; ++m) sent = g.evaluate({engine_, data_, out_, Timestamp(m) * 60'000, {}});
    return sent;
  }
  static std::string states(const std::vector<alerting::Alert>& alerts) {
    std::string out;
    for (const auto& a : alerts) {
      out += (out.empty() ? "" : " ") + std::string(a.labels.get("severity")) + ":" +
             std::string(alerting::to_string(a.state));
    }
    return out;
  }

  promql::MemoryQuerier data_;
  Memory out_{data_};
  promql::Engine engine_;
};

TEST_F(GroupTest, PlainRuleGoesPendingFiringResolved) {
  load("errors{job=\"api\"}", "0 5 5 5 5 0 0");
  auto g = make(
      "      - alert: Errors\n        expr: errors > 1\n        for: 2m\n        labels: {severity: page}\n");
  EXPECT_EQ(states(run(*g, 0, 0)), "");
  EXPECT_EQ(states(run(*g, 1, 1)), "page:pending");
  EXPECT_EQ(states(run(*g, 2, 2)), "page:pending");
  auto firing = run(*g, 3, 3);
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].state, AlertState::firing);
  EXPECT_EQ(firing[0].active_at, 60'000);
  EXPECT_EQ(firing[0].fired_at, 180'000);
  EXPECT_EQ(firing[0].labels.get("alertname"), "Errors");
  EXPECT_EQ(firing[0].labels.get("job"), "api");
  EXPECT_EQ(firing[0].value, 5);
  auto resolved = run(*g, 4, 5);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].state, AlertState::resolved);
  EXPECT_EQ(resolved[0].resolved_at, 300'000);
  EXPECT_TRUE(run(*g, 6, 6).empty());  // sent as resolved exactly once
  // ALERTS and ALERTS_FOR_STATE were written while it was active, and are stale now.
  auto alerts = promql::Engine().instant(data_, *promql::parse("ALERTS"), 180'000);
  ASSERT_EQ(std::get<promql::Vector>(alerts).size(), 1u);
  EXPECT_EQ(std::get<promql::Vector>(alerts)[0].labels.get("alertstate"), "firing");
  auto for_state = promql::Engine().instant(data_, *promql::parse("ALERTS_FOR_STATE"), 180'000);
  EXPECT_EQ(std::get<promql::Vector>(for_state)[0].v, 60);
  EXPECT_TRUE(
      std::get<promql::Vector>(promql::Engine().instant(data_, *promql::parse("ALERTS"), 360'000)).empty());
}

TEST_F(GroupTest, PendingAlertThatStopsMatchingIsDroppedAndKeepFiringForHolds) {
  load("x", "5 0 5 5 0 0 0 0");
  auto g = make("      - alert: X\n        expr: x > 1\n        for: 1m\n        keep_firing_for: 2m\n");
  EXPECT_EQ(states(run(*g, 0, 0)), ":pending");
  EXPECT_EQ(states(run(*g, 1, 1)), "");  // dropped, never fired, nothing to resolve
  EXPECT_EQ(states(run(*g, 2, 3)), ":firing");
  EXPECT_EQ(states(run(*g, 4, 4)), ":firing");  // kept firing for 2m after it stopped matching
  EXPECT_EQ(states(run(*g, 5, 5)), ":firing");
  EXPECT_EQ(states(run(*g, 6, 6)), ":resolved");
}

TEST_F(GroupTest, TiersMoveWithoutResolving) {
  // used/max: 0.5, then 0.85 for 3m, 0.97 for 2m, back to 0.85, then 0.5.
  load("ratio{instance=\"r1\"}", "0.5 0.85 0.85 0.85 0.97 0.97 0.85 0.5");
  auto g = make(
      "      - alert: RedisMemoryHigh\n        expr: ratio\n        tiers:\n"
      "          warning: { above: 0.80, for: 2m }\n          critical: { above: 0.95, for: 1m }\n"
      "        annotations: {summary: \"{{ $labels.severity }} {{ $value }}\"}\n");
  EXPECT_EQ(states(run(*g, 0, 0)), "");
  auto pending = run(*g, 1, 1);  // heading for warning: its severity and annotations say so already
  EXPECT_EQ(states(pending), "warning:pending");
  EXPECT_EQ(pending[0].annotations.get("summary"), "warning 0.85");
  EXPECT_EQ(states(run(*g, 2, 2)), "warning:pending");
  auto warning = run(*g, 3, 3);
  EXPECT_EQ(states(warning), "warning:firing");
  EXPECT_EQ(warning[0].annotations.get("summary"), "warning 0.85");
  EXPECT_EQ(warning[0].active_at, 60'000);
  EXPECT_EQ(states(run(*g, 4, 4)), "warning:firing");  // critical's threshold holds, not yet for 1m
  auto critical = run(*g, 5, 5);
  EXPECT_EQ(states(critical), "critical:firing");
  EXPECT_EQ(critical[0].active_at, 60'000);  // the same instance: no resolve and re-fire
  EXPECT_EQ(critical[0].fired_at, 300'000);  // the time it entered this tier
  EXPECT_EQ(critical[0].annotations.get("summary"), "critical 0.97");
  EXPECT_EQ(states(run(*g, 6, 6)), "warning:firing");
  EXPECT_EQ(states(run(*g, 7, 7)), "warning:resolved");
}

// Stepping down from a more severe tier does not wait for the lower tier's `for` again: the alert goes
// on at that tier (no resolve and re-fire), and resolves only once no tier's threshold holds.
TEST_F(GroupTest, StepsDownToALowerTierWithoutWaitingForItsFor) {
  load("ratio", "0.5 0.5 0.97 0.97 0.85 0.85 0.85 0.85 0.85 0.85 0.85 0.5");
  auto g = make(
      "      - alert: Full\n        expr: ratio\n        tiers:\n"
      "          warning: { above: 0.80, for: 5m }\n          critical: { above: 0.95, for: 1m }\n");
  EXPECT_EQ(states(run(*g, 0, 2)), "critical:pending");
  EXPECT_EQ(states(run(*g, 3, 3)), "critical:firing");
  auto down = run(*g, 4, 4);
  ASSERT_EQ(states(down), "warning:firing");
  EXPECT_EQ(down[0].active_at, 120'000);
  EXPECT_EQ(down[0].fired_at, 240'000);
  for (int m = 5; m <= 10; ++m) EXPECT_EQ(states(run(*g, m, m)), "warning:firing") << m;
  EXPECT_EQ(states(run(*g, 11, 11)), "warning:resolved");
}

// Prometheus 3's query_offset: the group queries as of that long ago, so data arriving late is not
// missed; the alert's times stay the evaluation's.
TEST_F(GroupTest, QueryOffsetEvaluatesThatFarInThePast) {
  load("errors", "0 0 5 5 5");
  yaml::Diagnostics d;
  auto groups = parse_rule_text(
      "groups:\n  - name: g\n    query_offset: 2m\n    rules:\n"
      "      - alert: Errors\n        expr: errors > 1\n",
      "r.yaml", d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  Group g(groups.at(0), 1min);
  EXPECT_EQ(states(run(g, 2, 3)), "") << "at 3m the query sees 1m, where errors was 0";
  auto firing = run(g, 4, 4);  // sees 2m
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].state, AlertState::firing);
  EXPECT_EQ(firing[0].value, 5);
  EXPECT_EQ(firing[0].active_at, 240'000);
}

TEST_F(GroupTest, APendingAlertShowsTheMostSevereTierThatHolds) {
  // 0.97 holds both tiers: critical (1m) fires before warning (3m), so pending says critical; when the
  // value falls to 0.85 only warning holds, and the pending instance says warning.
  load("ratio", "0.97 0.85 0.85 0.85 0.85");
  auto g = make(
      "      - alert: Full\n        expr: ratio\n        tiers:\n"
      "          warning: { above: 0.80, for: 3m }\n          critical: { above: 0.95, for: 1m }\n");
  auto first = run(*g, 0, 0);
  EXPECT_EQ(states(first), "critical:pending");
  EXPECT_EQ(states(run(*g, 1, 1)), "warning:pending");
  auto fired = run(*g, 3, 3);
  EXPECT_EQ(states(fired), "warning:firing");
  EXPECT_EQ(fired[0].active_at, 0);  // one instance from the first evaluation on
}

TEST_F(GroupTest, ClearAddsHysteresis) {
  load("cpu", "0.95 0.95 0.85 0.85 0.7 0.7 0.7 0.95");
  auto g = make(
      "      - alert: Cpu\n        expr: cpu\n        tiers:\n          warning: { above: 0.9, for: 1m }\n"
      "        clear: { below: 0.8, for: 2m }\n");
  EXPECT_EQ(states(run(*g, 0, 1)), "warning:firing");
  EXPECT_EQ(states(run(*g, 2, 3)), "warning:firing");  // below the tier but not below clear
  EXPECT_EQ(states(run(*g, 4, 5)), "warning:firing");  // below clear, not yet for 2m
  EXPECT_EQ(states(run(*g, 6, 6)), "warning:resolved");
  EXPECT_EQ(states(run(*g, 7, 7)), "warning:pending");  // a new instance
}

TEST_F(GroupTest, RecordingRulesFeedLaterRulesAndFailuresAreRecorded) {
  load("req{job=\"a\"}", "0+60x10");
  load("req{job=\"b\"}", "0+60x10");
  auto g = make(
      "      - record: job:req:rate2m\n        expr: sum by (job) (rate(req[2m]))\n"
      "      - alert: Busy\n        expr: job:req:rate2m > 0.5\n"
      "      - record: broken\n        expr: req + on() req\n");
  auto sent = run(*g, 0, 5);
  EXPECT_EQ(states(sent), ":firing :firing");
  const auto health = g->health();
  EXPECT_TRUE(health[0].last_error.empty());
  EXPECT_EQ(health[2].failures, 6u);
  EXPECT_NE(health[2].last_error.find("many-to-many"), std::string::npos) << health[2].last_error;
}

// A failed evaluation says nothing about the alerts: they are reported unchanged (alerting would
// otherwise take them as gone, resolve them and page again on the next good evaluation), and their
// ALERTS series go on.
TEST_F(GroupTest, AFailedEvaluationReportsTheActiveAlertsUnchanged) {
  load("x", "5x6");
  load("y{a=\"1\"}", "0x6");
  load("y{a=\"2\"}", "_ _ _ 0 stale");  // at 3m `on()` matches two series: the query fails
  auto g = make("      - alert: X\n        expr: x + on() y > 1\n        for: 1m\n");
  auto firing = run(*g, 0, 2);
  ASSERT_EQ(states(firing), ":firing");
  auto failed = run(*g, 3, 3);
  EXPECT_FALSE(g->health()[0].last_error.empty());
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].state, AlertState::firing);
  EXPECT_EQ(failed[0].active_at, 0);
  EXPECT_EQ(failed[0].fired_at, 60'000);
  auto stamp = promql::Engine().instant(data_, *promql::parse("timestamp(ALERTS)"), 180'000);
  ASSERT_EQ(std::get<promql::Vector>(stamp).size(), 1u);
  EXPECT_EQ(std::get<promql::Vector>(stamp)[0].v, 180);
  auto after = run(*g, 4, 4);
  EXPECT_TRUE(g->health()[0].last_error.empty());
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].state, AlertState::firing);
  EXPECT_EQ(after[0].fired_at, 60'000);
}

// A template that fails with an alert's data (humanize of a non-number) does not stop the alert: the
// value says what went wrong, as in Prometheus, and the rule's health keeps the error.
TEST_F(GroupTest, ATemplateErrorFiresTheAlertWithTheErrorAsValue) {
  load("up{instance=\"h:1\"}", "0x3");
  auto g = make(
      "      - alert: Down\n        expr: up == 0\n        labels: {host: \"{{ $labels.instance | humanize "
      "}}\"}\n"
      "        annotations: {summary: \"{{ $labels.instance | humanize }} down\", ok: \"{{ $labels.instance "
      "}}\"}\n");
  auto sent = run(*g, 0, 1);
  ASSERT_EQ(states(sent), ":firing");
  // Prometheus's text (the column counts Prometheus's prefix of variable definitions).
  const std::string what =
      "error executing template __alert_Down: template: __alert_Down:1:134: executing \"__alert_Down\" at "
      "<humanize>: error calling humanize: strconv.ParseFloat: parsing \"h:1\": invalid syntax";
  const std::string error = "<error expanding template: " + what + ">";
  EXPECT_EQ(sent[0].labels.get("host"), error);
  EXPECT_EQ(sent[0].annotations.get("summary"), error);
  EXPECT_EQ(sent[0].annotations.get("ok"), "h:1");
  const auto health = g->health()[0];
  EXPECT_TRUE(health.last_error.empty());
  EXPECT_EQ(health.template_error, what);
  EXPECT_EQ(health.template_failures, 2u);
}

// Templates see what Prometheus gives them: the result sample's labels (with __name__, which `up == 0`
// keeps) and value, not the rule's labels or alertname; `query` runs at the evaluation's time.
TEST_F(GroupTest, TemplatesSeeTheResultSample) {
  load("up{instance=\"a\", job=\"x\"}", "1 0 0");
  load("load1{instance=\"a\"}", "5 7 9");
  auto g = make(
      "      - alert: Down\n        expr: up == 0\n        labels: {team: db, seen: '{{ len $labels }}'}\n"
      "        annotations:\n"
      "          all: '{{ $labels }}'\n"
      "          load: '{{ range query \"load1\" }}{{ .Labels.instance }}={{ .Value }}{{ end }}'\n"
      "          tier: '{{ if eq $value 0.0 }}down{{ else }}up{{ end }}'\n");
  auto sent = run(*g, 0, 2);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].annotations.get("all"), "map[__name__:up instance:a job:x]");
  EXPECT_EQ(sent[0].annotations.get("load"), "a=9");
  EXPECT_EQ(sent[0].annotations.get("tier"), "down");
  EXPECT_EQ(sent[0].labels.get("seen"), "3");
  EXPECT_EQ(sent[0].labels.get("team"), "db");
}

// The same alert at two severities (two rules of one name): a reload keeps each one's state.
TEST_F(GroupTest, AReloadKeepsTheStateOfEveryRuleOfOneName) {
  load("x", "5x10");
  const std::string rules =
      "      - alert: X\n        expr: x > 1\n        for: 5m\n        labels: {severity: warning}\n"
      "      - alert: X\n        expr: x > 3\n        for: 5m\n        labels: {severity: critical}\n";
  auto g = make(rules);
  EXPECT_EQ(states(run(*g, 0, 3)), "warning:pending critical:pending");
  auto reloaded = make(rules);
  reloaded->take_state_from(*g);
  auto fired = run(*reloaded, 4, 5);
  EXPECT_EQ(states(fired), "warning:firing critical:firing");
  for (const auto& a : fired) EXPECT_EQ(a.active_at, 0) << a.labels.to_string();
}

TEST_F(GroupTest, StateSurvivesReloadAndRestart) {
  load("x", "5x10");
  const std::string rule = "      - alert: X\n        expr: x > 1\n        for: 5m\n";
  auto g = make(rule);
  run(*g, 0, 3);
  ASSERT_EQ(g->active_alerts().size(), 1u);
  EXPECT_EQ(g->active_alerts()[0].second.state, AlertState::pending);

  // Reload: a new group object takes the state over; the for clock keeps running from 0m.
  auto reloaded = make(rule);
  reloaded->take_state_from(*g);
  EXPECT_EQ(states(run(*reloaded, 4, 4)), ":pending");
  EXPECT_EQ(states(run(*reloaded, 5, 5)), ":firing");

  // Restart: the saved state restores the firing alert with its times.
  nlohmann::json saved = reloaded->save_state();
  auto restarted = make(rule);
  restarted->restore_state(nlohmann::json::parse(saved.dump()));
  auto after = run(*restarted, 6, 6);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].state, AlertState::firing);
  EXPECT_EQ(after[0].active_at, 0);
  EXPECT_EQ(after[0].fired_at, 300'000);
  // Tier state saved for another shape of the rule (3 tiers, now 2) is dropped: that alert starts afresh.
  load("ratio", "0.97x10");
  const std::string two =
      "      - alert: Full\n        expr: ratio\n        tiers:\n"
      "          warning: { above: 0.80, for: 1m }\n          critical: { above: 0.95, for: 1m }\n";
  for (const char* alert :
       {R"({"labels":{"alertname":"Full","severity":"page"},"state":"firing","tier":2,
                                "tier_since":[0,0,0]})",
        R"({"labels":{"alertname":"Full","severity":"page"},"state":"firing","tier":1,
                                "tier_since":[0,0,0]})",
        R"({"labels":{"alertname":"Full"},"state":"firing","tier":-1,"tier_since":[0,0]})"}) {
    auto edited = make(two);
    edited->restore_state(nlohmann::json::parse(
        std::string(R"({"rules":[{"rule":"Full","index":0,"alerts":[)") + alert + "]}]}"));
    EXPECT_TRUE(edited->active_alerts().empty()) << alert;
    EXPECT_EQ(states(run(*edited, 7, 7)), "critical:pending") << alert;
    EXPECT_TRUE(edited->health()[0].last_error.empty()) << edited->health()[0].last_error;
  }
  // Garbage in the state is ignored, not fatal.
  auto fresh = make(rule);
  fresh->restore_state(
      nlohmann::json::parse(R"({"rules":[{"rule":"X","alerts":[{"labels":7}]},{"rule":"Nope"}]})"));
  EXPECT_TRUE(fresh->active_alerts().empty());
}

}  // namespace
}  // namespace tocsin::rules
