#include "tocsin/remote_write/config.hpp"

#include <set>

#include "collectors/scrape/config.hpp"
#include "remote_write/relabel_rules.hpp"

namespace tocsin::remote_write {

namespace {

using yaml::MapDecoder;
using yaml::Node;

// An optional count that must be at least `min`.
template <typename T>
void decode_count(MapDecoder& map, std::string_view key, T& out, long long min) {
  auto n = map.get(key);
  if (!n || n->is_null()) return;
  long long v = 0;
  if (!decode(*n, v)) return;
  if (v < min) {
    n->error("must be at least " + std::to_string(min));
    return;
  }
  out = static_cast<T>(v);
}

void decode_queue(const Node& node, QueueConfig& out) {
  MapDecoder map(node);
  decode_count(map, "capacity", out.capacity, 1);
  decode_count(map, "max_shards", out.max_shards, 1);
  decode_count(map, "min_shards", out.min_shards, 1);
  decode_count(map, "max_samples_per_send", out.max_samples_per_send, 1);
  map.positive("batch_send_deadline", out.batch_send_deadline);
  map.positive("min_backoff", out.min_backoff);
  map.positive("max_backoff", out.max_backoff);
  map.optional("retry_on_http_429", out.retry_on_http_429);
  // At the key given (a default on the other side is not where the problem was written).
  auto at = [&](std::string_view key, std::string_view other) {
    auto n = map.get(key);
    return n ? *n : map.get(other).value_or(node);
  };
  if (out.min_shards > out.max_shards) {
    at("min_shards", "max_shards")
        .error("min_shards (" + std::to_string(out.min_shards) + ") must not be more than max_shards (" +
               std::to_string(out.max_shards) + ")");
  }
  if (out.min_backoff > out.max_backoff) {
    at("min_backoff", "max_backoff").error("min_backoff must not be longer than max_backoff");
  }
  map.finish();
}

// The six hex digits Prometheus shows for an unnamed queue come from a hash of its whole config;
// tocsin's come from the url (FNV-1a), so they stay put when other settings change.
std::string default_name(const std::string& url) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : url) h = (h ^ c) * 1099511628211ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 6; ++i) out.push_back(kHex[(h >> (4 * (15 - i))) & 0xf]);
  return out;
}

void decode_endpoint(const Node& node, EndpointConfig& out) {
  MapDecoder map(node);
  if (auto n = map.get("url"); !n || n->is_null()) {
    map.missing("url");
  } else if (decode(*n, out.url)) {
    yaml::check_http_url(*n, out.url, false);
  }
  if (auto n = map.get("name"); n && !n->is_null() && decode(*n, out.name) && out.name.empty()) {
    n->error("must not be empty");
  }
  map.positive("remote_timeout", out.remote_timeout);
  if (auto n = map.get("headers"); n && !n->is_null() && decode(*n, out.headers)) {
    // Prometheus refuses the headers it sets itself.
    static const std::set<std::string> reserved = {"host",
                                                   "authorization",
                                                   "content-encoding",
                                                   "content-length",
                                                   "content-type",
                                                   "user-agent",
                                                   "connection",
                                                   "keep-alive",
                                                   "proxy-authenticate",
                                                   "proxy-authorization",
                                                   "www-authenticate",
                                                   "retry-after",
                                                   "x-prometheus-remote-write-version"};
    for (const auto& [name, value] : out.headers) {
      std::string lower;
      for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      if (reserved.contains(lower)) n->error(name + " is a reserved header. It must not be changed");
    }
  }
  std::optional<Node> basic = map.get("basic_auth");
  if (basic && !basic->is_null()) {
    config::ScrapeBasicAuth auth;
    config::decode_basic_auth(*basic, auth);
    out.basic_auth = true;
    out.basic_auth_username = auth.username;
    out.basic_auth_password = auth.password;
  }
  if (auto n = map.get("authorization"); n && !n->is_null()) {
    if (out.basic_auth) {
      n->error("at most one of basic_auth and authorization must be configured");
    } else {
      config::ScrapeAuthorization auth;
      config::decode_authorization(*n, auth);
      out.authorization_type = auth.type;
      out.authorization_credentials = auth.credentials;
    }
  }
  if (auto n = map.get("tls_config"); n && !n->is_null()) {
    config::ScrapeTlsConfig tls;
    config::decode_tls(*n, tls);
    out.tls.ca_file = tls.ca_file;
    out.tls.server_name = tls.server_name;
    out.tls.insecure_skip_verify = tls.insecure_skip_verify;
    out.client_certificate.cert_file = tls.cert_file;
    out.client_certificate.key_file = tls.key_file;
  }
  auto rules = std::make_shared<RelabelRules>();
  if (auto n = map.get("write_relabel_configs"); n) config::decode_relabels(*n, rules->rules);
  out.write_relabel_configs = std::move(rules);
  if (auto n = map.get("queue_config"); n && !n->is_null()) decode_queue(*n, out.queue_config);
  if (auto n = map.get("max_disk_bytes"); n && !n->is_null()) {
    long long v = 0;
    if (decode(*n, v)) {
      if (v < 1024 * 1024) {
        n->error("must be at least 1048576 (1 MiB)");
      } else {
        out.max_disk_bytes = static_cast<std::uint64_t>(v);
      }
    }
  }
  if (out.name.empty()) out.name = default_name(out.url);
  map.finish();
}

}  // namespace

void decode_remote_write(const Node& node, std::vector<EndpointConfig>& out) {
  if (node.is_null()) return;
  if (!node.is_sequence()) {
    node.error("expected a list, got " + node.kind());
    return;
  }
  std::set<std::string> names;
  for (const Node& item : node.items()) {
    EndpointConfig endpoint;
    decode_endpoint(item, endpoint);
    if (!names.insert(endpoint.name).second) {
      item.error("duplicate remote write configs are not allowed, found duplicate for name: " +
                 endpoint.name);
    }
    out.push_back(std::move(endpoint));
  }
}

}  // namespace tocsin::remote_write
