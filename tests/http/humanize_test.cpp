// The status page's humaniser and link escaping (include/tocsin/http/humanize.hpp).
#include "tocsin/http/humanize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tocsin::http {
namespace {

TEST(Humanize, SiSuffixesWithFourSignificantDigitsAsPrometheus) {
  EXPECT_EQ(humanize(0), "0");
  EXPECT_EQ(humanize(42), "42");
  EXPECT_EQ(humanize(1234), "1.234k");
  EXPECT_EQ(humanize(1234567), "1.235M");
  EXPECT_EQ(humanize(-1633810095581.536), "-1.634T");
  EXPECT_EQ(humanize(0.9990593978609388), "999.1m");
  EXPECT_EQ(humanize(0.00123), "1.23m");
  EXPECT_EQ(humanize(0.000012), "12u");
  EXPECT_EQ(humanize(std::nan("")), "NaN");
  EXPECT_EQ(humanize(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(humanize(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(Humanize, SecondsBytesAndRatios) {
  EXPECT_EQ(humanize_seconds(0.35), "350ms");
  EXPECT_EQ(humanize_seconds(1.2), "1.2s");
  EXPECT_EQ(humanize_seconds(0.0000042), "4.2us");
  EXPECT_EQ(humanize_seconds(200), "3m 20s");
  EXPECT_EQ(humanize_seconds(2 * 86400 + 4 * 3600 + 60), "2d 4h 1m 0s");
  EXPECT_EQ(humanize_seconds(-1.5), "-1.5s");
  EXPECT_EQ(humanize_bytes(1610612736), "1.5 GiB");
  EXPECT_EQ(humanize_bytes(512), "512 B");
  EXPECT_EQ(humanize_ratio(0.9990593978609388), "99.91%");
  EXPECT_EQ(humanize_value(0.999, Unit::ratio), "99.9%");
  EXPECT_EQ(humanize_value(97.5, Unit::percent), "97.5%");
  EXPECT_EQ(humanize_value(-1633810095581.536, Unit::none), "-1.634T");
}

TEST(Humanize, TheUnitComesFromTheAnnotationOrTheMetricNames) {
  EXPECT_EQ(unit_of("bytes", "up"), Unit::bytes);
  EXPECT_EQ(
      unit_of("", "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"),
      Unit::seconds);
  EXPECT_EQ(unit_of("", "node_filesystem_avail_bytes{mountpoint=\"/_seconds\"} < 1e9"), Unit::bytes);
  EXPECT_EQ(unit_of("", "rate(process_cpu_seconds_total[5m]) > 0.9"), Unit::ratio);
  EXPECT_EQ(unit_of("", "slo:error_budget_ratio < 0.1"), Unit::ratio);
  // Mixed kinds or none: Prometheus's humanize.
  EXPECT_EQ(unit_of("", "node_memory_MemAvailable_bytes / node_load1_seconds"), Unit::none);
  EXPECT_EQ(unit_of("", "pg_up == 0"), Unit::none);
  EXPECT_EQ(unit_from_name("furlongs"), Unit::none);
}

TEST(LinkHtml, OnlyHttpAndHttpsUrlsBecomeLinks) {
  EXPECT_EQ(link_html("https://runbooks.example/pg?a=1&b=2", "runbook"),
            "<a href=\"https://runbooks.example/pg?a=1&amp;b=2\" rel=\"noopener noreferrer\">runbook</a>");
  EXPECT_TRUE(is_web_link("HTTP://host:9850/"));
  for (const char* bad : {"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<b>x</b>",
                          "vbscript:x", "/relative/path", "http:/one-slash", "https://a b", "https://x\n",
                          "java\tscript:alert(1)", "", "//evil.example/"}) {
    EXPECT_FALSE(is_web_link(bad)) << bad;
    const std::string html = link_html(bad, "runbook");
    EXPECT_EQ(html.find("<a "), std::string::npos) << html;
    EXPECT_EQ(html.find("href"), std::string::npos) << html;
  }
  EXPECT_EQ(link_html("javascript:alert(\"x\")", "runbook"),
            "runbook <code class=\"nolink\">javascript:alert(&quot;x&quot;)</code>");
  EXPECT_EQ(html_escape("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
}

}  // namespace
}  // namespace tocsin::http
