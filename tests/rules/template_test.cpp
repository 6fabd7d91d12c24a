// Alert templates: Go's text/template language with Prometheus's functions, the data templates see,
// positions of errors, and the limits that keep a hostile template from crashing or exhausting the
// daemon. (What promtool renders for the same templates: template_cases_test.cpp.)
#include "tocsin/rules/template.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <cmath>
#include <functional>
#include <limits>

namespace tocsin::rules {
namespace {

const Labels kLabels{{"instance", "db-1:5432"}, {"job", "pg"}};

std::string render(const std::string& text, double value, const Labels& labels = kLabels,
                   TemplateQuery query = {}) {
  Labels external{{"cluster", "eu-1"}};
  return Template(text, "A").render(
      {&labels, value, &external, "http://tocsin:9850/prefix", std::move(query)});
}

std::string render_error(const std::string& text, double value = 0) {
  try {
    render(text, value);
  } catch (const TemplateError& e) {
    return e.what();
  }
  return "no error";
}

struct Failure {
  std::string message;
  int line = 0, column = 0;
};

Failure parse_error(const std::string& text) {
  try {
    Template t(text, "A");
  } catch (const TemplateError& e) {
    return {e.what(), e.line(), e.column()};
  }
  return {"no error"};
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
  EXPECT_EQ(render("{{ printf \"%.2f\" $value }} {{ printf \"%d%%\" 5 }}", 3.14159), "3.14 5%");
  EXPECT_EQ(render("{{ $labels.instance | stripPort | toUpper }}", 0), "DB-1");
  EXPECT_EQ(render("{{ $externalLabels.cluster }} {{ $externalURL }}", 0), "eu-1 http://tocsin:9850/prefix");
  EXPECT_EQ(render("{{ externalURL }} {{ pathPrefix }}", 0), "http://tocsin:9850/prefix /prefix");
  EXPECT_EQ(render("{{ reReplaceAll \"-(\\\\d)\" \"_$1\" $labels.instance }}", 0), "db_1:5432");
  EXPECT_EQ(render("a {{- \" b \" -}} c", 0), "a b c");
  EXPECT_EQ(render("{{ $labels.missing }}|{{ humanize $value }}", std::nan("")), "|NaN");
  EXPECT_EQ(render("{{ index $labels \"job\" }}", 0), "pg");
  EXPECT_EQ(render("{{/* a comment */}}plain", 0), "plain");
  EXPECT_EQ(render("{{ humanizeTimestamp $value }}", 1709214300), "2024-02-29 13:45:00 +0000 UTC");
  EXPECT_EQ(render("{{ $labels }}", 0), "map[instance:db-1:5432 job:pg]");
  EXPECT_TRUE(Template("no actions").is_constant());
  EXPECT_FALSE(Template("{{ 1 }}").is_constant());
}

TEST(Template, ControlStructures) {
  const std::string tiers =
      "{{ if gt $value 10.0 }}critical{{ else if gt $value 5.0 }}warning{{ else }}ok{{ end }}";
  EXPECT_EQ(render(tiers, 11), "critical");
  EXPECT_EQ(render(tiers, 6), "warning");
  EXPECT_EQ(render(tiers, 1), "ok");
  EXPECT_EQ(render("{{ with $labels.job }}job {{ . }}{{ else }}none{{ end }}", 0), "job pg");
  EXPECT_EQ(render("{{ with $labels.nope }}x{{ else }}none{{ end }}", 0), "none");
  EXPECT_EQ(render("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}", 0),
            "instance=db-1:5432 job=pg ");
  EXPECT_EQ(
      render("{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ break }}{{ end }}{{ $k }}{{ end }}", 0),
      "instance");
  EXPECT_EQ(
      render(
          "{{ range $k, $v := $labels }}{{ if eq $k \"instance\" }}{{ continue }}{{ end }}{{ $k }}{{ end }}",
          0),
      "job");
  EXPECT_EQ(
      render("{{ define \"t\" }}<{{ .arg0 }}|{{ .arg1 }}>{{ end }}{{ template \"t\" args $labels.job 2 }}",
             0),
      "<pg|2>");
  EXPECT_EQ(render("{{ block \"b\" $value }}[{{ . }}]{{ end }}", 3), "[3]");
  EXPECT_EQ(render("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", 0), "2");
  EXPECT_EQ(render("{{ and 1 0 }}|{{ or 0 \"x\" }}|{{ not \"\" }}|{{ and false (index $labels 1) }}", 0),
            "0|x|true|false");
  EXPECT_EQ(render("{{ eq $labels.job \"a\" \"pg\" }} {{ ne 1 2 }} {{ lt \"a\" \"b\" }} {{ ge 2.0 2.5 }}", 0),
            "true true true false");
  EXPECT_EQ(render("{{ len $labels }} {{ slice \"abcdef\" 1 3 }} {{ index \"abc\" 0 }}", 0), "2 bc 97");
  EXPECT_EQ(
      render("{{ html \"<&>\" }} {{ js \"'\" }} {{ urlquery \"a b\" }} {{ print 1 2 }} {{ println \"x\" }}",
             0),
      "&lt;&amp;&gt; \\' a+b 1 2 x\n");
  EXPECT_EQ(render("{{ (printf \"%s-%s\" $labels.job \"x\") | toUpper }}", 0), "PG-X");
}

TEST(Template, GoFormatting) {
  EXPECT_EQ(render("{{ printf \"%v %v %g %e %.3g\" 1e6 0.1 1e21 1.5 1234.5678 }}", 0),
            "1e+06 0.1 1e+21 1.500000e+00 1.23e+03");
  EXPECT_EQ(render("{{ printf \"%5.1f|%-6d|%06.2f|%x|%q|%t\" 2.25 42 -1.5 255 \"a\\\"b\" true }}", 0),
            "  2.2|42    |-01.50|ff|\"a\\\"b\"|true");
  EXPECT_EQ(render("{{ printf \"%d %s\" 1.5 }}", 0), "%!d(float64=1.5) %!s(MISSING)");
  EXPECT_EQ(render("{{ printf \"%v\" $value }}", std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(go_float(0.1), "0.1");
  EXPECT_EQ(go_float(100000), "100000");
  EXPECT_EQ(go_float(1e6), "1e+06");
  EXPECT_EQ(go_float(0.0001), "0.0001");
  EXPECT_EQ(go_float(0.00001), "1e-05");
  EXPECT_EQ(go_float(-2.5), "-2.5");
  EXPECT_EQ(go_float(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(Template, QueryRunsThroughTheCallback) {
  std::vector<std::string> asked;
  TemplateQuery query = [&](const std::string& expr) {
    asked.push_back(expr);
    if (expr == "bad(") throw std::runtime_error("1:5: parse error: unexpected end of input");
    return std::vector<TemplateSample>{{Labels{{"__name__", "up"}, {"instance", "b"}}, 1},
                                       {Labels{{"__name__", "up"}, {"instance", "a"}}, 0}};
  };
  EXPECT_EQ(
      render(
          "{{ range sortByLabel \"instance\" (query \"up\") }}{{ .Labels.instance }}={{ .Value }} {{ end }}",
          0, kLabels, query),
      "a=0 b=1 ");
  EXPECT_EQ(
      render("{{ query \"up\" | first | label \"instance\" }} {{ with query \"up\" }}{{ len . }}{{ end }}", 0,
             kLabels, query),
      "b 2");
  EXPECT_EQ(asked.size(), 3u);
  try {
    render("{{ query \"bad(\" }}", 0, kLabels, query);
    FAIL();
  } catch (const TemplateError& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <query "
        "\"bad(\">: error calling query: 1:5: parse error: unexpected end of input");
  }
  EXPECT_NE(render_error("{{ query \"up\" }}").find("error calling query: no query function"),
            std::string::npos);
}

TEST(Template, ParseErrorsArePrometheusTextWithTheirPosition) {
  Failure f = parse_error("{{ nosuch $value }}");
  EXPECT_EQ(f.message, "template: __alert_A:1: function \"nosuch\" not defined");
  EXPECT_EQ(f.line, 1);
  EXPECT_EQ(f.column, 4);
  f = parse_error("first line\n  {{ if }}");
  EXPECT_EQ(f.message, "template: __alert_A:2: missing value for if");
  EXPECT_EQ(f.line, 2);
  f = parse_error("{{ $nope }}");
  EXPECT_EQ(f.message, "template: __alert_A:1: undefined variable \"$nope\"");
  EXPECT_EQ(f.column, 4);
  EXPECT_EQ(parse_error("{{ if true }}x").message, "template: __alert_A:1: unexpected EOF");
  EXPECT_EQ(parse_error("{{ break }}").message, "template: __alert_A:1: {{break}} outside {{range}}");
  EXPECT_EQ(parse_error("{{ \"x }}").message, "template: __alert_A:1: unterminated quoted string");
  EXPECT_EQ(parse_error("{{ tmpl \"x\" . }}").message,
            "template: __alert_A:1: function \"tmpl\" not defined");
}

TEST(Template, RenderErrorsArePrometheusText) {
  EXPECT_EQ(
      render_error("{{ humanize \"h:1\" }}"),
      "error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <humanize "
      "\"h:1\">: error calling humanize: strconv.ParseFloat: parsing \"h:1\": invalid syntax");
  EXPECT_EQ(
      render_error("{{ if gt $value 1 }}x{{ end }}"),
      "error executing template __alert_A: template: __alert_A:1:118: executing \"__alert_A\" at <gt $value "
      "1>: error calling gt: incompatible types for comparison");
  EXPECT_EQ(
      render_error("{{ range 3 }}{{ end }}"),
      "error executing template __alert_A: template: __alert_A:1:121: executing \"__alert_A\" at <3>: range "
      "can't iterate over 3");
}

// Runs `fn` on a thread with a stack of `bytes` (a crash there fails the whole test binary).
void on_small_stack(std::size_t bytes, const std::function<void()>& fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, bytes);
  pthread_t thread;
  auto* task = new std::function<void()>(fn);
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                  auto* f = static_cast<std::function<void()>*>(arg);
                  (*f)();
                  delete f;
                  return nullptr;
                },
                task),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
}

// The limits hold on a thread with a small stack (1 MiB; Linux threads get 8 MiB by default).
TEST(Template, DeepTemplatesFitASmallStack) {
  on_small_stack(1024 * 1024, [] {
    const std::string deep = "{{ " + std::string(30000, '(') + "1" + std::string(30000, ')') + " }}";
    EXPECT_EQ(parse_error(deep).message, "template: __alert_A:1: max expression depth exceeded");
    EXPECT_EQ(render("{{ " + std::string(99, '(') + "1" + std::string(99, ')') + " }}", 0), "1");
    EXPECT_NE(
        render_error(
            "{{ define \"r\" }}{{ if true }}{{ with . }}{{ template \"r\" . }}{{ end }}{{ end }}{{ end }}"
            "{{ template \"r\" 1 }}")
            .find("exceeded maximum template nesting (1000)"),
        std::string::npos);
    EXPECT_NE(render_error("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" 1 }}")
                  .find("exceeded maximum template depth (1000)"),
              std::string::npos);
  });
}

// A template is user input: nesting, recursion, output and work are bounded, with an error, never a crash.
TEST(Template, HostileTemplatesFailCleanly) {
  const std::string deep = "{{ " + std::string(30000, '(') + "1" + std::string(30000, ')') + " }}";
  const Failure f = parse_error(deep);
  EXPECT_EQ(f.message, "template: __alert_A:1: max expression depth exceeded");
  EXPECT_EQ(f.line, 1);
  EXPECT_GT(f.column, 90);
  std::string nested_ifs;
  for (int i = 0; i < 5000; ++i) nested_ifs += "{{ if true }}";
  EXPECT_EQ(parse_error(nested_ifs).message, "template: __alert_A:1: max expression depth exceeded");
  // Within the parse limit, 99 nested parentheses evaluate.
  EXPECT_EQ(render("{{ " + std::string(99, '(') + "1" + std::string(99, ')') + " }}", 0), "1");

  EXPECT_NE(render_error("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" 1 }}")
                .find("exceeded maximum template depth (1000)"),
            std::string::npos);
  // Exponential work: each call makes two.
  EXPECT_NE(
      render_error(
          "{{ define \"r\" }}x{{ template \"r\" . }}{{ template \"r\" . }}{{ end }}{{ template \"r\" 1 }}")
          .find("exceeded"),
      std::string::npos);
  // A value doubled until huge.
  std::string doubling = "{{ $x := \"0123456789abcdef\" }}";
  for (int i = 0; i < 40; ++i) doubling += "{{ $x = printf \"%s%s\" $x $x }}";
  EXPECT_NE(render_error(doubling).find("result exceeds 1048576 bytes"), std::string::npos);
  EXPECT_LE(render("{{ printf \"%099999999d\" 1 }}", 0).size(), 65536u);  // widths are capped
  // Output: many range iterations of a long text.
  std::string wide = "{{ $s := printf \"%65536s\" \"\" }}";
  wide += "{{ range $k, $v := $labels }}";
  for (int i = 0; i < 10; ++i) wide += "{{ $s }}";
  wide += "{{ end }}";
  EXPECT_NE(render_error(wide).find("template output exceeds 1048576 bytes"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::rules
