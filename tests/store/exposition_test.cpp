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
