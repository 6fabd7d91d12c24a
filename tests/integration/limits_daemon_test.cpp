// The series limits through the real daemon (docs/reliability.md, Series): the host collector with a
// sample_limit below what it produces, and a scrape of a large exposition against the store's
// max_series. Both caps hold, both are counted, each is logged once.

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "fixtures/http_receiver.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

// The value of the line `series value` of an exposition, or -1 when it is absent.
double value_of(const std::string& exposition, const std::string& series) {
  const std::size_t at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

// The value of an instant query's single result, or -1.
double query_value(const Daemon& d, const std::string& expr) {
  std::string encoded;
  for (unsigned char c : expr) {
    static const char* hex = "0123456789ABCDEF";
    if (std::isalnum(c) || c == '_' || c == '(' || c == ')') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += hex[c >> 4];
      encoded += hex[c & 15];
    }
  }
  const std::string body = d.get("/api/v1/query?query=" + encoded).body;
  const std::size_t value = body.find("\"value\":[");
  if (value == std::string::npos) return -1;
  const std::size_t quote = body.find(",\"", value);
  if (quote == std::string::npos) return -1;
  return std::stod(body.substr(quote + 2));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(SeriesLimits, ASampleLimitAndMaxSeriesHoldThroughTheDaemonCountedAndLoggedOnce) {
  HttpReceiver exporter;
  std::string body = "# TYPE app_items gauge\n";
  for (int i = 0; i < 3000; ++i)
    body += "app_items{item=\"" + std::to_string(i) + "\"} " + std::to_string(i) + "\n";
  exporter.respond(200, body);
  Daemon d(
      "interval: 1s\nmax_series: 1000\ncollectors:\n  host:\n    - sample_limit: 20\n  scrape:\n"
      "    - job_name: big\n      static_configs: [{targets: ['127.0.0.1:" +
      std::to_string(exporter.port()) + "']}]\n");
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string host_dropped =
      "tocsin_collector_samples_dropped_total{collector=\"host\",reason=\"sample_limit\",target=\"host\"}";
  const std::string scrape_refused =
      "tocsin_collector_samples_dropped_total{collector=\"scrape\",reason=\"series_limit\",target=\"big\"}";
  std::string metrics;
  // A few cycles of each, so that "once" means something.
  ASSERT_TRUE(wait_until(
      [&] {
        metrics = d.get("/metrics").body;
        return value_of(metrics, scrape_refused) >= 3 * 2000 && value_of(metrics, host_dropped) > 0 &&
               exporter.count() >= 3;
      },
      30s))
      << metrics;
  // The store is full at its limit and stays there; the host collector holds its 20.
  EXPECT_EQ(value_of(metrics, "tocsin_store_series"), 1000) << metrics;
  EXPECT_EQ(value_of(metrics, "tocsin_store_series_limit"), 1000) << metrics;
  EXPECT_GE(value_of(metrics, "tocsin_store_series_refused_total"), 3 * 2000) << metrics;
  // (Fewer than 20 when the scrape filled the store first: the global limit applies to every writer.)
  const double host_series = query_value(d, "count({__name__=~\"node_.+\"})");
  EXPECT_GT(host_series, 0);
  EXPECT_LE(host_series, 20);
  EXPECT_LT(query_value(d, "count(app_items)"), 1000);
  const std::string log = d.log();
  EXPECT_EQ(occurrences(log, "more than its sample_limit of 20"), 1u) << log;
  EXPECT_EQ(occurrences(log, "the store holds max_series=1000 series"), 1u) << log;
}

}  // namespace
}  // namespace tocsin::testing
