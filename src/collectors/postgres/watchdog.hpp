#pragma once
// Runs an action at a deadline unless disarmed first: the collector arms it around every statement
// with the statement's deadline (the cycle's, or a custom query's own timeout), and the action
// cancels the statement, then, if the statement still runs after a grace period, shuts the
// connection's socket down. The server's statement_timeout is another line of defence; this one
// depends on nothing the server does.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace tocsin::collectors::postgres {

// Thread-safe. One thread per watchdog, idle (blocked on a condition variable) while disarmed.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  // Returns when to run again (the action escalates), or nullopt when done.
  using Action = std::function<std::optional<Clock::time_point>()>;

  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Replaces any armed action.
  void arm(Clock::time_point when, Action action);
  // After it returns the action is not running and will not run (unless armed again).
  void disarm();
  // How many times an action ran.
  std::uint64_t fired() const;

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Clock::time_point> when_;
  Action action_;
  std::uint64_t fired_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace tocsin::collectors::postgres
