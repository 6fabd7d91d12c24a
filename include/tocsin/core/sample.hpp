#pragma once
// Timestamps and points: milliseconds since the Unix epoch and float64 values, as in Prometheus.

#include <bit>
#include <cmath>
#include <cstdint>

namespace tocsin {

using Timestamp = std::int64_t;  // milliseconds since 1970-01-01T00:00:00Z

struct Point {
  Timestamp t;
  double v;
};

// Prometheus's staleness marker: a NaN with a payload no arithmetic produces. A series whose newest
// point is this value has ended; PromQL stops looking back past it.
inline constexpr std::uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
inline double stale_nan() { return std::bit_cast<double>(kStaleNaNBits); }
inline bool is_stale_nan(double v) { return std::bit_cast<std::uint64_t>(v) == kStaleNaNBits; }

}  // namespace tocsin
