// Relabelling, table-driven, against Prometheus's documented semantics (model/relabel, the
// configuration docs' <relabel_config>): defaults, anchoring, separators, templates, every action,
// and the rules Prometheus's Validate() refuses.
#include "collectors/scrape/relabel.hpp"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "collectors/scrape/targets.hpp"

namespace tocsin::collectors::scrape {
namespace {

RelabelRule rule(RelabelAction action, std::vector<std::string> source, std::string regex = "(.*)",
                 std::string target = "", std::string replacement = "$1", std::uint64_t modulus = 0,
                 std::string separator = ";") {
  RelabelRule r;
  r.action = action;
  r.source_labels = std::move(source);
  r.regex = std::move(regex);
  r.target_label = std::move(target);
  r.replacement = std::move(replacement);
  r.modulus = modulus;
  r.separator = std::move(separator);
  auto problem = r.compile();
  EXPECT_FALSE(problem) << *problem;
  return r;
}

RelabelLabels labels(std::initializer_list<Label> l) {
  const Labels sorted(l);
  return RelabelLabels({sorted.begin(), sorted.end()});
}

struct Case {
  std::string name;
  std::vector<RelabelRule> rules;
  RelabelLabels input;
  std::optional<std::vector<Label>> output;  // nullopt: dropped
};

TEST(Relabel, Table) {
  using A = RelabelAction;
  const std::vector<Case> cases = {
      {"replace with a group",
       {rule(A::replace, {"a"}, "f(.*)", "d", "ch${1}-ch${1}")},
       labels({{"a", "foo"}, {"b", "bar"}}),
       std::vector<Label>{{"a", "foo"}, {"b", "bar"}, {"d", "choo-choo"}}},
      {"replace is anchored: no match, no change",
       {rule(A::replace, {"a"}, "o+", "d")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}}},
      {"separator joins sources, missing ones as empty",
       {rule(A::replace, {"a", "x", "b"}, "(.*)", "d", "$1", 0, "|")},
       labels({{"a", "foo"}, {"b", "bar"}}),
       std::vector<Label>{{"a", "foo"}, {"b", "bar"}, {"d", "foo||bar"}}},
      {"an empty result deletes the target",
       {rule(A::replace, {"x"}, "(.*)", "a")},
       labels({{"a", "foo"}}),
       std::vector<Label>{}},
      {"templated target label",
       {rule(A::replace, {"a"}, "(\\w+)=(\\w+)", "${1}", "$2")},
       labels({{"a", "key=val"}}),
       std::vector<Label>{{"a", "key=val"}, {"key", "val"}}},
      {"an invalid expanded target changes nothing",
       {rule(A::replace, {"a"}, "(.*)", "${1}")},
       labels({{"a", "1bad"}}),
       std::vector<Label>{{"a", "1bad"}}},
      {"$1x is the group named 1x: empty",
       {rule(A::replace, {"a"}, "(.*)", "d", "$1x")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}}},
      {"named groups and $$",
       {rule(A::replace, {"a"}, "(?P<word>f\\w+)", "d", "$$${word}")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}, {"d", "$foo"}}},
      {"static value with no source (the fast path)",
       {rule(A::replace, {}, "(.*)", "env", "prod")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}, {"env", "prod"}}},
      {"keep drops what does not match", {rule(A::keep, {"a"}, "bar")}, labels({{"a", "foo"}}), std::nullopt},
      {"keep keeps what matches",
       {rule(A::keep, {"a"}, "fo+")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}}},
      {"drop is anchored",
       {rule(A::drop, {"a"}, "fo")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}}},
      {"drop", {rule(A::drop, {"a", "b"}, "foo;bar")}, labels({{"a", "foo"}, {"b", "bar"}}), std::nullopt},
      {"keepequal keeps equal",
       {rule(A::keepequal, {"a"}, "(.*)", "b")},
       labels({{"a", "x"}, {"b", "x"}}),
       std::vector<Label>{{"a", "x"}, {"b", "x"}}},
      {"keepequal drops unequal",
       {rule(A::keepequal, {"a"}, "(.*)", "b")},
       labels({{"a", "x"}, {"b", "y"}}),
       std::nullopt},
      {"dropequal drops equal",
       {rule(A::dropequal, {"a"}, "(.*)", "b")},
       labels({{"a", "x"}, {"b", "x"}}),
       std::nullopt},
      // The values Prometheus's own relabel_test.go expects (md5, last 8 bytes big-endian, mod 1000).
      {"hashmod",
       {rule(A::hashmod, {"c"}, "(.*)", "d", "$1", 1000)},
       labels({{"c", "baz"}}),
       std::vector<Label>{{"c", "baz"}, {"d", "976"}}},
      {"hashmod of a newline",
       {rule(A::hashmod, {"a"}, "(.*)", "b", "$1", 1000)},
       labels({{"a", "foo\nbar"}}),
       std::vector<Label>{{"a", "foo\nbar"}, {"b", "734"}}},
      {"labelmap",
       {rule(A::labelmap, {}, "__meta_(.+)", "", "$1")},
       labels({{"__meta_pod", "p1"}, {"__meta_ns", "n1"}, {"a", "x"}}),
       std::vector<Label>{
           {"__meta_ns", "n1"}, {"__meta_pod", "p1"}, {"a", "x"}, {"ns", "n1"}, {"pod", "p1"}}},
      {"labelmap is anchored",
       {rule(A::labelmap, {}, "meta_(.+)", "", "$1")},
       labels({{"__meta_pod", "p1"}}),
       std::vector<Label>{{"__meta_pod", "p1"}}},
      {"labeldrop",
       {rule(A::labeldrop, {}, "b.*")},
       labels({{"a", "1"}, {"b", "2"}, {"bb", "3"}}),
       std::vector<Label>{{"a", "1"}}},
      {"labelkeep",
       {rule(A::labelkeep, {}, "b.*|__name__")},
       labels({{"__name__", "m"}, {"a", "1"}, {"b", "2"}}),
       std::vector<Label>{{"__name__", "m"}, {"b", "2"}}},
      {"lowercase",
       {rule(A::lowercase, {"a", "b"}, "(.*)", "c")},
       labels({{"a", "FoO"}, {"b", "BAR"}}),
       std::vector<Label>{{"a", "FoO"}, {"b", "BAR"}, {"c", "foo;bar"}}},
      {"uppercase",
       {rule(A::uppercase, {"a"}, "(.*)", "a")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "FOO"}}},
      {"rules see the previous rule's output",
       {rule(A::replace, {"a"}, "(.*)", "b", "x$1"), rule(A::keep, {"b"}, "xfoo")},
       labels({{"a", "foo"}}),
       std::vector<Label>{{"a", "foo"}, {"b", "xfoo"}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RelabelLabels in = c.input;
    const bool kept = relabel(c.rules, in);
    ASSERT_EQ(kept, c.output.has_value());
    if (kept) {
      EXPECT_EQ(in.items(), *c.output);
    }
  }
}

TEST(Relabel, RefusedRules) {
  using A = RelabelAction;
  auto problem = [](RelabelRule r) { return r.compile().value_or(""); };
  RelabelRule r;
  r.action = A::replace;  // no target_label
  EXPECT_NE(problem(r).find("requires target_label"), std::string::npos);
  r = {};
  r.action = A::hashmod;
  r.target_label = "x";
  EXPECT_NE(problem(r).find("modulus"), std::string::npos);
  r = {};
  r.regex = "(";
  r.target_label = "x";
  EXPECT_NE(problem(r).find("invalid regex"), std::string::npos);
  r = {};
  r.action = A::labeldrop;
  r.source_labels = {"a"};
  EXPECT_NE(problem(r).find("takes only regex"), std::string::npos);
  r = {};
  r.action = A::keepequal;
  r.target_label = "x";
  r.regex = "a";
  EXPECT_NE(problem(r).find("takes only source_labels"), std::string::npos);
  r = {};
  r.action = A::lowercase;
  r.target_label = "x";
  r.replacement = "y";
  EXPECT_NE(problem(r).find("replacement cannot be set"), std::string::npos);
  r = {};
  r.target_label = "1x";
  EXPECT_NE(problem(r).find("not a valid target_label"), std::string::npos);
  EXPECT_EQ(parse_relabel_action("LabelMap"), A::labelmap);
  EXPECT_FALSE(parse_relabel_action("rename"));
}

TEST(Targets, PopulateAsPrometheus) {
  JobSettings job{
      .job = "app", .scrape_interval = "15s", .scrape_timeout = "10s", .params = {{"x", {"1 2", "3"}}}};
  auto t = populate_target("localhost:9100", std::vector<Label>{{"team", "web"}}, job, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->labels, (Labels{{"instance", "localhost:9100"}, {"job", "app"}, {"team", "web"}}));
  EXPECT_EQ(t->url, "http://localhost:9100/metrics?x=1+2&x=3");
  // A port is added as Prometheus 2.42 adds it; __param_ overrides; relabelling sets instance.
  std::vector<RelabelRule> rules;
  rules.push_back(rule(RelabelAction::replace, {"__address__"}, "([^:]+)(:.*)?", "instance", "$1"));
  rules.push_back(rule(RelabelAction::replace, {}, "(.*)", "__param_x", "9"));
  rules.push_back(rule(RelabelAction::replace, {}, "(.*)", "__metrics_path__", "/m"));
  job.scheme = "https";
  t = populate_target("db.local", {}, job, rules);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->url, "https://db.local:443/m?x=9&x=3");
  EXPECT_EQ(t->labels.get("instance"), "db.local");
  // Dropped, and refused.
  rules = {rule(RelabelAction::drop, {"job"}, "app")};
  EXPECT_FALSE(populate_target("a:1", {}, job, rules));
  rules = {rule(RelabelAction::replace, {}, "(.*)", "__address__", "")};
  EXPECT_THROW(populate_target("a:1", {}, job, rules), std::invalid_argument);
}

TEST(Targets, TargetFiles) {
  auto groups = parse_target_file(
      R"([{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}])", "/etc/t.json");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].targets, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(groups[0].labels, (std::vector<Label>{{"__meta_filepath", "/etc/t.json"}, {"env", "prod"}}));
  groups = parse_target_file("- targets: [x:9]\n  labels: {a: b}\n", "t.yml");
  ASSERT_EQ(groups.size(), 1u);
  try {
    parse_target_file("- targets: [x:9]\n  labelz: {}\n", "t.yml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "t.yml:2:3: unknown key \"labelz\" (a group has targets and labels)");
  }
  EXPECT_THROW(parse_target_file("[{\"targets\": [\"http://x:1\"]}]", "t.json"), std::runtime_error);
  EXPECT_THROW(parse_target_file("[{\"targets\": ", "t.json"), std::runtime_error);
}

}  // namespace
}  // namespace tocsin::collectors::scrape
