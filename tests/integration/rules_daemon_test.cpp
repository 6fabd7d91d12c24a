// The rule engine in the real daemon: tiers and hysteresis driven through a host collector reading a
// proc tree the test writes, alert state surviving SIGTERM and SIGKILL restarts, broken rule reloads,
// and the query and rules APIs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/host_rules_daemon.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

// A host collector over a proc tree in the daemon's dir, so the test sets node_load1.
class RulesDaemon : public HostRulesDaemon {
 protected:
  nlohmann::json alerts() {
    auto r = daemon_->get("/api/v1/alerts");
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    return j.is_discarded() ? nlohmann::json::array() : j["data"]["alerts"];
  }
  // The single alert's "state/severity", or "none".
  std::string alert_state() {
    auto list = alerts();
    if (list.empty()) return "none";
    return list[0]["state"].get<std::string>() + "/" + list[0]["labels"].value("severity", "");
  }
  bool wait_state(const std::string& want, std::chrono::milliseconds timeout = 20s) {
    return wait_until([&] { return alert_state() == want; }, timeout);
  }
  // The rule engine's own view (/api/v1/alerts is alerting's copy, which keeps alerts on its own).
  nlohmann::json rules() {
    auto j = nlohmann::json::parse(daemon_->get("/api/v1/rules").body, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  std::string last_evaluation() {
    auto j = rules();
    if (!j.contains("data") || j["data"]["groups"].empty()) return "";
    return j["data"]["groups"][0]["lastEvaluation"];
  }
  // The first rule's alerts in /api/v1/rules, once its group has been evaluated again.
  nlohmann::json rule_alerts_after_evaluation() {
    const std::string before = last_evaluation();
    EXPECT_TRUE(wait_until(
        [&] {
          const std::string now = last_evaluation();
          return !now.empty() && now != before && now != "0001-01-01T00:00:00Z";
        },
        10s))
        << daemon_->log();
    return rules()["data"]["groups"][0]["rules"][0]["alerts"];
  }
};

const char* kTiered = R"yaml(groups:
  - name: load
    interval: 1s
    rules:
      - alert: LoadHigh
        expr: node_load1
        tiers:
          warning:  { above: 1, for: 2s }
          critical: { above: 2, for: 2s }
        clear: { below: 0.8, for: 2s }
        annotations:
          summary: "load {{ $value }} ({{ $labels.severity }})"
)yaml";

TEST_F(RulesDaemon, TiersAndHysteresisEndToEnd) {
  start(kTiered);
  EXPECT_EQ(alert_state(), "none");
  set_load(1.5);
  ASSERT_TRUE(wait_state("firing/warning")) << alert_state() << daemon_->log();
  const std::string active_at = alerts()[0]["activeAt"];
  set_load(3);
  ASSERT_TRUE(wait_state("firing/critical")) << alert_state();
  EXPECT_EQ(alerts()[0]["activeAt"], active_at);  // the same alert, moved up a tier
  EXPECT_EQ(alerts()[0]["annotations"]["summary"], "load 3 (critical)");
  set_load(0.9);  // below both tiers, above clear: stays firing at the lowest tier
  ASSERT_TRUE(wait_state("firing/warning")) << alert_state();
  EXPECT_EQ(alerts()[0]["activeAt"], active_at);
  set_load(0.5);
  ASSERT_TRUE(wait_state("none")) << alert_state();
  // ALERTS was exported while it fired, and the rule is visible with its tiers.
  auto rules = nlohmann::json::parse(daemon_->get("/api/v1/rules").body);
  const auto& rule = rules["data"]["groups"][0]["rules"][0];
  EXPECT_EQ(rule["type"], "alerting");
  EXPECT_EQ(rule["tiers"][1]["severity"], "critical");
  EXPECT_EQ(rule["clear"]["below"], 0.8);
  EXPECT_EQ(rule["health"], "ok");
}

TEST_F(RulesDaemon, AlertStateSurvivesRestarts) {
  start(R"(groups:
  - name: load
    interval: 1s
    rules:
      - alert: LoadAboveZero
        expr: node_load1 > 0
        for: 3s
        labels: {severity: page}
)");
  ASSERT_TRUE(wait_state("firing/page")) << alert_state() << daemon_->log();
  auto before = rule_alerts_after_evaluation();
  ASSERT_EQ(before.size(), 1u);
  const std::string active_at = before[0]["activeAt"];
  const std::string fired_at = before[0]["firedAt"];
  EXPECT_TRUE(std::filesystem::exists(daemon_->dir() / "state" / "alerts.json"));

  for (bool kill : {false, true}) {
    daemon_->restart(kill);
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
    // Firing after the restart's first evaluation, with the times from before: no pending phase, no
    // re-fire. Asked of the rule engine, whose state this is.
    auto after = rule_alerts_after_evaluation();
    ASSERT_EQ(after.size(), 1u) << (kill ? "after SIGKILL" : "after SIGTERM") << daemon_->log();
    EXPECT_EQ(after[0]["state"], "firing") << (kill ? "after SIGKILL" : "after SIGTERM");
    EXPECT_EQ(after[0]["activeAt"], active_at);
    EXPECT_EQ(after[0]["firedAt"], fired_at);
    EXPECT_NE(daemon_->log().find("restored 1 active alert(s)"), std::string::npos) << daemon_->log();
    ASSERT_TRUE(wait_until([&] { return !alerts().empty(); }, 10s)) << daemon_->log();
    EXPECT_EQ(alert_state(), "firing/page");
  }

  // A corrupt state file is moved aside and reported, never fatal.
  daemon_->process().stop();
  daemon_->dir().write("state/alerts.json", "{ not json");
  daemon_->restart();
  ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  EXPECT_NE(daemon_->log().find("is corrupt; moved it to"), std::string::npos) << daemon_->log();
  bool moved = false;
  for (const auto& e : std::filesystem::directory_iterator(daemon_->dir() / "state")) {
    moved = moved || e.path().filename().string().starts_with("alerts.json.corrupt-");
  }
  EXPECT_TRUE(moved);
}

// A pending alert keeps its `for` clock across a restart: activeAt stays, it does not start over.
TEST_F(RulesDaemon, APendingAlertKeepsItsForClockAcrossRestarts) {
  start(R"(groups:
  - name: load
    interval: 1s
    rules:
      - alert: LoadAboveZero
        expr: node_load1 > 0
        for: 1h
)");
  auto before = rule_alerts_after_evaluation();
  ASSERT_EQ(before.size(), 1u) << daemon_->log();
  EXPECT_EQ(before[0]["state"], "pending");
  const std::string active_at = before[0]["activeAt"];
  for (bool kill : {false, true}) {
    daemon_->restart(kill);
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
    auto after = rule_alerts_after_evaluation();
    ASSERT_EQ(after.size(), 1u) << (kill ? "after SIGKILL" : "after SIGTERM") << daemon_->log();
    EXPECT_EQ(after[0]["state"], "pending");
    EXPECT_EQ(after[0]["activeAt"], active_at) << (kill ? "after SIGKILL" : "after SIGTERM");
  }
}

TEST_F(RulesDaemon, BrokenRuleReloadKeepsTheRunningRules) {
  start(kTiered);
  set_load(1.5);
  ASSERT_TRUE(wait_state("firing/warning")) << daemon_->log();
  daemon_->dir().write(
      "rules.yaml",
      "groups:\n  - name: load\n    rules:\n      - alert: X\n        expr: rate(node_load1)\n");
  HttpResult r = daemon_->reload();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(
      r.body.find(
          "rules.yaml:5:20: groups[0].rules[0].expr: could not parse expression: expected type range vector"),
      std::string::npos)
      << r.body;
  EXPECT_NE(daemon_->get("/metrics").body.find("tocsin_rules_last_reload_successful 0"), std::string::npos);
  EXPECT_EQ(alert_state(), "firing/warning");  // the old rules still run

  // A good reload that keeps the rule keeps the alert's state, in the rule engine (alerting's copy
  // would keep it on its own for a while).
  auto before = rule_alerts_after_evaluation();
  ASSERT_EQ(before.size(), 1u);
  const std::string active_at = before[0]["activeAt"];
  const std::string fired_at = before[0]["firedAt"];
  std::string renamed = kTiered;
  renamed += "      - record: load:x2\n        expr: node_load1 * 2\n";
  daemon_->dir().write("rules.yaml", renamed);
  EXPECT_EQ(daemon_->reload().status, 200);
  auto after = rule_alerts_after_evaluation();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["state"], "firing");
  EXPECT_EQ(after[0]["activeAt"], active_at);
  EXPECT_EQ(after[0]["firedAt"], fired_at);
  ASSERT_TRUE(wait_until(
      [&] {
        auto q = nlohmann::json::parse(daemon_->get("/api/v1/query?query=load:x2").body, nullptr, false);
        return !q.is_discarded() && !q["data"]["result"].empty();
      },
      10s));
  auto q = nlohmann::json::parse(daemon_->get("/api/v1/query?query=load:x2").body);
  EXPECT_EQ(q["data"]["resultType"], "vector");
  EXPECT_EQ(q["data"]["result"][0]["value"][1], "3");
  EXPECT_EQ(daemon_->get("/api/v1/query?query=sum(").status, 400);
  // /metrics exports the recorded series with a help line naming its group.
  const std::string metrics = daemon_->get("/metrics").body;
  EXPECT_NE(metrics.find("# HELP load:x2 Recorded by rule group " + (daemon_->dir() / "rules.yaml").string() +
                         ";load."),
            std::string::npos)
      << metrics.substr(0, 2000);
  EXPECT_NE(metrics.find("\nload:x2 3\n"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::testing
