// The queues collector against a real Redis 7 from the fixture. Sidekiq jobs are written by the real
// Sidekiq client (ruby-sidekiq 6.4.1, Sidekiq::Client.push) and processed by a real `sidekiq` process;
// Sidekiq 7/8 layouts (the `:work` hash, millisecond timestamps) are written as Sidekiq documents them,
// with redis-cli. RQ jobs come from python3-rq, Celery messages from python3-celery. Expected values
// are what Redis itself holds (read with redis-cli) or the known age of a job.
#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collectors/queues/queues.hpp"
#include "fixtures/redis_server.hpp"
#include "tocsin/collectors/kind.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;
using store::Batch;
using tocsin::testing::find_executable;
using tocsin::testing::Process;
using tocsin::testing::ProcessOptions;
using tocsin::testing::RedisServer;
using tocsin::testing::run_command;
using tocsin::testing::TempDir;
using tocsin::testing::wait_until;

[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<double> value(const Batch& batch, const std::string& name, std::vector<Label> labels = {}) {
  labels.push_back({std::string(kMetricNameLabel), name});
  Labels wanted = Labels::from_unsorted(std::move(labels));
  for (const auto& s : batch.samples()) {
    if (s.labels == wanted) return s.value;
  }
  return std::nullopt;
}

std::size_t count_family(const Batch& batch, std::string_view name) {
  std::size_t n = 0;
  for (const auto& s : batch.samples()) n += s.labels.metric_name() == name;
  return n;
}

ProcessOptions with_env(std::vector<std::string> env) {
  ProcessOptions o;
  o.env = std::move(env);
  return o;
}

config::QueueListConfig list(std::string key, std::string pattern, std::string timestamp_field = "") {
  config::QueueListConfig l;
  l.key = std::move(key);
  l.pattern = std::move(pattern);
  l.timestamp_field = std::move(timestamp_field);
  return l;
}

double cli_number(const RedisServer& server, const std::vector<std::string>& command) {
  std::string out = server.cli(command);
  return out.empty() || out == "\n" ? 0 : std::stod(out);
}

class QueuesCollectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    server_->cli({"FLUSHALL"});
    config_ = {};
    config_.address = server_->address();
    config_.endpoint = {server_->host(), server_->port(), ""};
    config_.max_reconnect_backoff = 50ms;
  }

  std::unique_ptr<Collector> make() {
    return make_queues_collector(
        config_,
        std::make_shared<spdlog::logger>("queues", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
  }

  static Batch collect(Collector& c, std::chrono::milliseconds budget = 5s) {
    Batch batch;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    c.collect({now, std::chrono::steady_clock::now() + budget}, batch);
    return batch;
  }

  std::string redis_url() const { return "redis://" + server_->address() + "/0"; }

  // Runs Ruby with the real Sidekiq gem; `script` follows `require "sidekiq"`.
  void ruby(const std::string& script) {
    auto r =
        run_command({"ruby", "-e", "require 'sidekiq'\n" + script}, with_env({"REDIS_URL=" + redis_url()}));
    ASSERT_EQ(r.status, 0) << r.output;
  }

  void python(const std::string& script) {
    auto r = run_command({"/usr/bin/python3", "-c", script}, with_env({"REDIS_URL=" + redis_url()}));
    ASSERT_EQ(r.status, 0) << r.output;
  }

  static RedisServer* server_;
  config::QueuesTargetConfig config_;
  std::ostringstream log_;
};

RedisServer* QueuesCollectorTest::server_ = nullptr;

// Sidekiq's client stamps enqueued_at with Time.now: frozen `seconds` in the past, the real client
// writes jobs of a known age.
std::string aged(double seconds) {
  return "$aged = Time.now - " + std::to_string(seconds) +
         "\nclass << Time; alias_method :real_now, :now; def now; $aged; end; end\n";
}

TEST_F(QueuesCollectorTest, SidekiqClientJobsSizesAndLatency) {
  if (!find_executable("ruby")) GTEST_SKIP() << "ruby-sidekiq is not installed (scripts/install-deps.sh)";
  config_.sidekiq.enabled = true;
  ruby(
      aged(120) + "Sidekiq::Client.push('queue' => 'mailers', 'class' => 'Mail', 'args' => [1])\n" +
      "class << Time; def now; real_now; end; end\n" +
      "Sidekiq::Client.push_bulk('queue' => 'mailers', 'class' => 'Mail', 'args' => [[2], [3]])\n"
      "Sidekiq::Client.push_bulk('queue' => 'default', 'class' => 'Work', 'args' => (1..7).map { |i| [i] })\n"
      "Sidekiq::Client.push('queue' => 'later', 'class' => 'Work', 'args' => [1], 'at' => Time.now.to_f + "
      "3600)\n");
  auto c = make();
  const double before = now_seconds();
  Batch b = collect(*c);
  const double after = now_seconds();
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "mailers"}}), 3);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "default"}}), 7);
  EXPECT_EQ(value(b, "sidekiq_enqueued_jobs"), 10);
  EXPECT_EQ(value(b, "sidekiq_scheduled_jobs"), 1);
  EXPECT_EQ(value(b, "sidekiq_retry_jobs"), 0);
  EXPECT_EQ(value(b, "sidekiq_dead_jobs"), 0);
  EXPECT_EQ(value(b, "sidekiq_processed_jobs_total"), 0);
  // The oldest mailers job is 120 s old; the collector reads it within the cycle.
  auto latency = value(b, "sidekiq_queue_latency_seconds", {{"name", "mailers"}});
  ASSERT_TRUE(latency);
  EXPECT_NEAR(*latency, 120, 1.0 + (after - before));
  auto fresh = value(b, "sidekiq_queue_latency_seconds", {{"name", "default"}});
  ASSERT_TRUE(fresh);
  EXPECT_LT(*fresh, 60);
  EXPECT_LE(*value(b, "tocsin_queue_round_trips"), 2);  // discovery, then the queues
  EXPECT_FALSE(
      value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "malformed_json"}}));
}

TEST_F(QueuesCollectorTest, RealSidekiqProcessBusyRetriesDeadAndCounters) {
  if (!find_executable("sidekiq")) GTEST_SKIP() << "ruby-sidekiq is not installed (scripts/install-deps.sh)";
  TempDir dir("tocsin-sidekiq");
  dir.write("jobs.rb",
            "require 'sidekiq'\n"
            "class OkJob; include Sidekiq::Worker; def perform; end; end\n"
            "class FailJob; include Sidekiq::Worker; sidekiq_options retry: 5\n"
            "  sidekiq_retry_in { 3600 }  # retried long after the test ends\n"
            "  def perform; raise 'boom'; end\nend\n"
            "class DeadJob; include Sidekiq::Worker; sidekiq_options retry: 0; def perform; raise 'dead'; "
            "end; end\n"
            "class SlowJob; include Sidekiq::Worker; def perform(s); sleep s; end; end\n");
  ProcessOptions options = with_env({"REDIS_URL=" + redis_url()});
  options.stdout_file = options.stderr_file = dir / "sidekiq.log";
  options.cwd = dir.path();
  Process sidekiq({"sidekiq", "-r", (dir / "jobs.rb").string(), "-c", "4", "-q", "default", "-q", "mailers"},
                  options);
  ruby(
      "5.times { Sidekiq::Client.push('queue' => 'default', 'class' => 'OkJob', 'args' => []) }\n"
      "2.times { Sidekiq::Client.push('queue' => 'default', 'class' => 'FailJob', 'args' => [], 'retry' => "
      "5) }\n"
      "Sidekiq::Client.push('queue' => 'mailers', 'class' => 'DeadJob', 'args' => [], 'retry' => 0)\n"
      "2.times { Sidekiq::Client.push('queue' => 'default', 'class' => 'SlowJob', 'args' => [120]) }\n");
  // Sidekiq flushes its counters and busy state with its heartbeat (every 5 s): wait for Redis to hold them.
  auto busy_in_redis = [&] {
    std::string identities = server_->cli({"SMEMBERS", "processes"});
    if (identities.empty() || identities == "\n") return -1.0;
    std::string id = identities.substr(0, identities.find('\n'));
    return cli_number(*server_, {"HGET", id, "busy"});
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return cli_number(*server_, {"GET", "stat:processed"}) == 8 &&
               cli_number(*server_, {"GET", "stat:failed"}) == 3 &&
               cli_number(*server_, {"ZCARD", "retry"}) == 2 &&
               cli_number(*server_, {"ZCARD", "dead"}) == 1 && busy_in_redis() == 2;
      },
      40s))
      << run_command({"cat", (dir / "sidekiq.log").string()}).output;
  config_.sidekiq.enabled = true;
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "sidekiq_processed_jobs_total"), 8);
  EXPECT_EQ(value(b, "sidekiq_failed_jobs_total"), 3);
  EXPECT_EQ(value(b, "sidekiq_retry_jobs"), 2);
  EXPECT_EQ(value(b, "sidekiq_dead_jobs"), 1);
  EXPECT_EQ(value(b, "sidekiq_processes"), 1);
  EXPECT_EQ(value(b, "sidekiq_workers"), 4);  // the process's concurrency
  EXPECT_EQ(value(b, "sidekiq_busy_workers"), 2);
  EXPECT_EQ(value(b, "sidekiq_queue_busy_workers", {{"name", "default"}}), 2);
  EXPECT_EQ(value(b, "sidekiq_queue_workers", {{"name", "mailers"}}), 4);
  EXPECT_EQ(value(b, "tocsin_sidekiq_dead_processes"), 0);
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_depth_max"), 0);  // first failures: retry_count 0
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_sampled_jobs"), 2);
  auto running = value(b, "sidekiq_queue_max_processing_time_seconds", {{"name", "default"}});
  ASSERT_TRUE(running);
  EXPECT_GE(*running, 0);
  EXPECT_LT(*running, 120);
  std::string host = run_command({"hostname"}).output;
  host.erase(host.find_last_not_of("\n") + 1);
  EXPECT_EQ(value(b, "sidekiq_host_processes", {{"host", host}, {"quiet", "false"}}), 1);
  auto rss = value(b, "tocsin_sidekiq_host_memory_bytes", {{"host", host}});
  ASSERT_TRUE(rss);
  EXPECT_GT(*rss, 1024 * 1024);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "default"}}), 0);
  EXPECT_EQ(value(b, "sidekiq_queue_latency_seconds", {{"name", "default"}}), 0);
}

TEST_F(QueuesCollectorTest, Sidekiq8LayoutRetryDepthDeadProcessesAndNamespace) {
  config_.sidekiq.enabled = true;
  config_.sidekiq.key_prefix = "app:";
  const double now = now_seconds();
  const long long now_ms = static_cast<long long>(now * 1000);
  // Sidekiq 8: integer milliseconds in jobs.
  server_->cli({"SADD", "app:queues", "critical"});
  server_->cli({"LPUSH", "app:queue:critical",
                R"({"queue":"critical","class":"X","jid":"1","created_at":)" +
                    std::to_string(now_ms - 95000) + R"(,"enqueued_at":)" + std::to_string(now_ms - 90000) +
                    "}"});
  server_->cli(
      {"LPUSH", "app:queue:critical",
       R"({"queue":"critical","class":"X","jid":"2","enqueued_at":)" + std::to_string(now_ms) + "}"});
  // The retry set with known retry_count 0..19, failed_at in ms, the oldest 600 s ago.
  for (int i = 0; i < 20; ++i) {
    server_->cli({"ZADD", "app:retry", std::to_string(now + 60 + i),
                  R"({"queue":"critical","class":"X","jid":"r)" + std::to_string(i) + R"(","retry_count":)" +
                      std::to_string(i) + R"(,"failed_at":)" + std::to_string(now_ms - 600000 + i * 1000) +
                      "}"});
  }
  // A live Sidekiq 7 process with its `:work` hash, a dead one (beat 120 s old), one whose hash expired.
  const std::string info =
      R"({"hostname":"w1","pid":1,"concurrency":10,"queues":["critical"],"identity":"w1:1:a"})";
  server_->cli({"SADD", "app:processes", "w1:1:a", "w2:2:b", "w3:3:c"});
  server_->cli({"HSET", "app:w1:1:a", "info", info, "busy", "1", "beat", std::to_string(now), "quiet", "true",
                "rss", "2048"});
  server_->cli({"HSET", "app:w1:1:a:work", "tid1",
                R"({"queue":"critical","payload":"{}","run_at":)" + std::to_string(now_ms - 300000) + "}"});
  server_->cli({"HSET", "app:w2:2:b", "info", R"({"hostname":"w2","concurrency":5,"queues":["critical"]})",
                "busy", "0", "beat", std::to_string(now - 120), "quiet", "false", "rss", "1"});
  // The dead process's leftover work (its hash expires with it) is not counted.
  server_->cli({"HSET", "app:w2:2:b:work", "tid9",
                R"({"queue":"critical","payload":"{}","run_at":)" + std::to_string(now_ms - 1000000) + "}"});
  auto c = make();
  Batch b = collect(*c);
  // Ages are measured at collection: from `now` on, plus however long the set-up above took (redis-cli
  // per command, seconds on a loaded machine) and the collection itself.
  const double elapsed = now_seconds() - now;
  auto age_near = [&](std::optional<double> got, double age) {
    ASSERT_TRUE(got);
    EXPECT_GE(*got, age - 0.01);
    EXPECT_LE(*got, age + elapsed + 0.01);
  };
  auto latency = value(b, "sidekiq_queue_latency_seconds", {{"name", "critical"}});
  age_near(latency, 90);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "critical"}}), 2);
  EXPECT_EQ(value(b, "sidekiq_retry_jobs"), 20);
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_depth_max"), 19);
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_depth_p95"), 18);
  age_near(value(b, "tocsin_sidekiq_oldest_retry_age_seconds"), 600);
  EXPECT_EQ(value(b, "sidekiq_processes"), 1);
  EXPECT_EQ(value(b, "tocsin_sidekiq_dead_processes"), 2);
  EXPECT_EQ(value(b, "sidekiq_workers"), 10);
  EXPECT_EQ(value(b, "sidekiq_busy_workers"), 1);
  EXPECT_EQ(value(b, "sidekiq_host_processes", {{"host", "w1"}, {"quiet", "true"}}), 1);
  EXPECT_EQ(value(b, "tocsin_sidekiq_host_memory_bytes", {{"host", "w1"}}), 2048 * 1024);
  age_near(value(b, "sidekiq_queue_max_processing_time_seconds", {{"name", "critical"}}), 300);
  EXPECT_EQ(value(b, "sidekiq_queue_busy_workers", {{"name", "critical"}}), 1);
  // Nothing was read outside the namespace.
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "default"}}), std::nullopt);
}

// An outage: fresh failures (retry_count 0, due in seconds) far outnumber the sample, and the deep
// retries are due last, as Sidekiq schedules them (retry_count^4 + 15 s): the sample still sees them.
TEST_F(QueuesCollectorTest, DeepRetriesAreSeenWhenFreshFailuresOutnumberTheSample) {
  config_.sidekiq.enabled = true;
  config_.sidekiq.retry_sample = 5;
  const double now = now_seconds();
  std::vector<std::string> zadd{"ZADD", "retry"};  // one command, so that the ages stay exact
  for (int i = 0; i < 190; ++i) {
    zadd.push_back(std::to_string(now + 15 + i * 0.01));
    zadd.push_back(R"({"queue":"default","class":"X","jid":"f)" + std::to_string(i) +
                   R"(","retry_count":0,"failed_at":)" + std::to_string(now - 1) + "}");
  }
  for (int count = 10; count < 20; ++count) {
    zadd.push_back(std::to_string(now + std::pow(count, 4) + 15));
    zadd.push_back(R"({"queue":"default","class":"X","jid":"d)" + std::to_string(count) +
                   R"(","retry_count":)" + std::to_string(count) + R"(,"failed_at":)" +
                   std::to_string(now - 3600) + "}");
  }
  server_->cli(zadd);
  auto c = make();
  Batch b = collect(*c);
  const double elapsed = now_seconds() - now;
  EXPECT_EQ(value(b, "sidekiq_retry_jobs"), 200);
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_sampled_jobs"), 5);
  EXPECT_EQ(value(b, "tocsin_sidekiq_retry_depth_max"), 19);
  EXPECT_GE(*value(b, "tocsin_sidekiq_retry_depth_p95"), 15);
  EXPECT_NEAR(*value(b, "tocsin_sidekiq_oldest_retry_age_seconds"), 3600, 1.0 + elapsed);
}

TEST_F(QueuesCollectorTest, MalformedWrongTypeAndHugeJobsAreCountedNotFatal) {
  config_.sidekiq.enabled = true;
  config_.max_job_bytes = 64 * 1024;
  server_->cli({"SADD", "queues", "bad", "wrong", "huge", "ok"});
  server_->cli({"LPUSH", "queue:bad", "{this is not json"});
  server_->cli({"SET", "queue:wrong", "a string"});
  // A 4 MB job, built by Redis itself.
  server_->cli({"EVAL",
                "redis.call('LPUSH', KEYS[1], '{\"enqueued_at\":1,\"args\":[\"' .. string.rep('x', 4194304) "
                ".. '\"]}')",
                "1", "queue:huge"});
  server_->cli({"LPUSH", "queue:ok", R"({"enqueued_at":)" + std::to_string(now_seconds()) + "}"});
  server_->cli({"SET", "retry", "not a zset"});
  server_->cli({"SADD", "processes", "p1"});
  server_->cli({"HSET", "p1", "info", "{]", "beat", "garbage"});
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "malformed_json"}}),
            1);
  EXPECT_EQ(value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "wrong_type"}}), 2);
  EXPECT_EQ(value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "too_large"}}), 1);
  EXPECT_EQ(
      value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "malformed_process"}}), 1);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "bad"}}), 1);
  EXPECT_EQ(value(b, "sidekiq_queue_latency_seconds", {{"name", "bad"}}), std::nullopt);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "huge"}}), 1);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "wrong"}}), std::nullopt);
  EXPECT_TRUE(value(b, "sidekiq_queue_latency_seconds", {{"name", "ok"}}));
  EXPECT_EQ(value(b, "tocsin_sidekiq_dead_processes"), 1);  // no usable beat
  // The API names where each problem was first seen (GET /api/v1/collectors/queues/<name>).
  bool named = false;
  const nlohmann::json details = c->details();
  for (const auto& p : details["problems_last_cycle"]) {
    if (p["problem"] == "malformed_json" && p["first_key"] == "queue:bad") named = true;
  }
  EXPECT_TRUE(named) << details.dump();
  // The next cycle counts again (a counter) and the problem was logged once.
  b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_problems_total", {{"system", "sidekiq"}, {"problem", "malformed_json"}}),
            2);
  const std::string log = log_.str();
  EXPECT_EQ(log.find("malformed_json"), log.rfind("malformed_json")) << log;
  EXPECT_NE(log.find("queue:bad"), std::string::npos) << log;
}

TEST_F(QueuesCollectorTest, QueuesThatDisappearAreNoLongerReportedAndTheCapCountsTheRest) {
  config_.sidekiq.enabled = true;
  config_.max_queues = 3;
  for (const char* q : {"a", "b", "c", "d", "e"}) {
    server_->cli({"SADD", "queues", q});
    server_->cli({"LPUSH", std::string("queue:") + q, R"({"enqueued_at":1700000000})"});
  }
  auto c = make();
  // Committed as the scheduler commits a cycle: what a cycle no longer reports turns stale in the store.
  SystemClock clock;
  store::Store store{store::StoreOptions{std::chrono::hours(1)}, clock};
  const auto writer = store.register_writer("queues", 1s);
  Timestamp t = 1'700'000'000'000;
  Batch b = collect(*c);
  store.commit(writer, b, t);
  EXPECT_EQ(count_family(b, "sidekiq_queue_enqueued_jobs"), 3u);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "c"}}), 1);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "d"}}), std::nullopt);
  EXPECT_EQ(value(b, "tocsin_queue_discovered", {{"system", "sidekiq"}}), 5);
  EXPECT_EQ(value(b, "tocsin_queue_unreported", {{"system", "sidekiq"}}), 2);
  // Sidekiq's Queue#clear: the queue leaves the set and its list is deleted.
  server_->cli({"SREM", "queues", "a"});
  server_->cli({"DEL", "queue:a"});
  b = collect(*c);
  store.commit(writer, b, t + 1000);
  std::vector<store::Matcher> gone{
      store::Matcher(MatchType::equal, "__name__", "sidekiq_queue_enqueued_jobs"),
      store::Matcher(MatchType::equal, "name", "a")};
  auto set = store.select(gone, 0, std::numeric_limits<Timestamp>::max());
  ASSERT_EQ(set.size(), 1u);
  EXPECT_TRUE(is_stale_nan(set.points(0).back().v));
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "a"}}), std::nullopt);
  EXPECT_EQ(value(b, "sidekiq_queue_latency_seconds", {{"name", "a"}}), std::nullopt);
  EXPECT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "d"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_unreported", {{"system", "sidekiq"}}), 1);
  const std::string log = log_.str();
  EXPECT_NE(log.find("max_queues"), std::string::npos) << log;
  EXPECT_EQ(log.find("max_queues"), log.rfind("max_queues")) << log;  // said once
}

TEST_F(QueuesCollectorTest, HundredQueuesInAtMostThreeRoundTrips) {
  config_.sidekiq.enabled = true;
  config_.rq.enabled = true;
  config_.celery.enabled = true;
  config_.lists.push_back(list("plain", "", "ts"));
  config_.streams.push_back({"events"});
  std::string script =
      "local now = ARGV[1]\nfor i = 1, 100 do\n"
      "  redis.call('SADD', 'queues', 'q' .. i)\n"
      "  redis.call('LPUSH', 'queue:q' .. i, '{\"enqueued_at\":' .. now .. '}')\n"
      "  redis.call('SADD', 'rq:queues', 'rq:queue:r' .. i)\n"
      "  redis.call('RPUSH', 'rq:queue:r' .. i, 'job' .. i)\n"
      "  redis.call('HSET', 'rq:job:job' .. i, 'enqueued_at', '2024-01-01T00:00:00.000000Z')\n"
      "end\n";
  server_->cli({"EVAL", script, "0", std::to_string(static_cast<long long>(now_seconds()))});
  server_->cli({"XADD", "events", "*", "k", "v"});
  server_->cli({"XGROUP", "CREATE", "events", "g", "0"});
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_round_trips"), 3);
  EXPECT_EQ(count_family(b, "sidekiq_queue_enqueued_jobs"), 100u);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "rq"}, {"queue", "r100"}}), 1);
  EXPECT_TRUE(value(b, "tocsin_queue_latency_seconds", {{"system", "rq"}, {"queue", "r100"}}));
}

TEST_F(QueuesCollectorTest, RqJobsRegistriesAndWorkersFromTheRealClient) {
  if (run_command({"/usr/bin/python3", "-c", "import rq"}).status != 0)
    GTEST_SKIP() << "python3-rq is not installed";
  TempDir dir("tocsin-rq");
  dir.write("rqjobs.py", "def ok():\n    return 1\n\ndef boom():\n    raise RuntimeError('boom')\n");
  const double enqueued = now_seconds();  // the first job's age is 75 s plus the time from here on
  python("import sys, os, datetime\nsys.path.insert(0, '" + dir.path().string() +
         "')\n"
         "from redis import Redis\nimport rq, rq.queue\n"
         "r = Redis.from_url(os.environ['REDIS_URL'])\n"
         "real = rq.queue.utcnow\n"
         "rq.queue.utcnow = lambda: real() - datetime.timedelta(seconds=75)\n"
         "q = rq.Queue('emails', connection=r)\n"
         "q.enqueue('rqjobs.ok')\n"
         "rq.queue.utcnow = real\n"
         "q.enqueue('rqjobs.ok')\n"
         "f = rq.Queue('fails', connection=r)\n"
         "f.enqueue('rqjobs.boom')\n"
         "f.enqueue_in(datetime.timedelta(hours=1), 'rqjobs.ok')\n");
  // A burst worker runs the failing job into the failed registry, then leaves.
  auto w =
      run_command({"/usr/bin/python3", "-m", "rq.cli", "worker", "--burst", "--url", redis_url(), "fails"},
                  with_env({"PYTHONPATH=" + dir.path().string()}));
  ASSERT_EQ(w.status, 0) << w.output;
  // A registered worker whose heartbeat stopped 10 minutes ago (the layout RQ writes).
  server_->cli({"SADD", "rq:workers", "rq:worker:gone"});
  server_->cli({"HSET", "rq:worker:gone", "last_heartbeat", "2020-01-01T00:00:00.000000Z", "state", "busy"});
  config_.rq.enabled = true;
  auto c = make();
  Batch b = collect(*c);
  const double after = now_seconds();
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "rq"}, {"queue", "emails"}}), 2);
  auto latency = value(b, "tocsin_queue_latency_seconds", {{"system", "rq"}, {"queue", "emails"}});
  ASSERT_TRUE(latency);
  // Python startup and the burst worker take seconds on a loaded machine: bound by the whole span.
  EXPECT_GE(*latency, 75 - 1.0);
  EXPECT_LE(*latency, 75 + 1.0 + (after - enqueued));
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "rq"}, {"queue", "fails"}}), 0);
  EXPECT_EQ(value(b, "tocsin_queue_failed_jobs", {{"system", "rq"}, {"queue", "fails"}}),
            cli_number(*server_, {"ZCARD", "rq:failed:fails"}));
  EXPECT_EQ(value(b, "tocsin_queue_failed_jobs", {{"system", "rq"}, {"queue", "fails"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_scheduled_jobs", {{"system", "rq"}, {"queue", "fails"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_dead_workers", {{"system", "rq"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_workers", {{"system", "rq"}}), 0);  // the burst worker left
}

// A real `rq worker` busy with a long job: the started registry, a live busy worker.
TEST_F(QueuesCollectorTest, RqRealWorkerBusyWithAJob) {
  if (run_command({"/usr/bin/python3", "-c", "import rq"}).status != 0)
    GTEST_SKIP() << "python3-rq is not installed";
  TempDir dir("tocsin-rq-worker");
  dir.write("rqslow.py", "import time\n\ndef slow(s):\n    time.sleep(s)\n");
  ProcessOptions options = with_env({"PYTHONPATH=" + dir.path().string()});
  options.stdout_file = options.stderr_file = dir / "worker.log";
  Process worker({"/usr/bin/python3", "-m", "rq.cli", "worker", "--url", redis_url(), "slow"}, options);
  python("import os, sys\nsys.path.insert(0, '" + dir.path().string() +
         "')\nfrom redis import Redis\nimport rq\n"
         "q = rq.Queue('slow', connection=Redis.from_url(os.environ['REDIS_URL']))\n"
         "q.enqueue('rqslow.slow', 120)\nq.enqueue('rqslow.slow', 1)\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return cli_number(*server_, {"ZCARD", "rq:wip:slow"}) == 1;
      },
      30s))
      << run_command({"cat", (dir / "worker.log").string()}).output;
  config_.rq.enabled = true;
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_in_progress_jobs", {{"system", "rq"}, {"queue", "slow"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "rq"}, {"queue", "slow"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_workers", {{"system", "rq"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_busy_workers", {{"system", "rq"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_dead_workers", {{"system", "rq"}}), 0);
  worker.signal(SIGKILL);  // a warm shutdown would wait for the job
}

TEST_F(QueuesCollectorTest, CeleryQueuesWithPrioritiesFromTheRealClient) {
  if (run_command({"/usr/bin/python3", "-c", "import celery"}).status != 0) {
    GTEST_SKIP() << "python3-celery is not installed";
  }
  python(
      "import os\nfrom celery import Celery\n"
      "app = Celery(broker=os.environ['REDIS_URL'])\n"
      "app.conf.broker_transport_options = {'priority_steps': [0, 3, 6, 9]}\n"
      "for i in range(3): app.send_task('tasks.add', args=[i, i])\n"
      "app.send_task('tasks.add', args=[1, 1], queue='hipri', priority=6)\n"
      "app.send_task('tasks.add', args=[1, 1], queue='hipri', priority=0)\n");
  config_.celery.enabled = true;
  config_.celery.queues = {"hipri"};  // a queue with no binding yet is still read
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "celery"}, {"queue", "celery"}}), 3);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "celery"}, {"queue", "hipri"}}), 2);
  EXPECT_EQ(value(b, "tocsin_queue_unacked_tasks", {{"system", "celery"}}), 0);
  // Two tasks delivered and not acknowledged, as kombu's Redis transport records them: the message in the
  // `unacked` hash, the delivery time in `unacked_index`; one delivered two hours ago (past the visibility
  // timeout, so kombu will deliver it again).
  const double now = now_seconds();
  server_->cli({"HSET", "unacked", "tag-1", R"([{"body":"e30="}, "", "celery"])", "tag-2",
                R"([{"body":"e30="}, "", "celery"])"});
  server_->cli(
      {"ZADD", "unacked_index", std::to_string(now - 7200), "tag-1", std::to_string(now - 5), "tag-2"});
  b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_unacked_tasks", {{"system", "celery"}}), 2);
  EXPECT_EQ(value(b, "tocsin_queue_unacked_overdue_tasks", {{"system", "celery"}}), 1);
}

TEST_F(QueuesCollectorTest, ListsByNameAndPatternAndStreamGroups) {
  for (int i = 0; i < 5; ++i) server_->cli({"XADD", "events", "*", "n", std::to_string(i)});
  server_->cli({"XGROUP", "CREATE", "events", "workers", "0"});
  server_->cli({"XREADGROUP", "GROUP", "workers", "c1", "COUNT", "2", "STREAMS", "events", ">"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the pending entries idle a second
  const double now = now_seconds();
  config_.lists.push_back(list("mail", "", "ts"));
  config_.lists.push_back(list("", "tenant:*"));
  config_.streams.push_back({"events"});
  server_->cli(
      {"LPUSH", "mail", R"({"ts":)" + std::to_string(static_cast<long long>((now - 30) * 1000)) + "}"});
  server_->cli({"LPUSH", "mail", R"({"ts":)" + std::to_string(static_cast<long long>(now * 1000)) + "}"});
  server_->cli({"RPUSH", "tenant:1", "x", "y"});
  server_->cli({"RPUSH", "tenant:2", "x"});
  server_->cli({"SET", "tenant:3", "not a list"});  // SCAN TYPE list skips it
  auto c = make();
  Batch b = collect(*c);
  const double elapsed = now_seconds() - now;
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "mail"}}), 2);
  EXPECT_NEAR(*value(b, "tocsin_queue_latency_seconds", {{"system", "list"}, {"queue", "mail"}}), 30,
              1.0 + elapsed);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "tenant:1"}}), 2);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "tenant:2"}}), 1);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "tenant:3"}}), std::nullopt);
  const std::vector<Label> group{{"system", "stream"}, {"queue", "events"}, {"group", "workers"}};
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "stream"}, {"queue", "events"}}), 5);
  EXPECT_EQ(value(b, "tocsin_queue_group_pending", group), 2);
  EXPECT_EQ(value(b, "tocsin_queue_group_lag", group), 3);
  EXPECT_EQ(value(b, "tocsin_queue_group_consumers", group), 1);
  EXPECT_GE(*value(b, "tocsin_queue_group_oldest_pending_idle_seconds", group), 1.0);
  // A matched list that empties (Redis deletes it) is no longer reported.
  server_->cli({"DEL", "tenant:2"});
  b = collect(*c);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "tenant:2"}}), std::nullopt);
  EXPECT_EQ(value(b, "tocsin_queue_length", {{"system", "list"}, {"queue", "tenant:1"}}), 2);
}

// A Redis that stops answering (SIGSTOP) ends the cycle at its deadline with an error, never a hang;
// interrupt() from another thread unblocks it at once; the collector reads again once Redis resumes.
TEST_F(QueuesCollectorTest, AStalledRedisEndsTheCycleAtItsDeadline) {
  RedisServer stalled;
  stalled.cli({"SADD", "queues", "default"});
  config_.sidekiq.enabled = true;
  config_.endpoint = {stalled.host(), stalled.port(), ""};
  auto c = make();
  Batch b = collect(*c);
  ASSERT_EQ(value(b, "sidekiq_queue_enqueued_jobs", {{"name", "default"}}), 0);
  std::string info = stalled.cli({"INFO", "server"});
  const auto at = info.find("process_id:");
  ASSERT_NE(at, std::string::npos);
  const int pid = std::stoi(info.substr(at + 11));
  ::kill(pid, SIGSTOP);
  EXPECT_THROW(collect(*c, 300ms), CollectError);
  std::thread interrupter([&] {
    std::this_thread::sleep_for(100ms);
    c->interrupt();
  });
  EXPECT_THROW(collect(*c, 60s), CollectError);  // returns on interrupt(), long before its deadline
  interrupter.join();
  ::kill(pid, SIGCONT);
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          return value(collect(*c), "sidekiq_queue_enqueued_jobs", {{"name", "default"}}) == 0;
        } catch (const CollectError&) {
          return false;
        }
      },
      10s));
}

TEST_F(QueuesCollectorTest, UnreachableRedisIsACollectErrorWithoutThePassword) {
  config_.sidekiq.enabled = true;
  config_.endpoint = {"127.0.0.1", tocsin::testing::free_port(), ""};
  config_.password = yaml::Secret("hunter2");
  auto c = make();
  try {
    collect(*c);
    FAIL() << "expected a CollectError";
  } catch (const CollectError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot connect"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
  Batch down;
  c->describe_down(down);
  EXPECT_EQ(value(down, "tocsin_queue_up"), 0);
}

}  // namespace
}  // namespace tocsin::collectors
