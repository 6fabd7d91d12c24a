// The queues collector's pure layer on payloads as the job systems write them (Sidekiq 6.4's client output,
// Sidekiq 8's millisecond layout, RQ's timestamps, kombu's binding members, XINFO GROUPS replies as
// Redis 7 sends them), and its config block's errors.
#include "collectors/queues/parsers.hpp"

#include <gtest/gtest.h>

#include "collectors/queues/config.hpp"
#include "fixtures/config.hpp"

namespace tocsin::collectors::queues {
namespace {

using R = Reply;

TEST(QueuesParsers, SidekiqJobTimesInSecondsAndMilliseconds) {
  // As Sidekiq 6.4.1's client writes a job (captured from Sidekiq::Client.push).
  auto t = sidekiq_job_time(
      R"({"retry":true,"queue":"mailers","class":"HardJob","args":[1],"jid":"a9aac45372a1d9952733a629",)"
      R"("created_at":1796149139.4494343,"enqueued_at":1796149139.4496765})",
      1 << 20);
  EXPECT_EQ(t.problem, Problem::none);
  EXPECT_DOUBLE_EQ(t.enqueued_at, 1796149139.4496765);
  // Sidekiq 8: integer milliseconds.
  t = sidekiq_job_time(R"({"queue":"q","created_at":1735689600000,"enqueued_at":1735689601500})", 1 << 20);
  EXPECT_EQ(t.problem, Problem::none);
  EXPECT_DOUBLE_EQ(t.enqueued_at, 1735689601.5);
  // No enqueued_at (a job pushed by a scheduler before enqueue): created_at.
  t = sidekiq_job_time(R"({"queue":"q","created_at":1735689600.25})", 1 << 20);
  EXPECT_DOUBLE_EQ(t.enqueued_at, 1735689600.25);
  EXPECT_EQ(sidekiq_job_time("not json", 1 << 20).problem, Problem::malformed_json);
  EXPECT_EQ(sidekiq_job_time("[1,2]", 1 << 20).problem, Problem::malformed_json);
  EXPECT_EQ(sidekiq_job_time(R"({"enqueued_at":"soon"})", 1 << 20).problem, Problem::no_timestamp);
  EXPECT_EQ(sidekiq_job_time(R"({"enqueued_at":-5})", 1 << 20).problem, Problem::no_timestamp);
  EXPECT_EQ(sidekiq_job_time(std::string(300, ' ') + "{}", 256).problem, Problem::too_large);
}

TEST(QueuesParsers, RetrySampleDepthAndOldestFailure) {
  std::vector<std::string> jobs;
  for (int i = 0; i < 20; ++i) {
    jobs.push_back(R"({"retry_count":)" + std::to_string(i) + R"(,"failed_at":)" +
                   std::to_string(1700000000 + i) + "}");
  }
  jobs.push_back("{broken");
  auto s = sidekiq_retry_sample(jobs, 1 << 20);
  EXPECT_EQ(s.sampled, 20u);
  EXPECT_EQ(s.malformed, 1u);
  EXPECT_EQ(s.too_large, 0u);
  EXPECT_EQ(sidekiq_retry_sample({std::string(100, ' ')}, 10).too_large, 1u);
  EXPECT_EQ(s.max_retry_count, 19);
  EXPECT_EQ(s.p95_retry_count, 18);  // nearest rank: the 19th of 20
  ASSERT_TRUE(s.oldest_failed_at);
  EXPECT_EQ(*s.oldest_failed_at, 1700000000);
  std::vector<double> none;
  EXPECT_EQ(nearest_rank(none, 0.95), 0);
}

TEST(QueuesParsers, SidekiqProcessHashAndWork) {
  // HMGET <identity> info busy beat quiet rss, as Sidekiq 6.4.1's heartbeat writes the hash.
  auto p = sidekiq_process(
      R::make_array(
          {R::make_string(R"({"hostname":"w1","started_at":1.7e9,"pid":42,"tag":"","concurrency":5,)"
                          R"("queues":["default","mailers,2"],"labels":[],"identity":"w1:42:abc"})"),
           R::make_string("2"), R::make_string("1700000000.5"), R::make_string("false"),
           R::make_string("1024")}),
      1 << 20);
  EXPECT_TRUE(p.exists);
  EXPECT_EQ(p.problem, Problem::none);
  EXPECT_EQ(p.hostname, "w1");
  EXPECT_EQ(p.concurrency, 5);
  EXPECT_EQ(p.busy, 2);
  EXPECT_EQ(*p.beat, 1700000000.5);
  EXPECT_FALSE(p.quiet);
  EXPECT_EQ(p.rss_bytes, 1024 * 1024);
  EXPECT_EQ(p.queues, (std::vector<std::string>{"default", "mailers"}));
  auto gone = sidekiq_process(R::make_array({R{}, R{}, R{}, R{}, R{}}), 1 << 20);
  EXPECT_FALSE(gone.exists);
  auto bad =
      sidekiq_process(R::make_array({R::make_string("{"), R{}, R::make_string("x"), R{}, R{}}), 1 << 20);
  EXPECT_EQ(bad.problem, Problem::malformed_process);
  EXPECT_EQ(sidekiq_process(R::make_string("x"), 1 << 20).problem, Problem::bad_reply);

  // Sidekiq 6.4 (payload a JSON string, run_at seconds) and Sidekiq 8 (run_at milliseconds).
  auto w = sidekiq_work(R"({"queue":"default","payload":"{\"class\":\"X\"}","run_at":1700000000})", 1 << 20);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->queue, "default");
  EXPECT_EQ(w->run_at, 1700000000);
  w = sidekiq_work(R"({"queue":"q","payload":{"class":"X"},"run_at":1700000000123})", 1 << 20);
  ASSERT_TRUE(w);
  EXPECT_DOUBLE_EQ(w->run_at, 1700000000.123);
  EXPECT_FALSE(sidekiq_work(R"({"payload":"{}"})", 1 << 20));
}

TEST(QueuesParsers, RqTimesCeleryBindingsAndListFields) {
  EXPECT_DOUBLE_EQ(*parse_iso8601_utc("2024-05-01T12:00:00.250000Z"), 1714564800.25);
  EXPECT_DOUBLE_EQ(*parse_iso8601_utc("1970-01-02 00:00:00"), 86400);
  EXPECT_FALSE(parse_iso8601_utc("2024-05-01T12:00:00+02:00"));
  EXPECT_FALSE(parse_iso8601_utc("yesterday"));
  EXPECT_EQ(*celery_binding_queue(std::string("celery\x06\x16\x06\x16") + "celery"), "celery");
  EXPECT_EQ(*celery_binding_queue(std::string("rk\x06\x16pat\x06\x16") + "hipri"), "hipri");
  EXPECT_FALSE(celery_binding_queue("plain"));
  EXPECT_EQ(celery_priority_list("hipri", 6), std::string("hipri\x06\x16") + "6");
  auto t = json_field_time(R"({"ts":1700000000000})", "ts", TimeUnit::automatic, 1 << 20);
  EXPECT_DOUBLE_EQ(t.enqueued_at, 1700000000);
  t = json_field_time(R"({"ts":"2024-05-01T12:00:00Z"})", "ts", TimeUnit::automatic, 1 << 20);
  EXPECT_DOUBLE_EQ(t.enqueued_at, 1714564800);
  EXPECT_EQ(json_field_time(R"({"other":1})", "ts", TimeUnit::seconds, 1 << 20).problem,
            Problem::no_timestamp);
}

TEST(QueuesParsers, StreamGroupsAndPending) {
  // XINFO GROUPS on Redis 7.0.
  auto groups = stream_groups(R::make_array({R::make_array(
      {R::make_string("name"), R::make_string("workers"), R::make_string("consumers"), R::make_integer(2),
       R::make_string("pending"), R::make_integer(3), R::make_string("last-delivered-id"),
       R::make_string("5-0"), R::make_string("entries-read"), R::make_integer(5), R::make_string("lag"),
       R::make_integer(7)})}));
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].name, "workers");
  EXPECT_EQ((*groups)[0].consumers, 2);
  EXPECT_EQ((*groups)[0].pending, 3);
  EXPECT_EQ(*(*groups)[0].lag, 7);
  EXPECT_FALSE(stream_groups(R::make_array({R::make_array({R::make_string("name")})})));
  auto idle = stream_oldest_pending_idle(R::make_array({R::make_array(
      {R::make_string("1-0"), R::make_string("c1"), R::make_integer(12500), R::make_integer(1)})}));
  EXPECT_DOUBLE_EQ(*idle, 12.5);
  EXPECT_FALSE(stream_oldest_pending_idle(R::make_array({})));
}

// --- the config block ----------------------------------------------------------------------------

std::string errors_of(const std::string& block) {
  return tocsin::testing::config_errors(
      "collectors:\n  queues:\n" + block, "tocsin.yaml",
      tocsin::testing::env({{"REDIS_URL", "redis://:pw@jobs.internal:6380/3"}}));
}

TEST(QueuesConfig, AddressFromRedisUrlAndSystems) {
  auto result = config::parse_config(
      "collectors:\n  queues:\n    - address: ${REDIS_URL}\n      sidekiq: {namespace: app}\n      rq: true\n"
      "      lists: [jobs, {pattern: 'q:*', timestamp_field: ts}]\n      streams: [events]\n",
      "tocsin.yaml", tocsin::testing::env({{"REDIS_URL", "redis://:pw@jobs.internal:6380/3"}}));
  ASSERT_TRUE(std::holds_alternative<config::Config>(result))
      << std::get<yaml::Diagnostics>(result).to_string();
  auto c = tocsin::testing::instances<config::QueuesTargetConfig>(std::get<config::Config>(result)).at(0);
  EXPECT_EQ(c.endpoint.to_string(), "jobs.internal:6380");
  EXPECT_EQ(c.password.reveal(), "pw");
  EXPECT_EQ(c.db, 3);
  EXPECT_EQ(c.address.find("pw"), std::string::npos);
  EXPECT_TRUE(c.sidekiq.enabled);
  EXPECT_EQ(c.sidekiq.key_prefix, "app:");
  EXPECT_TRUE(c.rq.enabled);
  EXPECT_FALSE(c.celery.enabled);
  ASSERT_EQ(c.lists.size(), 2u);
  EXPECT_EQ(c.lists[1].pattern, "q:*");
  EXPECT_EQ(c.streams.at(0).key, "events");
}

TEST(QueuesConfig, EveryErrorAtItsPosition) {
  EXPECT_EQ(
      errors_of("    - address: 127.0.0.1:6379\n"),
      "tocsin.yaml:3:7: collectors.queues[0]: nothing to read: give at least one of sidekiq, celery, rq, "
      "lists or streams\n");
  const std::string errors = errors_of(
      "    - address: \"redis://:secret@h:99999\"\n      max_queues: 0\n      max_job_bytes: 12q\n"
      "      sidekiq: {namespace: 'a b', retry_sample: -1, bogus: 1}\n      celery: maybe\n"
      "      lists: [{key: a, pattern: b}, {pattern: c, oldest: middle}]\n");
  EXPECT_EQ(errors.find("secret"), std::string::npos) << errors;
  EXPECT_NE(
      errors.find("tocsin.yaml:3:16: collectors.queues[0].address: invalid address: invalid port \"99999\""),
      std::string::npos)
      << errors;
  EXPECT_NE(errors.find("max_queues: must be between 1 and 100000"), std::string::npos) << errors;
  EXPECT_NE(errors.find("max_job_bytes: invalid size \"12q\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("sidekiq.namespace: a namespace must be a non-empty name"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("sidekiq.bogus"), std::string::npos) << errors;
  EXPECT_NE(errors.find("retry_sample"), std::string::npos) << errors;
  EXPECT_NE(errors.find("celery: expected true, false or a block of settings"), std::string::npos) << errors;
  EXPECT_NE(errors.find("lists[0]: a list needs exactly one of key (a name) or pattern"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("lists[1].oldest: oldest is head"), std::string::npos) << errors;
}

TEST(QueuesConfig, ExampleSidekiqConfigDecodes) {
  auto example = config::load_config(std::string(TOCSIN_SOURCE_DIR) + "/config/examples/sidekiq.yaml",
                                     tocsin::testing::env({{"REDIS_URL", "redis://10.0.0.5:6379/2"}}));
  ASSERT_TRUE(std::holds_alternative<config::Config>(example))
      << std::get<yaml::Diagnostics>(example).to_string();
  auto q = tocsin::testing::instances<config::QueuesTargetConfig>(std::get<config::Config>(example));
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].endpoint.to_string(), "10.0.0.5:6379");
  EXPECT_EQ(q[0].db, 2);
  EXPECT_TRUE(q[0].sidekiq.enabled);
  EXPECT_EQ(q[0].sidekiq.key_prefix, "");
}

}  // namespace
}  // namespace tocsin::collectors::queues
