#pragma once
// ProblemLog: what a collector says about a lasting problem of its target, once when it starts or
// changes and once when it ends, instead of every cycle.

#include <spdlog/spdlog.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace tocsin::collectors {

// Keeps the last problem reported per subject (a file, a command, a key...). `report` logs a problem
// when it is new or its message changed; `clear` logs that it ended, if it was active.
class ProblemLog {
 public:
  ProblemLog(std::shared_ptr<spdlog::logger> log, std::string prefix)
      : log_(std::move(log)), prefix_(std::move(prefix)) {}

  void report(std::string_view subject, spdlog::level::level_enum level, const std::string& message) {
    if (auto it = active_.find(subject); it == active_.end()) {
      active_.emplace(std::string(subject), message);
    } else if (it->second == message) {
      return;
    } else {
      it->second = message;
    }
    log_->log(level, "{}: {}", prefix_, message);
  }

  // `message()` builds the line only when a problem ended, so a healthy cycle allocates nothing.
  template <typename MessageFn>
  void clear(std::string_view subject, MessageFn message) {
    auto it = active_.find(subject);
    if (it == active_.end()) return;
    active_.erase(it);
    log_->info("{}: {}", prefix_, message());
  }

 private:
  std::shared_ptr<spdlog::logger> log_;
  std::string prefix_;
  std::map<std::string, std::string, std::less<>> active_;
};

}  // namespace tocsin::collectors
