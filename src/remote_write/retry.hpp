#pragma once
// What a sender does after a response (remote-write 1.0: retry 5xx, and 429 when told to; never
// other 4xx) and its backoff between min_backoff and max_backoff. Pure functions; Retry-After is
// net::parse_retry_after, shared with the alert receivers.

#include <algorithm>
#include <ctime>
#include <optional>
#include <string_view>

#include "tocsin/core/duration.hpp"

namespace tocsin::remote_write {

enum class SendOutcome { sent, retry, failed };

// `status` 0 is no response at all (connection refused, timeout): retried, as Prometheus does.
inline SendOutcome classify(int status, bool retry_on_http_429) {
  if (status >= 200 && status < 300) return SendOutcome::sent;
  if (status == 0 || status / 100 == 5) return SendOutcome::retry;
  if (status == 429 && retry_on_http_429) return SendOutcome::retry;
  return SendOutcome::failed;
}

// Doubling from `min` up to `max`: min, 2 min, 4 min, ..., max, max, ...
class Backoff {
 public:
  Backoff(Duration min, Duration max) : next_(min), max_(max) {}
  Duration next() {
    const Duration out = next_;
    next_ = std::min(next_ * 2, max_);
    return out;
  }

 private:
  Duration next_;
  Duration max_;
};

}  // namespace tocsin::remote_write
