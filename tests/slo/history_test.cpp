// The budget buckets against hand-computed sums: pro-rata spans, rollover, the partial oldest bucket of
// a 30-day window, gaps, exclusions, and a restart from the snapshot.
#include "tocsin/slo/history.hpp"

#include <gtest/gtest.h>

namespace tocsin::slo {
namespace {

using namespace std::chrono_literals;
constexpr Timestamp kMin = 60'000;
constexpr Timestamp kDayMs = 86'400'000;

TEST(SloBuckets, ASpanIsSharedByTheBucketsItCovers) {
  BucketRing ring(5min, 3);
  ring.add(0, 10 * kMin, {.bad = 6, .total = 600});  // 300 in [0, 5m), 300 in [5m, 10m)
  EXPECT_DOUBLE_EQ(ring.sum(10 * kMin, 5min).total, 300);
  EXPECT_DOUBLE_EQ(ring.sum(10 * kMin, 10min).total, 600);
  EXPECT_DOUBLE_EQ(ring.sum(10 * kMin, 10min).bad, 6);
  // A 7m span at 10m reaches 2 minutes into the first bucket.
  EXPECT_DOUBLE_EQ(ring.sum(10 * kMin, 7min).total, 300 + 300 * 2.0 / 5);
  // Three buckets: after 20 minutes the first two are gone.
  ring.add(10 * kMin, 20 * kMin, {.bad = 0, .total = 100});
  EXPECT_DOUBLE_EQ(ring.sum(20 * kMin, 1h).total, 300 + 50 + 50);  // the ring holds buckets 1 to 3
  EXPECT_EQ(ring.newest(), 3);
  // Times before 1970 have negative bucket indices; the ring holds them like any other.
  BucketRing early(5min, 3);
  early.add(-kMin, 0, {.missing_seconds = 60});
  early.add(0, kMin, {.total = 60});
  EXPECT_DOUBLE_EQ(early.sum(kMin, 1h).missing_seconds, 60);
  EXPECT_DOUBLE_EQ(early.sum(kMin, 1h).total, 60);
}

TEST(SloBuckets, TheWholeWindowCountsItsOldestBucketInProportion) {
  History h(720h, 5min);
  // One event a second for 31 days, recorded every 5 minutes.
  for (Timestamp t = 5 * kMin; t <= 31 * kDayMs; t += 5 * kMin) h.record(t - 5 * kMin, t, {.total = 300});
  EXPECT_DOUBLE_EQ(h.sum(31 * kDayMs, 720h).total, 30.0 * 86400);
  // 150 s into the next bucket: the current bucket holds 150 events, the oldest counts half of its 300.
  const Timestamp t = 31 * kDayMs + 150'000;
  h.record(31 * kDayMs, t, {.total = 150});
  EXPECT_DOUBLE_EQ(h.sum(t, 720h).total, 150 + 8639 * 300.0 + 150);
  // The short windows come from the 1-minute ring: 5m = 150 s of 1/s + 150 s of the previous minutes.
  EXPECT_DOUBLE_EQ(h.sum(t, 5min).total, 300);
  EXPECT_DOUBLE_EQ(h.sum(t, 6h).total, 6 * 3600);
  EXPECT_DOUBLE_EQ(h.sum(t, 72h).total, 3 * 86400);
  EXPECT_EQ(h.last_time(), t);
}

TEST(SloBuckets, GapsAndExclusionsAreNeitherGoodNorBad) {
  History h(24h, 5min);
  h.record(0, 10 * kMin, {.bad = 1, .total = 100});
  h.record(10 * kMin, 20 * kMin, {.missing_seconds = 600});
  h.record(20 * kMin, 30 * kMin, {.excluded_seconds = 600});
  h.record(30 * kMin, 40 * kMin, {.bad = 3, .total = 100});
  const Totals all = h.sum(40 * kMin, 24h);
  EXPECT_DOUBLE_EQ(all.total, 200);
  EXPECT_DOUBLE_EQ(all.bad, 4);
  EXPECT_DOUBLE_EQ(all.missing_seconds, 600);
  EXPECT_DOUBLE_EQ(all.excluded_seconds, 600);
  const Totals last = h.sum(40 * kMin, 30min);
  EXPECT_DOUBLE_EQ(last.total, 100);
  EXPECT_DOUBLE_EQ(last.missing_seconds, 600);
}

TEST(SloBuckets, ARestartFromTheSnapshotKeepsEveryFigure) {
  History before(720h, 5min);
  for (Timestamp t = kMin; t <= 3 * kDayMs; t += kMin) {
    before.record(t - kMin, t, {.bad = (t / kMin) % 7 == 0 ? 1.0 : 0.0, .total = 60});
  }
  const std::string bytes = before.serialize();
  History after(720h, 5min);
  ASSERT_EQ(after.restore(bytes), "");
  EXPECT_EQ(after.last_time(), 3 * kDayMs);
  for (Duration span : std::vector<Duration>{5min, 1h, 6h, 24h, 72h, 720h}) {
    EXPECT_DOUBLE_EQ(after.sum(3 * kDayMs, span).bad, before.sum(3 * kDayMs, span).bad) << span.count();
    EXPECT_DOUBLE_EQ(after.sum(3 * kDayMs, span).total, before.sum(3 * kDayMs, span).total) << span.count();
  }
  // Recording goes on where it stopped: the next minute adds to the same totals in both.
  before.record(3 * kDayMs, 3 * kDayMs + kMin, {.bad = 2, .total = 60});
  after.record(3 * kDayMs, 3 * kDayMs + kMin, {.bad = 2, .total = 60});
  EXPECT_DOUBLE_EQ(after.sum(3 * kDayMs + kMin, 720h).bad, before.sum(3 * kDayMs + kMin, 720h).bad);

  // A longer window keeps all of it; a shorter one what it reaches.
  History longer(90 * 24h, 5min);
  ASSERT_EQ(longer.restore(bytes), "");
  EXPECT_DOUBLE_EQ(longer.sum(3 * kDayMs, 90 * 24h).total, 3.0 * 86400);
  History shorter(24h, 5min);
  ASSERT_EQ(shorter.restore(bytes), "");
  EXPECT_DOUBLE_EQ(shorter.sum(3 * kDayMs, 24h).total, 86400);

  // A damaged or truncated file is refused, and the history stays empty.
  std::string damaged = bytes;
  damaged[40] ^= 0x5a;
  History h1(720h, 5min);
  EXPECT_EQ(h1.restore(damaged), "checksum mismatch (a torn or damaged file)");
  EXPECT_EQ(h1.restore(bytes.substr(0, 100)), "checksum mismatch (a torn or damaged file)");
  EXPECT_EQ(h1.restore("garbage"), "not an SLO history snapshot");
  EXPECT_FALSE(h1.last_time().has_value());
}

TEST(SloBuckets, MemoryIsFixedByTheWindow) {
  History h(720h, 5min);
  // 8641 + 361 buckets of 24 bytes.
  EXPECT_EQ(sizeof(BucketRing::Bucket), 24u);
  EXPECT_LT(h.memory_bytes(), (8641u + 361u) * 24u + 512u);
  EXPECT_GE(h.memory_bytes(), (8641u + 361u) * 24u);
}

}  // namespace
}  // namespace tocsin::slo
