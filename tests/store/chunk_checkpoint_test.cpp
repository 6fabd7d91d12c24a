// Checkpoints inside chunks: a selection starting inside a chunk decodes from the last checkpoint
// before its start and gets exactly the points it would get decoding from the chunk's first point,
// at checkpoints, between them, at chunk boundaries, in the head chunk and in sealed ones, and with
// readers running while commits seal chunks and garbage collection drops them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <filesystem>
#include <limits>
#include <random>
#include <thread>

#include "store/chunk.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::store {
namespace {

using namespace std::chrono_literals;
using detail::kCheckpointEvery;
using detail::kMaxChunkPoints;

constexpr Timestamp kNever = std::numeric_limits<Timestamp>::max();

std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }

std::vector<Point> in_range(const std::vector<Point>& points, Timestamp mint, Timestamp maxt) {
  std::vector<Point> out;
  for (const Point& p : points) {
    if (p.t >= mint && p.t <= maxt) out.push_back(p);
  }
  return out;
}

void expect_same(const std::vector<Point>& got, const std::vector<Point>& want, Timestamp mint) {
  ASSERT_EQ(got.size(), want.size()) << "from " << mint;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].t, want[i].t) << "from " << mint << ", point " << i;
    ASSERT_EQ(bits(got[i].v), bits(want[i].v)) << "from " << mint << ", point " << i;
  }
}

// A chunk's worth of points with values that move the XOR window every few points.
std::vector<Point> random_points(std::mt19937_64& rng, std::size_t n, Timestamp t0) {
  std::vector<Point> points;
  Timestamp t = t0;
  double v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    t += 15000 + static_cast<Timestamp>(rng() % 5) - 2;
    switch (rng() % 5) {
      case 0: v = std::bit_cast<double>(rng()); break;
      case 1: v += 1; break;
      case 2: v = stale_nan(); break;
      case 3: break;
      default: v = static_cast<double>(rng() % 1000) / 100; break;
    }
    points.push_back({t, v});
  }
  return points;
}

// Every start: at each point, a millisecond after it and before it, and the ends.
std::vector<Timestamp> starts_of(const std::vector<Point>& points) {
  std::vector<Timestamp> out{std::numeric_limits<Timestamp>::min(), kNever};
  for (const Point& p : points) {
    out.push_back(p.t - 1);
    out.push_back(p.t);
    out.push_back(p.t + 1);
  }
  return out;
}

TEST(ChunkCheckpoints, SelectionsFromAnyStartMatchDecodingFromTheFirstPoint) {
  std::mt19937_64 rng(41);
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{kCheckpointEvery},
                        std::size_t{kCheckpointEvery} + 1, std::size_t{kCheckpointEvery} + 2,
                        2 * std::size_t{kCheckpointEvery} + 1, std::size_t{kMaxChunkPoints}}) {
    const std::vector<Point> points = random_points(rng, n, 1'700'000'000'000);
    detail::HeadChunk head;
    for (const Point& p : points) head.append(p.t, p.v);
    ASSERT_EQ(head.checkpoints().size(), detail::checkpoint_count(static_cast<std::uint16_t>(n)));
    for (const detail::Checkpoint& c : head.checkpoints()) EXPECT_TRUE(c.valid());
    const Timestamp maxt = points[n / 2 + n / 4].t;
    for (const Timestamp mint : starts_of(points)) {
      // The head's way, as a selection copies it: the bytes from the checkpoint's byte on.
      detail::DecodeStart start = detail::start_before(head.checkpoints(), head.min_t(), mint);
      if (start.index > 0) {
        EXPECT_LE(points[start.index].t, mint);
        // The last checkpoint before mint: fewer than kCheckpointEvery points before it.
        if (mint <= points.back().t) {
          EXPECT_LT(mint - points[start.index].t, 15010 * kCheckpointEvery);
        }
      } else if (n > kCheckpointEvery && mint <= points.back().t) {
        EXPECT_LT(mint, points[kCheckpointEvery].t);
      }
      const auto copy = head.bytes().subspan(start.bit / 8);
      start.bit %= 8;
      std::vector<Point> got;
      detail::decode_from(copy, head.count(), head.min_t(), start, mint, kNever,
                          [&got](Point p) { got.push_back(p); });
      expect_same(got, in_range(points, mint, kNever), mint);
      got.clear();
      detail::decode_from(copy, head.count(), head.min_t(), start, mint, maxt,
                          [&got](Point p) { got.push_back(p); });
      expect_same(got, in_range(points, mint, maxt), mint);
      if (HasFatalFailure()) return;
    }
    const detail::ChunkRef sealed = head.seal();
    ASSERT_EQ(sealed->checkpoints().size(), detail::checkpoint_count(static_cast<std::uint16_t>(n)));
    for (const Timestamp mint : starts_of(points)) {
      std::vector<Point> got;
      detail::decode(*sealed, mint, kNever, [&got](Point p) { got.push_back(p); });
      expect_same(got, in_range(points, mint, kNever), mint);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(ChunkCheckpoints, CheckpointsFoundByDecodingAreThoseTheHeadRecorded) {
  std::mt19937_64 rng(43);
  const std::vector<Point> points = random_points(rng, kMaxChunkPoints, -5'000'000);
  detail::HeadChunk head;
  for (const Point& p : points) head.append(p.t, p.v);
  const auto found = detail::find_checkpoints(head.bytes(), head.count());
  ASSERT_EQ(found.size(), head.checkpoints().size());
  for (std::size_t k = 0; k < found.size(); ++k) {
    EXPECT_EQ(found[k].bit, head.checkpoints()[k].bit);
    EXPECT_EQ(found[k].v(), head.checkpoints()[k].v());
    EXPECT_EQ(found[k].t_offset, head.checkpoints()[k].t_offset);
    EXPECT_EQ(found[k].t_delta, head.checkpoints()[k].t_delta);
  }
  // Garbage gets none (all absent), and decodes within bounds from the first point.
  std::vector<std::uint8_t> junk(40);
  for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
  for (const detail::Checkpoint& c : detail::find_checkpoints(junk, kMaxChunkPoints)) EXPECT_FALSE(c.valid());
  // A chunk made without them finds them.
  const detail::ChunkRef made =
      detail::Chunk::make(head.bytes(), head.count(), points.front().t, points.back().t);
  ASSERT_EQ(made->checkpoints().size(), found.size());
  EXPECT_EQ(made->checkpoints()[0].bit, found[0].bit);
}

TEST(ChunkCheckpoints, AChunkSpanningMoreThan32BitsOfMillisecondsDecodesFromAnEarlierStart) {
  std::vector<Point> points;
  for (Timestamp i = 0; i < kMaxChunkPoints; ++i) {
    // Past the first checkpoint the points are days apart: its offset no longer fits 32 bits.
    const Timestamp t = i < kCheckpointEvery + 5 ? i * 1000 : (i - kCheckpointEvery) * 86'400'000LL * 2;
    points.push_back({t, static_cast<double>(i) / 3});
  }
  detail::HeadChunk head;
  for (const Point& p : points) head.append(p.t, p.v);
  ASSERT_EQ(head.checkpoints().size(), 2u);
  EXPECT_TRUE(head.checkpoints()[0].valid());
  EXPECT_FALSE(head.checkpoints()[1].valid());
  const detail::ChunkRef sealed = head.seal();
  for (const Timestamp mint : starts_of(points)) {
    std::vector<Point> got;
    detail::decode(*sealed, mint, kNever, [&got](Point p) { got.push_back(p); });
    expect_same(got, in_range(points, mint, kNever), mint);
    if (HasFatalFailure()) return;
  }
}

class StoreCheckpoints : public ::testing::Test {
 protected:
  ManualClock clock{0};
  Store store{StoreOptions{1h}, clock};
  WriterId writer = store.register_writer("collector/checkpoints/a", 15s);

  std::vector<Point> select(Timestamp mint, Timestamp maxt = kNever) const {
    std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", "m")};
    SeriesSet set = store.select(m, mint, maxt);
    if (set.empty()) return {};
    return {set.points(0).begin(), set.points(0).end()};
  }
};

TEST_F(StoreCheckpoints, WindowsStartingAtChunkBoundariesAndBetweenCheckpointsGetEveryPoint) {
  // 2.5 chunks of 120 points: two sealed, a head past its first two checkpoints.
  std::mt19937_64 rng(47);
  const std::vector<Point> points = random_points(rng, 2 * kMaxChunkPoints + 100, 1'000'000);
  for (const Point& p : points) {
    Batch b;
    b.add(Labels{{"__name__", "m"}}, p.v, p.t);  // its own time, so no staleness marker is added
    store.commit(writer, b, p.t);
  }
  ASSERT_EQ(select(0).size(), points.size());
  for (const Timestamp mint : starts_of(points)) {
    expect_same(select(mint), in_range(points, mint, kNever), mint);
    // A 5-minute window, as rate()[5m] reads it.
    expect_same(select(mint, mint + 300'000), in_range(points, mint, mint + 300'000), mint);
    if (HasFatalFailure()) return;
  }
}

TEST(StoreCheckpointsConcurrency, ShortWindowsReadDuringCommitsGarbageCollectionAndSnapshots) {
  // Values encode their own time; readers select 5-point windows ending at the newest point, so they
  // start inside chunks (from checkpoints) in the head and in sealed chunks while the writer seals
  // and garbage collection drops them. Meant for TSan too (a build with -DTOCSIN_SANITIZE=thread).
  ManualClock clock{0};
  Store s{StoreOptions{3min}, clock};
  const WriterId w = s.register_writer("collector/checkpoints/b", 1s);
  std::atomic<bool> done{false};
  std::atomic<Timestamp> newest{0};
  std::atomic<std::size_t> selections{0};
  auto reader = [&](Timestamp window) {
    std::vector<Matcher> m{Matcher(MatchType::regex, "__name__", "m.*")};
    while (!done) {
      const Timestamp end = newest.load();
      SeriesSet set = s.select(m, end - window, end);
      for (std::size_t i = 0; i < set.size(); ++i) {
        auto points = set.points(i);
        for (std::size_t k = 0; k < points.size(); ++k) {
          ASSERT_GE(points[k].t, end - window);
          ASSERT_LE(points[k].t, end);
          if (k > 0) {
            ASSERT_EQ(points[k].t, points[k - 1].t + 1000);
          }
          if (!is_stale_nan(points[k].v)) {
            ASSERT_EQ(points[k].v, static_cast<double>(points[k].t) / 1000.0);
          }
        }
      }
      ++selections;
    }
  };
  std::thread r1(reader, 5000);
  std::thread r2(reader, 95'000);
  std::thread gc([&] {
    while (!done) s.collect_garbage();
  });
  const auto path = std::filesystem::temp_directory_path() /
                    ("tocsin-checkpoint-test-" + std::to_string(::getpid()) + ".snapshot");
  std::thread snapshots([&] {
    while (!done) s.write_snapshot(path);
  });
  for (int cycle = 1; cycle <= 1000; ++cycle) {
    const Timestamp t = cycle * 1000;
    clock.set(t);
    Batch b;
    for (int i = 0; i < 30; ++i) {
      if ((i + cycle / 150) % 9 != 0) b.add("m", {{"i", std::to_string(i)}}, static_cast<double>(t) / 1000.0);
    }
    s.commit(w, b, t);
    newest = t;
  }
  done = true;
  r1.join();
  r2.join();
  gc.join();
  snapshots.join();
  // The last snapshot reads back whole.
  Store restored{StoreOptions{3min}, clock};
  EXPECT_GT(restored.read_snapshot(path).points, 0u);
  std::filesystem::remove(path);
  EXPECT_GT(selections.load(), 0u);
}

}  // namespace
}  // namespace tocsin::store
