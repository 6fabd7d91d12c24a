// The Redis collector against real Redis 7 servers started by the fixture: values asserted against
// what the server reports after known operations, the slow log counted once, auth, refused commands,
// outages, a server that stops answering, malformed replies and the budgeted big-key scan.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collectors/redis/parsers.hpp"
#include "collectors/redis/redis.hpp"
#include "fixtures/redis_server.hpp"
#include "tocsin/collectors/kind.hpp"
#include "tocsin/collectors/scheduler.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;
using store::Batch;
using tocsin::testing::RedisOptions;
using tocsin::testing::RedisServer;
using tocsin::testing::TempDir;
using tocsin::testing::wait_until;

// What the scheduler does with a cycle's batch: the instance's identity labels (here, `target`, the
// instance's name) on every series.
void collect_scheduled(Collector& c, const CollectContext& ctx, Batch& batch) {
  c.collect(ctx, batch);
  add_identity(batch, Labels{{"target", std::string(c.name())}});
}
void describe_down_scheduled(Collector& c, Batch& batch) {
  c.describe_down(batch);
  add_identity(batch, Labels{{"target", std::string(c.name())}});
}
// The value of a series, whose labels are given without the instance's `target` label (every series
// has one; the tests' instances are all named "redis").
std::optional<double> value(const Batch& batch, const std::string& name, std::vector<Label> labels = {}) {
  labels.push_back({std::string(kMetricNameLabel), name});
  labels.push_back({"target", "redis"});
  Labels wanted = Labels::from_unsorted(std::move(labels));
  for (const auto& s : batch.samples()) {
    if (s.labels == wanted) return s.value;
  }
  return std::nullopt;
}

// The sum of a family's series, whatever their labels.
double family_sum(const Batch& batch, std::string_view name) {
  double sum = 0;
  for (const auto& s : batch.samples()) {
    if (s.labels.metric_name() == name) sum += s.value;
  }
  return sum;
}

bool has_family(const Batch& batch, std::string_view name) {
  for (const auto& s : batch.samples()) {
    if (s.labels.metric_name() == name) return true;
  }
  return false;
}

// A field of the server's own INFO, read with redis-cli.
double info_number(const RedisServer& server, const std::string& field) {
  auto info = redis::parse_info(server.cli({"INFO", "ALL"}));
  auto v = info.number(field);
  EXPECT_TRUE(v) << field;
  return v.value_or(-1);
}

// As tocsin's main() does: hiredis writes with write(), and a write to a connection the server (or a
// deadline's interrupt) closed must fail with EPIPE, not end the test binary.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::string info_text(const RedisServer& server, const std::string& field) {
  return redis::parse_info(server.cli({"INFO", "ALL"})).text(field);
}

class RedisCollectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new RedisServer(RedisOptions{{"--enable-debug-command", "yes"}, ""});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    server_->cli({"FLUSHALL"});
    server_->cli({"CONFIG", "RESETSTAT"});
    server_->cli({"SLOWLOG", "RESET"});
    server_->cli({"LATENCY", "RESET"});
    server_->cli({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
    server_->cli({"CONFIG", "SET", "latency-monitor-threshold", "0"});
    config_.address = server_->address();
    config_.endpoint = {server_->host(), server_->port(), ""};
    config_.max_reconnect_backoff = 50ms;
  }

  std::unique_ptr<Collector> make() {
    return make_redis_collector(config_,
                                std::make_shared<spdlog::logger>(
                                    "redis", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_)));
  }

  static Batch collect(Collector& c, std::chrono::milliseconds budget = 5s) {
    Batch batch;
    collect_scheduled(c, {1'700'000'000'000, std::chrono::steady_clock::now() + budget}, batch);
    return batch;
  }

  static std::string collect_error(Collector& c, std::chrono::milliseconds budget = 5s) {
    try {
      collect(c, budget);
    } catch (const CollectError& e) {
      return e.what();
    }
    return "no error";
  }

  std::size_t log_count(const std::string& needle) const {
    std::string text = log_lines_.str();
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }

  static RedisServer* server_;
  config::RedisTargetConfig config_;
  std::ostringstream log_lines_;
};

RedisServer* RedisCollectorTest::server_ = nullptr;

TEST_F(RedisCollectorTest, InfoValuesMatchTheServerAfterKnownOperations) {
  auto c = make();
  server_->cli({"SET", "a", "1"});
  for (int i = 0; i < 3; ++i) server_->cli({"GET", "a"});
  for (int i = 0; i < 2; ++i) server_->cli({"GET", "missing"});
  server_->cli({"SETEX", "session:1", "300", "x"});
  server_->cli({"SETEX", "session:2", "300", "y"});
  server_->cli({"-n", "3", "SET", "other-db", "1"});
  Batch b = collect(*c);
  for (const auto& s : b.samples()) EXPECT_EQ(s.labels.get("target"), "redis") << s.labels.to_string();
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_EQ(value(b, "redis_keyspace_hits_total"), 3);
  EXPECT_EQ(value(b, "redis_keyspace_misses_total"), 2);
  EXPECT_EQ(value(b, "redis_db_keys", {{"db", "db0"}}), 3);
  EXPECT_EQ(value(b, "redis_db_keys_expiring", {{"db", "db0"}}), 2);
  EXPECT_EQ(value(b, "redis_db_keys", {{"db", "db3"}}), 1);
  EXPECT_EQ(value(b, "redis_db_keys", {{"db", "db15"}}), 0);  // CONFIG databases: 16
  EXPECT_EQ(value(b, "redis_commands_total", {{"cmd", "get"}}), 5);
  EXPECT_EQ(value(b, "redis_commands_total", {{"cmd", "setex"}}), 2);
  EXPECT_EQ(value(b, "redis_config_maxclients"), info_number(*server_, "maxclients"));
  EXPECT_EQ(value(b, "redis_config_io_threads"), 1);
  EXPECT_EQ(value(b, "redis_memory_max_bytes"), 0);
  EXPECT_GT(*value(b, "redis_memory_used_bytes"), 0);
  EXPECT_EQ(value(b, "redis_uptime_in_seconds").has_value(), true);
  EXPECT_EQ(value(b, "redis_instance_info",
                  {{"role", "master"},
                   {"redis_version", info_text(*server_, "redis_version")},
                   {"redis_build_id", info_text(*server_, "redis_build_id")},
                   {"redis_mode", "standalone"},
                   {"os", info_text(*server_, "os")},
                   {"maxmemory_policy", "noeviction"},
                   {"tcp_port", std::to_string(server_->port())},
                   {"run_id", info_text(*server_, "run_id")},
                   {"process_id", info_text(*server_, "process_id")}}),
            1);
  // One round trip per cycle once connected: INFO, CONFIG, SLOWLOG LEN/GET, LATENCY LATEST.
  nlohmann::json details = c->details();
  EXPECT_EQ(details["round_trips_last_cycle"], 2);  // + the connection's handshake
  EXPECT_EQ(details["commands_last_cycle"], 7);     // + CLIENT SETNAME and INFO server
  collect(*c);
  details = c->details();
  EXPECT_EQ(details["round_trips_last_cycle"], 1);
  EXPECT_EQ(details["commands_last_cycle"], 4);  // CONFIG is read once per config_refresh
  EXPECT_EQ(details["server"]["role"], "master");
}

TEST_F(RedisCollectorTest, MaxmemoryFilledAndEvictions) {
  auto c = make();
  server_->cli({"CONFIG", "SET", "maxmemory", "4mb"});
  server_->cli({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  const std::string value_100k(100'000, 'x');
  for (int i = 0; i < 80; ++i) server_->cli({"SET", "big:" + std::to_string(i), value_100k});
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "redis_memory_max_bytes"), 4 * 1024 * 1024);
  EXPECT_EQ(value(b, "redis_config_maxmemory"), 4 * 1024 * 1024);
  // One INFO snapshot: every key written is either still there or evicted. (Redis may evict again
  // after it, on any later command while over the limit.)
  EXPECT_GT(*value(b, "redis_evicted_keys_total"), 0);
  EXPECT_EQ(*value(b, "redis_evicted_keys_total") + *value(b, "redis_db_keys", {{"db", "db0"}}), 80);
  EXPECT_LE(*value(b, "redis_evicted_keys_total"), info_number(*server_, "evicted_keys"));
  EXPECT_LE(*value(b, "redis_memory_used_bytes"), 4.5 * 1024 * 1024);
  server_->cli({"CONFIG", "SET", "maxmemory", "0"});
  server_->cli({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
}

TEST_F(RedisCollectorTest, ClientLimitApproachedAndReached) {
  auto c = make();
  collect(*c);  // connected before the limit is reached
  server_->cli({"CONFIG", "SET", "maxclients", "8"});
  std::vector<int> sockets;
  for (int i = 0; i < 9; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    sockets.push_back(fd);
  }
  // 8 clients fit (the collector and 7 sockets); the other two are turned away.
  Batch b;
  ASSERT_TRUE(wait_until(
      [&] {
        b = collect(*c);
        return value(b, "redis_rejected_connections_total") == 2;
      },
      10s))
      << *value(b, "redis_rejected_connections_total");
  EXPECT_EQ(value(b, "redis_config_maxclients"), 8);
  EXPECT_EQ(value(b, "redis_connected_clients"), 8);
  for (int fd : sockets) ::close(fd);
  ASSERT_TRUE(wait_until([&] { return value(collect(*c), "redis_connected_clients") == 1; }, 10s));
  server_->cli({"CONFIG", "SET", "maxclients", "10000"});
}

TEST_F(RedisCollectorTest, SlowEntriesAreCountedOnceEachAcrossSlowlogReset) {
  auto c = make();
  server_->cli({"DEBUG", "SLEEP", "0.02"});  // before tocsin looked: history, not counted
  Batch b = collect(*c);
  const double first_id = *value(b, "redis_slowlog_last_id");  // ids run on across the suite's tests
  EXPECT_FALSE(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}));
  server_->cli({"DEBUG", "SLEEP", "0.02"});
  server_->cli({"DEBUG", "SLEEP", "0.03"});
  b = collect(*c);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);
  EXPECT_EQ(value(b, "redis_slowlog_length"), 3);
  EXPECT_EQ(value(b, "redis_slowlog_last_id"), first_id + 2);
  EXPECT_GE(*value(b, "redis_last_slow_execution_duration_seconds"), 0.03);
  EXPECT_EQ(value(b, "redis_slowlog_entry_duration_seconds_count"), 2);
  EXPECT_EQ(value(b, "redis_slowlog_entry_duration_seconds_bucket", {{"le", "0.01"}}), 0);
  EXPECT_EQ(value(b, "redis_slowlog_entry_duration_seconds_bucket", {{"le", "0.05"}}), 2);
  EXPECT_EQ(value(b, "redis_slowlog_entry_duration_seconds_bucket", {{"le", "+Inf"}}), 2);
  EXPECT_GE(*value(b, "redis_slowlog_entry_duration_seconds_sum"), 0.05);

  b = collect(*c);  // nothing new: nothing counted again
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);

  server_->cli({"SLOWLOG", "RESET"});
  // A Lua busy loop whose source holds what an argument may hold: personal data.
  server_->cli(
      {"EVAL", "local card = '4111-1111' local i = 0 while i < 20000000 do i = i + 1 end return i", "0"});
  b = collect(*c);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "eval"}}), 1);
  EXPECT_EQ(value(b, "redis_slowlog_length"), 1);
  EXPECT_EQ(value(b, "redis_slowlog_last_id"), first_id + 3);  // SLOWLOG RESET keeps numbering
  EXPECT_EQ(value(b, "redis_slowlog_entries_missed_total"), 0);

  // The API lists the newest entries with command names only: no arguments, no Lua source.
  nlohmann::json details = c->details();
  const auto& newest = details["slowlog"]["newest"];
  ASSERT_EQ(newest.size(), 4u);  // kept across SLOWLOG RESET
  EXPECT_EQ(newest[0]["command"], "eval");
  EXPECT_EQ(newest[0]["argument_count"], 2);
  EXPECT_EQ(newest[1]["command"], "debug");
  EXPECT_FALSE(newest[0].contains("arguments"));
  EXPECT_EQ(details.dump().find("4111-1111"), std::string::npos);
}

TEST_F(RedisCollectorTest, ABurstLongerThanThePageTakesOneMoreRoundTripAndCountsWhatRotatedOut) {
  server_->cli({"CONFIG", "SET", "slowlog-log-slower-than", "1000"});
  server_->cli({"CONFIG", "SET", "slowlog-max-len", "128"});
  config_.slowlog.max_fetch = 20;
  config_.slowlog.show_arguments = true;
  auto c = make();
  collect(*c);
  for (int i = 0; i < 15; ++i) server_->cli({"DEBUG", "SLEEP", "0.002"});
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 15);
  EXPECT_EQ(value(b, "redis_slowlog_entries_missed_total"), 0);
  EXPECT_EQ(c->details()["round_trips_last_cycle"], 2);  // page of 10, then up to max_fetch
  EXPECT_EQ(c->details()["slowlog"]["newest"][0]["arguments"], nlohmann::json::array({"SLEEP", "0.002"}));

  // At a 1 ms threshold a loaded machine can log another command too (the collector's own INFO): the
  // entries are counted by id, whatever their command.
  const double counted_before = family_sum(b, "redis_slowlog_entries_total");
  const double last_id_before = *value(b, "redis_slowlog_last_id");
  for (int i = 0; i < 25; ++i) server_->cli({"DEBUG", "SLEEP", "0.002"});
  b = collect(*c);
  const double logged = *value(b, "redis_slowlog_last_id") - last_id_before;
  ASSERT_GE(logged, 25);
  EXPECT_EQ(family_sum(b, "redis_slowlog_entries_total") - counted_before, 20);  // max_fetch read...
  EXPECT_EQ(value(b, "redis_slowlog_entries_missed_total"), logged - 20);        // ...the rest not
  EXPECT_GE(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}).value_or(0), 15 + 20 - (logged - 25));
  server_->cli({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
}

TEST_F(RedisCollectorTest, LatencySpikes) {
  server_->cli({"CONFIG", "SET", "latency-monitor-threshold", "10"});
  server_->cli({"DEBUG", "SLEEP", "0.03"});
  auto c = make();
  Batch b = collect(*c);
  auto duration = value(b, "redis_latency_spike_duration_seconds", {{"event_name", "command"}});
  ASSERT_TRUE(duration);
  EXPECT_GE(*duration, 0.03);
  EXPECT_GT(*value(b, "redis_latency_spike_last", {{"event_name", "command"}}), 1'600'000'000);
  EXPECT_EQ(c->details()["latency"][0]["event"], "command");
}

TEST_F(RedisCollectorTest, NamedKeySizesByTypeInAnyDb) {
  server_->cli({"RPUSH", "queue:default", "a", "b", "c"});
  server_->cli({"SADD", "tags", "x", "y"});
  server_->cli({"ZADD", "scores", "1", "a"});
  server_->cli({"HSET", "user:1", "name", "n", "email", "e", "plan", "p", "seen", "s"});
  server_->cli({"XADD", "events", "*", "k", "v"});
  server_->cli({"SET", "greeting", "hello"});
  server_->cli({"-n", "1", "RPUSH", "queue:low", "1", "2"});
  for (const char* key : {"queue:default", "tags", "scores", "user:1", "events", "greeting", "nothing"}) {
    config_.keys.push_back({key, std::nullopt});
  }
  config_.keys.push_back({"queue:low", 1});
  auto c = make();
  Batch b = collect(*c);
  auto size = [&](const Batch& batch, const std::string& key, const std::string& db = "db0") {
    return value(batch, "redis_key_size", {{"db", db}, {"key", key}});
  };
  EXPECT_EQ(size(b, "queue:default"), 3);
  EXPECT_EQ(size(b, "tags"), 2);
  EXPECT_EQ(size(b, "scores"), 1);
  EXPECT_EQ(size(b, "user:1"), 4);
  EXPECT_EQ(size(b, "events"), 1);
  EXPECT_EQ(size(b, "greeting"), 5);
  EXPECT_EQ(size(b, "nothing"), 0);
  EXPECT_EQ(size(b, "queue:low", "db1"), 2);

  // Types are remembered: one round trip; a key replaced by another type is typed again.
  server_->cli({"DEL", "queue:default"});
  server_->cli({"SET", "queue:default", "now a string"});
  server_->cli({"RPUSH", "nothing", "1"});
  b = collect(*c);
  EXPECT_FALSE(size(b, "queue:default"));  // WRONGTYPE this cycle
  EXPECT_EQ(size(b, "nothing"), 1);
  EXPECT_EQ(size(b, "queue:low", "db1"), 2);
  b = collect(*c);
  EXPECT_EQ(size(b, "queue:default"), 12);
  EXPECT_EQ(c->details()["round_trips_last_cycle"], 2);  // TYPE, then STRLEN
  b = collect(*c);
  EXPECT_EQ(size(b, "queue:default"), 12);
  EXPECT_EQ(c->details()["round_trips_last_cycle"], 1);
  // The connection stayed on the target's db.
  EXPECT_EQ(value(b, "redis_db_keys", {{"db", "db0"}}), 7);
}

// A SELECT that fails (a db out of range, a user without +select) must not let the keys of that db
// be read from whichever db the connection is on: they are left out, and that is reported once.
TEST_F(RedisCollectorTest, NamedKeysInADbThatCannotBeSelectedAreLeftOut) {
  server_->cli({"RPUSH", "q", "a", "b", "c"});
  server_->cli({"-n", "1", "RPUSH", "q", "1"});
  config_.keys.push_back({"q", std::nullopt});
  config_.keys.push_back({"q", 99});
  auto c = make();
  Batch b;
  for (int i = 0; i < 3; ++i) b = collect(*c);
  EXPECT_EQ(value(b, "redis_key_size", {{"db", "db0"}, {"key", "q"}}), 3);
  EXPECT_FALSE(value(b, "redis_key_size", {{"db", "db99"}, {"key", "q"}}));
  EXPECT_EQ(log_count("SELECT 99 failed (ERR DB index is out of range)"), 1u) << log_lines_.str();
  nlohmann::json keys = c->details()["keys"];
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1]["size"], nullptr);
  EXPECT_NE(keys[1]["error"].get<std::string>().find("SELECT 99 failed"), std::string::npos) << keys.dump();
  EXPECT_FALSE(keys[0].contains("error"));

  server_->cli({"ACL", "SETUSER", "noselect", "reset", "on", ">pw", "~*", "+info", "+client|setname", "+type",
                "+llen"});
  config_.keys = {{"q", 1}};
  config_.user = "noselect";
  config_.password = yaml::Secret("pw");
  auto narrow = make();
  for (int i = 0; i < 2; ++i) b = collect(*narrow);
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_FALSE(value(b, "redis_key_size", {{"db", "db1"}, {"key", "q"}}));  // not db0's 3
  EXPECT_EQ(log_count("SELECT 1 failed (NOPERM"), 1u) << log_lines_.str();
  server_->cli({"ACL", "DELUSER", "noselect"});
}

TEST_F(RedisCollectorTest, BigKeyScanSpreadsOverCyclesAndReportsNamesOnlyInTheApi) {
  server_->cli({"DEBUG", "POPULATE", "3000", "small", "10"});
  server_->cli({"SETRANGE", "blob:report", "1200000", "r"});
  server_->cli({"SETRANGE", "blob:cache", "2000000", "x"});
  config_.big_keys.enabled = true;
  config_.big_keys.scan_count = 10;
  config_.big_keys.budget = 1ms;
  auto c = make();
  Batch b = collect(*c);
  // 3002 keys at ~10 per round trip cannot be sized in 1 ms: the pass goes on next cycle. (The first
  // round trip only fetches a SCAN page, so on a slow machine nothing may be sized yet.)
  EXPECT_EQ(value(b, "redis_big_keys_scan_passes_total"), 0);
  EXPECT_LT(*value(b, "redis_big_keys_scanned_keys_total"), 3002);
  int cycles = 1;
  ASSERT_TRUE(wait_until(
      [&] {
        b = collect(*c);
        ++cycles;
        return value(b, "redis_big_keys_scan_passes_total") == 1;
      },
      60s));
  EXPECT_GT(cycles, 2);
  EXPECT_EQ(value(b, "redis_big_keys", {{"db", "db0"}}), 2);
  EXPECT_EQ(value(b, "redis_big_keys_threshold_bytes"), 1024 * 1024);
  EXPECT_GE(*value(b, "redis_big_keys_scanned_keys_total"), 3002);
  for (const auto& s : b.samples()) EXPECT_FALSE(s.labels.has("key")) << s.labels.to_string();
  nlohmann::json big = c->details()["big_keys"]["last_complete"];
  ASSERT_EQ(big["keys"].size(), 2u);
  EXPECT_EQ(big["keys"][0]["key"], "blob:cache");  // biggest first
  EXPECT_EQ(big["keys"][1]["key"], "blob:report");
  EXPECT_GE(big["keys"][1]["bytes"].get<double>(), 1'200'000);
}

// An empty db's SCAN is one empty last page: the pass completes there.
TEST_F(RedisCollectorTest, BigKeyScanOfAnEmptyDbCompletesEachCycle) {
  config_.big_keys.enabled = true;
  auto c = make();
  Batch b = collect(*c);
  EXPECT_EQ(value(b, "redis_big_keys_scan_passes_total"), 1);
  EXPECT_EQ(value(b, "redis_big_keys", {{"db", "db0"}}), 0);
  b = collect(*c);
  EXPECT_EQ(value(b, "redis_big_keys_scan_passes_total"), 2);
  EXPECT_TRUE(c->details()["big_keys"]["last_complete"]["keys"].empty());
}

// A FLUSHALL in the middle of a pass: SCAN's next page is the empty last one; the pass completes
// and the next one reports the db as it now is, not the deleted keys.
TEST_F(RedisCollectorTest, BigKeyScanCompletesWhenTheDbIsFlushedMidPass) {
  server_->cli({"DEBUG", "POPULATE", "3000", "small", "10"});
  server_->cli({"SETRANGE", "blob:report", "1200000", "r"});
  config_.big_keys.enabled = true;
  config_.big_keys.scan_count = 10;
  config_.big_keys.budget = 1ms;
  auto c = make();
  Batch b;
  ASSERT_TRUE(wait_until(
      [&] {
        b = collect(*c);
        return value(b, "redis_big_keys_scan_passes_total") == 1;
      },
      60s));
  EXPECT_EQ(value(b, "redis_big_keys", {{"db", "db0"}}), 1);
  b = collect(*c);  // the second pass has begun (3000 keys take more than one 1 ms budget)
  const double passes = *value(b, "redis_big_keys_scan_passes_total");
  server_->cli({"FLUSHALL"});
  // The pass under way completes, then one over the empty db.
  ASSERT_TRUE(wait_until(
      [&] {
        b = collect(*c);
        return value(b, "redis_big_keys_scan_passes_total") >= passes + 2;
      },
      10s))
      << c->details()["big_keys"].dump();
  EXPECT_EQ(value(b, "redis_big_keys", {{"db", "db0"}}), 0);
  EXPECT_TRUE(c->details()["big_keys"]["last_complete"]["keys"].empty());
}

TEST_F(RedisCollectorTest, AclUserWithTheDocumentedGrantsAndARestrictedOne) {
  // A latency event, so that its absence for the narrow user means the refusal, not an empty monitor.
  server_->cli({"CONFIG", "SET", "latency-monitor-threshold", "10"});
  server_->cli({"DEBUG", "SLEEP", "0.03"});
  server_->cli({"ACL", "SETUSER", "tocsin", "reset", "on", ">monitor-pw", "+info", "+slowlog", "+config|get",
                "+latency", "+client|setname", "+ping"});
  server_->cli(
      {"ACL", "SETUSER", "narrow", "reset", "on", ">narrow-pw", "+info", "+slowlog", "+client|setname"});
  config_.user = "tocsin";
  config_.password = yaml::Secret("monitor-pw");
  auto full = make();
  Batch b = collect(*full);
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_TRUE(value(b, "redis_config_io_threads"));
  EXPECT_TRUE(value(b, "redis_slowlog_length"));
  EXPECT_TRUE(has_family(b, "redis_latency_spike_last"));
  EXPECT_TRUE(full->details()["unavailable"].empty());

  config_.user = "narrow";
  config_.password = yaml::Secret("narrow-pw");
  auto narrow = make();
  for (int i = 0; i < 3; ++i) b = collect(*narrow);
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_FALSE(value(b, "redis_config_io_threads"));  // needs CONFIG
  EXPECT_TRUE(value(b, "redis_config_maxclients"));   // INFO has it since 7.0
  EXPECT_FALSE(has_family(b, "redis_latency_spike_last"));
  EXPECT_TRUE(value(b, "redis_slowlog_length"));
  EXPECT_EQ(log_count("CONFIG GET refused (NOPERM"), 1u) << log_lines_.str();  // once, not every cycle
  EXPECT_EQ(log_count("LATENCY LATEST refused (NOPERM"), 1u) << log_lines_.str();
  nlohmann::json unavailable = narrow->details()["unavailable"];
  EXPECT_TRUE(unavailable.contains("config"));
  EXPECT_TRUE(unavailable.contains("latency"));
  EXPECT_EQ(narrow->details()["commands_last_cycle"], 3);  // INFO, SLOWLOG LEN, SLOWLOG GET

  config_.password = yaml::Secret("not-the-password");
  auto wrong = make();
  std::string error = collect_error(*wrong);
  EXPECT_EQ(
      error,
      "redis redis (" + server_->address() +
          "): authentication as user narrow failed: WRONGPASS invalid username-password pair or user is "
          "disabled.");
  EXPECT_EQ(error.find("not-the-password"), std::string::npos);
  Batch down;
  describe_down_scheduled(*wrong, down);
  EXPECT_EQ(value(down, "redis_up"), 0);
  server_->cli({"ACL", "DELUSER", "tocsin", "narrow"});
}

TEST_F(RedisCollectorTest, ServerThatStopsAnsweringNeverHoldsTheCyclePastItsDeadline) {
  auto c = make();
  collect(*c);
  const int pid = static_cast<int>(info_number(*server_, "process_id"));
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  std::string error = collect_error(*c, 300ms);
  // Either the socket timeout (bounded by the deadline) or the reconnect's, never a hang.
  EXPECT_NE(error.find("no reply within"), std::string::npos) << error;

  // The scheduler's deadline calls interrupt(): the blocked read returns at once.
  config_.read_timeout = 60s;
  auto patient = make();
  ::kill(pid, SIGCONT);
  collect(*patient);
  ::kill(pid, SIGSTOP);
  std::thread watchdog([&] {
    std::this_thread::sleep_for(300ms);
    patient->interrupt();
  });
  error = collect_error(*patient, 60s);
  watchdog.join();
  ::kill(pid, SIGCONT);
  EXPECT_NE(error.find("interrupted at the cycle's deadline"), std::string::npos) << error;
  // Both recover on the next cycle.
  EXPECT_EQ(value(collect(*patient), "redis_up"), 1);
  EXPECT_EQ(value(collect(*c), "redis_up"), 1);
}

TEST_F(RedisCollectorTest, SlowAnswerFromDebugSleepHitsTheDeadline) {
  auto c = make();
  collect(*c);
  std::thread sleeper([] { server_->cli({"DEBUG", "SLEEP", "1.5"}); });
  std::this_thread::sleep_for(200ms);  // let DEBUG SLEEP start blocking the server
  std::string error = collect_error(*c, 300ms);
  sleeper.join();
  EXPECT_NE(error.find("no reply within"), std::string::npos) << error;
  EXPECT_EQ(value(collect(*c), "redis_up"), 1);
}

// --- servers of their own -------------------------------------------------------------------------

TEST(RedisCollectorServers, UnreachableBacksOffAndRestartRecoversWithSlowlogCountedOnce) {
  RedisServer server(RedisOptions{{"--enable-debug-command", "yes"}, ""});
  config::RedisTargetConfig config;
  config.endpoint = {server.host(), server.port(), ""};
  config.max_reconnect_backoff = 100ms;
  auto log = std::make_shared<spdlog::logger>("redis");
  auto c = make_redis_collector(config, log);
  auto collect = [&](Batch& b) {
    b.clear();
    collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 5s}, b);
  };
  Batch b;
  collect(b);
  server.cli({"DEBUG", "SLEEP", "0.02"});
  collect(b);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 1);

  server.stop();
  std::string error;
  try {
    collect(b);
  } catch (const CollectError& e) {
    error = e.what();
  }
  // The connection breaks, or the reconnect is refused.
  EXPECT_EQ(error.find("redis redis (" + server.address() + "): "), 0u) << error;
  try {
    collect(b);
  } catch (const CollectError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("cannot connect to " + server.address() + ": Connection refused"), std::string::npos)
      << error;
  Batch down;  // what the scheduler stores for a failed cycle
  describe_down_scheduled(*c, down);
  EXPECT_EQ(value(down, "redis_up"), 0);

  server.start();
  server.cli({"DEBUG", "SLEEP", "0.02"});  // the new server's slow log: new entries
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          collect(b);
          return true;
        } catch (const CollectError&) {
          return false;
        }
      },
      10s));
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);
  collect(b);
  EXPECT_EQ(value(b, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);
}

// Redis turns a connection over maxclients away with an error reply, then closes it: the error says
// so, not only that the read after it failed.
TEST(RedisCollectorServers, ConnectionTurnedAwayAtMaxclientsSaysWhy) {
  RedisServer server(RedisOptions{{"--maxclients", "2"}, ""});
  std::vector<int> sockets;
  for (int i = 0; i < 2; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(server.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    sockets.push_back(fd);
    // Accepted, not turned away: it answers PING.
    ASSERT_EQ(::write(fd, "PING\r\n", 6), 6);
    char buf[64] = {};
    ASSERT_GT(::read(fd, buf, sizeof buf - 1), 0);
    ASSERT_EQ(std::string(buf), "+PONG\r\n");
  }
  config::RedisTargetConfig config;
  config.endpoint = {server.host(), server.port(), ""};
  auto c = make_redis_collector(config, std::make_shared<spdlog::logger>("redis"));
  Batch b;
  std::string error;
  try {
    collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 5s}, b);
  } catch (const CollectError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("ERR max number of clients reached"), std::string::npos) << error;
  for (int fd : sockets) ::close(fd);
}

// The scheduler logs a collector's error when its text changes: during an outage the text stays the
// same cycle after cycle (the backoff's countdown is in the API, not in the error).
TEST(RedisCollectorServers, ErrorTextStaysTheSameWhileDown) {
  config::RedisTargetConfig config;
  config.endpoint = {"127.0.0.1", tocsin::testing::free_port(), ""};
  config.max_reconnect_backoff = 30s;
  auto c = make_redis_collector(config, std::make_shared<spdlog::logger>("redis"));
  auto error = [&] {
    Batch b;
    try {
      collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 5s}, b);
    } catch (const CollectError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string first = error();
  EXPECT_NE(first.find("Connection refused"), std::string::npos) << first;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(error(), first);  // within the backoff: not attempted, same text
  nlohmann::json details = c->details();
  EXPECT_EQ(details["connected"], false);
  EXPECT_EQ(details["last_error"], first.substr(first.find("): ") + 3));
  EXPECT_TRUE(details["next_attempt_in_seconds"].is_number()) << details.dump();
}

// The address leads to another, long-running server (a symlinked socket moved, as after a failover):
// its slow log is history, not a restart's new entries, and nothing is counted as missed.
TEST(RedisCollectorServers, SwitchingToAnotherLongRunningServerCountsNoneOfItsHistory) {
  TempDir dir("tocsin-redis-switch");
  const std::string b_socket = (dir / "b.sock").string();
  RedisServer b(RedisOptions{{"--enable-debug-command", "yes", "--unixsocket", b_socket}, ""});
  const std::string a_socket = (dir / "a.sock").string();
  RedisServer a(RedisOptions{{"--enable-debug-command", "yes", "--unixsocket", a_socket}, ""});
  const std::string link = (dir / "redis.sock").string();
  ASSERT_EQ(::symlink(a_socket.c_str(), link.c_str()), 0);
  for (int i = 0; i < 3; ++i) b.cli({"DEBUG", "SLEEP", "0.02"});  // b's history

  config::RedisTargetConfig config;
  config.endpoint = {"", 0, link};
  config.max_reconnect_backoff = 50ms;
  auto c = make_redis_collector(config, std::make_shared<spdlog::logger>("redis"));
  Batch batch;
  auto collect = [&] {
    batch.clear();
    collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 5s}, batch);
  };
  collect();
  a.cli({"DEBUG", "SLEEP", "0.02"});
  // b must have been up for clearly longer than the time between two looks.
  ASSERT_TRUE(wait_until([&] { return info_number(b, "uptime_in_seconds") >= 4; }, 10s));
  collect();
  EXPECT_EQ(value(batch, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 1);
  const std::string a_run_id = info_text(a, "run_id");

  ASSERT_EQ(::unlink(link.c_str()), 0);
  ASSERT_EQ(::symlink(b_socket.c_str(), link.c_str()), 0);
  a.cli({"CLIENT", "KILL", "TYPE", "normal"});  // the collector reconnects, through the link, to b
  ASSERT_TRUE(wait_until(
      [&] {
        try {
          collect();
        } catch (const CollectError&) {
          return false;
        }
        return c->details()["server"]["run_id"] != a_run_id;
      },
      10s));
  EXPECT_EQ(value(batch, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 1);
  EXPECT_EQ(value(batch, "redis_slowlog_entries_missed_total"), 0);
  b.cli({"DEBUG", "SLEEP", "0.02"});  // new on b: counted
  collect();
  EXPECT_EQ(value(batch, "redis_slowlog_entries_total", {{"cmd", "debug"}}), 2);
  EXPECT_EQ(value(batch, "redis_slowlog_entries_missed_total"), 0);
}

TEST(RedisCollectorServers, PasswordRenamedConfigAndUnixSocket) {
  TempDir dir("tocsin-redis-sock");
  const std::string socket = (dir / "redis.sock").string();
  RedisServer server(
      RedisOptions{{"--rename-command", "CONFIG", "MYCONFIG", "--unixsocket", socket}, "s3cret-pw"});
  std::ostringstream lines;
  auto log =
      std::make_shared<spdlog::logger>("redis", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  auto run = [&](const config::RedisTargetConfig& config, int cycles) {
    auto c = make_redis_collector(config, log);
    Batch b;
    for (int i = 0; i < cycles; ++i) {
      b.clear();
      collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 5s}, b);
    }
    return b;
  };
  config::RedisTargetConfig config;
  config.endpoint = {server.host(), server.port(), ""};

  // No password: the server says so, and the error says what to set.
  try {
    run(config, 1);
    ADD_FAILURE() << "no error";
  } catch (const CollectError& e) {
    EXPECT_EQ(std::string(e.what()),
              "redis redis (" + server.address() +
                  "): the server requires authentication (NOAUTH Authentication required.); "
                  "set password or password_file");
  }

  config.password = yaml::Secret("s3cret-pw");
  Batch b = run(config, 2);  // CONFIG is renamed: left out, reported once
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_FALSE(value(b, "redis_config_io_threads"));
  EXPECT_EQ(value(b, "redis_db_keys", {{"db", "db15"}}), 0);  // 16 dbs assumed, as the exporter does
  std::string text = lines.str();
  EXPECT_NE(text.find("CONFIG GET refused (ERR unknown command 'CONFIG'"), std::string::npos) << text;

  config.config_command = "MYCONFIG";
  config.endpoint = {"", 0, socket};
  b = run(config, 1);
  EXPECT_EQ(value(b, "redis_up"), 1);
  EXPECT_EQ(value(b, "redis_config_io_threads"), 1);
}

TEST(RedisCollectorServers, ReplicationFromBothSides) {
  RedisServer primary(RedisOptions{{"--repl-diskless-sync-delay", "0"}, ""});
  RedisServer replica(RedisOptions{{"--replicaof", primary.host(), std::to_string(primary.port())}, ""});
  ASSERT_TRUE(wait_until([&] { return info_text(replica, "master_link_status") == "up"; }, 20s));
  // The primary calls the replica online only once it has acknowledged the end of the sync, a moment
  // after the replica calls its link up.
  ASSERT_TRUE(wait_until(
      [&] {
        return primary.cli({"INFO", "replication"}).find("state=online") != std::string::npos;
      },
      20s));
  auto log = std::make_shared<spdlog::logger>("redis");
  config::RedisTargetConfig config;
  config.endpoint = {replica.host(), replica.port(), ""};
  auto on_replica = make_redis_collector(config, log);
  Batch b;
  collect_scheduled(*on_replica, {0, std::chrono::steady_clock::now() + 5s}, b);
  std::vector<Label> master = {{"master_host", primary.host()},
                               {"master_port", std::to_string(primary.port())}};
  EXPECT_EQ(value(b, "redis_master_link_up", master), 1);
  EXPECT_TRUE(value(b, "redis_slave_repl_offset", master));
  EXPECT_EQ(value(b, "redis_slave_info", {master[0], master[1], {"read_only", "1"}}), 1);

  config.endpoint = {primary.host(), primary.port(), ""};
  auto on_primary = make_redis_collector(config, log);
  b.clear();
  collect_scheduled(*on_primary, {0, std::chrono::steady_clock::now() + 5s}, b);
  EXPECT_EQ(value(b, "redis_connected_slaves"), 1);
  bool lag = false;
  for (const auto& s : b.samples()) {
    if (s.labels.metric_name() == "redis_connected_slave_lag_seconds") {
      lag = true;
      EXPECT_EQ(s.labels.get("slave_state"), "online");
      EXPECT_EQ(s.labels.get("slave_port"), std::to_string(replica.port()));
    }
  }
  EXPECT_TRUE(lag);
}

// Under the scheduler: a Redis that stops answering misses its deadlines (counted, reported down,
// interrupted) while another Redis instance goes on being collected on time; then it recovers.
TEST(RedisCollectorServers, AStalledRedisNeverStallsAnotherUnderTheScheduler) {
  RedisServer stalled_server;
  RedisServer healthy_server;
  SystemClock clock;
  store::Store store{store::StoreOptions{std::chrono::hours(1)}, clock};
  prometheus::Registry registry;
  std::ostringstream log_text;
  auto log =
      std::make_shared<spdlog::logger>("redis", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text));
  boost::asio::io_context io;
  boost::asio::thread_pool pool{4};
  Scheduler scheduler{io, pool, store, clock, registry, log};
  std::thread io_thread;

  // Built as the daemon builds them: through the kind, with the instances' identity labels.
  auto make = [&](const std::string& name, const RedisServer& server) {
    auto config = std::make_shared<config::RedisTargetConfig>();
    config->common.name = name;
    config->common.timeout = 300ms;
    config->endpoint = {server.host(), server.port(), ""};
    config->max_reconnect_backoff = 100ms;
    return make_spec(Instance{&redis_kind(), config}, 100ms, log);
  };
  std::vector<CollectorSpec> specs;
  specs.push_back(make("stalled", stalled_server));
  specs.push_back(make("healthy", healthy_server));
  const int pid = static_cast<int>(info_number(stalled_server, "process_id"));
  auto latest = [&](const std::string& name, const std::string& target) {
    std::vector<store::Matcher> m{store::Matcher(MatchType::equal, "__name__", name),
                                  store::Matcher(MatchType::equal, "target", target)};
    auto set = store.select(m, 0, std::numeric_limits<Timestamp>::max());
    return set.empty() ? -1.0 : set.points(0).back().v;
  };
  auto metrics = [&] {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    return out.str();
  };
  auto processed = [&] { return latest("redis_commands_processed_total", "healthy"); };

  auto work = boost::asio::make_work_guard(io);  // io.run() must not return before replace() is posted
  io_thread = std::thread([&] { io.run(); });
  std::promise<void> started;
  boost::asio::post(io, [&] {
    scheduler.replace(std::move(specs));
    started.set_value();
  });
  started.get_future().wait();
  ASSERT_TRUE(wait_until(
      [&] { return latest("redis_up", "stalled") == 1 && latest("redis_up", "healthy") == 1; }, 10s));

  ::kill(pid, SIGSTOP);
  ASSERT_TRUE(wait_until([&] { return latest("redis_up", "stalled") == 0; }, 10s));
  const double before = processed();
  ASSERT_TRUE(wait_until(
      [&] {
        return metrics().find(
                   "tocsin_collector_deadline_misses_total{collector=\"redis\","
                   "target=\"stalled\"} 2") != std::string::npos;
      },
      10s))
      << metrics();
  // Meanwhile the healthy instance kept its interval: its INFO counters moved on, and it is up.
  EXPECT_GT(processed(), before);
  EXPECT_EQ(latest("redis_up", "healthy"), 1);
  EXPECT_NE(metrics().find("tocsin_collector_up{collector=\"redis\",target=\"healthy\"} 1"),
            std::string::npos);

  ::kill(pid, SIGCONT);
  ASSERT_TRUE(wait_until([&] { return latest("redis_up", "stalled") == 1; }, 10s));
  EXPECT_NE(log_text.str().find("redis collector stalled: down: deadline of 300ms exceeded"),
            std::string::npos)
      << log_text.str();
  scheduler.stop();
  io.stop();
  io_thread.join();
  pool.join();
}

// A "server" that answers with something that is not what Redis would say.
class FakeServer {
 public:
  explicit FakeServer(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 4);
    thread_ = std::thread([this] {
      for (;;) {
        int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buf[4096];
        if (::read(client, buf, sizeof buf) > 0) {
          [[maybe_unused]] auto n = ::write(client, answer_.data(), answer_.size());
        }
        std::this_thread::sleep_for(50ms);
        ::close(client);
      }
    });
  }
  ~FakeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string answer_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(RedisCollectorServers, MalformedRepliesAreClearErrors) {
  auto log = std::make_shared<spdlog::logger>("redis");
  auto error_from = [&](const std::string& answer) {
    FakeServer fake(answer);
    config::RedisTargetConfig config;
    config.endpoint = {"127.0.0.1", fake.port(), ""};
    auto c = make_redis_collector(config, log);
    Batch b;
    try {
      collect_scheduled(*c, {0, std::chrono::steady_clock::now() + 2s}, b);
    } catch (const CollectError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Not RESP at all (an HTTP server on the port, say).
  EXPECT_NE(error_from("HTTP/1.1 400 Bad Request\r\n\r\n").find("malformed reply (not RESP): Protocol error"),
            std::string::npos);
  // RESP, but not what INFO returns.
  std::string error = error_from("+OK\r\n+OK\r\n");
  EXPECT_NE(error.find("INFO: the reply holds no field:value line"), std::string::npos) << error;
  error = error_from("+OK\r\n:42\r\n");
  EXPECT_NE(error.find("INFO server: expected a bulk string, got an integer"), std::string::npos) << error;
}

}  // namespace
}  // namespace tocsin::collectors
