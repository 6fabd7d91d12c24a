// Issue 22, a fleet of daemons on the real engines (docs/fleet.md):
// - three tocsin daemons (their own ports and state dirs) against one Postgres and one Redis, both
//   `shared: true`: exactly one daemon holds each claim and has the target's series; SIGKILL the
//   holder and a survivor takes over; a receiver that counts sees one page per holder, never one per
//   daemon;
// - a two-peer Alertmanager 0.25 cluster on loopback behind tocsin's alertmanager receiver, with a
//   webhook behind the cluster: each alert reaches the webhook once, and still once after the peer
//   that would have sent it is killed.
// No timing assertions: the waits are generous bounds, and the failover time is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/http_client.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/postgres_server.hpp"
#include "fixtures/process.hpp"
#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The value of one series in a daemon's /metrics, or -1 when absent.
double fleet_metric(const Daemon& d, const std::string& series) {
  const std::string text = decoded_body(d.get("/metrics"));
  std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

// How many series an instant query returns on a daemon (-1 when the query fails).
int fleet_series(const Daemon& d, const std::string& query) {
  std::string target = "/api/v1/query?query=";
  for (char c : query) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      target += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      target += buf;
    }
  }
  auto j = json::parse(decoded_body(d.get(target)), nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return -1;
  return static_cast<int>(j["data"]["result"].size());
}

// Firing notifications of `alertname` a receiver got, as the hosts (external label) that sent them.
std::vector<std::string> fleet_pages(const HttpReceiver& pager, const std::string& alertname) {
  std::vector<std::string> hosts;
  for (const auto& r : pager.requests()) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("alerts")) continue;
    for (const auto& a : j["alerts"]) {
      if (a.value("status", "") == "firing" && a["labels"].value("alertname", "") == alertname &&
          a.value("event", "triggered") == "triggered")
        hosts.push_back(a["labels"].value("host", ""));
    }
  }
  return hosts;
}

const char* kSharedRules = R"yaml(groups:
  - name: shared
    interval: 1s
    rules:
      - alert: SharedPostgresUp
        expr: pg_up{target="shared-pg"} == 1
      - alert: SharedRedisUp
        expr: redis_up{target="shared-redis"} == 1
)yaml";

class FleetSharedTargets : public ::testing::Test {
 protected:
  std::string config(int k) const {
    return "interval: 1s\nevaluation_interval: 1s\nlabels: { host: daemon-" + std::to_string(k) +
           " }\nrule_files: [rules.yaml]\ncollectors:\n  postgres:\n    - { name: shared-pg, dsn: \"" +
           pg.dsn() + "\", shared: true, lease: 3s }\n  redis:\n    - { name: shared-redis, address: \"" +
           redis.address() + "\", shared: true, lease: 3s }\nreceivers:\n  pager: { type: webhook, url: \"" +
           pager.url("/page") + "\" }\nroutes:\n  - { notify: [pager] }\n";
  }
  // Which daemons (by index, among those running) hold the claim of `collector`'s target.
  std::vector<int> holders(const std::string& collector, const std::string& target, bool& all_report) {
    std::vector<int> out;
    all_report = true;
    for (std::size_t k = 0; k < daemons.size(); ++k) {
      if (!alive[k]) continue;
      const double v = fleet_metric(
          *daemons[k], "tocsin_target_claimed{collector=\"" + collector + "\",target=\"" + target + "\"}");
      if (v < 0) all_report = false;
      if (v == 1) out.push_back(static_cast<int>(k));
    }
    return out;
  }
  // Waits until exactly one running daemon claims the target and every other one reports standby.
  int single_holder(const std::string& collector, const std::string& target,
                    std::chrono::milliseconds timeout) {
    int holder = -1;
    wait_until(
        [&] {
          bool all = false;
          auto h = holders(collector, target, all);
          holder = all && h.size() == 1 ? h[0] : -1;
          return holder >= 0;
        },
        timeout);
    return holder;
  }

  PostgresServer pg;
  RedisServer redis;
  HttpReceiver pager;
  std::vector<std::unique_ptr<Daemon>> daemons;
  std::vector<bool> alive;
};

TEST_F(FleetSharedTargets, OneOfThreeDaemonsCollectsAndAKillMovesTheClaimWithoutADuplicatePage) {
  for (int k = 0; k < 3; ++k) {
    daemons.push_back(std::make_unique<Daemon>(""));
    daemons[k]->dir().write("rules.yaml", kSharedRules);
    daemons[k]->write_config(config(k));
    daemons[k]->restart();
    alive.push_back(true);
  }
  for (auto& d : daemons) ASSERT_TRUE(d->wait_ready()) << d->log();

  const int pg_holder = single_holder("postgres", "shared-pg", 20s);
  ASSERT_GE(pg_holder, 0) << daemons[0]->log();
  const int redis_holder = single_holder("redis", "shared-redis", 20s);
  ASSERT_GE(redis_holder, 0) << daemons[0]->log();
  // Only the holder has the target's series; the standbys have none at all.
  ASSERT_TRUE(wait_until([&] { return fleet_series(*daemons[pg_holder], "pg_up") == 1; }, 10s));
  for (int k = 0; k < 3; ++k) {
    if (k != pg_holder) {
      EXPECT_EQ(fleet_series(*daemons[k], "pg_up"), 0) << "daemon " << k;
    }
    if (k != redis_holder) {
      EXPECT_EQ(fleet_series(*daemons[k], "redis_up"), 0) << "daemon " << k;
    }
    // The status page says which one stands by.
    const std::string page = daemons[k]->get("/").body;
    EXPECT_NE(page.find(k == pg_holder ? "(claimed)" : "(standby)"), std::string::npos) << "daemon " << k;
  }

  // One page for the shared Postgres, from its holder, not one per daemon.
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedPostgresUp").size() >= 1; }, 20s));
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedRedisUp").size() >= 1; }, 20s));
  std::this_thread::sleep_for(4s);  // several cycles more, for any duplicate to show
  EXPECT_EQ(fleet_pages(pager, "SharedPostgresUp"),
            std::vector<std::string>{"daemon-" + std::to_string(pg_holder)});
  EXPECT_EQ(fleet_pages(pager, "SharedRedisUp"),
            std::vector<std::string>{"daemon-" + std::to_string(redis_holder)});

  // The Postgres holder dies without a word.
  const auto killed_at = std::chrono::steady_clock::now();
  daemons[pg_holder]->process().signal(SIGKILL);
  daemons[pg_holder]->process().wait(10s);
  alive[pg_holder] = false;
  const int new_pg = single_holder("postgres", "shared-pg", 30s);
  const auto pg_moved = std::chrono::steady_clock::now() - killed_at;
  ASSERT_GE(new_pg, 0);
  EXPECT_NE(new_pg, pg_holder);
  const int new_redis = single_holder("redis", "shared-redis", 30s);
  const auto redis_moved = std::chrono::steady_clock::now() - killed_at;
  ASSERT_GE(new_redis, 0);
  if (redis_holder != pg_holder) {
    EXPECT_EQ(new_redis, redis_holder) << "a live holder keeps its lease";
  }
  std::cout << "failover after SIGKILL of the holder (lease 3s, interval 1s): postgres claim moved within "
            << std::chrono::duration_cast<std::chrono::milliseconds>(pg_moved).count() << " ms"
            << (redis_holder == pg_holder ? ", redis claim within " : ", redis claim stayed (checked after ")
            << std::chrono::duration_cast<std::chrono::milliseconds>(redis_moved).count() << " ms"
            << (redis_holder == pg_holder ? "" : ")") << "\n";
  ASSERT_TRUE(wait_until([&] { return fleet_series(*daemons[new_pg], "pg_up") == 1; }, 10s));

  // The new holder pages once; the third daemon never does.
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedPostgresUp").size() >= 2; }, 20s));
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(
      fleet_pages(pager, "SharedPostgresUp"),
      (std::vector<std::string>{"daemon-" + std::to_string(pg_holder), "daemon-" + std::to_string(new_pg)}));
  std::vector<std::string> want_redis{"daemon-" + std::to_string(redis_holder)};
  if (new_redis != redis_holder) want_redis.push_back("daemon-" + std::to_string(new_redis));
  EXPECT_EQ(fleet_pages(pager, "SharedRedisUp"), want_redis);
  for (int k = 0; k < 3; ++k) {
    if (!alive[k] || k == new_pg) continue;
    EXPECT_EQ(fleet_series(*daemons[k], "pg_up"), 0) << "daemon " << k;
  }
}

// Resolved notifications of `alertname`, as the hosts that sent them.
std::vector<std::string> fleet_resolves(const HttpReceiver& pager, const std::string& alertname) {
  std::vector<std::string> hosts;
  for (const auto& r : pager.requests()) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("alerts")) continue;
    for (const auto& a : j["alerts"]) {
      if (a.value("status", "") == "resolved" && a["labels"].value("alertname", "") == alertname)
        hosts.push_back(a["labels"].value("host", ""));
    }
  }
  return hosts;
}

// A holder that falls silent without dying (SIGSTOP: as cut off from the network) loses both claims
// within a lease: the Postgres server ends its idle session, the Redis lease runs out. Woken again, it
// finds the claims taken, stands by, and its alerts resolve; the new holder paged once.
TEST_F(FleetSharedTargets, AFrozenHolderLosesTheClaimAndItsAlertsResolveWhenItWakes) {
  for (int k = 0; k < 2; ++k) {
    daemons.push_back(std::make_unique<Daemon>(""));
    daemons[k]->dir().write("rules.yaml", kSharedRules);
    daemons[k]->write_config(config(k));
    daemons[k]->restart();
    alive.push_back(true);
  }
  for (auto& d : daemons) ASSERT_TRUE(d->wait_ready()) << d->log();
  const int holder = single_holder("postgres", "shared-pg", 20s);
  ASSERT_GE(holder, 0) << daemons[0]->log();
  const int other = 1 - holder;
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedPostgresUp").size() >= 1; }, 20s));

  const auto frozen_at = std::chrono::steady_clock::now();
  daemons[holder]->process().signal(SIGSTOP);
  ASSERT_TRUE(wait_until(
      [&] {
        return fleet_metric(*daemons[other],
                            "tocsin_target_claimed{collector=\"postgres\",target=\"shared-pg\"}") == 1 &&
               fleet_metric(*daemons[other],
                            "tocsin_target_claimed{collector=\"redis\",target=\"shared-redis\"}") == 1;
      },
      30s))
      << daemons[other]->log();
  std::cout << "a frozen holder lost both claims within "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                     frozen_at)
                   .count()
            << " ms (lease 3s, interval 1s)\n";
  daemons[holder]->process().signal(SIGCONT);
  // Woken, the old holder stands by: one holder of each, and the old one's series and alerts end.
  ASSERT_EQ(single_holder("postgres", "shared-pg", 20s), other) << daemons[holder]->log();
  ASSERT_EQ(single_holder("redis", "shared-redis", 20s), other) << daemons[holder]->log();
  ASSERT_TRUE(wait_until([&] { return fleet_series(*daemons[holder], "pg_up") == 0; }, 20s));
  const std::string old_host = "daemon-" + std::to_string(holder);
  const std::string new_host = "daemon-" + std::to_string(other);
  ASSERT_TRUE(wait_until([&] { return !fleet_resolves(pager, "SharedPostgresUp").empty(); }, 30s))
      << daemons[holder]->log();
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedPostgresUp").size() >= 2; }, 20s));
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(fleet_resolves(pager, "SharedPostgresUp"), std::vector<std::string>{old_host});
  EXPECT_EQ(fleet_pages(pager, "SharedPostgresUp"), (std::vector<std::string>{old_host, new_host}));
  EXPECT_NE(daemons[holder]->log().find("standing by: another daemon holds the shared target's claim"),
            std::string::npos)
      << daemons[holder]->log();
}

// A reload builds the collectors anew: they keep the claims (the same owner renews the Redis lease and
// counts its predecessor's Postgres session as its own), so the series never go stale and nothing
// resolves.
TEST_F(FleetSharedTargets, AReloadKeepsTheClaims) {
  daemons.push_back(std::make_unique<Daemon>(""));
  alive.push_back(true);
  Daemon& d = *daemons[0];
  d.dir().write("rules.yaml", kSharedRules);
  d.write_config(config(0));
  d.restart();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  ASSERT_EQ(single_holder("postgres", "shared-pg", 20s), 0) << d.log();
  ASSERT_EQ(single_holder("redis", "shared-redis", 20s), 0) << d.log();
  ASSERT_TRUE(wait_until([&] { return fleet_pages(pager, "SharedPostgresUp").size() >= 1; }, 20s));
  for (int k = 0; k < 3; ++k) {
    ASSERT_EQ(http_request(d.port(), "POST", "/-/reload").status, 200) << d.log();
    std::this_thread::sleep_for(1500ms);
  }
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(fleet_metric(d, "tocsin_target_claimed{collector=\"postgres\",target=\"shared-pg\"}"), 1);
  EXPECT_EQ(fleet_metric(d, "tocsin_target_claimed{collector=\"redis\",target=\"shared-redis\"}"), 1);
  EXPECT_TRUE(fleet_resolves(pager, "SharedPostgresUp").empty()) << d.log();
  EXPECT_TRUE(fleet_resolves(pager, "SharedRedisUp").empty()) << d.log();
  EXPECT_EQ(fleet_pages(pager, "SharedPostgresUp").size(), 1u);
  EXPECT_EQ(d.log().find("standing by"), std::string::npos) << d.log();
}

// ---- a two-peer Alertmanager cluster --------------------------------------------------------------

struct ClusterPeer {
  int web_port = 0;
  int cluster_port = 0;
  std::unique_ptr<Process> process;
  json status() const {
    auto j = json::parse(http_get(web_port, "/api/v2/status").body, nullptr, false);
    return j.is_discarded() ? json::object() : j;
  }
};

// How many notifications the webhook behind the cluster got for `alertname`.
std::size_t cluster_notifications(const HttpReceiver& hook, const std::string& alertname) {
  std::size_t n = 0;
  for (const auto& r : hook.requests()) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.contains("alerts")) continue;
    for (const auto& a : j["alerts"]) {
      if (a["labels"].value("alertname", "") == alertname) ++n;
    }
  }
  return n;
}

TEST(FleetAlertmanagerCluster, EachAlertReachesTheWebhookOnceAlsoWithAPeerKilled) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (!std::filesystem::exists(binary)) GTEST_SKIP() << binary << " is not installed";
  TempDir dir("tocsin-am-cluster");
  HttpReceiver hook;
  auto am_config = dir.write("am.yml",
                             "route: { receiver: hook, group_by: [alertname], group_wait: 1s, "
                             "group_interval: 1m, repeat_interval: 1h }\nreceivers:\n  - name: hook\n"
                             "    webhook_configs: [{ url: \"" +
                                 hook.url("/am") + "\", send_resolved: false }]\n");
  std::vector<ClusterPeer> peers(2);
  for (auto& p : peers) {
    p.web_port = free_port();
    p.cluster_port = free_port();
  }
  for (std::size_t k = 0; k < peers.size(); ++k) {
    const std::string self = "127.0.0.1:" + std::to_string(peers[k].cluster_port);
    const std::string other = "127.0.0.1:" + std::to_string(peers[1 - k].cluster_port);
    ProcessOptions options;
    options.stderr_file = dir.path() / ("am" + std::to_string(k) + ".log");
    peers[k].process = std::make_unique<Process>(
        std::vector<std::string>{binary, "--config.file=" + am_config.string(),
                                 "--storage.path=" + (dir.path() / ("data" + std::to_string(k))).string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(peers[k].web_port),
                                 "--cluster.listen-address=" + self, "--cluster.advertise-address=" + self,
                                 "--cluster.peer=" + other, "--cluster.peer-timeout=2s",
                                 "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=2s"},
        options);
  }
  // Each peer sees the other.
  for (auto& p : peers) {
    ASSERT_TRUE(wait_until(
        [&] {
          json s = p.status();
          return s.contains("cluster") && s["cluster"].value("status", "") == "ready" &&
                 s["cluster"]["peers"].size() == 2;
        },
        30s))
        << p.status().dump();
  }

  Daemon tocsin("");
  tocsin.dir().write("rules.yaml",
                     "groups:\n  - name: fleet\n    interval: 1s\n    rules:\n"
                     "      - { alert: FleetFirst, expr: vector(1) }\n");
  const std::string receivers = "\nreceivers:\n  cluster: { type: alertmanager, urls: [\"http://127.0.0.1:" +
                                std::to_string(peers[0].web_port) +
                                "\", \"http://127.0.0.1:" + std::to_string(peers[1].web_port) +
                                "\"], resend_interval: 2s }\nroutes:\n  - { notify: [cluster] }\n";
  tocsin.write_config("evaluation_interval: 1s\nlabels: { host: app-7 }\nrule_files: [rules.yaml]" +
                      receivers);
  tocsin.restart();
  ASSERT_TRUE(tocsin.wait_ready()) << tocsin.log();

  // Every peer has the alert, with the daemon's external labels; the webhook got it once.
  for (auto& p : peers) {
    ASSERT_TRUE(wait_until(
        [&] {
          auto alerts = json::parse(http_get(p.web_port, "/api/v2/alerts").body, nullptr, false);
          return !alerts.is_discarded() && alerts.size() == 1 &&
                 alerts[0]["labels"].value("host", "") == "app-7";
        },
        20s))
        << http_get(p.web_port, "/api/v2/alerts").body << tocsin.log();
  }
  ASSERT_TRUE(wait_until([&] { return cluster_notifications(hook, "FleetFirst") >= 1; }, 30s));
  std::this_thread::sleep_for(6s);  // past the second peer's wait (peer timeout 2s) and its resends
  EXPECT_EQ(cluster_notifications(hook, "FleetFirst"), 1u);

  // The peer first in the cluster's order (the one that notifies first) dies.
  json cluster;
  std::vector<std::string> names;
  ASSERT_TRUE(wait_until(
      [&] {
        cluster = peers[0].status().value("cluster", json::object());
        names.clear();
        for (const auto& m : cluster.value("peers", json::array())) names.push_back(m.value("name", ""));
        return names.size() == 2;
      },
      10s))
      << cluster.dump();
  std::sort(names.begin(), names.end());
  const std::size_t first = cluster.value("name", "") == names[0] ? 0 : 1;
  const std::size_t survivor = 1 - first;
  peers[first].process->signal(SIGKILL);
  peers[first].process->wait(10s);

  // A new alert: posted to both peers (one refuses), still delivered once through the survivor.
  tocsin.dir().write("rules.yaml",
                     "groups:\n  - name: fleet\n    interval: 1s\n    rules:\n"
                     "      - { alert: FleetFirst, expr: vector(1) }\n"
                     "      - { alert: FleetSecond, expr: vector(1) }\n");
  ASSERT_EQ(http_request(tocsin.port(), "POST", "/-/reload").status, 200) << tocsin.log();
  ASSERT_TRUE(wait_until([&] { return cluster_notifications(hook, "FleetSecond") >= 1; }, 30s))
      << tocsin.log();
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(cluster_notifications(hook, "FleetSecond"), 1u);
  EXPECT_EQ(cluster_notifications(hook, "FleetFirst"), 1u);
  auto alerts = json::parse(http_get(peers[survivor].web_port, "/api/v2/alerts").body);
  EXPECT_EQ(alerts.size(), 2u) << alerts.dump();

  // Per peer: the dead one's posts fail, the survivor's succeed.
  const std::string dead = "http://127.0.0.1:" + std::to_string(peers[first].web_port);
  const std::string live = "http://127.0.0.1:" + std::to_string(peers[survivor].web_port);
  EXPECT_TRUE(wait_until(
      [&] {
        return fleet_metric(tocsin,
                            "tocsin_alertmanager_peer_up{peer=\"" + dead + "\",receiver=\"cluster\"}") == 0;
      },
      10s))
      << decoded_body(tocsin.get("/metrics"));
  EXPECT_EQ(fleet_metric(tocsin, "tocsin_alertmanager_peer_up{peer=\"" + live + "\",receiver=\"cluster\"}"),
            1);
  EXPECT_GT(fleet_metric(tocsin, "tocsin_alertmanager_peer_posts_total{peer=\"" + dead +
                                     "\",receiver=\"cluster\",result=\"failure\"}"),
            0);
}

}  // namespace
}  // namespace tocsin::testing
