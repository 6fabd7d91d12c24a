#pragma once
// Durations in Prometheus's notation: "1h30m", "15s", "500ms", "2d", "1w", "1y" (units in descending
// order, each once; y = 365d, w = 7d).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tocsin {

using Duration = std::chrono::milliseconds;

std::optional<Duration> parse_duration(std::string_view text);
// The shortest Prometheus notation: 90000ms -> "1m30s", 0 -> "0s".
std::string format_duration(Duration d);

}  // namespace tocsin
