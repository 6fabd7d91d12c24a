// The status page's "What is slow now" section over series shaped as the postgres, redis and queues
// collectors export them (src/collectors/*/README.md).
#include "tocsin/http/slow_now.hpp"

#include <gtest/gtest.h>

#include "tocsin/promql/series_notation.hpp"

namespace tocsin::http {
namespace {

constexpr Timestamp kNow = 3'600'000;

// A counter rising by `per_minute` each minute over the last 10 minutes.
void counter(promql::MemoryQuerier& q, const Labels& labels, double per_minute) {
  for (int i = 0; i <= 10; ++i) q.add(labels, {kNow - (10 - i) * 60'000, 1000 + per_minute * i});
}

TEST(SlowNow, TopStatementsRedisSlowLogAndOldestQueueJobs) {
  promql::MemoryQuerier q;
  const Labels slow{{"__name__", "pg_stat_statements_seconds_total"},
                    {"instance", "db-1"},
                    {"datname", "app"},
                    {"user", "web"},
                    {"queryid", "111"}};
  const Labels quick{{"__name__", "pg_stat_statements_seconds_total"},
                     {"instance", "db-1"},
                     {"datname", "app"},
                     {"user", "web"},
                     {"queryid", "222"}};
  const Labels idle{{"__name__", "pg_stat_statements_seconds_total"},
                    {"instance", "db-1"},
                    {"datname", "app"},
                    {"user", "web"},
                    {"queryid", "333"}};
  counter(q, slow, 12);     // 60 s in 5 minutes
  counter(q, quick, 0.07);  // 350 ms
  counter(q, idle, 0);      // no time: left out
  counter(q,
          Labels{{"__name__", "pg_stat_statements_calls_total"},
                 {"instance", "db-1"},
                 {"datname", "app"},
                 {"user", "web"},
                 {"queryid", "111"}},
          24);
  // Only 111 has its text (statements.query_text); the text is escaped.
  q.add(Labels{{"__name__", "pg_stat_statements_query_id"},
               {"instance", "db-1"},
               {"queryid", "111"},
               {"query", "SELECT * FROM orders WHERE total > $1 AND note <> '<b>'"}},
        {kNow - 10'000, 1});
  counter(q,
          Labels{{"__name__", "redis_slowlog_entries_total"}, {"instance", "cache-1:6379"}, {"cmd", "keys"}},
          2);
  q.add(Labels{{"__name__", "redis_slowlog_last_id"}, {"instance", "cache-1:6379"}}, {kNow - 10'000, 77});
  q.add(Labels{{"__name__", "tocsin_queue_latency_seconds"},
               {"instance", "redis-q"},
               {"system", "rq"},
               {"name", "emails"}},
        {kNow - 10'000, 754});
  q.add(
      Labels{
          {"__name__", "tocsin_queue_length"}, {"instance", "redis-q"}, {"system", "rq"}, {"name", "emails"}},
      {kNow - 10'000, 1234});
  q.add(Labels{{"__name__", "sidekiq_queue_latency_seconds"}, {"instance", "redis-q"}, {"name", "default"}},
        {kNow - 10'000, 1.5});

  const std::string html = render_slow_now(q, promql::EngineOptions{}, kNow);
  EXPECT_NE(html.find("What is slow now <span class=\"muted\">(last 5m)"), std::string::npos) << html;
  // Statements by time, the slowest first, with calls and time per call; text only where exported.
  const std::size_t first = html.find("<td class=\"nowrap\">1m 0s</td><td>120</td><td>500ms</td>");
  const std::size_t second = html.find("<td class=\"nowrap\">350ms</td>");
  ASSERT_NE(first, std::string::npos) << html;
  ASSERT_NE(second, std::string::npos) << html;
  EXPECT_LT(first, second);
  EXPECT_NE(
      html.find(
          "<code>SELECT * FROM orders WHERE total &gt; $1 AND note &lt;&gt; &#39;&lt;b&gt;&#39;</code>"),
      std::string::npos)
      << html;
  EXPECT_NE(html.find("queryid 222 (text off: statements.query_text)"), std::string::npos);
  EXPECT_EQ(html.find("queryid 333"), std::string::npos);
  // Redis: by command, arguments never shown.
  EXPECT_NE(
      html.find("<td>10</td><td><code>keys</code> <span class=\"muted\">(arguments redacted)</span></td>"
                "<td>cache-1:6379</td>"),
      std::string::npos)
      << html;
  // Queues: the oldest first, with the queue's length.
  const std::size_t emails =
      html.find("<td class=\"nowrap\">12m 34s</td><td>emails</td><td>1.234k</td><td>rq</td>");
  const std::size_t sidekiq = html.find("<td class=\"nowrap\">1.5s</td><td>default</td>");
  ASSERT_NE(emails, std::string::npos) << html;
  ASSERT_NE(sidekiq, std::string::npos) << html;
  EXPECT_LT(emails, sidekiq);
}

TEST(SlowNow, SaysWhatIsMissingWhenNoCollectorExportsIt) {
  promql::MemoryQuerier q;
  const std::string html = render_slow_now(q, promql::EngineOptions{}, kNow);
  EXPECT_NE(html.find("No statement took time in the last 5m"), std::string::npos) << html;
  EXPECT_NE(html.find("no redis collector reads the slow log"), std::string::npos);
  EXPECT_NE(html.find("No queue latency recorded"), std::string::npos);
  EXPECT_EQ(html.find("<table>"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::http
