#pragma once
// The collector plugin interface. A collector instance watches one target; the scheduler calls
// collect() on its interval on a worker thread, enforces the deadline, commits the batch to the
// store, and keeps the health metrics (tocsin_collector_*). A collector only collects.

#include <chrono>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/sample.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors {

struct CollectContext {
  Timestamp timestamp;                             // the cycle's sample time
  std::chrono::steady_clock::time_point deadline;  // the cycle must end by then
  Duration interval{0};                            // the instance's interval (0: unknown, `tocsin once`)
  std::chrono::milliseconds budget() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  }
};

// Thrown by collect() when the target as a whole cannot be collected (unreachable, auth failure).
// The message must name the target and the cause and never hold a secret.
class CollectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a shared target's own lock said when asked (claim.hpp decides what becomes of the cycle).
enum class ClaimAnswer {
  held,         // this daemon holds the claim (took it now, or renewed it)
  taken,        // another daemon holds it
  unreachable,  // the target could not be asked: no answer either way
};
struct ClaimResult {
  ClaimAnswer answer = ClaimAnswer::held;
  std::string error;  // why unreachable; names the target, never a secret
};

class Collector {
 public:
  virtual ~Collector() = default;

  virtual std::string_view kind() const = 0;    // "host", "postgres", "redis", ...
  virtual const std::string& name() const = 0;  // the instance name, unique per kind

  // Blocking; runs on a worker thread, never concurrently with itself. Fills `out` with the cycle's
  // samples. Partial failures (one query of many) are reported as samples and do not throw; a
  // failure of the whole target throws (CollectError or any std::exception).
  virtual void collect(const CollectContext& ctx, store::Batch& out) = 0;

  // A shared target (`shared: true`, docs/fleet.md) is collected only by the daemon that holds its
  // claim: before each cycle the scheduler calls claim() on the same worker, and collect() only when
  // this daemon holds it. claim() takes or renews the claim with the target's own locking (one lease
  // of ctx.interval's cycles) and never throws; interrupt() must reach it too.
  virtual bool shared() const { return false; }
  virtual ClaimResult claim(const CollectContext& /*ctx*/) { return {}; }

  // Fills `out` with what the target looks like when it is down (e.g. pg_up 0): used when
  // collect() threw or overran its deadline. Default: nothing.
  virtual void describe_down(store::Batch& /*out*/) {}

  // Called from another thread when collect() overran its deadline: unblock it (cancel the query,
  // shut the socket). Must be thread-safe. Default: nothing (the collection is waited out, and its
  // result discarded).
  virtual void interrupt() {}

  // What the collector knows beyond metrics, for on-call, served as JSON at
  // GET /api/v1/collectors/{kind}/{name} (e.g. Redis's newest slow-log entries). Must be
  // thread-safe (called while collect() may run). Default: null.
  virtual nlohmann::json details() const;
};

}  // namespace tocsin::collectors
