#pragma once
// Configuration of a Redis collector instance (collectors.redis[i]). src/collectors/redis/README.md lists
// every key with its default.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

// Where a Redis listens, decoded from `address`: a TCP host and port, or a unix socket path.
struct RedisEndpoint {
  std::string host = "127.0.0.1";  // empty when unix_socket is set
  int port = 6379;
  std::string unix_socket;  // absolute path; empty for TCP

  // "host:port" ("[v6]:port") or "unix:/path": never holds credentials, safe for logs and errors.
  std::string to_string() const;
};

// What an address string holds besides the endpoint (from a redis:// URL).
struct RedisAddressParts {
  RedisEndpoint endpoint;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<int> db;
};

// Parses an address: "host:port", "host" (port 6379), "[v6]:port", "/path/to.sock",
// "unix:///path/to.sock", "redis://[user[:password]@]host[:port][/db]". Returns an error message (which
// never quotes the password) or nullopt on success.
std::optional<std::string> parse_redis_address(std::string_view text, RedisAddressParts& out);

// A key whose size is read every cycle (LLEN, SCARD, ZCARD, HLEN, XLEN or STRLEN by its type).
struct RedisKeyConfig {
  std::string key;
  std::optional<int> db;  // default: the target's db
};
bool decode(const yaml::Node& node, RedisKeyConfig& out);  // "key" or {key: ..., db: ...}

struct RedisSlowlogConfig {
  bool enabled = true;          // SLOWLOG LEN/GET every cycle
  unsigned entries = 10;        // newest entries kept for the API (GET /api/v1/collectors/redis/<name>)
  bool show_arguments = false;  // arguments in the API (they can hold keys and personal data)
  unsigned max_fetch = 128;     // most entries read in one cycle when many are new
};

struct RedisBigKeysConfig {
  bool enabled = false;                            // sampled SCAN + MEMORY USAGE, spread over cycles
  std::uint64_t threshold_bytes = 1024 * 1024;     // `threshold`: a key at or over it is big ("1mb", 4096)
  Duration budget = std::chrono::milliseconds(5);  // scanning time per cycle
  unsigned scan_count = 100;                       // SCAN COUNT hint per round trip
  unsigned samples = 5;                            // MEMORY USAGE SAMPLES for nested values
  unsigned report = 50;                            // names of big keys kept for the API
};

struct RedisTargetConfig {
  CollectorCommon common{.name = "redis"};
  // As given, minus any password (a password in a redis:// URL moves to `password`). Decoded into
  // `endpoint`, `user` and `db`.
  std::string address = "127.0.0.1:6379";
  RedisEndpoint endpoint;
  std::string user;       // ACL user (Redis 6+); empty: AUTH with the password only
  yaml::Secret password;  // `password`, `password_file`, or from the URL
  int db = 0;
  Duration connect_timeout = std::chrono::seconds(2);
  Duration read_timeout = std::chrono::seconds(2);
  Duration write_timeout = std::chrono::seconds(2);
  Duration max_reconnect_backoff = std::chrono::seconds(30);
  std::string client_name = "tocsin";     // CLIENT SETNAME on connect; empty: not set
  std::string config_command = "CONFIG";  // renamed CONFIG on managed Redis; empty: never called
  Duration config_refresh = std::chrono::minutes(1);
  bool latency = true;  // LATENCY LATEST every cycle
  RedisSlowlogConfig slowlog;
  std::vector<RedisKeyConfig> keys;
  RedisBigKeysConfig big_keys;
  // `shared: true`: collected only by the daemon holding the lease key tocsin:claim:redis:<name>
  // (SET NX PX, renewed each cycle), docs/fleet.md.
  SharedTarget shared;
};
void decode(const yaml::Node& node, RedisTargetConfig& out);
// What depends on the top-level interval: a shared target's lease.
void check_redis_interval(const yaml::Node& block, const RedisTargetConfig& target, Duration interval);

// Parses a size as redis.conf writes them: a number of bytes, or with a unit, case-insensitive: k, m, g
// are powers of 1000, kb, mb, gb powers of 1024 ("1mb" is 1048576). Returns nullopt when invalid.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

}  // namespace tocsin::config
