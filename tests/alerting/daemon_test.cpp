// The real tocsin binary with a rule that fires, receivers on loopback, the CLI against its API, and
// a SIGKILL in the middle of an outage: nothing lost, nothing sent twice.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures/http_client.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A daemon on a fixed directory (config, rules, state) that can be killed and started again.
class TocsinProcess {
 public:
  TocsinProcess(const TempDir& dir, const std::string& receivers_and_routes) : dir_(dir), port_(free_port()) {
    dir_.write("rules.yaml", R"(groups:
  - name: demo
    interval: 1s
    rules:
      - alert: CheckoutLatency
        expr: vector(0.734) > 0.5
        labels: { severity: critical, instance: "db-1:5432" }
        annotations:
          summary: "p99 checkout latency {{ $value }}s"
          description: "look for lock waits in pg_stat_activity"
      - alert: QueueDepth
        expr: vector(1200) > 1000
        labels: { severity: critical, instance: "redis-1" }
      - alert: CacheEvictions
        expr: vector(5) > 1
        labels: { severity: critical, instance: "redis-2" }
)");
    dir_.write("token", "t0ken\n");
    dir_.write(
        "tocsin.yaml",
        "listen: 127.0.0.1:" + std::to_string(port_) + "\nstate_dir: " + (dir_.path() / "state").string() +
            "\ninterval: 1s\nrule_files: [rules.yaml]\ncollectors: {}\nalerting:\n  api_token_file: token\n" +
            "  outbox: { initial_backoff: 100ms, max_backoff: 500ms }\n" + receivers_and_routes);
  }
  void start() {
    ProcessOptions options;
    options.stderr_file = dir_.path() / ("stderr-" + std::to_string(++runs_) + ".log");
    process_ = std::make_unique<Process>(
        std::vector<std::string>{TOCSIN_EXECUTABLE, "run", "--config", config()}, options);
    ASSERT_TRUE(
        wait_until([&] { return !process_->running() || http_get(port_, "/-/ready").status == 200; }, 20s) &&
        process_->running())
        << log();
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  std::string config() const { return (dir_.path() / "tocsin.yaml").string(); }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream in(dir_.path() / ("stderr-" + std::to_string(runs_) + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  CommandResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), TOCSIN_EXECUTABLE);
    args.insert(args.end(), {"--config", config()});
    return run_command(args, {}, 30s);
  }
  json alerts() const { return json::parse(http_get(port_, "/api/v1/alerts").body)["data"]["alerts"]; }

 private:
  const TempDir& dir_;
  int port_;
  int runs_ = 0;
  std::unique_ptr<Process> process_;
};

// (path, event, alertname, step) of every alert a receiver got.
std::vector<std::string> events(const HttpReceiver& r) {
  std::vector<std::string> out;
  for (const auto& req : r.requests()) {
    json body = json::parse(req.body);
    for (const auto& a : body["alerts"]) {
      out.push_back(req.target + " " + a["event"].get<std::string>() + " " +
                    a["labels"]["alertname"].get<std::string>() + " " +
                    std::to_string(a["escalation"]["step"].get<int>()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DaemonAlerting, EscalatesUntilAcknowledgedThroughTheCli) {
  HttpReceiver hook, team;
  TempDir dir("tocsin-alerting-daemon");
  TocsinProcess tocsin(dir, "receivers:\n  primary: { type: webhook, url: \"" + hook.url("/primary") +
                                "\" }\n" + "  lead: { type: webhook, url: \"" + hook.url("/lead") + "\" }\n" +
                                "  team: { type: webhook, url: \"" + team.url("/team") + "\" }\n" +
                                R"(escalation_policies:
  default:
    steps:
      - { after: 0s, notify: [primary] }
      - { after: 2s, notify: [lead] }
      - { after: 1h, notify: [lead] }
routes:
  - { match: { alertname: CheckoutLatency }, policy: default }
  - { match: { alertname: QueueDepth }, notify: [team], repeat: 1s }
  - { notify: [log] }
)");
  tocsin.start();
  ASSERT_TRUE(wait_until([&] { return events(hook).size() >= 2; }, 20s)) << tocsin.log();
  EXPECT_EQ(events(hook), (std::vector<std::string>{"/lead escalated CheckoutLatency 2",
                                                    "/primary triggered CheckoutLatency 1"}));
  auto body = json::parse(hook.requests()[0].body);
  EXPECT_EQ(body["alerts"][0]["annotations"]["summary"], "p99 checkout latency 0.734s");
  EXPECT_EQ(body["alerts"][0]["value"], 0.734);
  // The daemon's identity (the top-level `labels:`, by default host=<host name>) is on every alert
  // it sends, and on what on-call reads: the status page and `tocsin alerts`.
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(body["alerts"][0]["labels"]["host"], host) << body.dump();
  EXPECT_NE(http_get(tocsin.port(), "/").body.find("host=" + std::string(host)), std::string::npos);

  auto table = tocsin.cli({"alerts"});
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_TRUE(table.output.starts_with("host=" + std::string(host) + "\n")) << table.output;
  EXPECT_NE(table.output.find("CheckoutLatency  db-1:5432"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("2/3 lead"), std::string::npos) << table.output;
  std::string id;
  for (const auto& a : tocsin.alerts()) {
    if (a["labels"]["alertname"] == "CheckoutLatency") id = a["id"];
  }
  ASSERT_EQ(id.size(), 16u);
  auto ack = tocsin.cli({"ack", id.substr(0, 6), "--by", "alice", "--comment", "failing over"});
  ASSERT_EQ(ack.status, 0) << ack.output;
  EXPECT_NE(ack.output.find("Acknowledged CheckoutLatency on db-1:5432 (" + id + ") as alice."),
            std::string::npos)
      << ack.output;
  ASSERT_TRUE(wait_until([&] { return events(hook).size() >= 4; }, 10s));
  EXPECT_EQ(events(hook),
            (std::vector<std::string>{
                "/lead acknowledged CheckoutLatency 2", "/lead escalated CheckoutLatency 2",
                "/primary acknowledged CheckoutLatency 2", "/primary triggered CheckoutLatency 1"}));
  auto silence =
      tocsin.cli({"silence", "add", "alertname=\"QueueDepth\"", "--duration", "1h", "--by", "bob"});
  ASSERT_EQ(silence.status, 0) << silence.output;
  auto list = tocsin.cli({"silence", "list"});
  EXPECT_NE(list.output.find("alertname=\"QueueDepth\""), std::string::npos) << list.output;
  std::string silence_id = silence.output.substr(std::string("Silence ").size(), 24);
  auto queue_depth_silenced = [&] {
    for (const auto& a : tocsin.alerts()) {
      if (a["labels"]["alertname"] == "QueueDepth") return !a["silencedBy"].empty();
    }
    return false;
  };
  ASSERT_TRUE(wait_until(queue_depth_silenced, 10s));
  // QueueDepth repeats every second; silenced, it notifies nobody (one decided just before the silence
  // may still be on its way).
  std::size_t before = team.count();
  ASSERT_GE(before, 1u);
  std::this_thread::sleep_for(3s);
  EXPECT_LE(team.count(), before + 1);
  EXPECT_EQ(tocsin.cli({"silence", "expire", silence_id}).status, 0);
  // Once it has expired, the repeats come again.
  EXPECT_TRUE(wait_until([&] { return team.count() >= before + 2; }, 10s));
  EXPECT_EQ(json::parse(team.requests().back().body)["alerts"][0]["event"], "repeated");
  EXPECT_EQ(tocsin.cli({"ack", "ffffffffffff", "--by", "x"}).status, 1);
  EXPECT_EQ(tocsin.cli({"ack", id}).status, 2);  // --by is required
  // The status page shows it, acknowledged.
  auto page = http_get(tocsin.port(), "/");
  EXPECT_NE(page.body.find("acknowledged by alice"), std::string::npos);
}

TEST(DaemonAlerting, TheCliSaysWhyItFallsBackToTheDefaultAddress) {
  const std::string config = "/etc/tocsin/tocsin.yaml";
  if (std::filesystem::exists(config)) GTEST_SKIP() << config << " exists here";
  ProcessOptions options;
  options.env = {"TOCSIN_URL=", "TOCSIN_API_TOKEN="};
  auto r = run_command({TOCSIN_EXECUTABLE, "alerts"}, options, 30s);
  EXPECT_NE(r.output.find("not using " + config + " (it does not exist); trying http://127.0.0.1:9850"),
            std::string::npos)
      << r.output;
}

TEST(DaemonAlerting, KilledMidOutageNothingIsLostOrDuplicated) {
  HttpReceiver hook;
  hook.respond(503, "down for maintenance");
  TempDir dir("tocsin-alerting-daemon");
  TocsinProcess tocsin(dir, "receivers:\n  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n" +
                                "routes:\n  - { notify: [hook] }\n");
  tocsin.start();
  // Three alerts, each in its own group, each failing and being retried.
  ASSERT_TRUE(wait_until([&] { return hook.count() >= 6; }, 20s)) << tocsin.log();
  tocsin.kill9();
  hook.clear();
  hook.respond(200);
  tocsin.start();
  ASSERT_TRUE(wait_until([&] { return hook.count() >= 3; }, 20s)) << tocsin.log();
  std::this_thread::sleep_for(3s);  // let any duplicate show up
  EXPECT_EQ(events(hook),
            (std::vector<std::string>{"/hook triggered CacheEvictions 1", "/hook triggered CheckoutLatency 1",
                                      "/hook triggered QueueDepth 1"}))
      << tocsin.log();
  EXPECT_NE(tocsin.log().find("3 queued notification(s)"), std::string::npos) << tocsin.log();
}

TEST(DaemonAlerting, KilledWhileDeliveringSendsTheInFlightOneAtLeastOnce) {
  HttpReceiver hook;
  hook.delay(30s);  // the first delivery hangs in flight
  TempDir dir("tocsin-alerting-daemon");
  TocsinProcess tocsin(dir, "receivers:\n  hook: { type: webhook, url: \"" + hook.url("/hook") +
                                "\", timeout: 1m }\n" + "routes:\n  - { notify: [hook], group_by: [] }\n");
  tocsin.start();
  ASSERT_TRUE(wait_until([&] { return hook.count() >= 1; }, 20s)) << tocsin.log();
  tocsin.kill9();
  hook.delay(0ms);
  tocsin.start();
  ASSERT_TRUE(wait_until([&] { return hook.count() >= 2; }, 20s)) << tocsin.log();
  std::this_thread::sleep_for(3s);
  // The in-flight notification (all three alerts, one group) went out again, and only that.
  ASSERT_EQ(hook.count(), 2u);
  EXPECT_EQ(hook.requests()[0].body, hook.requests()[1].body);
  EXPECT_EQ(json::parse(hook.requests()[1].body)["alerts"].size(), 3u);
}

}  // namespace
}  // namespace tocsin::testing
