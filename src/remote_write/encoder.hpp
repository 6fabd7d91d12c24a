#pragma once
// The remote-write 1.0 request body: a protobuf WriteRequest (the messages of remote.proto, written
// with Debian's libprotobuf) compressed with snappy's block format, and the labels each series is sent
// with (external labels, then write_relabel_configs, as Prometheus's queue manager does).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tocsin/core/labels.hpp"
#include "tocsin/core/sample.hpp"

namespace tocsin::remote_write {

struct RelabelRules;

// A series as it is sent: its final labels and, encoded once, the TimeSeries' `labels` fields (each a
// Label message) that every request carrying it repeats.
struct SendSeries {
  explicit SendSeries(Labels labels);
  Labels labels;  // sorted by name, __name__ among them
  std::string encoded_labels;
};
using SeriesRef = std::shared_ptr<const SendSeries>;  // null: relabelling dropped the series

struct WireSample {
  SeriesRef series;  // never null
  Timestamp t;
  double value;
};

// Encodes `samples` as one WriteRequest, one TimeSeries per distinct series (by identity, in the order
// first seen) with its samples in the order given, the bytes libprotobuf's own serializer gives for
// the same messages (tests/remote_write checks), then snappy-compresses it. Not thread-safe (it reuses
// its buffers).
class Encoder {
 public:
  // The compressed body. `uncompressed_bytes` is set to the protobuf's size.
  std::string encode(std::span<const WireSample> samples, std::size_t* uncompressed_bytes = nullptr);

 private:
  std::string serialized_;
  std::unordered_map<const SendSeries*, std::uint32_t> index_;
  std::vector<std::vector<std::uint32_t>> by_series_;
};

// The series a committed label set is sent as: the external labels it does not have itself, then the
// write relabel rules. Resolved once per label set and remembered: by the writer's position when the
// same writer commits the same label set object at the same place again (a scrape collector's cached
// sets: no hashing), else by hash and equality, up to a bound (then it starts over). Not thread-safe.
class SeriesResolver {
 public:
  SeriesResolver(Labels external, std::shared_ptr<const RelabelRules> rules,
                 std::size_t max_cached = 1 << 20);
  ~SeriesResolver();
  // The `position`-th point of a commit by `writer`.
  const SeriesRef& resolve(std::uint32_t writer, std::size_t position, const Labels& committed);
  const SeriesRef& resolve(const Labels& committed);
  std::size_t cached() const { return cache_.size(); }

 private:
  struct Hash {
    std::size_t operator()(const Labels& l) const { return static_cast<std::size_t>(l.hash()); }
  };
  struct Hint {
    Labels committed;
    SeriesRef series;
  };
  SeriesRef compute(const Labels& committed) const;
  Labels external_;
  std::shared_ptr<const RelabelRules> rules_;
  std::size_t max_cached_;
  std::unordered_map<Labels, SeriesRef, Hash> cache_;
  std::unordered_map<std::uint32_t, std::vector<Hint>> hints_;  // per writer, by position
};

}  // namespace tocsin::remote_write
