#include "tocsin/core/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace tocsin {

namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};

// In the order Prometheus requires them to appear.
constexpr std::array<Unit, 7> kUnits = {{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return Duration(0);
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must come in descending order, each at most once
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) return std::nullopt;
    std::size_t unit = next_unit;
    for (; unit < kUnits.size(); ++unit) {
      std::string_view s = kUnits[unit].suffix;
      // "m" must not swallow the "m" of "ms".
      if (text.substr(i, s.size()) == s && !(s == "m" && text.substr(i, 2) == "ms")) break;
    }
    if (unit == kUnits.size()) return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / kUnits[unit].ms) return std::nullopt;
    total += n * kUnits[unit].ms;
    if (total < 0) return std::nullopt;
    i += kUnits[unit].suffix.size();
    next_unit = unit + 1;
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.suffix;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace tocsin
