#include "collectors/redis/slowlog_tracker.hpp"

namespace tocsin::collectors::redis {

SlowlogTracker::Change SlowlogTracker::change(std::string_view run_id,
                                              const std::vector<SlowlogEntry>& newest_first,
                                              const Look& look) const {
  if (!seen_) return Change::none;
  if (!run_id.empty() && !run_id_.empty()) {
    if (run_id == run_id_) return Change::none;
    // uptime_in_seconds is whole seconds of a cached clock: up to a second more than the server
    // really ran. A server restarted since the previous look ran less than the time since then.
    if (look.uptime_seconds && *look.uptime_seconds > look.now_seconds - last_look_seconds_ + 1) {
      return Change::other_server;
    }
    return Change::restarted;
  }
  const bool backwards = last_id_ && !newest_first.empty() && newest_first.front().id < *last_id_;
  return backwards ? Change::restarted : Change::none;
}

bool SlowlogTracker::needs_longer_page(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                                       std::size_t page_size, std::int64_t log_length,
                                       const Look& look) const {
  if (!seen_ || newest_first.size() < page_size ||
      log_length <= static_cast<std::int64_t>(newest_first.size())) {
    return false;  // a baseline counts nothing, and a page that holds the whole log has everything
  }
  const Change c = change(run_id, newest_first, look);
  if (c == Change::other_server) return false;           // a baseline
  if (c == Change::restarted || !last_id_) return true;  // every entry is new
  return newest_first.back().id > *last_id_ + 1;
}

SlowlogTracker::Update SlowlogTracker::observe(std::string_view run_id,
                                               const std::vector<SlowlogEntry>& newest_first,
                                               const Look& look) {
  Update update;
  const Change c = change(run_id, newest_first, look);
  if (!seen_) {
    update.baseline = true;
  } else if (c == Change::other_server) {
    update.baseline = true;
    update.other_server = true;
    last_id_.reset();  // the other server's counter: only its entries from now on are new
  } else if (c == Change::restarted) {
    update.restarted = true;
    last_id_ = -1;  // the counter starts again from 0: every entry of the new server is new
  }
  if (!update.baseline) {
    for (auto it = newest_first.rbegin(); it != newest_first.rend(); ++it) {
      if (!last_id_ || it->id > *last_id_) update.fresh.push_back(&*it);
    }
    if (last_id_ && !update.fresh.empty() && update.fresh.front()->id > *last_id_ + 1) {
      update.missed = static_cast<std::uint64_t>(update.fresh.front()->id - *last_id_ - 1);
    }
  }
  seen_ = true;
  last_look_seconds_ = look.now_seconds;
  if (!run_id.empty()) run_id_ = std::string(run_id);
  for (const SlowlogEntry& e : newest_first) {
    if (!last_id_ || e.id > *last_id_) last_id_ = e.id;
  }
  return update;
}

}  // namespace tocsin::collectors::redis
