// The chunk codec: every (t, v) comes back bit for bit, for random and adversarial input.
#include "store/chunk.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace tocsin::store::detail {
namespace {

std::uint64_t bits_of(double v) { return std::bit_cast<std::uint64_t>(v); }

// Encodes `points` in one head chunk and checks both the head's bytes and the sealed chunk decode to
// exactly them, whole and over sub-ranges.
void expect_round_trip(const std::vector<Point>& points, std::mt19937_64& rng) {
  ASSERT_LE(points.size(), std::size_t{kMaxChunkPoints});
  HeadChunk head;
  for (const Point& p : points) head.append(p.t, p.v);
  ASSERT_EQ(head.count(), points.size());
  if (!points.empty()) {
    EXPECT_EQ(head.min_t(), points.front().t);
    EXPECT_EQ(head.last().t, points.back().t);
    EXPECT_EQ(bits_of(head.last().v), bits_of(points.back().v));
  }
  auto check = [&](std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt) {
    std::vector<Point> out;
    decode_chunk(bytes, count, mint, maxt, out);
    std::vector<Point> want;
    for (const Point& p : points) {
      if (p.t >= mint && p.t <= maxt) want.push_back(p);
    }
    ASSERT_EQ(out.size(), want.size()) << "range [" << mint << ", " << maxt << "]";
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(out[i].t, want[i].t) << "point " << i;
      ASSERT_EQ(bits_of(out[i].v), bits_of(want[i].v)) << "point " << i << " at " << want[i].t;
    }
  };
  constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  check(head.bytes(), head.count(), kMin, kMax);
  for (int i = 0; i < 8 && !points.empty(); ++i) {
    std::uniform_int_distribution<std::size_t> pick(0, points.size() - 1);
    Timestamp a = points[pick(rng)].t;
    Timestamp b = points[pick(rng)].t;
    if (a > b) std::swap(a, b);
    check(head.bytes(), head.count(), a, b);
    if (a < kMax) check(head.bytes(), head.count(), a + 1, b);
  }
  const Point last = head.last();
  ChunkRef sealed = head.seal();
  EXPECT_EQ(sealed->count(), points.size());
  check(sealed->bytes(), sealed->count(), kMin, kMax);
  EXPECT_TRUE(head.empty());
  EXPECT_EQ(head.last().t, last.t);  // kept for the exposition
  if (!points.empty()) {
    EXPECT_EQ(sealed->min_t(), points.front().t);
    EXPECT_EQ(sealed->max_t(), points.back().t);
  }
}

double random_value(std::mt19937_64& rng, double previous) {
  switch (rng() % 12) {
    case 0: return std::bit_cast<double>(rng());  // any bit pattern: NaN payloads, subnormals
    case 1: return stale_nan();
    case 2: return std::numeric_limits<double>::infinity();
    case 3: return -std::numeric_limits<double>::infinity();
    case 4: return -0.0;
    case 5: return 0.0;
    case 6: return std::bit_cast<double>(0x7ff8000000000001ULL ^ (rng() & 0xfffffffffffULL));  // quiet NaNs
    case 7: return std::numeric_limits<double>::denorm_min();
    case 8: return previous;                                     // unchanged
    case 9: return previous + static_cast<double>(rng() % 100);  // a counter
    case 10: return std::numeric_limits<double>::max();
    default: return static_cast<double>(rng() % 1000) / 7.0;  // a gauge
  }
}

Timestamp random_delta(std::mt19937_64& rng) {
  switch (rng() % 9) {
    case 0: return 1;
    case 1: return 15000;
    case 2: return 15000 + static_cast<Timestamp>(rng() % 200) - 100;  // jittered scrapes
    case 7: return 15000 + static_cast<Timestamp>(rng() % 3) - 1;      // a millisecond off
    case 3: return 1 + static_cast<Timestamp>(rng() % (1 << 13));      // around the 7- and 14-bit buckets
    case 4: return 1 + static_cast<Timestamp>(rng() % (1 << 17));
    case 5: return 1 + static_cast<Timestamp>(rng() % (1 << 21));
    case 6: return 1 + static_cast<Timestamp>(rng() >> 20);  // huge: needs the 64-bit bucket
    default: return 1000;
  }
}

TEST(Chunk, RandomSeriesRoundTripBitForBit) {
  std::mt19937_64 rng(19);
  for (int round = 0; round < 3000; ++round) {
    const std::size_t n = rng() % (kMaxChunkPoints + 1);
    std::vector<Point> points;
    Timestamp t = static_cast<Timestamp>(rng() >> 24) - (Timestamp{1} << 39);  // around the epoch
    double v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const Timestamp d = random_delta(rng);
      if (t > std::numeric_limits<Timestamp>::max() - d) break;
      t += d;
      v = random_value(rng, v);
      points.push_back({t, v});
    }
    expect_round_trip(points, rng);
    if (HasFatalFailure()) return;
  }
}

TEST(Chunk, AdversarialTimestampsAndValues) {
  std::mt19937_64 rng(7);
  constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  // The whole int64 range in two steps: deltas beyond int64, delta-of-deltas that wrap.
  expect_round_trip({{kMin, 1}, {kMin + 1, 2}, {kMax - 1, 3}, {kMax, 4}}, rng);
  expect_round_trip({{kMin, 1}, {kMax, 2}}, rng);
  expect_round_trip({{-1, 0}, {0, -0.0}, {1, 0}}, rng);
  // Delta-of-deltas at each bucket's edges: [-(2^(n-1) - 1), 2^(n-1)] for n = 7, 14, 20.
  for (int n : {7, 14, 17, 20}) {
    const Timestamp edge = Timestamp{1} << (n - 1);
    for (Timestamp dod : {edge, edge + 1, -(edge - 1), -edge, -edge - 1, edge - 1}) {
      const Timestamp base = 10 * edge;
      expect_round_trip({{0, 1}, {base, 2}, {2 * base + dod, 3}, {3 * base + 2 * dod, 4}}, rng);
    }
  }
  // Values whose XOR windows grow and shrink, leading zeros over 31, all 64 bits meaningful.
  expect_round_trip({{1, 1.0},
                     {2, -1.0},
                     {3, std::bit_cast<double>(std::uint64_t{1})},
                     {4, std::bit_cast<double>(~std::uint64_t{0})},
                     {5, std::bit_cast<double>(std::uint64_t{1} << 63)},
                     {6, std::bit_cast<double>(std::uint64_t{3})},
                     {7, stale_nan()},
                     {8, std::numeric_limits<double>::quiet_NaN()},
                     {9, -std::numeric_limits<double>::quiet_NaN()},
                     {10, stale_nan()},
                     {11, std::numeric_limits<double>::infinity()},
                     {12, -std::numeric_limits<double>::infinity()},
                     {13, -0.0},
                     {14, 0.0}},
                    rng);
  // A full chunk of one value and a full chunk of alternating staleness markers.
  std::vector<Point> same;
  std::vector<Point> alternating;
  for (Timestamp i = 0; i < kMaxChunkPoints; ++i) {
    same.push_back({i * 15000, 42.5});
    alternating.push_back({i * 15000 + (i % 3), i % 2 ? stale_nan() : static_cast<double>(i)});
  }
  expect_round_trip(same, rng);
  expect_round_trip(alternating, rng);
}

TEST(Chunk, RegularScrapesTakeAboutTwoBitsAPointWhenNothingChanges) {
  HeadChunk head;
  for (Timestamp i = 0; i < kMaxChunkPoints; ++i) head.append(1'700'000'000'000 + i * 15000, 1);
  // 18 bytes for the first point, a varint and one bit for the second, then 2 bits each.
  EXPECT_LE(head.bytes().size(), 18u + 3u + (kMaxChunkPoints - 2) * 2 / 8 + 1);
}

TEST(Chunk, ASealedChunkOutlivesItsHeadAndIsSharedWithoutACopy) {
  HeadChunk head;
  head.append(1000, 1);
  head.append(2000, 2);
  ChunkRef first = head.seal();
  ChunkRef copy = first;
  EXPECT_EQ(copy.get(), first.get());
  EXPECT_EQ(first.use_count(), 2u);
  head.append(3000, 3);  // the head starts again with a full first point
  head.reset();
  first = ChunkRef();
  EXPECT_EQ(copy.use_count(), 1u);
  std::vector<Point> out;
  decode_chunk(copy->bytes(), copy->count(), 0, 5000, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].t, 2000);
  EXPECT_EQ(out[1].v, 2);
}

TEST(Chunk, TruncatedOrGarbageBytesDecodeWithoutReadingPastTheEnd) {
  // Never produced by the store; decoding them must still stay in bounds (ASan and UBSan check).
  std::mt19937_64 rng(3);
  HeadChunk head;
  for (Timestamp i = 0; i < 100; ++i) head.append(i * 997, std::bit_cast<double>(rng()));
  const auto bytes = head.bytes();
  std::vector<Point> out;
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7)
    decode_chunk(bytes.first(cut), 100, 0, 1'000'000, out);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::uint8_t> junk(rng() % 64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    out.clear();
    decode_chunk(junk, static_cast<std::uint16_t>(rng() % kMaxChunkPoints),
                 std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(), out);
    EXPECT_LE(out.size(), std::size_t{kMaxChunkPoints});
  }
}

}  // namespace
}  // namespace tocsin::store::detail
