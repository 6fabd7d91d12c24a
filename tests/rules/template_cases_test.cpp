// tocsin's template renderer over every case of tests/rules/testdata/templates.yaml, whose outputs
// promtool (Prometheus 2.42) produced: each case renders as in Prometheus, errors included.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tocsin/promql/engine.hpp"
#include "tocsin/promql/parser.hpp"
#include "tocsin/promql/series_notation.hpp"
#include "tocsin/rules/template.hpp"

namespace tocsin::rules {
namespace {

const std::string kCases = std::string(TOCSIN_SOURCE_DIR) + "/tests/rules/testdata/templates.yaml";

struct TemplateCase {
  std::string name, text, labels, value, metric;
  std::optional<std::string> output, load_error;
};

std::string scalar(const YAML::Node& n, const char* key, const std::string& fallback = "") {
  return n[key] ? n[key].as<std::string>() : fallback;
}

TEST(TemplateCases, RenderAsPromtoolDid) {
  const YAML::Node doc = YAML::LoadFile(kCases);
  const std::string default_labels = scalar(doc["defaults"], "labels", "{}");
  const std::string default_value = scalar(doc["defaults"], "value", "1");
  promql::MemoryQuerier querier;
  for (const auto& s : doc["series"]) {
    querier.add_series(promql::parse_series_labels(s["series"].as<std::string>()),
                       promql::expand_series_values(s["values"].as<std::string>()), 0,
                       std::chrono::minutes(1));
  }
  std::vector<TemplateCase> cases;
  for (const auto& c : doc["cases"]) {
    TemplateCase t;
    t.name = scalar(c, "name");
    t.text = scalar(c, "template");
    t.labels = scalar(c, "labels", default_labels);
    t.value = scalar(c, "value", default_value);
    t.metric = scalar(c, "metric");
    if (c["output"]) t.output = c["output"].as<std::string>();
    if (c["load_error"]) t.load_error = c["load_error"].as<std::string>();
    // As in promtool's test, every case's own series is there for queries too.
    querier.add_series(promql::parse_series_labels("tmpl_" + t.name + t.labels),
                       promql::expand_series_values(t.value), 0, std::chrono::minutes(1));
    cases.push_back(std::move(t));
  }
  ASSERT_GE(cases.size(), 100u);
  const promql::Engine engine;
  const Labels external;
  TemplateQuery query = [&](const std::string& text) {
    const promql::ExprPtr expr = promql::parse(text);
    const promql::Value value = engine.instant(querier, *expr, 0);
    std::vector<TemplateSample> out;
    if (const auto* v = std::get_if<promql::Vector>(&value)) {
      for (const promql::Sample& s : *v) out.push_back({s.labels, s.v});
    } else if (const auto* s = std::get_if<promql::Scalar>(&value)) {
      out.push_back({Labels(), s->v});
    }
    return out;
  };
  int checked = 0;
  for (const TemplateCase& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.text);
    LabelsBuilder b(promql::parse_series_labels("x" + c.labels));
    b.set(std::string(kMetricNameLabel), c.metric);
    const Labels labels = b.build();
    std::optional<Template> t;
    try {
      t.emplace(c.text, c.name);
    } catch (const TemplateError& e) {
      EXPECT_EQ(std::optional<std::string>(e.what()), c.load_error);
      ++checked;
      continue;
    }
    ASSERT_FALSE(c.load_error) << "loads in tocsin, promtool said " << *c.load_error;
    const double value = promql::expand_series_values(c.value).at(0).v;
    std::string out;
    try {
      out = t->render({&labels, value, &external, "", query});
    } catch (const TemplateError& e) {
      out = std::string("<error expanding template: ") + e.what() + ">";
    }
    EXPECT_EQ(out, c.output.value_or("(none)"));
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace tocsin::rules
