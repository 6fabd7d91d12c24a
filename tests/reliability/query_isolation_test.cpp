// Queries on their own bounded executor (docs/reliability.md, Queries): expensive queries through the
// real daemon neither stop /metrics from answering nor a collector or a rule group from keeping its
// cadence, and one more than the executor takes is refused at once with 503.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

// The value of the first series of /metrics whose line starts with `series` (a name, or a name and
// the start of its labels); nullopt when absent or /metrics did not answer.
std::optional<double> metric_value(Daemon& daemon, const std::string& series) {
  HttpResult r = daemon.get("/metrics");
  if (r.status != 200) return std::nullopt;
  std::istringstream lines(decoded_body(r));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with(series)) continue;
    const char next = line[series.size()];
    if (next != ' ' && next != '{' && next != ',' && next != '}') continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Three nested subqueries of an hour at 1 s: 4.7e10 evaluations, hours of CPU, a few thousand points
// held at a time. Only the timeout (60 s here) or a stop ends it.
constexpr const char* kExpensive =
    "/api/v1/query?query=max_over_time(max_over_time(max_over_time(vector(1)%5B1h:1s%5D)%5B1h:1s%5D)"
    "%5B1h:1s%5D)";

TEST(QueryIsolation, ExpensiveQueriesLeaveMonitoringItsThreadsAndAFullQueueAnswers503) {
  Daemon daemon("");
  const auto& dir = daemon.dir();
  std::filesystem::create_directories(dir / "proc");
  for (const char* f : {"stat", "meminfo"})
    dir.write(std::string("proc/") + f,
              read_file(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/host/real/" + f));
  dir.write("proc/loadavg", "0.5 0.1 0.1 1/100 123\n");
  dir.write("rules.yaml",
            "groups:\n- name: cadence\n  interval: 1s\n  rules:\n  - record: load_doubled\n"
            "    expr: node_load1 * 2\n");
  daemon.write_config(
      "interval: 1s\nevaluation_interval: 1s\nrule_files: [rules.yaml]\n"
      "query:\n  timeout: 60s\n  max_concurrency: 2\n  max_queued: 3\n"
      "collectors:\n  host:\n    - name: host\n      proc_path: " +
      (dir / "proc").string() + "\n      mountpoints: []\n      pressure: false\n");
  daemon.restart();
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  ASSERT_EQ(metric_value(daemon, "tocsin_query_concurrency_max"), 2);
  ASSERT_EQ(metric_value(daemon, "tocsin_query_queue_capacity"), 3);

  // Five expensive queries: two evaluating, three waiting.
  std::vector<std::future<HttpResult>> expensive;
  for (int i = 0; i < 5; ++i) {
    expensive.push_back(std::async(std::launch::async, [&daemon] {
      return http_request(daemon.port(), "GET", kExpensive, "", {}, std::chrono::seconds(90));
    }));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_value(daemon, "tocsin_query_running") == 2 &&
               metric_value(daemon, "tocsin_query_queue_length") == 3;
      },
      std::chrono::seconds(30)))
      << daemon.log();

  // While they run, monitoring keeps its cadence: the collector commits and the rule group evaluates
  // again and again, and every /metrics request is answered.
  const auto collected = metric_value(daemon, "tocsin_collector_last_success_timestamp_seconds");
  const auto evaluations = metric_value(daemon, "tocsin_rule_evaluations_total");
  ASSERT_TRUE(collected && evaluations) << decoded_body(daemon.get("/metrics"));
  int answered = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        auto c = metric_value(daemon, "tocsin_collector_last_success_timestamp_seconds");
        auto e = metric_value(daemon, "tocsin_rule_evaluations_total");
        if (c && e) ++answered;
        return c && e && *c >= *collected + 3 && *e >= *evaluations + 3;
      },
      std::chrono::seconds(30)))
      << daemon.log();
  EXPECT_GT(answered, 0);
  // The recording rule's output is fresh too (its query ran beside the expensive ones).
  EXPECT_TRUE(metric_value(daemon, "load_doubled").has_value());

  // All five are still in the executor (none finished: they run for the 60 s timeout).
  EXPECT_EQ(metric_value(daemon, "tocsin_query_running"), 2);
  EXPECT_EQ(metric_value(daemon, "tocsin_query_queue_length"), 3);
  for (auto& f : expensive) EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);

  // A sixth query is refused at once, in Prometheus's error shape; so is a series lookup.
  for (const char* target : {kExpensive, "/api/v1/series?match[]=up"}) {
    HttpResult sixth = daemon.get(target);
    EXPECT_EQ(sixth.status, 503) << target;
    auto body = nlohmann::json::parse(decoded_body(sixth), nullptr, false);
    EXPECT_EQ(body.value("status", ""), "error") << sixth.body;
    EXPECT_EQ(body.value("errorType", ""), "unavailable") << sixth.body;
    EXPECT_EQ(sixth.headers["retry-after"], "1");
  }
  EXPECT_GE(metric_value(daemon, "tocsin_query_rejected_total").value_or(0), 2);
  // /metrics and the daemon's own endpoints never wait for the query executor.
  EXPECT_EQ(daemon.get("/-/healthy").status, 200);
  EXPECT_EQ(daemon.get("/api/v1/rules").status, 200);

  // Stopping cancels the running queries: the daemon exits of its own accord, without the SIGKILL
  // that follows a 20 s grace.
  EXPECT_EQ(daemon.process().stop(std::chrono::seconds(20)), 0) << daemon.log();
  for (auto& f : expensive) f.get();
}

}  // namespace
}  // namespace tocsin::testing
