// Alert templates: Prometheus's functions and formatting, and clear errors for what is unsupported.
#include "tocsin/rules/template.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tocsin::rules {
namespace {

std::string render(const std::string& text, double value,
                   const Labels& labels = {{"instance", "db-1:5432"}, {"job", "pg"}}) {
  Labels external{{"cluster", "eu-1"}};
  return Template(text).render({&labels, value, &external, "http://tocsin:9850"});
}

std::string error_of(const std::string& text) {
  try {
    Template t(text);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Template, LabelsValuesAndPipelines) {
  EXPECT_EQ(render("{{ $labels.instance }} at {{ $value }}", 0.5), "db-1:5432 at 0.5");
  EXPECT_EQ(render("{{ .Labels.job }}/{{ .Value }}", 1234567), "pg/1.234567e+06");
  EXPECT_EQ(render("{{ $value | humanizePercentage }}", 0.8765), "87.65%");
  EXPECT_EQ(render("{{ humanize $value }}", 1234567), "1.235M");
  EXPECT_EQ(render("{{ $value | humanize }}", 0.00123), "1.23m");
  EXPECT_EQ(render("{{ humanize1024 $value }}", 1073741824), "1Gi");
  EXPECT_EQ(render("{{ $value | humanizeDuration }}", 93784), "1d 2h 3m 4s");
  EXPECT_EQ(render("{{ humanizeDuration $value }}", 0.25), "250ms");
  EXPECT_EQ(render("{{ humanizeDuration $value }}", 42.5), "42.5s");
  EXPECT_EQ(render("{{ printf \"%.2f\" $value }} {{ printf \"%d%%\" 5 }}", 3.14159), "3.14 5%");
  EXPECT_EQ(render("{{ $labels.instance | stripPort | toUpper }}", 0), "DB-1");
  EXPECT_EQ(render("{{ $externalLabels.cluster }} {{ $externalURL }}", 0), "eu-1 http://tocsin:9850");
  EXPECT_EQ(render("{{ reReplaceAll \"-(\\\\d)\" \"_$1\" $labels.instance }}", 0), "db_1:5432");
  EXPECT_EQ(render("a {{- \" b \" -}} c", 0), "a b c");
  EXPECT_EQ(render("{{ $labels.missing }}|{{ humanize $value }}", std::nan("")), "|NaN");
  EXPECT_EQ(render("{{ index $labels \"job\" }}", 0), "pg");
  EXPECT_EQ(render("{{/* a comment */}}plain", 0), "plain");
  EXPECT_EQ(render("{{ humanizeTimestamp $value }}", 1709214300), "2024-02-29 13:45:00 +0000 UTC");
  EXPECT_TRUE(Template("no actions").is_constant());
}

TEST(Template, UnsupportedAndBrokenTemplatesAreRejected) {
  EXPECT_EQ(error_of("{{ if gt $value 1.0 }}x{{ end }}"),
            "template action {{ if gt $value 1.0 }}: \"if\" is not supported in tocsin templates (only "
            "expressions and pipelines)");
  EXPECT_EQ(error_of("{{ query \"up\" | first | value }}"),
            "template action {{ query \"up\" | first | value }}: the query functions (query) are not "
            "supported in tocsin templates");
  EXPECT_EQ(error_of("{{ $labels.job"), "unclosed action: missing \"}}\"");
  EXPECT_EQ(error_of("{{ nosuch $value }}"),
            "template action {{ nosuch $value }}: function \"nosuch\" not defined");
  EXPECT_EQ(error_of("{{ $nope }}"), "template action {{ $nope }}: undefined variable \"$nope\"");
  EXPECT_EQ(error_of("{{ \"x }}"), "template action {{ \"x }}: unterminated string");
}

// Go's parenthesised arguments: a nested pipeline whose result is one argument.
TEST(Template, ParenthesisedPipelines) {
  EXPECT_EQ(render("{{ printf \"%s free\" (humanize $value) }}", 1234567), "1.235M free");
  EXPECT_EQ(render("{{ printf \"%s/%s\" ($labels.instance | stripPort) (index $labels \"job\") }}", 0),
            "db-1/pg");
  EXPECT_EQ(render("{{ (humanizePercentage $value) | toUpper }}", 0.5), "50%");
  EXPECT_EQ(render("{{ printf \"%s\" (toUpper (printf \"%.1f\" $value)) }}", 2.25), "2.2");
  EXPECT_EQ(error_of("{{ printf \"%s\" (humanize $value }}"),
            "template action {{ printf \"%s\" (humanize $value }}: unclosed left paren");
  EXPECT_EQ(error_of("{{ humanize $value) }}"), "template action {{ humanize $value) }}: unexpected \")\"");
  EXPECT_EQ(error_of("{{ () }}"), "template action {{ () }}: missing value for command");
}

TEST(Template, GoFloatFormatting) {
  EXPECT_EQ(go_float(0.1), "0.1");
  EXPECT_EQ(go_float(100000), "100000");
  EXPECT_EQ(go_float(1e6), "1e+06");
  EXPECT_EQ(go_float(0.0001), "0.0001");
  EXPECT_EQ(go_float(0.00001), "1e-05");
  EXPECT_EQ(go_float(-2.5), "-2.5");
  EXPECT_EQ(go_float(std::numeric_limits<double>::infinity()), "+Inf");
}

}  // namespace
}  // namespace tocsin::rules
