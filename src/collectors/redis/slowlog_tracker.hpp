#pragma once
// Which slow-log entries are new since the previous cycle, so each is counted exactly once. Pure
// state machine: no I/O, no clock.
//
// Redis numbers slow-log entries from a counter that only grows while the server runs: SLOWLOG RESET
// empties the log but does not reset the counter, and the log is a ring (slowlog-max-len) that drops
// its oldest entries. So an entry is new when its id is above the highest id seen; ids that were never
// seen below the oldest entry read are entries that left the log (by rotation or RESET) unread. A
// restart (a new run_id) starts the counter again from 0.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/redis/parsers.hpp"

namespace tocsin::collectors::redis {

class SlowlogTracker {
 public:
  struct Update {
    std::vector<const SlowlogEntry*> fresh;  // new entries, oldest first (pointers into the input)
    std::uint64_t missed = 0;                // entries that left the log before they could be read
    bool baseline = false;                   // the first look: nothing counted, the log is history
    bool restarted = false;                  // the server restarted since the previous look
  };

  // Whether a page of `page_size` newest entries (`newest_first`, as SLOWLOG GET returns them, from a
  // log holding `log_length` entries) may not reach back to the last entry seen: then the caller reads
  // a longer page before calling observe().
  bool needs_longer_page(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                         std::size_t page_size, std::int64_t log_length) const;

  // Takes in the newest entries (newest first) of the server identified by `run_id` (may be empty
  // when unknown: then an id that went backwards means a restart).
  Update observe(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first);

  // Forget everything (the next observe() is a baseline).
  void reset() { *this = SlowlogTracker(); }

 private:
  bool restarted(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first) const;

  bool seen_ = false;
  std::string run_id_;
  // Highest id seen; nullopt while the log has been empty since the baseline (the counter's value is
  // unknown, so gaps cannot be told).
  std::optional<std::int64_t> last_id_;
};

}  // namespace tocsin::collectors::redis
