// The Redis collector's pure parts: INFO, SLOWLOG, LATENCY and CONFIG replies captured from a real
// Redis 7.0 (tests/collectors/redis/data), malformed replies, the slow-log tracker, the metric names
// against redis_exporter's, and the config block's error texts.
#include "collectors/redis/parsers.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <set>
#include <sstream>

#include "collectors/redis/config.hpp"
#include "collectors/redis/info_metrics.hpp"
#include "collectors/redis/slowlog_tracker.hpp"
#include "fixtures/config.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::collectors::redis {
namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/collectors/redis/data/" + name, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

Reply resp(const std::string& name) {
  auto replies = parse_resp(data(name));
  EXPECT_EQ(replies.size(), 1u) << name;
  return replies.empty() ? Reply() : replies.front();
}

std::optional<double> value(const store::Batch& batch, const std::string& name,
                            std::vector<Label> labels = {}) {
  labels.push_back({std::string(kMetricNameLabel), name});
  Labels wanted = Labels::from_unsorted(std::move(labels));
  for (const auto& s : batch.samples()) {
    if (s.labels == wanted) return s.value;
  }
  return std::nullopt;
}

template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const ReplyError& e) {
    return e.what();
  }
  return "no error";
}

// --- INFO -----------------------------------------------------------------------------------------

TEST(RedisInfo, ParsesEveryFieldOfARealRedis7Reply) {
  Info info = parse_info(data("info_all_7.0.txt"));
  EXPECT_TRUE(info.problems.empty()) << info.problems.front();
  EXPECT_EQ(info.text("redis_version"), "7.0.15");
  EXPECT_EQ(info.text("role"), "master");
  EXPECT_EQ(info.number("maxclients"), 10000);
  EXPECT_EQ(info.number("keyspace_misses"), 1);
  EXPECT_EQ(info.text("mem_allocator"), "jemalloc-5.3.0");
  EXPECT_FALSE(info.number("mem_allocator"));  // text fields stay text
  for (const char* section : {"Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                              "Commandstats", "Errorstats", "Latencystats", "Keyspace"}) {
    EXPECT_NE(std::find(info.sections.begin(), info.sections.end(), section), info.sections.end()) << section;
  }
  // Keyspace: the keys the capture script made.
  ASSERT_EQ(info.keyspace.size(), 2u);
  EXPECT_EQ(info.keyspace[0].name, "db0");
  EXPECT_EQ(info.keyspace[0].keys, 7);
  EXPECT_EQ(info.keyspace[0].expires, 1);
  EXPECT_EQ(info.keyspace[1].name, "db2");
  EXPECT_EQ(info.keyspace[1].index, 2);
  // Commandstats with subcommands and the 6.2+ columns.
  auto command = [&](std::string_view name) -> const CommandStat* {
    for (const auto& c : info.commands) {
      if (c.command == name) return &c;
    }
    return nullptr;
  };
  ASSERT_NE(command("set"), nullptr);
  EXPECT_EQ(command("set")->calls, 5);
  ASSERT_NE(command("client|setname"), nullptr);
  EXPECT_EQ(command("get")->failed_calls, 1);  // GET on a list: WRONGTYPE
  EXPECT_EQ(command("debug")->calls, 3);
  ASSERT_FALSE(info.errors.empty());
  EXPECT_EQ(info.errors[0].error, "WRONGTYPE");
  ASSERT_FALSE(info.latency.empty());
  EXPECT_EQ(info.latency[0].quantiles.size(), 3u);
  EXPECT_EQ(info.latency[0].quantiles[2].first, "99.9");
}

TEST(RedisInfo, ToleratesOlderAndNewerVersionsAndSkipsUnreadableLines) {
  // Redis 6.0's commandstats (no rejected/failed calls), a field no Redis has yet, a broken line.
  Info info = parse_info(
      "# Server\r\nredis_version:6.0.16\r\nfuture_field:42\r\n\r\n# Stats\r\nthis line is broken\r\n"
      "keyspace_hits:7\r\n# Commandstats\r\ncmdstat_get:calls=21,usec=175,usec_per_call=8.33\r\n"
      "cmdstat_bad:calls=x\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n# Brand New "
      "Section\r\nx:1\r\n");
  EXPECT_EQ(info.number("future_field"), 42);
  EXPECT_EQ(info.number("keyspace_hits"), 7);
  EXPECT_EQ(info.number("x"), 1);
  ASSERT_EQ(info.commands.size(), 1u);
  EXPECT_FALSE(info.commands[0].rejected_calls);
  ASSERT_EQ(info.problems.size(), 2u);
  EXPECT_EQ(info.problems[0], "line 6: not a field:value line: \"this line is broken\"");
  EXPECT_EQ(info.problems[1], "line 10: expected calls=N,usec=N,...: \"cmdstat_bad:calls=x\"");

  store::Batch batch;
  add_info_metrics(info, {}, batch);
  EXPECT_EQ(value(batch, "redis_keyspace_hits_total"), 7);
  EXPECT_EQ(value(batch, "redis_commands_total", {{"cmd", "get"}}), 21);
  EXPECT_FALSE(value(batch, "redis_commands_rejected_calls_total", {{"cmd", "get"}}));
  // No CONFIG (and no maxclients in a 6.0 INFO): db0..db15 as the exporter assumes, no maxclients.
  EXPECT_EQ(value(batch, "redis_db_keys", {{"db", "db15"}}), 0);
  EXPECT_FALSE(value(batch, "redis_config_maxclients"));
}

TEST(RedisInfo, NotAnInfoReplyIsAClearError) {
  EXPECT_EQ(error_of([] { parse_info(""); }), "INFO: the reply holds no field:value line");
  EXPECT_EQ(error_of([] { parse_info("OK"); }), "INFO: the reply holds no field:value line");
  EXPECT_EQ(error_of([] { expect_string(Reply::make_integer(3), "INFO ALL"); }),
            "INFO ALL: expected a bulk string, got an integer");
}

TEST(RedisInfo, MetricsCarryTheExporterNamesAndValues) {
  Info info = parse_info(data("info_all_7.0.txt"));
  store::Batch batch;
  InfoMetricsOptions options;
  options.databases = 16;
  options.config_io_threads = 1;
  add_info_metrics(info, options, batch);
  EXPECT_EQ(value(batch, "redis_memory_used_bytes"), info.number("used_memory"));
  EXPECT_EQ(value(batch, "redis_memory_used_rss_bytes"), info.number("used_memory_rss"));
  EXPECT_EQ(value(batch, "redis_memory_max_bytes"), 0);
  EXPECT_EQ(value(batch, "redis_config_maxclients"), 10000);
  EXPECT_EQ(value(batch, "redis_config_io_threads"), 1);
  EXPECT_EQ(value(batch, "redis_keyspace_hits_total"), info.number("keyspace_hits"));
  EXPECT_EQ(value(batch, "redis_rdb_last_bgsave_status"), 1);  // "ok"
  EXPECT_EQ(value(batch, "redis_db_keys", {{"db", "db0"}}), 7);
  EXPECT_EQ(value(batch, "redis_db_keys_expiring", {{"db", "db0"}}), 1);
  EXPECT_EQ(value(batch, "redis_db_keys", {{"db", "db1"}}), 0);
  EXPECT_EQ(value(batch, "redis_db_keys", {{"db", "db2"}}), 1);
  EXPECT_EQ(value(batch, "redis_commands_total", {{"cmd", "set"}}), 5);
  EXPECT_EQ(value(batch, "redis_errors_total", {{"err", "WRONGTYPE"}}), 1);
  EXPECT_EQ(value(batch, "redis_latency_percentiles_usec_count", {{"cmd", "set"}}), 5);
  EXPECT_EQ(value(batch, "redis_cpu_user_main_thread_seconds_total"),
            info.number("used_cpu_user_main_thread"));
  EXPECT_EQ(value(batch, "redis_latest_fork_seconds"), 0);
  const double uptime = *info.number("uptime_in_seconds");
  EXPECT_EQ(value(batch, "redis_start_time_seconds"),
            static_cast<double>(static_cast<long long>(*info.number("server_time_usec") / 1e6 - uptime)));
  EXPECT_EQ(value(batch, "redis_instance_info",
                  {{"role", "master"},
                   {"redis_version", "7.0.15"},
                   {"redis_build_id", info.text("redis_build_id")},
                   {"redis_mode", "standalone"},
                   {"os", info.text("os")},
                   {"maxmemory_policy", "noeviction"},
                   {"tcp_port", info.text("tcp_port")},
                   {"run_id", info.text("run_id")},
                   {"process_id", info.text("process_id")}}),
            1);
}

// Every family redis_exporter 1.45 prints that comes from INFO, CONFIG, SLOWLOG or LATENCY has the same
// name and type in tocsin; the exporter's own self-metrics are not Redis's. The list is what the Debian
// package printed against Redis 7 under load (data/redis_exporter_1.45.families.txt: name type labels).
TEST(RedisInfo, FamiliesMatchRedisExporter) {
  std::istringstream in(data("redis_exporter_1.45.families.txt"));
  Info info = parse_info(data("info_all_7.0.txt"));
  store::Batch batch;
  InfoMetricsOptions options;
  options.databases = 16;
  options.config_io_threads = 1;
  add_info_metrics(info, options, batch);
  std::map<std::string, store::MetricType> ours;
  for (const auto& f : batch.families()) ours[f.name] = f.type;
  // Families the collector adds outside INFO (checked against a live server in the collector test).
  const std::set<std::string> elsewhere = {"redis_up",
                                           "redis_slowlog_length",
                                           "redis_slowlog_last_id",
                                           "redis_last_slow_execution_duration_seconds",
                                           "redis_latency_spike_last",
                                           "redis_latency_spike_duration_seconds"};
  const std::set<std::string> exporter_self = {"redis_exporter_build_info",
                                               "redis_exporter_last_scrape_connect_time_seconds",
                                               "redis_exporter_last_scrape_duration_seconds",
                                               "redis_exporter_last_scrape_error",
                                               "redis_exporter_scrape_duration_seconds",
                                               "redis_exporter_scrapes_total",
                                               "redis_target_scrape_request_errors_total",
                                               "redis_last_key_groups_scrape_duration_milliseconds"};
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, type;
    fields >> name >> type;
    if (exporter_self.contains(name) || elsewhere.contains(name)) continue;
    ASSERT_TRUE(ours.contains(name)) << name;
    EXPECT_EQ(store::to_string(ours[name]), type) << name;
  }
}

TEST(RedisInfo, ReplicaAndReplicationLines) {
  Info replica = parse_info(
      "# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:down\r\n"
      "master_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\nslave_repl_offset:1200\r\nslave_read_"
      "only:1\r\n");
  store::Batch batch;
  add_info_metrics(replica, {}, batch);
  std::vector<Label> master = {{"master_host", "10.0.0.1"}, {"master_port", "6379"}};
  EXPECT_EQ(value(batch, "redis_master_link_up", master), 0);
  EXPECT_EQ(value(batch, "redis_slave_repl_offset", master), 1200);
  EXPECT_EQ(value(batch, "redis_master_last_io_seconds_ago", master), -1);

  Info primary = parse_info(
      "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
      "slave0:ip=10.0.0.2,port=6380,state=online,offset=1751844676,lag=1\r\nmaster_repl_offset:"
      "1751844700\r\n");
  batch.clear();
  add_info_metrics(primary, {}, batch);
  std::vector<Label> r = {{"slave_ip", "10.0.0.2"}, {"slave_port", "6380"}, {"slave_state", "online"}};
  EXPECT_EQ(value(batch, "redis_connected_slave_lag_seconds", r), 1);
  EXPECT_EQ(value(batch, "redis_connected_slave_offset_bytes", r), 1751844676);
  EXPECT_EQ(value(batch, "redis_connected_slaves"), 1);
}

// --- SLOWLOG, LATENCY, CONFIG --------------------------------------------------------------------

TEST(RedisReplies, SlowlogGetOfARealServer) {
  auto entries = parse_slowlog_get(resp("slowlog_get.resp"));
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].id, 3);  // newest first
  EXPECT_EQ(entries[0].command(), "debug");
  EXPECT_EQ(entries[0].duration_us, 15121);
  EXPECT_EQ(entries[0].client_name, "checkout-worker");
  EXPECT_EQ(entries[0].client_addr, "127.0.0.1:41834");
  EXPECT_EQ(entries[1].command(), "eval");
  EXPECT_EQ(entries[3].id, 0);
  EXPECT_EQ(expect_integer(resp("slowlog_len.resp"), "SLOWLOG LEN"), 4);
}

TEST(RedisReplies, LatencyAndConfigOfARealServer) {
  auto events = parse_latency_latest(resp("latency_latest.resp"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "command");
  EXPECT_EQ(events[0].latest_ms, 15);
  EXPECT_EQ(events[0].max_ms, 31);
  auto config = parse_config_get(resp("config_get.resp"));
  EXPECT_EQ(config.at("databases"), "16");
  EXPECT_EQ(config.at("slowlog-log-slower-than"), "10000");
  EXPECT_EQ(config.size(), 6u);
}

TEST(RedisReplies, MalformedRepliesNameCommandEntryAndField) {
  using R = Reply;
  EXPECT_EQ(error_of([] { parse_slowlog_get(R::make_string("x")); }),
            "SLOWLOG GET: expected an array of entries, got a bulk string");
  EXPECT_EQ(error_of([] { parse_slowlog_get(R::make_array({R::make_array({R::make_integer(1)})})); }),
            "SLOWLOG GET: entry 0: expected an array of at least 4 fields, got an array of 1");
  EXPECT_EQ(error_of([] {
              parse_slowlog_get(R::make_array({R::make_array(
                  {R::make_string("1"), R::make_integer(2), R::make_integer(3), R::make_array({})})}));
            }),
            "SLOWLOG GET: entry 0: expected an integer id, got a bulk string");
  EXPECT_EQ(error_of([] { parse_slowlog_get(R::make_error("NOPERM this user has no permissions")); }),
            "SLOWLOG GET: expected an array of entries, got an error (NOPERM this user has no permissions)");
  EXPECT_EQ(error_of([] { parse_latency_latest(R::make_array({R::make_array({R::make_string("fork")})})); }),
            "LATENCY LATEST: event 0: expected [name, time, latest, max], got an array of 1");
  EXPECT_EQ(error_of([] { parse_config_get(R::make_array({R::make_string("maxclients")})); }),
            "CONFIG GET: expected an even number of elements, got an array of 1");
  EXPECT_EQ(error_of([] { parse_scan(R::make_array({R::make_string("0")})); }),
            "SCAN: expected [cursor, keys], got an array of 1");
  EXPECT_EQ(error_of([] { expect_integer(R::make_string("secret value"), "LLEN"); }),
            "LLEN: expected an integer, got a bulk string");  // never the string's content
  EXPECT_EQ(error_of([] { parse_resp("*2\r\n:1\r\n"); }),
            "RESP: the bytes end inside a reply (an array of 2 elements at byte 0, 4 bytes left)");
  EXPECT_EQ(error_of([] { parse_resp("$5\r\nab"); }), "RESP: the bytes end inside a reply");
  // Found by fuzz/redis_slowlog_fuzz.cpp: hiredis allocated 700 million elements (5.6 GB) for the inner
  // array before reading any; its count cannot fit in the bytes left, so it is refused first.
  EXPECT_EQ(error_of([] { parse_resp("*1\r\n*700000000\r\n:15\r\n*1\r\n$3\r\n\r\nTG$E0\r\nk\r\n"); }),
            "RESP: the bytes end inside a reply (an array of 700000000 elements at byte 4, 25 bytes left)");
  EXPECT_NE(error_of([] { parse_resp("hello\r\n"); }).find("RESP protocol error"), std::string::npos);
}

// --- the slow-log tracker ------------------------------------------------------------------------

std::vector<SlowlogEntry> log_of(std::initializer_list<std::int64_t> newest_first_ids) {
  std::vector<SlowlogEntry> out;
  for (auto id : newest_first_ids) out.push_back({id, 1700000000 + id, 20000, {"GET", "k"}, "", ""});
  return out;
}

std::vector<std::int64_t> ids(const SlowlogTracker::Update& u) {
  std::vector<std::int64_t> out;
  for (auto* e : u.fresh) out.push_back(e->id);
  return out;
}

TEST(SlowlogTracker, CountsEachEntryOnceAcrossResetRotationAndRestart) {
  SlowlogTracker t;
  std::deque<std::vector<SlowlogEntry>> logs;  // the update points into the entries it was given
  auto observe = [&](std::string_view run_id, std::vector<SlowlogEntry> entries) {
    logs.push_back(std::move(entries));
    return t.observe(run_id, logs.back());
  };
  auto u = observe("run-a", log_of({4, 3, 2}));
  EXPECT_TRUE(u.baseline);
  EXPECT_TRUE(ids(u).empty());  // history before tocsin looked is not counted

  u = observe("run-a", log_of({4, 3, 2}));
  EXPECT_TRUE(ids(u).empty());

  u = observe("run-a", log_of({6, 5, 4, 3}));
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{5, 6}));  // oldest first
  EXPECT_EQ(u.missed, 0u);

  // SLOWLOG RESET keeps the id counter: an emptied log, then new entries continue from 7.
  EXPECT_TRUE(ids(observe("run-a", {})).empty());
  u = observe("run-a", log_of({8, 7}));
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{7, 8}));

  // Entries 9..11 rotated out (or were reset) before they were read.
  u = observe("run-a", log_of({13, 12}));
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{12, 13}));
  EXPECT_EQ(u.missed, 3u);

  // A restart: ids begin again at 0, and every entry of the new server is new.
  u = observe("run-b", log_of({1, 0}));
  EXPECT_TRUE(u.restarted);
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(u.missed, 0u);
  EXPECT_TRUE(ids(observe("run-b", log_of({1, 0}))).empty());
}

// A new run_id whose uptime is longer than the time since the last look is another server (a
// failover, a moved address): its log is history, like the first look's.
TEST(SlowlogTracker, ANewRunIdUpSinceBeforeTheLastLookIsAnotherServerNotARestart) {
  SlowlogTracker t;
  std::deque<std::vector<SlowlogEntry>> logs;
  auto observe = [&](std::string_view run_id, std::vector<SlowlogEntry> entries, double uptime, double now) {
    logs.push_back(std::move(entries));
    return t.observe(run_id, logs.back(), {uptime, now});
  };
  observe("a", log_of({5, 4}), 100, 1000);
  EXPECT_FALSE(t.needs_longer_page("b", log_of({40, 39}), 2, 50, {3600, 1010}));
  auto u = observe("b", log_of({40, 39, 38}), 3600, 1010);
  EXPECT_TRUE(u.baseline);
  EXPECT_TRUE(u.other_server);
  EXPECT_FALSE(u.restarted);
  EXPECT_TRUE(ids(u).empty());
  EXPECT_EQ(u.missed, 0u);
  u = observe("b", log_of({41, 40, 39}), 3610, 1020);
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{41}));
  EXPECT_EQ(u.missed, 0u);

  // Up for less than the 10 s since the last look (whole seconds, so 11 still fits): a restart.
  u = observe("c", log_of({1, 0}), 11, 1030);
  EXPECT_TRUE(u.restarted);
  EXPECT_FALSE(u.baseline);
  EXPECT_EQ(ids(u), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(u.missed, 0u);
}

TEST(SlowlogTracker, WithoutRunIdAnIdGoingBackwardsIsARestart) {
  SlowlogTracker t;
  t.observe("", log_of({40}));
  const auto after_restart = log_of({2, 1, 0});  // the update points into these entries
  auto u = t.observe("", after_restart);
  EXPECT_TRUE(u.restarted);
  EXPECT_EQ(ids(u).size(), 3u);
}

TEST(SlowlogTracker, AskesForALongerPageOnlyWhenThePageMayNotReachBack) {
  SlowlogTracker t;
  t.observe("r", log_of({10}));
  EXPECT_FALSE(t.needs_longer_page("r", log_of({12, 11}), 2, 2));    // the whole log
  EXPECT_FALSE(t.needs_longer_page("r", log_of({12, 11}), 2, 50));   // reaches back to 11
  EXPECT_TRUE(t.needs_longer_page("r", log_of({14, 13}), 2, 50));    // 11, 12 may be further back
  EXPECT_FALSE(t.needs_longer_page("r", log_of({14}), 2, 50));       // not a full page
  EXPECT_TRUE(t.needs_longer_page("other", log_of({1, 0}), 2, 50));  // restarted: all are new
  SlowlogTracker empty_first;
  empty_first.observe("r", {});
  EXPECT_TRUE(empty_first.needs_longer_page("r", log_of({8, 7}), 2, 5));
}

// --- the config block ----------------------------------------------------------------------------

std::string errors_of(const std::string& redis_block) {
  auto result = config::parse_config("collectors:\n  redis:\n" + redis_block, "tocsin.yaml",
                                     [](const std::string& name) -> std::optional<std::string> {
                                       if (name == "REDIS_URL")
                                         return "redis://app:s3cr%40t@cache.internal:6380/2";
                                       return std::nullopt;
                                     });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) return d->to_string();
  return "";
}

config::RedisTargetConfig valid(const std::string& redis_block) {
  auto result = config::parse_config("collectors:\n  redis:\n" + redis_block, "tocsin.yaml",
                                     [](const std::string& name) -> std::optional<std::string> {
                                       if (name == "REDIS_URL")
                                         return "redis://app:s3cr%40t@cache.internal:6380/2";
                                       return std::nullopt;
                                     });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) {
    ADD_FAILURE() << d->to_string();
    return {};
  }
  return testing::instances<config::RedisTargetConfig>(std::get<config::Config>(result)).at(0);
}

TEST(RedisConfig, AddressesAndUrls) {
  auto c = valid("    - address: ${REDIS_URL}\n");
  EXPECT_EQ(c.endpoint.host, "cache.internal");
  EXPECT_EQ(c.endpoint.port, 6380);
  EXPECT_EQ(c.user, "app");
  EXPECT_EQ(c.password.reveal(), "s3cr@t");  // %-escapes decoded
  EXPECT_EQ(c.db, 2);
  EXPECT_EQ(c.address, "redis://app@cache.internal:6380/2");  // the password never stays in the address
  EXPECT_EQ(c.endpoint.to_string(), "cache.internal:6380");

  c = valid("    - address: unix:///run/redis/redis.sock\n      db: 3\n");
  EXPECT_EQ(c.endpoint.unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(c.endpoint.to_string(), "unix:/run/redis/redis.sock");
  EXPECT_EQ(c.db, 3);
  EXPECT_EQ(valid("    - address: /tmp/r.sock\n").endpoint.unix_socket, "/tmp/r.sock");
  EXPECT_EQ(valid("    - address: \"[::1]:7000\"\n").endpoint.to_string(), "[::1]:7000");
  EXPECT_EQ(valid("    - address: cache\n").endpoint.to_string(), "cache:6379");
  c = valid("    - address: \"redis://:only-pw@h\"\n");
  EXPECT_EQ(c.password.reveal(), "only-pw");
  EXPECT_EQ(c.address, "redis://h");
  EXPECT_TRUE(c.user.empty());
}

// The user info ends at the last '@': an unescaped '/', '?' or '#' in the password is the password's,
// and an error about the rest of the URL never quotes it.
TEST(RedisConfig, UnescapedSlashOrHashInAUrlPasswordIsNeverPrinted) {
  auto c = valid("    - address: \"redis://u:pa/ss@host:6379/1\"\n");
  EXPECT_EQ(c.user, "u");
  EXPECT_EQ(c.password.reveal(), "pa/ss");
  EXPECT_EQ(c.endpoint.to_string(), "host:6379");
  EXPECT_EQ(c.db, 1);
  EXPECT_EQ(c.address, "redis://u@host:6379/1");
  EXPECT_EQ(valid("    - address: \"redis://:p#w?x@h\"\n").password.reveal(), "p#w?x");

  EXPECT_EQ(errors_of("    - address: \"redis://u:pa/ss@host:63x9/0\"\n"),
            "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"redis://u@host:63x9/0\": "
            "invalid port "
            "\"63x9\"\n");
  std::string error = errors_of("    - address: \"redis://:p/w@h/zero\"\n");
  EXPECT_EQ(error.find("p/w"), std::string::npos) << error;
  EXPECT_NE(error.find("invalid address \"redis://h/zero\""), std::string::npos) << error;
  error = errors_of("    - address: \"redis://u:a/b@c@h:1/0?x=1\"\n");
  EXPECT_EQ(error.find("a/b@c"), std::string::npos) << error;
  EXPECT_NE(error.find("query parameters"), std::string::npos) << error;
}

TEST(RedisConfig, DefaultsAndNestedBlocks) {
  auto c = valid(
      "    - name: sessions\n      keys: [\"queue:default\", {key: jobs, db: 1}]\n      slowlog: {entries: "
      "5, "
      "show_arguments: true}\n      big_keys: {threshold: 512kb, budget: 2ms}\n      config_command: \"\"\n");
  EXPECT_EQ(c.common.name, "sessions");
  EXPECT_EQ(c.endpoint.to_string(), "127.0.0.1:6379");
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(c.keys[0].key, "queue:default");
  EXPECT_FALSE(c.keys[0].db);
  EXPECT_EQ(c.keys[1].db, 1);
  EXPECT_EQ(c.slowlog.entries, 5u);
  EXPECT_TRUE(c.slowlog.show_arguments);
  EXPECT_TRUE(c.big_keys.enabled);  // a big_keys block turns the scan on
  EXPECT_EQ(c.big_keys.threshold_bytes, 512u * 1024);
  EXPECT_EQ(c.big_keys.budget, std::chrono::milliseconds(2));
  EXPECT_TRUE(c.config_command.empty());
  EXPECT_FALSE(valid("    - big_keys: false\n      slowlog: false\n").slowlog.enabled);
  EXPECT_EQ(config::parse_byte_size("1mb"), 1048576u);
  EXPECT_EQ(config::parse_byte_size("1m"), 1000000u);
  EXPECT_EQ(config::parse_byte_size("4096"), 4096u);
  EXPECT_FALSE(config::parse_byte_size("1tb"));
}

TEST(RedisConfig, ErrorTextsNamePositionKeyAndCauseButNeverThePassword) {
  EXPECT_EQ(errors_of("    - address: \"rediss://u:hunter2@h:6380\"\n"),
            "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"rediss://u@h:6380\": rediss:// "
            "(TLS) is "
            "not supported: tocsin's Redis client (hiredis 0.14) is built without TLS; reach a TLS-only "
            "Redis through "
            "a local TLS tunnel (e.g. stunnel) and give its redis:// address\n");
  EXPECT_EQ(
      errors_of("    - address: \"h:63x9\"\n"),
      "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"h:63x9\": invalid port \"63x9\"\n");
  EXPECT_EQ(
      errors_of("    - address: \"::1\"\n"),
      "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"::1\": an IPv6 address must be in "
      "brackets, e.g. [::1]:6379\n");
  EXPECT_EQ(
      errors_of("    - address: \"redis://h/zero\"\n"),
      "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"redis://h/zero\": invalid database "
      "\"zero\" in the URL path (expected a number, e.g. /0)\n");
  EXPECT_EQ(errors_of("    - address: unix://relative.sock\n"),
            "tocsin.yaml:3:16: collectors.redis[0].address: invalid address \"unix://relative.sock\": a unix "
            "socket "
            "path must be absolute\n");
  std::string both = errors_of("    - address: \"redis://:pw1@h\"\n      password: pw2\n");
  EXPECT_EQ(
      both,
      "tocsin.yaml:4:17: collectors.redis[0].password: the address already holds a password; give it once\n");
  EXPECT_EQ(both.find("pw1"), std::string::npos);
  EXPECT_EQ(errors_of("    - user: app\n"),
            "tocsin.yaml:3:13: collectors.redis[0].user: an ACL user needs a password (password, "
            "password_file or in "
            "the address)\n");
  EXPECT_EQ(errors_of("    - db: -1\n      read_timeout: 0s\n      slowlog: {entries: 5000, colour: red}\n"
                      "      big_keys: {threshold: huge, samples: 0}\n      keys: [{db: 1}]\n"),
            "tocsin.yaml:3:11: collectors.redis[0].db: a database index cannot be negative\n"
            "tocsin.yaml:4:21: collectors.redis[0].read_timeout: must be positive\n"
            "tocsin.yaml:5:26: collectors.redis[0].slowlog.entries: must be at most 1000\n"
            "tocsin.yaml:5:32: collectors.redis[0].slowlog.colour: unknown key\n"
            "tocsin.yaml:6:29: collectors.redis[0].big_keys.threshold: invalid size \"huge\" (use bytes or a "
            "unit as in "
            "redis.conf: 1mb, 512kb, 1000000)\n"
            "tocsin.yaml:6:44: collectors.redis[0].big_keys.samples: must be at least 1 (SAMPLES 0 reads "
            "every element "
            "of a value: O(N) on Redis)\n"
            "tocsin.yaml:7:14: collectors.redis[0].keys[0].key: missing required key\n");
}

TEST(RedisConfig, BundledAndExampleConfigsDecode) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "REDIS_URL") return "redis://tocsin:pw@cache.internal:6379/0";
    return std::nullopt;
  };
  auto example = config::load_config(std::string(TOCSIN_SOURCE_DIR) + "/config/examples/redis.yaml", env);
  ASSERT_TRUE(std::holds_alternative<config::Config>(example))
      << std::get<yaml::Diagnostics>(example).to_string();
  const auto redis = testing::instances<config::RedisTargetConfig>(std::get<config::Config>(example));
  ASSERT_EQ(redis.size(), 1u);
  EXPECT_EQ(redis[0].endpoint.to_string(), "cache.internal:6379");
  EXPECT_EQ(redis[0].user, "tocsin");
  EXPECT_TRUE(redis[0].keys.empty());  // the example's keys are commented out: names of this site's choosing
  EXPECT_FALSE(redis[0].big_keys.enabled);

  auto bundled = config::load_config(std::string(TOCSIN_SOURCE_DIR) + "/config/tocsin.yaml", env);
  ASSERT_TRUE(std::holds_alternative<config::Config>(bundled))
      << std::get<yaml::Diagnostics>(bundled).to_string();
  ASSERT_FALSE(testing::instances<config::RedisTargetConfig>(std::get<config::Config>(bundled)).empty());
  EXPECT_EQ(testing::instances<config::RedisTargetConfig>(std::get<config::Config>(bundled))[0]
                .endpoint.to_string(),
            "127.0.0.1:6379");
}

}  // namespace
}  // namespace tocsin::collectors::redis
