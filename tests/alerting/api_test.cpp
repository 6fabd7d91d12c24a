// The alerts API and the status page, served by the real HTTP server in-process; the status page is
// also rendered by headless Chromium (when installed) into build-*/test-output/status_page.png.
// (The page has no script at all, asserted below; Chromium's scriptEnabled=false switch cannot be
// used here because it also stops headless screenshots.)

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fstream>
#include <thread>

#include "alerting/harness.hpp"
#include "fixtures/http_client.hpp"
#include "tocsin/http/alerts_api.hpp"
#include "tocsin/http/server.hpp"
#include "tocsin/http/status_page.hpp"

namespace tocsin::alerting::testing {
namespace {

using nlohmann::json;
using tocsin::testing::http_get;
using tocsin::testing::http_request;

class Api : public ::testing::Test {
 protected:
  void SetUp() override { token_file = token_dir.write("token", "t0ken\n"); }
  void start(const std::string& extra = "") {
    harness = std::make_unique<Harness>(R"(receivers:
  hook: { type: webhook, url: ")" + hook.url() +
                                        R"(" }
escalation_policies:
  default:
    steps:
      - { after: 0m, notify: [hook] }
      - { after: 15m, notify: [log] }
routes:
  - { match: { severity: critical }, policy: default }
  - { notify: [hook] }
)" + extra);
    http::add_alerts_api(router, harness->d(), harness->clock);
    http::add_status_page(router, harness->d(), harness->clock, [] {
      return std::vector<http::CollectorStatus>{
          {"host", "local", true, true, "", kStart - 5000, 0.004, 15s},
          {"postgres", "orders-db", false, true, "connection refused (127.0.0.1:5432)", kStart - 600'000, 5.0,
           15s}};
    });
    server =
        std::make_unique<http::Server>(io, pool, router, http::ServerOptions{}, spdlog::default_logger());
    server->listen("127.0.0.1", 0);
    port = server->port();
    io_thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    if (server) server->stop();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    pool.join();
  }
  std::string token_config() const { return "alerting:\n  api_token_file: " + token_file.string() + "\n"; }
  tocsin::testing::HttpResult post(const std::string& target, const json& body,
                                   const std::string& token = "t0ken") {
    std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return http_request(port, "POST", target, body.dump(), headers);
  }

  HttpReceiver hook;
  TempDir token_dir;
  std::filesystem::path token_file;
  std::unique_ptr<Harness> harness;
  boost::asio::io_context io;
  boost::asio::thread_pool pool{2};
  http::Router router;
  std::unique_ptr<http::Server> server;
  int port = 0;
  std::thread io_thread;
};

TEST_F(Api, AlertsInPrometheusShapeWithEscalationFields) {
  start();
  Alert a = alert("HighLatency", "critical", kStart, {{"instance", "db-1:5432"}});
  Alert p = alert("Warm", "warning", kStart, {}, AlertState::pending);
  harness->report({a, p});
  auto r = http_get(port, "/api/v1/alerts");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], "success");
  ASSERT_EQ(j["data"]["alerts"].size(), 2u);
  const auto& first = j["data"]["alerts"][0];
  EXPECT_EQ(first["labels"]["alertname"], "HighLatency");
  EXPECT_EQ(first["state"], "firing");
  EXPECT_EQ(first["activeAt"], "2024-03-04T10:00:00.000Z");
  EXPECT_EQ(first["value"], "4.2e+01");
  EXPECT_EQ(first["id"], fingerprint(a.labels));
  EXPECT_EQ(first["escalation"]["step"], 1);
  EXPECT_EQ(first["escalation"]["steps"], 2);
  EXPECT_EQ(first["escalation"]["nextStepAt"], "2024-03-04T10:15:00.000Z");
  EXPECT_EQ(first["escalation"]["receivers"], json::array({"hook"}));
  EXPECT_TRUE(first["acknowledged"].is_null());
  EXPECT_EQ(j["data"]["alerts"][1]["state"], "pending");
  EXPECT_EQ(json::parse(http_get(port, "/api/v1/alerts?state=pending").body)["data"]["alerts"].size(), 1u);
  EXPECT_EQ(
      json::parse(http_get(port, "/api/v1/alerts?filter=instance%3D~%22db-.*%22").body)["data"]["alerts"]
          .size(),
      1u);
  EXPECT_EQ(http_get(port, "/api/v1/alerts?filter=%3Dx").status, 400);
  EXPECT_EQ(http_get(port, "/api/v1/alerts/" + fingerprint(a.labels)).status, 200);
  EXPECT_EQ(http_get(port, "/api/v1/alerts/0000000000000000").status, 404);
}

TEST_F(Api, MutationsAreDisabledWithoutAToken) {
  start();
  harness->report({alert("HighLatency", "critical", kStart)});
  auto r = post("/api/v1/alerts/" + fingerprint(alert("HighLatency", "critical", kStart).labels) + "/ack",
                {{"by", "a"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("api_token_file"), std::string::npos);
}

TEST_F(Api, AckNeedsTheBearerTokenAndStopsEscalation) {
  start(token_config());
  Alert a = alert("HighLatency", "critical", kStart);
  harness->report({a});
  std::string target = "/api/v1/alerts/" + fingerprint(a.labels) + "/ack";
  EXPECT_EQ(post(target, {{"by", "alice"}}, "").status, 401);
  auto wrong = post(target, {{"by", "alice"}}, "t0kem");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.headers["www-authenticate"], "Bearer realm=\"tocsin\"");
  EXPECT_EQ(post(target, {{"comment", "no name"}}).status, 400);
  EXPECT_EQ(post(target, {{"by", "alice"}, {"expires", "soon"}}).status, 400);
  EXPECT_EQ(post("/api/v1/alerts/0000000000000000/ack", {{"by", "alice"}}).status, 404);
  auto ok = post(target, {{"by", "alice"}, {"comment", "on it"}, {"expires", "1h"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = json::parse(ok.body);
  EXPECT_EQ(j["data"]["acknowledged"]["by"], "alice");
  EXPECT_EQ(j["data"]["acknowledged"]["expiresAt"], "2024-03-04T11:00:00.000Z");
  harness->run_for(20min, 5min, {a});
  EXPECT_EQ(harness->log().find("receiver=log"), std::string::npos);  // step 2 never came
  // Form-encoded works too (curl -d by=bob).
  auto form = http_request(
      port, "POST", target, "by=bob&comment=taking+over",
      {{"Authorization", "Bearer t0ken"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(form.status, 200) << form.body;
  EXPECT_EQ(json::parse(form.body)["data"]["acknowledged"]["comment"], "taking over");
  auto del = http_request(port, "DELETE", target, "", {{"Authorization", "Bearer t0ken"}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(json::parse(del.body)["data"]["acknowledged"].is_null());
}

TEST_F(Api, SilencesCreateListExpire) {
  start(token_config());
  auto bad = post("/api/v1/silences", {{"matchers", {"alertname="}}, {"duration", "2h"}, {"createdBy", "x"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(post("/api/v1/silences", {{"matchers", {"job=\"pg\""}}, {"createdBy", "x"}}).status,
            400);  // no end
  auto created = post("/api/v1/silences", {{"matchers", {"alertname=\"Deploy\"", "env=~\"stag.*\""}},
                                           {"duration", "2h"},
                                           {"createdBy", "dave"},
                                           {"comment", "release 4.2"}});
  ASSERT_EQ(created.status, 200) << created.body;
  std::string id = json::parse(created.body)["data"]["silenceID"];
  // Alertmanager's body shape is accepted as-is.
  auto am = post("/api/v1/silences", {{"matchers", {{{"name", "job"}, {"value", "pg"}, {"isRegex", false}}}},
                                      {"startsAt", "2024-03-04T10:00:00Z"},
                                      {"endsAt", "2024-03-04T11:00:00Z"},
                                      {"createdBy", "erin"},
                                      {"comment", ""}});
  ASSERT_EQ(am.status, 200) << am.body;
  auto list = json::parse(http_get(port, "/api/v1/silences").body)["data"];
  ASSERT_EQ(list.size(), 2u);
  auto one = json::parse(http_get(port, "/api/v1/silences/" + id).body)["data"];
  EXPECT_EQ(one["matchersText"], json::array({"alertname=\"Deploy\"", "env=~\"stag.*\""}));
  EXPECT_EQ(one["endsAt"], "2024-03-04T12:00:00.000Z");
  EXPECT_EQ(one["status"]["state"], "active");
  EXPECT_EQ(http_request(port, "DELETE", "/api/v1/silences/" + id).status, 401);
  EXPECT_EQ(
      http_request(port, "DELETE", "/api/v1/silences/" + id, "", {{"Authorization", "Bearer t0ken"}}).status,
      200);
  EXPECT_EQ(
      http_request(port, "DELETE", "/api/v1/silences/" + id, "", {{"Authorization", "Bearer t0ken"}}).status,
      409);
  EXPECT_EQ(json::parse(http_get(port, "/api/v1/silences").body)["data"].size(), 1u);
  EXPECT_EQ(json::parse(http_get(port, "/api/v1/silences?all=true").body)["data"].size(), 2u);
}

void fill_for_page(Harness& h, int port) {
  Alert critical = alert("HighLatency", "critical", kStart - 20 * 60'000,
                         {{"instance", "db-1:5432"}, {"job", "postgres"}});
  critical.annotations =
      Labels{{"summary", "p99 query latency 734ms (threshold 500ms)"},
             {"description", "check pg_stat_activity for lock waits <and> long transactions"},
             {"runbook_url", "https://runbooks.example/pg-latency"}};
  Alert acked = alert("ReplicationLag", "critical", kStart - 40 * 60'000, {{"instance", "db-2:5432"}});
  Alert warning =
      alert("DiskFilling", "warning", kStart - 5 * 60'000, {{"instance", "app-3"}, {"mountpoint", "/var"}});
  Alert pending = alert("QueueBacklog", "warning", kStart, {{"instance", "redis-1"}}, AlertState::pending);
  h.report({critical, acked, warning, pending});
  ASSERT_TRUE(std::holds_alternative<AlertView>(
      h.d().acknowledge(fingerprint(acked.labels), {"alice", "failover running", {}})));
  Silence s;
  config::LabelMatcher m;
  ASSERT_EQ(config::parse_label_matcher("mountpoint=\"/var\"", m), std::nullopt);
  s.matchers = {m};
  s.ends_at = kStart + 3600'000;
  s.created_by = "bob";
  s.comment = "log rotation fix deploying";
  ASSERT_TRUE(std::holds_alternative<Silence>(h.d().create_silence(s)));
  (void)port;
}

TEST_F(Api, TheStatusPageShowsWhatOnCallNeeds) {
  start();
  fill_for_page(*harness, port);
  auto r = http_get(port, "/");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  const std::string& page = r.body;
  EXPECT_NE(page.find("3 firing, 2 critical, 1 warning; 1 unacknowledged; 1 pending; 1 of 2 collectors down"),
            std::string::npos)
      << page;
  EXPECT_NE(
      page.find(
          "id=\"alert-" +
          fingerprint(
              alert("HighLatency", "critical", 0, {{"instance", "db-1:5432"}, {"job", "postgres"}}).labels)),
      std::string::npos);
  EXPECT_NE(page.find("lock waits &lt;and&gt; long transactions"), std::string::npos);  // escaped
  EXPECT_NE(page.find("acknowledged by alice"), std::string::npos);
  EXPECT_NE(page.find("silenced ("), std::string::npos);
  EXPECT_NE(page.find("step 2/2"), std::string::npos);  // fired 20 minutes ago: past the 15m step
  // When the step was reached: 15m after it fired.
  EXPECT_NE(page.find("since 2024-03-04 09:55 UTC"), std::string::npos) << page;
  EXPECT_NE(page.find("connection refused (127.0.0.1:5432)"), std::string::npos);
  EXPECT_NE(page.find("log rotation fix deploying"), std::string::npos);
  // No script and nothing loaded from elsewhere: it works offline and with JavaScript off.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("src="), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
}

// The rule behind each alert, units, pending, a failing rule and a down collector, and links that
// are not web links (render_status_page directly, with the sources the daemon hands it).
TEST_F(Api, TheStatusPageExplainsEachAlertAndPutsProblemsFirst) {
  start();
  Alert latency = alert("HighLatency", "critical", kStart - 20 * 60'000, {{"instance", "db-1:5432"}});
  latency.value = 0.7341234;
  latency.rule_group = "rules/pg.yaml;postgres";
  latency.annotations = Labels{{"runbook_url", "javascript:alert(1)"},
                               {"dashboard_url", "https://grafana.example/d/pg?from=now-1h&to=now"}};
  Alert disk = alert("DiskFilling", "warning", kStart - 5 * 60'000, {{"instance", "app-3"}});
  disk.value = 1610612736;
  Alert ratio = alert("CacheHitRatioLow", "warning", kStart - 5 * 60'000, {{"instance", "redis-1"}});
  ratio.value = 0.9990593978609388;
  ratio.annotations = Labels{{"unit", "ratio"}};
  Alert big = alert("ClockSkew", "warning", kStart - 5 * 60'000, {{"instance", "app-4"}});
  big.value = -1633810095581.536;
  Alert pending =
      alert("QueueBacklog", "warning", kStart - 60'000, {{"instance", "redis-1"}}, AlertState::pending);
  harness->report({latency, disk, ratio, big, pending});

  std::vector<http::RuleStatus> rules(3);
  rules[0].group = "postgres";
  rules[0].group_file = "rules/pg.yaml";
  rules[0].name = "HighLatency";
  rules[0].expr = "histogram_quantile(0.99, rate(pg_query_duration_seconds_bucket[5m])) > 0.5";
  rules[0].tiers = {{"warning", "> 0.25", 300}, {"critical", "> 0.5", 600}};
  rules[1].group = "host";
  rules[1].name = "DiskFilling";
  rules[1].expr = "node_filesystem_avail_bytes < 2e9";
  rules[2].group = "queues";
  rules[2].name = "QueueBacklog";
  rules[2].expr = "tocsin_queue_latency_seconds > 300";
  rules[2].for_seconds = 600;
  rules[2].last_error = "query timed out in expression evaluation";
  const std::vector<http::CollectorStatus> collectors = {{"postgres", "orders-db", false, true,
                                                          "connection refused (127.0.0.1:5432)",
                                                          kStart - 600'000, 5.0, 15s}};
  const std::string page = http::render_status_page(harness->d(), kStart, collectors, {}, rules,
                                                    "<section id=\"slow-now\">slow</section>", "app-host-7");

  // The host from the top-level `labels` (here the default, {host: <machine's name>}) before the fallback.
  const std::string host = harness->d().external_labels().at("host");
  EXPECT_NE(page.find("<title>" + host + " &middot; tocsin: 4 firing"), std::string::npos) << page;
  EXPECT_NE(page.find("<h1>" + host + " &middot; tocsin"), std::string::npos);
  EXPECT_NE(page.find(">734.1ms<"), std::string::npos) << page;  // by the expression's _seconds
  EXPECT_NE(page.find(">1.5 GiB<"), std::string::npos);
  EXPECT_NE(page.find(">99.91%<"), std::string::npos);
  EXPECT_NE(page.find(">-1.634T<"), std::string::npos);
  EXPECT_EQ(page.find("0.9990593978609388"), std::string::npos);
  EXPECT_EQ(page.find("1633810095581"), std::string::npos);
  // The rule, its thresholds and `for` in the alert's details.
  EXPECT_NE(
      page.find("<pre>histogram_quantile(0.99, rate(pg_query_duration_seconds_bucket[5m])) &gt; 0.5</pre>"),
      std::string::npos);
  EXPECT_NE(page.find("warning <code>&gt; 0.25</code> for 5m; critical <code>&gt; 0.5</code> for 10m"),
            std::string::npos);
  // Pending: when it fires (active a minute ago, `for` 10m), not an acknowledgement state.
  EXPECT_NE(page.find("pending, fires in 9m if it holds"), std::string::npos) << page;
  EXPECT_NE(page.find("not notified while pending"), std::string::npos);
  const std::size_t pending_row = page.find("<b>QueueBacklog</b>");
  ASSERT_NE(pending_row, std::string::npos);
  EXPECT_EQ(page.substr(pending_row, page.find("</tr>", pending_row) - pending_row).find("unacknowledged"),
            std::string::npos);
  // Links: only web links are links.
  EXPECT_EQ(page.find("href=\"javascript:"), std::string::npos);
  EXPECT_NE(page.find("runbook <code class=\"nolink\">javascript:alert(1)</code>"), std::string::npos);
  EXPECT_NE(page.find("<a href=\"https://grafana.example/d/pg?from=now-1h&amp;to=now\""), std::string::npos);
  // The down collector and the failing rule come before the alerts; the slow-now section after them.
  const std::size_t problems = page.find("id=\"problems\"");
  ASSERT_NE(problems, std::string::npos);
  EXPECT_LT(problems, page.find("<h2>Firing</h2>"));
  EXPECT_LT(page.find("collector down</span> postgres <b>orders-db</b>"), page.find("<h2>Firing</h2>"));
  EXPECT_LT(page.find("rule failing</span> group <b>queues</b>"), page.find("<h2>Firing</h2>"));
  EXPECT_GT(page.find("id=\"slow-now\""), page.find("<h2>Pending</h2>"));
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST_F(Api, HeadlessChromiumRendersTheStatusPage) {
  auto chromium = tocsin::testing::find_executable("chromium");
  if (!chromium) GTEST_SKIP() << "chromium is not installed";
  start();
  fill_for_page(*harness, port);
  std::filesystem::path out_dir = std::filesystem::path(TOCSIN_BINARY_DIR) / "test-output";
  std::filesystem::create_directories(out_dir);
  std::filesystem::path png = out_dir / "status_page.png";
  std::filesystem::remove(png);
  TempDir profile("tocsin-chromium");
  tocsin::testing::ProcessOptions options;
  options.env = {"HOME=" + profile.path().string()};
  auto result = tocsin::testing::run_command(
      {*chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
       "--hide-scrollbars", "--user-data-dir=" + (profile.path() / "data").string(),
       "--window-size=1400,1000", "--screenshot=" + png.string(),
       "http://127.0.0.1:" + std::to_string(port) + "/"},
      options, 90s);
  ASSERT_TRUE(std::filesystem::exists(png)) << result.output;
  EXPECT_GT(std::filesystem::file_size(png), 10'000u);
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  std::cout << "status page screenshot: " << png.string() << "\n";
}

}  // namespace
}  // namespace tocsin::alerting::testing
