#pragma once
// GET / : what on-call reads first. Server-rendered HTML with no external assets and no script:
// firing alerts by severity with their escalation step, acknowledgement and silences, pending
// alerts, each SLO's remaining budget, active silences, the collectors' health and the outbox.
// Refreshes itself every 30 s.

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

void add_status_page(Router& router, const alerting::Dispatcher& dispatcher, const Clock& clock,
                     CollectorStatusSource collectors, SloStatusSource slos = {});

std::string render_status_page(const alerting::Dispatcher& dispatcher, Timestamp now,
                               const std::vector<CollectorStatus>& collectors,
                               const std::vector<SloStatus>& slos = {});

}  // namespace tocsin::http
