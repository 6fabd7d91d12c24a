#pragma once
// Alert delivery: turns the rule engine's alerts into notifications. Routes each alert to an
// escalation policy or a list of receivers, escalates on timers that run from when the alert
// started firing, honours acknowledgements, silences, maintenance windows and inhibition, groups
// and de-duplicates, damps flapping, and hands every notification to a durable outbox that retries
// until delivery or expiry. All of it survives a restart: the state lives in <state_dir>/alerting.json,
// written atomically after each change.

#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/alerting/config.hpp"
#include "tocsin/core/clock.hpp"

namespace tocsin::alerting {

struct Acknowledgement {
  std::string by;
  std::string comment;
  Timestamp at = 0;
  Timestamp expires_at = 0;  // 0: until the alert resolves
  std::string severity;      // the tier acknowledged; a worse tier re-opens paging
};

struct Silence {
  std::string id;
  std::vector<config::LabelMatcher> matchers;  // all must match
  Timestamp starts_at = 0;
  Timestamp ends_at = 0;
  std::string created_by;
  std::string comment;
  Timestamp updated_at = 0;

  // "pending", "active" or "expired" at `now`, as Alertmanager names them.
  std::string_view status(Timestamp now) const;
};

// One alert as the API and the status page show it.
struct AlertView {
  std::string id;  // the fingerprint of its labels (16 hex digits)
  Labels labels;
  Labels annotations;
  AlertState state = AlertState::pending;
  Timestamp active_at = 0;
  Timestamp fired_at = 0;
  double value = 0;
  std::string rule_group;
  std::string severity;
  // Escalation: the policy (or "" for a route that notifies directly), the step reached (1-based; 0
  // before the first notification), how many steps there are, when the reached step became due and
  // when the next one will (0 when none).
  std::string policy;
  int step = 0;
  int steps = 0;
  Timestamp step_at = 0;
  Timestamp next_step_at = 0;
  std::vector<std::string> step_receivers;
  std::vector<std::string> notified;      // receivers told about this firing so far
  std::optional<Acknowledgement> ack;     // when it covers this alert
  std::vector<std::string> silenced_by;   // silence ids
  std::vector<std::string> inhibited_by;  // fingerprints of inhibiting alerts
  std::string muted_by;                   // the time interval muting its route, if any
  bool flapping = false;
  int state_changes = 0;  // fire/resolve changes within the flapping window
};

struct OutboxStatus {
  std::size_t queued = 0;
  std::size_t in_flight = 0;
  std::size_t capacity = 0;
};

struct DispatcherOptions {
  std::string state_dir;     // created when missing
  std::string external_url;  // the base of links in notifications, e.g. http://tocsin.example:9850
  // How often timers (escalation, repeats, expiries, windows) are checked when nothing else happens.
  std::chrono::milliseconds tick{1000};
};

// Thread-safe. send() only queues; a single internal thread makes every decision and writes the
// state; deliveries run on a small pool of their own. Nothing here throws out of a thread.
class Dispatcher final : public AlertSink {
 public:
  // Loads the saved state (a corrupt file is moved aside and logged). Throws std::runtime_error
  // when the state directory cannot be created.
  Dispatcher(config::AlertingConfig config, DispatcherOptions options, const Clock& clock,
             prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void start();
  // Stops deciding and delivering; a delivery in flight is abandoned and stays in the outbox, so
  // it is sent again after a restart (at least once).
  void stop();
  // Takes effect at the next decision; instances, acks, silences and the outbox carry over. An
  // empty `external_url` keeps the current one.
  void reload(config::AlertingConfig config, std::string external_url = "");

  void send(const std::string& rule_group, std::span<const Alert> alerts, Timestamp now) override;

  // Every known alert (pending, firing, and resolved ones still settling), most severe first.
  std::vector<AlertView> alerts() const;
  std::optional<AlertView> alert(const std::string& id) const;

  struct AckRequest {
    std::string by;
    std::string comment;
    std::optional<Timestamp> expires_at;
  };
  // Returns the acknowledged alert, or an error message (unknown id, not firing). Durable on return.
  std::variant<AlertView, std::string> acknowledge(const std::string& id, const AckRequest& request);
  std::variant<AlertView, std::string> unacknowledge(const std::string& id);

  // Returns the new silence or an error (no matchers, ends before it starts, ...). Durable on return.
  std::variant<Silence, std::string> create_silence(Silence silence);
  std::vector<Silence> silences() const;  // newest first, expired ones kept for 5 days
  // Ends a silence now. Returns an error when unknown or already expired.
  std::optional<std::string> expire_silence(const std::string& id);

  OutboxStatus outbox() const;
  // The bearer token mutating API calls need; empty: they are disabled.
  std::string api_token() const;
  std::string external_url() const;
  // The daemon's own labels (the top-level `labels:`), added to every notification.
  std::map<std::string, std::string> external_labels() const;
  // `t` in the configured alerting.time_zone, e.g. "2024-03-04 11:00 CET", for pages and tables.
  std::string display_time(Timestamp t) const;

  // Wakes the decision thread and waits until it has seen everything sent so far, no delivery is
  // in flight and no outbox entry is due now (later retries do not count). For tests with a
  // ManualClock and for benchmarks. Returns false on timeout.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The 16-hex-digit fingerprint of a label set, as alert ids show it.
std::string fingerprint(const Labels& labels);

}  // namespace tocsin::alerting
