// The parse functions and the top-N choice, fed hand-made tables shaped like the server's results.
#include "collectors/postgres/rows.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "collectors/postgres/conninfo.hpp"
#include "collectors/postgres/metrics.hpp"

namespace tocsin::collectors::postgres {
namespace {

Table table(std::vector<std::string> columns, std::vector<std::vector<Field>> rows) {
  return Table{std::move(columns), std::move(rows)};
}

TEST(ToNumber, ReadsPostgresTextForms) {
  EXPECT_EQ(to_number(Field("42")), 42.0);
  EXPECT_EQ(to_number(Field("-1.5e+3")), -1500.0);
  EXPECT_EQ(to_number(Field("0.000123")), 0.000123);
  EXPECT_EQ(to_number(Field("t")), 1.0);
  EXPECT_EQ(to_number(Field("f")), 0.0);
  EXPECT_TRUE(std::isnan(*to_number(Field("NaN"))));
  EXPECT_TRUE(std::isinf(*to_number(Field("Infinity"))));
  EXPECT_EQ(to_number(Field("9223372036854775807")), 9223372036854775807.0);
  EXPECT_FALSE(to_number(std::nullopt));
  EXPECT_FALSE(to_number(Field("")));
  EXPECT_FALSE(to_number(Field("12abc")));
  EXPECT_FALSE(to_number(Field("0/16B3748")));  // an LSN is not a number
}

TEST(ParseRows, LabelsSortedAndEmptyOnesLeftOut) {
  constexpr LabelColumn labels[] = {{"state", "state"}, {"datname", "datname"}};
  constexpr MetricColumn metrics[] = {{"count", "pg_stat_activity_count", MetricType::gauge, ""},
                                      {"absent_in_this_version", "x", MetricType::gauge, ""}};
  auto rows =
      parse_rows(table({"datname", "state", "count"}, {{"app", "idle", "3"}, {"app", std::nullopt, "1"}}),
                 labels, metrics);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].labels, (std::vector<Label>{{"datname", "app"}, {"state", "idle"}}));
  EXPECT_EQ(rows[0].values[0], 3.0);
  EXPECT_FALSE(rows[0].values[1]);  // a column this server version lacks
  EXPECT_EQ(rows[1].labels, (std::vector<Label>{{"datname", "app"}}));
}

TEST(ParseRows, ScalesAndRenamesLabels) {
  constexpr LabelColumn labels[] = {{"rolname", "user"}};
  constexpr MetricColumn metrics[] = {{"total_ms", "t", MetricType::counter, "", 0.001}};
  auto rows = parse_rows(table({"rolname", "total_ms"}, {{"app", "1500"}}), labels, metrics);
  EXPECT_EQ(rows[0].labels, (std::vector<Label>{{"user", "app"}}));
  EXPECT_DOUBLE_EQ(*rows[0].values[0], 1.5);
}

TEST(ParseRows, ErrorsNameTheColumn) {
  constexpr LabelColumn labels[] = {{"datname", "datname"}};
  constexpr MetricColumn metrics[] = {{"count", "c", MetricType::gauge, ""}};
  try {
    parse_rows(table({"count"}, {{"1"}}), labels, metrics);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "the result has no column \"datname\"");
  }
  try {
    parse_rows(table({"datname", "count"}, {{"a", "many"}}), labels, metrics);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "column \"count\": \"many\" is not a number");
  }
}

TEST(ParseServer, OneRowWithZerosForNothingRunning) {
  Table t = table(
      {"in_recovery", "start_time_seconds", "version", "max_connections", "superuser_reserved_connections",
       "reserved_connections", "replication_lag_seconds", "client_connections", "oldest_query_seconds",
       "oldest_idle_in_transaction_seconds", "waiting_on_locks", "blocking_sessions"},
      {{"f", "1700000000.5", "PostgreSQL 15.10", "100", "3", "0", "0", "7", std::nullopt, "12.25", "2",
        "1"}});
  ServerSummary s = parse_server(t);
  EXPECT_FALSE(s.in_recovery);
  EXPECT_EQ(s.start_time_seconds, 1700000000.5);
  EXPECT_EQ(s.version, "PostgreSQL 15.10");
  EXPECT_EQ(s.max_connections, 100);
  EXPECT_EQ(s.superuser_reserved_connections, 3);
  EXPECT_EQ(s.replication_lag_seconds, 0.0);
  EXPECT_EQ(s.client_connections, 7);
  EXPECT_EQ(s.oldest_query_seconds, 0);
  EXPECT_EQ(s.oldest_idle_in_transaction_seconds, 12.25);
  EXPECT_EQ(s.waiting_on_locks, 2);
  EXPECT_EQ(s.blocking_sessions, 1);
  EXPECT_THROW(parse_server(table(t.columns, {})), ParseError);
}

TEST(ActivityStates, ZerosForEveryDatabaseAndState) {
  constexpr LabelColumn labels[] = {{"datname", "datname"}, {"state", "state"}};
  auto rows =
      parse_rows(table({"datname", "state", "count", "max_tx_duration"}, {{"app", "active", "2", "0.5"}}),
                 labels, kActivityMetrics);
  add_missing_activity_states(rows, {"datname", "state"}, {"app", "postgres"}, 2);
  EXPECT_EQ(rows.size(), 12u);  // 2 databases x 6 states
  int zeros = 0;
  for (const Row& row : rows) zeros += row.values[0] == 0.0;
  EXPECT_EQ(zeros, 11);
}

TEST(ActivityStates, NoZerosWithHighCardinalityLabels) {
  std::vector<Row> rows;
  add_missing_activity_states(rows, {"datname", "state", "usename"}, {"app"}, 2);
  EXPECT_TRUE(rows.empty());
  add_missing_activity_states(rows, {"state"}, {"app"}, 2);
  EXPECT_EQ(rows.size(), 6u);
}

TEST(Settings, NormalisedAsPostgresExporterDoes) {
  auto setting = [](const char* name, const char* value, const char* unit, const char* type) {
    auto s = normalize_setting(name, value, unit, type);
    return s ? s->metric + "=" + std::to_string(s->value) : std::string("none");
  };
  EXPECT_EQ(setting("shared_buffers", "4096", "8kB", "integer"),
            "pg_settings_shared_buffers_bytes=33554432.000000");
  EXPECT_EQ(setting("work_mem", "4096", "kB", "integer"), "pg_settings_work_mem_bytes=4194304.000000");
  EXPECT_EQ(setting("max_wal_size", "1024", "MB", "integer"),
            "pg_settings_max_wal_size_bytes=1073741824.000000");
  EXPECT_EQ(setting("checkpoint_timeout", "300", "s", "integer"),
            "pg_settings_checkpoint_timeout_seconds=300.000000");
  EXPECT_EQ(setting("deadlock_timeout", "1000", "ms", "integer"),
            "pg_settings_deadlock_timeout_seconds=1.000000");
  EXPECT_EQ(setting("autovacuum_naptime", "1", "min", "integer"),
            "pg_settings_autovacuum_naptime_seconds=60.000000");
  EXPECT_EQ(setting("statement_timeout", "0", "ms", "integer"),
            "pg_settings_statement_timeout_seconds=0.000000");
  EXPECT_EQ(setting("max_slot_wal_keep_size", "-1", "MB", "integer"),
            "pg_settings_max_slot_wal_keep_size_bytes=-1.000000");  // -1 means off and stays
  EXPECT_EQ(setting("max_connections", "100", "", "integer"), "pg_settings_max_connections=100.000000");
  EXPECT_EQ(setting("random_page_cost", "1.1", "", "real"), "pg_settings_random_page_cost=1.100000");
  EXPECT_EQ(setting("fsync", "on", "", "bool"), "pg_settings_fsync=1.000000");
  EXPECT_EQ(setting("hot_standby_feedback", "off", "", "bool"), "pg_settings_hot_standby_feedback=0.000000");
  EXPECT_EQ(setting("pg_stat_statements.max", "5000", "", "integer"),
            "pg_settings_pg_stat_statements_max=5000.000000");
  EXPECT_EQ(setting("wal_level", "replica", "", "enum"), "none");
  EXPECT_EQ(setting("odd", "1", "parsecs", "integer"), "none");
}

Table statements_table(std::vector<std::vector<Field>> rows) {
  return table({"queryid", "rolname", "datname", "calls", "total_ms", "rows", "read_ms", "write_ms", "max_ms",
                "tracked"},
               std::move(rows));
}

TEST(Statements, TimesInSecondsAndTrackedCount) {
  auto snapshot = parse_statements(
      statements_table({{"-42", "app", "shop", "10", "2500", "100", "30", "0", "900", "4321"}}));
  ASSERT_EQ(snapshot.ranked.size(), 1u);
  const Statement& s = snapshot.ranked[0];
  EXPECT_EQ(s.queryid, "-42");
  EXPECT_EQ(s.user, "app");
  EXPECT_EQ(s.datname, "shop");
  EXPECT_EQ(s.calls, 10);
  EXPECT_DOUBLE_EQ(s.total_seconds, 2.5);
  EXPECT_DOUBLE_EQ(s.read_seconds, 0.03);
  EXPECT_DOUBLE_EQ(s.max_seconds, 0.9);
  EXPECT_EQ(snapshot.tracked, 4321);
}

std::vector<Statement> ranked(std::vector<std::pair<std::string, double>> ids_and_totals) {
  std::vector<Statement> out;
  for (auto& [id, total] : ids_and_totals) {
    Statement s;
    s.queryid = id;
    s.user = "u";
    s.datname = "d";
    s.total_seconds = total;
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> chosen_ids(TopStatements& top, const std::vector<Statement>& r) {
  std::vector<std::string> out;
  for (std::size_t i : top.select(r)) out.push_back(r[i].queryid);
  return out;
}

TEST(TopStatements, FirstCycleTakesTheTopN) {
  TopStatements top(2);
  EXPECT_EQ(top.fetch_limit(), 4u);
  auto r = ranked({{"a", 10}, {"b", 9}, {"c", 8}, {"d", 7}});
  EXPECT_EQ(chosen_ids(top, r), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(top.entered().size(), 2u);
}

TEST(TopStatements, TwoStatementsTakingTurnsAtTheBoundaryDoNotFlap) {
  TopStatements top(2);
  EXPECT_EQ(chosen_ids(top, ranked({{"a", 100}, {"b", 50}, {"c", 49}})),
            (std::vector<std::string>{"a", "b"}));
  // c passes b by a little, then b passes c again: b stays reported throughout.
  EXPECT_EQ(chosen_ids(top, ranked({{"a", 101}, {"c", 51}, {"b", 50.5}})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(top.entered().empty());
  EXPECT_EQ(chosen_ids(top, ranked({{"a", 102}, {"b", 52}, {"c", 51.5}})),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(chosen_ids(top, ranked({{"a", 103}, {"c", 53}, {"b", 52.5}})),
            (std::vector<std::string>{"a", "b"}));
}

TEST(TopStatements, AClearlyHeavierNewcomerTakesThePlaceOfTheLowest) {
  TopStatements top(2);
  chosen_ids(top, ranked({{"a", 100}, {"b", 50}, {"c", 10}}));
  // c now costs far more than b: it displaces b.
  EXPECT_EQ(chosen_ids(top, ranked({{"c", 300}, {"a", 101}, {"b", 51}})),
            (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(top.entered(), (std::vector<std::string>{ranked({{"c", 0}})[0].key()}));
}

TEST(TopStatements, AStatementFallingOutOfTheWindowLeavesAndFreesItsPlace) {
  TopStatements top(2);
  chosen_ids(top, ranked({{"a", 100}, {"b", 50}, {"c", 10}, {"d", 5}}));
  // b was reset (pg_stat_statements_reset) and is gone: c takes the free place.
  EXPECT_EQ(chosen_ids(top, ranked({{"a", 101}, {"c", 11}, {"d", 6}})), (std::vector<std::string>{"a", "c"}));
}

TEST(TopStatements, KeyIsQueryUserAndDatabase) {
  TopStatements top(3);
  std::vector<Statement> r = ranked({{"q", 3}, {"q", 2}});
  r[1].user = "other";
  EXPECT_EQ(top.select(r).size(), 2u);
}

TEST(QueryText, WhitespaceFoldedAndCutOnCharacters) {
  EXPECT_EQ(clean_query_text("SELECT  *\n  FROM\tt", 100), "SELECT * FROM t");
  EXPECT_EQ(clean_query_text("SELECT 1", 6), "SELECT");
  EXPECT_EQ(clean_query_text("SELECT 'éé'", 9), "SELECT 'é");  // é is two bytes, one character
  EXPECT_EQ(clean_query_text("  x", 5), "x");
}

config::PostgresCustomQuery jobs_query() {
  config::PostgresCustomQuery q;
  q.prefix = "app_jobs";
  q.columns = {{"queue", config::PostgresColumnUsage::label, ""},
               {"depth", config::PostgresColumnUsage::gauge, ""},
               {"done", config::PostgresColumnUsage::counter, ""}};
  return q;
}

TEST(Custom, LabelsAndValuesInConfiguredOrder) {
  auto rows = parse_custom(table({"done", "queue", "depth", "ignored"},
                                 {{"7", "mail", "3", "x"}, {std::nullopt, std::nullopt, "1", "y"}}),
                           jobs_query());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].labels, (std::vector<Label>{{"queue", "mail"}}));
  EXPECT_EQ(rows[0].values, (std::vector<std::optional<double>>{3.0, 7.0}));
  EXPECT_TRUE(rows[1].labels.empty());
  EXPECT_EQ(rows[1].values, (std::vector<std::optional<double>>{1.0, std::nullopt}));
}

TEST(Custom, ErrorsSayWhatIsWrong) {
  auto error = [](const Table& t) {
    try {
      parse_custom(t, jobs_query());
    } catch (const ParseError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(table({"queue", "depth"}, {{"a", "1"}})), "the result has no column \"done\"");
  EXPECT_EQ(error(table({"queue", "depth", "done"}, {{"a", "lots", "1"}})),
            "column \"depth\": \"lots\" is not a number");
  EXPECT_EQ(
      error(table({"queue", "depth", "done"}, {{"a", "1", "1"}, {"b", "1", "1"}, {"a", "2", "2"}})),
      "row 3 repeats the labels {queue=\"a\"} of an earlier row (add a label column that tells them apart)");
}

TEST(Conninfo, ConfigKeysOverTheDsnAndTocsinDefaultsUnderIt) {
  config::PostgresTargetConfig c;
  c.dsn = "host=db port=6432 dbname=app application_name=myapp connect_timeout=9";
  c.dbname = "other";
  c.user = "tocsin";
  c.password = yaml::Secret("it's\\secret");
  ConnParams p = connection_parameters(c);
  EXPECT_EQ(p["host"], "db");
  EXPECT_EQ(p["port"], "6432");
  EXPECT_EQ(p["dbname"], "other");
  EXPECT_EQ(p["user"], "tocsin");
  EXPECT_EQ(p["application_name"], "myapp");
  EXPECT_EQ(p["connect_timeout"], "9");
  EXPECT_EQ(p["keepalives"], "1");
  const std::string conninfo = to_conninfo(p);
  EXPECT_NE(conninfo.find("password='it\\'s\\\\secret'"), std::string::npos) << conninfo;
  EXPECT_EQ(describe(p), "db:6432/other");
}

TEST(Conninfo, UriAndDefaults) {
  config::PostgresTargetConfig c;
  c.dsn = "postgresql://reader@db.internal:5433/shop?sslmode=require";
  ConnParams p = connection_parameters(c);
  EXPECT_EQ(p["host"], "db.internal");
  EXPECT_EQ(p["port"], "5433");
  EXPECT_EQ(p["user"], "reader");
  EXPECT_EQ(p["sslmode"], "require");
  EXPECT_EQ(p["application_name"], "tocsin");
  EXPECT_EQ(p["connect_timeout"], "5");
  EXPECT_EQ(p["client_encoding"], "UTF8");
  EXPECT_EQ(p.count("password"), 0u);
}

}  // namespace
}  // namespace tocsin::collectors::postgres
