#include "tocsin/store/store.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace tocsin::store {
namespace {

using namespace std::chrono_literals;

class StoreTest : public ::testing::Test {
 protected:
  ManualClock clock{1'000'000};
  Store store{StoreOptions{1h}, clock};
  WriterId writer = store.register_writer("collector/test/a", 15s);

  static Batch batch(std::initializer_list<std::pair<Labels, double>> samples) {
    Batch b;
    for (const auto& [labels, v] : samples) b.add(labels, v);
    return b;
  }
  SeriesSet select_all(std::string_view name, Timestamp mint = 0,
                       Timestamp maxt = std::numeric_limits<Timestamp>::max()) {
    std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", std::string(name))};
    return store.select(m, mint, maxt);
  }
};

TEST_F(StoreTest, CommitThenSelectByEqualityReturnsPointsInRange) {
  Labels a{{"__name__", "up"}, {"job", "a"}};
  Labels b{{"__name__", "up"}, {"job", "b"}};
  store.commit(writer, batch({{a, 1}, {b, 0}}), 1000);
  store.commit(writer, batch({{a, 1}, {b, 1}}), 16000);

  std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", "up"), Matcher(MatchType::equal, "job", "b")};
  SeriesSet set = store.select(m, 0, 20000);
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set.labels(0), b);
  ASSERT_EQ(set.points(0).size(), 2u);
  EXPECT_EQ(set.points(0)[0].t, 1000);
  EXPECT_EQ(set.points(0)[1].v, 1);

  // The range is inclusive on both ends; series without points in it are left out.
  EXPECT_EQ(store.select(m, 16000, 16000).points(0).size(), 1u);
  EXPECT_TRUE(store.select(m, 17000, 20000).empty());
}

TEST_F(StoreTest, NegativeAndRegexMatchersFollowPromQLSemantics) {
  store.commit(writer,
               batch({{Labels{{"__name__", "m"}, {"env", "prod"}}, 1},
                      {Labels{{"__name__", "m"}, {"env", "dev"}}, 2},
                      {Labels{{"__name__", "m"}}, 3}}),
               1000);
  auto count = [&](std::vector<Matcher> m) { return store.select(m, 0, 2000).size(); };
  Matcher name(MatchType::equal, "__name__", "m");
  EXPECT_EQ(count({name, Matcher(MatchType::not_equal, "env", "prod")}), 2u);  // includes the one without env
  EXPECT_EQ(count({name, Matcher(MatchType::regex, "env", "pr.*")}), 1u);
  EXPECT_EQ(count({name, Matcher(MatchType::not_regex, "env", "pr.*")}), 2u);
  EXPECT_EQ(count({name, Matcher(MatchType::equal, "env", "")}), 1u);  // only the one without env
  EXPECT_EQ(count({name, Matcher(MatchType::not_equal, "env", "")}), 2u);
  EXPECT_EQ(count({Matcher(MatchType::regex, "env", ".+")}), 2u);  // without a name matcher
  EXPECT_EQ(count({Matcher(MatchType::equal, "nosuch", "x")}), 0u);
  EXPECT_EQ(count({}), 0u);
}

TEST_F(StoreTest, SeriesAbsentFromTheNextCommitGetAStalenessMarker) {
  Labels a{{"__name__", "m"}, {"i", "a"}};
  Labels b{{"__name__", "m"}, {"i", "b"}};
  store.commit(writer, batch({{a, 1}, {b, 2}}), 1000);
  CommitResult r = store.commit(writer, batch({{a, 1}}), 2000);
  EXPECT_EQ(r.marked_stale, 1u);
  std::vector<Matcher> m{Matcher(MatchType::equal, "i", "b")};
  SeriesSet set = store.select(m, 0, 3000);
  ASSERT_EQ(set.points(0).size(), 2u);
  EXPECT_TRUE(is_stale_nan(set.points(0)[1].v));
  EXPECT_EQ(set.points(0)[1].t, 2000);

  // Marked once, not every cycle; and the series comes back when reported again.
  EXPECT_EQ(store.commit(writer, batch({{a, 1}}), 3000).marked_stale, 0u);
  store.commit(writer, batch({{a, 1}, {b, 5}}), 4000);
  EXPECT_EQ(store.select(m, 0, 5000).points(0).size(), 3u);
}

TEST_F(StoreTest, DropsDuplicatesOutOfOrderAndInvalidNames) {
  Labels a{{"__name__", "m"}};
  store.commit(writer, batch({{a, 1}}), 2000);
  CommitResult r = store.commit(writer,
                                batch({{a, 2},
                                       {a, 3},
                                       {Labels{{"__name__", "bad-name"}}, 1},
                                       {Labels{{"__name__", "ok"}, {"bad:label", "x"}}, 1}}),
                                3000);
  EXPECT_EQ(r.appended, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.invalid, 2u);
  EXPECT_EQ(store.commit(writer, batch({{a, 9}}), 3000).out_of_order, 1u);
}

TEST_F(StoreTest, ASeriesBelongsToOneWriterUntilItEnds) {
  WriterId other = store.register_writer("collector/test/b", 15s);
  Labels a{{"__name__", "m"}};
  store.commit(writer, batch({{a, 1}}), 1000);
  EXPECT_EQ(store.commit(other, batch({{a, 2}}), 2000).conflicts, 1u);
  store.retire_writer(writer, 3000);
  EXPECT_EQ(store.commit(other, batch({{a, 2}}), 4000).appended, 1u);
}

TEST_F(StoreTest, PointsAreBoundedByRetentionOverIntervalInWholeChunks) {
  // 1h / 15s + 2 = 242 points at least, whatever is committed; whole chunks (of 120 points here) are
  // dropped, so at most one chunk more.
  Labels a{{"__name__", "m"}};
  for (int i = 1; i <= 1000; ++i) store.commit(writer, batch({{a, double(i)}}), i * 15000);
  SeriesSet set = select_all("m");
  ASSERT_EQ(set.size(), 1u);
  const auto points = set.points(0);
  EXPECT_GE(points.size(), 242u);
  EXPECT_LE(points.size(), 242u + 120u);
  EXPECT_EQ(points.back().v, 1000);
  for (std::size_t i = 1; i < points.size(); ++i) {
    ASSERT_EQ(points[i].v, points[i - 1].v + 1);
    ASSERT_EQ(points[i].t, points[i - 1].t + 15000);
  }
  EXPECT_EQ(store.stats().points, points.size());
}

TEST_F(StoreTest, RegisteringAWriterAgainWithAShorterIntervalGrowsItsSeriesRings) {
  Labels a{{"__name__", "m"}};
  store.commit(writer, batch({{a, 0}}), 1000);
  EXPECT_EQ(store.register_writer("collector/test/a", 1s), writer);  // a reload: now every second
  for (int i = 1; i <= 1000; ++i) store.commit(writer, batch({{a, double(i)}}), 1000 + i * 1000);
  SeriesSet set = select_all("m");
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set.points(0).size(), 1001u);  // 1h / 1s + 2 = 3602 fit; at 15s only 242 did
}

TEST_F(StoreTest, GarbageCollectionDropsOldPointsAndEndedSeries) {
  Labels a{{"__name__", "m"}, {"i", "a"}};
  Labels b{{"__name__", "m"}, {"i", "b"}};
  store.commit(writer, batch({{a, 1}, {b, 1}}), clock.now_ms());
  store.commit(writer, batch({{a, 1}}), clock.now_ms() + 15000);  // b turns stale
  EXPECT_EQ(store.stats().series, 2u);
  clock.advance(2h);
  EXPECT_EQ(store.collect_garbage(), 1u);  // b is gone; a is still reported, so it keeps its newest point
  EXPECT_EQ(store.stats().series, 1u);
  EXPECT_EQ(select_all("m").size(), 1u);
  // A dropped series' id is reused without confusing the index.
  Labels c{{"__name__", "n"}, {"i", "c"}};
  store.commit(writer, batch({{a, 2}, {c, 3}}), clock.now_ms());
  EXPECT_EQ(select_all("n").size(), 1u);
  std::vector<Matcher> m{Matcher(MatchType::equal, "i", "b")};
  EXPECT_TRUE(store.select(m, 0, std::numeric_limits<Timestamp>::max()).empty());
}

TEST_F(StoreTest, CachedLabelSetsFindTheirSeriesInAnyOrder) {
  // A collector with a series cache hands the same label sets each cycle; the store recognises them
  // where they were last time, and finds them by their labels when the order changes.
  Labels a{{"__name__", "m"}, {"i", "a"}};
  Labels b{{"__name__", "m"}, {"i", "b"}};
  Labels c{{"__name__", "m"}, {"i", "c"}};
  auto cached = [](std::initializer_list<std::pair<Labels, double>> samples) {
    Batch out = batch(samples);
    out.set_labels_cached(true);
    return out;
  };
  EXPECT_EQ(store.commit(writer, cached({{a, 1}, {b, 2}}), 1000).created, 2u);
  CommitResult r = store.commit(writer, cached({{b, 20}, {a, 10}, {c, 30}}), 2000);
  EXPECT_EQ(r.created, 1u);
  EXPECT_EQ(r.appended, 3u);
  r = store.commit(writer, cached({{b, 200}, {a, 100}, {c, 300}}), 3000);
  EXPECT_EQ(r.created, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  // The same set twice in one batch is still a duplicate.
  EXPECT_EQ(store.commit(writer, cached({{b, 1}, {b, 2}, {a, 1}, {c, 1}}), 4000).duplicates, 1u);

  auto values = [&](const Labels& l) {
    std::vector<Matcher> m{Matcher(MatchType::equal, "i", std::string(l.get("i")))};
    SeriesSet set = store.select(m, 0, 3000);
    std::vector<double> out;
    for (const Point& p : set.points(0)) out.push_back(p.v);
    return out;
  };
  EXPECT_EQ(values(a), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(values(b), (std::vector<double>{2, 20, 200}));
  EXPECT_EQ(values(c), (std::vector<double>{30, 300}));
}

TEST_F(StoreTest, ACachedSetWhoseSeriesWasCollectedMakesANewSeries) {
  // A series whose last value was a staleness marker is collected after the retention; its id goes
  // to another series. The cached label set that named it must not append to that other series.
  Labels a{{"__name__", "m"}, {"i", "a"}};
  Batch first = batch({{a, stale_nan()}});
  first.set_labels_cached(true);
  store.commit(writer, first, clock.now_ms());
  clock.advance(2h);
  EXPECT_EQ(store.collect_garbage(), 1u);
  WriterId other = store.register_writer("collector/test/b", 15s);
  Labels n{{"__name__", "n"}};
  store.commit(other, batch({{n, 7}}), clock.now_ms());  // takes the freed id

  Batch again = batch({{a, 5}});
  again.set_labels_cached(true);
  EXPECT_EQ(store.commit(writer, again, clock.now_ms()).created, 1u);
  ASSERT_EQ(select_all("n").size(), 1u);
  EXPECT_EQ(select_all("n").points(0).size(), 1u);
  ASSERT_EQ(select_all("m").size(), 1u);
  EXPECT_EQ(select_all("m").points(0).back().v, 5);
}

TEST_F(StoreTest, SamplesWithTheirOwnTimesAreKeptOnceAndNeverMarkedStale) {
  Labels own{{"__name__", "m"}, {"i", "own"}};
  Labels plain{{"__name__", "m"}, {"i", "plain"}};
  Batch b;
  b.add(own, 1, 500);  // older than the commit, as an exposition's timestamp may be
  b.add(plain, 1);
  EXPECT_EQ(store.commit(writer, b, 1000).appended, 2u);

  // The same (time, value) again: kept once, the series still reported.
  Batch same;
  same.add(own, 1, 500);
  same.add(plain, 2);
  CommitResult r = store.commit(writer, same, 2000);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(r.out_of_order, 0u);
  EXPECT_EQ(r.marked_stale, 0u);

  // A new value at a time not after the last point is out of order, as in Prometheus.
  Batch older;
  older.add(own, 7, 400);
  older.add(plain, 3);
  EXPECT_EQ(store.commit(writer, older, 3000).out_of_order, 1u);

  // Gone from the batch: the plain series gets a staleness marker, the one with its own times none.
  EXPECT_EQ(store.commit(writer, Batch(), 4000).marked_stale, 1u);
  std::vector<Matcher> m{Matcher(MatchType::equal, "i", "own")};
  SeriesSet set = store.select(m, 0, 5000);
  ASSERT_EQ(set.size(), 1u);
  ASSERT_EQ(set.points(0).size(), 1u);
  EXPECT_EQ(set.points(0)[0].t, 500);
  EXPECT_EQ(set.points(0)[0].v, 1);
}

TEST_F(StoreTest, ReportsItsMemory) {
  Batch b;
  for (int i = 0; i < 1000; ++i) b.add("m", {{"i", std::to_string(i)}}, i);
  store.commit(writer, b, 1000);
  StoreStats st = store.stats();
  EXPECT_EQ(st.series, 1000u);
  EXPECT_GT(st.bytes, 1000u * 50);
  EXPECT_LT(st.bytes, 1000u * 2000);
}

TEST_F(StoreTest, ConcurrentCommitsAndSelectionsAreSafe) {
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::vector<Matcher> m{Matcher(MatchType::regex, "__name__", "m.*")};
    while (!done) {
      SeriesSet set = store.select(m, 0, std::numeric_limits<Timestamp>::max());
      for (std::size_t i = 0; i < set.size(); ++i) ASSERT_FALSE(set.points(i).empty());
    }
  });
  for (int cycle = 1; cycle <= 200; ++cycle) {
    Batch b;
    for (int i = 0; i < 50; ++i) b.add("m", {{"i", std::to_string((i + cycle) % 70)}}, i);
    store.commit(writer, b, cycle * 1000);
  }
  done = true;
  reader.join();
  EXPECT_EQ(store.stats().series, 70u);
}

// The writer's sample_limit: over it the series the last commit carried keep their place, new ones get
// what is left, the rest are dropped and counted, and a series left out turns stale as usual.
TEST_F(StoreTest, AWritersSampleLimitKeepsTheSeriesItHadAndAdmitsNewOnesUpToIt) {
  auto m = [](int i) { return Labels{{"__name__", "m"}, {"i", std::to_string(i)}}; };
  Batch first;
  for (int i = 0; i < 3; ++i) first.add(m(i), i);
  CommitResult r = store.commit(writer, first, 1000, 5);
  EXPECT_EQ(r.created, 3u);
  EXPECT_EQ(r.over_sample_limit, 0u);
  // Eight samples: new ones first in the batch, the three it had last; the three stay, two new ones
  // fill the limit.
  Batch second;
  for (int i = 10; i < 15; ++i) second.add(m(i), i);
  for (int i = 0; i < 3; ++i) second.add(m(i), i);
  r = store.commit(writer, second, 16000, 5);
  EXPECT_EQ(r.appended, 5u);
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(r.over_sample_limit, 3u);
  SeriesSet set = select_all("m", 16000, 16000);
  std::set<std::string> kept;
  for (std::size_t k = 0; k < set.size(); ++k) kept.insert(std::string(set.labels(k).get("i")));
  EXPECT_EQ(kept, (std::set<std::string>{"0", "1", "2", "10", "11"}));
  // A series it had and no longer reports (0) turns stale; its place goes to the next new one.
  Batch third;
  for (int i = 10; i < 15; ++i) third.add(m(i), i);
  for (int i = 1; i < 3; ++i) third.add(m(i), i);
  r = store.commit(writer, third, 31000, 5);
  EXPECT_EQ(r.appended, 5u);
  EXPECT_EQ(r.over_sample_limit, 2u);
  EXPECT_EQ(r.marked_stale, 1u);
  // Within the limit nothing is dropped.
  r = store.commit(writer, batch({{m(1), 1}}), 46000, 5);
  EXPECT_EQ(r.over_sample_limit, 0u);
}

TEST(StoreSeriesLimit, NewSeriesBeyondMaxSeriesAreRefusedExistingOnesKeepBeingAppended) {
  ManualClock clock{1'000'000};
  int reported = 0;
  std::size_t reported_max = 0;
  Store store(StoreOptions{1h, 4,
                           [&](std::size_t max) {
                             ++reported;
                             reported_max = max;
                           }},
              clock);
  const WriterId a = store.register_writer("collector/test/a", 15s);
  const WriterId b = store.register_writer("collector/test/b", 15s);
  auto m = [](std::string w, int i) { return Labels{{"__name__", "m"}, {"w", w}, {"i", std::to_string(i)}}; };
  Batch first;
  for (int i = 0; i < 3; ++i) first.add(m("a", i), i);
  EXPECT_EQ(store.commit(a, first, 1000).created, 3u);
  Batch other;
  for (int i = 0; i < 3; ++i) other.add(m("b", i), i);
  CommitResult r = store.commit(b, other, 1000);
  EXPECT_EQ(r.created, 1u);
  EXPECT_EQ(r.over_series_limit, 2u);
  EXPECT_EQ(reported, 1);
  EXPECT_EQ(reported_max, 4u);
  // The series a has keep being appended to; its new ones are refused, and said so only once.
  Batch again;
  for (int i = 0; i < 5; ++i) again.add(m("a", i), i);
  r = store.commit(a, again, 16000);
  EXPECT_EQ(r.appended, 3u);
  EXPECT_EQ(r.over_series_limit, 2u);
  EXPECT_EQ(reported, 1);
  StoreStats stats = store.stats();
  EXPECT_EQ(stats.series, 4u);
  EXPECT_EQ(stats.max_series, 4u);
  EXPECT_EQ(stats.series_refused, 4u);
  // Once garbage collection drops a series there is room again.
  store.retire_writer(b, 17000);
  clock.advance(2h);
  store.collect_garbage();
  EXPECT_EQ(store.stats().series, 3u);  // b's one went; a's three, still reported, stay
  r = store.commit(a, again, clock.now_ms());
  EXPECT_EQ(r.created, 1u);
  EXPECT_EQ(r.over_series_limit, 1u);
  EXPECT_EQ(store.stats().series, 4u);
}

}  // namespace
}  // namespace tocsin::store
