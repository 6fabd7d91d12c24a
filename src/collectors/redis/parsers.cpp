#include "collectors/redis/parsers.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace tocsin::collectors::redis {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Splits "a=1,b=2" into pairs; false when a part has no '='.
bool split_pairs(std::string_view text, std::vector<std::pair<std::string_view, std::string_view>>& out) {
  out.clear();
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return false;
    out.emplace_back(part.substr(0, eq), part.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

std::string line_problem(std::size_t line, std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 80));
  if (text.size() > 80) shown += "...";
  return "line " + std::to_string(line) + ": " + std::string(why) + ": \"" + shown + "\"";
}

bool parse_command_stat(std::string_view name, std::string_view value, CommandStat& out,
                        std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  if (!split_pairs(value, pairs)) return false;
  out.command = std::string(name);
  bool calls = false;
  bool usec = false;
  for (auto [k, v] : pairs) {
    auto n = parse_number(v);
    if (!n) continue;
    if (k == "calls") {
      out.calls = *n;
      calls = true;
    } else if (k == "usec") {
      out.usec = *n;
      usec = true;
    } else if (k == "rejected_calls") {
      out.rejected_calls = *n;
    } else if (k == "failed_calls") {
      out.failed_calls = *n;
    }
  }
  return calls && usec;
}

bool parse_keyspace(std::string_view name, std::string_view value, KeyspaceDb& out,
                    std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  if (!name.starts_with("db")) return false;
  std::string_view digits = name.substr(2);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out.index);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
  if (!split_pairs(value, pairs)) return false;
  out.name = std::string(name);
  bool keys = false;
  bool expires = false;
  for (auto [k, v] : pairs) {
    auto n = parse_number(v);
    if (!n) continue;
    if (k == "keys") {
      out.keys = *n;
      keys = true;
    } else if (k == "expires") {
      out.expires = *n;
      expires = true;
    } else if (k == "avg_ttl") {
      out.avg_ttl_ms = *n;
    }
  }
  return keys && expires;
}

bool parse_replica(std::string_view value, ReplicaLine& out,
                   std::vector<std::pair<std::string_view, std::string_view>>& pairs) {
  if (!split_pairs(value, pairs)) return false;
  bool offset = false;
  for (auto [k, v] : pairs) {
    if (k == "ip") {
      out.ip = std::string(v);
    } else if (k == "port") {
      out.port = std::string(v);
    } else if (k == "state") {
      out.state = std::string(v);
    } else if (k == "offset") {
      auto n = parse_number(v);
      if (!n) return false;
      out.offset = *n;
      offset = true;
    } else if (k == "lag") {
      out.lag = parse_number(v);
    }
  }
  return offset;
}

bool is_replica_key(std::string_view key) {
  if (!key.starts_with("slave") || key.size() == 5) return false;
  for (char c : key.substr(5)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void malformed(std::string_view command, const std::string& what, const Reply& got) {
  throw ReplyError(std::string(command) + ": " + what + ", got " + describe(got));
}

}  // namespace

std::optional<double> parse_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

const std::string* Info::get(std::string_view key) const {
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::optional<double> Info::number(std::string_view key) const {
  const std::string* value = get(key);
  if (value == nullptr) return std::nullopt;
  return parse_number(*value);
}

std::string Info::text(std::string_view key) const {
  const std::string* value = get(key);
  return value == nullptr ? std::string() : *value;
}

Info parse_info(std::string_view text) {
  Info info;
  std::string_view section;
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  std::size_t line_number = 0;
  std::size_t field_lines = 0;
  while (!text.empty()) {
    ++line_number;
    std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) continue;
    if (line.starts_with('#')) {
      section = trim(line.substr(1));
      info.sections.emplace_back(section);
      continue;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      info.problems.push_back(line_problem(line_number, line, "not a field:value line"));
      continue;
    }
    ++field_lines;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (section == "Commandstats" && key.starts_with("cmdstat_")) {
      CommandStat stat;
      if (parse_command_stat(key.substr(8), value, stat, pairs)) {
        info.commands.push_back(std::move(stat));
      } else {
        info.problems.push_back(line_problem(line_number, line, "expected calls=N,usec=N,..."));
      }
    } else if (section == "Errorstats" && key.starts_with("errorstat_")) {
      ErrorStat stat{std::string(key.substr(10)), 0};
      bool ok = split_pairs(value, pairs) && !pairs.empty() && pairs[0].first == "count";
      std::optional<double> count = ok ? parse_number(pairs[0].second) : std::nullopt;
      if (count) {
        stat.count = *count;
        info.errors.push_back(std::move(stat));
      } else {
        info.problems.push_back(line_problem(line_number, line, "expected count=N"));
      }
    } else if (section == "Latencystats" && key.starts_with("latency_percentiles_usec_")) {
      LatencyPercentiles stat;
      stat.command = std::string(key.substr(25));
      bool ok = split_pairs(value, pairs);
      for (auto [k, v] : pairs) {
        auto n = parse_number(v);
        if (!ok || k.size() < 2 || k[0] != 'p' || !n) {
          ok = false;
          break;
        }
        stat.quantiles.emplace_back(std::string(k.substr(1)), *n);
      }
      if (ok) {
        info.latency.push_back(std::move(stat));
      } else {
        info.problems.push_back(line_problem(line_number, line, "expected pNN=N,..."));
      }
    } else if (section == "Keyspace" && key.starts_with("db")) {
      KeyspaceDb db;
      if (parse_keyspace(key, value, db, pairs)) {
        info.keyspace.push_back(std::move(db));
      } else {
        info.problems.push_back(line_problem(line_number, line, "expected keys=N,expires=N,..."));
      }
    } else if (section == "Replication" && is_replica_key(key) && value.find('=') != std::string_view::npos) {
      ReplicaLine replica;
      if (parse_replica(value, replica, pairs)) {
        info.replicas.push_back(std::move(replica));
      } else {
        info.problems.push_back(line_problem(line_number, line, "expected ip=...,port=...,offset=N"));
      }
    } else {
      info.fields.insert_or_assign(std::string(key), std::string(value));
    }
  }
  if (field_lines == 0) throw ReplyError("INFO: the reply holds no field:value line");
  return info;
}

std::string SlowlogEntry::command() const { return args.empty() ? std::string() : lowercase(args.front()); }

std::int64_t expect_integer(const Reply& reply, std::string_view command) {
  if (reply.type != Reply::Type::integer) malformed(command, "expected an integer", reply);
  return reply.integer;
}

const std::string& expect_string(const Reply& reply, std::string_view command) {
  if (reply.type != Reply::Type::string && reply.type != Reply::Type::status) {
    malformed(command, "expected a bulk string", reply);
  }
  return reply.str;
}

std::vector<SlowlogEntry> parse_slowlog_get(const Reply& reply) {
  constexpr std::string_view command = "SLOWLOG GET";
  if (reply.type != Reply::Type::array) malformed(command, "expected an array of entries", reply);
  std::vector<SlowlogEntry> out;
  out.reserve(reply.elements.size());
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    const Reply& e = reply.elements[i];
    const std::string where = "entry " + std::to_string(i);
    if (e.type != Reply::Type::array || e.elements.size() < 4) {
      malformed(command, where + ": expected an array of at least 4 fields", e);
    }
    auto integer = [&](std::size_t index, const char* what) {
      if (e.elements[index].type != Reply::Type::integer) {
        malformed(command, where + ": expected an integer " + what, e.elements[index]);
      }
      return static_cast<std::int64_t>(e.elements[index].integer);
    };
    SlowlogEntry entry;
    entry.id = integer(0, "id");
    entry.timestamp = integer(1, "timestamp");
    entry.duration_us = integer(2, "duration");
    const Reply& args = e.elements[3];
    if (args.type != Reply::Type::array) malformed(command, where + ": expected an array of arguments", args);
    entry.args.reserve(args.elements.size());
    for (const Reply& arg : args.elements) {
      if (arg.type != Reply::Type::string && arg.type != Reply::Type::status) {
        malformed(command, where + ": expected string arguments", arg);
      }
      entry.args.push_back(arg.str);
    }
    if (e.elements.size() >= 6) {
      entry.client_addr = e.elements[4].str;
      entry.client_name = e.elements[5].str;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<LatencyEvent> parse_latency_latest(const Reply& reply) {
  constexpr std::string_view command = "LATENCY LATEST";
  if (reply.type != Reply::Type::array) malformed(command, "expected an array of events", reply);
  std::vector<LatencyEvent> out;
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    const Reply& e = reply.elements[i];
    const std::string where = "event " + std::to_string(i);
    if (e.type != Reply::Type::array || e.elements.size() < 4) {
      malformed(command, where + ": expected [name, time, latest, max]", e);
    }
    if (e.elements[0].type != Reply::Type::string && e.elements[0].type != Reply::Type::status) {
      malformed(command, where + ": expected an event name", e.elements[0]);
    }
    for (std::size_t j = 1; j < 4; ++j) {
      if (e.elements[j].type != Reply::Type::integer)
        malformed(command, where + ": expected integers", e.elements[j]);
    }
    out.push_back({e.elements[0].str, e.elements[1].integer, e.elements[2].integer, e.elements[3].integer});
  }
  return out;
}

std::map<std::string, std::string> parse_config_get(const Reply& reply) {
  constexpr std::string_view command = "CONFIG GET";
  if (reply.type != Reply::Type::array) malformed(command, "expected an array of name, value pairs", reply);
  if (reply.elements.size() % 2 != 0) malformed(command, "expected an even number of elements", reply);
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    const Reply& name = reply.elements[i];
    const Reply& value = reply.elements[i + 1];
    if (name.type != Reply::Type::string ||
        (value.type != Reply::Type::string && value.type != Reply::Type::nil)) {
      malformed(command, "expected string pairs", name.type != Reply::Type::string ? name : value);
    }
    out[name.str] = value.str;
  }
  return out;
}

ScanPage parse_scan(const Reply& reply) {
  constexpr std::string_view command = "SCAN";
  if (reply.type != Reply::Type::array || reply.elements.size() != 2) {
    malformed(command, "expected [cursor, keys]", reply);
  }
  ScanPage page;
  page.cursor = expect_string(reply.elements[0], "SCAN cursor");
  const Reply& keys = reply.elements[1];
  if (keys.type != Reply::Type::array) malformed(command, "expected an array of keys", keys);
  page.keys.reserve(keys.elements.size());
  for (const Reply& key : keys.elements) page.keys.push_back(expect_string(key, "SCAN key"));
  return page;
}

}  // namespace tocsin::collectors::redis
