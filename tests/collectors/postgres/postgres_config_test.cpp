// collectors.postgres[i] decoding: every key, and the error texts of the mistakes users make.
#include <gtest/gtest.h>

#include "collectors/postgres/postgres.hpp"
#include "fixtures/config.hpp"
#include "fixtures/process.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::config {
namespace {

using yaml::Diagnostics;
using yaml::EnvLookup;

using namespace std::chrono_literals;

using testing::env;

std::string errors_of(const std::string& yaml, yaml::EnvLookup lookup = env({})) {
  return testing::config_errors(yaml, "tocsin.yaml", std::move(lookup));
}

PostgresTargetConfig valid(const std::string& yaml, yaml::EnvLookup lookup = env({})) {
  const auto targets =
      testing::instances<PostgresTargetConfig>(testing::valid_config(yaml, "tocsin.yaml", std::move(lookup)));
  if (targets.size() != 1) {
    ADD_FAILURE() << "expected one postgres instance";
    return {};
  }
  return targets.front();
}

TEST(PostgresConfig, DefaultsLeaveConnectionSettingsToLibpq) {
  PostgresTargetConfig c = valid("collectors:\n  postgres:\n    - {}\n");
  EXPECT_EQ(c.common.name, "postgres");
  EXPECT_EQ(c.dsn, "");
  EXPECT_EQ(c.host, "");
  EXPECT_EQ(c.port, 0);
  EXPECT_TRUE(c.password.empty());
  EXPECT_EQ(c.statement_timeout, Duration(5s));
  EXPECT_EQ(c.lock_timeout, Duration(1s));
  EXPECT_EQ(c.connect_timeout, Duration(5s));
  EXPECT_FALSE(c.prepared_statements);
  EXPECT_EQ(c.activity_labels, (std::vector<std::string>{"datname", "state"}));
  EXPECT_TRUE(c.statements.enabled);
  EXPECT_EQ(c.statements.limit, 100u);
  EXPECT_FALSE(c.statements.query_text);
  EXPECT_TRUE(c.databases.empty());
  EXPECT_EQ(c.tables_limit, 200u);
  EXPECT_FALSE(c.tables_by_size);
  EXPECT_FALSE(c.statements.compat_names);
  EXPECT_TRUE(c.query_intervals.empty());
  EXPECT_TRUE(c.queries.empty());
}

TEST(PostgresConfig, ReadsEveryKey) {
  testing::TempDir dir;
  dir.write("pg.pw", "s3cret\n");
  const std::string yaml = R"(collectors:
  postgres:
    - name: main
      interval: 30s
      timeout: 10s
      dsn: "host=db.internal port=6432 application_name=app"
      user: tocsin
      dbname: app
      password_file: )" + (dir / "pg.pw").string() +
                           R"(
      sslmode: verify-full
      sslrootcert: /etc/ssl/root.crt
      connect_timeout: 3s
      statement_timeout: 2s
      lock_timeout: 500ms
      reconnect_backoff: 2s
      reconnect_backoff_max: 30s
      prepared_statements: true
      activity_labels: [datname, state, usename]
      statements: { enabled: true, limit: 50, query_text: true, query_text_length: 80, compat_names: true }
      databases: ["*"]
      tables_limit: 10
      tables_by: size
      query_intervals: { tables: 2m, settings: 0s, statements: 30s }
      queries:
        - prefix: app_jobs
          sql: SELECT queue, count(*) AS depth FROM jobs GROUP BY queue
          columns:
            queue: label
            depth: { usage: gauge, help: Jobs waiting }
          min_server_version: 13
          interval: 1m
          timeout: 3s
)";
  PostgresTargetConfig c = valid(yaml);
  EXPECT_EQ(c.common.name, "main");
  EXPECT_EQ(c.dsn, "host=db.internal port=6432 application_name=app");
  EXPECT_EQ(c.user, "tocsin");
  EXPECT_EQ(c.dbname, "app");
  EXPECT_EQ(c.password.reveal(), "s3cret");
  EXPECT_EQ(c.sslmode, "verify-full");
  EXPECT_EQ(c.sslrootcert, "/etc/ssl/root.crt");
  EXPECT_EQ(c.connect_timeout, Duration(3s));
  EXPECT_EQ(c.statement_timeout, Duration(2s));
  EXPECT_EQ(c.lock_timeout, Duration(500ms));
  EXPECT_EQ(c.reconnect_backoff, Duration(2s));
  EXPECT_EQ(c.reconnect_backoff_max, Duration(30s));
  EXPECT_TRUE(c.prepared_statements);
  EXPECT_EQ(c.activity_labels, (std::vector<std::string>{"datname", "state", "usename"}));
  EXPECT_EQ(c.statements.limit, 50u);
  EXPECT_TRUE(c.statements.query_text);
  EXPECT_EQ(c.statements.query_text_length, 80u);
  EXPECT_EQ(c.databases, (std::vector<std::string>{"*"}));
  EXPECT_EQ(c.tables_limit, 10u);
  EXPECT_TRUE(c.tables_by_size);
  EXPECT_TRUE(c.statements.compat_names);
  EXPECT_EQ(c.query_intervals.at("tables"), std::chrono::minutes(2));
  EXPECT_EQ(c.query_intervals.at("settings"), Duration{0});
  EXPECT_EQ(c.query_intervals.at("statements"), std::chrono::seconds(30));
  EXPECT_EQ(c.query_intervals.size(), 3u);
  ASSERT_EQ(c.queries.size(), 1u);
  const PostgresCustomQuery& q = c.queries.front();
  EXPECT_EQ(q.prefix, "app_jobs");
  ASSERT_EQ(q.columns.size(), 2u);
  EXPECT_EQ(q.columns[0].name, "queue");
  EXPECT_EQ(q.columns[0].usage, PostgresColumnUsage::label);
  EXPECT_EQ(q.columns[1].name, "depth");
  EXPECT_EQ(q.columns[1].usage, PostgresColumnUsage::gauge);
  EXPECT_EQ(q.columns[1].help, "Jobs waiting");
  EXPECT_EQ(q.min_server_version, 130000);
  EXPECT_EQ(q.interval, Duration(1min));
  EXPECT_EQ(q.timeout, Duration(3s));
}

TEST(PostgresConfig, PasswordFromTheEnvironment) {
  PostgresTargetConfig c =
      valid("collectors:\n  postgres:\n    - { password: \"${PGPW}\" }\n", env({{"PGPW", "pw"}}));
  EXPECT_EQ(c.password.reveal(), "pw");
}

TEST(PostgresConfig, CustomSqlIsNotExpanded) {
  // Dollar quoting and $1-like text reach the server untouched.
  PostgresTargetConfig c = valid(R"(collectors:
  postgres:
    - queries:
        - prefix: q
          sql: "SELECT $$a$$ AS l, 1 AS v"
          columns: { l: label, v: counter }
)");
  ASSERT_EQ(c.queries.size(), 1u);
  EXPECT_EQ(c.queries[0].sql, "SELECT $$a$$ AS l, 1 AS v");
}

struct BadCase {
  const char* name;
  std::string body;      // the instance's keys, indented by 6
  std::string expected;  // one error line
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
};

class PostgresConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(PostgresConfigErrors, NameTheKeyAndTheProblem) {
  const std::string yaml = "collectors:\n  postgres:\n    - name: main\n" + GetParam().body;
  EXPECT_EQ(errors_of(yaml), GetParam().expected + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PostgresConfigErrors,
    ::testing::Values(
        BadCase{"UnknownKey", "      sslmod: require\n",
                "tocsin.yaml:4:7: collectors.postgres[0].sslmod: unknown key"},
        BadCase{"UnknownQueryInterval", "      query_intervals: { tabels: 1m }\n",
                "tocsin.yaml:4:26: collectors.postgres[0].query_intervals.tabels: unknown key"},
        BadCase{
            "BadQueryInterval", "      query_intervals: { tables: soon }\n",
            "tocsin.yaml:4:34: collectors.postgres[0].query_intervals.tables: invalid duration \"soon\" (use "
            "e.g. 500ms, 15s, 5m, 1h30m, 2d)"},
        BadCase{
            "ServerQueryInterval", "      query_intervals: { server: 1m }\n",
            "tocsin.yaml:4:34: collectors.postgres[0].query_intervals.server: the server query runs every "
            "cycle (it proves the connection alive)"},
        BadCase{
            "BadTablesBy", "      tables_by: rows\n",
            "tocsin.yaml:4:18: collectors.postgres[0].tables_by: unknown order \"rows\" (activity or size)"},
        BadCase{
            "BadSslmode", "      sslmode: maybe\n",
            "tocsin.yaml:4:16: collectors.postgres[0].sslmode: unknown sslmode \"maybe\" (disable, allow, "
            "prefer, require, verify-ca, verify-full)"},
        BadCase{"BadPort", "      port: 70000\n",
                "tocsin.yaml:4:13: collectors.postgres[0].port: must be between 1 and 65535"},
        BadCase{"DsnTypo", "      dsn: \"hots=db port=5432\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: unknown connection parameter "
                "\"hots\""},
        BadCase{"DsnMissingEquals", "      dsn: \"host db\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: missing \"=\" after \"host\" (a "
                "dsn is "
                "key=value pairs or a postgresql:// URI)"},
        BadCase{"DsnUnterminatedQuote", "      dsn: \"host='db\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: unterminated quoted value of "
                "\"host\""},
        BadCase{"DsnPortNotANumber", "      dsn: \"host=db port=abc\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: port \"abc\" is not a number "
                "between 1 and 65535"},
        BadCase{"DsnSecondPortOutOfRange", "      dsn: \"host=a,b port='5432,70000'\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: port \"70000\" is not a number "
                "between 1 and 65535"},
        BadCase{"DsnBadSslmode", "      dsn: \"host=db sslmode=bogus\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: unknown sslmode \"bogus\" "
                "(disable, allow, prefer, require, verify-ca, verify-full)"},
        BadCase{"UriPortNotANumber", "      dsn: \"postgresql://u:pw@db:54x2/app\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: port \"54x2\" is not a number "
                "between 1 and 65535"},
        BadCase{"UriBadSslmode", "      dsn: \"postgresql://db/app?sslmode=bogus\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: unknown sslmode \"bogus\" "
                "(disable, allow, prefer, require, verify-ca, verify-full) in the URI"},
        BadCase{"UriUnknownParameter", "      dsn: \"postgresql://db/app?sslmod=require\"\n",
                "tocsin.yaml:4:12: collectors.postgres[0].dsn: invalid dsn: unknown connection parameter "
                "\"sslmod\" "
                "in the URI"},
        BadCase{
            "PasswordTwice", "      dsn: \"host=db password=a\"\n      password: b\n",
            "tocsin.yaml:5:17: collectors.postgres[0].password: the dsn already holds a password; give it in "
            "one place"},
        BadCase{"NonPositiveTimeout", "      statement_timeout: 0s\n",
                "tocsin.yaml:4:26: collectors.postgres[0].statement_timeout: must be positive"},
        BadCase{"ShortConnectTimeout", "      connect_timeout: 500ms\n",
                "tocsin.yaml:4:24: collectors.postgres[0].connect_timeout: must be at least 1s (libpq counts "
                "whole "
                "seconds)"},
        BadCase{"BackoffMaxBelowInitial", "      reconnect_backoff: 10s\n      reconnect_backoff_max: 5s\n",
                "tocsin.yaml:5:30: collectors.postgres[0].reconnect_backoff_max: must not be less than "
                "reconnect_backoff (10s)"},
        BadCase{
            "UnknownActivityLabel", "      activity_labels: [datname, query]\n",
            "tocsin.yaml:4:34: collectors.postgres[0].activity_labels[1]: unknown activity label \"query\" "
            "(datname, state, usename, application_name, wait_event_type, backend_type, client_addr)"},
        BadCase{"StatementsLimit", "      statements: { limit: 0 }\n",
                "tocsin.yaml:4:28: collectors.postgres[0].statements.limit: must be between 1 and 10000"},
        BadCase{"StatementsUnknownKey", "      statements: { top: 5 }\n",
                "tocsin.yaml:4:21: collectors.postgres[0].statements.top: unknown key"},
        BadCase{
            "StarBesideNames", "      databases: [\"*\", app]\n",
            "tocsin.yaml:4:18: collectors.postgres[0].databases: \"*\" means every database; list no others "
            "beside it"},
        BadCase{"QueryWithoutSql", "      queries:\n        - prefix: q\n          columns: { v: gauge }\n",
                "tocsin.yaml:5:11: collectors.postgres[0].queries[0].sql: missing required key"},
        BadCase{"QueryBadPrefix",
                "      queries:\n        - { prefix: 1jobs, sql: SELECT 1 AS v, columns: { v: gauge } }\n",
                "tocsin.yaml:5:21: collectors.postgres[0].queries[0].prefix: \"1jobs\" is not a valid metric "
                "name "
                "prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)"},
        BadCase{"QueryBadUsage",
                "      queries:\n        - { prefix: q, sql: SELECT 1 AS v, columns: { v: histogram } }\n",
                "tocsin.yaml:5:58: collectors.postgres[0].queries[0].columns.v: unknown usage \"histogram\" "
                "(label, "
                "counter or gauge)"},
        BadCase{"QueryOnlyLabels",
                "      queries:\n        - { prefix: q, sql: SELECT 1 AS v, columns: { v: label } }\n",
                "tocsin.yaml:5:53: collectors.postgres[0].queries[0].columns: needs at least one counter or "
                "gauge "
                "column"},
        BadCase{
            "QueryTargetLabel",
            "      queries:\n        - { prefix: q, sql: SELECT 1, columns: { target: label, v: gauge } }\n",
            "tocsin.yaml:5:58: collectors.postgres[0].queries[0].columns.target: label column \"target\" is "
            "taken: tocsin labels every sample with its instance name"},
        BadCase{
            "QueryBuiltinName",
            "      queries:\n        - { prefix: pg, sql: SELECT 1 AS up, columns: { up: gauge } }\n",
            "tocsin.yaml:5:61: collectors.postgres[0].queries[0].columns.up: metric name \"pg_up\" is one "
            "the postgres collector reports itself (choose another prefix)"},
        BadCase{
            "QueryBuiltinSettingName",
            "      queries:\n        - { prefix: pg_settings, sql: SELECT 1 AS x, columns: { x: gauge } }\n",
            "tocsin.yaml:5:68: collectors.postgres[0].queries[0].columns.x: metric name \"pg_settings_x\" is "
            "one the postgres collector reports itself (choose another prefix)"},
        BadCase{"QueryDuplicatePrefix",
                "      queries:\n        - { prefix: q, sql: SELECT 1, columns: { v: gauge } }\n"
                "        - { prefix: q, sql: SELECT 2, columns: { v: gauge } }\n",
                "tocsin.yaml:6:21: collectors.postgres[0].queries[1].prefix: duplicate query prefix \"q\" "
                "(metric "
                "names would clash)"},
        BadCase{"QueryMinVersion",
                "      queries:\n        - { prefix: q, sql: SELECT 1, columns: { v: gauge }, "
                "min_server_version: -1 }\n",
                "tocsin.yaml:5:82: collectors.postgres[0].queries[0].min_server_version: must be positive, "
                "e.g. 13 "
                "or 130000"},
        BadCase{"QueryTimeoutNotShorterThanTheCycle",
                "      timeout: 2s\n      queries:\n"
                "        - { prefix: q, sql: SELECT 1, columns: { v: gauge }, timeout: 2s }\n",
                "tocsin.yaml:6:71: collectors.postgres[0].queries[0].timeout: must be shorter than the "
                "collector's timeout (2s), the deadline of every query in the cycle"},
        BadCase{"QueryTimeoutNotShorterThanTheInterval",
                "      interval: 10s\n      queries:\n"
                "        - { prefix: q, sql: SELECT 1, columns: { v: gauge }, timeout: 1m }\n",
                "tocsin.yaml:6:71: collectors.postgres[0].queries[0].timeout: must be shorter than the "
                "collector's interval (10s), the deadline of every query in the cycle"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

// A block that sets neither timeout nor interval runs on the top-level interval; its queries are
// held to that.
TEST(PostgresConfig, QueryTimeoutNotShorterThanTheTopLevelInterval) {
  EXPECT_EQ(
      errors_of("interval: 10s\ncollectors:\n  postgres:\n    - name: db\n      queries:\n"
                "        - { prefix: q, sql: SELECT 1, columns: { v: gauge }, timeout: 10s }\n"),
      "tocsin.yaml:6:71: collectors.postgres[0].queries[0].timeout: must be shorter than the collector's "
      "interval (10s, from the top-level interval), the deadline of every query in the cycle\n");
  EXPECT_EQ(errors_of("interval: 10s\ncollectors:\n  postgres:\n    - name: db\n      queries:\n"
                      "        - { prefix: q, sql: SELECT 1, columns: { v: gauge }, timeout: 5s }\n"),
            "");
}

TEST(PostgresConfig, DsnPortsAndSslmodesLibpqAccepts) {
  for (const std::string dsn : {"host=a,b port=5432,5433 sslmode=verify-full", "host=a,b port=',5433'",
                                "port = '6432' sslmode='require'",
                                "postgresql://u:p@a:5432,[::1]:5433,c/app?sslmode=disable&port=5434",
                                "postgresql://[::1]/app", "postgresql:///app"}) {
    EXPECT_EQ(errors_of("collectors:\n  postgres:\n    - dsn: \"" + dsn + "\"\n"), "") << dsn;
  }
}

TEST(PostgresConfig, ErrorsNeverQuoteAPassword) {
  // A password with a space, unquoted: the rest of it looks like a keyword to libpq.
  std::string errors = errors_of("collectors:\n  postgres:\n    - dsn: \"host=db password=correct horse\"\n");
  EXPECT_NE(errors.find("missing \"=\" after at character 26"), std::string::npos) << errors;
  EXPECT_EQ(errors.find("horse"), std::string::npos) << errors;
  EXPECT_EQ(errors.find("correct"), std::string::npos) << errors;
}

TEST(PostgresConfig, AllErrorsAtOnce) {
  std::string errors = errors_of(R"(collectors:
  postgres:
    - sslmode: maybe
      port: 0
      lock_timeout: 15x
)");
  EXPECT_NE(errors.find("sslmode"), std::string::npos);
  EXPECT_NE(errors.find("port"), std::string::npos);
  EXPECT_NE(errors.find("lock_timeout: invalid duration \"15x\""), std::string::npos) << errors;
}

TEST(PostgresConfig, TheExampleAndTheBundledConfigDecode) {
  for (const char* file : {"/config/examples/postgres.yaml", "/config/tocsin.yaml"}) {
    auto loaded = load_config(std::string(TOCSIN_SOURCE_DIR) + file, env({}));
    if (auto* d = std::get_if<Diagnostics>(&loaded)) {
      ADD_FAILURE() << file << ":\n" << d->to_string();
      continue;
    }
    const Config& config = std::get<Config>(loaded);
    ASSERT_EQ(testing::instances<PostgresTargetConfig>(config).size(), 1u) << file;
    const PostgresTargetConfig pg = testing::instances<PostgresTargetConfig>(config).front();
    EXPECT_EQ(pg.common.name, "postgres");
    // Nothing names the server: libpq's PG* environment does.
    EXPECT_EQ(pg.dsn, "");
    EXPECT_EQ(pg.host, "");
    EXPECT_TRUE(pg.password.empty());
    EXPECT_NO_THROW(collectors::make_postgres_collector(pg, nullptr));
  }
}

TEST(PostgresConfig, TheCollectorRejectsADsnLibpqCannotParseWithoutQuotingIt) {
  PostgresTargetConfig c;
  c.common.name = "main";
  c.dsn = "postgresql://user:hunter2@db/app?sslmod=require";
  try {
    collectors::make_postgres_collector(c, nullptr);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "postgres collector main: libpq cannot parse the dsn");
  }
}

// `shared` and `lease` (docs/fleet.md), for postgres and redis alike: the lease defaults to three
// intervals, must outlast a cycle and its deadline, and is refused without `shared: true`.
TEST(SharedTargetConfig, KeysDefaultsAndPositionedErrors) {
  PostgresTargetConfig c = valid("collectors:\n  postgres:\n    - { name: db, shared: true }\n");
  EXPECT_TRUE(c.shared.enabled);
  EXPECT_FALSE(c.shared.lease.has_value());
  EXPECT_EQ(lease_of(c.shared, Duration(15s)), Duration(45s));
  c = valid("collectors:\n  postgres:\n    - { name: db, shared: true, interval: 5s, lease: 20s }\n");
  EXPECT_EQ(lease_of(c.shared, Duration(5s)), Duration(20s));
  EXPECT_FALSE(valid("collectors:\n  postgres:\n    - {}\n").shared.enabled);
  EXPECT_EQ(
      errors_of("collectors:\n  postgres:\n    - { name: db, lease: 30s }\n"),
      "tocsin.yaml:3:26: collectors.postgres[0].lease: a lease is for a shared target: set shared: true, "
      "or remove lease\n");
  EXPECT_EQ(
      errors_of("collectors:\n  postgres:\n    - { name: db, shared: true, interval: 10s, lease: 15s }\n"),
      "tocsin.yaml:3:55: collectors.postgres[0].lease: must be longer than the interval plus the timeout "
      "(20s): the holder renews its claim once a cycle, and a cycle may take until its deadline\n");
  EXPECT_EQ(
      errors_of("interval: 10s\ncollectors:\n  redis:\n    - { name: cache, shared: true, lease: 20s }\n"),
      "tocsin.yaml:4:43: collectors.redis[0].lease: must be longer than the interval plus the timeout "
      "(20s, from the top-level interval): the holder renews its claim once a cycle, and a cycle may take "
      "until its deadline\n");
  EXPECT_EQ(errors_of("collectors:\n  redis:\n    - { name: cache, shared: yes please }\n"),
            "tocsin.yaml:3:30: collectors.redis[0].shared: expected true or false, got \"yes please\"\n");
  EXPECT_EQ(
      errors_of("interval: 10s\ncollectors:\n  redis:\n    - { name: cache, shared: true, lease: 21s }\n"),
      "");
}

}  // namespace
}  // namespace tocsin::config
