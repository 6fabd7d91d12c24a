#pragma once
// Retry-After (RFC 9110 10.2.3), read by every sender that retries: the alert receivers and
// remote_write. A pure function.

#include <chrono>
#include <ctime>
#include <optional>
#include <string_view>

namespace tocsin::net {

// Retry-After as seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"), relative to `now`
// (seconds since the epoch; a date in the past is 0). nullopt when absent or unreadable (the caller's
// backoff then applies). Not capped: each caller bounds it by its own maximum.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::time_t now);

}  // namespace tocsin::net
