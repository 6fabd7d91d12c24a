#include "tocsin/store/exposition.hpp"

#include <gtest/gtest.h>

namespace tocsin::store {
namespace {

using namespace std::chrono_literals;

TEST(Exposition, FamiliesOnceSortedEscapedAndStaleLeftOut) {
  ManualClock clock(0);
  Store store(StoreOptions{1h}, clock);
  WriterId w = store.register_writer("w", 15s);
  Batch b;
  b.describe("zeta_total", MetricType::counter, "Last family.\nSecond line with \\ backslash.");
  b.describe("alpha", MetricType::gauge, "First family.");
  b.describe("lat_seconds", MetricType::histogram, "A histogram.");
  b.add("zeta_total", {{"path", "a\"b"}}, 3);
  b.add("alpha", {{"b", "2"}}, 1.5);
  b.add("alpha", {{"a", "1"}}, std::numeric_limits<double>::infinity());
  b.add("lat_seconds_bucket", {{"le", "+Inf"}}, 4);
  b.add("lat_seconds_sum", {}, 0.25);
  b.add("lat_seconds_count", {}, 4);
  b.add("undescribed", {}, 7);
  b.add("gone", {}, 1);
  store.commit(w, b, 1000);
  b.samples().pop_back();  // "gone" turns stale
  store.commit(w, b, 2000);

  std::string out;
  render_exposition(store, out);
  EXPECT_EQ(out,
            "# HELP alpha First family.\n"
            "# TYPE alpha gauge\n"
            "alpha{a=\"1\"} +Inf\n"
            "alpha{b=\"2\"} 1.5\n"
            "# HELP lat_seconds A histogram.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{le=\"+Inf\"} 4\n"
            "lat_seconds_count 4\n"
            "lat_seconds_sum 0.25\n"
            "# TYPE undescribed untyped\n"
            "undescribed 7\n"
            "# HELP zeta_total Last family.\\nSecond line with \\\\ backslash.\n"
            "# TYPE zeta_total counter\n"
            "zeta_total{path=\"a\\\"b\"} 3\n");
}

// Buckets and quantiles in numeric order, as the text format and OpenMetrics want them: as strings, "10"
// sorts before "2.5" and "+Inf" first.
TEST(Exposition, BucketsAndQuantilesInNumericOrder) {
  ManualClock clock(0);
  Store store(StoreOptions{1h}, clock);
  WriterId w = store.register_writer("w", 15s);
  Batch b;
  b.describe("lat_seconds", MetricType::histogram, "");
  b.describe("rpc_seconds", MetricType::summary, "");
  for (const char* le : {"+Inf", "10", "2.5", "0.5", "1e-3", "1"})
    b.add("lat_seconds_bucket", {{"le", le}, {"job", "b"}}, 1);
  b.add("lat_seconds_bucket", {{"le", "5"}, {"job", "a"}}, 1);
  for (const char* q : {"0.99", "0.5", "0.9"}) b.add("rpc_seconds", {{"quantile", q}}, 1);
  b.add("rpc_seconds", {{"quantile", "median"}}, 1);  // not a number: after those that are
  store.commit(w, b, 1000);
  std::string out;
  render_exposition(store, out);
  EXPECT_EQ(out,
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{job=\"a\",le=\"5\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"1e-3\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"0.5\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"1\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"2.5\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"10\"} 1\n"
            "lat_seconds_bucket{job=\"b\",le=\"+Inf\"} 1\n"
            "# TYPE rpc_seconds summary\n"
            "rpc_seconds{quantile=\"0.5\"} 1\n"
            "rpc_seconds{quantile=\"0.9\"} 1\n"
            "rpc_seconds{quantile=\"0.99\"} 1\n"
            "rpc_seconds{quantile=\"median\"} 1\n");
}

TEST(Exposition, Values) {
  std::string out;
  append_value(out, 0.1);
  out += ' ';
  append_value(out, -std::numeric_limits<double>::infinity());
  out += ' ';
  append_value(out, std::nan(""));
  out += ' ';
  append_value(out, 1e21);
  EXPECT_EQ(out, "0.1 -Inf NaN 1e+21");
}

// Prometheus fails a whole scrape on one label value that is not UTF-8, so a key or table name in
// another encoding must not reach /metrics as it came.
TEST(Exposition, LabelValuesThatAreNotUtf8AreRepairedOnTheWayIn) {
  ManualClock clock(1000);
  Store store(StoreOptions{1h}, clock);
  auto writer = store.register_writer("test", 15s);
  Batch batch;
  batch.describe("pg_stat_user_tables_n_live_tup", MetricType::gauge, "Live rows.");
  batch.add("pg_stat_user_tables_n_live_tup", {{"relname", "caf\xE9"}}, 3);
  store.commit(writer, batch, 1000);
  std::string text;
  render_exposition(store, text);
  EXPECT_NE(text.find("pg_stat_user_tables_n_live_tup{relname=\"caf\xEF\xBF\xBD\"} 3"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("caf\xE9"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::store
