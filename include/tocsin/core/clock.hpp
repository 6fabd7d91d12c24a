#pragma once
// Time is injected: logic asks a Clock, never the system, so tests can drive it.

#include <atomic>
#include <chrono>

#include "tocsin/core/sample.hpp"

namespace tocsin {

// Thread-safe. Wall-clock time for sample timestamps and display.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point now() const = 0;
  Timestamp now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start_ms = 0) : ms_(start_ms) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void set(Timestamp ms) { ms_ = ms; }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<Timestamp> ms_;
};

}  // namespace tocsin
