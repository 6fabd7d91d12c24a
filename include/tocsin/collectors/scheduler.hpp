#pragma once
// Runs collector instances on their intervals: timers on the I/O thread, the blocking collection on
// the worker pool, a deadline per cycle. The worker that collected a cycle also adds the instance's
// identity labels and commits the batch; only the health update goes back to the I/O thread. A slow or hung
// target never delays another (each has at most one collection in flight and its own timer); a missed
// deadline counts as a failure, reports the target down, and is logged once per change of state, not every
// cycle.

#include <spdlog/fwd.h>

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/collectors/spec.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/store/store.hpp"

// Declared, not included: Asio's and prometheus-cpp's headers are heavy, and only the daemon and
// the scheduler itself use these types beyond a reference.
namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio
namespace prometheus {
class Registry;
}  // namespace prometheus

namespace tocsin::collectors {

struct CollectorHealth {
  std::string kind;
  std::string name;
  bool up = false;
  bool collected = false;  // at least one cycle finished
  std::string last_error;  // empty when up
  Duration interval{0};
  Duration timeout{0};  // the cycle's deadline
  double last_duration_seconds = 0;
  Timestamp last_success = 0;
  Timestamp last_attempt = 0;  // when the last finished cycle (up or down) began
  // A shared target's claim (docs/fleet.md): whether this daemon holds it (and collects) or stands
  // by; nullopt for a target that is not shared.
  std::optional<bool> claimed{};
};

// Thread-safe: start/stop/replace are called from the I/O thread or before it runs; health() and
// details() from anywhere.
class Scheduler {
 public:
  Scheduler(boost::asio::io_context& io, boost::asio::thread_pool& pool, store::Store& store,
            const Clock& clock, prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Called on the worker right after each commit of an instance's cycle: the instance's store writer
  // name, every metric name its commits have held (sorted; a new vector when the set grew, the same
  // otherwise: it is gathered from a batch only when the commit created series) and the samples'
  // time. The app layer hands it to the rules (a commit-listener, so collectors know nothing of them).
  // It must be quick and must not throw. Set it before the first replace().
  using CommitListener =
      std::function<void(const std::string& source,
                         const std::shared_ptr<const std::vector<std::string>>& metric_names, Timestamp t)>;
  void set_commit_listener(CommitListener listener) { listener_ = std::move(listener); }

  // Replaces the running set of collectors (at start and on reload). Instances keep their store
  // writer by kind and name, so a reloaded collector's series continue without a gap; an instance
  // that is gone has its series marked stale. Each new instance collects at once, then on its
  // interval.
  void replace(std::vector<CollectorSpec> specs);
  // Cancels every timer and interrupts collections in flight; their results are discarded.
  void stop();

  // Runs one cycle of every instance on the calling thread, in order, and commits each (for
  // `tocsin once`). Returns whether every instance succeeded. Must not be mixed with replace().
  static bool run_once(std::vector<CollectorSpec>& specs, store::Store& store, const Clock& clock,
                       spdlog::logger& log);

  std::vector<CollectorHealth> health() const;
  // The collector's details() JSON, or null when no such instance runs.
  nlohmann::json details(std::string_view kind, std::string_view name) const;

 private:
  class Instance;
  struct Metrics;
  boost::asio::io_context& io_;
  boost::asio::thread_pool& pool_;
  store::Store& store_;
  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<Metrics> metrics_;
  CommitListener listener_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Instance>> instances_;
};

}  // namespace tocsin::collectors
