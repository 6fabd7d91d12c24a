#pragma once
// The contract between the rule engine and alert delivery: what rules/ hands to alerting/ after each
// evaluation of a group. alerting/ knows nothing else of rules (ARCHITECTURE.md).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/labels.hpp"
#include "tocsin/core/sample.hpp"

namespace tocsin::alerting {

enum class AlertState { pending, firing, resolved };
inline std::string_view to_string(AlertState state) {
  switch (state) {
    case AlertState::pending: return "pending";
    case AlertState::firing: return "firing";
    case AlertState::resolved: return "resolved";
  }
  return "unknown";
}

// One alert instance (one label set of one alerting rule) as the rule engine sees it now.
struct Alert {
  Labels labels;       // alertname, severity (for tiered rules: the current tier) and the rest
  Labels annotations;  // templated summary, description, runbook_url, ...
  AlertState state = AlertState::pending;
  Timestamp active_at = 0;    // first evaluation that matched (the `for` clock starts here)
  Timestamp fired_at = 0;     // when it started firing (its current tier for tiered rules); 0 while pending
  Timestamp resolved_at = 0;  // when it resolved; 0 while active
  double value = 0;           // the expression's value at the last evaluation
  std::string escalation;     // the rule's escalation policy name; empty: the routes decide
  std::string rule_group;     // "<file>;<group>" as Prometheus names groups
  std::string rule_name;      // the rule's alert name
  // A tiered rule's alert: its `severity` label changes with the tier while it stays one incident,
  // so alert delivery keys it by its labels without `severity`. `tier` is the current tier's index,
  // least severe first (-1 when not tiered or not yet at a tier).
  bool tiered = false;
  int tier = -1;
};

// Receives the alerts of a rule group after each evaluation of that group: every active (pending or
// firing) alert of the group, and each alert that resolved in that evaluation (exactly once, with
// state resolved). An alert absent from the next call of the same group after being sent as
// resolved is gone. Called from the rule engine's threads; implementations must be thread-safe and
// must not block on I/O (queue the work).
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void send(const std::string& rule_group, std::span<const Alert> alerts, Timestamp now) = 0;
};

}  // namespace tocsin::alerting
