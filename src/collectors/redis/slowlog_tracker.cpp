#include "collectors/redis/slowlog_tracker.hpp"

namespace tocsin::collectors::redis {

bool SlowlogTracker::restarted(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first) const {
  if (!seen_) return false;
  if (!run_id.empty() && !run_id_.empty()) return run_id != run_id_;
  return last_id_ && !newest_first.empty() && newest_first.front().id < *last_id_;
}

bool SlowlogTracker::needs_longer_page(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first,
                                       std::size_t page_size, std::int64_t log_length) const {
  if (!seen_ || newest_first.size() < page_size || log_length <= static_cast<std::int64_t>(newest_first.size())) {
    return false;  // a baseline counts nothing, and a page that holds the whole log has everything
  }
  if (restarted(run_id, newest_first) || !last_id_) return true;  // every entry is new
  return newest_first.back().id > *last_id_ + 1;
}

SlowlogTracker::Update SlowlogTracker::observe(std::string_view run_id, const std::vector<SlowlogEntry>& newest_first) {
  Update update;
  if (!seen_) {
    update.baseline = true;
  } else if (restarted(run_id, newest_first)) {
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
  if (!run_id.empty()) run_id_ = std::string(run_id);
  for (const SlowlogEntry& e : newest_first) {
    if (!last_id_ || e.id > *last_id_) last_id_ = e.id;
  }
  return update;
}

}  // namespace tocsin::collectors::redis
