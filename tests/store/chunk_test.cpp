// The chunk codec: every (t, v) comes back bit for bit, for random and adversarial input.
#include "store/chunk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace tocsin::store::detail {
namespace {

std::uint64_t bits_of(double v) { return std::bit_cast<std::uint64_t>(v); }

// Encodes `points` in one head chunk and checks both the head's bytes and the sealed chunk decode to
// exactly them, whole and over sub-ranges.
// `encoding`, if given, gets the sealed chunk's.
void expect_round_trip(const std::vector<Point>& points, std::mt19937_64& rng, Encoding* encoding = nullptr) {
  ASSERT_LE(points.size(), std::size_t{kMaxChunkPoints});
  HeadChunk head;
  for (const Point& p : points) head.append(p.t, p.v);
  ASSERT_EQ(head.count(), points.size());
  if (!points.empty()) {
    EXPECT_EQ(head.min_t(), points.front().t);
    EXPECT_EQ(head.last().t, points.back().t);
    EXPECT_EQ(bits_of(head.last().v), bits_of(points.back().v));
  }
  auto check_points = [&](const std::vector<Point>& out, Timestamp mint, Timestamp maxt) {
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
  auto check = [&](std::span<const std::uint8_t> bytes, std::uint16_t count, Timestamp mint, Timestamp maxt) {
    std::vector<Point> out;
    decode_chunk(bytes, count, mint, maxt, out);
    check_points(out, mint, maxt);
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
  const std::size_t xor_bytes = head.bytes().size();
  ChunkRef sealed = head.seal();
  EXPECT_EQ(sealed->count(), points.size());
  // The sealed chunk: never larger than the XOR stream, whichever encoding it has, and decoded from
  // any start (through its checkpoints) to the same points.
  EXPECT_LE(sealed->bytes().size(), xor_bytes);
  if (sealed->encoding() == Encoding::decimal) {
    EXPECT_LT(sealed->bytes().size(), xor_bytes);
  }
  auto check_sealed = [&](Timestamp mint, Timestamp maxt) {
    std::vector<Point> out;
    decode(*sealed, mint, maxt, out);
    check_points(out, mint, maxt);
  };
  check_sealed(kMin, kMax);
  // From points around each checkpoint and a sample of the others.
  for (std::size_t i = 0; i < points.size(); i += (i + 2) % kCheckpointEvery < 4 ? 1 : 1 + rng() % 9) {
    check_sealed(points[i].t, kMax);
    if (points[i].t < kMax) check_sealed(points[i].t + 1, kMax);
    if (::testing::Test::HasFatalFailure()) return;
  }
  for (int i = 0; i < 8 && !points.empty(); ++i) {
    std::uniform_int_distribution<std::size_t> pick(0, points.size() - 1);
    Timestamp a = points[pick(rng)].t;
    Timestamp b = points[pick(rng)].t;
    if (a > b) std::swap(a, b);
    check_sealed(a, b);
  }
  // Checkpoints found by decoding the sealed bytes are those recorded when sealing.
  const auto found = find_checkpoints(sealed->bytes(), sealed->count(), sealed->encoding());
  ASSERT_EQ(found.size(), sealed->checkpoints().size());
  for (std::size_t k = 0; k < found.size(); ++k) {
    EXPECT_EQ(found[k].bit, sealed->checkpoints()[k].bit);
    EXPECT_EQ(found[k].v(), sealed->checkpoints()[k].v());
  }
  EXPECT_TRUE(head.empty());
  EXPECT_EQ(head.last().t, last.t);  // kept for the exposition
  if (!points.empty()) {
    EXPECT_EQ(sealed->min_t(), points.front().t);
    EXPECT_EQ(sealed->max_t(), points.back().t);
  }
  if (encoding != nullptr) *encoding = sealed->encoding();
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

// --- the decimal encoding ---------------------------------------------------------------------

constexpr double kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

// A chunk of points whose values are exactly m / 10^decimals (the doubles nearest to them), the
// mantissas walking like a counter, a gauge or not at all, at regular or jittered times.
std::vector<Point> decimal_points(std::mt19937_64& rng, std::size_t n, int decimals, int shape) {
  std::vector<Point> points;
  Timestamp t = 1'700'000'000'000 + static_cast<Timestamp>(rng() % 1000);
  auto m = static_cast<std::int64_t>(rng() % 10'000'000);
  if (shape == 3) m = -m;  // negative values
  for (std::size_t i = 0; i < n; ++i) {
    t += rng() % 2 ? 15000 : 15000 + static_cast<Timestamp>(rng() % 7) - 3;
    switch (shape) {
      case 0: m += static_cast<std::int64_t>(rng() % 1000); break;     // a counter
      case 1: m += static_cast<std::int64_t>(rng() % 21) - 10; break;  // a gauge
      case 2: break;                                                   // constant
      default: m -= static_cast<std::int64_t>(rng() % 50); break;      // going down, below zero
    }
    points.push_back({t, static_cast<double>(m) / kPow10[decimals]});
  }
  return points;
}

TEST(ChunkDecimal, DecimalFractionsAtZeroToSixDecimalsSealDecimalAndComeBackBitForBit) {
  std::mt19937_64 rng(23);
  for (int decimals = 0; decimals <= 6; ++decimals) {
    for (int shape = 0; shape < 4; ++shape) {
      for (std::size_t n : {std::size_t{2}, std::size_t{41}, std::size_t{kMaxChunkPoints}}) {
        const std::vector<Point> points = decimal_points(rng, n, decimals, shape);
        Encoding encoding = Encoding::xor_stream;
        expect_round_trip(points, rng, &encoding);
        if (HasFatalFailure()) return;
        if (n == kMaxChunkPoints) {
          EXPECT_EQ(encoding, Encoding::decimal) << decimals << " decimals, shape " << shape;
        }
      }
    }
  }
}

TEST(ChunkDecimal, RandomDecimalSeriesRoundTripBitForBit) {
  std::mt19937_64 rng(29);
  std::size_t decimal = 0;
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = 1 + rng() % kMaxChunkPoints;
    std::vector<Point> points =
        decimal_points(rng, n, static_cast<int>(rng() % 7), static_cast<int>(rng() % 4));
    // Now and then a value of another kind among them: the chunk stays exact either way.
    if (rng() % 3 == 0) {
      const std::size_t at = rng() % n;
      points[at].v = random_value(rng, points[at].v);
    }
    Encoding encoding = Encoding::xor_stream;
    expect_round_trip(points, rng, &encoding);
    if (HasFatalFailure()) return;
    decimal += encoding == Encoding::decimal ? 1 : 0;
  }
  EXPECT_GT(decimal, 1000u);  // most of them are decimal
}

TEST(ChunkDecimal, SumsOfDecimalFractionsAFewUlpsOffAreCorrectedExactly) {
  // CPU seconds summed in centiseconds: 0.1 + 0.2 is not the double nearest 0.3, and the sums drift
  // further; each value's correction brings its exact bits back.
  std::mt19937_64 rng(31);
  EXPECT_NE(bits_of(0.1 + 0.2), bits_of(0.3));
  for (int round = 0; round < 50; ++round) {
    std::vector<Point> points;
    double v = static_cast<double>(rng() % 1'000'000) / 100;
    for (Timestamp i = 0; i < kMaxChunkPoints; ++i) {
      v += static_cast<double>(rng() % 1500) / 100;
      points.push_back({i * 15000, v});
    }
    Encoding encoding = Encoding::xor_stream;
    expect_round_trip(points, rng, &encoding);
    if (HasFatalFailure()) return;
    EXPECT_EQ(encoding, Encoding::decimal);
  }
  std::vector<Point> tenths;
  double sum = 0;
  for (Timestamp i = 0; i < kMaxChunkPoints; ++i) {
    sum += 0.1;
    tenths.push_back({i * 1000, i == 2 ? 0.1 + 0.2 : sum});
  }
  expect_round_trip(tenths, rng);
}

std::vector<double> adversarial_values() {
  return {stale_nan(),
          std::numeric_limits<double>::quiet_NaN(),
          -std::numeric_limits<double>::quiet_NaN(),
          std::bit_cast<double>(0x7ff0000000000001ULL),  // a signalling NaN's payload
          std::bit_cast<double>(0xfff8dead0000beefULL),
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          -0.0,
          0.0,
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          std::bit_cast<double>(0x000fffffffffffffULL),  // the largest subnormal
          std::numeric_limits<double>::min(),
          std::numeric_limits<double>::max(),
          -std::numeric_limits<double>::max(),
          9007199254740993.0,       // 2^53 + 1 rounds to 2^53
          9007199254740994.0,       // a mantissa past 2^53
          4.611686018427387904e18,  // 2^62: past the mantissas' range
          1.8446744073709552e19,    // 2^64
          -9.3e18,
          1e300,
          0.1 + 0.2,
          1.0 / 3.0,
          123456.789012,
          1e-7,
          0.000001};
}

TEST(ChunkDecimal, AdversarialValuesAmongDecimalOnesRoundTripWhicheverEncodingWins) {
  std::mt19937_64 rng(37);
  const std::vector<double> bad = adversarial_values();
  for (double odd : bad) {
    for (std::size_t at :
         {std::size_t{0}, std::size_t{1}, std::size_t{40}, std::size_t{41}, std::size_t{119}}) {
      std::vector<Point> points = decimal_points(rng, kMaxChunkPoints, 2, 1);
      points[at].v = odd;
      expect_round_trip(points, rng);
      if (HasFatalFailure()) return;
    }
    std::vector<Point> all;
    for (Timestamp i = 0; i < kMaxChunkPoints; ++i) all.push_back({i * 15000, odd});
    expect_round_trip(all, rng);
    if (HasFatalFailure()) return;
  }
  // A series that ends: its staleness marker keeps its exact bits at the end of a decimal chunk.
  std::vector<Point> ending = decimal_points(rng, kMaxChunkPoints, 2, 0);
  ending.back().v = stale_nan();
  HeadChunk head;
  for (const Point& p : ending) head.append(p.t, p.v);
  const ChunkRef sealed = head.seal();
  std::vector<Point> out;
  decode(*sealed, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(), out);
  ASSERT_EQ(out.size(), ending.size());
  EXPECT_EQ(bits_of(out.back().v), kStaleNaNBits);
  EXPECT_TRUE(is_stale_nan(out.back().v));
}

TEST(ChunkDecimal, TheDecimalEncodingIsExactForAnyValueAtAnyExponent) {
  // Forced, whatever it costs: NaN payloads, infinities, -0, subnormals and huge values are carried
  // by their corrections.
  std::mt19937_64 rng(41);
  std::vector<double> values = adversarial_values();
  for (int i = 0; i < 60; ++i) values.push_back(std::bit_cast<double>(rng()));
  std::shuffle(values.begin(), values.end(), rng);
  values.resize(std::min<std::size_t>(values.size(), kMaxChunkPoints));
  std::vector<Timestamp> t;
  for (std::size_t i = 0; i < values.size(); ++i) t.push_back(static_cast<Timestamp>(i) * 15000 - 7);
  const auto count = static_cast<std::uint16_t>(values.size());
  for (unsigned e = 0; e <= kMaxDecimalExponent; ++e) {
    std::vector<std::uint8_t> bytes;
    std::vector<Checkpoint> checkpoints;
    ASSERT_TRUE(encode_decimal(t.data(), values.data(), count, e, 1 << 20, bytes, checkpoints));
    const ChunkRef chunk = Chunk::make(bytes, count, t.front(), t.back(), checkpoints, Encoding::decimal);
    for (std::size_t from = 0; from < values.size(); from += 13) {
      std::vector<Point> out;
      decode(*chunk, t[from], std::numeric_limits<Timestamp>::max(), out);
      ASSERT_EQ(out.size(), values.size() - from) << "e " << e;
      for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i].t, t[from + i]);
        ASSERT_EQ(bits_of(out[i].v), bits_of(values[from + i])) << "e " << e << ", point " << from + i;
      }
    }
  }
  // A limit below its size refuses.
  std::vector<std::uint8_t> bytes;
  std::vector<Checkpoint> checkpoints;
  EXPECT_FALSE(encode_decimal(t.data(), values.data(), count, 2, 100, bytes, checkpoints));
}

TEST(ChunkDecimal, TruncatedOrGarbageDecimalBytesDecodeWithoutReadingPastTheEnd) {
  std::mt19937_64 rng(43);
  const std::vector<Point> points = decimal_points(rng, kMaxChunkPoints, 3, 0);
  HeadChunk head;
  for (const Point& p : points) head.append(p.t, p.v);
  const ChunkRef sealed = head.seal();
  ASSERT_EQ(sealed->encoding(), Encoding::decimal);
  const auto bytes = sealed->bytes();
  for (std::size_t cut = 0; cut < bytes.size(); cut += 5) {
    const ChunkRef cut_chunk = Chunk::make(bytes.first(cut), kMaxChunkPoints, points.front().t,
                                           points.back().t, {}, Encoding::decimal);
    for (const Checkpoint& c : cut_chunk->checkpoints()) EXPECT_FALSE(c.valid());
    std::vector<Point> out;
    decode(*cut_chunk, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(), out);
    EXPECT_LE(out.size(), std::size_t{kMaxChunkPoints});
  }
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> junk(rng() % 200);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (!junk.empty() && rng() % 2) junk[0] = static_cast<std::uint8_t>(rng() % 16);  // a valid exponent
    if (junk.size() > 2 && rng() % 2) {
      junk[1] = static_cast<std::uint8_t>(rng() % 65);
      junk[2] = static_cast<std::uint8_t>(rng() % 65);
    }
    const auto count = static_cast<std::uint16_t>(rng() % (kMaxChunkPoints + 1));
    const ChunkRef chunk = Chunk::make(junk, count, 0, 1'000'000, {}, Encoding::decimal);
    std::vector<Point> out;
    decode(*chunk, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(), out);
    EXPECT_LE(out.size(), std::size_t{count});
  }
}

}  // namespace
}  // namespace tocsin::store::detail
