#pragma once
// The in-memory time-series store: series keyed by label set, the points of each in compressed
// chunks (Gorilla: delta-of-delta timestamps, XORed values) covering at least the retention, an
// inverted label index for selection by matchers, staleness markers for series their writer stopped
// reporting, and garbage collection of whole chunks past the retention.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/clock.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/store/batch.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::store {

struct StoreOptions {
  Duration retention = std::chrono::hours(1);
  // Series the store holds at most (the config's max_series; 0: no limit). At the limit a commit's
  // samples for new series are refused (CommitResult::over_series_limit); existing series keep
  // being appended to, and a series that garbage collection drops makes room again.
  std::size_t max_series = 0;
  // Called once, the first time a series is refused for max_series, after the commit's lock is
  // released (the daemon logs it). May be empty.
  std::function<void(std::size_t max_series)> on_series_limit{};
};

// Identifies one writer (a collector instance, a rule group): staleness is tracked per writer.
using WriterId = std::uint32_t;

struct CommitResult {
  std::size_t appended = 0;      // points appended
  std::size_t created = 0;       // new series
  std::size_t marked_stale = 0;  // series of this writer absent from the batch
  std::size_t out_of_order = 0;  // samples not newer than the series' last point, dropped
  std::size_t unchanged = 0;     // samples with their own time, equal to the series' last point
  std::size_t duplicates = 0;    // samples repeating a label set within the batch, dropped
  std::size_t invalid = 0;       // samples with an invalid metric or label name, dropped
  std::size_t conflicts = 0;     // samples for a series another writer owns, dropped
  std::size_t over_sample_limit =
      0;  // samples beyond the writer's own limit (commit's sample_limit), dropped
  std::size_t over_series_limit = 0;  // samples of new series refused at StoreOptions::max_series
};

struct StoreStats {
  std::size_t series = 0;
  std::size_t points = 0;
  std::size_t bytes = 0;  // memory held by the store: its chunks' bytes and its containers' sizes
  std::size_t symbols = 0;
  std::size_t chunks = 0;            // closed chunks and non-empty head chunks
  std::size_t chunk_bytes = 0;       // of which the compressed points: closed chunks, head chunks' buffers
  std::size_t max_series = 0;        // StoreOptions::max_series
  std::uint64_t series_refused = 0;  // samples of new series refused at max_series, since the start
};

// What a snapshot held: its file's size, its series and their points.
struct SnapshotInfo {
  std::size_t bytes = 0;
  std::size_t series = 0;
  std::size_t points = 0;
};

// A snapshot file that cannot be read back; what() says what is wrong and where.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LabelView {
  std::string_view name;
  std::string_view value;
};

// One series as the exposition sees it: family metadata and the newest point. The views are valid
// only during the callback.
struct LatestSample {
  const FamilyMetadata* family;  // never null; untyped with empty help when nobody described it
  std::string_view metric_name;
  std::span<const LabelView> labels;  // sorted by name, __name__ left out
  double value;
  Timestamp t;
};

// One point a commit appended (a sample or a staleness marker), as an append listener sees it.
struct AppendedPoint {
  Labels labels;  // with __name__, shared with the batch's sample where there was one
  Timestamp t;
  double value;
};

// Called under the commit's exclusive lock with the writer and the points one commit appended, so a
// series' points reach it in time order (a writer's samples in its batch's order, then its staleness
// markers). It must be quick (hand the vector off), must not throw and must not call back into the store.
using AppendListener = std::function<void(WriterId writer, std::vector<AppendedPoint>&& points)>;

// Thread-safe. Commits take an exclusive lock for the time of the append only; selections and the
// exposition take a shared lock.
class Store final : public Querier {
 public:
  Store(StoreOptions options, const Clock& clock);
  ~Store() override;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Registers a writer. `interval` bounds the points its series keep (retention / interval + 2, at
  // least, and at most one chunk more) and sizes their chunks. Registering a name again returns the
  // same id (reload keeps history).
  WriterId register_writer(std::string_view name, Duration interval);

  // Appends every sample of `batch` at time `t`, at once. Series this writer committed before but
  // that are absent now get a staleness marker at `t`. A writer whose target is down commits an
  // empty batch (or just its `up` sample): its other series turn stale.
  //
  // `sample_limit` (a collector's, 0: none) bounds the series one commit carries: when the batch holds
  // more, the series this writer's last commit carried are kept (up to the limit) and new ones are
  // admitted in batch order while the total stays within it; the rest are dropped and counted
  // (over_sample_limit), and series left out get staleness markers as usual.
  CommitResult commit(WriterId writer, const Batch& batch, Timestamp t, std::size_t sample_limit = 0);

  // Sets the listener (remote_write's hand-off) before commits start; none by default, and then a
  // commit costs nothing more.
  void set_append_listener(AppendListener listener);

  // Marks every series of the writer stale at `t` and forgets the writer (collector removed by a
  // reload, rule group deleted).
  void retire_writer(WriterId writer, Timestamp t);

  // Drops chunks whose points are all older than now - retention (so a series may keep some points
  // older than that, never fewer than that) and series left with no points. Returns series dropped.
  std::size_t collect_garbage();

  SeriesSet select(std::span<const Matcher> matchers, Timestamp mint, Timestamp maxt) const override;

  // Calls `fn` for the newest point of every series whose newest point is not a staleness marker,
  // ordered by family name, then metric name, then labels. Holds the shared lock throughout:
  // `fn` must not call back into the store.
  void for_each_latest(const std::function<void(const LatestSample&)>& fn) const;

  StoreStats stats() const;
  Duration retention() const;

  // Writes every series (label set, chunks, newest point, writer name), the family metadata and the
  // writers to `path` atomically: to `path`.tmp, flushed to disk, then renamed over `path`. The
  // chunks are referenced under the shared lock and written after it is released, so commits wait
  // only for the copy of the label sets and head chunks. Throws std::system_error when the file
  // cannot be written (the previous snapshot is left as it was).
  SnapshotInfo write_snapshot(const std::filesystem::path& path) const;
  // Loads a snapshot into this store, which must be new (no writer registered, nothing committed;
  // std::logic_error otherwise) and not yet shared with other threads. Writers are matched by name
  // when they register; a series whose writer commits again continues its chunks, and those it no
  // longer reports get their staleness markers at its first commit. Throws SnapshotError when the
  // file is truncated, has another format or version, fails its checksum or is inconsistent; the
  // store is left empty then. A missing file is a SnapshotError too (check first).
  SnapshotInfo read_snapshot(const std::filesystem::path& path);
  // Ends the series of writers read from a snapshot that have not registered again (a collector or
  // rule gone from the configuration while the daemon was down): staleness markers at `t`, as
  // retire_writer() gives them on a reload. Returns the writers retired.
  std::size_t retire_unregistered_writers(Timestamp t);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tocsin::store
