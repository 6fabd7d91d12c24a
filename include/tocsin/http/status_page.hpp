#pragma once
// GET / : what on-call reads first. Server-rendered HTML with no external assets and no script:
// firing alerts by severity with their escalation step, acknowledgement and silences, pending
// alerts, active silences, the collectors' health and the outbox. Refreshes itself every 30 s.

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
};

using CollectorStatusSource = std::function<std::vector<CollectorStatus>()>;

void add_status_page(Router& router, const alerting::Dispatcher& dispatcher, const Clock& clock,
                     CollectorStatusSource collectors);

std::string render_status_page(const alerting::Dispatcher& dispatcher, Timestamp now,
                               const std::vector<CollectorStatus>& collectors);

}  // namespace tocsin::http
