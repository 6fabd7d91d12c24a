// A tiered rule through the real daemon: a scraped value moves one alert between warning and
// critical, with a webhook receiver on every escalation step. Each test asserts every message each
// receiver got, in order, as docs/alerting.md ("Tier changes") lists them: one incident (one id),
// an escalation going up, one update going down, nobody paged twice, no resolve while it fires.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fixtures/http_client.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"

namespace tocsin::testing::tier_daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using Messages = std::vector<std::string>;

// Escalation steps: warning 0s w1, 16s w2; critical 0s c1, 6s c2, 24s c3 (on the incident's clock), far
// enough apart that a loaded machine's delays do not change which steps are due when.
const char* kPolicies = R"(escalation_policies:
  warn:
    steps:
      - { after: 0s, notify: [w1] }
      - { after: 16s, notify: [w2] }
  crit:
    steps:
      - { after: 0s, notify: [c1] }
      - { after: 6s, notify: [c2] }
      - { after: 24s, notify: [c3] }
routes:
  - { match: { severity: critical }, policy: crit }
  - { match: { severity: warning }, policy: warn }
)";

constexpr const char* kWarning = "0.85";
constexpr const char* kCritical = "0.97";
constexpr const char* kClear = "0.5";

// The daemon scraping `disk_used_ratio` from a loopback server the test sets, with the tiered rule
// DiskFull (warning above 0.8, critical above 0.95) and the receivers and routes given.
class TieredDaemon {
 public:
  explicit TieredDaemon(const std::string& receivers_and_routes) : port_(free_port()) {
    set(kClear);
    dir_.write("rules.yaml", R"(groups:
  - name: disk
    interval: 500ms
    rules:
      - alert: DiskFull
        expr: disk_used_ratio
        tiers:
          warning: { above: 0.8 }
          critical: { above: 0.95 }
        annotations:
          summary: "disk at {{ $value }}"
)");
    dir_.write("token", "t0ken\n");
    dir_.write(
        "tocsin.yaml",
        "listen: 127.0.0.1:" + std::to_string(port_) + "\nstate_dir: " + (dir_.path() / "state").string() +
            "\ninterval: 500ms\nrule_files: [rules.yaml]\ncollectors:\n  scrape:\n    - job_name: disk\n"
            "      scrape_interval: 500ms\n      static_configs: [{ targets: ['127.0.0.1:" +
            std::to_string(metrics_.port()) + "'] }]\n" +
            "alerting:\n  api_token_file: token\n  outbox: { initial_backoff: 100ms, max_backoff: 500ms }\n" +
            receivers_and_routes);
    ProcessOptions options;
    options.stderr_file = dir_.path() / "stderr.log";
    process_ = std::make_unique<Process>(std::vector<std::string>{TOCSIN_EXECUTABLE, "run", "--config",
                                                                  (dir_.path() / "tocsin.yaml").string()},
                                         options);
    EXPECT_TRUE(
        wait_until([&] { return !process_->running() || http_get(port_, "/-/ready").status == 200; }, 20s) &&
        process_->running())
        << log();
  }
  // The value the next scrapes return.
  void set(const std::string& value) { metrics_.respond(200, "disk_used_ratio " + value + "\n"); }
  HttpResult ack(const std::string& id, const std::string& expires = "") const {
    json body = {{"by", "alice"}, {"comment", "on it"}};
    if (!expires.empty()) body["expires"] = expires;
    return http_request(port_, "POST", "/api/v1/alerts/" + id + "/ack", body.dump(),
                        {{"Authorization", "Bearer t0ken"}, {"Content-Type", "application/json"}});
  }
  std::string log() const {
    std::ifstream in(dir_.path() / "stderr.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  TempDir dir_{"tocsin-tier-daemon"};
  HttpReceiver metrics_;
  int port_;
  std::unique_ptr<Process> process_;
};

// Every alert of every webhook request a receiver got, as "status event severity step".
Messages messages(const HttpReceiver& r) {
  Messages out;
  for (const auto& req : r.requests()) {
    const json body = json::parse(req.body);
    for (const auto& a : body.at("alerts")) {
      out.push_back(a.at("status").get<std::string>() + " " + a.at("event").get<std::string>() + " " +
                    a.at("severity").get<std::string>() + " " +
                    std::to_string(a.at("escalation").at("step").get<int>()));
    }
  }
  return out;
}

// The ids (fingerprints) in everything the receivers got.
std::set<std::string> ids(std::initializer_list<const HttpReceiver*> receivers) {
  std::set<std::string> out;
  for (const HttpReceiver* r : receivers) {
    for (const auto& req : r->requests()) {
      const json body = json::parse(req.body);
      for (const auto& a : body.at("alerts")) out.insert(a.at("fingerprint").get<std::string>());
    }
  }
  return out;
}

std::string first_id(const HttpReceiver& r) {
  return json::parse(r.requests().at(0).body).at("alerts").at(0).at("fingerprint").get<std::string>();
}

class TierChange : public ::testing::Test {
 protected:
  HttpReceiver w1, w2, c1, c2, c3;
  std::string config() const {
    std::string out = "receivers:\n";
    for (auto [name, r] : {std::pair{"w1", &w1}, {"w2", &w2}, {"c1", &c1}, {"c2", &c2}, {"c3", &c3}})
      out += std::string("  ") + name + ": { type: webhook, url: \"" + r->url(std::string("/") + name) +
             "\" }\n";
    return out + kPolicies;
  }
  bool wait(const HttpReceiver& r, std::size_t n, std::chrono::milliseconds timeout = 30s) const {
    return wait_until([&] { return r.count() >= n; }, timeout);
  }
  // One id across everything sent, 16 hex digits.
  void expect_one_incident() const {
    auto all = ids({&w1, &w2, &c1, &c2, &c3});
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all.begin()->size(), 16u);
  }
  // Lets any message that should not come show up before the lists are compared.
  static void settle() { std::this_thread::sleep_for(1500ms); }
};

TEST_F(TierChange, GoingUpIsAnEscalationOfTheSameIncidentOnItsClock) {
  TieredDaemon tocsin(config());
  tocsin.set(kWarning);
  ASSERT_TRUE(wait(w1, 1)) << tocsin.log();
  // Past critical's step 2 (6s) on the incident's clock, before warning's step 2 (16s).
  std::this_thread::sleep_for(6500ms);
  tocsin.set(kCritical);
  // Critical's steps 1 and 2 are due on the incident's clock: paged at once; step 3 follows at 24s.
  ASSERT_TRUE(wait(c3, 1)) << tocsin.log();
  tocsin.set(kClear);
  ASSERT_TRUE(wait(c3, 2)) << tocsin.log();
  settle();
  EXPECT_EQ(messages(w1), (Messages{"firing triggered warning 1", "firing escalated critical 2",
                                    "resolved resolved critical 3"}));
  EXPECT_EQ(messages(w2), Messages{});
  EXPECT_EQ(messages(c1), (Messages{"firing escalated critical 2", "resolved resolved critical 3"}));
  EXPECT_EQ(messages(c2), (Messages{"firing escalated critical 2", "resolved resolved critical 3"}));
  EXPECT_EQ(messages(c3), (Messages{"firing escalated critical 3", "resolved resolved critical 3"}));
  expect_one_incident();
  // The escalation says where from, and keeps the incident's start.
  auto first = json::parse(w1.requests().at(0).body)["alerts"][0];
  auto up = json::parse(w1.requests().at(1).body)["alerts"][0];
  EXPECT_EQ(up["previousSeverity"], "warning");
  EXPECT_EQ(up["tiered"], true);
  EXPECT_EQ(up["startsAt"], first["startsAt"]);
  EXPECT_TRUE(first["previousSeverity"].is_null());
}

TEST_F(TierChange, GoingDownTellsThosePagedOnceAndPagesNobodyNew) {
  TieredDaemon tocsin(config());
  tocsin.set(kCritical);
  ASSERT_TRUE(wait(c2, 1)) << tocsin.log();
  tocsin.set(kWarning);
  ASSERT_TRUE(wait(c2, 2)) << tocsin.log();
  // Warning's step 1 (0s) counts as reached without paging w1; its step 2 (16s) pages on the
  // incident's clock.
  ASSERT_TRUE(wait(w2, 1)) << tocsin.log();
  tocsin.set(kClear);
  ASSERT_TRUE(wait(w2, 2)) << tocsin.log();
  settle();
  EXPECT_EQ(messages(c1), (Messages{"firing triggered critical 1", "firing tier_changed warning 1",
                                    "resolved resolved warning 2"}));
  EXPECT_EQ(messages(c2), (Messages{"firing escalated critical 2", "firing tier_changed warning 1",
                                    "resolved resolved warning 2"}));
  EXPECT_EQ(messages(w1), Messages{});
  EXPECT_EQ(messages(w2), (Messages{"firing escalated warning 2", "resolved resolved warning 2"}));
  EXPECT_EQ(messages(c3), Messages{});
  expect_one_incident();
  EXPECT_EQ(json::parse(c1.requests().at(1).body)["alerts"][0]["previousSeverity"], "critical");
}

TEST_F(TierChange, GoingUpDuringAnAckOfTheLowerTierPagesTheWorseTier) {
  TieredDaemon tocsin(config());
  tocsin.set(kWarning);
  ASSERT_TRUE(wait(w1, 1)) << tocsin.log();
  auto acked = tocsin.ack(first_id(w1));
  ASSERT_EQ(acked.status, 200) << acked.body;
  ASSERT_TRUE(wait(w1, 2)) << tocsin.log();
  std::this_thread::sleep_for(6500ms);
  // The acknowledgement covers warning, not critical: paging re-opens, where the incident stands.
  tocsin.set(kCritical);
  ASSERT_TRUE(wait(c3, 1)) << tocsin.log();
  tocsin.set(kClear);
  ASSERT_TRUE(wait(c3, 2)) << tocsin.log();
  settle();
  EXPECT_EQ(messages(w1), (Messages{"firing triggered warning 1", "firing acknowledged warning 1",
                                    "firing escalated critical 2", "resolved resolved critical 3"}));
  EXPECT_EQ(messages(w2), Messages{});
  EXPECT_EQ(messages(c1), (Messages{"firing escalated critical 2", "resolved resolved critical 3"}));
  EXPECT_EQ(messages(c2), (Messages{"firing escalated critical 2", "resolved resolved critical 3"}));
  EXPECT_EQ(messages(c3), (Messages{"firing escalated critical 3", "resolved resolved critical 3"}));
  expect_one_incident();
}

TEST_F(TierChange, GoingDownDuringAnAckIsOneUpdateAndStaysAcknowledged) {
  TieredDaemon tocsin(config());
  tocsin.set(kCritical);
  ASSERT_TRUE(wait(c2, 1)) << tocsin.log();
  auto acked = tocsin.ack(first_id(c1));
  ASSERT_EQ(acked.status, 200) << acked.body;
  ASSERT_TRUE(wait(c2, 2)) << tocsin.log();
  tocsin.set(kWarning);
  ASSERT_TRUE(wait(c2, 3)) << tocsin.log();
  // Past warning's step 2 (16s) on the incident's clock: acknowledged, it pages nobody.
  std::this_thread::sleep_for(11s);
  tocsin.set(kClear);
  ASSERT_TRUE(wait(c2, 4)) << tocsin.log();
  settle();
  EXPECT_EQ(messages(c1), (Messages{"firing triggered critical 1", "firing acknowledged critical 2",
                                    "firing tier_changed warning 1", "resolved resolved warning 1"}));
  EXPECT_EQ(messages(c2), (Messages{"firing escalated critical 2", "firing acknowledged critical 2",
                                    "firing tier_changed warning 1", "resolved resolved warning 1"}));
  EXPECT_EQ(messages(w1), Messages{});
  EXPECT_EQ(messages(w2), Messages{});
  EXPECT_EQ(messages(c3), Messages{});
  expect_one_incident();
  // The update says who acknowledged it.
  EXPECT_EQ(json::parse(c1.requests().at(2).body)["alerts"][0]["acknowledged"]["by"], "alice");
}

TEST_F(TierChange, AnAckExpiringAfterADeEscalationPagesOnlyTheStepDueNow) {
  TieredDaemon tocsin(config());
  tocsin.set(kCritical);
  ASSERT_TRUE(wait(c2, 1)) << tocsin.log();
  // Expires at 18s or later on the incident's clock, after warning's step 2 (16s) came due.
  auto acked = tocsin.ack(first_id(c1), "12s");
  ASSERT_EQ(acked.status, 200) << acked.body;
  ASSERT_TRUE(wait(c2, 2)) << tocsin.log();
  tocsin.set(kWarning);
  ASSERT_TRUE(wait(c2, 3)) << tocsin.log();
  // At the expiry only the step due now (warning's step 2) is paged, once; step 1 never was.
  ASSERT_TRUE(wait(w2, 1)) << tocsin.log();
  tocsin.set(kClear);
  ASSERT_TRUE(wait(w2, 2)) << tocsin.log();
  settle();
  EXPECT_EQ(messages(c1), (Messages{"firing triggered critical 1", "firing acknowledged critical 2",
                                    "firing tier_changed warning 1", "resolved resolved warning 2"}));
  EXPECT_EQ(messages(c2), (Messages{"firing escalated critical 2", "firing acknowledged critical 2",
                                    "firing tier_changed warning 1", "resolved resolved warning 2"}));
  EXPECT_EQ(messages(w1), Messages{});
  EXPECT_EQ(messages(w2), (Messages{"firing rearmed warning 2", "resolved resolved warning 2"}));
  EXPECT_EQ(messages(c3), Messages{});
  expect_one_incident();
}

// PagerDuty's Events API and Alertmanager's API on loopback: one dedup_key, one label set.
TEST(TierChangeReceivers, PagerDutyKeepsItsDedupKeyAndAlertmanagerItsLabels) {
  HttpReceiver pd, am;
  TieredDaemon tocsin("receivers:\n  pd: { type: pagerduty, routing_key: r0uting, url: \"" +
                      pd.url("/v2/enqueue") + "\" }\n  am: { type: alertmanager, urls: [\"http://127.0.0.1:" +
                      std::to_string(am.port()) + "\"] }\nroutes:\n  - { notify: [pd, am] }\n");
  std::size_t n = 0;
  for (const char* value : {kWarning, kCritical, kWarning, kClear}) {
    tocsin.set(value);
    ++n;
    ASSERT_TRUE(wait_until([&] { return pd.count() >= n && am.count() >= n; }, 20s)) << tocsin.log();
  }
  std::this_thread::sleep_for(1500ms);
  std::vector<std::string> actions, severities;
  std::set<std::string> keys;
  for (const auto& req : pd.requests()) {
    json e = json::parse(req.body);
    actions.push_back(e["event_action"]);
    keys.insert(e["dedup_key"].get<std::string>());
    if (e["event_action"] == "trigger") severities.push_back(e["payload"]["severity"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"trigger", "trigger", "trigger", "resolve"}));
  EXPECT_EQ(severities, (std::vector<std::string>{"warning", "critical", "warning"}));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.begin()->size(), 16u);
  // Alertmanager: the same label set every time (without severity, which is an annotation), so its
  // fingerprint stays; the alert ends only with the last post.
  std::set<std::string> label_sets;
  std::vector<std::string> am_severities;
  for (const auto& req : am.requests()) {
    EXPECT_EQ(req.target, "/api/v2/alerts");
    json alerts = json::parse(req.body);
    ASSERT_EQ(alerts.size(), 1u);
    label_sets.insert(alerts[0]["labels"].dump());
    EXPECT_FALSE(alerts[0]["labels"].contains("severity"));
    am_severities.push_back(alerts[0]["annotations"]["severity"]);
  }
  EXPECT_EQ(label_sets.size(), 1u);
  EXPECT_EQ(am_severities, (std::vector<std::string>{"warning", "critical", "warning", "warning"}));
}

}  // namespace
}  // namespace tocsin::testing::tier_daemon
