// The query table: the text each server version (and pg_stat_statements version) gets.
#include "collectors/postgres/queries.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace tocsin::collectors::postgres {
namespace {

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

TEST(Queries, EveryBuiltInHasTextForEverySupportedVersion) {
  QueryParameters p;
  p.activity_labels = {"datname", "state"};
  for (int version : {120000, 130000, 140000, 150000, 160000, 170000}) {
    for (Query q : kAllQueries) {
      if (q == Query::statements) continue;
      EXPECT_FALSE(query_sql(q, version, p).empty()) << query_name(q) << " " << version;
      const std::string sql = query_sql(q, version, p);
      for (std::size_t at = sql.find('{'); at != std::string::npos; at = sql.find('{', at + 1)) {
        EXPECT_FALSE(at + 1 < sql.size() && std::islower(static_cast<unsigned char>(sql[at + 1])))
            << query_name(q) << ": unfilled placeholder at " << sql.substr(at, 20);
      }
    }
  }
}

TEST(Queries, ColumnsFollowTheServerVersion) {
  QueryParameters p;
  EXPECT_TRUE(contains(query_sql(Query::databases, 140000, p), "sessions_abandoned"));
  EXPECT_FALSE(contains(query_sql(Query::databases, 130000, p), "sessions_abandoned"));
  EXPECT_TRUE(contains(query_sql(Query::server, 160000, p), "current_setting('reserved_connections')"));
  EXPECT_FALSE(contains(query_sql(Query::server, 150000, p), "current_setting('reserved_connections')"));
  EXPECT_TRUE(contains(query_sql(Query::slots, 130000, p), "wal_status"));
  EXPECT_FALSE(contains(query_sql(Query::slots, 120000, p), "wal_status"));
  // Older than the oldest supported: the oldest text is tried.
  EXPECT_EQ(query_sql(Query::slots, 100000, p), query_sql(Query::slots, 120000, p));
}

TEST(Queries, ActivityGroupsByTheConfiguredLabels) {
  QueryParameters p;
  p.activity_labels = {"datname", "client_addr"};
  const std::string sql = query_sql(Query::activity, 150000, p);
  EXPECT_TRUE(contains(sql, "SELECT datname, client_addr::text AS client_addr, count(*)")) << sql;
  EXPECT_TRUE(contains(sql, "GROUP BY datname, client_addr")) << sql;
  p.activity_labels.clear();
  EXPECT_FALSE(contains(query_sql(Query::activity, 150000, p), "GROUP BY"));
}

TEST(Queries, SettingsFilterAndLimits) {
  QueryParameters p;
  p.settings = {"work_mem", "it's"};
  p.tables_limit = 7;
  EXPECT_TRUE(contains(query_sql(Query::settings, 150000, p), "AND name IN ('work_mem', 'it''s')"));
  EXPECT_TRUE(contains(query_sql(Query::tables, 150000, p), "LIMIT 7"));
  p.settings.clear();
  EXPECT_FALSE(contains(query_sql(Query::settings, 150000, p), "name IN"));
}

TEST(Queries, StatementsColumnsFollowTheExtensionVersion) {
  EXPECT_EQ(extension_version_number("1.10"), 110);
  EXPECT_EQ(extension_version_number("1.8"), 108);
  EXPECT_EQ(extension_version_number("x"), 0);
  const std::string v17 = statements_sql(111, "public", 200);
  EXPECT_TRUE(contains(v17, "sum(shared_blk_read_time)"));
  EXPECT_TRUE(contains(v17, "sum(total_exec_time)"));
  EXPECT_TRUE(contains(v17, "public.pg_stat_statements(false)"));
  EXPECT_TRUE(contains(v17, "LIMIT 200"));
  const std::string v13 = statements_sql(108, "\"My Schema\"", 10);
  EXPECT_TRUE(contains(v13, "sum(blk_read_time)"));
  EXPECT_TRUE(contains(v13, "max(max_exec_time)"));
  EXPECT_TRUE(contains(v13, "\"My Schema\".pg_stat_statements(false)"));
  const std::string v12 = statements_sql(107, "public", 10);
  EXPECT_TRUE(contains(v12, "sum(total_time)"));
  EXPECT_TRUE(contains(v12, "max(max_time)"));
}

TEST(Queries, StatementTextsOnlyForNumericIds) {
  const std::string sql = statement_texts_sql("public", {"-12", "34", "1; DROP TABLE x"}, 120);
  EXPECT_TRUE(contains(sql, "'{-12,34}'::bigint[]")) << sql;
  EXPECT_TRUE(contains(sql, "left(query, 120)"));
  EXPECT_TRUE(contains(sql, "pg_stat_statements(true)"));
}

}  // namespace
}  // namespace tocsin::collectors::postgres
