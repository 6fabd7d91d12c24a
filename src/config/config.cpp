#include "tocsin/config/config.hpp"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "collectors/registry/registry.hpp"
#include "tocsin/core/file_read.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::config {

using yaml::DecodeContext;
using yaml::Diagnostics;
using yaml::EnvLookup;
using yaml::MapDecoder;
using yaml::Node;

std::string ListenAddress::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<std::string> parse_listen_address(std::string_view text, ListenAddress& out) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return "expected host:port, e.g. 127.0.0.1:9850";
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) return "unbalanced [ in IPv6 address";
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return "an IPv6 address must be in brackets, e.g. [::1]:9850";
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return "invalid port \"" + std::string(port) + "\"";
  }
  for (char c : host) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return "invalid host \"" + std::string(host) + "\"";
  }
  out.host = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

bool decode(const Node& node, ListenAddress& out) {
  auto text = node.as_string();
  if (!text) return false;
  if (auto err = parse_listen_address(*text, out)) {
    node.error("invalid address \"" + *text + "\": " + *err);
    return false;
  }
  return true;
}

namespace {

void decode_log(const Node& node, LogConfig& out) {
  MapDecoder map(node);
  if (auto level = map.get("level"); level && !level->is_null() && decode(*level, out.level)) {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error"};
    if (!levels.contains(out.level))
      level->error("unknown log level \"" + out.level + "\" (trace, debug, info, warn, error)");
  }
  if (auto format = map.get("format"); format && !format->is_null() && decode(*format, out.format)) {
    if (out.format != "text" && out.format != "json") {
      format->error("unknown log format \"" + out.format + "\" (text or json)");
    }
  }
  map.finish();
}

void decode_query(const Node& node, QueryConfig& out) {
  MapDecoder map(node);
  map.positive("lookback_delta", out.lookback_delta);
  map.positive("timeout", out.timeout);
  if (auto n = map.get("max_samples");
      n && !n->is_null() && decode(*n, out.max_samples) && out.max_samples < 1) {
    n->error("must be at least 1");
  }
  if (auto n = map.get("max_concurrency"); n && !n->is_null() && decode(*n, out.max_concurrency) &&
                                           (out.max_concurrency < 1 || out.max_concurrency > 256)) {
    n->error("must be between 1 and 256");
  }
  if (auto n = map.get("max_queued");
      n && !n->is_null() && decode(*n, out.max_queued) && (out.max_queued < 0 || out.max_queued > 100'000)) {
    n->error("must be between 0 and 100000");
  }
  map.finish();
}

void decode_web(const Node& node, WebSettings& out) {
  MapDecoder map(node);
  if (auto n = map.get("config_file");
      n && !n->is_null() && decode(*n, out.config_file) && !out.config_file.empty())
    out.config_file = yaml::resolve_path(node.context(), out.config_file);
  map.optional("enable_lifecycle", out.enable_lifecycle);
  if (auto n = map.get("runbooks_dir");
      n && !n->is_null() && decode(*n, out.runbooks_dir) && !out.runbooks_dir.empty())
    out.runbooks_dir = yaml::resolve_path(node.context(), out.runbooks_dir);
  if (auto n = map.get("max_connections"); n && !n->is_null() && decode(*n, out.max_connections) &&
                                           (out.max_connections < 1 || out.max_connections > 65536)) {
    n->error("must be between 1 and 65536");
  }
  if (auto n = map.get("max_connections_per_client"); n && !n->is_null() &&
                                                      decode(*n, out.max_connections_per_client) &&
                                                      out.max_connections_per_client < 1) {
    n->error("must be at least 1");
  }
  if (out.max_connections_per_client > out.max_connections) {
    node.error("max_connections_per_client (" + std::to_string(out.max_connections_per_client) +
               ") must not be more than max_connections (" + std::to_string(out.max_connections) + ")");
  }
  map.finish();
}

void decode_collectors(const Node& node, Duration default_interval, CollectorsConfig& out) {
  MapDecoder map(node);
  for (const collectors::Kind* kind : collectors::registry()) {
    if (auto list = map.get(kind->name)) {
      auto instances = collectors::decode_instances(*kind, *list, default_interval);
      std::move(instances.begin(), instances.end(), std::back_inserter(out.instances));
    }
  }
  map.finish();
}

// `labels` (or its older name `external_labels`): the host's identity.
void decode_host_labels(MapDecoder& map, Config& config) {
  auto labels = map.get("labels");
  auto external = map.get("external_labels");
  if (labels && !labels->is_null() && external && !external->is_null()) {
    external->error("give labels or external_labels (its older name), not both");
    return;
  }
  auto n = labels && !labels->is_null() ? labels : external;
  if (!n || n->is_null()) {
    if (std::string host = host_name(); !host.empty()) config.external_labels = {{"host", host}};
    return;
  }
  if (!decode(*n, config.external_labels)) return;
  for (const auto& [name, value] : config.external_labels) {
    if (!is_valid_label_name(name)) {
      n->error("invalid label name \"" + name + "\"");
    } else if (name.starts_with("__")) {
      n->error("label name \"" + name + "\" is reserved (names starting with __ are internal)");
    }
  }
}

void decode_root(const Node& root, Config& config) {
  MapDecoder map(root);
  map.optional("listen", config.listen);
  map.positive("interval", config.interval);
  if (auto n = map.get("retention");
      n && !n->is_null() && decode(*n, config.retention) && config.retention < std::chrono::minutes(1)) {
    n->error("must be at least 1m");
  }
  if (auto n = map.get("max_series");
      n && !n->is_null() && decode(*n, config.max_series) && config.max_series < 0) {
    n->error("must not be negative (0 means no limit)");
  }
  map.optional("state_dir", config.state_dir);
  map.positive("snapshot_interval", config.snapshot_interval);
  map.positive("slo_save_interval", config.slo_save_interval);
  if (auto n = map.get("log"); n && !n->is_null()) decode_log(*n, config.log);
  if (auto n = map.get("collectors"); n && !n->is_null())
    decode_collectors(*n, config.interval, config.collectors);
  map.optional("rule_files", config.rule_files);
  map.positive("evaluation_interval", config.evaluation_interval);
  if (auto n = map.get("compat"); n && !n->is_null() && decode(*n, config.compat) &&
                                  config.compat != "prometheus3" && config.compat != "prometheus2") {
    n->error("must be prometheus3 or prometheus2, got \"" + config.compat + "\"");
  }
  decode_host_labels(map, config);
  if (auto n = map.get("external_url"); n && !n->is_null() && decode(*n, config.external_url)) {
    while (config.external_url.size() > 1 && config.external_url.back() == '/')
      config.external_url.pop_back();
    check_http_url(*n, config.external_url, false);
  }
  decode_alerting(map, config.alerting);
  config.alerting.external_labels = config.external_labels;
  if (auto n = map.get("query"); n && !n->is_null()) decode_query(*n, config.query);
  if (auto n = map.get("remote_write"); n) remote_write::decode_remote_write(*n, config.remote_write);
  if (auto n = map.get("web"); n && !n->is_null()) decode_web(*n, config.web);
  map.finish();
}

}  // namespace

std::variant<Config, Diagnostics> parse_config(const std::string& text, const std::string& file,
                                               EnvLookup env) {
  Diagnostics diagnostics;
  YAML::Node yaml = parse_yaml_string(text, file, diagnostics);
  if (!diagnostics.empty()) return diagnostics;
  Config config;
  config.file = file;
  config.base_dir = std::filesystem::path(file).parent_path().string();
  DecodeContext ctx{file, config.base_dir, &diagnostics, std::move(env)};
  if (yaml.IsNull()) {
    diagnostics.error({file, 1, 1}, "", "the config file is empty");
    return diagnostics;
  }
  decode_root(Node(yaml, "", &ctx), config);
  if (!diagnostics.empty()) {
    diagnostics.sort();
    return diagnostics;
  }
  return config;
}

std::variant<Config, Diagnostics> load_config(const std::string& path, EnvLookup env) {
  Diagnostics diagnostics;
  std::string why;
  auto text = read_regular_file(path, kMaxConfigFileBytes, why);
  if (!text) {
    diagnostics.error({path, 0, 0}, "", "cannot read config file: " + why);
    return diagnostics;
  }
  return parse_config(*text, path, std::move(env));
}

Duration effective_interval(const Config& config, const CollectorCommon& common) {
  return common.interval.value_or(config.interval);
}

Duration effective_timeout(const Config& config, const CollectorCommon& common) {
  return common.timeout.value_or(effective_interval(config, common));
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace tocsin::config
