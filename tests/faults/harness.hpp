#pragma once
// The fault-injection suite's shared pieces (docs/reliability.md, Faults): reading /metrics, the
// notifications a receiver accepted, a process's RSS, and the summary table every case adds its row to.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fixtures/http_receiver.hpp"

namespace tocsin::testing::faults {

// The password every case plants in the config (Redis's requirepass, Postgres's password): no log line
// may hold it.
inline constexpr const char* kPlantedPassword = "planted-Faults-pw-7731";

struct Row {
  std::string fault;
  bool survived = false;  // the daemon ran through it and every assertion of the case held
  long lost = 0;          // notifications expected and never accepted by the receiver
  long duplicated = 0;    // accepted more than once
  bool secrets_leaked = false;
  std::string note;
};

// Adds a row to the table the environment prints at the end of the run (and writes to
// $TOCSIN_FAULTS_TABLE when set).
void record(Row row);

// The value of the first series of `name` in an exposition whose labels include every one of `labels`.
std::optional<double> metric(const std::string& exposition, const std::string& name,
                             const std::map<std::string, std::string>& labels = {});

// "event alertname target step" of every alert in every notification the receiver accepted (answered
// 2xx, before the client's `timeout`).
std::vector<std::string> accepted_events(const HttpReceiver& receiver,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(1));

// VmRSS of a process, in KiB (0 when unreadable).
long rss_kib(pid_t pid);

}  // namespace tocsin::testing::faults
