#pragma once
// The input notation of `promtool test rules` ("up{job=\"api\"}" with values "1+2x10 _ stale"), and a
// plain in-memory Querier to evaluate expressions over such series: what `tocsin test` and the
// PromQL tests load their data into.

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::promql {

// One value of an expanded series: a number, a staleness marker (`stale`), or nothing (`_`).
struct SeriesValue {
  enum class Kind { value, stale, missing } kind = Kind::value;
  double v = 0;
};

// How many values "1+2x3 _x2 stale 5" expands to (4 + 2 + 1 + 1 = 8) without expanding it, saturating
// at the largest uint64; an item that is not well formed counts as one (expanding it reports it).
std::uint64_t count_series_values(std::string_view text);

// Expands "1+2x3 _x2 stale 5" into 1 3 5 7 _ _ stale 5. Throws std::invalid_argument naming the
// offending item, and "series expands to N points, at most M" when it would give more than
// `max_values` (checked before anything is expanded).
std::vector<SeriesValue> expand_series_values(std::string_view text, std::uint64_t max_values = 10'000'000);

// Parses a series description `name{label="value", ...}`. Throws std::invalid_argument.
Labels parse_series_labels(std::string_view text);

// Series in memory, sorted by time per series. Thread-safe.
class MemoryQuerier final : public store::Querier {
 public:
  // Appends a point; points of one series must come in time order (an older or equal timestamp
  // replaces nothing and is ignored).
  void add(const Labels& labels, Point point);
  // Adds `values` at t0, t0+interval, ...
  void add_series(const Labels& labels, const std::vector<SeriesValue>& values, Timestamp t0,
                  Duration interval);

  store::SeriesSet select(std::span<const store::Matcher> matchers, Timestamp mint,
                          Timestamp maxt) const override;

 private:
  struct Entry {
    Labels labels;
    std::vector<Point> points;
  };
  struct LabelsHash {
    std::size_t operator()(const Labels& l) const { return static_cast<std::size_t>(l.hash()); }
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::mutex mutex_;
  std::vector<Entry> series_;  // in the order they were first added, which select keeps
  // What keeps a test's cost independent of the history loaded: the series of a label set, and those of
  // a metric name (the selectors of rules nearly always name one).
  std::unordered_map<Labels, std::size_t, LabelsHash> index_;
  std::unordered_map<std::string, std::vector<std::size_t>, NameHash, std::equal_to<>> by_name_;
};

}  // namespace tocsin::promql
