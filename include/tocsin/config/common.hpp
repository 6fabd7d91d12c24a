#pragma once
// Settings every collector instance has.

#include <optional>
#include <string>

#include "tocsin/config/decoder.hpp"

namespace tocsin::config {

struct CollectorCommon {
  std::string name;                  // unique per kind; the `target` label of tocsin_collector_*
  std::optional<Duration> interval{};  // default: the top-level interval
  std::optional<Duration> timeout{};   // the cycle's deadline; default: the interval
};

// Reads `name`, `interval` and `timeout` from a collector block. `name` keeps its preset default
// when absent.
void decode_common(MapDecoder& map, CollectorCommon& out);

}  // namespace tocsin::config
