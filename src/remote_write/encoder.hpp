#pragma once
// The remote-write 1.0 request body: a protobuf WriteRequest (Debian's libprotobuf, messages from
// remote.proto) compressed with snappy's block format, and the labels each series is sent with
// (external labels, then write_relabel_configs, as Prometheus's queue manager does).

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

// One sample as it goes on the wire. Samples of one series share one Labels (the resolver's), which
// is how the encoder groups them.
struct WireSample {
  Labels labels;  // sorted by name, __name__ among them
  Timestamp t;
  double value;
};

// Encodes `samples` as one WriteRequest: one TimeSeries per distinct label set (by identity), its
// samples in the order given, then snappy-compresses it. Not thread-safe (it reuses its buffers);
// one per sending thread.
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // The compressed body. `uncompressed_bytes` is set to the protobuf's size.
  std::string encode(std::span<const WireSample> samples, std::size_t* uncompressed_bytes = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The labels a committed series is sent with: the external labels it does not have itself, then the
// write relabel rules; an empty set when the rules drop it. Remembers each set it resolved (by
// hash and equality; a set shared with the store's batch is found by identity first) up to a bound,
// so relabelling costs once per series, not once per sample. Not thread-safe.
class SeriesResolver {
 public:
  SeriesResolver(Labels external, std::shared_ptr<const RelabelRules> rules, std::size_t max_cached = 1 << 20);
  ~SeriesResolver();
  const Labels& resolve(const Labels& committed);
  std::size_t cached() const { return cache_.size(); }

 private:
  struct Hash {
    std::size_t operator()(const Labels& l) const { return static_cast<std::size_t>(l.hash()); }
  };
  Labels compute(const Labels& committed) const;
  Labels external_;
  std::shared_ptr<const RelabelRules> rules_;
  std::size_t max_cached_;
  std::unordered_map<Labels, Labels, Hash> cache_;
};

}  // namespace tocsin::remote_write
