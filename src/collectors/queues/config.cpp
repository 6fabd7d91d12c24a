#include "collectors/queues/config.hpp"

#include <algorithm>

namespace tocsin::config {

using yaml::MapDecoder;
using yaml::Node;

namespace {

void bounded_unsigned(MapDecoder& map, std::string_view key, unsigned& out, unsigned min, unsigned max) {
  auto node = map.get(key);
  if (!node || node->is_null()) return;
  unsigned value = 0;
  if (!decode(*node, value)) return;
  if (value < min || value > max) {
    node->error("must be between " + std::to_string(min) + " and " + std::to_string(max));
    return;
  }
  out = value;
}

bool printable(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c <= '~'; });
}

// `sidekiq: true`, `sidekiq: {}` or a block: a block turns the system on unless it says enabled: false.
template <typename T, typename Fn>
void decode_system(MapDecoder& map, std::string_view key, T& out, Fn&& block) {
  auto node = map.get(key);
  if (!node || node->is_null()) {
    if (node) out.enabled = true;  // `sidekiq:` with nothing after it
    return;
  }
  if (node->is_scalar()) {
    if (auto on = node->as_bool()) {
      out.enabled = *on;
    } else {
      node->error("expected true, false or a block of settings");
    }
    return;
  }
  MapDecoder inner(*node);
  if (!inner.valid()) return;
  out.enabled = true;
  inner.optional("enabled", out.enabled);
  block(inner);
  inner.finish();
}

void decode_sidekiq(MapDecoder& map, SidekiqConfig& out) {
  std::string ns;
  auto ns_node = map.get("namespace");
  if (ns_node && !ns_node->is_null() && decode(*ns_node, ns)) {
    if (ns.empty() || !printable(ns)) {
      ns_node->error(
          "a namespace must be a non-empty name without spaces (keys are read as <namespace>:queues ...)");
    } else {
      out.key_prefix = ns + ":";
    }
  }
  if (auto n = map.get("key_prefix"); n && !n->is_null()) {
    if (ns_node && !ns_node->is_null()) {
      n->error("give either namespace or key_prefix, not both");
    } else {
      decode(*n, out.key_prefix);
    }
  }
  bounded_unsigned(map, "retry_sample", out.retry_sample, 0, 10000);
  map.positive("dead_after", out.dead_after);
  map.optional("processes", out.processes);
}

void decode_celery(MapDecoder& map, CeleryConfig& out) {
  map.optional("exchanges", out.exchanges);
  map.optional("queues", out.queues);
  if (auto n = map.get("priority_steps"); n && !n->is_null()) {
    std::vector<int> steps;
    if (decode(*n, steps)) {
      bool ok = true;
      for (int s : steps) {
        if (s < 0 || s > 255) {
          n->error("priority steps are between 0 and 255 (kombu's default: [0, 3, 6, 9])");
          ok = false;
          break;
        }
      }
      if (ok) {
        // Step 0 is the queue's own list, read anyway.
        steps.erase(std::remove(steps.begin(), steps.end(), 0), steps.end());
        std::sort(steps.begin(), steps.end());
        steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
        out.priority_steps = std::move(steps);
      }
    }
  }
  map.optional("unacked_key", out.unacked_key);
  map.optional("unacked_index_key", out.unacked_index_key);
  map.positive("visibility_timeout", out.visibility_timeout);
  for (const auto& e : out.exchanges) {
    if (e.empty()) map.get("exchanges")->error("an empty exchange name");
  }
}

void decode_rq(MapDecoder& map, RqConfig& out) { map.positive("dead_after", out.dead_after); }

}  // namespace

bool decode(const Node& node, QueueListConfig& out) {
  if (node.is_scalar()) {
    auto key = node.as_string();
    if (!key) return false;
    if (key->empty()) {
      node.error("an empty key name");
      return false;
    }
    out.key = std::move(*key);
    return true;
  }
  MapDecoder map(node);
  if (!map.valid()) return false;
  bool ok = true;
  map.optional("key", out.key);
  map.optional("pattern", out.pattern);
  if (out.key.empty() == out.pattern.empty()) {
    node.error("a list needs exactly one of key (a name) or pattern (a SCAN MATCH glob)");
    ok = false;
  }
  map.optional("timestamp_field", out.timestamp_field);
  if (auto n = map.get("timestamp_unit"); n && !n->is_null()) {
    std::string unit;
    if (decode(*n, unit)) {
      if (unit == "auto") {
        out.unit = QueueListConfig::Unit::automatic;
      } else if (unit == "seconds" || unit == "s") {
        out.unit = QueueListConfig::Unit::seconds;
      } else if (unit == "milliseconds" || unit == "ms") {
        out.unit = QueueListConfig::Unit::milliseconds;
      } else {
        n->error("unknown timestamp_unit \"" + unit + "\" (use auto, seconds or milliseconds)");
        ok = false;
      }
    }
  }
  if (auto n = map.get("oldest"); n && !n->is_null()) {
    std::string end;
    if (decode(*n, end)) {
      if (end == "head") {
        out.oldest_at_head = true;
      } else if (end == "tail") {
        out.oldest_at_head = false;
      } else {
        n->error("oldest is head (producers RPUSH, index 0) or tail (producers LPUSH, index -1)");
        ok = false;
      }
    }
  }
  map.finish();
  return ok;
}

bool decode(const Node& node, QueueStreamConfig& out) {
  if (node.is_scalar()) {
    auto key = node.as_string();
    if (!key || key->empty()) {
      node.error("an empty stream name");
      return false;
    }
    out.key = std::move(*key);
    return true;
  }
  MapDecoder map(node);
  if (!map.valid()) return false;
  bool ok = map.required("key", out.key);
  if (ok && out.key.empty()) {
    map.get("key")->error("an empty stream name");
    ok = false;
  }
  map.finish();
  return ok;
}

void decode(const Node& node, QueuesTargetConfig& out) {
  MapDecoder map(node);
  decode_common(map, out.common);

  std::optional<RedisAddressParts> parts;
  auto address = map.get("address");
  if (address && !address->is_null()) {
    if (auto text = address->as_string()) {
      RedisAddressParts parsed;
      if (auto err = parse_redis_address(*text, parsed)) {
        // The text may be a URL with a password (from ${REDIS_URL}): never quoted.
        address->error("invalid address: " + *err);
      } else {
        out.endpoint = parsed.endpoint;
        out.address = parsed.endpoint.to_string();
        parts = std::move(parsed);
      }
    }
  } else {
    parse_redis_address(out.address, *(parts = RedisAddressParts{}));
    out.endpoint = parts->endpoint;
  }
  if (auto n = map.get("user"); n && !n->is_null()) {
    if (parts && parts->user) {
      n->error("the address already names a user; give it once");
    } else {
      decode(*n, out.user);
    }
  } else if (parts && parts->user) {
    out.user = *parts->user;
  }
  map.secret("password", out.password);
  const bool password_key = map.has("password") || map.has("password_file");
  if (parts && parts->password) {
    if (password_key) {
      map.get(map.has("password") ? "password" : "password_file")
          ->error("the address already holds a password; give it once");
    } else {
      out.password = yaml::Secret(*parts->password);
    }
  }
  if (auto n = map.get("db"); n && !n->is_null()) {
    if (parts && parts->db) {
      n->error("the address already names a database; give it once");
    } else if (int db = 0; decode(*n, db)) {
      if (db < 0) {
        n->error("a database index cannot be negative");
      } else {
        out.db = db;
      }
    }
  } else if (parts && parts->db) {
    out.db = *parts->db;
  }
  map.positive("connect_timeout", out.connect_timeout);
  map.positive("read_timeout", out.read_timeout);
  map.positive("write_timeout", out.write_timeout);
  map.positive("max_reconnect_backoff", out.max_reconnect_backoff);
  if (auto n = map.get("client_name"); n && !n->is_null() && decode(*n, out.client_name)) {
    if (!printable(out.client_name) && !out.client_name.empty()) {
      n->error("a client name cannot hold spaces or special characters");
    }
  }
  bounded_unsigned(map, "max_queues", out.max_queues, 1, 100000);
  if (auto n = map.get("max_job_bytes"); n && !n->is_null()) {
    if (auto text = n->as_string()) {
      auto size = parse_byte_size(*text);
      if (!size || *size < 256 || *size > 512ULL * 1024 * 1024) {
        n->error("invalid size \"" + *text + "\" (between 256 and 512mb, e.g. 1mb, 65536)");
      } else {
        out.max_job_bytes = *size;
      }
    }
  }
  bounded_unsigned(map, "scan_count", out.scan_count, 1, 100000);
  decode_system(map, "sidekiq", out.sidekiq, [&](MapDecoder& m) { decode_sidekiq(m, out.sidekiq); });
  decode_system(map, "celery", out.celery, [&](MapDecoder& m) { decode_celery(m, out.celery); });
  decode_system(map, "rq", out.rq, [&](MapDecoder& m) { decode_rq(m, out.rq); });
  map.optional("lists", out.lists);
  map.optional("streams", out.streams);
  if (!out.sidekiq.enabled && !out.celery.enabled && !out.rq.enabled && out.lists.empty() &&
      out.streams.empty() && map.valid()) {
    node.error("nothing to read: give at least one of sidekiq, celery, rq, lists or streams");
  }
  map.finish();
}

}  // namespace tocsin::config
