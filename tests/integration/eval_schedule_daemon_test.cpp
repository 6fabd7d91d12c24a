// When the real daemon evaluates its rule groups: at the group's slots (for counts whole intervals,
// every evaluation is at slot time), and right after a collector commits a metric the group selects,
// at the commit's time, however long the group's own interval.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/host_rules_daemon.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

class EvalScheduleDaemon : public HostRulesDaemon {
 protected:
  // The query API's result for an already URL-encoded query.
  nlohmann::json query(const std::string& encoded) {
    auto j = nlohmann::json::parse(daemon_->get("/api/v1/query?query=" + encoded).body, nullptr, false);
    return j.is_discarded() ? nlohmann::json::array() : j["data"]["result"];
  }
  std::string state_of(const std::string& alertname) {
    auto j = nlohmann::json::parse(daemon_->get("/api/v1/alerts").body, nullptr, false);
    if (j.is_discarded()) return "none";
    for (const auto& a : j["data"]["alerts"]) {
      if (a["labels"].value("alertname", "") == alertname) return a["state"];
    }
    return "none";
  }
  static long long ms(const nlohmann::json& seconds) { return std::llround(seconds.get<double>() * 1000.0); }
  std::string group_key(const std::string& name) const {
    return (daemon_->dir() / "rules.yaml").string() + ";" + name;
  }
  // A counter of /metrics with this rule_group label, or -1 when absent.
  double group_counter(const std::string& metric, const std::string& group) {
    std::istringstream lines(daemon_->get("/metrics").body);
    const std::string prefix = metric + "{rule_group=\"" + group_key(group) + "\"} ";
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(prefix)) return std::stod(line.substr(prefix.size()));
    }
    return -1;
  }
};

// `for: 2s` in a 1 s group: pending at two slots, firing at the third, at exactly activeAt + 2 s; every
// ALERTS point is at one of the group's slots (a whole number of intervals from activeAt).
TEST_F(EvalScheduleDaemon, ForFiresAtExactlyActiveAtPlusForOnTheSlots) {
  start(R"(groups:
  - name: slots
    interval: 1s
    rules:
      - alert: Always
        expr: vector(1)
        for: 2s
)");
  ASSERT_TRUE(wait_until([&] { return state_of("Always") == "firing"; }, 20s)) << daemon_->log();
  auto for_state = query("ALERTS_FOR_STATE");
  ASSERT_EQ(for_state.size(), 1u) << for_state.dump();
  const long long active_at = std::llround(std::stod(for_state[0]["value"][1].get<std::string>()) * 1000);
  auto series = query("ALERTS%5B1m%5D");  // ALERTS[1m]
  ASSERT_EQ(series.size(), 2u) << series.dump();
  long long first_firing = 0;
  std::size_t pending = 0;
  for (const auto& s : series) {
    for (const auto& point : s["values"]) {
      const long long t = ms(point[0]);
      EXPECT_EQ((t - active_at) % 1000, 0)
          << t << " is not a slot of the group (activeAt " << active_at << ")";
      if (s["metric"]["alertstate"] == "pending") {
        ++pending;
      } else if (first_firing == 0 || t < first_firing) {
        first_firing = t;
      }
    }
  }
  EXPECT_EQ(pending, 2u);
  EXPECT_EQ(first_firing, active_at + 2000);
}

// A group evaluated once an hour still alerts at the first collection that shows the crossing: the
// host collector's commit of node_load1 triggers it, at that commit's timestamp; a group selecting a
// metric nobody collects is not triggered.
TEST_F(EvalScheduleDaemon, ACollectorsCommitTriggersTheGroupsSelectingIt) {
  start(R"(groups:
  - name: hot
    interval: 1h
    rules:
      - alert: HighLoad
        expr: node_load1 > 1
  - name: cold
    interval: 1h
    rules:
      - alert: NeverCollected
        expr: nobody_collects_this > 0
)");
  ASSERT_TRUE(wait_until(
      [&] { return group_counter("tocsin_rule_group_triggered_evaluations_total", "hot") > 0; }, 20s))
      << daemon_->log();
  set_load(2.5);
  ASSERT_TRUE(wait_until([&] { return state_of("HighLoad") == "firing"; }, 20s)) << daemon_->log();
  EXPECT_EQ(group_counter("tocsin_rule_group_triggered_evaluations_total", "cold"), 0);
  // The alert became active at the timestamp of a node_load1 sample.
  auto for_state = query("ALERTS_FOR_STATE");
  ASSERT_EQ(for_state.size(), 1u) << for_state.dump();
  const long long active_at = std::llround(std::stod(for_state[0]["value"][1].get<std::string>()) * 1000);
  auto load = query("node_load1%5B5m%5D");  // node_load1[5m]
  ASSERT_EQ(load.size(), 1u) << load.dump();
  bool at_a_sample = false;
  for (const auto& point : load[0]["values"]) at_a_sample = at_a_sample || ms(point[0]) == active_at;
  EXPECT_TRUE(at_a_sample) << active_at << " " << load.dump();
}

}  // namespace
}  // namespace tocsin::testing
