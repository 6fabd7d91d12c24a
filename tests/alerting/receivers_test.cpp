// Each receiver against a loopback server (or a real Alertmanager when Debian's is installed):
// the wire format, TLS verification, headers, timeouts, and the exec receiver's child process.

#include "alerting/receivers.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <fstream>
#include <future>
#include <sstream>

#include "alerting/harness.hpp"
#include "alerting/notification.hpp"
#include "fixtures/http_client.hpp"

namespace tocsin::alerting::testing {
namespace {

using detail::AlertEvent;
using detail::DeliveryOutcome;
using detail::Notification;
using detail::NotifiedAlert;

Notification sample(const std::string& status = "firing", AlertEvent event = AlertEvent::triggered) {
  Notification n;
  n.receiver = "r";
  n.group_key = "route0:{alertname=\"HighLatency\"}";
  n.group_labels = Labels{{"alertname", "HighLatency"}};
  n.external_url = "http://tocsin.test:9850";
  n.created_at = kStart;
  NotifiedAlert a;
  a.labels = Labels{
      {"alertname", "HighLatency"}, {"severity", "critical"}, {"instance", "db-1:5432"}, {"job", "pg"}};
  a.annotations = Labels{{"summary", "p99 latency above 500ms"},
                         {"description", "check pg_stat_activity for lock waits"},
                         {"runbook_url", "https://runbooks.example/latency"}};
  a.fingerprint = fingerprint(a.labels);
  a.status = status;
  a.event = event;
  a.starts_at = kStart;
  a.ends_at = status == "resolved" ? kStart + 600'000 : 0;
  a.value = 0.734;
  a.rule_group = "rules.yaml;latency";
  a.escalation = {"default", 2, 4, kStart + 900'000, kStart + 1'800'000, {"incident-commander"}};
  n.alerts.push_back(a);
  return n;
}

std::shared_ptr<detail::Receiver> receiver(const std::string& yaml_block) {
  auto config = alerting_config("receivers:\n  r: " + yaml_block + "\n");
  detail::ReceiverContext ctx{spdlog::default_logger(), detail::TimeZone::load("Europe/Berlin")};
  return detail::make_receiver(config.receivers.at("r"), ctx);
}

DeliveryOutcome deliver(const std::shared_ptr<detail::Receiver>& r, const Notification& n = sample()) {
  Cancellation cancel;
  return r->deliver(n, kStart + 1'200'000, cancel);
}

TEST(Receivers, WebhookSendsTheGenericJsonWithHeaders) {
  HttpReceiver server;
  auto r = receiver("{ type: webhook, url: \"" + server.url("/hook?x=1") +
                    "\", headers: { X-Team: perf }, bearer_token: s3cret }");
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  ASSERT_EQ(server.count(), 1u);
  auto req = server.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hook?x=1");
  EXPECT_EQ(req.headers["content-type"], "application/json");
  EXPECT_EQ(req.headers["x-team"], "perf");
  EXPECT_EQ(req.headers["authorization"], "Bearer s3cret");
  auto j = nlohmann::json::parse(req.body);
  EXPECT_EQ(j["status"], "firing");
  const auto& a = j["alerts"][0];
  EXPECT_EQ(a["labels"]["instance"], "db-1:5432");
  EXPECT_EQ(a["annotations"]["summary"], "p99 latency above 500ms");
  EXPECT_EQ(a["startsAt"], "2024-03-04T10:00:00.000Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["severity"], "critical");
  EXPECT_EQ(a["value"], 0.734);
  EXPECT_EQ(a["escalation"]["step"], 2);
  EXPECT_EQ(a["escalation"]["nextStepAt"], "2024-03-04T10:30:00.000Z");
  EXPECT_EQ(
      a["fingerprint"],
      fingerprint(Labels{
          {"alertname", "HighLatency"}, {"severity", "critical"}, {"instance", "db-1:5432"}, {"job", "pg"}}));
  EXPECT_EQ(a["generatorURL"], "http://tocsin.test:9850/#alert-" + a["fingerprint"].get<std::string>());
  // Stored and read back unchanged (the outbox keeps this format).
  EXPECT_EQ(detail::to_webhook_json(detail::notification_from_json(j)), j);
}

TEST(Receivers, HttpStatusDecidesBetweenRetryAndReject) {
  HttpReceiver server;
  auto r = receiver("{ type: webhook, url: \"" + server.url() + "\" }");
  server.respond(503, "busy");
  EXPECT_EQ(deliver(r).kind, DeliveryOutcome::Kind::retry);
  server.respond(429);
  EXPECT_EQ(deliver(r).kind, DeliveryOutcome::Kind::retry);
  server.respond(404, "no such hook");
  auto o = deliver(r);
  EXPECT_EQ(o.kind, DeliveryOutcome::Kind::reject);
  EXPECT_EQ(o.error, "HTTP 404: no such hook");
  server.stop();
  o = deliver(r);
  EXPECT_EQ(o.kind, DeliveryOutcome::Kind::retry);
  EXPECT_NE(o.error.find("refused"), std::string::npos) << o.error;
}

TEST(Receivers, ASlowReceiverTimesOut) {
  HttpReceiver server;
  server.delay(3s);
  auto r = receiver("{ type: webhook, url: \"" + server.url() + "\", timeout: 200ms }");
  auto o = deliver(r);
  EXPECT_EQ(o.kind, DeliveryOutcome::Kind::retry);
  EXPECT_EQ(o.error, "timed out after 200ms");
}

TEST(Receivers, HttpsVerifiesCertificatesUnlessToldOtherwise) {
  TempDir dir;
  auto tls = tocsin::testing::make_self_signed_certificate(dir.path().string());
  if (!tls) GTEST_SKIP() << "openssl is not installed";
  HttpReceiver server(0, tls);
  auto o = deliver(receiver("{ type: webhook, url: \"" + server.url() + "\" }"));
  EXPECT_EQ(o.kind, DeliveryOutcome::Kind::retry);
  EXPECT_NE(o.error.find("certificate verification failed"), std::string::npos) << o.error;
  EXPECT_EQ(server.count(), 0u);
  EXPECT_EQ(deliver(receiver("{ type: webhook, url: \"" + server.url() +
                             "\", tls: { ca_file: " + tls->certificate + " } }"))
                .kind,
            DeliveryOutcome::Kind::delivered);
  EXPECT_EQ(deliver(receiver("{ type: webhook, url: \"" + server.url() +
                             "\", tls: { insecure_skip_verify: true } }"))
                .kind,
            DeliveryOutcome::Kind::delivered);
  // The name is checked: the certificate is for 127.0.0.1 and localhost, not for other.example.
  o = deliver(receiver("{ type: webhook, url: \"" + server.url() + "\", tls: { ca_file: " + tls->certificate +
                       ", server_name: other.example } }"));
  EXPECT_EQ(o.kind, DeliveryOutcome::Kind::retry);
  EXPECT_EQ(server.count(), 2u);
}

TEST(Receivers, SlackGetsReadableText) {
  HttpReceiver server;
  auto r = receiver("{ type: slack, url: \"" + server.url() + "\", channel: \"#perf\" }");
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  auto j = nlohmann::json::parse(server.requests()[0].body);
  EXPECT_EQ(j["channel"], "#perf");
  std::string text = j["text"];
  EXPECT_EQ(text,
            "*[FIRING:1] HighLatency (critical) on db-1:5432*\n"
            "FIRING critical: *HighLatency* on db-1:5432\n"
            "  p99 latency above 500ms\n"
            "  Labels: instance=db-1:5432, job=pg\n"
            "  Value: 0.734, firing since 2024-03-04 11:00 CET (20m)\n"
            "  Check first: check pg_stat_activity for lock waits\n"
            "  Runbook: https://runbooks.example/latency\n"
            "  Escalation: step 2 of 4 (policy default, since 2024-03-04 11:15 CET); next step at 2024-03-04 "
            "11:30 CET "
            "to incident-commander unless acknowledged\n"
            "  Details: http://tocsin.test:9850/#alert-" +
                fingerprint(sample().alerts[0].labels) + "\n");
}

TEST(Receivers, PagerDutyEventsV2TriggerAcknowledgeResolve) {
  HttpReceiver server;
  TempDir dir;
  auto key = dir.write("pd-key", "R0UT1NGKEY\n");
  auto r = receiver("{ type: pagerduty, url: \"" + server.url("/v2/enqueue") +
                    "\", routing_key_file: " + key.string() + " }");
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  ASSERT_EQ(deliver(r, sample("firing", AlertEvent::acknowledged)).kind, DeliveryOutcome::Kind::delivered);
  ASSERT_EQ(deliver(r, sample("resolved", AlertEvent::resolved)).kind, DeliveryOutcome::Kind::delivered);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v2/enqueue");
  auto trigger = nlohmann::json::parse(reqs[0].body);
  std::string fp = fingerprint(sample().alerts[0].labels);
  EXPECT_EQ(trigger["routing_key"], "R0UT1NGKEY");
  EXPECT_EQ(trigger["event_action"], "trigger");
  EXPECT_EQ(trigger["dedup_key"], fp);
  EXPECT_EQ(trigger["payload"]["severity"], "critical");
  EXPECT_EQ(trigger["payload"]["source"], "db-1:5432");
  EXPECT_EQ(trigger["payload"]["summary"],
            "[FIRING:1] HighLatency (critical) on db-1:5432: p99 latency above 500ms");
  EXPECT_EQ(trigger["payload"]["component"], "pg");
  EXPECT_EQ(trigger["payload"]["custom_details"]["escalation"], "step 2 of 4 (default)");
  EXPECT_EQ(trigger["links"][1]["href"], "https://runbooks.example/latency");
  EXPECT_EQ(
      nlohmann::json::parse(reqs[1].body),
      nlohmann::json({{"routing_key", "R0UT1NGKEY"}, {"event_action", "acknowledge"}, {"dedup_key", fp}}));
  EXPECT_EQ(nlohmann::json::parse(reqs[2].body)["event_action"], "resolve");
}

TEST(Receivers, PagerDutySummaryIsCutOnACharacterBoundary) {
  auto zone = detail::TimeZone::load("UTC");
  for (const std::string lead : {"", "x"}) {  // one of the two puts a character across byte 1024
    Notification n = sample();
    std::string summary = lead;
    for (int k = 0; k < 600; ++k) summary += "\xC3\xA9";  // é
    n.alerts[0].annotations = Labels{{"summary", summary}};
    std::string got =
        detail::to_pagerduty_event(n, n.alerts[0], "k", "", *zone, kStart)["payload"]["summary"];
    EXPECT_LE(got.size(), 1024u);
    EXPECT_GE(got.size(), 1023u);
    EXPECT_TRUE(got.ends_with("\xC3\xA9")) << lead;
  }
}

TEST(Receivers, TextSaysWhatHappened) {
  auto zone = detail::TimeZone::load("UTC");
  Notification n = sample("firing", AlertEvent::rearmed);
  n.alerts[0].flapping_changes = 5;
  n.alerts[0].flapping_window = 30 * 60'000;
  std::string text = detail::render_text(n, *zone, kStart + 1'200'000, false);
  // Re-armed by an expiry or by --undo: the text does not claim which.
  EXPECT_TRUE(text.starts_with("STILL FIRING (no longer acknowledged) critical")) << text;
  // Flapping holds back the resolve only; repeats go out as usual.
  EXPECT_NE(text.find("  Flapping: 5 state changes in the last 30m; its resolve is held back until it stays "
                      "resolved\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("repeat"), std::string::npos) << text;
}

TEST(Receivers, ExecRunsTheCommandWithTheJsonOnStdin) {
  TempDir dir;
  std::string out = (dir.path() / "out.json").string();
  auto r = receiver("{ type: exec, command: [/bin/sh, -c, 'cat > " + out + "; echo \"$TOCSIN_STATUS\" >> " +
                    out + ".status'] }");
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  std::ifstream in(out);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["alerts"][0]["labels"]["alertname"], "HighLatency");
  std::ifstream status(out + ".status");
  std::string line;
  std::getline(status, line);
  EXPECT_EQ(line, "firing");

  auto failing =
      deliver(receiver("{ type: exec, command: [/bin/sh, -c, 'echo no route to pager >&2; exit 3'] }"));
  EXPECT_EQ(failing.kind, DeliveryOutcome::Kind::retry);
  EXPECT_EQ(failing.error, "/bin/sh exited with status 3: no route to pager ");
  auto slow = deliver(receiver("{ type: exec, command: [/bin/sleep, '10'], timeout: 200ms }"));
  EXPECT_EQ(slow.error, "/bin/sleep timed out after 200ms");
  // A command that exits without reading its input does not take the daemon down (SIGPIPE).
  EXPECT_EQ(deliver(receiver("{ type: exec, command: [/bin/true] }")).kind, DeliveryOutcome::Kind::delivered);
  auto missing = deliver(receiver("{ type: exec, command: [/nonexistent/notify] }"));
  EXPECT_EQ(missing.kind, DeliveryOutcome::Kind::retry);
  EXPECT_NE(missing.error.find("/nonexistent/notify"), std::string::npos) << missing.error;
}

TEST(Receivers, AlertmanagerResendsFiringAlertsWithEndsAtAhead) {
  HttpReceiver am;
  Harness h("receivers:\n  fleet: { type: alertmanager, urls: [\"" + am.url() +
            "\"], resend_interval: 1m }\n" + "routes:\n  - { notify: [fleet] }\n");
  Alert a = alert("HighLatency", "critical", kStart);
  h.report({a});
  ASSERT_EQ(am.count(), 1u);
  EXPECT_EQ(am.requests()[0].target, "/api/v2/alerts");
  auto first = nlohmann::json::parse(am.requests()[0].body);
  EXPECT_EQ(first[0]["endsAt"], "2024-03-04T10:04:00.000Z");
  h.run_for(3min, 30s, {a});
  ASSERT_EQ(am.count(), 4u);
  auto last = nlohmann::json::parse(am.requests()[3].body);
  EXPECT_EQ(last[0]["startsAt"], "2024-03-04T10:00:00.000Z");
  EXPECT_EQ(last[0]["endsAt"], "2024-03-04T10:07:00.000Z");
  h.report({resolved(a, h.clock.now_ms())});
  auto resolved_body = nlohmann::json::parse(am.requests().back().body);
  EXPECT_EQ(resolved_body[0]["endsAt"], "2024-03-04T10:03:00.000Z");
}

TEST(Receivers, AlertmanagerPostsToEveryUrlAndSucceedsWhenAnyTakesIt) {
  HttpReceiver am1, am2;
  auto stream = std::make_shared<std::ostringstream>();
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*stream);
  auto log = std::make_shared<spdlog::logger>("am", sink);
  auto config = alerting_config("receivers:\n  r: { type: alertmanager, urls: [\"" + am1.url() + "\", \"" +
                                am2.url() + "\"] }\n");
  auto r = detail::make_receiver(config.receivers.at("r"), {log, detail::TimeZone::load("UTC")});
  // Cluster members do not share alerts: both get it.
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  EXPECT_EQ(am1.count(), 1u);
  EXPECT_EQ(am2.count(), 1u);
  // The first one down: the second still gets it, and the first one's failure is logged by URL.
  am1.respond(503, "not ready");
  ASSERT_EQ(deliver(r).kind, DeliveryOutcome::Kind::delivered);
  EXPECT_EQ(am2.count(), 2u);
  std::string am1_base = "http://127.0.0.1:" + std::to_string(am1.port());
  EXPECT_NE(stream->str().find(am1_base + " did not take the notification: HTTP 503: not ready"),
            std::string::npos)
      << stream->str();
  // Both down: retried, with both errors.
  am2.stop();
  auto both = deliver(r);
  EXPECT_EQ(both.kind, DeliveryOutcome::Kind::retry);
  EXPECT_NE(both.error.find("127.0.0.1:" + std::to_string(am1.port())), std::string::npos) << both.error;
  EXPECT_NE(both.error.find("127.0.0.1:" + std::to_string(am2.port())), std::string::npos) << both.error;
}

// Peers are posted to at once: while one hangs (answering only after the delivery's timeout), the other
// already has the notification, and the hung one is counted as a failure of its own.
TEST(Receivers, AlertmanagerPeerThatHangsHoldsBackNoOther) {
  HttpReceiver hung, live;
  hung.delay(3s);
  prometheus::Registry registry;
  auto& posts = prometheus::BuildCounter().Name("posts").Help("p").Register(registry);
  auto& up = prometheus::BuildGauge().Name("up").Help("u").Register(registry);
  auto config = alerting_config("receivers:\n  r: { type: alertmanager, urls: [\"" + hung.url() + "\", \"" +
                                live.url() + "\"], timeout: 2s }\n");
  auto r = detail::make_receiver(config.receivers.at("r"),
                                 {spdlog::default_logger(), detail::TimeZone::load("UTC"), {&posts, &up}});
  auto result = std::async(std::launch::async, [&] { return deliver(r); });
  // The live peer gets it while the hung one still holds its request.
  ASSERT_TRUE(live.wait_for(1, 10s));
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout);
  EXPECT_EQ(result.get().kind, DeliveryOutcome::Kind::delivered);
  const std::string hung_base = "http://127.0.0.1:" + std::to_string(hung.port());
  const std::string live_base = "http://127.0.0.1:" + std::to_string(live.port());
  EXPECT_EQ(up.Add({{"receiver", "r"}, {"peer", hung_base}}).Value(), 0);
  EXPECT_EQ(up.Add({{"receiver", "r"}, {"peer", live_base}}).Value(), 1);
  EXPECT_EQ(posts.Add({{"receiver", "r"}, {"peer", hung_base}, {"result", "failure"}}).Value(), 1);
  EXPECT_EQ(posts.Add({{"receiver", "r"}, {"peer", live_base}, {"result", "success"}}).Value(), 1);
}

// Debian's prometheus-alertmanager, when installed: two of them, as two members of a cluster; the alert
// posted is read back from each one's API.
TEST(Receivers, RealAlertmanagersEachGetTheAlert) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << binary << " is not installed";
  TempDir dir;
  auto config = dir.write("am.yml", "route: { receiver: blackhole }\nreceivers: [{ name: blackhole }]\n");
  std::vector<int> ports;
  std::vector<std::unique_ptr<tocsin::testing::Process>> ams;
  for (int k = 0; k < 2; ++k) {
    int port = tocsin::testing::free_port();
    ports.push_back(port);
    tocsin::testing::ProcessOptions options;
    options.stderr_file = dir.path() / ("am" + std::to_string(k) + ".log");
    ams.push_back(std::make_unique<tocsin::testing::Process>(
        std::vector<std::string>{binary, "--config.file=" + config.string(),
                                 "--storage.path=" + (dir.path() / ("data" + std::to_string(k))).string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--cluster.listen-address="},
        options));
  }
  for (int port : ports) {
    ASSERT_TRUE(tocsin::testing::wait_until(
        [&] { return tocsin::testing::http_get(port, "/-/ready").status == 200; }, 20s))
        << "alertmanager did not become ready";
  }
  std::string urls = "\"http://127.0.0.1:1\"";
  for (int port : ports) urls += ", \"http://127.0.0.1:" + std::to_string(port) + "\"";
  auto r = receiver("{ type: alertmanager, urls: [" + urls + "] }");
  Notification n = sample();
  Cancellation cancel;
  // Alertmanager rejects alerts that ended in the past: deliver at the real time.
  Timestamp now = SystemClock().now_ms();
  n.alerts[0].starts_at = now - 60'000;
  ASSERT_EQ(r->deliver(n, now, cancel).kind, DeliveryOutcome::Kind::delivered);
  for (int port : ports) {
    auto got = tocsin::testing::http_get(port, "/api/v2/alerts");
    ASSERT_EQ(got.status, 200) << got.body;
    auto alerts = nlohmann::json::parse(got.body);
    ASSERT_EQ(alerts.size(), 1u) << "port " << port << ": " << got.body;
    EXPECT_EQ(alerts[0]["labels"]["alertname"], "HighLatency");
    EXPECT_EQ(alerts[0]["labels"]["instance"], "db-1:5432");
    EXPECT_EQ(alerts[0]["annotations"]["summary"], "p99 latency above 500ms");
    EXPECT_EQ(alerts[0]["annotations"]["escalation"].get<std::string>().substr(0, 24),
              "step 2 of 4 of policy de");
    EXPECT_EQ(alerts[0]["status"]["state"], "active");
    EXPECT_EQ(alerts[0]["generatorURL"], "http://tocsin.test:9850/#alert-" + n.alerts[0].fingerprint);
  }
  // Resolved: it leaves each Alertmanager's active alerts.
  n.alerts[0].status = "resolved";
  n.alerts[0].ends_at = SystemClock().now_ms();
  ASSERT_EQ(r->deliver(n, SystemClock().now_ms(), cancel).kind, DeliveryOutcome::Kind::delivered);
  for (int port : ports) {
    EXPECT_TRUE(tocsin::testing::wait_until(
        [&] {
          return nlohmann::json::parse(tocsin::testing::http_get(port, "/api/v2/alerts?active=true").body)
              .empty();
        },
        10s))
        << "port " << port;
  }
}

// A tiered alert changing tier is the same alert in a real Alertmanager: one fingerprint, its severity
// an annotation that follows the tier, never resolved in between.
TEST(Receivers, ARealAlertmanagerKeepsATieredAlertsFingerprintAcrossTiers) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << binary << " is not installed";
  TempDir dir;
  auto config = dir.write("am.yml", "route: { receiver: blackhole }\nreceivers: [{ name: blackhole }]\n");
  int port = tocsin::testing::free_port();
  tocsin::testing::ProcessOptions options;
  options.stderr_file = dir.path() / "am.log";
  tocsin::testing::Process am(
      {binary, "--config.file=" + config.string(), "--storage.path=" + (dir.path() / "data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--cluster.listen-address="},
      options);
  ASSERT_TRUE(tocsin::testing::wait_until(
      [&] { return tocsin::testing::http_get(port, "/-/ready").status == 200; }, 20s))
      << "alertmanager did not become ready";
  auto r = receiver("{ type: alertmanager, urls: [\"http://127.0.0.1:" + std::to_string(port) + "\"] }");
  Cancellation cancel;
  Notification n = sample();
  n.alerts[0].tiered = true;
  n.alerts[0].labels =
      Labels{{"alertname", "HighLatency"}, {"severity", "warning"}, {"instance", "db-1:5432"}, {"job", "pg"}};
  Timestamp now = SystemClock().now_ms();
  n.alerts[0].starts_at = now - 60'000;
  auto read_back = [&] {
    auto got = tocsin::testing::http_get(port, "/api/v2/alerts");
    EXPECT_EQ(got.status, 200) << got.body;
    return nlohmann::json::parse(got.body);
  };
  ASSERT_EQ(r->deliver(n, now, cancel).kind, DeliveryOutcome::Kind::delivered);
  auto before = read_back();
  ASSERT_EQ(before.size(), 1u) << before.dump();
  EXPECT_EQ(before[0]["annotations"]["severity"], "warning");
  EXPECT_FALSE(before[0]["labels"].contains("severity"));
  // Up to critical: the same alert there.
  n.alerts[0].labels = Labels{
      {"alertname", "HighLatency"}, {"severity", "critical"}, {"instance", "db-1:5432"}, {"job", "pg"}};
  n.alerts[0].event = AlertEvent::escalated;
  n.alerts[0].previous_severity = "warning";
  ASSERT_EQ(r->deliver(n, SystemClock().now_ms(), cancel).kind, DeliveryOutcome::Kind::delivered);
  auto after = read_back();
  ASSERT_EQ(after.size(), 1u) << after.dump();
  EXPECT_EQ(after[0]["fingerprint"], before[0]["fingerprint"]);
  EXPECT_EQ(after[0]["annotations"]["severity"], "critical");
  EXPECT_EQ(after[0]["status"]["state"], "active");
}

}  // namespace
}  // namespace tocsin::alerting::testing
