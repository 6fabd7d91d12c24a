#pragma once
// Which slow-log entries are new since the previous cycle, so each is counted exactly once. Pure
// state machine: no I/O, no clock.
//
// Redis numbers slow-log entries from a counter that only grows while the server runs: SLOWLOG RESET
// empties the log but does not reset the counter, and the log is a ring (slowlog-max-len) that drops
// its oldest entries. So an entry is new when its id is above the highest id seen; ids that were never
// seen below the oldest entry read are entries that left the log (by rotation or RESET) unread. A
// restart (a new run_id) starts the counter again from 0.
//
// A new run_id is a restart only when the server's uptime fits in the time since the previous look;
// a server that was up before that (a failover, or the address now leads to another instance) is a
// different server whose log is history: a new baseline, nothing counted or missed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/redis/parsers.hpp"

namespace tocsin::collectors::redis {

// What the caller knows of the server besides its log. `uptime_seconds` (INFO uptime_in_seconds) and
// `now_seconds` (a monotonic clock) tell a restart from another server; without an uptime, a new run_id
// is taken for a restart.
struct SlowlogLook {
  std::optional<double> uptime_seconds;
  double now_seconds = 0;
};

class SlowlogTracker {
 public:
  struct Update {
    std::vector<const SlowlogEntry*> fresh;  // new entries, oldest first (pointers into the input)
    std::uint64_t missed = 0;                // entries that left the log before they could be read
    bool baseline = false;      // the first look, or another server's: nothing counted, the log is history
    bool restarted = false;     // the server restarted since the previous look
    bool other_server = false;  // a different server that was up before the previous look (a baseline)
  };

  using Look = SlowlogLook;

  // Whether a page of `page_size` newest entries (`newest_first`, as SLOWLOG GET returns them, from a
  // log holding `log_length` entries) may not reach back to the last entry seen: then the caller reads
  // a longer page before calling observe().
  bool needs_longer_page(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                         std::size_t page_size, std::int64_t log_length, const Look& look = {}) const;

  // Takes in the newest entries (newest first) of the server identified by `run_id` (may be empty
  // when unknown: then an id that went backwards means a restart).
  Update observe(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                 const Look& look = {});

  // Forget everything (the next observe() is a baseline).
  void reset() { *this = SlowlogTracker(); }

 private:
  enum class Change { none, restarted, other_server };
  Change change(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                const Look& look) const;

  bool seen_ = false;
  std::string run_id_;
  // Highest id seen; nullopt while the log has been empty since the baseline (the counter's value is
  // unknown, so gaps cannot be told).
  std::optional<std::int64_t> last_id_;
  double last_look_seconds_ = 0;  // now_seconds of the previous look
};

}  // namespace tocsin::collectors::redis
