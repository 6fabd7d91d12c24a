#pragma once
// GET / : what on-call reads first. Server-rendered HTML with no external assets and no script:
// the daemon's host in the title and header; down collectors and failing rules first; firing alerts
// by severity with their escalation step, acknowledgement and silences, values humanised by unit,
// each with its rule's expression, threshold and `for` in a <details>; pending alerts with when
// they fire; "what is slow now" (slow_now.hpp); each SLO's remaining budget, active silences, the
// collectors' health and the outbox. Refreshes itself every 30 s.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/http/router.hpp"

namespace tocsin::http {

// One collector instance's health, as the scheduler reports it (http/ does not know collectors).
struct CollectorStatus {
  std::string kind;
  std::string name;
  bool up = false;
  bool collected = false;  // at least one cycle ran
  std::string last_error;
  Timestamp last_success = 0;
  double last_duration_seconds = 0;
  std::chrono::milliseconds interval{0};
  std::string claim{};  // a shared target's: "claimed" or "standby" (docs/fleet.md); empty otherwise
};

using CollectorStatusSource = std::function<std::vector<CollectorStatus>()>;

// One SLO's budget, as the rule engine reports it (http/ does not know rules). NaN: no data.
struct SloStatus {
  std::string name;
  std::string service;
  double objective = 0;  // percent
  std::string window;    // "30d"
  double budget_remaining = 0;
  double burn_rate_1h = 0;
  double exhaustion_seconds = 0;  // +Inf: not burning
  std::string alert_state;        // inactive, pending or firing
};

using SloStatusSource = std::function<std::vector<SloStatus>()>;

// One alerting or recording rule, as the rule engine reports it (http/ does not know rules).
struct RuleTierStatus {
  std::string severity;
  std::string threshold;  // "> 0.9", ">= 100"
  double for_seconds = 0;
};
struct RuleStatus {
  std::string group;       // the group's name
  std::string group_file;  // its file
  std::string name;        // the alert or recorded series name
  bool alerting = true;
  std::string expr;
  double for_seconds = 0;
  std::vector<RuleTierStatus> tiers;
  std::string unit;        // the `unit` annotation or label, if any
  std::string last_error;  // the last evaluation's failure; empty when it succeeded
};

using RuleStatusSource = std::function<std::vector<RuleStatus>()>;

// The page's other sources, each optional.
struct StatusPageExtras {
  RuleStatusSource rules;
  // The "what is slow now" section's HTML at a time (slow_now.hpp); none: the section is left out.
  std::function<std::string(Timestamp)> slow_now;
  // The host shown when the config's top-level `labels` name none (instance, host); empty: the
  // machine's host name.
  std::string host;
  // Whether /runbooks serves pages (web.runbooks_dir is set): the page then links to it.
  std::function<bool()> runbooks;
};

void add_status_page(Router& router, const alerting::Dispatcher& dispatcher, const Clock& clock,
                     CollectorStatusSource collectors, SloStatusSource slos = {},
                     StatusPageExtras extras = {});

std::string render_status_page(const alerting::Dispatcher& dispatcher, Timestamp now,
                               const std::vector<CollectorStatus>& collectors,
                               const std::vector<SloStatus>& slos = {},
                               const std::vector<RuleStatus>& rules = {}, const std::string& slow_now = "",
                               const std::string& host = "", bool runbooks = false);

}  // namespace tocsin::http
