// The exposition parser on captured real expositions (tests/data/scrape: node_exporter 1.5,
// redis_exporter and the Python client 0.16 in both formats) and on each malformed form, which must
// name its line and column.
#include "collectors/scrape/exposition.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace tocsin::collectors::scrape {
namespace {

std::string data(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/scrape/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Parsed {
  std::vector<std::string> series;  // name{a="b",...} as written (order kept)
  std::vector<double> values;
  std::map<std::string, store::MetricType> types;
  std::map<std::string, std::string> help;
  std::vector<std::optional<Timestamp>> timestamps;
};

Parsed parse(std::string_view body, Format format) {
  Parsed out;
  ExpositionParser p(body, format);
  Entry e;
  while (p.next(e)) {
    if (e.kind == EntryKind::type) out.types[std::string(e.name)] = e.type;
    if (e.kind == EntryKind::help) out.help[std::string(e.name)] = std::string(e.text);
    if (e.kind != EntryKind::sample) continue;
    std::string s(e.name);
    s += '{';
    for (const auto& l : e.labels) s += std::string(l.name) + "=" + std::string(l.value) + ",";
    s += '}';
    out.series.push_back(s);
    out.values.push_back(e.value);
    out.timestamps.push_back(e.timestamp);
  }
  return out;
}

ExpositionError error_of(std::string_view body, Format format) {
  try {
    parse(body, format);
  } catch (const ExpositionError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << body;
  return ExpositionError(0, 0, "");
}

TEST(Exposition, NodeExporterCapture) {
  const std::string body = data("node_exporter.prom");
  Parsed p = parse(body, Format::text);
  EXPECT_GT(p.series.size(), 500u);
  EXPECT_EQ(p.types["node_cpu_seconds_total"], store::MetricType::counter);
  EXPECT_EQ(p.types["go_gc_duration_seconds"], store::MetricType::summary);
  EXPECT_EQ(p.types["node_load1"], store::MetricType::gauge);
  EXPECT_FALSE(p.help["node_load1"].empty());
  // Every non-comment, non-blank line is one sample.
  std::size_t lines = 0;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) lines += !line.empty() && line[0] != '#';
  EXPECT_EQ(p.series.size(), lines);
}

TEST(Exposition, RedisExporterCapture) {
  Parsed p = parse(data("redis_exporter.prom"), Format::text);
  EXPECT_GT(p.series.size(), 100u);
  EXPECT_NE(std::find(p.series.begin(), p.series.end(), "redis_up{}"), p.series.end());
}

TEST(Exposition, PythonClientBothFormats) {
  Parsed text = parse(data("python_client.prom"), Format::text);
  Parsed om = parse(data("python_client.openmetrics"), Format::openmetrics);
  EXPECT_EQ(om.types["http_request_duration_seconds"], store::MetricType::histogram);
  EXPECT_EQ(om.types["http_requests"], store::MetricType::counter);
  EXPECT_EQ(om.types["app_response_bytes"], store::MetricType::summary);
  EXPECT_EQ(om.types["app_build"], store::MetricType::gauge);  // info
  auto has = [](const Parsed& p, std::string_view prefix) {
    return std::any_of(p.series.begin(), p.series.end(),
                       [&](const std::string& s) { return s.starts_with(prefix); });
  };
  EXPECT_TRUE(has(om, "http_request_duration_seconds_created{"));
  EXPECT_TRUE(has(om, "http_requests_total{"));
  EXPECT_TRUE(has(om, "http_requests_created{"));
  EXPECT_TRUE(has(text, "http_requests_created{"));
  EXPECT_TRUE(has(om, "app_build_info{"));
  // Escapes: the label value holds a quote, a backslash and a newline; NaN and the infinities parse.
  bool escaped = false;
  for (std::size_t i = 0; i < om.series.size(); ++i) {
    if (om.series[i] == "app_label_escapes{text=say \"hi\"\\ and\nbye,}") {
      escaped = true;
      EXPECT_TRUE(std::isnan(om.values[i]));
    }
    if (om.series[i] == "app_label_escapes{text=minus inf,}") {
      EXPECT_EQ(om.values[i], -INFINITY);
    }
  }
  EXPECT_TRUE(escaped);
  EXPECT_EQ(om.help["app_label_escapes"], "A gauge whose labels need escaping:\nquote \" and backslash \\.");
}

TEST(Exposition, TextFormatDetails) {
  Parsed p = parse(
      "# A comment\n"
      "\n"
      "# TYPE a counter\n"
      "# HELP a Help with \\\\ and \\n.\n"
      "a{x=\"1\",y=\"two words\",} 1.5e3 1700000000000\n"
      "  b   2\n"
      "c{} +Inf\n"
      "d -Inf\n"
      "e NaN\n"
      "f{v=\"a\\tb\"} -0.5\n",
      Format::text);
  ASSERT_EQ(p.series.size(), 6u);
  EXPECT_EQ(p.series[0], "a{x=1,y=two words,}");
  EXPECT_EQ(p.values[0], 1500);
  EXPECT_EQ(p.timestamps[0], 1700000000000);
  EXPECT_EQ(p.help["a"], "Help with \\ and \n.");
  EXPECT_EQ(p.values[2], INFINITY);
  EXPECT_EQ(p.values[3], -INFINITY);
  EXPECT_TRUE(std::isnan(p.values[4]));
  EXPECT_EQ(p.series[5], "f{v=a\\tb,}");  // unknown escapes stay, as Prometheus keeps them
}

TEST(Exposition, OpenMetricsDetails) {
  Parsed p = parse(
      "# TYPE r counter\n"
      "# UNIT r seconds\n"
      "# HELP r The \\\"r\\\".\n"
      "r_total{a=\"b\"} 17 1520879607.789 # {trace_id=\"kx\"} 1.0 1520879607.7\n"
      "r_created{a=\"b\"} 1520430000.123\n"
      "g 1 # {} 2\n"
      "# EOF\n",
      Format::openmetrics);
  ASSERT_EQ(p.series.size(), 3u);
  EXPECT_EQ(p.timestamps[0], 1520879607789);
  EXPECT_EQ(p.help["r"], "The \"r\".");
  EXPECT_EQ(p.series[1], "r_created{a=b,}");
}

TEST(Exposition, GoFloats) {
  EXPECT_EQ(parse_go_float("1"), 1.0);
  EXPECT_EQ(parse_go_float("+1.5"), 1.5);
  EXPECT_EQ(parse_go_float("-2e-3"), -0.002);
  EXPECT_EQ(parse_go_float("inf"), INFINITY);
  EXPECT_EQ(parse_go_float("-Infinity"), -INFINITY);
  EXPECT_TRUE(std::isnan(*parse_go_float("NaN")));
  EXPECT_EQ(parse_go_float("0x10"), 16.0);
  EXPECT_FALSE(parse_go_float("+NaN"));
  EXPECT_FALSE(parse_go_float("1,5"));
  EXPECT_FALSE(parse_go_float("--1"));
  EXPECT_FALSE(parse_go_float(""));
  EXPECT_FALSE(parse_go_float("1e999"));
}

struct BadCase {
  const char* body;
  Format format;
  std::size_t line;
  std::size_t column;
  const char* message;
};

TEST(Exposition, MalformedLinesNameLineAndColumn) {
  const BadCase cases[] = {
      {"a 1\nb{x=\"1\" 2\n", Format::text, 2, 9, "expected ',' or '}'"},
      {"a 1\nb{x=\"1} 2\n", Format::text, 2, 5, "unterminated label value"},
      {"a one\n", Format::text, 1, 3, "invalid value \"one\""},
      {"a\n", Format::text, 1, 2, "expected a value"},
      {"1a 1\n", Format::text, 1, 1, "expected a metric name"},
      {"a{1x=\"v\"} 1\n", Format::text, 1, 3, "expected a label name"},
      {"a{x=\"v\",x=\"w\"} 1\n", Format::text, 1, 9, "duplicate label name \"x\""},
      {"a 1 12.5\n", Format::text, 1, 5, "invalid timestamp"},
      {"a 1 2 3\n", Format::text, 1, 7, "unexpected text after the timestamp"},
      {"# TYPE a countr\n", Format::text, 1, 10, "invalid metric type \"countr\""},
      {"a{x=\"\xff\"} 1\n", Format::text, 1, 6, "invalid UTF-8"},
      {"a 1 # {x=\"y\"} 1\n", Format::text, 1, 5, "invalid timestamp"},
      {"a 1\n", Format::openmetrics, 1, 4, "does not end with # EOF"},
      {"a 1\n# EOF\nb 2\n", Format::openmetrics, 3, 1, "unexpected data after # EOF"},
      {"a 1\n\n# EOF\n", Format::openmetrics, 2, 1, "empty line"},
      {"# comment\n# EOF\n", Format::openmetrics, 1, 3, "OpenMetrics has no other comments"},
      {"", Format::openmetrics, 1, 1, "empty OpenMetrics body"},
      {"a{x=\"\\t\"} 1\n# EOF\n", Format::openmetrics, 1, 6, "invalid escape"},
      {"a 1 # x\n# EOF\n", Format::openmetrics, 1, 7, "exemplar"},
      {"http_requests_total{code=\"200\"", Format::text, 1, 31, "expected ',' or '}'"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.body);
    ExpositionError e = error_of(c.body, c.format);
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_EQ(e.column(), c.column) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
  }
}

TEST(Exposition, TruncatedCaptureFails) {
  const std::string body = data("python_client.openmetrics");
  // Cut in the middle of a line, and at a line boundary before # EOF: both are errors.
  EXPECT_THROW(parse(std::string_view(body).substr(0, body.size() / 2), Format::openmetrics),
               ExpositionError);
  const auto eof = body.rfind("# EOF");
  EXPECT_THROW(parse(std::string_view(body).substr(0, eof), Format::openmetrics), ExpositionError);
}

TEST(Exposition, FormatFromContentType) {
  EXPECT_EQ(format_of("application/openmetrics-text; version=1.0.0; charset=utf-8"), Format::openmetrics);
  EXPECT_EQ(format_of("text/plain; version=0.0.4"), Format::text);
  EXPECT_EQ(format_of(""), Format::text);
}

}  // namespace
}  // namespace tocsin::collectors::scrape
