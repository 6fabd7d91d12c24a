#pragma once
// The alerting part of the config: escalation policies, routes, receivers, time intervals
// (maintenance windows), inhibit rules and delivery settings. Plain structs, validated while they
// are decoded (a route naming an unknown receiver is reported at the route's position).
// docs/alerting.md documents every key with examples.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/net/tls.hpp"
#include "tocsin/store/matcher.hpp"
#include "tocsin/yaml/decoder.hpp"
#include "tocsin/yaml/secret.hpp"

namespace tocsin::config {

// One label matcher as written in the config or on the command line: name, operator, value.
struct LabelMatcher {
  std::string name;
  MatchType type = MatchType::equal;
  std::string value;
  friend bool operator==(const LabelMatcher&, const LabelMatcher&) = default;
};

// Parses `name="value"`, `name!="value"`, `name=~"regex"`, `name!~"regex"` (quotes optional for
// values without spaces, commas or quotes; \" and \\ escape inside quotes). Checks the label name
// and compiles a regex. Returns an error message, or nullopt on success.
std::optional<std::string> parse_label_matcher(std::string_view text, LabelMatcher& out);
// `name="value"` as parse_label_matcher reads it back.
std::string to_string(const LabelMatcher& matcher);

// How an HTTPS receiver checks the server (tocsin/net/tls.hpp).
using TlsConfig = net::TlsConfig;

enum class ReceiverType { log, webhook, alertmanager, pagerduty, slack, exec };
std::string_view to_string(ReceiverType type);

struct ReceiverConfig {
  std::string name;
  ReceiverType type = ReceiverType::log;
  bool send_resolved = true;
  bool send_acknowledged = true;  // tell this receiver when someone acknowledges
  // HTTP receivers (webhook, slack, pagerduty). A secret: webhook URLs often carry a token.
  yaml::Secret url;
  std::vector<std::string> alertmanager_urls;  // alertmanager: base URLs (http://am:9093)
  std::map<std::string, std::string> headers;  // extra request headers
  yaml::Secret bearer_token;                   // Authorization: Bearer ...
  Duration timeout = std::chrono::seconds(10);
  TlsConfig tls;
  Duration resend_interval = std::chrono::minutes(1);  // alertmanager: how often firing alerts are re-posted
  yaml::Secret routing_key;                            // pagerduty: the integration key
  std::string source;                // pagerduty: payload.source; default: the instance label
  std::string channel;               // slack: override the webhook's channel
  std::string username;              // slack: override the webhook's user name
  std::vector<std::string> command;  // exec: argv; the notification JSON on stdin
};

struct EscalationStep {
  Duration after{0};  // from when the alert started firing (in its current severity tier)
  std::vector<std::string> notify;
};

struct EscalationPolicy {
  std::string name;
  std::vector<EscalationStep> steps;  // `after` ascending
  std::optional<Duration> repeat;     // re-notify the current step while firing and unacknowledged
};

struct RouteConfig {
  std::vector<LabelMatcher> matchers;  // all must match (match, match_re and matchers combined)
  std::string policy;                  // either an escalation policy ...
  std::vector<std::string> notify;     // ... or receivers notified once, without escalation
  std::optional<Duration> repeat;      // with notify: re-notify while firing and unacknowledged
  std::optional<std::vector<std::string>> group_by;
  std::optional<Duration> group_wait;
  std::vector<std::string> mute_time_intervals;    // no notifications while any of these is active
  std::vector<std::string> active_time_intervals;  // notifications only while one of these is active
  yaml::Position position;                         // for messages about the route
};

// A recurring window, as in Alertmanager's time_intervals. Empty lists mean "any".
struct TimeOfDayRange {
  int start_minute = 0;  // minutes since midnight, inclusive
  int end_minute = 0;    // exclusive; up to 1440
  friend bool operator==(const TimeOfDayRange&, const TimeOfDayRange&) = default;
};
struct IntRange {
  int begin = 0;  // inclusive
  int end = 0;    // inclusive
  friend bool operator==(const IntRange&, const IntRange&) = default;
};
struct TimeIntervalSpec {
  std::vector<TimeOfDayRange> times;
  std::vector<IntRange> weekdays;       // 0 = Sunday ... 6 = Saturday
  std::vector<IntRange> days_of_month;  // 1..31, or negative from the month's end (-1 = last day)
  std::vector<IntRange> months;         // 1..12
  std::string location = "UTC";         // an IANA time zone name, or Local
};
struct TimeIntervalConfig {
  std::string name;
  std::vector<TimeIntervalSpec> intervals;  // active when any of them is
};

// Which severity rank `value` has in `severities` (1-based; 0 when unlisted or empty).
int severity_rank(const std::vector<std::string>& severities, std::string_view value);

struct InhibitRuleConfig {
  std::vector<LabelMatcher> source_matchers;  // a firing alert matching these ...
  std::vector<LabelMatcher> target_matchers;  // ... mutes alerts matching these ...
  std::vector<std::string> equal;             // ... that have the same values of these labels
};

struct FlappingConfig {
  bool enabled = true;
  Duration window = std::chrono::minutes(30);  // look-back for counting state changes
  int changes = 4;                             // this many fire/resolve changes in the window = flapping
  Duration settle = std::chrono::minutes(10);  // a flapping alert is only resolved after this long resolved
};

struct OutboxConfig {
  Duration expiry = std::chrono::hours(24);  // a notification not delivered by then is dropped
  std::size_t max_entries = 10000;           // beyond it the oldest undelivered entries are dropped
  Duration initial_backoff = std::chrono::seconds(1);
  Duration max_backoff = std::chrono::minutes(5);
  unsigned concurrency = 4;  // deliveries in flight at once (to distinct receivers or groups)
};

struct AlertingConfig {
  // The `alerting:` block.
  std::vector<std::string> group_by = {"alertname"};
  Duration group_wait{0};
  Duration resolve_timeout = std::chrono::minutes(15);  // an alert no rule group reports any more is resolved
  std::string time_zone = "UTC";                        // for times in notification text
  // Severity label values from the least to the most severe. An acknowledgement covers its own tier
  // and the ones below it; an alert of a tier above re-opens paging. Unlisted values rank lowest.
  std::vector<std::string> severities = {"info", "warning", "error", "critical"};
  FlappingConfig flapping;
  OutboxConfig outbox;
  yaml::Secret api_token;  // bearer token for mutating API calls; without one they are disabled
  // Who this daemon is (the top-level `labels:`): added to every alert in every notification, where
  // the alert lacks the label, as Prometheus adds its external labels to alerts it sends.
  std::map<std::string, std::string> external_labels;

  std::map<std::string, EscalationPolicy> escalation_policies;
  std::vector<RouteConfig> routes;                  // first match wins
  std::map<std::string, ReceiverConfig> receivers;  // always holds a `log` receiver
  std::map<std::string, TimeIntervalConfig> time_intervals;
  std::vector<InhibitRuleConfig> inhibit_rules;
};

// Reads `alerting`, `escalation_policies`, `routes`, `receivers`, `time_intervals` and
// `inhibit_rules` from the config's root mapping (marking them known) and checks every cross
// reference. Errors go to the decoder's Diagnostics.
void decode_alerting(yaml::MapDecoder& top_level, AlertingConfig& out);

// Whether a time zone name can be loaded (UTC, Local, or a file under /usr/share/zoneinfo).
bool time_zone_exists(const std::string& name);

// Whether `t` (ms since the epoch) falls into the interval, as routes' mute_time_intervals see it (the
// rule engine's SLOs exclude such time from their budgets).
bool time_interval_active(const TimeIntervalConfig& interval, std::int64_t t);

}  // namespace tocsin::config
