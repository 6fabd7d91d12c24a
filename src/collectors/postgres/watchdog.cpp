#include "collectors/postgres/watchdog.hpp"

namespace tocsin::collectors::postgres {

Watchdog::Watchdog() : thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void Watchdog::arm(Clock::time_point when, Action action) {
  {
    std::lock_guard lock(mutex_);
    when_ = when;
    action_ = std::move(action);
  }
  changed_.notify_all();
}

void Watchdog::disarm() {
  // The action runs with the mutex held, so taking it waits for a running action to finish.
  std::lock_guard lock(mutex_);
  when_.reset();
  action_ = nullptr;
}

std::uint64_t Watchdog::fired() const {
  std::lock_guard lock(mutex_);
  return fired_;
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!when_) {
      changed_.wait(lock);
      continue;
    }
    const Clock::time_point when = *when_;
    if (Clock::now() < when) {
      changed_.wait_until(lock, when);
      continue;  // re-check: disarmed, re-armed or stopped meanwhile
    }
    Action action = std::move(action_);
    when_.reset();
    action_ = nullptr;
    ++fired_;
    if (!action) continue;
    if (auto again = action()) {
      when_ = *again;
      action_ = std::move(action);
    }
  }
}

}  // namespace tocsin::collectors::postgres
