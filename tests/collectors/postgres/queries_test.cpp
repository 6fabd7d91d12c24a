// The query table: the text each server version (and pg_stat_statements version) gets.
#include "collectors/postgres/queries.hpp"

#include <gtest/gtest.h>

#include <cctype>

#include "collectors/postgres/metrics.hpp"

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

// PostgreSQL 17 moved the checkpoint columns of pg_stat_bgwriter to pg_stat_checkpointer (under new
// names) and dropped buffers_backend and buffers_backend_fsync (now in pg_stat_io): the 17 text reads
// them there, under the columns the metrics table names, as the older text does.
TEST(Queries, BgwriterFollowsPostgres17sMoveToPgStatCheckpointer) {
  QueryParameters p;
  const std::string v17 = query_sql(Query::bgwriter, 170000, p);
  const std::string v16 = query_sql(Query::bgwriter, 160000, p);
  EXPECT_TRUE(contains(v17, "pg_catalog.pg_stat_checkpointer c"));
  EXPECT_TRUE(contains(v17, "c.num_timed AS checkpoints_timed"));
  EXPECT_TRUE(contains(v17, "c.num_requested AS checkpoints_req"));
  EXPECT_TRUE(contains(v17, "c.buffers_written AS buffers_checkpoint"));
  EXPECT_TRUE(contains(v17, "FROM pg_catalog.pg_stat_io"));
  EXPECT_FALSE(contains(v17, "b.checkpoints_timed"));
  EXPECT_FALSE(contains(v16, "pg_stat_checkpointer"));
  EXPECT_FALSE(contains(v16, "pg_stat_io"));
  EXPECT_TRUE(contains(v16, "b.buffers_backend_fsync"));
  EXPECT_EQ(query_sql(Query::bgwriter, 120000, p), v16);
  EXPECT_EQ(query_sql(Query::bgwriter, 180000, p), v17);
  // Every column the metrics read is in both: as `AS <column>` or `<alias>.<column>`.
  for (const MetricColumn& m : kBgwriterMetrics) {
    const std::string column(m.column);
    for (const std::string& sql : {v16, v17}) {
      EXPECT_TRUE(contains(sql, " AS " + column) || contains(sql, "b." + column) ||
                  contains(sql, "a." + column))
          << column << " in " << sql;
    }
  }
}

TEST(Queries, TableSizesOfTheListedTablesOnly) {
  QueryParameters p;
  p.table_ids = {"16384", "16390", "1); DROP TABLE x; --"};
  const std::string sql = query_sql(Query::table_sizes, 150000, p);
  EXPECT_TRUE(contains(sql, "c.oid = ANY ('{16384,16390}'::oid[])")) << sql;
  EXPECT_FALSE(contains(sql, "DROP"));
  p.tables_by_size = true;
  EXPECT_TRUE(contains(query_sql(Query::tables, 150000, p), "ORDER BY c.relpages DESC"));
  p.tables_by_size = false;
  EXPECT_TRUE(contains(query_sql(Query::tables, 150000, p), "pg_stat_get_blocks_fetched(c.oid) DESC"));
}

TEST(Queries, IntervalsByName) {
  EXPECT_EQ(query_of_name("table_sizes"), Query::table_sizes);
  EXPECT_EQ(query_of_name("nope"), std::nullopt);
  for (Query q : kAllQueries) EXPECT_EQ(query_of_name(query_name(q)), q);
  EXPECT_EQ(default_query_interval(Query::server).count(), 0);
  EXPECT_EQ(default_query_interval(Query::locks).count(), 0);
  EXPECT_EQ(default_query_interval(Query::tables), std::chrono::minutes(1));
  EXPECT_EQ(default_query_interval(Query::settings), std::chrono::minutes(5));
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
  EXPECT_FALSE(contains(v13, "min_ms"));
  const std::string compat = statements_sql(108, "public", 10, true);
  EXPECT_TRUE(contains(compat, "min(min_exec_time) AS min_ms, max(stddev_exec_time) AS stddev_ms")) << compat;
  EXPECT_TRUE(contains(compat, "sum(temp_blks_written::float8) AS temp_blks_written"));
  EXPECT_TRUE(contains(compat, "t.shared_blks_hit"));
  EXPECT_TRUE(contains(statements_sql(107, "public", 10, true), "min(min_time) AS min_ms"));
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
