// Store snapshots: what is written comes back exactly, a restored store continues where it stopped,
// and a damaged file is refused with a clear error, never a crash.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "store/checksum.hpp"
#include "tocsin/store/exposition.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::store {
namespace {

using namespace std::chrono_literals;

constexpr Timestamp kEver = std::numeric_limits<Timestamp>::max();

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tocsin-snapshot-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path file() const { return dir_ / "store.snapshot"; }

  // Two writers, 300 cycles (chunks sealed and open), a series that ended, one with its own times,
  // described families, values of every awkward kind.
  void fill(Store& store) {
    const WriterId a = store.register_writer("collector/host/a", 15s);
    const WriterId b = store.register_writer("rules/group/b", 15s);
    std::mt19937_64 rng(1);
    for (int cycle = 1; cycle <= 300; ++cycle) {
      const Timestamp t = 1'700'000'000'000 + cycle * 15000 + static_cast<Timestamp>(rng() % 3);
      Batch batch;
      batch.describe("requests_total", MetricType::counter, "Requests \"served\".");
      for (int i = 0; i < 20; ++i) batch.add("requests_total", {{"i", std::to_string(i)}}, cycle * (i + 1.5));
      if (cycle < 200) batch.add("ends", {{"x", "y"}}, std::bit_cast<double>(rng()));
      batch.add(Labels{{"__name__", "own"}}, -0.0, t - 60000 * (cycle % 2));
      store.commit(a, batch, t);
      Batch rules;
      rules.add("job:ratio", {}, cycle % 3 ? 0.25 : std::numeric_limits<double>::infinity());
      store.commit(b, rules, t);
    }
  }

  static std::string everything(const Store& store) {
    std::vector<Matcher> m{Matcher(MatchType::regex, "__name__", ".+")};
    SeriesSet set = store.select(m, std::numeric_limits<Timestamp>::min(), kEver);
    std::vector<std::string> lines;
    for (std::size_t i = 0; i < set.size(); ++i) {
      std::string line = set.labels(i).to_string();
      for (const Point& p : set.points(i)) {
        line += " " + std::to_string(p.t) + "=" + std::to_string(std::bit_cast<std::uint64_t>(p.v));
      }
      lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    render_exposition(store, out);
    return out;
  }

  ManualClock clock{1'700'000'000'000 + 300 * 15000};
  std::filesystem::path dir_;
};

TEST_F(SnapshotTest, ARestoredStoreHoldsExactlyWhatWasWritten) {
  Store before(StoreOptions{1h}, clock);
  fill(before);
  const SnapshotInfo written = before.write_snapshot(file());
  EXPECT_EQ(written.series, before.stats().series);
  EXPECT_EQ(written.points, before.stats().points);
  EXPECT_EQ(written.bytes, std::filesystem::file_size(file()));
  EXPECT_FALSE(std::filesystem::exists(file().string() + ".tmp"));

  Store after(StoreOptions{1h}, clock);
  const SnapshotInfo read = after.read_snapshot(file());
  EXPECT_EQ(read.series, written.series);
  EXPECT_EQ(read.points, written.points);
  EXPECT_EQ(everything(after), everything(before));
  EXPECT_EQ(after.stats().chunks, before.stats().chunks);
}

TEST_F(SnapshotTest, DecimalChunksComeBackExactlyWithTheirEncodingAndCheckpoints) {
  // CPU seconds summed in centiseconds (a few ulps off), two-decimal readings, six-decimal ratios:
  // sealed as decimal chunks, restored with their encoding and decoded exactly from inside a chunk.
  Store before(StoreOptions{2h}, clock);
  const WriterId w = before.register_writer("collector/host/a", 15s);
  std::mt19937_64 rng(5);
  double cpu = 1234.56;
  double reading = 40.25;
  for (int cycle = 1; cycle <= 300; ++cycle) {
    cpu += static_cast<double>(rng() % 1500) / 100;
    reading = std::round((reading + (static_cast<double>(rng() % 21) - 10) / 100) * 100) / 100;
    Batch batch;
    batch.add("cpu_seconds_total", {}, cpu);
    batch.add("temperature", {}, reading);
    batch.add("ratio", {}, static_cast<double>(rng() % 1'000'000) / 1e6);
    before.commit(w, batch, 1'700'000'000'000 + cycle * 15000);
  }
  before.write_snapshot(file());
  Store after(StoreOptions{2h}, clock);
  after.read_snapshot(file());
  EXPECT_EQ(everything(after), everything(before));
  std::vector<Matcher> m{Matcher(MatchType::regex, "__name__", ".+")};
  const Timestamp from = 1'700'000'000'000 + 170 * 15000 + 1;
  SeriesSet a = before.select(m, from, kEver);
  SeriesSet b = after.select(m, from, kEver);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.points(i).size(), b.points(i).size());
    for (std::size_t k = 0; k < a.points(i).size(); ++k) {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(a.points(i)[k].v),
                std::bit_cast<std::uint64_t>(b.points(i)[k].v));
    }
  }
}

TEST_F(SnapshotTest, AWriterRegisteredAgainContinuesItsSeries) {
  Store before(StoreOptions{1h}, clock);
  fill(before);
  before.write_snapshot(file());

  Store after(StoreOptions{1h}, clock);
  after.read_snapshot(file());
  const WriterId a = after.register_writer("collector/host/a", 15s);
  const Timestamp t = 1'700'000'000'000 + 301 * 15000;
  Batch batch;
  for (int i = 0; i < 19; ++i) batch.add("requests_total", {{"i", std::to_string(i)}}, 301 * (i + 1.5));
  const CommitResult r = after.commit(a, batch, t);
  EXPECT_EQ(r.appended, 19u);
  EXPECT_EQ(r.created, 0u);
  EXPECT_EQ(r.out_of_order, 0u);
  // requests_total{i="19"} and own{} were carried by the last commit before the snapshot and are
  // absent now: the first gets its staleness marker, the one with its own times none. "ends" had
  // ended before.
  EXPECT_EQ(r.marked_stale, 1u);
  std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", "requests_total"),
                         Matcher(MatchType::equal, "i", "3")};
  SeriesSet set = after.select(m, t - 10 * 60000, kEver);
  ASSERT_EQ(set.size(), 1u);
  const auto points = set.points(0);
  ASSERT_GE(points.size(), 40u);  // the ten minutes before the restart and the point after it
  EXPECT_EQ(points.back().t, t);
  for (std::size_t i = 1; i < points.size(); ++i) EXPECT_NEAR(points[i].v - points[i - 1].v, 4.5, 1e-9);
  // A later snapshot of the continued store reads back too.
  after.write_snapshot(file());
  Store again(StoreOptions{1h}, clock);
  EXPECT_EQ(again.read_snapshot(file()).series, after.stats().series);
  EXPECT_EQ(everything(again), everything(after));
}

TEST_F(SnapshotTest, WritersThatDoNotRegisterAgainAreRetired) {
  Store before(StoreOptions{1h}, clock);
  fill(before);
  before.write_snapshot(file());
  Store after(StoreOptions{1h}, clock);
  after.read_snapshot(file());
  after.register_writer("collector/host/a", 15s);  // rules/group/b is gone from the configuration
  int shown = 0;
  after.for_each_latest([&](const LatestSample& s) { shown += s.metric_name == "job:ratio" ? 1 : 0; });
  EXPECT_EQ(shown, 1);
  EXPECT_EQ(after.retire_unregistered_writers(1'700'000'000'000 + 301 * 15000), 1u);
  EXPECT_EQ(after.retire_unregistered_writers(1'700'000'000'000 + 302 * 15000), 0u);  // once
  shown = 0;
  after.for_each_latest([&](const LatestSample& s) { shown += s.metric_name == "job:ratio" ? 1 : 0; });
  EXPECT_EQ(shown, 0);
  std::vector<Matcher> m{Matcher(MatchType::equal, "__name__", "job:ratio")};
  SeriesSet set = after.select(m, 0, kEver);
  ASSERT_EQ(set.size(), 1u);
  EXPECT_TRUE(is_stale_nan(set.points(0).back().v));
  // The writer that registered keeps its series current.
  std::vector<Matcher> r{Matcher(MatchType::equal, "__name__", "requests_total")};
  EXPECT_FALSE(is_stale_nan(after.select(r, 0, kEver).points(0).back().v));
}

TEST_F(SnapshotTest, DamagedFilesAreRefusedWithWhatIsWrong) {
  Store before(StoreOptions{1h}, clock);
  fill(before);
  before.write_snapshot(file());
  std::string good;
  {
    std::ifstream in(file(), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto refused = [&](std::string content) {
    const auto path = dir_ / "bad.snapshot";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    Store store(StoreOptions{1h}, clock);
    std::string message;
    try {
      store.read_snapshot(path);
    } catch (const SnapshotError& e) {
      message = e.what();
    }
    // Left empty and usable.
    EXPECT_EQ(store.stats().series, 0u);
    const WriterId w = store.register_writer("collector/host/a", 15s);
    Batch b;
    b.add("up", {}, 1);
    EXPECT_EQ(store.commit(w, b, 1000).appended, 1u);
    return message;
  };
  EXPECT_NE(refused(good.substr(0, good.size() / 2)).find("truncated"), std::string::npos);
  EXPECT_NE(refused(good.substr(0, 10)).find("truncated"), std::string::npos);
  EXPECT_NE(refused("").find("truncated"), std::string::npos);
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x10);
  EXPECT_NE(refused(flipped).find("checksum"), std::string::npos);
  std::string version = good;
  version[8] = 7;
  EXPECT_NE(refused(version).find("version 7"), std::string::npos);
  // A snapshot of the version before the decimal chunks (2) is refused by name; the daemon moves a
  // refused snapshot aside with one log line (SnapshotDaemon.ACorruptSnapshotIsMovedAsideWithOneLine).
  version[8] = 2;
  EXPECT_NE(refused(version).find("version 2, this tocsin reads version 3"), std::string::npos);
  EXPECT_NE(refused("not a snapshot at all, but long enough to have a header").find("not a tocsin"),
            std::string::npos);
  std::string longer = good + "x";
  EXPECT_NE(refused(longer).find("truncated"), std::string::npos);  // payload length disagrees
  Store missing(StoreOptions{1h}, clock);
  EXPECT_THROW(missing.read_snapshot(dir_ / "none"), SnapshotError);
}

TEST_F(SnapshotTest, RandomDamageNeverCrashes) {
  // Garbage that passes the checksum (the checksum recomputed) must still be refused or read
  // without undefined behaviour: ASan and UBSan runs check.
  Store before(StoreOptions{1h}, clock);
  fill(before);
  before.write_snapshot(file());
  std::string good;
  {
    std::ifstream in(file(), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::mt19937_64 rng(9);
  for (int round = 0; round < 400; ++round) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) bad[32 + rng() % (bad.size() - 32)] = static_cast<char>(rng());
    if (round % 4 == 3) bad.resize(32 + rng() % (bad.size() - 32));
    // The header's payload length and checksum made to match (bytes 16..31, little-endian).
    detail::Checksum sum;
    sum.add(bad.data() + 32, bad.size() - 32);
    const std::uint64_t length = bad.size() - 32;
    const std::uint64_t checksum = sum.finish();
    for (int k = 0; k < 8; ++k) {
      bad[16 + k] = static_cast<char>((length >> (8 * k)) & 0xff);
      bad[24 + k] = static_cast<char>((checksum >> (8 * k)) & 0xff);
    }
    const auto path = dir_ / "bad.snapshot";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;
    Store store(StoreOptions{1h}, clock);
    try {
      store.read_snapshot(path);
    } catch (const SnapshotError&) {
    }
  }
}

TEST_F(SnapshotTest, OnlyANewStoreReadsASnapshotAndAFailedWriteKeepsThePreviousOne) {
  Store before(StoreOptions{1h}, clock);
  fill(before);
  before.write_snapshot(file());
  EXPECT_THROW(before.read_snapshot(file()), std::logic_error);
  EXPECT_THROW(before.write_snapshot(dir_ / "no" / "such" / "dir" / "s"), std::system_error);
  Store after(StoreOptions{1h}, clock);
  EXPECT_GT(after.read_snapshot(file()).series, 0u);
}

}  // namespace
}  // namespace tocsin::store
