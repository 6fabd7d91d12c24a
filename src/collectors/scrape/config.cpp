#include "collectors/scrape/config.hpp"

#include <cctype>
#include <charconv>

#include "tocsin/core/labels.hpp"

namespace tocsin::config {

namespace {

using collectors::scrape::parse_relabel_action;
using collectors::scrape::RelabelRule;

// A target as Prometheus takes it: host, host:port or [v6]:port, no scheme and no path.
void check_target(const yaml::Node& at, const std::string& target) {
  if (target.empty()) {
    at.error("empty target");
  } else if (target.find("://") != std::string::npos) {
    at.error("target \"" + target + "\" has a scheme: give host:port and set `scheme`");
  } else if (target.find_first_of("/?# ") != std::string::npos) {
    at.error("target \"" + target + "\" is not host:port (give the path as metrics_path)");
  }
}

void decode_labels(const yaml::Node& node, std::map<std::string, std::string>& out) {
  if (!decode(node, out)) return;
  for (const auto& [name, value] : out) {
    if (!is_valid_label_name(name)) node.error("invalid label name \"" + name + "\"");
    (void)value;
  }
}

}  // namespace

void decode_tls(const yaml::Node& node, ScrapeTlsConfig& out) {
  yaml::MapDecoder map(node);
  auto path = [&](std::string_view key, std::string& value) {
    if (map.optional(key, value) && !value.empty()) value = yaml::resolve_path(node.context(), value);
  };
  path("ca_file", out.ca_file);
  path("cert_file", out.cert_file);
  path("key_file", out.key_file);
  map.optional("server_name", out.server_name);
  map.optional("insecure_skip_verify", out.insecure_skip_verify);
  if (out.cert_file.empty() != out.key_file.empty()) {
    node.error("give cert_file and key_file together (a client certificate needs its key)");
  }
  map.finish();
}

void decode_basic_auth(const yaml::Node& node, ScrapeBasicAuth& out) {
  yaml::MapDecoder map(node);
  map.required("username", out.username);
  map.secret("password", out.password);
  map.finish();
}

void decode_authorization(const yaml::Node& node, ScrapeAuthorization& out) {
  yaml::MapDecoder map(node);
  map.optional("type", out.type);
  if (out.type.empty() || out.type.find_first_of(" \t\r\n") != std::string::npos) {
    map.get("type")->error("must be one word, like Bearer");
  } else if (out.type == "Basic" || out.type == "basic") {
    map.get("type")->error("use basic_auth for Basic authorization");
  }
  map.secret("credentials", out.credentials, true);
  map.finish();
}

namespace {

void decode_relabel(const yaml::Node& node, RelabelRule& out) {
  yaml::MapDecoder map(node);
  map.optional("source_labels", out.source_labels);
  for (const std::string& l : out.source_labels) {
    if (!is_valid_label_name(l)) map.get("source_labels")->error("invalid label name \"" + l + "\"");
  }
  map.optional("separator", out.separator);
  // `regex:` given empty means the empty regex, as in Prometheus (not the default).
  if (auto n = map.get("regex"); n) {
    if (n->is_null()) {
      out.regex = "";
    } else {
      auto raw = n->as_raw_string();
      if (raw) out.regex = *raw;
    }
  }
  if (auto n = map.get("modulus"); n && !n->is_null()) {
    long long m = 0;
    if (decode(*n, m)) {
      if (m < 0) {
        n->error("must not be negative");
      } else {
        out.modulus = static_cast<std::uint64_t>(m);
      }
    }
  }
  map.optional("target_label", out.target_label);
  if (auto n = map.get("replacement"); n && !n->is_null()) {
    auto raw = n->as_raw_string();  // `$1` is the regex's, not an environment variable
    if (raw) out.replacement = *raw;
  }
  bool action_ok = true;
  if (auto n = map.get("action"); n && !n->is_null()) {
    action_ok = false;
    std::string name;
    if (decode(*n, name)) {
      if (auto a = parse_relabel_action(name)) {
        out.action = *a;
        action_ok = true;
      } else {
        n->error("unknown relabel action \"" + name +
                 "\" (replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, "
                 "lowercase, uppercase)");
      }
    }
  }
  if (map.valid() && action_ok) {
    if (auto problem = out.compile()) node.error(*problem);
  }
  map.finish();
}

}  // namespace

void decode_relabels(const yaml::Node& node, std::vector<RelabelRule>& out) {
  if (node.is_null()) return;
  if (!node.is_sequence()) {
    node.error("expected a list, got " + node.kind());
    return;
  }
  for (const yaml::Node& item : node.items()) {
    RelabelRule rule;
    decode_relabel(item, rule);
    if (rule.compiled) out.push_back(std::move(rule));
  }
}

namespace {

void decode_limit(yaml::MapDecoder& map, std::string_view key, std::uint64_t& out) {
  if (auto n = map.get(key); n && !n->is_null()) {
    long long v = 0;
    if (decode(*n, v)) {
      if (v < 0) {
        n->error("must not be negative (0 means no limit)");
      } else {
        out = static_cast<std::uint64_t>(v);
      }
    }
  }
}

}  // namespace

void decode(const yaml::Node& node, ScrapeStaticConfig& out) {
  yaml::MapDecoder map(node);
  if (auto n = map.get("targets"); n && !n->is_null()) {
    if (decode(*n, out.targets)) {
      auto items = n->items();
      for (std::size_t i = 0; i < out.targets.size() && i < items.size(); ++i)
        check_target(items[i], out.targets[i]);
    }
  }
  if (auto n = map.get("labels"); n && !n->is_null()) decode_labels(*n, out.labels);
  map.finish();
}

void decode(const yaml::Node& node, ScrapeFileSdConfig& out) {
  yaml::MapDecoder map(node);
  if (map.required("files", out.files)) {
    if (out.files.empty()) map.get("files")->error("must list at least one file");
    for (std::string& f : out.files) f = yaml::resolve_path(node.context(), f);
  }
  map.positive("refresh_interval", out.refresh_interval);
  map.finish();
}

std::optional<std::uint64_t> parse_body_size(std::string_view text) {
  std::uint64_t number = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), number);
  if (r.ec != std::errc() || r.ptr == text.data()) return std::nullopt;
  std::string unit(r.ptr, text.data() + text.size());
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KB" || unit == "KIB") {
    scale = 1ull << 10;
  } else if (unit == "MB" || unit == "MIB") {
    scale = 1ull << 20;
  } else if (unit == "GB" || unit == "GIB") {
    scale = 1ull << 30;
  } else if (unit == "TB" || unit == "TIB") {
    scale = 1ull << 40;
  } else {
    return std::nullopt;
  }
  if (number > UINT64_MAX / scale) return std::nullopt;
  return number * scale;
}

void decode(const yaml::Node& node, ScrapeCollectorConfig& out) {
  yaml::MapDecoder map(node);
  const bool has_name = map.has("name");
  decode_common(map, out.common);
  if (auto n = map.get("job_name"); n && !n->is_null()) {
    if (decode(*n, out.job_name) && out.job_name.empty()) n->error("must not be empty");
  }
  if (!has_name && !out.job_name.empty()) out.common.name = out.job_name;
  if (out.job_name.empty()) out.job_name = out.common.name;
  // Prometheus's names for the common interval and timeout.
  auto alias = [&](std::string_view key, std::string_view common_key, std::optional<Duration>& target) {
    auto n = map.get(key);
    if (!n || n->is_null()) return;
    Duration d{};
    if (!decode(*n, d)) return;
    if (map.has(common_key)) {
      n->error("give " + std::string(common_key) + " or " + std::string(key) + ", not both");
    } else if (d.count() <= 0) {
      n->error("must be positive");
    } else {
      target = d;
    }
  };
  alias("scrape_interval", "interval", out.common.interval);
  alias("scrape_timeout", "timeout", out.common.timeout);

  if (auto n = map.get("targets"); n && !n->is_null()) {
    ScrapeStaticConfig group;
    if (decode(*n, group.targets)) {
      auto items = n->items();
      for (std::size_t i = 0; i < group.targets.size() && i < items.size(); ++i)
        check_target(items[i], group.targets[i]);
    }
    out.static_configs.push_back(std::move(group));
  }
  if (auto n = map.get("static_configs"); n && !n->is_null()) {
    std::vector<ScrapeStaticConfig> groups;
    decode(*n, groups);
    for (auto& g : groups) out.static_configs.push_back(std::move(g));
  }
  if (auto n = map.get("file_sd_configs"); n && !n->is_null()) decode(*n, out.file_sd_configs);
  if (out.static_configs.empty() && out.file_sd_configs.empty()) {
    map.missing("targets");
  }

  if (map.optional("metrics_path", out.metrics_path) && !out.metrics_path.starts_with('/')) {
    map.get("metrics_path")->error("must start with /");
  }
  if (map.optional("scheme", out.scheme) && out.scheme != "http" && out.scheme != "https") {
    map.get("scheme")->error("must be http or https, got \"" + out.scheme + "\"");
  }
  if (auto n = map.get("params"); n && !n->is_null()) {
    if (!n->is_map()) {
      n->error("expected a mapping of parameter names to lists of values");
    } else {
      for (const auto& entry : n->yaml()) {
        const std::string key = entry.first.as<std::string>("");
        std::vector<std::string> values;
        const yaml::Node child = n->child(entry.second, key);
        if (child.is_scalar()) {
          child.error("expected a list of values, like [" + key + "_value]");
        } else if (decode(child, values)) {
          out.params[key] = std::move(values);
        }
      }
    }
  }
  if (auto n = map.get("basic_auth"); n && !n->is_null()) {
    ScrapeBasicAuth auth;
    decode_basic_auth(*n, auth);
    out.basic_auth = std::move(auth);
  }
  if (auto n = map.get("authorization"); n && !n->is_null()) {
    ScrapeAuthorization auth;
    decode_authorization(*n, auth);
    out.authorization = std::move(auth);
    if (out.basic_auth) n->error("give basic_auth or authorization, not both");
  }
  if (auto n = map.get("tls_config"); n && !n->is_null()) decode_tls(*n, out.tls_config);
  map.optional("follow_redirects", out.follow_redirects);
  map.optional("honor_labels", out.honor_labels);
  map.optional("honor_timestamps", out.honor_timestamps);
  if (auto n = map.get("relabel_configs"); n) decode_relabels(*n, out.relabel_configs);
  if (auto n = map.get("metric_relabel_configs"); n) decode_relabels(*n, out.metric_relabel_configs);
  // Prometheus's meaning, per target: a target over it fails its scrape (up 0, nothing committed).
  // decode_common read the same key as the scheduler's per-instance limit, which scrape does not use.
  out.sample_limit = out.common.sample_limit;
  out.common.sample_limit = 0;
  decode_limit(map, "label_limit", out.label_limit);
  decode_limit(map, "label_name_length_limit", out.label_name_length_limit);
  decode_limit(map, "label_value_length_limit", out.label_value_length_limit);
  if (auto n = map.get("body_size_limit"); n && !n->is_null()) {
    std::string text;
    if (decode(*n, text)) {
      if (auto bytes = parse_body_size(text)) {
        out.body_size_limit = *bytes;
      } else {
        n->error("invalid size \"" + text + "\" (bytes, or a number with KB, MB, GB, KiB, MiB, GiB)");
      }
    }
  }
  map.finish();
}

void check_scrape(const yaml::Node& node, const ScrapeCollectorConfig& config, Duration default_interval) {
  const Duration interval = config.common.interval.value_or(default_interval);
  const Duration timeout = config.common.timeout.value_or(std::min(interval, kDefaultScrapeTimeout));
  if (timeout > interval) {
    // Not yaml::Node assignment: YAML::Node's operator= writes into the document.
    std::optional<yaml::Node> at;
    if (node.is_map()) {
      for (const char* key : {"scrape_timeout", "timeout"}) {
        if (node.yaml()[key]) at.emplace(node.child(node.yaml()[key], key));
      }
    }
    if (!at) at.emplace(node);
    at->error("scrape_timeout (" + format_duration(timeout) + ") is longer than scrape_interval (" +
              format_duration(interval) + ")");
  }
  config.effective_interval = interval;
  config.effective_timeout = timeout;
}

}  // namespace tocsin::config
