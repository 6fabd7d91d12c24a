// The store over its compressed chunks: values kept exactly, retention at chunk boundaries, long
// series, and readers running while commits seal chunks and garbage collection drops them.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <random>
#include <thread>

#include "tocsin/store/store.hpp"

namespace tocsin::store {
namespace {

using namespace std::chrono_literals;

constexpr Timestamp kForever = std::numeric_limits<Timestamp>::max();

class StoreChunks : public ::testing::Test {
 protected:
  ManualClock clock{0};
  Store store{StoreOptions{1h}, clock};
  WriterId writer = store.register_writer("collector/chunks/a", 15s);

  CommitResult commit_one(const Labels& labels, double v, Timestamp t, Timestamp own = kCommitTime) {
    Batch b;
    b.add(labels, v, own);
    return store.commit(writer, b, t);
  }
  std::vector<Point> points_of(std::string_view name, Timestamp mint = 0, Timestamp maxt = kForever) {
    std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", std::string(name))};
    SeriesSet set = store.select(m, mint, maxt);
    if (set.empty()) return {};
    return {set.points(0).begin(), set.points(0).end()};
  }
};

TEST_F(StoreChunks, ValuesComeBackBitForBitThroughSelectionAndTheExposition) {
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::bit_cast<double>(0x7ff8dead0000beefULL),
                                      std::numeric_limits<double>::denorm_min(),
                                      1e308,
                                      -1.5};
  Labels a{{"__name__", "m"}};
  std::vector<std::uint64_t> want;
  for (int cycle = 0; cycle < 300; ++cycle) {  // across chunk boundaries
    const double v = values[static_cast<std::size_t>(cycle) % values.size()];
    commit_one(a, v, 1000 + cycle * 15000);
    want.push_back(std::bit_cast<std::uint64_t>(v));
  }
  std::vector<Point> got = points_of("m");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(got[i].v), want[i]) << i;
    ASSERT_EQ(got[i].t, 1000 + static_cast<Timestamp>(i) * 15000);
  }
  double latest = 0;
  store.for_each_latest([&](const LatestSample& s) { latest = s.value; });
  EXPECT_EQ(std::bit_cast<std::uint64_t>(latest), want.back());

  // A staleness marker is kept as its exact bits, and the exposition leaves the series out.
  EXPECT_EQ(store.commit(writer, Batch(), 1000 + 300 * 15000).marked_stale, 1u);
  got = points_of("m");
  EXPECT_EQ(std::bit_cast<std::uint64_t>(got.back().v), kStaleNaNBits);
  int shown = 0;
  store.for_each_latest([&](const LatestSample&) { ++shown; });
  EXPECT_EQ(shown, 0);
}

TEST_F(StoreChunks, EqualAndEarlierTimestampsAreRefusedAtAnyChunkPosition) {
  Labels a{{"__name__", "m"}};
  for (int i = 1; i <= 250; ++i) {
    ASSERT_EQ(commit_one(a, i, i * 1000).appended, 1u);
    EXPECT_EQ(commit_one(a, i + 0.5, i * 1000).out_of_order, 1u);      // the same time
    EXPECT_EQ(commit_one(a, i + 0.5, i * 1000 - 1).out_of_order, 1u);  // earlier
    EXPECT_EQ(commit_one(a, i, 0, i * 1000).unchanged, 1u);            // own time, same value
  }
  std::vector<Point> got = points_of("m");
  ASSERT_EQ(got.size(), 250u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].v, static_cast<double>(i + 1));
}

TEST_F(StoreChunks, DecimalChunksRefuseEqualAndEarlierTimestampsAndKeepEveryValueExactly) {
  // Two-decimal readings: their sealed chunks are decimal; the head's order check is the same.
  Labels a{{"__name__", "m"}};
  std::vector<double> want;
  for (int i = 1; i <= 250; ++i) {
    const double v = static_cast<double>(2000 + (i * 37) % 101) / 100;
    ASSERT_EQ(commit_one(a, v, i * 15000).appended, 1u);
    want.push_back(v);
    EXPECT_EQ(commit_one(a, v + 0.01, i * 15000).out_of_order, 1u);
    EXPECT_EQ(commit_one(a, v + 0.01, i * 15000 - 1).out_of_order, 1u);
  }
  std::vector<Point> got = points_of("m");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].t, static_cast<Timestamp>(i + 1) * 15000);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(got[i].v), std::bit_cast<std::uint64_t>(want[i])) << i;
  }
  // From inside the sealed chunks (their checkpoints) too.
  got = points_of("m", 100 * 15000 + 1);
  ASSERT_EQ(got.size(), 150u);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(got.front().v), std::bit_cast<std::uint64_t>(want[100]));
}

TEST_F(StoreChunks, RetentionKeepsEveryPointInTheWindowAndDropsOnlyWholeChunks) {
  // 1 h at 15 s: 242 points bound, so chunks of 120. Walk the clock so the cutoff passes each chunk
  // boundary one millisecond at a time, and check after each collection that every point at or after
  // the cutoff is there, the older ones are fewer than a chunk, and they are a contiguous run.
  Labels a{{"__name__", "m"}};
  constexpr int kPoints = 242;
  for (int i = 0; i < kPoints; ++i) commit_one(a, i, 15000 * (i + 1));
  const Timestamp last_t = 15000 * kPoints;
  auto check = [&](Timestamp cutoff) {
    clock.set(cutoff + 3'600'000);
    store.collect_garbage();
    std::vector<Point> got = points_of("m");
    ASSERT_FALSE(got.empty());  // the writer still reports it: it keeps its newest chunk
    EXPECT_EQ(got.back().t, last_t);
    std::size_t older = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (i > 0) {
        ASSERT_EQ(got[i].t, got[i - 1].t + 15000);
      }
      if (got[i].t < cutoff) ++older;
    }
    const Timestamp first_kept = std::max<Timestamp>(15000, ((cutoff + 14999) / 15000) * 15000);
    if (first_kept <= last_t) {
      ASSERT_LE(got.front().t, first_kept) << "cutoff " << cutoff;  // never less than the window
    }
    EXPECT_LT(older, 120u) << "cutoff " << cutoff;
  };
  for (Timestamp boundary : {Timestamp{15000} * 120, Timestamp{15000} * 240}) {
    for (Timestamp d = -2; d <= 2; ++d) {
      check(boundary + d);
      if (HasFatalFailure()) return;
    }
  }
  check(last_t + 1);
  EXPECT_EQ(points_of("m").size(), 2u);  // the head chunk: points 241 and 242

  // A series that ended goes with its last chunk.
  store.commit(writer, Batch(), last_t + 15000);
  clock.set(last_t + 15000 + 3'600'001);
  EXPECT_EQ(store.collect_garbage(), 1u);
  EXPECT_TRUE(points_of("m").empty());
  EXPECT_EQ(store.stats().chunks, 0u);
}

TEST_F(StoreChunks, AShortWindowCutsSmallChunks) {
  // 1 min at 1 s: 62 points bound, chunks of 31, so at most 93 points held.
  Store small{StoreOptions{1min}, clock};
  WriterId w = small.register_writer("collector/chunks/b", 1s);
  Labels a{{"__name__", "m"}};
  for (int i = 1; i <= 1000; ++i) {
    Batch b;
    b.add(a, i);
    small.commit(w, b, i * 1000);
  }
  StoreStats st = small.stats();
  EXPECT_GE(st.points, 62u);
  EXPECT_LE(st.points, 93u);
}

TEST_F(StoreChunks, ALongSeriesKeepsItsNewestWindowExactly) {
  Store big{StoreOptions{1h}, clock};
  WriterId w = big.register_writer("collector/chunks/c", 1s);
  Labels a{{"__name__", "m"}};
  std::mt19937_64 rng(11);
  std::vector<Point> all;
  double v = 0;
  Timestamp t = 1'700'000'000'000;
  for (int i = 0; i < 20'000; ++i) {
    t += 1000 + static_cast<Timestamp>(rng() % 40) - 20;
    v = (rng() % 4 == 0) ? std::bit_cast<double>(rng()) : v + static_cast<double>(rng() % 10);
    all.push_back({t, v});
    Batch b;
    b.add(a, v);
    ASSERT_EQ(big.commit(w, b, t).appended, 1u);
  }
  std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", "m")};
  SeriesSet set = big.select(m, 0, kForever);
  ASSERT_EQ(set.size(), 1u);
  auto got = set.points(0);
  ASSERT_GE(got.size(), 3602u);
  ASSERT_LE(got.size(), 3602u + 120u);
  const std::size_t offset = all.size() - got.size();
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].t, all[offset + i].t);
    ASSERT_EQ(std::bit_cast<std::uint64_t>(got[i].v), std::bit_cast<std::uint64_t>(all[offset + i].v));
  }
  // A range inside: exactly the points in it, decoded from the chunks that overlap it.
  const Timestamp mint = all[all.size() - 1000].t + 1;
  const Timestamp maxt = all[all.size() - 500].t;
  SeriesSet part = big.select(m, mint, maxt);
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part.points(0).size(), 500u);
  EXPECT_EQ(part.points(0).front().t, all[all.size() - 999].t);
  EXPECT_EQ(part.points(0).back().t, maxt);
  // A range in a gap between points matches no point, so the series is left out.
  EXPECT_TRUE(big.select(m, maxt + 1, maxt + 2).empty());
}

TEST_F(StoreChunks, ReportsRealChunkBytes) {
  Batch b;
  for (int i = 0; i < 100; ++i) b.add("m", {{"i", std::to_string(i)}}, 1);
  for (int cycle = 1; cycle <= 240; ++cycle) store.commit(writer, b, cycle * 15000);
  StoreStats st = store.stats();
  EXPECT_EQ(st.points, 100u * 240u);
  EXPECT_EQ(st.chunks, 100u * 2u);
  // Unchanged values at regular times: about 2 bits a point, plus each chunk's header and the head's
  // spare capacity.
  EXPECT_GT(st.chunk_bytes, 100u * 2u * 30u);
  EXPECT_LT(st.chunk_bytes, 100u * 2u * 150u);
  EXPECT_GT(st.bytes, st.chunk_bytes);
}

TEST_F(StoreChunks, ReadersDuringCommitsAndGarbageCollectionSeeWholeConsistentSeries) {
  // Values encode their own time, so a reader can check every point it decodes.
  Store s{StoreOptions{2min}, clock};
  WriterId w = s.register_writer("collector/chunks/d", 1s);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> selections{0};
  auto reader = [&] {
    std::vector<Matcher> m{Matcher(MatchType::regex, "__name__", "m.*")};
    while (!done) {
      SeriesSet set = s.select(m, 0, kForever);
      for (std::size_t i = 0; i < set.size(); ++i) {
        auto points = set.points(i);
        ASSERT_FALSE(points.empty());
        for (std::size_t k = 0; k < points.size(); ++k) {
          if (k > 0) {
            ASSERT_LT(points[k - 1].t, points[k].t);
          }
          if (!is_stale_nan(points[k].v)) {
            ASSERT_EQ(points[k].v, static_cast<double>(points[k].t) / 1000.0);
          }
        }
      }
      s.for_each_latest([](const LatestSample& l) { ASSERT_EQ(l.value, static_cast<double>(l.t) / 1000.0); });
      ++selections;
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  std::thread gc([&] {
    while (!done) s.collect_garbage();
  });
  for (int cycle = 1; cycle <= 1500; ++cycle) {
    const Timestamp t = cycle * 1000;
    clock.set(t);
    Batch b;
    for (int i = 0; i < 40; ++i) {
      // Series come and go, so some turn stale and are collected while read.
      if ((i + cycle / 100) % 7 != 0) b.add("m", {{"i", std::to_string(i)}}, static_cast<double>(t) / 1000.0);
    }
    s.commit(w, b, t);
  }
  done = true;
  r1.join();
  r2.join();
  gc.join();
  EXPECT_GT(selections.load(), 0u);
  EXPECT_GT(s.stats().series, 0u);
}

}  // namespace
}  // namespace tocsin::store
