#pragma once
// A notification: one receiver, one group of alerts, each with what happened to it (triggered,
// escalated, repeated, acknowledged, resolved, ...), and the shapes receivers want it in.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "time_zone.hpp"
#include "tocsin/alerting/dispatcher.hpp"

namespace tocsin::alerting::detail {

struct EscalationInfo {
  std::string policy;  // empty for routes that notify directly
  int step = 0;        // 1-based; the step this notification belongs to
  int steps = 0;
  Timestamp step_at = 0;       // when the step became due
  Timestamp next_step_at = 0;  // 0: no further step
  std::vector<std::string> next_receivers;
};

// What happened to an alert that a notification tells a receiver. Its name (to_string) is what the
// webhook JSON's "event" field and the outbox on disk carry: those strings must never change, or
// saved outboxes stop loading and receivers' filters on the field break.
enum class AlertEvent {
  triggered,     // the first notification of an episode
  escalated,     // a later escalation step came due
  repeated,      // the current step again, after the policy's or route's repeat interval
  rearmed,       // an acknowledgement lapsed or was withdrawn: the current step is told again
  acknowledged,  // someone acknowledged it
  resolved,
  // A tiered alert's severity was lowered (status firing, the same id), or, in outboxes saved before
  // tiered alerts kept one id, resolved at the old severity (status resolved)
  tier_changed,
  refreshed,  // an alertmanager resend, so it stays active there
};
std::string_view to_string(AlertEvent event);
// The event named `name` exactly as to_string writes it; nullopt for any other string.
std::optional<AlertEvent> parse_alert_event(std::string_view name);

struct NotifiedAlert {
  std::string fingerprint;
  Labels labels;
  Labels annotations;
  std::string status;  // firing or resolved
  AlertEvent event = AlertEvent::triggered;
  Timestamp starts_at = 0;
  Timestamp ends_at = 0;
  double value = 0;
  std::string rule_group;
  EscalationInfo escalation;
  std::optional<Acknowledgement> ack;
  bool tiered = false;            // a tiered rule's alert: one id across tiers
  std::string previous_severity;  // set on the notification of a tier change: the severity before
  int flapping_changes = 0;       // > 0: flapping, with this many changes ...
  Timestamp flapping_window = 0;  // ... in this window (ms)
};

struct Notification {
  std::string receiver;
  std::string group_key;
  Labels group_labels;
  std::vector<NotifiedAlert> alerts;
  std::string external_url;
  Timestamp created_at = 0;

  std::string status() const;  // firing when any alert fires
  std::string alert_url(const NotifiedAlert& alert) const;
};

// The generic webhook body (Alertmanager's webhook format, version 4, plus tocsin's fields); also
// how the outbox stores a notification.
nlohmann::json to_webhook_json(const Notification& n);
// Throws std::invalid_argument or nlohmann::json::exception on a malformed document.
Notification notification_from_json(const nlohmann::json& json);

// Readable text for people: what, where, how bad, since when, the value, what to check first, the
// escalation step. `markdown` uses Slack's mrkdwn emphasis.
std::string render_title(const Notification& n);
std::string render_text(const Notification& n, const TimeZone& zone, Timestamp now, bool markdown);

// Alertmanager API v2: POST /api/v2/alerts body. Firing alerts get endsAt = now + `valid_for` so
// they stay active between resends.
nlohmann::json to_alertmanager_json(const Notification& n, Timestamp now, Duration valid_for);
// PagerDuty Events API v2: one event per alert.
nlohmann::json to_pagerduty_event(const Notification& n, const NotifiedAlert& a,
                                  const std::string& routing_key, const std::string& source,
                                  const TimeZone& zone, Timestamp now);
// Slack incoming webhook body.
nlohmann::json to_slack_json(const Notification& n, const std::string& channel, const std::string& username,
                             const TimeZone& zone, Timestamp now);

std::string format_value(double v);
std::string format_age(Timestamp from, Timestamp now);  // "12m", "3h5m"

}  // namespace tocsin::alerting::detail
