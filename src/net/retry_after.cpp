#include "tocsin/net/retry_after.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace tocsin::net {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::time_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  std::tm tm{};
  const std::string text(value);
  const char* rest = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0') return std::nullopt;
  const std::time_t at = timegm(&tm);
  return std::chrono::seconds(std::max<std::time_t>(0, at - now));
}

}  // namespace tocsin::net
