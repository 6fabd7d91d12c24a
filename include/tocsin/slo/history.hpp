#pragma once
// An SLO's budget history: good and bad events (or good and bad seconds, for time-slice SLIs),
// seconds without data and seconds excluded, in fixed buckets of absolute time. Two rings: the SLO's
// buckets (5m by default) over its whole window, and 1-minute buckets over the last 6 hours for the short
// windows. Memory is fixed at construction: 24 bytes a bucket, (window / bucket + 1) + 361 buckets
// (213 KB for 30 days at 5 minutes). Pure state: no clock, no I/O; the caller passes the times and
// stores the bytes of serialize().

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/sample.hpp"

namespace tocsin::slo {

// What a span of time held. For event SLIs bad and total are events; for time slices, seconds.
struct Totals {
  double bad = 0;
  double total = 0;
  double missing_seconds = 0;   // no data: neither good nor bad
  double excluded_seconds = 0;  // inside an excluded time interval: neither spends nor earns budget
  Totals& operator+=(const Totals& o) {
    bad += o.bad;
    total += o.total;
    missing_seconds += o.missing_seconds;
    excluded_seconds += o.excluded_seconds;
    return *this;
  }
};

// Buckets of `width` over a fixed count; bucket k holds what happened in [k * width, (k + 1) * width).
class BucketRing {
 public:
  struct Bucket {
    double bad = 0;
    double total = 0;
    float missing_seconds = 0;
    float excluded_seconds = 0;
  };

  BucketRing(Duration width, std::size_t count);

  // Spreads `d`, what happened in (from, to], over the buckets in proportion to their share of the span.
  // What falls before the oldest bucket the ring holds is dropped.
  void add(Timestamp from, Timestamp to, const Totals& d);
  // What (now - span, now] held. A bucket's content is taken as spread evenly over its time up to `now`,
  // so a bucket the span only partly covers counts in proportion.
  Totals sum(Timestamp now, Duration span) const;
  // How far back the ring reaches from `now` (its count of buckets, less the partial current one).
  Duration reach() const { return width_ * static_cast<std::int64_t>(buckets_.size() - 1); }
  Duration width() const { return width_; }
  std::size_t size() const { return buckets_.size(); }

  bool empty() const { return empty_; }
  // The newest bucket's index (when not empty) and the buckets from oldest to newest, for persistence.
  std::int64_t newest() const { return newest_; }
  std::vector<Bucket> ordered() const;
  // Puts back buckets saved by ordered() (newest at index `newest`), keeping those this ring can hold.
  void restore(std::int64_t newest, const std::vector<Bucket>& ordered);

 private:
  std::size_t slot(std::int64_t index) const {
    const auto n = static_cast<std::int64_t>(buckets_.size());
    return static_cast<std::size_t>(((index % n) + n) % n);
  }
  Bucket& at(std::int64_t index) { return buckets_[slot(index)]; }
  const Bucket& at(std::int64_t index) const { return buckets_[slot(index)]; }
  void advance_to(std::int64_t index);  // makes `index` the newest, clearing the buckets it reuses

  Duration width_;
  std::vector<Bucket> buckets_;
  std::int64_t newest_ = 0;
  bool empty_ = true;  // nothing added yet (bucket indices may be negative: times before 1970)
};

class History {
 public:
  static constexpr Duration kFineWidth = std::chrono::minutes(1);
  static constexpr Duration kFineReach = std::chrono::hours(6);

  // `bucket` divides `window`.
  History(Duration window, Duration bucket);

  // Records what happened in (from, to]; `to` is the evaluation's time, which last_time() then returns.
  void record(Timestamp from, Timestamp to, const Totals& d);
  // What (now - span, now] held: from the 1-minute ring for spans it reaches, else the SLO's buckets.
  Totals sum(Timestamp now, Duration span) const;
  // The time of the last record(); nullopt before the first.
  std::optional<Timestamp> last_time() const { return last_time_; }
  // Where the history begins (the `from` of the first record, kept across restarts); nullopt when empty.
  std::optional<Timestamp> first_time() const { return first_time_; }
  // How much of (now - span, now] the history covers: span, or less while it is younger than span.
  Duration covered(Timestamp now, Duration span) const;
  Duration window() const { return window_; }
  Duration bucket() const { return coarse_.width(); }
  // The bytes this history takes in memory (the rings), for the documentation's bound and the bench.
  std::size_t memory_bytes() const;

  // A versioned binary snapshot with a checksum.
  std::string serialize() const;
  // Reads a snapshot into this history (which keeps its window and bucket): buckets of the same width are
  // taken at their times, so a longer or shorter window keeps what overlaps; a snapshot with another bucket
  // width keeps only the 1-minute ring. Returns an error text, or "" when read.
  std::string restore(const std::string& bytes);

 private:
  Duration window_;
  BucketRing coarse_;
  BucketRing fine_;
  std::optional<Timestamp> last_time_;
  std::optional<Timestamp> first_time_;
};

}  // namespace tocsin::slo
