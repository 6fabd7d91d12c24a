#pragma once
// The pure layer of the queues collector: what the job systems store in Redis (job payloads, process
// hashes, in-progress work, registries, stream groups), read from reply values with no I/O, so each
// parser is tested on its own. Times are epoch seconds (double); `now` is always passed in.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/redis/reply.hpp"

namespace tocsin::collectors::queues {

using redis::Reply;

// Why a stored item could not be read. Each is a `problem` label value of tocsin_queue_problems_total.
enum class Problem {
  none,
  malformed_json,     // not JSON, or not an object
  no_timestamp,       // no usable enqueued_at/created_at (or the configured field)
  too_large,          // over max_job_bytes: not parsed
  wrong_type,         // the key holds another type (WRONGTYPE)
  bad_reply,          // a reply of an unexpected shape (or an error reply other than WRONGTYPE)
  malformed_process,  // a process/worker hash without a usable beat or info
};
std::string_view problem_name(Problem p);

// An epoch timestamp in seconds or milliseconds, told apart by size: Sidekiq 6 and 7 write float
// seconds (1.7e9), Sidekiq 8 integer milliseconds (1.7e12). Anything over 1e11 (year 5138 in
// seconds, 1973 in milliseconds) is milliseconds. Returns nullopt for non-positive or non-finite values.
std::optional<double> epoch_seconds(double value);

struct JobTime {
  Problem problem = Problem::none;
  double enqueued_at = 0;  // epoch seconds, when problem is none
};
// A Sidekiq job payload: `enqueued_at`, falling back to `created_at` (both in either unit).
JobTime sidekiq_job_time(std::string_view payload, std::uint64_t max_bytes);
// A JSON list item with its timestamp in `field` (seconds, milliseconds, or either by size; an
// ISO 8601 UTC string is accepted too).
enum class TimeUnit { automatic, seconds, milliseconds };
JobTime json_field_time(std::string_view payload, std::string_view field, TimeUnit unit,
                        std::uint64_t max_bytes);

// "2024-05-01T12:00:00.123456Z" (RQ's utcformat), "2024-05-01T12:00:00Z", "2024-05-01 12:00:00" (UTC).
std::optional<double> parse_iso8601_utc(std::string_view text);

// A bulk-string or integer reply holding an integer (GET stat:processed), nil as 0.
std::optional<long long> reply_integer(const Reply& r);
// An array reply of bulk strings (SMEMBERS, ZRANGE); nullopt for any other shape.
std::optional<std::vector<std::string>> reply_strings(const Reply& r);
bool is_wrong_type(const Reply& r);

// The retry set's sample (ZRANGE retry -N -1: the jobs due latest, which are the most retried, since
// Sidekiq waits retry_count^4 + 15 s and more before each retry).
struct RetrySample {
  std::size_t sampled = 0;
  std::size_t malformed = 0;  // not a JSON object
  std::size_t too_large = 0;  // over max_job_bytes, not parsed
  double max_retry_count = 0;
  double p95_retry_count = 0;
  std::optional<double> oldest_failed_at;  // the smallest failed_at of the sample, epoch seconds
};
RetrySample sidekiq_retry_sample(const std::vector<std::string>& jobs, std::uint64_t max_bytes);

// The nearest-rank p-quantile (0 < p <= 1) of values; 0 for none. Sorts its argument.
double nearest_rank(std::vector<double>& values, double p);

// A Sidekiq process hash, read with HMGET <identity> info busy beat quiet rss.
struct SidekiqProcess {
  bool exists = false;  // the hash was there (Sidekiq lets it expire 60 s after the last beat)
  Problem problem = Problem::none;
  std::string hostname;
  std::vector<std::string> queues;
  double concurrency = 0;
  double busy = 0;
  std::optional<double> beat;  // epoch seconds
  bool quiet = false;
  double rss_bytes = 0;  // Sidekiq stores kilobytes
};
SidekiqProcess sidekiq_process(const Reply& hmget, std::uint64_t max_bytes);

// One in-progress job of a process (`<identity>:workers` up to 6.4, `<identity>:work` from 6.5): the
// value {"queue": ..., "payload": ..., "run_at": ...} (run_at in seconds, or milliseconds by size).
struct WorkEntry {
  std::string queue;
  double run_at = 0;
};
std::optional<WorkEntry> sidekiq_work(std::string_view value, std::uint64_t max_bytes);

// A member of a _kombu.binding.<exchange> set: routing_key \x06\x16 pattern \x06\x16 queue.
std::optional<std::string> celery_binding_queue(std::string_view member);
// The sub-list that kombu's Redis transport keeps for a priority step: NAME\x06\x16N.
std::string celery_priority_list(std::string_view queue, int step);

// A consumer group from XINFO GROUPS (a flat field/value array per group).
struct StreamGroup {
  std::string name;
  double consumers = 0;
  double pending = 0;
  std::optional<double> lag;  // Redis 7+ ("lag" may be nil when Redis cannot tell)
  std::string last_delivered_id;
};
std::optional<std::vector<StreamGroup>> stream_groups(const Reply& xinfo_groups);
// XPENDING key group - + 1: the oldest pending entry's idle time in seconds; nullopt when none pend.
std::optional<double> stream_oldest_pending_idle(const Reply& xpending);

}  // namespace tocsin::collectors::queues
