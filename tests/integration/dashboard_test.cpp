// docs/dashboards/tocsin.json names only metrics tocsin exports: every panel's expression is parsed with
// tocsin's own PromQL parser and each metric it selects must be on a real daemon's /metrics (or be a
// name the daemon's rules record), with host, Postgres (pg_stat_statements), Redis, queues, cgroups,
// SLOs, alerting and remote_write configured.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "fixtures/http_receiver.hpp"
#include "fixtures/postgres_server.hpp"
#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"
#include "rules/selected_names.hpp"
#include "tocsin/promql/parser.hpp"

namespace tocsin::testing {
namespace {

// Only after a problem (a job or key the queues collector skips): not creatable here without a
// malformed payload the collector is written to survive; the name is the one queues_collector.cpp
// registers.
const std::set<std::string> kSeenOnlyAfterAProblem{"tocsin_queue_problems_total"};

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void panel_exprs(const nlohmann::json& panels, std::vector<std::string>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) panel_exprs(panel["panels"], out);
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      if (target.contains("expr")) out.push_back(target["expr"].get<std::string>());
    }
  }
}

// Grafana's variables replaced by what they stand for at query time.
std::string substitute(std::string expr) {
  expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval|\$__interval|\$__range)"), "5m");
  expr = std::regex_replace(expr, std::regex(R"(\$\{?instance\}?)"), ".*");
  return expr;
}

std::set<std::string> names_on(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

TEST(Dashboard, EveryPanelSelectsOnlyMetricsARealDaemonExports) {
  const nlohmann::json dashboard =
      nlohmann::json::parse(read_text(std::string(TOCSIN_SOURCE_DIR) + "/docs/dashboards/tocsin.json"));
  std::vector<std::string> exprs;
  panel_exprs(dashboard.at("panels"), exprs);
  ASSERT_GT(exprs.size(), 20u);

  PostgresServer postgres;
  postgres.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  postgres.psql("SELECT pg_sleep(0.01)");
  RedisServer redis;
  redis.cli({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  redis.cli({"SADD", "queues", "mailers"});
  redis.cli({"LPUSH", "queue:mailers", R"({"queue":"mailers","class":"Mail","args":[],"enqueued_at":1})"});
  redis.cli({"SADD", "_kombu.binding.celery",
             "celery\x06\x16\x06\x16"
             "celery"});
  redis.cli({"LPUSH", "celery", R"({"headers":{"id":"1","task":"t"},"properties":{}})"});
  redis.cli({"HSET", "unacked", "1", R"([{"headers":{}}, "celery", "celery"])"});
  redis.cli({"ZADD", "unacked_index", "1", "1"});
  redis.cli({"LPUSH", "jobs:a", R"({"created_at":1})"});
  HttpReceiver pager;
  const std::string source = TOCSIN_SOURCE_DIR;
  Daemon daemon(
      "labels: {instance: dash-test}\ninterval: 1s\nevaluation_interval: 1s\n"
      "rule_files: [" +
      source +
      "/rules/*.yaml, now.yaml]\n"
      "collectors:\n  host:\n    - name: host\n      mountpoints: [\"/\"]\n"
      "  cgroup:\n    - name: cgroup\n"
      "  postgres:\n    - name: db\n      dsn: \"" +
      postgres.dsn() +
      "\"\n"
      "  redis:\n    - name: redis\n      address: " +
      redis.address() +
      "\n"
      "  queues:\n    - name: jobs\n      address: " +
      redis.address() +
      "\n      sidekiq: true\n      celery: { exchanges: [celery] }\n"
      "      lists: [{ pattern: \"jobs:*\", timestamp_field: created_at }]\n"
      // a target nothing answers: up and scrape_duration_seconds say so
      "  scrape:\n    - job_name: app\n      targets: [\"127.0.0.1:" +
      std::to_string(free_port()) +
      "\"]\n"
      "remote_write:\n  - url: http://127.0.0.1:" +
      std::to_string(free_port()) +
      "/api/v1/write\n"
      "receivers:\n  pager: { type: webhook, url: \"" +
      pager.url("/page") + "\" }\nroutes:\n  - { notify: [pager] }\n");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  // An alert that fires at once, so a notification is delivered and its latency observed.
  daemon.dir().write("now.yaml",
                     "groups:\n  - name: now\n    rules:\n      - alert: DashboardTestFires\n"
                     "        expr: vector(1)\n        labels: {severity: critical}\n");
  ASSERT_EQ(daemon.reload().status, 200) << daemon.log();

  // Every collector has committed at least once (pg_up and redis_up come with the first cycle).
  ASSERT_TRUE(wait_until(
      [&] {
        const std::set<std::string> now = names_on(daemon.get("/metrics").body);
        return now.count("pg_up") > 0 && now.count("redis_up") > 0 &&
               now.count("tocsin_notification_latency_seconds_bucket") > 0;
      },
      std::chrono::seconds(30)))
      << daemon.log();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a few more cycles: rates and recordings
  std::set<std::string> exported = names_on(daemon.get("/metrics").body);
  const auto values = nlohmann::json::parse(daemon.get("/api/v1/label/__name__/values").body);
  for (const auto& n : values.at("data")) exported.insert(n.get<std::string>());

  std::set<std::string> missing;
  for (const std::string& expr : exprs) {
    promql::ExprPtr parsed;
    try {
      parsed = promql::parse(substitute(expr));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a panel's expression does not parse: " << expr << ": " << e.what();
      continue;
    }
    rules::detail::SelectedNames selected;
    rules::detail::add_selected_names(*parsed, selected);
    EXPECT_FALSE(selected.any) << "a panel selects series of any name: " << expr;
    for (const std::string& name : selected.names) {
      if (exported.count(name) == 0 && kSeenOnlyAfterAProblem.count(name) == 0) missing.insert(name);
    }
  }
  std::string list;
  for (const auto& n : missing) list += " " + n;
  EXPECT_TRUE(missing.empty()) << "panels name metrics the daemon does not export:" << list;
}

}  // namespace
}  // namespace tocsin::testing
