#pragma once
// Configuration of a worker-queue collector instance (collectors.queues[i]): one Redis, and which job
// systems' data to read in it. src/collectors/queues/README.md lists every key with its default.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collectors/redis/config.hpp"
#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

struct SidekiqConfig {
  bool enabled = false;
  std::string key_prefix;  // `namespace:` (redis-namespace) becomes "<namespace>:"; or `key_prefix` as is
  unsigned retry_sample = 100;  // retry-set jobs read per cycle for the retry-depth distribution
  Duration dead_after = std::chrono::seconds(60);  // a process whose beat is older is dead
  bool processes = true;  // read the processes set, the process hashes and their in-progress work
};

struct CeleryConfig {
  bool enabled = false;
  std::vector<std::string> exchanges{"celery"};  // _kombu.binding.<exchange> sets name the queues
  std::vector<std::string> queues;               // read as well, bound or not
  std::vector<int> priority_steps{3, 6, 9};      // sub-lists NAME\x06\x16N summed into the queue
  std::string unacked_key = "unacked";
  std::string unacked_index_key = "unacked_index";
  Duration visibility_timeout = std::chrono::hours(1);  // an unacked task older than this is overdue
};

struct RqConfig {
  bool enabled = false;
  Duration dead_after =
      std::chrono::seconds(420);  // a worker whose last_heartbeat is older is dead (RQ's worker_ttl)
};

// A plain Redis list used as a queue: named (`key`) or every list whose name matches `pattern` (found by
// SCAN, one bounded step per cycle).
struct QueueListConfig {
  std::string key;
  std::string pattern;
  std::string timestamp_field;  // a JSON field of the oldest item holding its enqueue time; empty: no latency
  enum class Unit { automatic, seconds, milliseconds } unit = Unit::automatic;
  bool oldest_at_head = false;  // producers RPUSH (oldest at index 0) instead of LPUSH (oldest at -1)
};

struct QueueStreamConfig {
  std::string key;  // a stream with consumer groups
};

struct QueuesTargetConfig {
  CollectorCommon common{.name = "queues"};
  std::string address = "127.0.0.1:6379";  // as given, without any password
  RedisEndpoint endpoint;
  std::string user;
  yaml::Secret password;
  int db = 0;
  Duration connect_timeout = std::chrono::seconds(2);
  Duration read_timeout = std::chrono::seconds(2);
  Duration write_timeout = std::chrono::seconds(2);
  Duration max_reconnect_backoff = std::chrono::seconds(30);
  std::string client_name = "tocsin-queues";
  unsigned max_queues = 500;                  // queues reported per system; the rest are counted
  std::uint64_t max_job_bytes = 1024 * 1024;  // a job payload over this is not parsed (counted as too large)
  unsigned scan_count = 1000;                 // SCAN COUNT of the one pattern-scan step per cycle
  SidekiqConfig sidekiq;
  CeleryConfig celery;
  RqConfig rq;
  std::vector<QueueListConfig> lists;
  std::vector<QueueStreamConfig> streams;
};
void decode(const yaml::Node& node, QueuesTargetConfig& out);
bool decode(const yaml::Node& node, QueueListConfig& out);
bool decode(const yaml::Node& node, QueueStreamConfig& out);

}  // namespace tocsin::config
