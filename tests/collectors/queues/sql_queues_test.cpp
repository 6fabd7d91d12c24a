// config/examples/sql-queues.yaml's presets, run by the real postgres collector against a real PostgreSQL
// (the fixture) holding each system's table layout as its migrations create it, with jobs in every state.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include "collectors/postgres/postgres.hpp"
#include "fixtures/config.hpp"
#include "fixtures/postgres_server.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;

std::optional<double> value(const store::Batch& batch, const std::string& name, std::vector<Label> labels) {
  labels.push_back({std::string(kMetricNameLabel), name});
  Labels wanted = Labels::from_unsorted(std::move(labels));
  for (const auto& s : batch.samples()) {
    if (s.labels == wanted) return s.value;
  }
  return std::nullopt;
}

// The layouts, as each system's migrations create them (columns the presets do not read included).
constexpr const char* kSchema = R"sql(
CREATE TABLE good_jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), queue_name text, priority integer, serialized_params jsonb,
  scheduled_at timestamp, performed_at timestamp, finished_at timestamp, error text,
  created_at timestamp NOT NULL, updated_at timestamp NOT NULL, active_job_id uuid, concurrency_key text,
  cron_key text, retried_good_job_id uuid, cron_at timestamp, batch_id uuid, batch_callback_id uuid,
  is_discrete boolean, executions_count integer, job_class text, error_event smallint, labels text[],
  locked_by_id uuid, locked_at timestamp);
CREATE TABLE que_jobs (
  priority smallint DEFAULT 100 NOT NULL, run_at timestamptz DEFAULT now() NOT NULL, id bigserial PRIMARY KEY,
  job_class text NOT NULL, error_count integer DEFAULT 0 NOT NULL, last_error_message text,
  queue text DEFAULT 'default' NOT NULL, last_error_backtrace text, finished_at timestamptz,
  expired_at timestamptz, args jsonb DEFAULT '[]' NOT NULL, data jsonb DEFAULT '{}' NOT NULL,
  job_schema_version integer DEFAULT 1, kwargs jsonb DEFAULT '{}' NOT NULL);
CREATE TABLE solid_queue_jobs (
  id bigserial PRIMARY KEY, queue_name varchar NOT NULL, class_name varchar NOT NULL, arguments text,
  priority integer DEFAULT 0 NOT NULL, active_job_id varchar, scheduled_at timestamp(6), finished_at timestamp(6),
  concurrency_key varchar, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL);
CREATE TABLE solid_queue_ready_executions (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs ON DELETE CASCADE,
  queue_name varchar NOT NULL, priority integer DEFAULT 0 NOT NULL, created_at timestamp(6) NOT NULL);
CREATE TABLE solid_queue_scheduled_executions (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs ON DELETE CASCADE,
  queue_name varchar NOT NULL, priority integer DEFAULT 0 NOT NULL, scheduled_at timestamp(6) NOT NULL,
  created_at timestamp(6) NOT NULL);
CREATE TABLE solid_queue_claimed_executions (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs ON DELETE CASCADE,
  process_id bigint, created_at timestamp(6) NOT NULL);
CREATE TABLE solid_queue_failed_executions (
  id bigserial PRIMARY KEY, job_id bigint NOT NULL REFERENCES solid_queue_jobs ON DELETE CASCADE,
  error text, created_at timestamp(6) NOT NULL);
CREATE SCHEMA graphile_worker;
CREATE TABLE graphile_worker.jobs (
  id bigserial PRIMARY KEY, queue_name text, task_identifier text NOT NULL, payload json DEFAULT '{}' NOT NULL,
  priority integer DEFAULT 0 NOT NULL, run_at timestamptz DEFAULT now() NOT NULL, attempts integer DEFAULT 0 NOT NULL,
  max_attempts integer DEFAULT 25 NOT NULL, last_error text, created_at timestamptz DEFAULT now() NOT NULL,
  updated_at timestamptz DEFAULT now() NOT NULL, key text UNIQUE, locked_at timestamptz, locked_by text,
  revision integer DEFAULT 0 NOT NULL, flags jsonb);
CREATE SCHEMA pgmq;
CREATE TABLE pgmq.meta (queue_name varchar UNIQUE NOT NULL, is_partitioned boolean NOT NULL,
  is_unlogged boolean NOT NULL, created_at timestamptz DEFAULT now() NOT NULL);
CREATE TABLE pgmq.q_orders (msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, read_ct integer DEFAULT 0 NOT NULL,
  enqueued_at timestamptz DEFAULT now() NOT NULL, vt timestamptz NOT NULL, message jsonb);
INSERT INTO pgmq.meta VALUES ('orders', false, false);
CREATE TABLE jobs (id bigserial PRIMARY KEY, queue text NOT NULL, payload jsonb, run_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz, finished_at timestamptz, failed_at timestamptz, attempts integer NOT NULL DEFAULT 0);
)sql";

// In every system: runnable jobs of known ages (the oldest given), one not due yet, one running, one failed
// for good and one waiting for a retry.
constexpr const char* kJobs = R"sql(
INSERT INTO good_jobs (queue_name, scheduled_at, performed_at, finished_at, error, created_at, updated_at) VALUES
  ('default', NULL, NULL, NULL, NULL, now() - interval '100 s', now()),
  ('default', now() - interval '20 s', NULL, NULL, NULL, now() - interval '30 s', now()),
  ('default', NULL, NULL, NULL, NULL, now(), now()),
  ('default', now() + interval '1 h', NULL, NULL, NULL, now(), now()),
  ('default', NULL, now(), NULL, NULL, now() - interval '500 s', now()),
  ('default', NULL, now(), now(), 'RuntimeError: boom', now() - interval '900 s', now()),
  ('default', now() + interval '30 s', now(), NULL, 'RuntimeError: boom', now() - interval '800 s', now());
INSERT INTO que_jobs (job_class, queue, run_at, error_count, finished_at, expired_at) VALUES
  ('Mail', 'default', now() - interval '50 s', 0, NULL, NULL),
  ('Mail', 'default', now() - interval '10 s', 0, NULL, NULL),
  ('Mail', 'default', now() + interval '1 h', 0, NULL, NULL),
  ('Mail', 'default', now() - interval '1 h', 0, now(), NULL),
  ('Mail', 'default', now() - interval '1 h', 15, NULL, now()),
  ('Mail', 'default', now() + interval '10 m', 2, NULL, NULL);
INSERT INTO solid_queue_jobs (queue_name, class_name, created_at, updated_at)
  SELECT 'mail', 'MailJob', now(), now() FROM generate_series(1, 5);
INSERT INTO solid_queue_ready_executions (job_id, queue_name, created_at) VALUES
  (1, 'mail', now() - interval '30 s'), (2, 'mail', now() - interval '5 s');
INSERT INTO solid_queue_failed_executions (job_id, error, created_at) VALUES (3, 'boom', now());
INSERT INTO solid_queue_scheduled_executions (job_id, queue_name, scheduled_at, created_at) VALUES
  (4, 'mail', now() + interval '1 h', now());
INSERT INTO solid_queue_claimed_executions (job_id, process_id, created_at) VALUES (5, 1, now());
INSERT INTO graphile_worker.jobs (queue_name, task_identifier, run_at, attempts, max_attempts, locked_at) VALUES
  ('emails', 'send', now() - interval '40 s', 0, 25, NULL),
  ('emails', 'send', now() - interval '1 s', 0, 25, NULL),
  ('emails', 'send', now() - interval '60 s', 0, 25, now()),
  ('emails', 'send', now() - interval '1 h', 25, 25, NULL),
  ('emails', 'send', now() + interval '5 m', 1, 25, NULL);
INSERT INTO pgmq.q_orders (read_ct, enqueued_at, vt, message) VALUES
  (0, now() - interval '20 s', now() - interval '20 s', '{}'),
  (1, now() - interval '10 s', now() - interval '1 s', '{}'),
  (1, now() - interval '5 s', now() + interval '30 s', '{}');
INSERT INTO jobs (queue, run_at, started_at, finished_at, failed_at, attempts) VALUES
  ('billing', now() - interval '70 s', NULL, NULL, NULL, 0),
  ('billing', now(), NULL, NULL, NULL, 0),
  ('billing', now() + interval '1 h', NULL, NULL, NULL, 0),
  ('billing', now() - interval '1 h', now(), NULL, NULL, 1),
  ('billing', now() - interval '1 h', now(), NULL, now(), 5),
  ('billing', now() + interval '1 m', NULL, NULL, NULL, 2);
)sql";

TEST(SqlQueuePresets, EachPresetReadsItsSystemsRealLayout) {
  testing::PostgresServer pg(testing::PostgresOptions{{}, false});
  pg.psql("CREATE DATABASE app");
  pg.psql(kSchema, "app");
  pg.psql(kJobs, "app");
  auto loaded = config::load_config(std::string(TOCSIN_SOURCE_DIR) + "/config/examples/sql-queues.yaml",
                                    testing::env({}));
  ASSERT_TRUE(std::holds_alternative<config::Config>(loaded))
      << std::get<yaml::Diagnostics>(loaded).to_string();
  auto instances = testing::instances<config::PostgresTargetConfig>(std::get<config::Config>(loaded));
  ASSERT_EQ(instances.size(), 1u);
  config::PostgresTargetConfig c = instances[0];
  c.dsn = pg.dsn("app");
  auto collector = make_postgres_collector(
      c, std::make_shared<spdlog::logger>("pg", std::make_shared<spdlog::sinks::null_sink_mt>()));
  store::Batch b;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  collector->collect({now, std::chrono::steady_clock::now() + 10s}, b);
  for (const char* prefix : {"good_job_queue", "que_queue", "solid_queue_queue", "graphile_worker_queue",
                             "pgmq_queue", "app_jobs_queue"}) {
    EXPECT_EQ(value(b, "tocsin_pg_query_up", {{"query", std::string("custom:") + prefix}}), 1) << prefix;
  }
  // The ages are those the jobs were written with, plus the time since: under a few seconds here.
  auto check = [&](const std::string& prefix, const std::string& queue, double depth, double oldest,
                   const std::string& failed_column, double failed, const std::string& retry_column,
                   double retrying) {
    SCOPED_TRACE(prefix);
    const std::vector<Label> q{{"queue", queue}};
    EXPECT_EQ(value(b, prefix + "_depth", q), depth);
    auto age = value(b, prefix + "_oldest_age_seconds", q);
    ASSERT_TRUE(age);
    EXPECT_GE(*age, oldest);
    EXPECT_LT(*age, oldest + 5);
    EXPECT_EQ(value(b, prefix + "_" + failed_column, q), failed);
    EXPECT_EQ(value(b, prefix + "_" + retry_column, q), retrying);
  };
  check("good_job_queue", "default", 3, 100, "failed", 1, "retrying", 1);
  check("que_queue", "default", 2, 50, "failed", 1, "retrying", 1);
  check("solid_queue_queue", "mail", 2, 30, "failed", 1, "scheduled", 1);
  check("graphile_worker_queue", "emails", 2, 40, "failed", 1, "retrying", 1);
  check("pgmq_queue", "orders", 2, 20, "in_flight", 1, "retrying", 1);
  check("app_jobs_queue", "billing", 2, 70, "failed", 1, "retrying", 1);
}

}  // namespace
}  // namespace tocsin::collectors
