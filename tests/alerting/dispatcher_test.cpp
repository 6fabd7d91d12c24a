// Alert delivery end to end inside the process: real receivers posting to loopback HTTP servers,
// time driven by a ManualClock (no sleeping through real minutes).

#include <gtest/gtest.h>

#include <ctime>
#include <fstream>

#include "alerting/harness.hpp"

namespace tocsin::alerting::testing {
namespace {

using Steps = std::vector<Seen>;

std::string alert_id_of(const Alert& a) {
  return fingerprint(LabelsBuilder(a.labels).del("severity").build());
}

std::string receivers_yaml(const std::vector<std::pair<std::string, const HttpReceiver*>>& receivers) {
  std::string out = "receivers:\n";
  for (const auto& [name, r] : receivers)
    out += "  " + name + ": { type: webhook, url: \"" + r->url("/" + name) + "\" }\n";
  return out;
}

// The issue's example: four steps, re-notification every 2h.
class Escalation : public ::testing::Test {
 protected:
  HttpReceiver primary, lead, commander, vp, team;
  std::string yaml = receivers_yaml({{"oncall-primary", &primary},
                                     {"perf-lead", &lead},
                                     {"incident-commander", &commander},
                                     {"vp-engineering", &vp},
                                     {"team-channel", &team}}) +
                     R"(escalation_policies:
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
alerting:
  outbox: { initial_backoff: 1s, max_backoff: 8s }
)";
  std::size_t total() const {
    return primary.count() + lead.count() + commander.count() + vp.count() + team.count();
  }
};

TEST_F(Escalation, StepsFollowTheTimersFromWhenTheAlertStartedFiring) {
  Harness h(yaml);
  Alert a = alert("HighLatency", "critical", kStart, {{"instance", "db-1:5432"}});
  h.report({a});
  ASSERT_EQ(seen(primary), (Steps{{"firing", "triggered", "HighLatency", "critical", 1}}));
  EXPECT_EQ(total(), 1u);

  // Re-evaluated every minute: nothing new until 15m.
  h.run_for(14min, 1min, {a});
  EXPECT_EQ(total(), 1u);
  h.run_for(1min, 1min, {a});
  ASSERT_EQ(seen(lead), (Steps{{"firing", "escalated", "HighLatency", "critical", 2}}));
  h.run_for(15min, 1min, {a});
  ASSERT_EQ(seen(commander), (Steps{{"firing", "escalated", "HighLatency", "critical", 3}}));
  h.run_for(15min, 1min, {a});
  ASSERT_EQ(seen(vp), (Steps{{"firing", "escalated", "HighLatency", "critical", 4}}));
  EXPECT_EQ(total(), 4u);

  // The step and its times are on the notification and on the alert.
  auto body = nlohmann::json::parse(vp.requests()[0].body);
  const auto& esc = body["alerts"][0]["escalation"];
  EXPECT_EQ(esc["policy"], "default");
  EXPECT_EQ(esc["steps"], 4);
  EXPECT_EQ(esc["stepAt"], "2024-03-04T10:45:00.000Z");
  EXPECT_TRUE(esc["nextStepAt"].is_null());
  EXPECT_EQ(body["alerts"][0]["startsAt"], "2024-03-04T10:00:00.000Z");
  EXPECT_EQ(body["alerts"][0]["generatorURL"], "http://tocsin.test:9850/#alert-" + fingerprint(a.labels));
  auto view = h.d().alert(fingerprint(a.labels));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->step, 4);
  EXPECT_EQ(view->steps, 4);
  EXPECT_EQ(view->step_at, kStart + 45 * 60'000);
  EXPECT_EQ(view->next_step_at, 0);

  // Still firing 2h after the last step: the current step is notified again, once.
  h.run_for(119min, 1min, {a});
  EXPECT_EQ(total(), 4u);
  h.run_for(2min, 1min, {a});
  ASSERT_EQ(seen(vp).size(), 2u);
  EXPECT_EQ(seen(vp)[1], (Seen{"firing", "repeated", "HighLatency", "critical", 4}));
  EXPECT_EQ(total(), 5u);

  // Resolved: everyone who was told gets the resolve, once.
  h.report({resolved(a, h.clock.now_ms())});
  EXPECT_EQ(seen(primary).back(), (Seen{"resolved", "resolved", "HighLatency", "critical", 4}));
  EXPECT_EQ(seen(lead).back().status, "resolved");
  EXPECT_EQ(seen(commander).back().status, "resolved");
  EXPECT_EQ(seen(vp).back().status, "resolved");
  EXPECT_EQ(total(), 9u);
  EXPECT_TRUE(h.d().alerts().empty());
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "vp-engineering"}, {"result", "success"}}),
            3);
  EXPECT_EQ(h.metric("tocsin_notification_queue_length"), 0);
  EXPECT_EQ(h.metric("tocsin_notification_latency_seconds", {{"receiver", "oncall-primary"}}), 2);
}

TEST_F(Escalation, RoutesWithoutAPolicyNotifyOnceAndDoNotEscalate) {
  Harness h(yaml);
  Alert w = alert("SlowQueries", "warning", kStart);
  h.report({w});
  h.run_for(3h, 5min, {w});
  EXPECT_EQ(seen(team), (Steps{{"firing", "triggered", "SlowQueries", "warning", 1}}));
  EXPECT_EQ(total(), 1u);
  // The info route goes to the log receiver.
  h.report({w, alert("Info", "info", h.clock.now_ms())});
  EXPECT_NE(h.log().find("alert notification receiver=log status=firing event=triggered alertname=Info"),
            std::string::npos)
      << h.log();
}

TEST_F(Escalation, TheRulesOwnPolicyWinsOverTheRoute) {
  Harness h(yaml);
  Alert w = alert("SlowQueries", "warning", kStart);
  w.escalation = "default";
  h.report({w});
  h.run_for(15min, 5min, {w});
  EXPECT_EQ(primary.count(), 1u);
  EXPECT_EQ(lead.count(), 1u);
  EXPECT_EQ(team.count(), 0u);
}

TEST_F(Escalation, AnAckStopsEscalationAndTellsWhoWasPaged) {
  Harness h(yaml);
  Alert a = alert("HighLatency", "critical", kStart);
  h.report({a});
  h.run_for(5min, 1min, {a});
  auto acked = h.d().acknowledge(fingerprint(a.labels), {"alice", "looking at it", std::nullopt});
  ASSERT_TRUE(std::holds_alternative<AlertView>(acked)) << std::get<std::string>(acked);
  EXPECT_EQ(std::get<AlertView>(acked).ack->by, "alice");
  h.run_for(3h, 5min, {a});
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "HighLatency", "critical", 1},
                                  {"firing", "acknowledged", "HighLatency", "critical", 1}}));
  auto body = nlohmann::json::parse(primary.requests()[1].body);
  EXPECT_EQ(body["alerts"][0]["acknowledged"]["by"], "alice");
  EXPECT_EQ(body["alerts"][0]["acknowledged"]["comment"], "looking at it");
  EXPECT_EQ(lead.count() + commander.count() + vp.count(), 0u);
  auto view = h.d().alert(fingerprint(a.labels));
  ASSERT_TRUE(view && view->ack);
  EXPECT_EQ(view->ack->at, kStart + 5 * 60'000);
  EXPECT_EQ(view->step, 1);
}

TEST_F(Escalation, AnAckThatExpiresReArmsEscalation) {
  Harness h(yaml);
  Alert a = alert("HighLatency", "critical", kStart);
  h.report({a});
  auto acked = h.d().acknowledge(fingerprint(a.labels), {"alice", "", kStart + 10 * 60'000});
  ASSERT_TRUE(std::holds_alternative<AlertView>(acked));
  h.run_for(9min, 1min, {a});
  EXPECT_EQ(primary.count(), 2u);  // triggered, acknowledged
  h.run_for(1min, 1min, {a});
  EXPECT_EQ(seen(primary).back(), (Seen{"firing", "rearmed", "HighLatency", "critical", 1}));
  EXPECT_FALSE(h.d().alert(fingerprint(a.labels))->ack);
  // The next step's timer runs from the expiry: 15m after it, not at 15m after firing.
  EXPECT_EQ(h.d().alert(fingerprint(a.labels))->next_step_at, kStart + 25 * 60'000);
  h.run_for(14min, 1min, {a});
  EXPECT_EQ(lead.count(), 0u);
  h.run_for(1min, 1min, {a});
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "HighLatency", "critical", 2}}));
}

TEST(AckExpiry, StepsThatCameDueDuringTheAckDoNotAllPageAtOnce) {
  HttpReceiver primary, lead, ic;
  Harness h(receivers_yaml({{"primary", &primary}, {"lead", &lead}, {"ic", &ic}}) + R"(escalation_policies:
  p:
    steps:
      - { after: 0s, notify: [primary] }
      - { after: 4s, notify: [lead] }
      - { after: 8s, notify: [ic] }
routes:
  - { policy: p }
)");
  Alert a = alert("A", "critical", kStart);
  h.report({a});
  h.advance(1s);
  ASSERT_TRUE(std::holds_alternative<AlertView>(
      h.d().acknowledge(fingerprint(a.labels), {"alice", "", kStart + 12'000})));
  h.run_for(11s, 1s, {a});  // the ack expires at 12s
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "A", "critical", 1},
                                  {"firing", "acknowledged", "A", "critical", 1},
                                  {"firing", "rearmed", "A", "critical", 1}}));
  EXPECT_EQ(lead.count() + ic.count(), 0u);
  auto view = h.d().alert(fingerprint(a.labels));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->step, 1);
  EXPECT_EQ(view->next_step_at, kStart + 16'000);
  // Later steps follow on their timers, from the expiry.
  h.run_for(3s, 1s, {a});
  EXPECT_EQ(lead.count(), 0u);
  h.run_for(1s, 1s, {a});
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "A", "critical", 2}}));
  EXPECT_EQ(ic.count(), 0u);
  h.run_for(4s, 1s, {a});
  EXPECT_EQ(seen(ic), (Steps{{"firing", "escalated", "A", "critical", 3}}));
  EXPECT_EQ(primary.count(), 3u);
}

TEST_F(Escalation, AWorseTierAfterAnAckReopensPaging) {
  std::string tiered = yaml;
  tiered.replace(tiered.find("match: { severity: critical }"), 29,
                 "match_re: { severity: \"warning|critical\" }");
  Harness h(tiered);
  Alert warning = alert("DiskFilling", "warning", kStart, {{"instance", "db-1"}});
  warning.tiered = true;
  warning.tier = 0;
  h.report({warning});
  ASSERT_EQ(primary.count(), 1u);
  const std::string id = alert_id_of(warning);
  ASSERT_TRUE(std::holds_alternative<AlertView>(h.d().acknowledge(id, {"bob", "", {}})));
  h.run_for(20min, 5min, {warning});
  EXPECT_EQ(lead.count(), 0u);
  // The tiered rule moves to critical: the same alert (one id), not covered by the ack of the warning.
  Alert critical = alert("DiskFilling", "critical", h.clock.now_ms(), {{"instance", "db-1"}});
  critical.tiered = true;
  critical.tier = 1;
  h.report({critical});
  // An escalation of the same incident: its policy where the incident stands at 20m (steps 1 and 2).
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "DiskFilling", "warning", 1},
                                  {"firing", "acknowledged", "DiskFilling", "warning", 1},
                                  {"firing", "escalated", "DiskFilling", "critical", 2}}));
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "DiskFilling", "critical", 2}}));
  auto view = h.d().alert(id);
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->ack);
  EXPECT_EQ(view->fired_at, kStart);  // the incident's clock
  // Step 3 (30m) on the incident's clock, 10 minutes after the tier change.
  h.run_for(10min, 5min, {critical});
  EXPECT_EQ(seen(commander), (Steps{{"firing", "escalated", "DiskFilling", "critical", 3}}));
  // An ack of the critical one covers the alert at any tier.
  ASSERT_TRUE(std::holds_alternative<AlertView>(h.d().acknowledge(id, {"bob", "", {}})));
  h.run_for(1h, 5min, {critical});
  EXPECT_EQ(vp.count(), 0u);
}

// An older tocsin (state format 1) keyed a tiered alert by all its labels: read, it moves to the
// tier-independent id when its rule reports it again, keeping its timeline and what was notified.
TEST_F(Escalation, AStateFileOfAnOlderTocsinMovesTieredAlertsToTheirOneId) {
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  Alert critical = alert("DiskFilling", "critical", kStart, {{"instance", "db-1"}});
  {
    Harness old(yaml, dir);
    old.report({critical});  // as format 1 did: not known as tiered, keyed by every label
  }
  ASSERT_EQ(primary.count(), 1u);
  const auto path = dir->path() / "state" / "alerting.json";
  nlohmann::json state;
  {
    std::ifstream in(path);
    state = nlohmann::json::parse(in);
  }
  state["format"] = 1;
  for (auto& i : state["instances"]) {
    for (const char* key : {"tiered", "tier", "tier_since", "notified_severity", "notified_tier",
                            "previous_severity", "quiet_step"})
      i.erase(key);
  }
  dir->write("state/alerting.json", state.dump());

  Harness h(yaml, dir);
  EXPECT_NE(h.log().find("is in format 1"), std::string::npos) << h.log();
  critical.tiered = true;
  critical.tier = 1;
  h.report({critical});
  const std::string id = alert_id_of(critical);
  EXPECT_NE(h.log().find("is now alert " + id), std::string::npos) << h.log();
  ASSERT_EQ(h.d().alerts().size(), 1u);
  EXPECT_EQ(h.d().alerts()[0].id, id);
  EXPECT_EQ(primary.count(), 1u);  // no new trigger
  h.run_for(15min, 5min, {critical});
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "DiskFilling", "critical", 2}}));
  // Going down is one update to those paged, under the same id.
  Alert warning = alert("DiskFilling", "warning", kStart, {{"instance", "db-1"}});
  warning.tiered = true;
  warning.tier = 0;
  warning.fired_at = h.clock.now_ms();
  h.report({warning});
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "DiskFilling", "critical", 1},
                                  {"firing", "tier_changed", "DiskFilling", "warning", 1}}));
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "DiskFilling", "critical", 2},
                               {"firing", "tier_changed", "DiskFilling", "warning", 1}}));
  EXPECT_EQ(team.count(), 0u);  // warning's route: nobody new
}

// Restarted twice before the tiered rule reports again: the first start rewrites the file in format 2,
// and what still awaits its move to the one id must survive that, or the next report pages everyone
// under a new id and tells them the old one "resolved" while it fires.
TEST_F(Escalation, AnOlderStateFileStillMigratesAfterASecondRestart) {
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  Alert critical = alert("DiskFilling", "critical", kStart, {{"instance", "db-1"}});
  Alert warning = alert("DiskFilling", "warning", kStart, {{"instance", "db-1"}});
  {
    Harness old(yaml, dir);
    old.report({warning, critical});  // format 1: the warning is still held beside the critical
    old.report({critical});
  }
  const std::size_t paged = primary.count();
  ASSERT_GE(paged, 1u);
  const auto path = dir->path() / "state" / "alerting.json";
  nlohmann::json state;
  {
    std::ifstream in(path);
    state = nlohmann::json::parse(in);
  }
  state["format"] = 1;
  for (auto& i : state["instances"]) {
    for (const char* key : {"tiered", "tier", "tier_since", "notified_severity", "notified_tier",
                            "previous_severity", "quiet_step", "legacy"})
      i.erase(key);
  }
  dir->write("state/alerting.json", state.dump());
  { Harness between(yaml, dir); }  // reads format 1, writes format 2, no rule reports
  {
    std::ifstream in(path);
    EXPECT_EQ(nlohmann::json::parse(in)["format"], 2);
  }

  Harness h(yaml, dir);
  critical.tiered = true;
  critical.tier = 1;
  h.report({critical});
  const std::string id = alert_id_of(critical);
  EXPECT_NE(h.log().find("is now alert " + id), std::string::npos) << h.log();
  ASSERT_EQ(h.d().alerts().size(), 1u);
  EXPECT_EQ(h.d().alerts()[0].id, id);
  h.run_for(5min, 1min, {critical});
  EXPECT_EQ(primary.count(), paged);  // nobody paged again
  for (const auto& s : seen(primary)) EXPECT_NE(s.status, "resolved");
}

// What receivers were told of a tiered alert, and its incident's clock, survive a restart: the tier
// change after it is still one incident, on the clock from before.
TEST_F(Escalation, ATierChangeAfterARestartIsStillOneIncident) {
  Harness h(yaml);
  Alert warning = alert("DiskFilling", "warning", kStart, {{"instance", "db-1"}});
  warning.tiered = true;
  warning.tier = 0;
  h.report({warning});
  ASSERT_EQ(seen(team), (Steps{{"firing", "triggered", "DiskFilling", "warning", 1}}));
  h.run_for(20min, 5min, {warning});
  h.restart();
  Alert critical = alert("DiskFilling", "critical", h.clock.now_ms(), {{"instance", "db-1"}});
  critical.tiered = true;
  critical.tier = 1;
  h.report({critical});
  // At 20m on the incident's clock the critical policy stands at step 2: steps 1 and 2 page now.
  EXPECT_EQ(seen(team), (Steps{{"firing", "triggered", "DiskFilling", "warning", 1},
                               {"firing", "escalated", "DiskFilling", "critical", 2}}));
  EXPECT_EQ(seen(primary), (Steps{{"firing", "escalated", "DiskFilling", "critical", 2}}));
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "DiskFilling", "critical", 2}}));
  h.report({resolved(critical, h.clock.now_ms())});
  EXPECT_EQ(seen(team).back(), (Seen{"resolved", "resolved", "DiskFilling", "critical", 2}));
  EXPECT_EQ(seen(primary).back(), (Seen{"resolved", "resolved", "DiskFilling", "critical", 2}));
  EXPECT_EQ(seen(lead).size(), 2u);
  EXPECT_EQ(commander.count(), 0u);
}

TEST_F(Escalation, SilencesSuppressNotificationsButNotEvaluation) {
  Harness h(yaml);
  Silence s;
  config::LabelMatcher m;
  ASSERT_EQ(config::parse_label_matcher("alertname=~\"High.*\"", m), std::nullopt);
  s.matchers = {m};
  s.starts_at = kStart;
  s.ends_at = kStart + 20 * 60'000;
  s.created_by = "carol";
  s.comment = "maintenance";
  auto created = h.d().create_silence(s);
  ASSERT_TRUE(std::holds_alternative<Silence>(created)) << std::get<std::string>(created);
  std::string id = std::get<Silence>(created).id;
  Alert a = alert("HighLatency", "critical", kStart);
  Alert other = alert("Other", "critical", kStart);
  h.report({a, other});
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "Other", "critical", 1}}));
  auto view = h.d().alert(fingerprint(a.labels));
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, AlertState::firing);
  EXPECT_EQ(view->silenced_by, std::vector<std::string>{id});
  EXPECT_EQ(view->step, 0);
  // Expired early: the alert is notified at the step it has reached by now.
  h.run_for(16min, 4min, {a, other});
  ASSERT_EQ(h.d().expire_silence(id), std::nullopt);
  EXPECT_NE(h.d().expire_silence(id), std::nullopt);  // already expired
  h.report({a, other});
  EXPECT_EQ(seen(primary).back(), (Seen{"firing", "triggered", "HighLatency", "critical", 2}));
  EXPECT_EQ(seen(lead).back(), (Seen{"firing", "triggered", "HighLatency", "critical", 2}));
  auto listed = h.d().silences();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status(h.clock.now_ms()), "expired");
}

TEST_F(Escalation, SilencesAreValidated) {
  Harness h(yaml);
  Silence s;
  s.created_by = "x";
  s.ends_at = kStart + 1000;
  EXPECT_EQ(std::get<std::string>(h.d().create_silence(s)), "a silence needs at least one matcher");
  config::LabelMatcher m;
  ASSERT_EQ(config::parse_label_matcher("job=~\".*\"", m), std::nullopt);
  s.matchers = {m};
  EXPECT_EQ(std::get<std::string>(h.d().create_silence(s)),
            "a silence must have at least one matcher that does not match the empty string");
  ASSERT_EQ(config::parse_label_matcher("job=\"pg\"", m), std::nullopt);
  s.matchers = {m};
  s.ends_at = kStart - 1;
  EXPECT_EQ(std::get<std::string>(h.d().create_silence(s)), "the silence must end after it starts");
}

TEST_F(Escalation, RepeatedReportsNeverNotifyTwiceForTheSameStep) {
  Harness h(yaml);
  Alert a = alert("HighLatency", "critical", kStart);
  for (int i = 0; i < 20; ++i) h.report({a});
  h.run_for(16min, 10s, {a});
  EXPECT_EQ(primary.count(), 1u);
  EXPECT_EQ(lead.count(), 1u);
}

TEST(Grouping, AlertsOfOneEvaluationGoOutAsOneNotification) {
  HttpReceiver hook;
  Harness h(receivers_yaml({{"hook", &hook}}) + "routes:\n  - { notify: [hook] }\n");
  h.report({alert("DiskFull", "warning", kStart, {{"instance", "a"}}),
            alert("DiskFull", "warning", kStart, {{"instance", "b"}}), alert("Other", "warning", kStart)});
  ASSERT_EQ(hook.count(), 2u);  // grouped by alertname
  auto first = nlohmann::json::parse(hook.requests()[0].body);
  auto second = nlohmann::json::parse(hook.requests()[1].body);
  auto& disk = first["groupLabels"]["alertname"] == "DiskFull" ? first : second;
  EXPECT_EQ(disk["alerts"].size(), 2u);
  EXPECT_EQ(disk["commonLabels"]["alertname"], "DiskFull");
  EXPECT_EQ(disk["status"], "firing");
  EXPECT_EQ(disk["version"], "4");
}

TEST(Grouping, GroupWaitGathersAlertsArrivingWithinTheWindow) {
  HttpReceiver hook;
  Harness h(receivers_yaml({{"hook", &hook}}) +
            "routes:\n  - { notify: [hook], group_wait: 30s, group_by: [job] }\n");
  Alert a = alert("A", "warning", kStart, {{"job", "pg"}});
  h.report({a});
  h.advance(10s);
  Alert b = alert("B", "warning", h.clock.now_ms(), {{"job", "pg"}});
  h.report({a, b}, "rules.yaml;group");
  h.advance(19s);
  EXPECT_EQ(hook.count(), 0u);
  h.advance(1s);
  ASSERT_EQ(hook.count(), 1u);
  auto body = nlohmann::json::parse(hook.requests()[0].body);
  EXPECT_EQ(body["alerts"].size(), 2u);
  EXPECT_EQ(body["groupLabels"], nlohmann::json({{"job", "pg"}}));
}

TEST(Inhibition, ATargetDownAlertMutesTheOthersOfItsTarget) {
  HttpReceiver hook;
  Harness h(receivers_yaml({{"hook", &hook}}) + R"(routes:
  - { notify: [hook], group_by: [alertname, instance] }
inhibit_rules:
  - source_match: { alertname: TargetDown }
    target_matchers: ['alertname!="TargetDown"']
    equal: [instance]
)");
  Alert down = alert("TargetDown", "critical", kStart, {{"instance", "db-1"}});
  Alert latency_a = alert("HighLatency", "critical", kStart, {{"instance", "db-1"}});
  Alert latency_b = alert("HighLatency", "critical", kStart, {{"instance", "db-2"}});
  h.report({down, latency_a, latency_b});
  std::vector<std::string> got;
  for (const auto& r : hook.requests()) {
    auto j = nlohmann::json::parse(r.body);
    for (const auto& a : j["alerts"])
      got.push_back(a["labels"]["alertname"].get<std::string>() + "@" +
                    a["labels"]["instance"].get<std::string>());
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"HighLatency@db-2", "TargetDown@db-1"}));
  EXPECT_EQ(h.d().alert(fingerprint(latency_a.labels))->inhibited_by,
            std::vector<std::string>{fingerprint(down.labels)});
  // The target comes back: the inhibited alert is notified if it still fires.
  hook.clear();
  h.report({resolved(down, h.clock.now_ms()), latency_a, latency_b});
  auto after = seen(hook);
  std::sort(after.begin(), after.end(), [](const Seen& x, const Seen& y) { return x.event < y.event; });
  EXPECT_EQ(after, (Steps{{"resolved", "resolved", "TargetDown", "critical", 1},
                          {"firing", "triggered", "HighLatency", "critical", 1}}));
}

TEST(TimeIntervals, AMaintenanceWindowMutesItsRouteUntilItEnds) {
  HttpReceiver hook;
  // kStart is Monday 10:00 UTC = 11:00 in Berlin.
  Harness h(receivers_yaml({{"hook", &hook}}) + R"(time_intervals:
  maintenance:
    - weekdays: ["monday"]
      times: [{ start_time: "10:30", end_time: "11:30" }]
      location: Europe/Berlin
routes:
  - { notify: [hook], mute_time_intervals: [maintenance] }
)");
  Alert a = alert("Deploying", "warning", kStart);
  h.report({a});
  EXPECT_EQ(hook.count(), 0u);
  EXPECT_EQ(h.d().alert(fingerprint(a.labels))->muted_by, "maintenance");
  h.run_for(29min, 1min, {a});
  EXPECT_EQ(hook.count(), 0u);
  h.run_for(1min, 1min, {a});
  EXPECT_EQ(hook.count(), 1u);
}

TEST(Flapping, RepeatedFireAndResolveIsDampedAndSaidSo) {
  HttpReceiver hook;
  Harness h(
      receivers_yaml({{"hook", &hook}}) +
      "routes:\n  - { notify: [hook] }\nalerting:\n  flapping: { window: 30m, changes: 4, settle: 5m }\n");
  Alert a = alert("Flappy", "warning", kStart);
  h.report({a});  // change 1
  h.advance(1min);
  h.report({resolved(a, h.clock.now_ms())});  // change 2: resolve sent
  h.advance(1min);
  a.fired_at = h.clock.now_ms();
  h.report({a});  // change 3: triggered again
  h.advance(1min);
  h.report({resolved(a, h.clock.now_ms())});  // change 4: flapping, resolve held back
  EXPECT_EQ(seen(hook), (Steps{{"firing", "triggered", "Flappy", "warning", 1},
                               {"resolved", "resolved", "Flappy", "warning", 1},
                               {"firing", "triggered", "Flappy", "warning", 1}}));
  auto view = h.d().alert(fingerprint(a.labels));
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->flapping);
  EXPECT_EQ(view->state, AlertState::resolved);
  h.advance(1min);
  a.fired_at = h.clock.now_ms();
  h.report({a});  // fires again within the settle time: the same episode, no new notification
  h.advance(1min);
  h.report({resolved(a, h.clock.now_ms())});
  EXPECT_EQ(hook.count(), 3u);
  h.advance(4min);
  h.report({});
  EXPECT_EQ(hook.count(), 3u);
  h.advance(1min);
  h.report({});
  ASSERT_EQ(hook.count(), 4u);
  auto body = nlohmann::json::parse(hook.requests()[3].body);
  EXPECT_EQ(body["alerts"][0]["status"], "resolved");
  EXPECT_EQ(body["alerts"][0]["flapping"]["changes"], 6);
  EXPECT_TRUE(h.d().alerts().empty());
}

// Receiver outages and restarts: everything arrives, once per step, in order.
class Outbox : public ::testing::Test {
 protected:
  HttpReceiver primary, lead;
  std::string yaml = receivers_yaml({{"primary", &primary}, {"lead", &lead}}) + R"(escalation_policies:
  p:
    steps:
      - { after: 0m, notify: [primary] }
      - { after: 15m, notify: [lead] }
routes:
  - { policy: p }
alerting:
  outbox: { initial_backoff: 2s, max_backoff: 1m, expiry: 2h }
)";
};

TEST_F(Outbox, AReceiverDownThenUpGetsEveryNotificationOnceInOrder) {
  Harness h(yaml);
  primary.respond(503, "maintenance");
  Alert a = alert("A", "critical", kStart);
  Alert b = alert("B", "critical", kStart);
  h.report({a, b});
  std::size_t attempts = primary.count();
  EXPECT_GE(attempts, 1u);
  h.run_for(16min, 30s, {a, b});  // retries with backoff while down; the lead's step arrives meanwhile
  EXPECT_GT(primary.count(), attempts);
  EXPECT_GT(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "failure"}}), 2);
  EXPECT_EQ(lead.count(), 2u);  // A and B, in a group each (grouped by alertname)
  // Down hard (connection refused), then resolved while down.
  primary.stop();
  h.run_for(2min, 30s, {a, b});
  h.report({resolved(a, h.clock.now_ms()), b});
  primary.clear();
  primary.respond(200);
  primary.start();
  h.run_for(2min, 30s, {b});
  // In order per alert (A and B are separate groups, so they may interleave).
  auto of = [&](const std::string& name) {
    Steps out;
    for (const Seen& s : seen(primary)) {
      if (s.alertname == name) out.push_back(s);
    }
    return out;
  };
  EXPECT_EQ(of("A"), (Steps{{"firing", "triggered", "A", "critical", 1},
                            {"resolved", "resolved", "A", "critical", 2}}));
  EXPECT_EQ(of("B"), (Steps{{"firing", "triggered", "B", "critical", 1}}));
  EXPECT_EQ(primary.count(), 3u);
  EXPECT_EQ(h.metric("tocsin_notification_queue_length"), 0);
  EXPECT_EQ(h.d().outbox().queued, 0u);
}

TEST_F(Outbox, NotificationsAndEscalationSurviveARestart) {
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  Alert a = alert("A", "critical", kStart);
  primary.stop();
  {
    Harness h(yaml, dir);
    h.report({a});
    EXPECT_EQ(h.d().outbox().queued, 1u);
  }
  primary.start();
  Harness h(yaml, dir);
  h.clock.set(kStart + 60'000);
  h.report({a});
  h.advance(10s);
  EXPECT_EQ(seen(primary), (Steps{{"firing", "triggered", "A", "critical", 1}}));
  h.run_for(14min, 1min, {a});
  EXPECT_EQ(seen(lead), (Steps{{"firing", "escalated", "A", "critical", 2}}));
  EXPECT_EQ(primary.count(), 1u);
  EXPECT_NE(h.log().find("alert state restored"), std::string::npos);
}

TEST_F(Outbox, TimersRunFromFiringEvenWhenTheRuleEngineRestartsItsForClock) {
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  Alert a = alert("A", "critical", kStart);
  {
    Harness h(yaml, dir);
    h.report({a});
    ASSERT_EQ(primary.count(), 1u);
  }
  Harness h(yaml, dir);
  h.clock.set(kStart + 10 * 60'000);
  Alert pending = alert("A", "critical", h.clock.now_ms(), {}, AlertState::pending);
  h.report({pending});
  EXPECT_EQ(h.d().alert(fingerprint(a.labels))->state, AlertState::firing);
  h.run_for(5min, 1min, {pending});
  EXPECT_EQ(lead.count(), 1u);
  Alert refired = alert("A", "critical", h.clock.now_ms());
  h.report({refired});
  EXPECT_EQ(h.d().alert(fingerprint(a.labels))->fired_at, kStart);
  EXPECT_EQ(primary.count(), 1u);
}

TEST_F(Outbox, ExpiredNotificationsAreDroppedAndTheirResolveIsNotSent) {
  Harness h(yaml);
  primary.respond(500);
  Alert a = alert("A", "critical", kStart);
  h.report({a});
  h.run_for(2h, 5min, {a});
  h.report({resolved(a, h.clock.now_ms())});
  h.run_for(5min, 30s, {});
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "expired"}}), 1);
  primary.clear();
  primary.respond(200);
  h.run_for(10min, 30s, {});
  EXPECT_EQ(primary.count(), 0u);  // the resolve of an undelivered trigger was dropped
  EXPECT_NE(h.log().find("expired undelivered"), std::string::npos);
}

TEST_F(Outbox, APermanentErrorIsNotRetried) {
  Harness h(yaml);
  primary.respond(400, "bad payload");
  h.report({alert("A", "critical", kStart)});
  h.run_for(5min, 30s, {alert("A", "critical", kStart)});
  EXPECT_EQ(primary.count(), 1u);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "rejected"}}), 1);
  EXPECT_NE(h.log().find("HTTP 400: bad payload"), std::string::npos);
}

// Retry-After on 429 and 503 (seconds or an HTTP-date): the next attempt waits for it, beyond the
// backoff (2s here), but never beyond max_backoff (1m). The dispatcher's clock is the harness's, so
// "not before" is exact: nothing else moves it.
TEST_F(Outbox, RetryAfterIsHonouredUpToMaxBackoff) {
  Harness h(yaml);
  const Alert a = alert("A", "critical", kStart);
  primary.respond_next(429, {{"Retry-After", "30"}});
  h.report({a});
  ASSERT_EQ(primary.count(), 1u);
  for (int s = 0; s < 29; ++s) h.advance(1s);
  EXPECT_EQ(primary.count(), 1u) << "retried before Retry-After's 30s";
  h.advance(1s);
  h.advance(1s);
  ASSERT_EQ(primary.count(), 2u);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "success"}}), 1);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "failure"}}), 1);
  EXPECT_EQ(h.d().outbox().queued, 0u);

  // An HTTP-date 20 s from now (the wall clock's: a date is absolute), on a 503.
  char date[64];
  const std::time_t at = std::time(nullptr) + 20;
  std::tm tm{};
  gmtime_r(&at, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  primary.clear();
  primary.respond_next(503, {{"Retry-After", date}});
  const Alert b = alert("B", "critical", kStart);
  h.report({a, b});
  ASSERT_EQ(primary.count(), 1u);
  for (int s = 0; s < 15; ++s) h.advance(1s);
  EXPECT_EQ(primary.count(), 1u) << "retried before the Retry-After date";
  for (int s = 0; s < 10; ++s) h.advance(1s);
  EXPECT_EQ(primary.count(), 2u);

  // An hour is more than max_backoff allows: retried within the minute.
  primary.clear();
  primary.respond_next(429, {{"Retry-After", "3600"}});
  const Alert c = alert("C", "critical", kStart);
  h.report({a, b, c});
  ASSERT_EQ(primary.count(), 1u);
  for (int s = 0; s < 61; ++s) h.advance(1s);
  EXPECT_EQ(primary.count(), 2u);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "primary"}, {"result", "success"}}), 3);
}

TEST_F(Outbox, ACorruptStateFileIsMovedAsideNotFatal) {
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  std::filesystem::create_directories(dir->path() / "state");
  dir->write("state/alerting.json", "{not json");
  Harness h(yaml, dir);
  EXPECT_NE(h.log().find("cannot read the alert state"), std::string::npos);
  h.report({alert("A", "critical", kStart)});
  EXPECT_EQ(primary.count(), 1u);
}

TEST_F(Outbox, AnAlertNoLongerReportedByItsGroupIsResolved) {
  Harness h(yaml);
  Alert a = alert("A", "critical", kStart);
  Alert b = alert("B", "critical", kStart);
  h.report({a, b});
  h.report({b});
  EXPECT_EQ(seen(primary).back(), (Seen{"resolved", "resolved", "A", "critical", 1}));
  EXPECT_EQ(h.d().alerts().size(), 1u);
}

TEST(ResolveTimeout, AGroupEvaluatedLessOftenThanTheTimeoutDoesNotFlap) {
  HttpReceiver hook;
  // resolve_timeout is 15m by default; this group is evaluated every 30m.
  Harness h(receivers_yaml({{"hook", &hook}}) + "routes:\n  - { notify: [hook] }\n");
  Alert a = alert("Nightly", "warning", kStart);
  h.report({a});
  for (int k = 0; k < 6; ++k) {
    h.advance(20min);
    h.advance(10min);
    h.report({a});
  }
  EXPECT_EQ(seen(hook), (Steps{{"firing", "triggered", "Nightly", "warning", 1}}));
  // The group goes away: its alert is resolved after three of its intervals without a report.
  h.advance(60min);
  EXPECT_EQ(hook.count(), 1u);
  h.advance(31min);
  EXPECT_EQ(seen(hook).back(), (Seen{"resolved", "resolved", "Nightly", "warning", 1}));
  EXPECT_NE(h.log().find("was not reported for 1h31m"), std::string::npos) << h.log();
}

TEST(ResolveTimeout, TheLearntIntervalSurvivesARestart) {
  HttpReceiver hook;
  auto dir = std::make_shared<TempDir>("tocsin-alerting");
  std::string yaml = receivers_yaml({{"hook", &hook}}) + "routes:\n  - { notify: [hook] }\n";
  Alert a = alert("Nightly", "warning", kStart);
  Timestamp at = kStart;
  {
    Harness h(yaml, dir);
    h.report({a});
    h.advance(30min);
    h.report({a});
    at = h.clock.now_ms();
  }
  Harness h(yaml, dir);
  h.clock.set(at);
  h.advance(29min);
  h.report({a});
  EXPECT_EQ(seen(hook), (Steps{{"firing", "triggered", "Nightly", "warning", 1}}));
}

TEST(Order, AReloadThatMovesRoutesCannotLetAResolveOvertakeItsTrigger) {
  HttpReceiver hook, other;
  std::string receivers = receivers_yaml({{"hook", &hook}, {"other", &other}});
  std::string tail = "alerting:\n  outbox: { initial_backoff: 20s, max_backoff: 20s }\n";
  Harness h(receivers + "routes:\n  - { notify: [hook] }\n" + tail);
  hook.respond(503, "busy");
  Alert a = alert("A", "warning", kStart);
  h.report({a});
  ASSERT_EQ(hook.count(), 1u);  // the trigger failed and waits for its retry
  // A route is added above the one that sent the trigger.
  h.d().reload(alerting_config(receivers + "routes:\n  - { match: { team: x }, notify: [other] }\n" +
                               "  - { notify: [hook] }\n" + tail));
  hook.clear();
  hook.respond(200);
  h.report({resolved(a, h.clock.now_ms())});
  EXPECT_EQ(hook.count(), 0u);  // the resolve waits behind the trigger
  h.advance(20s);
  EXPECT_EQ(seen(hook),
            (Steps{{"firing", "triggered", "A", "warning", 1}, {"resolved", "resolved", "A", "warning", 1}}));
  EXPECT_EQ(h.d().outbox().queued, 0u);
}

TEST(Order, AlertsOfOneReceiverThatShareNoAlertDoNotWaitForEachOther) {
  HttpReceiver hook;
  Harness h(receivers_yaml({{"hook", &hook}}) + "routes:\n  - { notify: [hook] }\n" +
            "alerting:\n  outbox: { initial_backoff: 1m, max_backoff: 1m }\n");
  hook.respond(503);
  h.report({alert("A", "warning", kStart)});
  hook.respond(200);
  h.report({alert("A", "warning", kStart), alert("B", "warning", kStart)});
  EXPECT_EQ(seen(hook).back(), (Seen{"firing", "triggered", "B", "warning", 1}));
  EXPECT_EQ(h.d().outbox().queued, 1u);
}

class Refresh : public ::testing::Test {
 protected:
  HttpReceiver am, hook;
  std::string yaml = "receivers:\n  fleet: { type: alertmanager, urls: [\"" + am.url() +
                     "\"], resend_interval: 5s }\n  hook: { type: webhook, url: \"" + hook.url() +
                     "\" }\nroutes:\n  - { match: { alertname: A }, notify: [fleet] }\n"
                     "  - { notify: [hook] }\n";
};

TEST_F(Refresh, AnOutageKeepsOneWaitingRefreshReplacedInPlace) {
  Harness h(yaml + "alerting:\n  outbox: { initial_backoff: 2s, max_backoff: 30s }\n");
  Alert a = alert("A", "critical", kStart);
  h.report({a});
  ASSERT_EQ(am.count(), 1u);
  am.respond(503, "down");
  h.run_for(2min, 1s, {a});
  EXPECT_EQ(h.d().outbox().queued, 1u);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "fleet"}, {"result", "dropped"}}), 0);
  am.clear();
  am.respond(200);
  h.run_for(40s, 1s, {a});
  EXPECT_EQ(h.d().outbox().queued, 0u);
  ASSERT_GE(am.count(), 1u);
  // What went out first after the outage restates the alert with an endsAt ahead of now.
  auto first = nlohmann::json::parse(am.requests()[0].body);
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["labels"]["alertname"], "A");
}

TEST_F(Refresh, AFullOutboxDropsRefreshesFirst) {
  Harness h(yaml + "alerting:\n  outbox: { initial_backoff: 1m, max_backoff: 1m, max_entries: 3 }\n");
  Alert a = alert("A", "critical", kStart);
  h.report({a});
  ASSERT_EQ(am.count(), 1u);
  am.respond(503, "down");
  h.run_for(6s, 1s, {a});
  EXPECT_EQ(h.d().outbox().queued, 1u);  // the refresh
  hook.respond(503, "down");
  Alert b = alert("B", "critical", h.clock.now_ms());
  Alert c = alert("C", "critical", h.clock.now_ms());
  Alert d = alert("D", "critical", h.clock.now_ms());
  h.report({a, b, c, d});
  EXPECT_EQ(h.d().outbox().queued, 3u);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "fleet"}, {"result", "dropped"}}), 1);
  EXPECT_EQ(h.metric("tocsin_notifications_total", {{"receiver", "hook"}, {"result", "dropped"}}), 0);
  // Dropping a refresh loses nothing: A's resolve still goes to the Alertmanager.
  am.respond(200);
  hook.respond(200);
  h.advance(1min);
  EXPECT_EQ(h.d().outbox().queued, 0u);
  am.clear();
  h.report({resolved(a, h.clock.now_ms()), b, c, d});
  ASSERT_EQ(am.count(), 1u);
  auto last = nlohmann::json::parse(am.requests()[0].body);
  EXPECT_EQ(last[0]["labels"]["alertname"], "A");
  EXPECT_NE(last[0]["endsAt"], "0001-01-01T00:00:00Z");
}

}  // namespace
}  // namespace tocsin::alerting::testing
