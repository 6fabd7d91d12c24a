#include "collectors/redis/config.hpp"

#include <cctype>
#include <charconv>
#include <limits>

namespace tocsin::config {

using yaml::MapDecoder;
using yaml::Node;
using yaml::Secret;

std::string RedisEndpoint::to_string() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

bool parse_int(std::string_view text, long long& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Decodes %XX escapes (user and password in URLs may need them for ':', '@' and '/').
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return std::nullopt;
    }
    unsigned value = 0;
    std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

// "host", "host:port", "[v6]" or "[v6]:port".
std::optional<std::string> parse_host_port(std::string_view text, RedisEndpoint& out) {
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "unbalanced [ in IPv6 address";
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return "expected :port after ]";
      port = rest.substr(1);
      if (port.empty()) return "empty port";
    }
  } else if (std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be in brackets, e.g. [::1]:6379";
    }
    if (port.empty()) return "empty port";
  }
  if (host.empty()) return "empty host";
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@' || c == '?' || c == '#') {
      return "invalid host \"" + std::string(host) + "\"";
    }
  }
  out.host = std::string(host);
  out.unix_socket.clear();
  out.port = 6379;
  if (!port.empty()) {
    long long value = 0;
    if (!parse_int(port, value) || value < 1 || value > 65535)
      return "invalid port \"" + std::string(port) + "\"";
    out.port = static_cast<int>(value);
  }
  return std::nullopt;
}

std::optional<std::string> parse_unix_path(std::string_view path, RedisEndpoint& out) {
  if (!path.starts_with('/')) return "a unix socket path must be absolute";
  if (path.size() == 1) return "empty unix socket path";
  out.unix_socket = std::string(path);
  out.host.clear();
  out.port = 0;
  return std::nullopt;
}

std::optional<std::string> parse_url(std::string_view rest, RedisAddressParts& out) {
  // rest is what follows "redis://". Neither host, port nor db holds an '@': the user info ends at the
  // last one, so a password with an unescaped '/', '?' or '#' still is the password.
  std::string_view userinfo;
  bool has_userinfo = false;
  if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    has_userinfo = true;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return "query parameters and fragments are not supported in a redis:// URL (use the db, user and "
           "password "
           "keys)";
  }
  std::string_view authority = rest;
  std::string_view path;
  if (std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (has_userinfo) {
    std::string_view user = userinfo;
    std::optional<std::string_view> password;
    if (std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      password = userinfo.substr(colon + 1);
    }
    auto decoded_user = percent_decode(user);
    if (!decoded_user) return "invalid %-escape in the URL's user name";
    if (!decoded_user->empty()) out.user = std::move(*decoded_user);
    if (password) {
      auto decoded = percent_decode(*password);
      if (!decoded) return "invalid %-escape in the URL's password";
      out.password = std::move(*decoded);
    }
  }
  if (authority.empty()) return "the URL names no host";
  if (auto err = parse_host_port(authority, out.endpoint)) return err;
  if (!path.empty()) {
    long long db = 0;
    if (!parse_int(path, db) || db < 0 || db > std::numeric_limits<int>::max()) {
      return "invalid database \"" + std::string(path) + "\" in the URL path (expected a number, e.g. /0)";
    }
    out.db = static_cast<int>(db);
  }
  return std::nullopt;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The address as given, with the password of a URL cut out (and the user info, when only a password
// was there). The user info ends at the last '@', as parse_url reads it, whatever the password holds.
std::string without_password(std::string_view text) {
  std::size_t scheme = text.find("://");
  if (scheme == std::string_view::npos || lowercase(text.substr(0, scheme)) == "unix")
    return std::string(text);
  std::size_t start = scheme + 3;
  std::size_t at = text.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(text);
  at -= start;
  std::string_view userinfo = text.substr(start, at);
  std::size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, start));
  if (colon > 0) {
    out += userinfo.substr(0, colon);
    out += '@';
  }
  out += text.substr(start + at + 1);
  return out;
}

void positive_unsigned(MapDecoder& map, std::string_view key, unsigned& out, unsigned max) {
  auto node = map.get(key);
  if (!node || node->is_null()) return;
  unsigned value = 0;
  if (!decode(*node, value)) return;
  if (value == 0 || value > max) {
    node->error("must be between 1 and " + std::to_string(max));
    return;
  }
  out = value;
}

void decode_db(const Node& node, int& out) {
  int value = 0;
  if (!decode(node, value)) return;
  if (value < 0) {
    node.error("a database index cannot be negative");
    return;
  }
  out = value;
}

void decode_slowlog(const Node& node, RedisSlowlogConfig& out) {
  if (node.is_scalar()) {  // `slowlog: false`
    if (auto enabled = node.as_bool()) out.enabled = *enabled;
    return;
  }
  MapDecoder map(node);
  map.optional("enabled", out.enabled);
  if (auto n = map.get("entries"); n && !n->is_null()) {
    unsigned value = 0;
    if (decode(*n, value)) {
      if (value > 1000) {
        n->error("must be at most 1000");
      } else {
        out.entries = value;
      }
    }
  }
  map.optional("show_arguments", out.show_arguments);
  positive_unsigned(map, "max_fetch", out.max_fetch, 10000);
  map.finish();
}

void decode_big_keys(const Node& node, RedisBigKeysConfig& out) {
  if (node.is_scalar()) {  // `big_keys: true`
    if (auto enabled = node.as_bool()) out.enabled = *enabled;
    return;
  }
  MapDecoder map(node);
  out.enabled = true;  // a big_keys block turns the scan on unless it says enabled: false
  map.optional("enabled", out.enabled);
  if (auto n = map.get("threshold"); n && !n->is_null()) {
    if (auto text = n->as_string()) {
      auto size = parse_byte_size(*text);
      if (!size || *size == 0) {
        n->error("invalid size \"" + *text +
                 "\" (use bytes or a unit as in redis.conf: 1mb, 512kb, 1000000)");
      } else {
        out.threshold_bytes = *size;
      }
    }
  }
  map.positive("budget", out.budget);
  positive_unsigned(map, "scan_count", out.scan_count, 100000);
  if (auto n = map.get("samples"); n && !n->is_null()) {
    unsigned value = 0;
    if (decode(*n, value)) {
      if (value == 0) {
        n->error("must be at least 1 (SAMPLES 0 reads every element of a value: O(N) on Redis)");
      } else {
        out.samples = value;
      }
    }
  }
  positive_unsigned(map, "report", out.report, 10000);
  map.finish();
}

}  // namespace

std::optional<std::string> parse_redis_address(std::string_view text, RedisAddressParts& out) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return "empty address";
  std::size_t scheme_end = text.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme = lowercase(text.substr(0, scheme_end));
    std::string_view rest = text.substr(scheme_end + 3);
    if (scheme == "redis") return parse_url(rest, out);
    if (scheme == "unix") return parse_unix_path(rest, out.endpoint);
    if (scheme == "rediss") {
      return "rediss:// (TLS) is not supported: tocsin's Redis client (hiredis 0.14) is built without TLS; "
             "reach a TLS-only Redis through a local TLS tunnel (e.g. stunnel) and give its redis:// address";
    }
    return "unknown scheme \"" + scheme + "://\" (use host:port, redis://, unix:// or a socket path)";
  }
  if (text.starts_with("unix:")) return parse_unix_path(text.substr(5), out.endpoint);
  if (text.starts_with('/')) return parse_unix_path(text, out.endpoint);
  return parse_host_port(text, out.endpoint);
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  std::uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  std::string unit = lowercase(text.substr(digits));
  std::uint64_t multiplier = 0;
  if (unit.empty() || unit == "b")
    multiplier = 1;
  else if (unit == "k")
    multiplier = 1000;
  else if (unit == "kb")
    multiplier = 1024;
  else if (unit == "m")
    multiplier = 1000 * 1000;
  else if (unit == "mb")
    multiplier = 1024 * 1024;
  else if (unit == "g")
    multiplier = 1000 * 1000 * 1000;
  else if (unit == "gb")
    multiplier = 1024ULL * 1024 * 1024;
  else
    return std::nullopt;
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) return std::nullopt;
  return number * multiplier;
}

bool decode(const Node& node, RedisKeyConfig& out) {
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
  bool ok = map.required("key", out.key);
  if (ok && out.key.empty()) {
    map.get("key")->error("an empty key name");
    ok = false;
  }
  if (auto n = map.get("db"); n && !n->is_null()) {
    int db = -1;
    decode_db(*n, db);
    if (db >= 0) {
      out.db = db;
    } else {
      ok = false;
    }
  }
  map.finish();
  return ok;
}

void decode(const Node& node, RedisTargetConfig& out) {
  MapDecoder map(node);
  decode_common(map, out.common);
  decode_shared(map, out.common, out.shared);

  std::optional<RedisAddressParts> parts;
  auto address = map.get("address");
  if (address && !address->is_null()) {
    if (auto text = address->as_string()) {
      RedisAddressParts parsed;
      if (auto err = parse_redis_address(*text, parsed)) {
        // The address may be a URL with a password: quote it only without the password.
        address->error("invalid address \"" + without_password(*text) + "\": " + *err);
      } else {
        out.address = without_password(*text);
        out.endpoint = parsed.endpoint;
        parts = std::move(parsed);
      }
    }
  }
  auto user = map.get("user");
  if (user && !user->is_null()) decode(*user, out.user);
  map.secret("password", out.password);
  const bool password_key = map.has("password") || map.has("password_file");
  if (parts && parts->user) {
    if (user && !user->is_null()) {
      user->error("the address already names a user; give it once");
    } else {
      out.user = *parts->user;
    }
  }
  if (parts && parts->password) {
    if (password_key) {
      map.get(map.has("password") ? "password" : "password_file")
          ->error("the address already holds a password; give it once");
    } else {
      out.password = Secret(*parts->password);
    }
  }
  if (!out.user.empty() && !password_key && !(parts && parts->password)) {
    (user && !user->is_null() ? *user : *address)
        .error("an ACL user needs a password (password, password_file or in the address)");
  }
  if (auto n = map.get("db"); n && !n->is_null()) {
    if (parts && parts->db) {
      n->error("the address already names a database; give it once");
    } else {
      decode_db(*n, out.db);
    }
  } else if (parts && parts->db) {
    out.db = *parts->db;
  }

  map.positive("connect_timeout", out.connect_timeout);
  map.positive("read_timeout", out.read_timeout);
  map.positive("write_timeout", out.write_timeout);
  map.positive("max_reconnect_backoff", out.max_reconnect_backoff);
  if (auto n = map.get("client_name"); n && !n->is_null() && decode(*n, out.client_name)) {
    for (char c : out.client_name) {
      if (c <= ' ' || c > '~') {
        n->error("a client name cannot hold spaces or special characters");
        break;
      }
    }
  }
  if (auto n = map.get("config_command"); n && !n->is_null() && decode(*n, out.config_command)) {
    for (char c : out.config_command) {
      if (c <= ' ' || c > '~') {
        n->error("a command name cannot hold spaces or special characters");
        break;
      }
    }
  }
  map.positive("config_refresh", out.config_refresh);
  map.optional("latency", out.latency);
  if (auto n = map.get("slowlog"); n && !n->is_null()) decode_slowlog(*n, out.slowlog);
  map.optional("keys", out.keys);
  if (auto n = map.get("big_keys"); n && !n->is_null()) decode_big_keys(*n, out.big_keys);
  map.finish();
}

void check_redis_interval(const yaml::Node& block, const RedisTargetConfig& target, Duration interval) {
  check_shared_lease(block, target.common, target.shared, interval);
}

}  // namespace tocsin::config
