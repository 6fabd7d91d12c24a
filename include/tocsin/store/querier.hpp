#pragma once
// The store's read interface: what PromQL and the rule engine see of it, and nothing more.

#include <cstdint>
#include <span>
#include <vector>

#include "tocsin/core/labels.hpp"
#include "tocsin/core/sample.hpp"
#include "tocsin/store/matcher.hpp"

namespace tocsin::store {

// The result of a selection: series with their points in [mint, maxt], ascending by time,
// staleness markers included (is_stale_nan). Points of all series live in one buffer, so a
// selection allocates per call, not per sample. Series are in no particular order.
class SeriesSet {
 public:
  std::size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Labels& labels(std::size_t i) const { return labels_[i]; }
  std::span<const Point> points(std::size_t i) const {
    return {points_.data() + offsets_[i], points_.data() + offsets_[i + 1]};
  }
  std::size_t total_points() const { return points_.size(); }

  // For implementations: append one series; its points follow with add_point().
  void begin_series(Labels labels) {
    if (offsets_.empty()) offsets_.push_back(0);
    labels_.push_back(std::move(labels));
    offsets_.push_back(static_cast<std::uint32_t>(points_.size()));
  }
  void add_point(Point p) {
    points_.push_back(p);
    ++offsets_.back();
  }
  // Takes back the series begun last if no point followed it.
  void drop_last_if_empty() {
    if (offsets_.size() >= 2 && offsets_.back() == offsets_[offsets_.size() - 2]) {
      labels_.pop_back();
      offsets_.pop_back();
    }
  }
  void reserve(std::size_t series, std::size_t points) {
    labels_.reserve(series);
    offsets_.reserve(series + 1);
    points_.reserve(points);
  }

 private:
  std::vector<Labels> labels_;
  std::vector<Point> points_;
  std::vector<std::uint32_t> offsets_;  // offsets_[i]..offsets_[i+1] are series i's points
};

// Thread-safe: concurrent selections may run while the store commits.
class Querier {
 public:
  virtual ~Querier() = default;
  // Every series matching all matchers (an empty list matches nothing), with its points whose
  // timestamps lie in [mint, maxt]. Series with no point in the range are left out.
  virtual SeriesSet select(std::span<const Matcher> matchers, Timestamp mint, Timestamp maxt) const = 0;
};

}  // namespace tocsin::store
