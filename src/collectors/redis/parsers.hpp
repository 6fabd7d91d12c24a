#pragma once
// Pure parsers of the replies the Redis collector reads: INFO text, SLOWLOG GET, LATENCY LATEST,
// CONFIG GET, SCAN. No I/O; tests feed them replies captured from a real server.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/redis/reply.hpp"

namespace tocsin::collectors::redis {

// A number as INFO prints them: integers, decimals, "-1". nullopt for anything else ("ok",
// "jemalloc-5.3.0", "100.19%").
std::optional<double> parse_number(std::string_view text);

struct CommandStat {
  std::string command;  // as Redis names it: "get", "client|setname"
  double calls = 0;
  double usec = 0;
  std::optional<double> rejected_calls;  // Redis 6.2+
  std::optional<double> failed_calls;    // Redis 6.2+
};

struct ErrorStat {
  std::string error;  // the error prefix: "ERR", "WRONGTYPE"
  double count = 0;
};

struct LatencyPercentiles {
  std::string command;
  std::vector<std::pair<std::string, double>> quantiles;  // ("50", 4.015), ("99.9", 5.023): microseconds
};

struct KeyspaceDb {
  std::string name;  // "db0"
  int index = 0;
  double keys = 0;
  double expires = 0;
  std::optional<double> avg_ttl_ms;
};

struct ReplicaLine {  // slaveN:ip=...,port=...,state=...,offset=...,lag=... on a master
  std::string ip;
  std::string port;
  std::string state;
  double offset = 0;
  std::optional<double> lag;  // seconds; absent before Redis 3.0
};

// INFO (any sections), parsed leniently: unknown fields and sections are kept as text, so a newer
// Redis only adds fields. Lines that cannot be read are listed in `problems`, not fatal.
struct Info {
  std::vector<std::string> sections;                       // "Server", "Clients", ... in order
  std::map<std::string, std::string, std::less<>> fields;  // every key:value line outside the
                                                           // sections below
  std::vector<CommandStat> commands;                       // # Commandstats
  std::vector<ErrorStat> errors;                           // # Errorstats
  std::vector<LatencyPercentiles> latency;                 // # Latencystats
  std::vector<KeyspaceDb> keyspace;                        // # Keyspace
  std::vector<ReplicaLine> replicas;                       // slaveN lines of # Replication
  std::vector<std::string> problems;                       // "line 12: ..." for lines skipped

  const std::string* get(std::string_view key) const;
  std::optional<double> number(std::string_view key) const;
  std::string text(std::string_view key) const;  // "" when absent
};

// Throws ReplyError when the text holds no INFO field at all (not an INFO reply).
Info parse_info(std::string_view text);

struct SlowlogEntry {
  std::int64_t id = 0;
  std::int64_t timestamp = 0;  // unix seconds
  std::int64_t duration_us = 0;
  std::vector<std::string> args;  // command name first; Redis truncates long ones
  std::string client_addr;        // Redis 4.0+
  std::string client_name;        // Redis 4.0+

  // The command's name, lowercase ("get"); never an argument.
  std::string command() const;
};

// SLOWLOG GET n: newest entry first. Throws ReplyError naming the entry and field on a malformed reply.
std::vector<SlowlogEntry> parse_slowlog_get(const Reply& reply);

struct LatencyEvent {
  std::string event;           // "command", "fast-command", "fork", ...
  std::int64_t timestamp = 0;  // unix seconds of the latest spike
  std::int64_t latest_ms = 0;
  std::int64_t max_ms = 0;
};
std::vector<LatencyEvent> parse_latency_latest(const Reply& reply);

// CONFIG GET: a flat array of name, value pairs.
std::map<std::string, std::string> parse_config_get(const Reply& reply);

struct ScanPage {
  std::string cursor;  // "0" when the iteration is complete
  std::vector<std::string> keys;
};
ScanPage parse_scan(const Reply& reply);

// An integer reply (SLOWLOG LEN, LLEN, ...); `command` names it in the error.
std::int64_t expect_integer(const Reply& reply, std::string_view command);
// A bulk string reply (INFO); `command` names it in the error.
const std::string& expect_string(const Reply& reply, std::string_view command);

}  // namespace tocsin::collectors::redis
