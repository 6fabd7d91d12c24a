#pragma once
// Receivers: where a notification goes (log, webhook, alertmanager, pagerduty, slack, exec). Each
// renders the stored notification into its own format at delivery time and reports whether to
// retry. deliver() blocks (on a delivery thread) and never throws.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <spdlog/logger.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "notification.hpp"
#include "tocsin/alerting/http_client.hpp"

namespace tocsin::alerting::detail {

struct DeliveryOutcome {
  enum class Kind { delivered, retry, reject };
  Kind kind = Kind::delivered;
  std::string error;
  // A retry's Retry-After (429 and 503 answers): the next attempt is not before it, as far as the
  // outbox's max_backoff allows (Engine::failed).
  std::optional<Duration> retry_after{};

  static DeliveryOutcome ok() { return {}; }
  static DeliveryOutcome retry(std::string e) { return {Kind::retry, std::move(e)}; }
  static DeliveryOutcome reject(std::string e) { return {Kind::reject, std::move(e)}; }
};

// Per-peer figures of the alertmanager receiver (an Alertmanager cluster's members): posts by
// receiver, peer (its base URL) and result, and whether the peer took the last one. Owned by the
// dispatcher; null in tests that do not count.
struct PeerMetrics {
  prometheus::Family<prometheus::Counter>* posts = nullptr;
  prometheus::Family<prometheus::Gauge>* up = nullptr;
};

struct ReceiverContext {
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<const TimeZone> zone;  // for times in text
  PeerMetrics peers{};
};

class Receiver {
 public:
  virtual ~Receiver() = default;
  virtual DeliveryOutcome deliver(const Notification& notification, Timestamp now, Cancellation& cancel) = 0;
};

// Thread-safe: one receiver object serves concurrent deliveries.
std::shared_ptr<Receiver> make_receiver(const config::ReceiverConfig& config, const ReceiverContext& context);

// How an HTTP answer maps to an outcome: 2xx delivered; 408, 429 and 5xx (and no answer) retried;
// any other 4xx rejected, since sending the same request again cannot succeed. A 429 or 503 carries
// its Retry-After (seconds, or an HTTP-date relative to `now`, seconds since the epoch).
DeliveryOutcome outcome_of(const HttpResponse& response, std::time_t now = std::time(nullptr));

}  // namespace tocsin::alerting::detail
