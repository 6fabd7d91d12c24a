#pragma once
// What a collector (or a rule group) hands to the store each cycle: metric metadata and samples,
// committed together so a cycle becomes visible all at once.

#include <limits>
#include <string>
#include <vector>

#include "tocsin/core/labels.hpp"
#include "tocsin/core/sample.hpp"

namespace tocsin::store {

enum class MetricType { counter, gauge, histogram, summary, untyped };

std::string_view to_string(MetricType type);  // "counter", ... as in the exposition format's # TYPE

struct FamilyMetadata {
  std::string name;  // the family name: for histograms without _bucket/_sum/_count
  MetricType type = MetricType::untyped;
  std::string help;
};

// A sample's timestamp when it has none of its own: it takes the commit's.
inline constexpr Timestamp kCommitTime = std::numeric_limits<Timestamp>::min();

struct Sample {
  Labels labels;  // with __name__
  double value;
  // Its own time (an exposition's timestamp, a result reused from an earlier query), or the
  // commit's. A series given its own times gets no staleness markers when it goes, as in
  // Prometheus, and the same (time, value) committed again is kept, not counted out of order.
  Timestamp timestamp = kCommitTime;
};

// Not thread-safe; one batch per cycle, filled by one thread.
class Batch {
 public:
  // Declares a family's type and help text (once per family per batch is enough; repeats are
  // ignored).
  void describe(std::string family, MetricType type, std::string help);
  // Label values that are not valid UTF-8 (a Redis key, a device name) are repaired with U+FFFD, so
  // the store only ever holds what Prometheus and JSON accept.
  void add(Labels labels, double value, Timestamp timestamp = kCommitTime);
  // Shorthand: the metric name plus other labels.
  void add(std::string_view name, std::vector<Label> labels, double value);

  // Says the collector keeps these label sets between cycles (a series cache, as the scrape
  // collector has) and hands the same ones, in much the same order, again: the store then knows a
  // series it saw at the same place last time by its label set's identity, without hashing or
  // comparing strings. Without it every sample is looked up by its labels.
  void set_labels_cached(bool cached) { labels_cached_ = cached; }
  bool labels_cached() const { return labels_cached_; }

  const std::vector<FamilyMetadata>& families() const { return families_; }
  const std::vector<Sample>& samples() const { return samples_; }
  std::vector<Sample>& samples() { return samples_; }
  std::size_t size() const { return samples_.size(); }
  bool empty() const { return samples_.empty(); }
  void clear() {
    families_.clear();
    samples_.clear();
  }

 private:
  std::vector<FamilyMetadata> families_;
  std::vector<Sample> samples_;
  bool labels_cached_ = false;
};

}  // namespace tocsin::store
