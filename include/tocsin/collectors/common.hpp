#pragma once
// Settings every collector instance has, whatever its kind.

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
};

// Reads `name`, `interval`, `timeout` and `labels` from a collector block. `name` keeps its preset
// default when absent.
void decode_common(yaml::MapDecoder& map, CollectorCommon& out);

}  // namespace tocsin::config
