#pragma once
// From a scraped body to the samples a target commits, as Prometheus's scrape loop makes them
// (scrape/scrape.go, append and mutateSampleLabels): the exposition parsed, each sample's labels
// merged with the target's (honor_labels, exported_ prefixes), metric_relabel_configs applied, the
// limits checked, duplicates dropped. Pure: no I/O, no clock, so the bench and the tests run it as
// the collector does.

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "collectors/scrape/exposition.hpp"
#include "collectors/scrape/relabel.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::scrape {

// A scrape that fails as a whole for a reason other than syntax (a limit, a name relabelling broke).
class ScrapeFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SampleOptions {
  bool honor_labels = false;
  bool honor_timestamps = true;  // a sample's own timestamp is kept (else: the scrape's time)
  std::span<const RelabelRule> metric_relabel;
  std::uint64_t sample_limit = 0;  // 0: none
  std::uint64_t label_limit = 0;
  std::uint64_t label_name_length_limit = 0;
  std::uint64_t label_value_length_limit = 0;
};

struct AppendResult {
  std::size_t scraped = 0;       // samples in the body (scrape_samples_scraped)
  std::size_t kept = 0;          // after metric_relabel_configs (scrape_samples_post_metric_relabeling)
  std::size_t series_added = 0;  // kept series the previous scrape did not have (scrape_series_added)
  std::size_t duplicates = 0;    // samples repeating a series of the same body, dropped
  std::size_t with_timestamp = 0;
};

// The series of a target's previous scrape, by label hash, for scrape_series_added.
using SeriesSet = std::unordered_set<std::uint64_t>;

// Per target, across its scrapes, as Prometheus's scrape cache: the final labels of each series by
// the text it is written as, so that a series seen before costs one lookup instead of the label
// merge, relabelling and limit checks. Entries not seen in a scrape are dropped once they outnumber
// the seen ones by half. Not thread-safe; one per target, used by one scrape at a time.
class SeriesCache {
 public:
  struct Entry {
    Labels labels;
    std::uint64_t hash = 0;
    bool dropped = false;  // by metric_relabel_configs
    std::uint64_t seen = 0;
  };
  std::size_t size() const { return entries_.size(); }

  // For append_exposition_cached().
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;
  Map entries_;
  // The entries in the order the last scrape wrote them: exporters write the same series in the
  // same order every time, so the i-th sample is checked against order_[i] first (one compare, no
  // hashing), and looked up in entries_ only when the order changed. Pointers into entries_ stay
  // valid until an entry is erased; order_ is rebuilt on every scrape.
  std::vector<Map::value_type*> order_;
  std::vector<Map::value_type*> next_order_;
  std::uint64_t generation_ = 0;
  std::uint64_t last_good_ = 0;  // the generation of the last scrape that succeeded
};

// Parses `body` and appends the target's samples and family metadata to `out`; `current` gets the
// hash of every series appended. Throws ExpositionError (with line and column) for malformed
// text and ScrapeFailure for a limit or a broken label set; `out` then holds a partial result the
// caller discards.
AppendResult append_exposition(std::string_view body, Format format, const Labels& target,
                               const SampleOptions& options, const SeriesSet& previous, SeriesSet& current,
                               store::Batch& out);

// The same with a target's cache (what the collector uses): `previous` is not read (the cache knows
// the last good scrape's series) and `current` holds only the series new to the cache. The options
// and the target's labels must be the same for every call with one cache.
AppendResult append_exposition_cached(std::string_view body, Format format, const Labels& target,
                                      const SampleOptions& options, const SeriesSet& previous,
                                      SeriesSet& current, SeriesCache& cache, store::Batch& out);

// The label set of a report series (up, scrape_duration_seconds, ...) of `target`.
Labels report_labels(std::string_view name, const Labels& target);

}  // namespace tocsin::collectors::scrape
