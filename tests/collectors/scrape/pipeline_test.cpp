// From body to samples: target labels and honor_labels, exported_ prefixes, metric relabelling,
// limits, duplicates and scrape_series_added, as Prometheus's scrape loop does them.
#include "collectors/scrape/pipeline.hpp"

#include <gtest/gtest.h>

namespace tocsin::collectors::scrape {
namespace {

const Labels kTarget{{"instance", "h:1"}, {"job", "app"}};

std::vector<std::string> run(std::string_view body, const SampleOptions& options = {},
                             AppendResult* result = nullptr) {
  SeriesSet previous, current;
  store::Batch out;
  AppendResult r = append_exposition(body, Format::text, kTarget, options, previous, current, out);
  if (result) *result = r;
  std::vector<std::string> s;
  for (const auto& sample : out.samples()) s.push_back(sample.labels.to_string());
  return s;
}

TEST(Pipeline, TargetLabelsAndConflicts) {
  EXPECT_EQ(run("m{a=\"1\"} 1\n"), (std::vector<std::string>{R"(m{a="1", instance="h:1", job="app"})"}));
  EXPECT_EQ(
      run("m{job=\"x\",instance=\"y\",exported_job=\"z\"} 1\n"),
      (std::vector<std::string>{
          R"(m{exported_exported_job="x", exported_instance="y", exported_job="z", instance="h:1", job="app"})"}));
  SampleOptions honor;
  honor.honor_labels = true;
  EXPECT_EQ(run("m{job=\"x\"} 1\n", honor), (std::vector<std::string>{R"(m{instance="h:1", job="x"})"}));
  // An empty value is no label.
  EXPECT_EQ(run("m{a=\"\"} 1\n"), (std::vector<std::string>{R"(m{instance="h:1", job="app"})"}));
}

TEST(Pipeline, MetricRelabelAndCounts) {
  std::vector<RelabelRule> rules(1);
  rules[0].action = RelabelAction::drop;
  rules[0].source_labels = {"__name__"};
  rules[0].regex = "go_.*";
  ASSERT_FALSE(rules[0].compile());
  SampleOptions options;
  options.metric_relabel = rules;
  AppendResult r;
  auto s = run("# TYPE go_x gauge\ngo_x 1\ngo_y 2\nm 3\nm 4\n", options, &r);
  EXPECT_EQ(s, (std::vector<std::string>{R"(m{instance="h:1", job="app"})"}));
  EXPECT_EQ(r.scraped, 4u);
  EXPECT_EQ(r.kept, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.series_added, 1u);
}

TEST(Pipeline, SeriesAddedCountsOnlyNewSeries) {
  SeriesSet previous, current;
  store::Batch out;
  append_exposition("a 1\nb 1\n", Format::text, kTarget, {}, previous, current, out);
  previous = current;
  auto r = append_exposition("a 2\nc 1\n", Format::text, kTarget, {}, previous, current, out);
  EXPECT_EQ(r.series_added, 1u);
}

TEST(Pipeline, LimitsFailTheScrape) {
  SampleOptions o;
  o.sample_limit = 2;
  EXPECT_THROW(run("a 1\nb 1\nc 1\n", o), ScrapeFailure);
  EXPECT_EQ(run("a 1\nb 1\n", o).size(), 2u);
  o = {};
  o.label_limit = 3;  // __name__, job, instance and one more
  try {
    run("m{a=\"1\"} 1\n", o);
    FAIL();
  } catch (const ScrapeFailure& e) {
    EXPECT_STREQ(e.what(), "label_limit exceeded (metric: m, number of labels: 4, limit: 3)");
  }
  o = {};
  o.label_value_length_limit = 3;
  EXPECT_THROW(run("m{a=\"1234\"} 1\n", o), ScrapeFailure);
  o = {};
  o.label_name_length_limit = 4;
  EXPECT_THROW(run("m{abcde=\"1\"} 1\n", o), ScrapeFailure);
  EXPECT_THROW(run("m{a=\"1\"} x\n"), ExpositionError);
}

}  // namespace
}  // namespace tocsin::collectors::scrape

namespace tocsin::collectors::scrape {
namespace {

TEST(Pipeline, HonorTimestampsKeepsTheExpositionsOwnTimes) {
  // The cached path and the full path both carry a sample's own time; without honor_timestamps, or
  // for a line without one, the sample takes the commit's time.
  const std::string body = "a 1 1700000000000\nb 2\n";
  SeriesSet previous, current;
  SeriesCache cache;
  for (int scrape = 0; scrape < 2; ++scrape) {
    store::Batch out;
    append_exposition_cached(body, Format::text, kTarget, {}, previous, current, cache, out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out.samples()[0].timestamp, 1700000000000) << "scrape " << scrape;
    EXPECT_EQ(out.samples()[1].timestamp, store::kCommitTime);
    EXPECT_TRUE(out.labels_cached());
  }
  SampleOptions ignore;
  ignore.honor_timestamps = false;
  store::Batch out;
  append_exposition(body, Format::text, kTarget, ignore, previous, current, out);
  EXPECT_EQ(out.samples()[0].timestamp, store::kCommitTime);
}

TEST(Pipeline, TheCacheGivesWhatTheFullPathGives) {
  std::vector<RelabelRule> rules(1);
  rules[0].action = RelabelAction::drop;
  rules[0].source_labels = {"__name__"};
  rules[0].regex = "dropped";
  ASSERT_FALSE(rules[0].compile());
  SampleOptions options;
  options.metric_relabel = rules;
  SeriesCache cache;
  SeriesSet previous, current, cached_current;
  const std::vector<std::pair<std::string, std::size_t>> bodies = {
      {"a 1\nb{x=\"1\"} 2\ndropped 1\n", 2},       // series added: a, b
      {"b{x=\"1\"} 3\na 4\nc 5\ndropped 2\n", 1},  // reordered, and c is new
      {"c 1\nc 2\na 1\n", 0},                      // a duplicate; b is gone
      {"a 1\nb{x=\"1\"} 9\nc 1\n", 1},             // b is back
  };
  for (const auto& [body, added] : bodies) {
    SCOPED_TRACE(body);
    store::Batch full, cached;
    auto r1 = append_exposition(body, Format::text, kTarget, options, previous, current, full);
    auto r2 = append_exposition_cached(body, Format::text, kTarget, options, previous, cached_current, cache,
                                       cached);
    previous = current;
    ASSERT_EQ(full.size(), cached.size());
    for (std::size_t i = 0; i < full.size(); ++i) {
      EXPECT_EQ(full.samples()[i].labels, cached.samples()[i].labels);
      EXPECT_EQ(full.samples()[i].value, cached.samples()[i].value);
    }
    EXPECT_EQ(r1.scraped, r2.scraped);
    EXPECT_EQ(r1.kept, r2.kept);
    EXPECT_EQ(r1.duplicates, r2.duplicates);
    EXPECT_EQ(r1.series_added, added);
    EXPECT_EQ(r2.series_added, added);
  }
  // A failed scrape leaves the cache usable.
  store::Batch out;
  EXPECT_THROW(append_exposition_cached("a 1\nb{x=\"1\"} oops\n", Format::text, kTarget, options, previous,
                                        cached_current, cache, out),
               ExpositionError);
  store::Batch again;
  auto r = append_exposition_cached("a 1\nb{x=\"1\"} 2\nc 1\n", Format::text, kTarget, options, previous,
                                    cached_current, cache, again);
  EXPECT_EQ(r.kept, 3u);
}

}  // namespace
}  // namespace tocsin::collectors::scrape
