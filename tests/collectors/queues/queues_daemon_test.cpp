// The "done when", end to end: jobs enqueued by the real Sidekiq client and processed by a real
// sidekiq process, read by the real tocsin binary through config/examples/sidekiq.yaml (REDIS_URL) in one
// cycle (`tocsin once`): exact sizes, latency within a second, retry, dead, processed, failed and busy.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "fixtures/redis_server.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

ProcessOptions with_env(std::vector<std::string> env) {
  ProcessOptions o;
  o.env = std::move(env);
  return o;
}

double cli_number(const RedisServer& server, const std::vector<std::string>& command) {
  std::string out = server.cli(command);
  return out.empty() || out == "\n" ? 0 : std::stod(out);
}

// "name{labels} value" lines of an exposition, keyed by everything before the value.
std::map<std::string, double> samples(const std::string& exposition) {
  std::map<std::string, double> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

TEST(QueuesDaemon, SidekiqExampleConfigReadsARealSidekiqInOneCycle) {
  if (!find_executable("sidekiq")) GTEST_SKIP() << "ruby-sidekiq is not installed (scripts/install-deps.sh)";
  RedisServer redis;
  TempDir dir("tocsin-sidekiq-daemon");
  const std::string url = "redis://" + redis.address() + "/0";
  dir.write("jobs.rb",
            "require 'sidekiq'\n"
            "class OkJob; include Sidekiq::Worker; def perform; end; end\n"
            "class FailJob; include Sidekiq::Worker\n  sidekiq_retry_in { 3600 }\n"
            "  def perform; raise 'boom'; end\nend\n"
            "class SlowJob; include Sidekiq::Worker; def perform(s); sleep s; end; end\n");
  ProcessOptions options = with_env({"REDIS_URL=" + url});
  options.stdout_file = options.stderr_file = dir / "sidekiq.log";
  options.cwd = dir.path();
  // The worker serves `default` only: `reports` keeps its jobs.
  Process sidekiq({"sidekiq", "-r", (dir / "jobs.rb").string(), "-c", "3", "-q", "default"}, options);
  auto pushed = run_command(
      {"ruby", "-e",
       "require 'sidekiq'\n"
       "4.times { Sidekiq::Client.push('queue' => 'default', 'class' => 'OkJob', 'args' => []) }\n"
       "3.times { Sidekiq::Client.push('queue' => 'default', 'class' => 'FailJob', 'args' => [], "
       "'retry' => 2) }\n"
       "Sidekiq::Client.push('queue' => 'default', 'class' => 'FailJob', 'args' => [], 'retry' => 0)\n"
       "Sidekiq::Client.push('queue' => 'default', 'class' => 'SlowJob', 'args' => [120])\n"
       "$t = Time.now - 45\nclass << Time; def now; $t; end; end\n"
       "Sidekiq::Client.push_bulk('queue' => 'reports', 'class' => 'OkJob', 'args' => [[1], [2]])\n"},
      with_env({"REDIS_URL=" + url}));
  ASSERT_EQ(pushed.status, 0) << pushed.output;
  // Sidekiq writes its counters and busy count with its heartbeat (every 5 s). Processed counts finished
  // jobs, failed or not: 4 + 3 + 1, the slow one still running.
  ASSERT_TRUE(wait_until(
      [&] {
        std::string ids = redis.cli({"SMEMBERS", "processes"});
        if (ids.size() < 2) return false;
        return cli_number(redis, {"GET", "stat:processed"}) == 8 &&
               cli_number(redis, {"GET", "stat:failed"}) == 4 && cli_number(redis, {"ZCARD", "retry"}) == 3 &&
               cli_number(redis, {"ZCARD", "dead"}) == 1 &&
               cli_number(redis, {"HGET", ids.substr(0, ids.find('\n')), "busy"}) == 1;
      },
      40s))
      << run_command({"cat", (dir / "sidekiq.log").string()}).output;

  auto once =
      run_command({TOCSIN_EXECUTABLE, "once", "--config", TOCSIN_SOURCE_DIR "/config/examples/sidekiq.yaml"},
                  with_env({"REDIS_URL=" + url, "TOCSIN_STATE_DIR=" + dir.path().string()}));
  ASSERT_EQ(once.status, 0) << once.output;
  auto s = samples(once.output);
  const std::string t = "target=\"sidekiq\"";
  EXPECT_EQ(s["sidekiq_processed_jobs_total{" + t + "}"], 8) << once.output;
  EXPECT_EQ(s["sidekiq_failed_jobs_total{" + t + "}"], 4);
  EXPECT_EQ(s["sidekiq_retry_jobs{" + t + "}"], 3);
  EXPECT_EQ(s["sidekiq_dead_jobs{" + t + "}"], 1);
  EXPECT_EQ(s["sidekiq_busy_workers{" + t + "}"], 1);
  EXPECT_EQ(s["sidekiq_processes{" + t + "}"], 1);
  EXPECT_EQ(s["sidekiq_workers{" + t + "}"], 3);
  EXPECT_EQ(s["sidekiq_queue_enqueued_jobs{name=\"reports\"," + t + "}"], 2);
  EXPECT_EQ(s["sidekiq_queue_enqueued_jobs{name=\"default\"," + t + "}"], 0);
  EXPECT_EQ(s["sidekiq_enqueued_jobs{" + t + "}"], 2);
  ASSERT_TRUE(s.contains("sidekiq_queue_latency_seconds{name=\"reports\"," + t + "}")) << once.output;
  // The reports jobs were enqueued 45 s before the push; the push and the wait add the time they took.
  const double latency = s["sidekiq_queue_latency_seconds{name=\"reports\"," + t + "}"];
  EXPECT_GE(latency, 45 - 1.0);
  EXPECT_LE(latency, 45 + 1.0 + 45);  // at most the 40 s wait, the push, and a second
  EXPECT_EQ(s["tocsin_sidekiq_retry_depth_max{" + t + "}"], 0);
  EXPECT_EQ(s["tocsin_sidekiq_dead_processes{" + t + "}"], 0);
  EXPECT_EQ(s["sidekiq_queue_busy_workers{name=\"default\"," + t + "}"], 1);
  EXPECT_LE(s["tocsin_queue_round_trips{" + t + "}"], 2);
}

}  // namespace
}  // namespace tocsin::testing
