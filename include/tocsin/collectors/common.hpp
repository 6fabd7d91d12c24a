#pragma once
// Settings every collector instance has, whatever its kind.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tocsin/core/duration.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::config {

struct CollectorCommon {
  std::string name;                    // unique per kind; the `target` label
  std::optional<Duration> interval{};  // default: the top-level interval
  std::optional<Duration> timeout{};   // the cycle's deadline; default: the interval
  // Static labels added to every series the instance produces (e.g. job, instance). The names are
  // checked when the config loads: valid Prometheus label names, no reserved `__` prefix, none the
  // collector sets itself.
  std::map<std::string, std::string> labels{};
  // Series one cycle may commit (0: no limit). Over it the series the instance already had are kept
  // and new ones admitted up to the limit; the rest are dropped and counted (docs/reliability.md).
  // The scrape kind reads the key as Prometheus's per-target sample_limit instead, and sets this to 0.
  std::uint64_t sample_limit = 0;
};

// Reads `name`, `interval`, `timeout`, `labels` and `sample_limit` from a collector block. `name` keeps its
// preset default when absent.
void decode_common(yaml::MapDecoder& map, CollectorCommon& out);

// A target several daemons are configured to collect (`shared: true`, docs/fleet.md): only the daemon
// holding its claim (the target's own lock: a Postgres advisory lock, a Redis lease) collects it.
struct SharedTarget {
  bool enabled = false;
  // How long a claim outlives a holder that stopped renewing it (dead or partitioned): the failover
  // time. Default: three of the instance's intervals.
  std::optional<Duration> lease{};
};
// Reads `shared` and `lease` (an error for `lease` without `shared: true`).
void decode_shared(yaml::MapDecoder& map, const CollectorCommon& common, SharedTarget& out);
// The lease must outlast a cycle and its deadline, since the holder renews it once a cycle. Checked
// against the instance's own interval and timeout, or `default_interval` when it inherits it.
void check_shared_lease(const yaml::Node& block, const CollectorCommon& common, const SharedTarget& shared,
                        Duration default_interval);
// The lease in effect for an instance collected every `interval`.
Duration lease_of(const SharedTarget& shared, Duration interval);

}  // namespace tocsin::config
